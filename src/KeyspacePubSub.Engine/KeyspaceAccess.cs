using KeyspacePubSub.Engine.Config;
using KeyspacePubSub.Engine.Keyspace;

namespace KeyspacePubSub.Engine;

/// <summary>
/// Key access for command handlers, as Redis's db.c: lookups expire keys whose time has passed (lazy
/// expiry, emitting "expired"), writes emit "new" for added keys, and every TTL goes into the
/// <see cref="ExpiryIndex"/> so the expiry loop can delete keys when their time comes.
/// </summary>
public sealed partial class Engine
{
    private readonly AutoResetEvent _expiryWake = new(false);
    private KeyspaceNotifier? _notifier;
    private Thread? _expiryThread;
    private volatile bool _stopping;

    public KeyspaceNotifier Notifier => _notifier ??= new KeyspaceNotifier(Config, Broker);

    private volatile bool _activeExpire = true;

    /// <summary>
    /// DEBUG SET-ACTIVE-EXPIRE: when off, keys expire only when a command meets them (as Redis's lazy expiry),
    /// not when their deadline comes.
    /// </summary>
    public bool ActiveExpireEnabled
    {
        get => _activeExpire;
        set
        {
            _activeExpire = value;
            _expiryWake.Set();
        }
    }

    private long _frozenNowMs = -1;

    /// <summary>Unix time in milliseconds (deadlines, TTLs).</summary>
    public long NowMs => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    /// <summary>
    /// The time expiry decisions use: frozen while an EXEC runs, so no key expires mid-transaction
    /// (as Redis 7.0's fixed_time_expire; TTL and new deadlines still read the real clock there).
    /// </summary>
    public long ExpiryClockMs => _frozenNowMs >= 0 ? _frozenNowMs : NowMs;

    internal bool TimeFrozen => _frozenNowMs >= 0;

    internal void FreezeTime(bool frozen) => _frozenNowMs = frozen ? DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() : -1;

    /// <summary>
    /// Called at every mutation site, one call per event, in Redis's order. Every event but "keymiss" marks
    /// a real change of the key, so this is also where WATCH learns that a key was touched. "new" (dbAdd)
    /// touches no watcher and invalidates no tracking, as in Redis: the write that adds a key signals with its
    /// own event, and one that adds it without changing anything (BITFIELD whose writes all fail) leaves a
    /// WATCH of it intact. The durable store still learns that the key exists.
    /// </summary>
    public void Notify(NotifyFlags type, string evt, ReadOnlySpan<byte> key, int db)
    {
        if (type == NotifyFlags.New) Durable?.MarkDirty(db, key);
        else if (type != NotifyFlags.KeyMiss) SignalModifiedKey(db, key);
        Notifier.Notify(type, evt, key, db);
    }

    /// <summary>
    /// A consumer group changed (XGROUP, XREADGROUP, XACK, XCLAIM...): as in Redis 7.0 no WATCH is touched and
    /// no tracking invalidated, but the durable store learns it, and <paramref name="evt"/>, if any, is sent.
    /// </summary>
    public void GroupChanged(int db, ReadOnlySpan<byte> key, string? evt = null)
    {
        Durable?.MarkDirty(db, key);
        if (evt != null) Notifier.Notify(NotifyFlags.Stream, evt, key, db);
    }

    /// <summary>
    /// As expireIfNeeded: deletes the key if its time has passed; true if it did, or (while CLIENT PAUSE holds
    /// expiry) if it would have: the key is then missing for the caller but still stored.
    /// </summary>
    public bool ExpireIfNeeded(Database db, ReadOnlySpan<byte> key)
    {
        long at = db.GetExpire(key);
        return at >= 0 && ExpireIfDue(db, key, at); // the clock is read only for keys with a deadline
    }

    private bool ExpireIfDue(Database db, ReadOnlySpan<byte> key, long expireAt)
    {
        if (expireAt >= ExpiryClockMs) return false; // as keyIsExpired: expired once the time is past the deadline
        if (ExpiryPaused) return true; // logically expired, deleted once CLIENT PAUSE ends (as Redis)
        var stored = db.KeyOf(key)!;
        db.Remove(key);
        Stats.ExpiredKeys++;
        Notify(NotifyFlags.Expired, "expired", stored, db.Index);
        return true;
    }

    /// <summary>As lookupKeyRead: expiry, hit/miss statistics and the "keymiss" event.</summary>
    public object? LookupRead(Database db, ReadOnlySpan<byte> key) => LookupRead(db, key, growable: false);

    /// <summary>
    /// As lookupKeyRead; with <paramref name="growable"/> a string APPEND, SETRANGE or SETBIT grew stays a
    /// <see cref="GrowableString"/> (the string readers read it in place: see <see cref="GrowableString.TryBytes"/>).
    /// </summary>
    /// <param name="notify">False as LOOKUP_NONOTIFY (OBJECT): a miss is counted but sends no "keymiss".</param>
    /// <param name="touch">False as LOOKUP_NOTOUCH (EXISTS, TYPE, TTL, OBJECT): the key's access stamp stays.</param>
    public object? LookupRead(Database db, ReadOnlySpan<byte> key, bool growable, bool notify = true, bool touch = true)
        => CountLookup(db, key, Lookup(db, key, growable, touch ? Touching.UnlessNoTouch : Touching.Never), notify);

    /// <summary>TOUCH: a read lookup that renews the access stamp even for a CLIENT NO-TOUCH client (as Redis 7.2).</summary>
    public object? LookupReadTouching(Database db, ReadOnlySpan<byte> key) => CountLookup(db, key, Lookup(db, key, false, Touching.Always), notify: true);

    private object? CountLookup(Database db, ReadOnlySpan<byte> key, object? value, bool notify)
    {
        if (value is null)
        {
            Stats.KeyspaceMisses++;
            if (notify) Notify(NotifyFlags.KeyMiss, "keymiss", key, db.Index);
        }
        else
        {
            Stats.KeyspaceHits++;
        }
        return value;
    }

    /// <summary>As lookupKeyWrite: expiry only.</summary>
    public object? LookupWrite(Database db, ReadOnlySpan<byte> key) => Lookup(db, key);

    /// <summary>
    /// As lookupKeyWrite; with <paramref name="growable"/> (APPEND, SETRANGE, SETBIT) a string grown before is
    /// still a <see cref="GrowableString"/>, so it can be changed in place.
    /// </summary>
    public object? LookupWrite(Database db, ReadOnlySpan<byte> key, bool growable) => Lookup(db, key, growable);

    private enum Touching { UnlessNoTouch, Never, Always }

    /// <summary>
    /// The live value: one dictionary lookup, and the clock only for a key with a deadline. A hit renews the key's
    /// access stamp (as lookupKey), unless <paramref name="touching"/> says otherwise or the running client
    /// asked for CLIENT NO-TOUCH.
    /// </summary>
    private object? Lookup(Database db, ReadOnlySpan<byte> key, bool growable = false, Touching touching = Touching.UnlessNoTouch)
    {
        var value = db.GetWithExpire(key, out long at, growable, out int index);
        if (value is null || (at >= 0 && ExpireIfDue(db, key, at))) return null;
        if (touching == Touching.Always || (touching == Touching.UnlessNoTouch && _current is not { NoTouch: true })) db.Touch(index);
        return value;
    }

    /// <summary>As setKey: adds ("new" event) or overwrites; drops the TTL unless <paramref name="keepTtl"/>.</summary>
    public byte[] SetKey(Database db, ReadOnlySpan<byte> key, object value, bool keepTtl = false)
    {
        // As its lookupKeyWrite: an expired key is deleted (its "expired" event) before it is replaced, a live one
        // is accessed (its LFU counter rises, and the new value keeps it). Growable: a grown string about to be
        // replaced is not first copied into an exact array.
        Lookup(db, key, growable: true);
        return SetLiveKey(db, key, value, keepTtl);
    }

    /// <summary>
    /// <see cref="SetKey"/> for a caller that has just looked the key up for writing (so an expired key is
    /// already gone): the dictionary is searched once more, not three times. As Redis 7.0, only a key that is
    /// added (dbAdd) wakes the clients blocked on it: one overwritten in place (dbOverwrite: SORT ... STORE or
    /// ZUNIONSTORE over a string, say) does not, while RENAME, MOVE and COPY delete the destination first and add it.
    /// </summary>
    public byte[] SetLiveKey(Database db, ReadOnlySpan<byte> key, object value, bool keepTtl = false)
    {
        var stored = db.Set(key, value, keepTtl, out bool existed);
        if (existed) return stored;
        Notify(NotifyFlags.New, "new", stored, db.Index);
        SignalKeyAsReady(db.Index, stored, value);
        return stored;
    }

    /// <summary>As the "del when a container becomes empty" step of list, hash and set commands.</summary>
    public void DeleteIfEmpty(Database db, ReadOnlySpan<byte> key, int count)
    {
        if (count > 0) return;
        var stored = db.KeyOf(key)!;
        db.Remove(stored);
        Notify(NotifyFlags.Generic, "del", stored, db.Index);
    }

    /// <summary>Sets an absolute expiry (Unix ms) on an existing key and schedules it.</summary>
    public void SetExpire(Database db, byte[] storedKey, long atMs)
    {
        bool earliest = NextDeadline() is not { } next || atMs < next;
        db.SetExpire(storedKey, atMs);
        if (earliest) _expiryWake.Set();
    }

    /// <summary>SWAPDB: keys, TTLs and deadline heaps change database together.</summary>
    public void SwapDatabases(int a, int b)
    {
        Durable?.BeforeSwap(a, b);
        Database.Swap(Databases[a], Databases[b]);
        SignalSwappedKeysReady(a, b);
        _expiryWake.Set();
    }

    /// <summary>The earliest deadline of any database (stale entries included), or null.</summary>
    private long? NextDeadline()
    {
        long? earliest = null;
        foreach (var db in Databases)
        {
            if (db.Deadlines.NextDeadline is { } at && (earliest is null || at < earliest)) earliest = at;
        }
        return earliest;
    }

    /// <summary>Starts the loop that expires keys, and times out blocked clients, when their deadline passes.</summary>
    public void StartExpiry()
    {
        if (_expiryThread != null) return;
        _expiryThread = new Thread(ExpiryLoop) { IsBackground = true, Name = "expiry" };
        _expiryThread.Start();
    }

    public void StopExpiry()
    {
        _stopping = true;
        _expiryWake.Set();
        _expiryThread?.Join(2000);
    }

    private void ExpiryLoop()
    {
        while (!_stopping)
        {
            int wait;
            lock (Gate)
            {
                if (!ExpiryPaused && _activeExpire) ExpireDue(maxKeys: 1000); // (ending a pause that is over runs its postponed clients)
                bool evicting = Config.MaxMemory > 0 && PerformEvictions() == EvictResult.Running; // as evictionTimeProc
                TimeOutDueBlocked();
                if (_ready.Count > 0) ServeReadyKeys(); // an expired stream ends XREADGROUP waits on it
                FlushDirty();
                Durable?.Commit(); // deletions of expired durable keys; nobody waits for them
                // A key expires in the millisecond after its deadline (Database.IsExpired).
                long? next = _pauseMode != PauseMode.None ? PauseDeadline() : _activeExpire ? NextDeadline() + 1 : null;
                if (NextBlockDeadline() is { } block && (next is null || block < next)) next = block;
                wait = evicting ? 0 : next is null ? 1000 : (int)Math.Clamp(next.Value - NowMs, 0, 1000);
            }
            // A bounded slice per gate hold: a million keys expiring at once cannot stall other clients.
            if (wait > 0) _expiryWake.WaitOne(wait);
            else Thread.Yield();
        }
    }

    /// <summary>Deletes up to <paramref name="maxKeys"/> keys whose deadline has passed. Caller holds the gate.</summary>
    public int ExpireDue(int maxKeys)
    {
        long now = ExpiryClockMs;
        int done = 0;
        while (done < maxKeys)
        {
            // Earliest deadline first across databases, so events follow deadline order.
            Database? db = null;
            long earliest = long.MaxValue;
            foreach (var d in Databases)
            {
                if (d.Deadlines.NextDeadline is { } at && at < earliest)
                {
                    earliest = at;
                    db = d;
                }
            }
            if (db is null || !db.Deadlines.TryPopDue(now, out var key, out long due)) break;
            // An entry made stale by PERSIST, another EXPIRE, overwrite or delete: dropped, or carried to a later deadline.
            if (db.GetExpire(key) != due)
            {
                db.Reindex(key, due);
                continue;
            }
            if (ExpireIfNeeded(db, key)) done++;
        }
        return done;
    }
}
