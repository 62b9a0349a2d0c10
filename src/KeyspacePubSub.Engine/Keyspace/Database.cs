namespace KeyspacePubSub.Engine.Keyspace;

/// <summary>
/// One of the numbered databases: key → value (byte[] for strings), and key → absolute expiry time in
/// Unix milliseconds, kept apart as Redis keeps db->dict and db->expires.
/// </summary>
public sealed class Database(int index)
{
    public int Index { get; } = index;

    public Dictionary<byte[], object> Data { get; private set; } = new(ByteKeyComparer.Instance);

    public Dictionary<byte[], long> Expires { get; private set; } = new(ByteKeyComparer.Instance);

    public int Count => Data.Count;

    public void Clear()
    {
        Data = new Dictionary<byte[], object>(ByteKeyComparer.Instance);
        Expires = new Dictionary<byte[], long>(ByteKeyComparer.Instance);
    }

    /// <summary>SWAPDB: exchange contents, keep the indexes.</summary>
    public static void Swap(Database a, Database b)
    {
        (a.Data, b.Data) = (b.Data, a.Data);
        (a.Expires, b.Expires) = (b.Expires, a.Expires);
    }

    /// <summary>The value, ignoring expiry (callers check <see cref="IsExpired"/> first).</summary>
    public object? Get(ReadOnlySpan<byte> key) => Data.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(key, out var v) ? v : null;

    /// <summary>The stored key array (so other maps can share it), or null.</summary>
    public byte[]? KeyOf(ReadOnlySpan<byte> key) => Data.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(key, out var k, out _) ? k : null;

    public long GetExpire(ReadOnlySpan<byte> key) => Expires.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(key, out var at) ? at : -1;

    public bool IsExpired(ReadOnlySpan<byte> key, long nowMs)
    {
        long at = GetExpire(key);
        return at >= 0 && at <= nowMs;
    }

    /// <summary>Adds or overwrites; returns the stored key array.</summary>
    public byte[] Set(ReadOnlySpan<byte> key, object value)
    {
        var lookup = Data.GetAlternateLookup<ReadOnlySpan<byte>>();
        if (lookup.TryGetValue(key, out var existing, out _))
        {
            Data[existing] = value;
            return existing;
        }
        var k = key.ToArray();
        Data.Add(k, value);
        return k;
    }

    public bool Remove(ReadOnlySpan<byte> key)
    {
        Expires.GetAlternateLookup<ReadOnlySpan<byte>>().Remove(key);
        return Data.GetAlternateLookup<ReadOnlySpan<byte>>().Remove(key);
    }

    public bool RemoveExpire(ReadOnlySpan<byte> key) => Expires.GetAlternateLookup<ReadOnlySpan<byte>>().Remove(key);

    public void SetExpire(byte[] storedKey, long atMs) => Expires[storedKey] = atMs;
}
