namespace KeyspacePubSub.Engine.Persistence;

public enum DurableOpKind : byte
{
    /// <summary>Upsert the key row (Id, Db, Key, Type, ExpireAt, Value for strings, hashes and sets).</summary>
    PutKey,
    /// <summary>Delete the key row and all its elements.</summary>
    DeleteKey,
    /// <summary>Clear the key row's name while its value moves to another name in the same commit.</summary>
    DetachKey,
    ListPut,
    /// <summary>Delete list rows with position below Pos.</summary>
    ListDeleteBelow,
    /// <summary>Delete list rows with position above Pos.</summary>
    ListDeleteAbove,
    ListDeleteAll,
    ZsetPut,
    ZsetDelete,
    ZsetDeleteAll,
    FlushDb,
    FlushAll,
    SwapDb,
}

public enum DurableType : byte { String = 0, List = 1, Zset = 2, Hash = 3, Set = 4 }

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
    double Score = 0);

/// <summary>One durable key as loaded from the store.</summary>
public sealed record DurableRecord(long Id, int Db, byte[] Key, DurableType Type, long ExpireAt, object Value);

/// <summary>The storage behind durable keys: commits groups of ops atomically, loads them back on start.</summary>
public interface IDurableStore : IDisposable
{
    /// <summary>Queues one unit (one batch of commands or one EXEC) to be committed in a single transaction; completes when it is.</summary>
    Task Commit(List<DurableOp> ops);

    /// <summary>Loads every key whose deadline has not passed (removing the others without events).</summary>
    List<DurableRecord> Load(long nowMs);

    /// <summary>Null while the store works; otherwise why it does not (writes to durable keys are refused).</summary>
    string? Failure { get; }

    /// <summary>Fields for INFO persistence.</summary>
    IEnumerable<(string Name, object Value)> Info();
}
