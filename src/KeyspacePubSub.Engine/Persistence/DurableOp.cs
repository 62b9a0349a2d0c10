namespace KeyspacePubSub.Engine.Persistence;

public enum DurableOpKind : byte
{
    /// <summary>Upsert the key row (Id, Db, Key, Type, ExpireAt, Value for strings, hashes and sets).</summary>
    PutKey,
    /// <summary>Delete the key row and its sorted-set members (list rows go by <see cref="ListDelete"/>).</summary>
    DeleteKey,
    /// <summary>Clear the key row's name while its value moves to another name in the same commit.</summary>
    DetachKey,
    /// <summary>Insert list row Seq: element Value at position Pos of list Id.</summary>
    ListPut,
    /// <summary>Delete list row Seq.</summary>
    ListDelete,
    ZsetPut,
    ZsetDelete,
    ZsetDeleteAll,
    FlushDb,
    FlushAll,
    SwapDb,
    /// <summary>Upsert stream entry (Pos, Seq) of key Id: Value is its encoded entry (StreamBlob.EncodeEntry).</summary>
    StreamPut,
    /// <summary>Delete stream entry (Pos, Seq) of key Id.</summary>
    StreamDelete,
    /// <summary>Delete every entry row and pending row of stream Id.</summary>
    StreamDeleteAll,
    /// <summary>
    /// Upsert pending entry (Pos, Seq) of group Key of stream Id: its consumer's name Value, delivery time
    /// ExpireAt (Unix ms), delivery count Count.
    /// </summary>
    PendingPut,
    /// <summary>Delete pending entry (Pos, Seq) of group Key of stream Id.</summary>
    PendingDelete,
    /// <summary>Delete every pending row of group Key of stream Id.</summary>
    PendingDeleteGroup,
    /// <summary>Upsert the function library named Key: its code (shebang included) Value.</summary>
    FunctionPut,
    /// <summary>Delete the function library named Key.</summary>
    FunctionDelete,
    /// <summary>Delete every function library.</summary>
    FunctionFlush,
}

public enum DurableType : byte { String = 0, List = 1, Zset = 2, Hash = 3, Set = 4, Stream = 5 }

/// <summary>
/// One row-level change to the durable store, built under the engine's gate from the in-memory state
/// (byte arrays are immutable once stored, so they are shared, not copied).
/// </summary>
public readonly record struct DurableOp(
    DurableOpKind Kind,
    long Id,
    int Db = 0,
    byte[]? Key = null,
    DurableType Type = DurableType.String,
    long ExpireAt = -1,
    byte[]? Value = null,
    long Pos = 0,
    double Score = 0,
    long Seq = 0,
    long Count = 0);

/// <summary>One durable key as loaded from the store.</summary>
public sealed record DurableRecord(long Id, int Db, byte[] Key, DurableType Type, long ExpireAt, object Value);

/// <summary>The storage behind durable keys: commits groups of ops atomically, loads them back on start.</summary>
public interface IDurableStore : IDisposable
{
    /// <summary>
    /// Queues one unit (one batch of commands or one EXEC) to be committed in a single transaction; the ticket
    /// completes when it is. With <paramref name="willDrive"/> the caller promises to call
    /// <see cref="Drive(CommitTicket)"/> (outside the engine's gate); otherwise the store's own thread commits it.
    /// </summary>
    CommitTicket Commit(List<DurableOp> ops, bool willDrive);

    /// <summary>Whether the group numbered <paramref name="seq"/> has committed or failed (any thread).</summary>
    bool IsResolved(long seq);

    /// <summary>Once <paramref name="seq"/> is resolved: why its group failed, or null when it committed.</summary>
    string? FailureOf(long seq);

    /// <summary>A task for a group's outcome, made only for a caller that must wait for it (rare: see <see cref="CommitTicket"/>).</summary>
    Task AsTask(long seq);

    /// <summary>An empty list for a unit's ops: one a committed unit gave back, or a new one. Any thread.</summary>
    List<DurableOp> RentOps();

    /// <summary>
    /// Commits queued units on the calling thread until <paramref name="mine"/> (a unit's ticket) is committed
    /// (waiting for another thread's commit first), or returns early when a checkpoint or a failing disk holds
    /// the store and its writer thread will take the unit; the caller still waits for it.
    /// </summary>
    void Drive(CommitTicket mine);

    /// <summary>Loads every key whose deadline has not passed (removing the others without events).</summary>
    List<DurableRecord> Load(long nowMs);

    /// <summary>After <see cref="Load"/>: the function libraries' code, as FUNCTION LOAD last stored each.</summary>
    IReadOnlyList<byte[]> LoadedFunctions { get; }

    /// <summary>After <see cref="Load"/>: the first list row sequence number not used yet.</summary>
    long NextListSeq { get; }

    /// <summary>Null while the store works; otherwise why it does not (writes to durable keys are refused).</summary>
    string? Failure { get; }

    /// <summary>
    /// SAVE: commits every queued unit, then puts everything committed into the database file itself, synced
    /// whatever the fsync policy, on the calling thread. False when it could not (the reason is logged).
    /// </summary>
    bool Save();

    /// <summary>BGSAVE: the same on the store's own thread. False when one is running already (or the store never opened).</summary>
    bool StartBackgroundSave();

    bool BackgroundSaveRunning { get; }

    /// <summary>Whether the last background save succeeded (true before any).</summary>
    bool LastBackgroundSaveOk { get; }

    /// <summary>Unix seconds of the last successful save; before any, when the store opened.</summary>
    long LastSaveUnix { get; }

    /// <summary>Units (batches, EXECs) committed since the last successful save.</summary>
    long ChangesSinceLastSave { get; }

    /// <summary>Fields for INFO persistence.</summary>
    IEnumerable<(string Name, object Value)> Info();
}

/// <summary>
/// A queued unit's claim on the outcome of the commit group that takes it: the store numbers its groups in
/// commit order, and a ticket is the store and its group's number. A value, not an object: a commit allocates
/// nothing. (A <see cref="TaskCompletionSource"/> per group cost 88 bytes of garbage per backlog transaction,
/// 0.9 MB a second at 10,000 transactions: 4 ephemeral collections in an 8-s run, 1–2 without it.) A task is
/// made only when a caller must wait for a group another thread commits (<see cref="AsTask"/>).
/// </summary>
public readonly struct CommitTicket(IDurableStore store, long seq)
{
    public long Seq => seq;

    public bool IsCompleted => store.IsResolved(seq);

    /// <summary>Completed, and its group failed: its client gets no reply.</summary>
    public bool IsFaulted => IsCompleted && store.FailureOf(seq) != null;

    /// <summary>Why its group failed (once <see cref="IsFaulted"/>).</summary>
    public string? Failure => store.FailureOf(seq);

    public Task AsTask() => store.AsTask(seq);
}
