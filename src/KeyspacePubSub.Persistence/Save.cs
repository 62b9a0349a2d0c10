using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace KeyspacePubSub.Persistence;

/// <summary>
/// SAVE and BGSAVE: every unit committed or queued so far goes into the database file itself, synced, whatever
/// the fsync policy: the queued units commit, the WAL is checkpointed whole with SQLite syncing the WAL before
/// and the database after. SAVE runs on the calling thread (the server waits, as for Redis's SAVE); BGSAVE
/// on the writer thread. Both take the connection as a commit does, so they never interleave with one. A save
/// that fails (a full disk while the checkpoint writes the database) loses nothing: the commits stay in the WAL.
/// </summary>
public sealed partial class SqliteStore
{
    private long _lastSaveUnix = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    private long _unitsAtLastSave;
    private bool _bgsaveDue; // under the queue lock: the writer runs a background save next
    private volatile bool _bgsaveRunning;
    private volatile bool _lastBgsaveOk = true;

    /// <inheritdoc />
    public long LastSaveUnix => Interlocked.Read(ref _lastSaveUnix);

    /// <inheritdoc />
    public bool BackgroundSaveRunning => _bgsaveRunning;

    /// <inheritdoc />
    public bool LastBackgroundSaveOk => _lastBgsaveOk;

    /// <inheritdoc />
    public long ChangesSinceLastSave => Interlocked.Read(ref _unitsCommitted) - Interlocked.Read(ref _unitsAtLastSave);

    /// <inheritdoc />
    public bool Save()
    {
        if (_db is null) return false;
        lock (_queueLock)
        {
            // A commit, a checkpoint or the start's integrity check holds the connection: wait for it.
            while (_committing)
            {
                if (_stopping) return false;
                _driversWaiting++;
                Monitor.Wait(_queueLock, 50);
                _driversWaiting--;
            }
            _committing = true;
        }
        bool ok = SaveHoldingConnection();
        lock (_queueLock)
        {
            _committing = false;
            Monitor.PulseAll(_queueLock);
        }
        return ok;
    }

    /// <inheritdoc />
    public bool StartBackgroundSave()
    {
        if (_db is null)
        {
            _lastBgsaveOk = false; // never opened: the log said why
            return false;
        }
        lock (_queueLock)
        {
            if (_bgsaveRunning) return false;
            _bgsaveRunning = true;
            _bgsaveDue = true;
            Monitor.PulseAll(_queueLock);
            return true;
        }
    }

    /// <summary>Writer thread: takes the connection for a requested background save, if one is due and it is free.</summary>
    private bool TakeBackgroundSave()
    {
        lock (_queueLock)
        {
            if (!_bgsaveDue || _committing) return false;
            _bgsaveDue = false;
            _committing = true;
            return true;
        }
    }

    /// <summary>Writer thread, holding the connection: the background save, then the connection back.</summary>
    private void RunBackgroundSave()
    {
        bool ok = SaveHoldingConnection();
        _lastBgsaveOk = ok;
        if (ok) _logger.LogInformation("Persistence: background save of {Path} done", Path);
        lock (_queueLock)
        {
            _committing = false;
            _bgsaveRunning = false;
            Monitor.PulseAll(_queueLock);
        }
    }

    private bool SaveHoldingConnection()
    {
        if (_failure != null || _corrupt != null)
        {
            _logger.LogWarning("Persistence: cannot save {Path}: {Reason}", Path, _failure ?? _corrupt);
            return false;
        }
        List<Unit>? group;
        long seq = 0;
        lock (_queueLock) group = _queue.Count > 0 ? TakeQueue(out seq) : null;
        if (group != null && !Apply(group, seq))
        {
            lock (_queueLock) Requeue(group);
            return false;
        }
        long units = Interlocked.Read(ref _unitsCommitted);
        try
        {
            // Under fsync "no" SQLite syncs nothing; a save syncs anyway (as Redis's SAVE fsyncs its file).
            if (Fsync == FsyncPolicy.No) Exec("PRAGMA synchronous = NORMAL");
            try
            {
                var (busy, log, done) = Checkpoint();
                if (busy != 0 || done < log) throw new IOException($"the checkpoint moved {done} of {log} WAL frames into the database");
            }
            finally
            {
                if (Fsync == FsyncPolicy.No) Exec("PRAGMA synchronous = OFF");
            }
        }
        catch (Exception ex) when (ex is SqliteException or IOException)
        {
            // Nothing is lost: the commits are in the WAL, synced as the policy says. Writes go on (no MISCONF);
            // the save reports the error, and the next save or checkpoint tries again.
            _logger.LogError("Persistence: save of {Path} failed: {Reason}", Path, Describe(ex));
            return false;
        }
        _walFrames = 0;
        _checkpointDue = false;
        _unsynced = false;
        Interlocked.Exchange(ref _unitsAtLastSave, units);
        Interlocked.Exchange(ref _lastSaveUnix, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        return true;
    }

    /// <summary>
    /// A passive checkpoint (the only connection: nothing holds it back), counted and timed for INFO (commits
    /// wait meanwhile); its three counts: busy, WAL frames, frames moved into the database.
    /// </summary>
    private (long Busy, long Log, long Checkpointed) Checkpoint()
    {
        long started = Stopwatch.GetTimestamp();
        using var cmd = _db!.CreateCommand();
        cmd.CommandText = "PRAGMA wal_checkpoint(PASSIVE)";
        using var r = cmd.ExecuteReader();
        if (!r.Read()) throw new IOException("the checkpoint reported nothing");
        var counts = (r.GetInt64(0), r.GetInt64(1), r.GetInt64(2));
        Interlocked.Increment(ref _checkpoints);
        Interlocked.Add(ref _checkpointTicks, Stopwatch.GetTimestamp() - started);
        return counts;
    }
}
