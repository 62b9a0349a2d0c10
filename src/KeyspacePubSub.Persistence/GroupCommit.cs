using System.Diagnostics;
using KeyspacePubSub.Engine.Persistence;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using SQLitePCL;

namespace KeyspacePubSub.Persistence;

/// <summary>
/// Group commit, leader style: the thread serving a client whose batch queued a unit drives the commit itself
/// (an event loop, at the end of its iteration, after it has run every ready client's batch), taking every
/// unit queued so far into one transaction. A driver that finds another commit running waits for it (spinning
/// about twice a recent commit's time when that is under 50 µs; blocking when commits carry an fsync), then
/// leads the next one with every unit queued meanwhile. When a checkpoint is due, or commits fail, it hands
/// its unit to the writer thread and waits asynchronously; the writer commits all handed-off units as one
/// group. Units are taken in queue order, so concurrent clients share one fsync and each client's units stay
/// in order. A unit is acknowledged only when its transaction has committed. A failed transaction is rolled
/// back whole, its units fail (their clients get no reply) and stay queued, retried every second by the
/// writer until the disk recovers.
/// </summary>
public sealed partial class SqliteStore
{
    /// <summary>A queued unit. Units queued between two takes of the queue form one group, numbered in commit order.</summary>
    private readonly record struct Unit(List<DurableOp> Ops);

    private readonly object _queueLock = new();
    private List<Unit> _queue = [];
    private List<Unit>? _spareQueue; // a committed group's list, emptied, for the next queue (grown lists are not made anew per commit)
    private long _queueSeq = 1; // the group number of the units queued since the last take (see CommitTicket)
    private long _resolvedThrough; // every group up to this number has committed or failed (written by the committing thread)
    private readonly Dictionary<long, string> _failedGroups = []; // group -> why it failed (under _outcomeLock; the newest kept)
    private readonly Dictionary<long, TaskCompletionSource> _waiters = []; // tasks asked for groups not yet resolved (under _outcomeLock)
    private readonly object _outcomeLock = new();
    private volatile int _failedGroupCount; // _failedGroups.Count, read without the lock: 0 on a working disk
    private int _waiterCount; // _waiters.Count, read by Resolve without the lock: 0 unless a writer thread's group is awaited
    private const int MaxFailedGroupsKept = 4096;
    private Thread? _writer;
    private bool _stopping;
    private bool _committing; // one thread at a time uses the connection: a driving client or the writer (or the load)
    private bool _checkDue; // the load is done: the writer checks the file before any commit
    private volatile bool _checking; // the check runs (a stop interrupts it)
    private volatile string? _corrupt; // the file is damaged: nothing is committed to it any more
    private volatile bool _unsynced;
    private volatile bool _checkpointDue; // the WAL is big: the writer takes the connection for a checkpoint
    private bool _walPresynced; // writer thread: the WAL was synced for the due checkpoint (see PresyncWal)
    private WalSync? _wal;
    private WalFill? _walFill; // exact frame counts from SQLite's WAL hook, and the WAL written ahead
    private long _walFrames; // without the hook: an estimate of the frames written since the last checkpoint
    private const int RowsPerFrame = 8; // rows of a few hundred bytes share a page
    private bool _handOff; // units wait for the writer thread: nobody drives them
    private int _driversWaiting; // threads waiting in Drive for another thread's commit with its fsync
    private bool _syncDue; // the writer's checkpoint (or fallback everysec sync) goes before drivers' next commit
    private long _avgCommitTicks; // recent commit duration, for how long a driver waits on another's commit
    private static readonly long MinSpin = Stopwatch.Frequency / 50_000, MaxSpin = Stopwatch.Frequency / 10_000; // 20 µs, 100 µs
    private long _commits, _unitsCommitted, _lastCommitUnix, _failedCommits, _checkpoints, _checkpointTicks;
    private readonly RawStatement[][] _statements = new RawStatement[Enum.GetValues<DurableOpKind>().Length][]; // by kind
    private RawStatement? _begin, _commit;
    private ListPutBatch? _listPuts; // runs of list-row inserts as multi-row statements

    // Op lists of committed units, cleared, for the next units (a busy backlog allocates none).
    private readonly Stack<List<DurableOp>> _spareOps = new();
    private const int MaxSpareOps = 64, MaxSpareOpsCapacity = 256;

    /// <inheritdoc />
    public List<DurableOp> RentOps()
    {
        lock (_spareOps)
        {
            if (_spareOps.TryPop(out var ops)) return ops;
        }
        return [];
    }

    /// <summary>The op lists of a committed group, for the next units (one lock per group).</summary>
    private void GiveBack(List<Unit> group)
    {
        lock (_spareOps)
        {
            foreach (var u in group)
            {
                if (_spareOps.Count >= MaxSpareOps) return;
                if (u.Ops.Capacity > MaxSpareOpsCapacity) continue; // a flush or a big write: not kept
                u.Ops.Clear(); // drops the values' references
                _spareOps.Push(u.Ops);
            }
        }
    }

    private int PendingUnits
    {
        get { lock (_queueLock) return _queue.Count; }
    }

    private void StartWriter()
    {
        var handle = _db!.Handle!;
        foreach (var (kind, sql) in new[]
        {
            (DurableOpKind.PutKey, Schema.PutKey), (DurableOpKind.DeleteKey, Schema.DeleteKey), (DurableOpKind.DetachKey, Schema.DetachKey),
            (DurableOpKind.ListPut, Schema.ListPut), (DurableOpKind.ListDelete, Schema.ListDelete), (DurableOpKind.ZsetPut, Schema.ZsetPut), (DurableOpKind.ZsetDelete, Schema.ZsetDelete),
            (DurableOpKind.ZsetDeleteAll, Schema.ZsetDeleteAll), (DurableOpKind.FlushDb, Schema.FlushDb), (DurableOpKind.FlushAll, Schema.FlushAll),
            (DurableOpKind.SwapDb, Schema.SwapDb), (DurableOpKind.StreamPut, Schema.StreamPut), (DurableOpKind.StreamDelete, Schema.StreamDelete),
            (DurableOpKind.StreamDeleteAll, Schema.StreamDeleteAll), (DurableOpKind.PendingPut, Schema.PendingPut),
            (DurableOpKind.PendingDelete, Schema.PendingDelete), (DurableOpKind.PendingDeleteGroup, Schema.PendingDeleteGroup),
            (DurableOpKind.FunctionPut, Schema.FunctionPut), (DurableOpKind.FunctionDelete, Schema.FunctionDelete),
            (DurableOpKind.FunctionFlush, Schema.FunctionFlush),
        })
        {
            _statements[(int)kind] = RawStatement.PrepareAll(handle, sql);
        }
        _listPuts = new ListPutBatch(handle, _statements[(int)DurableOpKind.ListPut][0]);
        _begin = RawStatement.PrepareAll(handle, "BEGIN IMMEDIATE")[0];
        _commit = RawStatement.PrepareAll(handle, "COMMIT")[0];
        _wal = WalSync.Open(Path, Fsync == FsyncPolicy.Everysec, TakeUnsynced, ex => Fail(ex.Message));
        if (_wal is null)
        {
            _logger.LogWarning("Persistence: cannot open the WAL of {Path} for syncing; SQLite syncs and checkpoints it itself", Path);
            _ahead?.Dispose(); // checkpoints are SQLite's own: nothing runs ahead of them
            _ahead = null;
        }
        else
        {
            Exec("PRAGMA wal_autocheckpoint = 0");
            // always: SQLite writes the commit, WalSync's fdatasync makes it durable before anyone is answered.
            if (Fsync == FsyncPolicy.Always) Exec("PRAGMA synchronous = NORMAL");
            int pageSize = Convert.ToInt32(Scalar("PRAGMA page_size"), System.Globalization.CultureInfo.InvariantCulture);
            // Room for the frames a checkpoint may lag behind its trigger while drivers keep committing.
            _walFill = WalFill.Install(_wal.Handle, handle.DangerousGetHandle(), pageSize, WalSync.CheckpointFrames * 5 / 4);
            StartCheckpointAhead(pageSize);
        }
        _committing = true; // the load has the connection first (Load hands it over)
        _writer = new Thread(WriterLoop) { IsBackground = true, Name = "sqlite-commit" };
        _writer.Start();
    }

    /// <inheritdoc />
    public CommitTicket Commit(List<DurableOp> ops, bool willDrive)
    {
        if (_db is null) return new CommitTicket(this, 0); // never opened: nothing durable exists, writes are refused
        lock (_queueLock)
        {
            _queue.Add(new Unit(ops));
            if (!willDrive) HandOff();
            return new CommitTicket(this, _queueSeq);
        }
    }

    /// <inheritdoc />
    public bool IsResolved(long seq) => seq <= Volatile.Read(ref _resolvedThrough);

    /// <inheritdoc />
    public string? FailureOf(long seq)
    {
        if (_failedGroupCount == 0) return null;
        lock (_outcomeLock) return _failedGroups.GetValueOrDefault(seq);
    }

    /// <inheritdoc />
    public Task AsTask(long seq)
    {
        TaskCompletionSource? late;
        string? failure;
        lock (_outcomeLock)
        {
            if (IsResolved(seq))
            {
                return _failedGroups.TryGetValue(seq, out var reason) ? Task.FromException(new IOException(reason)) : Task.CompletedTask;
            }
            if (!_waiters.TryGetValue(seq, out late)) _waiters[seq] = late = NewCompletion();
            Interlocked.Exchange(ref _waiterCount, _waiters.Count); // a full fence, paired with Resolve's
            if (!IsResolved(seq)) return late.Task;
            // Resolved meanwhile: Resolve may have looked at the count before it rose, and then nobody else
            // completes this waiter. It may be another caller's too (the units of one group share it), so it is
            // completed here, not just dropped: dropping it left that caller waiting for ever.
            _waiters.Remove(seq);
            _waiterCount = _waiters.Count;
            failure = _failedGroups.GetValueOrDefault(seq);
        }
        Complete(late, failure);
        return late.Task;
    }

    /// <summary>
    /// The committing thread: group <paramref name="seq"/> committed (<paramref name="failure"/> null) or failed.
    /// Groups are taken and applied one at a time, in order, so resolving one resolves every group before it.
    /// A failure is recorded before the group counts as resolved, so whoever sees it resolved sees the failure.
    /// </summary>
    private void Resolve(long seq, string? failure)
    {
        if (failure != null)
        {
            lock (_outcomeLock)
            {
                // Kept for the tickets of that group, read just after (a client's batch, or the connection a
                // posted continuation wakes); the oldest go once many groups have failed (a disk failing for days).
                _failedGroups[seq] = failure;
                if (_failedGroups.Count > MaxFailedGroupsKept) _failedGroups.Remove(_failedGroups.Keys.Min());
                _failedGroupCount = _failedGroups.Count;
            }
        }
        Interlocked.Exchange(ref _resolvedThrough, seq); // a full fence: AsTask raises the count, then looks again
        if (Volatile.Read(ref _waiterCount) > 0) CompleteWaiters(seq);
    }

    private void CompleteWaiters(long seq)
    {
        List<(long Seq, TaskCompletionSource Waiter, string? Failure)> done = [];
        lock (_outcomeLock)
        {
            foreach (var (s, waiter) in _waiters)
            {
                if (s <= seq) done.Add((s, waiter, _failedGroups.GetValueOrDefault(s)));
            }
            foreach (var d in done) _waiters.Remove(d.Seq);
            _waiterCount = _waiters.Count;
        }
        foreach (var (_, waiter, failure) in done) Complete(waiter, failure);
    }

    private static void Complete(TaskCompletionSource waiter, string? failure)
    {
        if (failure is null) waiter.TrySetResult();
        else waiter.TrySetException(new IOException(failure));
    }

    /// <inheritdoc />
    public void Drive(CommitTicket mine)
    {
        long giveUpAt = 0;
        var spin = new SpinWait();
        while (!mine.IsCompleted)
        {
            List<Unit>? group = null;
            long seq = 0;
            lock (_queueLock)
            {
                // While commits fail, the writer thread alone retries, once a second.
                if (_failure != null) return;
                if (!_committing && _queue.Count > 0 && !_syncDue)
                {
                    _committing = true;
                    group = TakeQueue(out seq);
                }
                else if (_syncDue)
                {
                    // A checkpoint is due or running (two fsyncs, milliseconds): the writer takes what is left
                    // afterwards, as one group, and this thread goes back to its other clients.
                    HandOff();
                    return;
                }
                else if (2 * _avgCommitTicks > MaxSpin)
                {
                    // Another thread's commit with its fsync (fsync always): wait for it here, as Redis's loop
                    // waits for its own fsync, then lead the next commit with every unit queued meanwhile.
                    _driversWaiting++;
                    Monitor.Wait(_queueLock, 50);
                    _driversWaiting--;
                    continue;
                }
                else if (giveUpAt == 0)
                {
                    giveUpAt = Stopwatch.GetTimestamp() + Math.Max(2 * _avgCommitTicks, MinSpin);
                }
                else if (Stopwatch.GetTimestamp() > giveUpAt)
                {
                    // A short commit is taking long: the writer takes what is left, as one group.
                    HandOff();
                    return;
                }
            }
            if (group is null)
            {
                // Another thread is committing, usually for a few microseconds: wait for it, then lead.
                spin.SpinOnce(sleep1Threshold: -1);
                continue;
            }
            bool ok = Apply(group, seq);
            lock (_queueLock)
            {
                _committing = false;
                if (!ok) Requeue(group);
                else Recycle(group);
                // Drivers waiting for this commit, and the writer when it has work.
                if (_driversWaiting > 0 || (_handOff && _queue.Count > 0) || _checkpointDue || _bgsaveDue) Monitor.PulseAll(_queueLock);
            }
            if (!ok) return;
        }
    }

    /// <summary>Asks the writer thread to commit what is queued (under the queue lock).</summary>
    private void HandOff()
    {
        _handOff = true;
        Monitor.PulseAll(_queueLock); // the writer, among drivers that may be waiting too
    }

    private static TaskCompletionSource NewCompletion() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The queued units as one group (under the queue lock), and its number; units queued from now on are the next group.</summary>
    private List<Unit> TakeQueue(out long seq)
    {
        var group = _queue;
        _queue = _spareQueue ?? [];
        _spareQueue = null;
        seq = _queueSeq++;
        return group;
    }

    /// <summary>A committed group's list becomes the spare for the next queue (under the queue lock).</summary>
    private void Recycle(List<Unit> group)
    {
        group.Clear();
        _spareQueue = group;
    }

    /// <summary>
    /// A failed group goes back in front of the queue. Its units' completions have failed already (their
    /// clients get no reply); when they commit later, only the completions of units queued since matter.
    /// </summary>
    private void Requeue(List<Unit> group)
    {
        group.AddRange(_queue);
        _queue = group;
    }

    /// <summary>
    /// Commits units nobody drives (expiry, units queued while another thread committed), retries failed
    /// groups once a second, checkpoints when the WAL is big, and runs BGSAVE. (Should the WAL file not be open to
    /// <see cref="WalSync"/>, everysec syncs here once a second by a checkpoint.)
    /// </summary>
    private void WriterLoop()
    {
        var lastSync = Stopwatch.StartNew();
        while (true)
        {
            List<Unit>? group = null;
            long seq = 0;
            bool check = false;
            lock (_queueLock)
            {
                if (_checkDue && !_committing)
                {
                    _checkDue = false;
                    _committing = true;
                    check = true;
                }
            }
            if (check)
            {
                CheckIntegrity();
                lock (_queueLock)
                {
                    _committing = false;
                    Monitor.PulseAll(_queueLock);
                }
                continue;
            }
            if (TakeBackgroundSave())
            {
                RunBackgroundSave();
                continue;
            }
            if (!_checkpointDue) _walPresynced = false; // (a save may have checkpointed meanwhile)
            else if (!_walPresynced)
            {
                PresyncWal();
                continue;
            }
            lock (_queueLock)
            {
                // A due checkpoint (or the fallback everysec sync) gets the connection, however busy the drivers keep it.
                _syncDue = _checkpointDue || (_wal is null && Fsync == FsyncPolicy.Everysec && _unsynced && lastSync.ElapsedMilliseconds >= 1000);
                if ((_queue.Count == 0 && !_syncDue) || _committing)
                {
                    if (_stopping && !_committing) return;
                    // Woken also when a driver's commit ends while others wait for it: look again.
                    if (Monitor.Wait(_queueLock, _syncDue ? 1 : 1000) || _committing) continue;
                }
                if (_queue.Count == 0 && _stopping) return;
                _committing = true;
                _handOff = false;
                if (_queue.Count > 0) group = TakeQueue(out seq);
            }
            bool ok = group is null || Apply(group, seq);
            if (ok && _checkpointDue)
            {
                _checkpointDue = false;
                _walPresynced = false;
                _walFrames = 0;
                TryCheckpoint();
            }
            // everysec without WalSync: synchronous=NORMAL leaves commits in the WAL unsynced; a checkpoint syncs it.
            else if (ok && _wal is null && Fsync == FsyncPolicy.Everysec && _unsynced && lastSync.ElapsedMilliseconds >= 1000)
            {
                _unsynced = false;
                TryCheckpoint();
                lastSync.Restart();
            }
            lock (_queueLock)
            {
                _syncDue = false;
                _committing = false;
                if (_driversWaiting > 0) Monitor.PulseAll(_queueLock);
                if (ok)
                {
                    if (group != null) Recycle(group);
                    continue;
                }
                Requeue(group!);
                if (_stopping) return;
            }
            Thread.Sleep(1000);
        }
    }

    private const int MaxAheadRounds = 4, MinAheadFrames = 256;
    private bool _aheadOffLogged;

    /// <summary>
    /// Before a checkpoint takes the connection (every commit waits for it), the WAL is fdatasynced from here
    /// while drivers go on committing: the checkpoint's own sync of the WAL then finds only the frames
    /// committed since. Under everysec that sync had up to a second of frames to write: checkpoints of 10,000
    /// frames took ~34 ms, during which no client got a reply (~7% of the time of one client's backlog load).
    /// The checkpoint's pages are written into the database file from here too (<see cref="CheckpointAhead"/>),
    /// so the checkpoint itself moves only the pages of the last moment: it held the connection ~21 ms, now
    /// ~1.4 ms (10 clients' backlog load), and backlog transactions at a fixed 10,000 a second had a p99 latency
    /// of 6.4 ms, now 0.7 ms (`--only txlatency`). A failure is left for the checkpoint's own sync to report.
    /// Under fsync "no" nothing is synced here, as its checkpoints sync nothing.
    /// </summary>
    private void PresyncWal()
    {
        _walPresynced = true;
        if (_wal is null) return;
        bool sync = Fsync != FsyncPolicy.No;
        try
        {
            // The checkpoint's pages go into the database file from here too (see CheckpointAhead), in rounds
            // while clients commit: the frames committed during a round are the next round's, fewer each time.
            for (int round = 0; round < MaxAheadRounds && _ahead != null; round++)
            {
                if (_ahead.CopyAhead(_wal.Handle, () => { if (sync) _wal.Sync(); }, sync) < MinAheadFrames) break;
            }
            if (_ahead is { Disabled: true } && !_aheadOffLogged)
            {
                _aheadOffLogged = true; // (CopyAhead does nothing from now on)
                _logger.LogWarning("Persistence: a checkpoint of {Path} did not copy pages as expected; pages are no longer written ahead of checkpoints (the failed checkpoint is retried)", Path);
            }
            if (sync) _wal.Sync();
        }
        catch (IOException)
        {
            // The checkpoint syncs the WAL itself and reports what fails.
        }
    }

    private void StartCheckpointAhead(int pageSize)
    {
        try
        {
            _ahead?.Start(pageSize);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _logger.LogWarning("Persistence: cannot open {Path} to write checkpoints' pages ahead ({Reason}); SQLite's checkpoints copy them", Path, ex.Message);
            _ahead?.Dispose();
            _ahead = null;
        }
    }

    /// <summary>The whole file's check, once, after the load: a damaged file gets no further commits.</summary>
    private void CheckIntegrity()
    {
        var sw = Stopwatch.StartNew();
        _checking = true;
        try
        {
            string result = Scalar("PRAGMA quick_check")?.ToString() ?? "";
            if (result != "ok") MarkCorrupt(result.Replace('\n', ' '));
            else _logger.LogInformation("Persistence: integrity check of {Path} passed in {Ms:F0} ms", Path, sw.Elapsed.TotalMilliseconds);
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode != raw.SQLITE_INTERRUPT)
        {
            MarkCorrupt(Describe(ex));
        }
        catch (SqliteException)
        {
            // Interrupted by Dispose: the server is stopping, and nothing is known against the file.
        }
        finally
        {
            _checking = false;
        }
    }

    private void MarkCorrupt(string reason)
    {
        _corrupt ??= $"database is corrupt: {reason}";
        _failure = _corrupt;
        _logger.LogError("Persistence: {Path} is damaged ({Reason}). Writes to durable keys are refused (MISCONF); the file is left as it is.", Path, reason);
    }

    /// <summary>WAL pages into the database; under NORMAL and FULL SQLite syncs the WAL before and the database after.</summary>
    private void TryCheckpoint()
    {
        try
        {
            Checkpoint();
        }
        catch (SqliteException ex)
        {
            Fail(ex);
        }
        catch (IOException ex)
        {
            Fail(ex.Message);
        }
    }

    /// <summary>For <see cref="WalSync"/>: whether anything was committed since the last sync (and now counts as synced).</summary>
    private bool TakeUnsynced()
    {
        if (!_unsynced) return false;
        _unsynced = false;
        return true;
    }

    /// <summary>Commits a group as one transaction and resolves its number (see <see cref="Resolve"/>).</summary>
    private bool Apply(List<Unit> group, long seq)
    {
        try
        {
            return ApplyGroup(group, seq);
        }
        catch (Exception ex) when (!IsResolved(seq))
        {
            // Not SQLite's (those fail the group above): the group fails all the same, so that a later group's
            // success, which resolves every number before its own, never answers this group's clients.
            Resolve(seq, ex.Message);
            throw;
        }
    }

    private bool ApplyGroup(List<Unit> group, long seq)
    {
        long started = Stopwatch.GetTimestamp();
        int ops = 0;
        if (_corrupt != null)
        {
            Interlocked.Increment(ref _failedCommits);
            Resolve(seq, _corrupt);
            return false;
        }
        try
        {
            if (group.Count == 1 && group[0].Ops.Count == 1 && _statements[(int)group[0].Ops[0].Kind].Length == 1)
            {
                // One statement (one client's LPUSH, say): SQLite commits it by itself, as one transaction,
                // without the two more statements an explicit BEGIN and COMMIT cost.
                Run(group[0].Ops[0]);
                ops = 1;
            }
            else
            {
                _begin!.Run();
                _listPuts!.Clear(); // (nothing is held unless a commit was left by an exception other than SQLite's)
                foreach (var unit in group)
                {
                    foreach (var op in unit.Ops)
                    {
                        if (op.Kind == DurableOpKind.ListPut)
                        {
                            _listPuts!.Add(op);
                            continue;
                        }
                        _listPuts!.Flush(); // rows inserted so far come first
                        Run(op);
                    }
                    ops += unit.Ops.Count;
                }
                _listPuts!.Flush();
                _commit!.Run();
            }
        }
        catch (SqliteException ex)
        {
            _listPuts?.Clear();
            try
            {
                Exec("ROLLBACK");
            }
            catch (SqliteException)
            {
                // No transaction left to roll back (SQLite already did).
            }
            Fail(ex);
            Interlocked.Increment(ref _failedCommits);
            Resolve(seq, _failure ?? "the commit failed");
            return false;
        }
        if (_wal != null && Fsync == FsyncPolicy.Always)
        {
            try
            {
                _wal.Sync();
            }
            catch (IOException ex)
            {
                // Committed but perhaps not on disk: nobody is told it succeeded, and it is not retried (it is in
                // the database already); writes to durable keys are refused until a commit and its sync succeed.
                Fail(ex.Message);
                Interlocked.Increment(ref _failedCommits);
                Resolve(seq, _failure ?? ex.Message);
                return true;
            }
        }
        if (_failure != null)
        {
            _logger.LogWarning("Persistence: commits to {Path} succeed again; durable keys are writable", Path);
            _failure = null;
        }
        _unsynced = true;
        long frames = _walFill?.Frames ?? (_walFrames += 1 + ops / RowsPerFrame);
        if (_wal != null && frames >= WalSync.CheckpointFrames) _checkpointDue = true;
        _avgCommitTicks += (Stopwatch.GetTimestamp() - started - _avgCommitTicks) / 8;
        Interlocked.Increment(ref _commits);
        Interlocked.Add(ref _unitsCommitted, group.Count);
        Interlocked.Exchange(ref _lastCommitUnix, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        Resolve(seq, null);
        GiveBack(group);
        return true;
    }

    private void Fail(SqliteException ex) => Fail(Describe(ex));

    private void Fail(string reason)
    {
        if (_failure != reason) _logger.LogError("Persistence: commit to {Path} failed: {Reason}. Writes to durable keys are refused (MISCONF) until it succeeds; retrying every second.", Path, reason);
        _failure = reason;
    }

    private void Run(in DurableOp op)
    {
        foreach (var statement in _statements[(int)op.Kind]) statement.Run(op);
    }

    public void Dispose() => Close([]);

    /// <summary>
    /// Stops the store: every queued unit is committed, then, when every commit succeeded, the bounds of the
    /// given lists are written for the next load (<see cref="WriteListBounds"/>), and the WAL is emptied.
    /// </summary>
    public void Close(IReadOnlyCollection<(long Id, long Low, long High)> listBounds)
    {
        lock (_queueLock)
        {
            _stopping = true;
            Monitor.PulseAll(_queueLock);
        }
        // A check of a large file still running (a stop right after the start) ends now; nothing waits on it.
        if (_checking && _db?.Handle is { } handle) raw.sqlite3_interrupt(handle);
        bool stopped = _writer?.Join(10000) ?? true;
        if (_db is null) return;
        if (stopped && _failure is null && Interlocked.Read(ref _failedCommits) == 0 && listBounds.Count > 0) WriteListBounds(listBounds);
        _walFill?.Dispose();
        _wal?.Dispose(); // its thread stops; the handle closes before SQLite's, whose close may delete the file
        try
        {
            Exec("PRAGMA wal_checkpoint(TRUNCATE)");
        }
        catch (SqliteException)
        {
            // The WAL is replayed on the next open.
        }
        foreach (var statement in _statements.Where(s => s != null).SelectMany(s => s).Append(_begin).Append(_commit)) statement?.Dispose();
        _listPuts?.Dispose();
        _db.Dispose();
        _ahead?.Dispose(); // after SQLite's close: closing its descriptor of the file would drop SQLite's locks
    }
}
