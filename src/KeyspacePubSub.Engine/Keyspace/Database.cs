using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace KeyspacePubSub.Engine.Keyspace;

/// <summary>
/// One of the numbered databases: key → value (byte[] for strings) and the key's absolute expiry time in
/// Unix milliseconds, in one entry. Redis keeps a second dictionary (db->expires) for keys with a TTL; here
/// a TTL costs only its place in the <see cref="Deadlines"/> heap, and each key 8 bytes for the field.
/// </summary>
public sealed class Database(int index)
{
    private const long NoExpiry = -1;

    private Dictionary<byte[], Entry> _data = new(ByteKeyComparer.Instance);

    public int Index { get; } = index;

    public int Count => _data.Count;

    /// <summary>Keys with a TTL (INFO keyspace's expires=).</summary>
    public int ExpiresCount { get; private set; }

    /// <summary>The deadlines of this database's keys, earliest first (with stale entries; see <see cref="ExpiryIndex"/>).</summary>
    public ExpiryIndex Deadlines { get; private set; } = new();

    public IEnumerable<byte[]> Keys => _data.Keys;

    public void Clear()
    {
        _data = new Dictionary<byte[], Entry>(ByteKeyComparer.Instance);
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

    /// <summary>The value, ignoring expiry (callers check <see cref="IsExpired"/> first).</summary>
    public object? Get(ReadOnlySpan<byte> key) => Lookup.TryGetValue(key, out var e) ? e.Value : null;

    /// <summary>The stored key array (so other maps can share it), or null.</summary>
    public byte[]? KeyOf(ReadOnlySpan<byte> key) => Lookup.TryGetValue(key, out var k, out _) ? k : null;

    public long GetExpire(ReadOnlySpan<byte> key) => Lookup.TryGetValue(key, out var e) ? e.ExpireAt : NoExpiry;

    /// <summary>One lookup: the value and its deadline (negative: none), ignoring expiry; null when absent.</summary>
    public object? GetWithExpire(ReadOnlySpan<byte> key, out long expireAt)
    {
        if (Lookup.TryGetValue(key, out var e))
        {
            expireAt = e.ExpireAt;
            return e.Value;
        }
        expireAt = NoExpiry;
        return null;
    }

    public bool IsExpired(ReadOnlySpan<byte> key, long nowMs)
    {
        long at = GetExpire(key);
        return at >= 0 && at <= nowMs;
    }

    /// <summary>Adds or overwrites the value (an existing key keeps its TTL); returns the stored key array.</summary>
    public byte[] Set(ReadOnlySpan<byte> key, object value) => Set(key, value, keepTtl: true, out _);

    /// <summary>
    /// Adds or overwrites the value; an overwritten key loses its TTL unless <paramref name="keepTtl"/> (as
    /// Redis's setKey). Returns the stored key array; <paramref name="existed"/> says whether it was overwritten.
    /// </summary>
    public byte[] Set(ReadOnlySpan<byte> key, object value, bool keepTtl, out bool existed)
    {
        var lookup = Lookup;
        if (lookup.TryGetValue(key, out var existing, out _))
        {
            ref var e = ref CollectionsMarshal.GetValueRefOrNullRef(_data, existing);
            e.Value = value;
            if (!keepTtl && e.ExpireAt >= 0)
            {
                e.ExpireAt = NoExpiry; // its place in the deadline heap goes stale (see ExpiryIndex)
                ExpiresCount--;
            }
            existed = true;
            return existing;
        }
        existed = false;
        var k = key.ToArray();
        _data.Add(k, new Entry(value, NoExpiry));
        return k;
    }

    public bool Remove(ReadOnlySpan<byte> key)
    {
        if (!Lookup.Remove(key, out _, out var removed)) return false;
        if (removed.ExpireAt >= 0) ExpiresCount--;
        return true;
    }

    /// <summary>PERSIST and overwrites: true when the key had a TTL.</summary>
    public bool RemoveExpire(ReadOnlySpan<byte> key)
    {
        ref var e = ref CollectionsMarshal.GetValueRefOrNullRef(Lookup, key);
        if (Unsafe.IsNullRef(ref e) || e.ExpireAt < 0) return false;
        e.ExpireAt = NoExpiry;
        ExpiresCount--;
        return true;
    }

    /// <summary>Gives an existing key its deadline and indexes it.</summary>
    public void SetExpire(byte[] storedKey, long atMs)
    {
        ref var e = ref CollectionsMarshal.GetValueRefOrNullRef(_data, storedKey);
        if (Unsafe.IsNullRef(ref e)) throw new InvalidOperationException("SetExpire on a missing key");
        if (e.ExpireAt < 0) ExpiresCount++;
        e.ExpireAt = atMs;
        Deadlines.Add(storedKey, atMs);
    }

    private Dictionary<byte[], Entry>.AlternateLookup<ReadOnlySpan<byte>> Lookup => _data.GetAlternateLookup<ReadOnlySpan<byte>>();

    private struct Entry(object value, long expireAt)
    {
        public object Value = value;
        public long ExpireAt = expireAt;
    }
}
