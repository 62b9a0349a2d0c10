namespace KeyspacePubSub.Engine.Keyspace;

/// <summary>A Redis hash: fields in insertion order (as Redis's listpack encoding replies them).</summary>
public sealed class HashValue
{
    /// <summary>Redis 7.0's hash-max-listpack-entries / hash-max-listpack-value defaults.</summary>
    public const int ListpackMaxEntries = 512, ListpackMaxValue = 64;

    /// <summary>Read freely; change through <see cref="Put"/> and <see cref="Remove"/>, which keep the encoding.</summary>
    public OrderedDictionary<byte[], byte[]> Fields { get; } = new(ByteKeyComparer.Instance);

    public int Count => Fields.Count;

    /// <summary>
    /// Redis converts a hash from listpack to a hash table once it holds more than 512 fields or a field or
    /// value longer than 64 bytes, and never back (t_hash.c hashTypeTryConversion / hashTypeSet). OBJECT
    /// ENCODING reports it, and HSCAN pages a hash table where it answers a listpack whole.
    /// </summary>
    public bool IsHashtableEncoded { get; private set; }

    /// <summary>Sets a field; true when it is new.</summary>
    public bool Put(byte[] field, byte[] value)
    {
        int before = Fields.Count;
        Fields[field] = value;
        if (field.Length > ListpackMaxValue || value.Length > ListpackMaxValue || Fields.Count > ListpackMaxEntries) IsHashtableEncoded = true;
        return Fields.Count != before;
    }

    /// <summary>A copy with the same fields, order and encoding (COPY, as Redis's hashTypeDup).</summary>
    public HashValue Clone()
    {
        var copy = new HashValue();
        foreach (var (k, v) in Fields) copy.Fields.Add(k, v);
        copy.IsHashtableEncoded = IsHashtableEncoded;
        return copy;
    }

    /// <summary>HDEL: O(1); the order of the other fields is kept while the hash is small (see <see cref="DenseRemoval"/>).</summary>
    public bool Remove(byte[] field) => DenseRemoval.Remove(Fields, field);

    /// <summary>The field at a position (0 .. Count-1): a random pick is one call.</summary>
    public KeyValuePair<byte[], byte[]> At(int index) => Fields.GetAt(index);
}

/// <summary>A Redis set. Replies list integers in numeric order (Redis's intset) and other members in insertion order.</summary>
public sealed class SetValue
{
    /// <summary>Redis 7.0's set-max-intset-entries default.</summary>
    public const int IntsetMaxEntries = 512;

    /// <summary>Read freely; change through <see cref="Add"/>, <see cref="Remove"/> and <see cref="RemoveAt"/>, which keep the encoding.</summary>
    public OrderedDictionary<byte[], bool> Members { get; } = new(ByteKeyComparer.Instance);

    public int Count => Members.Count;

    /// <summary>
    /// Redis 7.0 keeps a set of integers as an intset until it holds more than 512 members or gets a member
    /// that is not an integer, then converts it to a hash table and never back (t_set.c setTypeAdd). OBJECT
    /// ENCODING reports it, and SSCAN pages a hash table where it answers an intset whole.
    /// </summary>
    public bool IsHashtableEncoded { get; private set; }

    /// <summary>
    /// While an intset: the bytes per integer (2, 4 or 8). Redis's intset widens when a member needs it and never
    /// narrows, so DUMP writes what a removed member once needed.
    /// </summary>
    public int IntsetWidth { get; private set; } = 2;

    /// <summary>Adds a member; false when it was there.</summary>
    public bool Add(byte[] member)
    {
        if (!Members.TryAdd(member, true)) return false;
        if (IsHashtableEncoded) return true;
        if (Members.Count > IntsetMaxEntries || !Protocol.Strict.TryParseInt64(member, out long v)) IsHashtableEncoded = true;
        else WidenIntset(v is >= short.MinValue and <= short.MaxValue ? 2 : v is >= int.MinValue and <= int.MaxValue ? 4 : 8);
        return true;
    }

    /// <summary>An intset at least this wide (RESTORE keeps the width a payload's intset has).</summary>
    internal void WidenIntset(int width) => IntsetWidth = Math.Max(IntsetWidth, width);

    /// <summary>A copy with the same members, order and encoding (COPY, as Redis's setTypeDup).</summary>
    public SetValue Clone()
    {
        var copy = new SetValue();
        foreach (var m in Members.Keys) copy.Members.Add(m, true);
        copy.IsHashtableEncoded = IsHashtableEncoded;
        copy.IntsetWidth = IntsetWidth;
        return copy;
    }

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
/// order, which is the order Redis replies while a hash is a listpack (at most 512 fields) or a set an intset
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
        if (d.Count <= OrderKeptUpTo || index == last) d.RemoveAt(index);
        else
        {
            var (key, value) = d.GetAt(last);
            d.RemoveAt(last);
            d.SetAt(index, key, value);
        }
        if (SparseTable.IsSparse(d.Count, d.EnsureCapacity(0))) d.TrimExcess();
    }
}

/// <summary>
/// When a collection value's table gives its memory back: Redis resizes a hash's, set's or sorted set's dict
/// under 10% full after each deletion; a .NET table keeps its largest size (200,000 fields of a hash removed
/// but one kept 9.4 MB, a set's 9 MB, a sorted set's 14 MB; Redis's came back within 0.3 MB). Tables of more
/// than 64 slots; a table trimmed to n entries is trimmed again only under n / 10, so the cost per removal stays constant.
/// </summary>
internal static class SparseTable
{
    public static bool IsSparse(int count, int capacity) => capacity > 64 && count * 10L < capacity;
}
