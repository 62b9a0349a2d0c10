namespace KeyspacePubSub.Engine.Keyspace;

/// <summary>
/// MEMORY USAGE: the bytes a key and its value take in this server's own structures (64-bit .NET: 24-byte
/// array headers, 8-byte alignment, dictionary entries), not Redis's. As Redis's objectComputeSize,
/// aggregates average the size of their first <c>samples</c> elements over all of them (0: every one).
/// </summary>
public static class MemoryEstimate
{
    private const long ArrayHeader = 24, ObjectHeader = 16, Reference = 8;
    private const long DbEntry = 40; // the database's entry (hash, next, key, value, expiry), its access stamp and bucket
    private const long DictEntry = 28; // hash, next, key reference, value (reference or score) and the bucket
    // A skiplist node: score, member, backward link, its first level (16 bytes), the member table's chain link,
    // hash and slot, and the array of its upper levels (a quarter of the nodes: 24 + 1.33 links of 16 bytes,
    // 11 bytes a node on average) or a null reference.
    private const long SkipNode = ObjectHeader + 8 + Reference * 2 + 16 + Reference + 8 + Reference + 11;

    private static long Align(long n) => (n + 7) & ~7L;

    public static long Bytes(byte[] b) => Align(ArrayHeader + b.Length);

    /// <summary>The key's bytes, the database entry and the value.</summary>
    public static long Of(byte[] key, object value, long samples) => Bytes(key) + DbEntry + Value(value, samples);

    private static long Value(object value, long samples) => value switch
    {
        byte[] s => Bytes(s),
        ListValue l => ObjectHeader + 32 + Align(ArrayHeader + Reference * (long)l.Capacity) + Sampled(Enumerable.Range(0, l.Count).Select(i => Bytes(l[i])), l.Count, samples),
        HashValue h => ObjectHeader + 80 + Sampled(h.Fields.Select(kv => DictEntry + Reference + Bytes(kv.Key) + Bytes(kv.Value)), h.Count, samples),
        SetValue s => ObjectHeader + 80 + Sampled(s.Members.Keys.Select(m => DictEntry + Bytes(m)), s.Count, samples),
        SortedSetValue z => ObjectHeader + 160 + Sampled(z.Pairs.Select(p => 2 * Reference + SkipNode + Bytes(p.Member)), z.Count, samples), // a bucket and a slot each
        Streams.StreamValue st => ObjectHeader + 96 + Align(ArrayHeader + Reference * (long)st.RadixTreeKeys) + Sampled(st.Nodes.Select(n => n.MemoryBytes), st.Nodes.Count, samples)
            + GroupBytes(st),
        _ => ObjectHeader,
    };

    /// <summary>
    /// Consumer groups: each group and consumer object with its name and tree node, and each pending entry (the
    /// entry, 40 bytes, and a slot in the group's list and one in its consumer's).
    /// </summary>
    private const long PendingSlotBytes = 9; // a reference in a chunk of 64 and the chunk's share (see PendingList)

    private static long GroupBytes(Streams.StreamValue st)
    {
        if (st.Groups is null) return 0;
        long bytes = ObjectHeader + 48;
        foreach (var (name, cg) in st.Groups)
        {
            bytes += ObjectHeader + 80 + Bytes(name) + (ObjectHeader + 40) * (long)cg.Pending.Count + 2 * PendingSlotBytes * (long)cg.Pending.Count;
            foreach (var c in cg.Consumers.Values) bytes += ObjectHeader + 64 + Bytes(c.Name);
        }
        return bytes;
    }

    private static long Sampled(IEnumerable<long> sizes, int count, long samples)
    {
        if (count == 0) return 0;
        long taken = 0, sum = 0;
        foreach (long size in sizes)
        {
            if (taken == samples) break;
            sum += size;
            taken++;
        }
        return taken == count ? sum : (long)((double)sum / taken * count);
    }
}
