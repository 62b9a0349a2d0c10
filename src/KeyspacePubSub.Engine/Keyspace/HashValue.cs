namespace KeyspacePubSub.Engine.Keyspace;

/// <summary>A Redis hash: fields in insertion order (as Redis's listpack encoding replies them).</summary>
public sealed class HashValue
{
    public OrderedDictionary<byte[], byte[]> Fields { get; } = new(ByteKeyComparer.Instance);

    public int Count => Fields.Count;

    /// <summary>HDEL: O(1); the order of the other fields is kept while the hash is small (see <see cref="DenseRemoval"/>).</summary>
    public bool Remove(byte[] field) => DenseRemoval.Remove(Fields, field);

    /// <summary>The field at a position (0 .. Count-1): a random pick is one call.</summary>
    public KeyValuePair<byte[], byte[]> At(int index) => Fields.GetAt(index);
}

/// <summary>A Redis set. Replies list integers in numeric order (Redis's intset) and other members in insertion order.</summary>
public sealed class SetValue
{
    public OrderedDictionary<byte[], bool> Members { get; } = new(ByteKeyComparer.Instance);

    public int Count => Members.Count;

    /// <summary>SREM: O(1); the order of the other members is kept while the set is small (see <see cref="DenseRemoval"/>).</summary>
    public bool Remove(byte[] member) => DenseRemoval.Remove(Members, member);

    /// <summary>The member at a position (0 .. Count-1): a random pick is one call.</summary>
    public byte[] At(int index) => Members.GetAt(index).Key;

    /// <summary>SPOP's removal of the member at a position.</summary>
    public void RemoveAt(int index) => DenseRemoval.RemoveAt(Members, index);

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

/// <summary>
/// Removal from the ordered dictionaries behind hashes and sets. <see cref="OrderedDictionary{TKey,TValue}"/>'s
/// own removal shifts every later entry (O(n): one SREM on a set of 100,000 members took ~1 ms, 250 times
/// Redis). Up to <see cref="OrderKeptUpTo"/> entries removal still shifts, so the others keep their insertion
/// order, which is the order Redis replies while a hash is a listpack (at most 128 fields) or a set an intset
/// (at most 512 members, replied sorted anyway). Beyond that Redis holds a hash table and replies in hash
/// order, so any order is as good: the last entry moves into the removed one's place, O(1).
/// </summary>
internal static class DenseRemoval
{
    public const int OrderKeptUpTo = 512;

    public static bool Remove<T>(OrderedDictionary<byte[], T> d, byte[] key)
    {
        int index = d.IndexOf(key);
        if (index < 0) return false;
        RemoveAt(d, index);
        return true;
    }

    public static void RemoveAt<T>(OrderedDictionary<byte[], T> d, int index)
    {
        int last = d.Count - 1;
        if (d.Count <= OrderKeptUpTo || index == last)
        {
            d.RemoveAt(index);
            return;
        }
        var (key, value) = d.GetAt(last);
        d.RemoveAt(last);
        d.SetAt(index, key, value);
    }
}
