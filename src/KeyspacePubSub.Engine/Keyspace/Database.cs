namespace KeyspacePubSub.Engine.Keyspace;

/// <summary>
/// One of the numbered databases: key → value (byte[] for strings) and the key's absolute expiry time in
/// Unix milliseconds, in one entry. Redis keeps a second dictionary (db->expires) for keys with a TTL; here
/// a TTL costs only its place in the <see cref="Deadlines"/> heap, and each key 8 bytes for the field.
/// The keys are a <see cref="KeyTable"/>; each has an access stamp kept by <see cref="Clock"/> (shared by all
/// databases), for OBJECT IDLETIME / FREQ and the maxmemory policies.
/// </summary>
public sealed class Database(int index, AccessClock? clock = null)
{
    public delegate void KeyHandler(Database db, ReadOnlySpan<byte> key);

    /// <summary>
    /// Called when a stream leaves a key: deleted, or overwritten by another value (Redis 7.0's
    /// signalDeletedKeyAsReady, which ends the waits of XREADGROUP on it). Clear and Swap do not call it.
    /// </summary>
    public KeyHandler? StreamRemoved { get; set; }

    private const long NoExpiry = -1;

    /// <summary>The access stamps' clock (the policy decides whether a stamp is a time or a frequency).</summary>
    public AccessClock Clock { get; } = clock ?? new AccessClock();

    private KeyTable _data = new();

    public int Index { get; } = index;

    public int Count => _data.Count;

    /// <summary>The key table's own bytes (MEMORY STATS overhead.hashtable.main).</summary>
    public long TableOverhead => _data.OverheadBytes;

    /// <summary>The deadline heap's bytes (MEMORY STATS overhead.hashtable.expires): a key reference and a deadline per entry.</summary>
    public long ExpiresOverhead => Deadlines.Count * 16L;

    /// <summary>Keys with a TTL (INFO keyspace's expires=).</summary>
    public int ExpiresCount { get; private set; }

    /// <summary>The deadlines of this database's keys, earliest first (with stale entries; see <see cref="ExpiryIndex"/>).</summary>
    public ExpiryIndex Deadlines { get; private set; } = new();

    public IEnumerable<byte[]> Keys => _data.Keys;

    /// <summary>The keys not expired at <paramref name="nowMs"/> (KEYS: one pass over the entries, no lookup per key).</summary>
    public IEnumerable<byte[]> LiveKeys(long nowMs) => _data.LiveKeys(nowMs);

    /// <summary>A random key (an expired one too), null when the database is empty.</summary>
    public byte[]? RandomKey() => _data.RandomKey();

    /// <summary>One bucket's keys for SCAN (expired ones too); the next cursor, 0 at the end (see <see cref="KeyTable.Scan"/>).</summary>
    public ulong Scan(ulong cursor, List<byte[]> keys) => _data.Scan(cursor, keys);

    /// <summary>
    /// Compacts the key table and the deadline heap when deletions left them mostly empty, and makes the heap
    /// anew from the keys' deadlines when stale entries outnumber the keys with a TTL (keys deleted and set again
    /// with a TTL, each time a new entry that lasts until its deadline or, for a key that lives on with a later
    /// one, is carried forward). The cron, between commands.
    /// </summary>
    public void ShrinkIfSparse()
    {
        _data.ShrinkIfSparse();
        if (Deadlines.Count > 2L * ExpiresCount + 4096)
        {
            var heap = new ExpiryIndex();
            heap.AddRange(_data.Deadlines());
            Deadlines = heap;
        }
        else Deadlines.TrimIfSparse();
    }

    public void Clear()
    {
        _data = new KeyTable();
        ExpiresCount = 0;
        Deadlines = new ExpiryIndex();
    }

    /// <summary>SWAPDB: exchange contents (keys, TTLs and their deadline heaps), keep the indexes.</summary>
    public static void Swap(Database a, Database b)
    {
        (a._data, b._data) = (b._data, a._data);
        (a.ExpiresCount, b.ExpiresCount) = (b.ExpiresCount, a.ExpiresCount);
        (a.Deadlines, b.Deadlines) = (b.Deadlines, a.Deadlines);
    }

    /// <summary>The value, ignoring expiry (callers check <see cref="IsExpired"/> first); a string as an exact array.</summary>
    public object? Get(ReadOnlySpan<byte> key)
    {
        int i = _data.Find(key);
        return i < 0 ? null : Exact(ref _data.At(i));
    }

    /// <summary>A grown string becomes an exact array again (see <see cref="GrowableString"/>).</summary>
    private static object? Exact(ref KeyTable.Entry e) => e.Value is GrowableString g ? e.Value = g.ToArray() : e.Value;

    /// <summary>The stored key array (so other maps can share it), or null.</summary>
    public byte[]? KeyOf(ReadOnlySpan<byte> key)
    {
        int i = _data.Find(key);
        return i < 0 ? null : _data.At(i).Key;
    }

    public long GetExpire(ReadOnlySpan<byte> key)
    {
        int i = _data.Find(key);
        return i < 0 ? NoExpiry : _data.At(i).ExpireAt;
    }

    /// <summary>One lookup: the value and its deadline (negative: none), ignoring expiry; null when absent.</summary>
    public object? GetWithExpire(ReadOnlySpan<byte> key, out long expireAt) => GetWithExpire(key, out expireAt, growable: false);

    /// <summary>
    /// As <see cref="GetWithExpire(ReadOnlySpan{byte}, out long)"/>; with <paramref name="growable"/> a grown
    /// string stays a <see cref="GrowableString"/> (APPEND, SETRANGE and SETBIT change it in place).
    /// </summary>
    public object? GetWithExpire(ReadOnlySpan<byte> key, out long expireAt, bool growable) => GetWithExpire(key, out expireAt, growable, out _);

    /// <summary>As <see cref="GetWithExpire(ReadOnlySpan{byte}, out long, bool)"/>, also giving the entry's index (for <see cref="Touch"/>).</summary>
    public object? GetWithExpire(ReadOnlySpan<byte> key, out long expireAt, bool growable, out int index)
    {
        int i = index = _data.Find(key);
        if (i < 0)
        {
            expireAt = NoExpiry;
            return null;
        }
        ref var e = ref _data.At(i);
        expireAt = e.ExpireAt;
        return growable ? e.Value : Exact(ref e);
    }

    /// <summary>An access of the entry at <paramref name="index"/> (from a lookup with no change since): its stamp is renewed.</summary>
    public void Touch(int index) => Clock.Touch(ref _data.StampAt(index));

    /// <summary>The access stamp of <paramref name="key"/>, or null when absent (OBJECT IDLETIME / FREQ).</summary>
    public uint? StampOf(ReadOnlySpan<byte> key)
    {
        int i = _data.Find(key);
        return i < 0 ? null : _data.StampAt(i);
    }

    /// <summary>Gives <paramref name="key"/> the stamp <paramref name="stamp"/> (RENAME and MOVE keep the value's, as Redis moves the object).</summary>
    public void SetStamp(ReadOnlySpan<byte> key, uint stamp)
    {
        int i = _data.Find(key);
        if (i >= 0) _data.StampAt(i) = stamp;
    }

    /// <summary>Random entries for eviction (see <see cref="KeyTable.Sample"/>): their indexes into <paramref name="indexes"/>.</summary>
    public int Sample(Span<int> indexes, bool volatileOnly) =>
        _data.Sample(indexes, volatileOnly, volatileOnly ? ExpiresCount : Count);

    /// <summary>The entry at <paramref name="index"/> (from <see cref="Sample"/>): its key, value, deadline and stamp.</summary>
    public ref KeyTable.Entry EntryAt(int index) => ref _data.At(index);

    /// <summary>The stamp of the entry at <paramref name="index"/>.</summary>
    public uint StampAt(int index) => _data.StampAt(index);

    /// <summary>As keyIsExpired: the key has a deadline and the time is past it (a key lives through its deadline's own millisecond).</summary>
    public bool IsExpired(ReadOnlySpan<byte> key, long nowMs)
    {
        long at = GetExpire(key);
        return at >= 0 && at < nowMs;
    }

    /// <summary>Adds or overwrites the value (an existing key keeps its TTL); returns the stored key array.</summary>
    public byte[] Set(ReadOnlySpan<byte> key, object value) => Set(key, value, keepTtl: true, out _);

    /// <summary>
    /// Adds or overwrites the value; an overwritten key loses its TTL unless <paramref name="keepTtl"/> (as
    /// Redis's setKey). Returns the stored key array; <paramref name="existed"/> says whether it was overwritten.
    /// </summary>
    public byte[] Set(ReadOnlySpan<byte> key, object value, bool keepTtl, out bool existed)
    {
        int i = _data.Find(key, out int hash);
        if (i >= 0)
        {
            ref var e = ref _data.At(i);
            if (e.Value is Streams.StreamValue && !ReferenceEquals(e.Value, value)) StreamRemoved?.Invoke(this, key);
            e.Value = value;
            // As dbOverwrite: under LFU the new value takes the old one's stamp; under LRU a new object's (now).
            if (!Clock.Lfu) _data.StampAt(i) = AccessClock.LruNow;
            if (!keepTtl && e.ExpireAt >= 0)
            {
                e.ExpireAt = NoExpiry; // its place in the deadline heap goes stale (see ExpiryIndex)
                ExpiresCount--;
            }
            existed = true;
            return e.Key!;
        }
        existed = false;
        var k = key.ToArray();
        _data.Add(k, value, NoExpiry, hash, Clock.Fresh());
        return k;
    }

    public bool Remove(ReadOnlySpan<byte> key)
    {
        if (!_data.Remove(key, out long expireAt, out object? value)) return false;
        if (expireAt >= 0) ExpiresCount--;
        if (value is Streams.StreamValue) StreamRemoved?.Invoke(this, key);
        return true;
    }

    /// <summary>PERSIST and overwrites: true when the key had a TTL.</summary>
    public bool RemoveExpire(ReadOnlySpan<byte> key)
    {
        int i = _data.Find(key);
        if (i < 0) return false;
        ref var e = ref _data.At(i);
        if (e.ExpireAt < 0) return false;
        e.ExpireAt = NoExpiry;
        ExpiresCount--;
        return true;
    }

    /// <summary>
    /// Gives an existing key its deadline. A key with a TTL always has a heap entry at or before its deadline, so
    /// only a first deadline, or an earlier one, adds an entry: when a deadline moves later (a TTL refreshed,
    /// as presence and session keys are, again and again), the entry at the earlier deadline stands for the key,
    /// and when it comes due the key is indexed again at its deadline (<see cref="Reindex"/>). Each refresh used
    /// to add an entry, kept until its own deadline: 500,000 refreshes of one key's one-day TTL held 8 MB.
    /// </summary>
    public void SetExpire(byte[] storedKey, long atMs)
    {
        int i = _data.Find(storedKey);
        if (i < 0) throw new InvalidOperationException("SetExpire on a missing key");
        ref var e = ref _data.At(i);
        bool index = e.ExpireAt < 0 || atMs < e.ExpireAt;
        if (e.ExpireAt < 0) ExpiresCount++;
        e.ExpireAt = atMs;
        if (index) Deadlines.Add(storedKey, atMs);
    }

    /// <summary>
    /// A heap entry (<paramref name="key"/>, <paramref name="at"/>), taken off the heap, that is not the key's
    /// deadline: when the key's deadline is later (its TTL was extended) the key is indexed again there;
    /// otherwise (deleted, PERSIST, overwritten, or a newer, earlier deadline has an entry) it is dropped.
    /// </summary>
    public void Reindex(byte[] key, long at)
    {
        int i = _data.Find(key);
        if (i < 0) return;
        ref var e = ref _data.At(i);
        if (e.ExpireAt > at) Deadlines.Add(e.Key!, e.ExpireAt);
    }
}
