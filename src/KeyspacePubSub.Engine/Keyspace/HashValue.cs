namespace KeyspacePubSub.Engine.Keyspace;

/// <summary>A Redis hash: fields in insertion order (as Redis's listpack encoding replies them).</summary>
public sealed class HashValue
{
    public OrderedDictionary<byte[], byte[]> Fields { get; } = new(ByteKeyComparer.Instance);

    public int Count => Fields.Count;
}

/// <summary>A Redis set. Replies list integers in numeric order (Redis's intset) and other members in insertion order.</summary>
public sealed class SetValue
{
    public OrderedDictionary<byte[], bool> Members { get; } = new(ByteKeyComparer.Instance);

    public int Count => Members.Count;

    /// <summary>Members in the order Redis 7.0 would list a small set of this content.</summary>
    public List<byte[]> Ordered()
    {
        var list = Members.Keys.ToList();
        if (list.Count <= 512 && list.All(m => Protocol.Strict.TryParseInt64(m, out _)))
        {
            list.Sort((a, b) =>
            {
                Protocol.Strict.TryParseInt64(a, out long x);
                Protocol.Strict.TryParseInt64(b, out long y);
                return x.CompareTo(y);
            });
        }
        return list;
    }
}
