using System.Buffers.Binary;
using KeyspacePubSub.Engine.Streams;

namespace KeyspacePubSub.Engine.Rdb;

/// <summary>
/// A stream in an RDB payload, as Redis 7.0's rdbSaveObject and rdbLoadObject (RDB_TYPE_STREAM_LISTPACKS_2):
/// each node as its master ID (16 bytes, big-endian) and its listpack (t_stream.c's layout: the master entry's
/// live and deleted counts and fields, then per entry its flags, ID deltas, fields unless they are the master
/// entry's, values and element count), then the stream's length, last, first and maximal deleted IDs and
/// entries added, then each consumer group with its pending entries and consumers.
/// </summary>
internal static class StreamPayload
{
    public const int FlagDeleted = 1, FlagSameFields = 2;

    public static void Write(RdbBuffer w, StreamValue s)
    {
        w.Length((ulong)s.Nodes.Count);
        Span<byte> key = stackalloc byte[16];
        foreach (var node in s.Nodes)
        {
            WriteId(key, node.Master);
            w.RawString(key);
            w.RawString(Listpack(node));
        }
        w.Length((ulong)s.Length);
        w.Length(s.LastId.Ms);
        w.Length(s.LastId.Seq);
        w.Length(s.FirstId.Ms);
        w.Length(s.FirstId.Seq);
        w.Length(s.MaxDeletedId.Ms);
        w.Length(s.MaxDeletedId.Seq);
        w.Length((ulong)s.EntriesAdded);
        w.Length((ulong)s.GroupCount);
        if (s.Groups is null) return;
        Span<byte> time = stackalloc byte[8];
        foreach (var (name, cg) in s.Groups)
        {
            w.RawString(name);
            w.Length(cg.LastId.Ms);
            w.Length(cg.LastId.Seq);
            w.Length(unchecked((ulong)cg.EntriesRead));
            w.Length((ulong)cg.Pending.Count);
            foreach (var e in cg.Pending)
            {
                WriteId(key, e.Id);
                w.Bytes(key);
                BinaryPrimitives.WriteInt64LittleEndian(time, e.DeliveryTime);
                w.Bytes(time);
                w.Length((ulong)e.DeliveryCount);
            }
            w.Length((ulong)cg.Consumers.Count);
            foreach (var c in cg.Consumers.Values)
            {
                w.RawString(c.Name);
                BinaryPrimitives.WriteInt64LittleEndian(time, c.SeenTime);
                w.Bytes(time);
                w.Length((ulong)c.Pending.Count);
                foreach (var e in c.Pending)
                {
                    WriteId(key, e.Id);
                    w.Bytes(key);
                }
            }
        }
    }

    public static void WriteId(Span<byte> key, StreamId id)
    {
        BinaryPrimitives.WriteUInt64BigEndian(key, id.Ms);
        BinaryPrimitives.WriteUInt64BigEndian(key[8..], id.Seq);
    }

    /// <summary>The node's listpack as streamAppendItem leaves it (counts rewritten in place as entries come and go).</summary>
    private static byte[] Listpack(StreamNode node)
    {
        var lp = new ListpackBuilder();
        lp.Append(node.Live);
        lp.Append(node.Deleted);
        lp.Append(node.MasterFields.Length);
        foreach (var f in node.MasterFields) lp.Append(f);
        lp.Append(0);
        for (int k = 0; k < node.Count; k++)
        {
            var e = node[k];
            var pairs = e.Pairs;
            bool same = node.SameFieldsAt(k);
            int n = pairs.Length / 2;
            lp.Append((same ? FlagSameFields : 0) | (e.Deleted ? FlagDeleted : 0));
            lp.Append(unchecked((long)(e.Id.Ms - node.Master.Ms)));
            lp.Append(unchecked((long)(e.Id.Seq - node.Master.Seq)));
            if (!same) lp.Append(n);
            int i = 0;
            foreach (var item in pairs)
            {
                if (!same || i++ % 2 == 1) lp.Append(item); // (fields only when they are not the master's)
            }
            lp.Append(same ? n + 3 : 2 * n + 4);
        }
        return lp.ToArray();
    }

    /// <summary>The entries of one node's listpack, the first being the node's start; null when the listpack does not hold a valid node.</summary>
    public static List<(StreamId Id, byte[] Items, bool Deleted)>? ReadNode(StreamId master, List<byte[]> items)
    {
        int p = 0;
        bool Next(out long v)
        {
            v = 0;
            return p < items.Count && Protocol.Strict.TryParseInt64(items[p++], out v);
        }
        if (!Next(out long live) || !Next(out long deleted) || !Next(out long fieldCount) || fieldCount < 0 || fieldCount > items.Count - p) return null;
        var masterFields = items.GetRange(p, (int)fieldCount).ToArray();
        p += (int)fieldCount;
        if (!Next(out long terminator) || terminator != 0) return null;
        var entries = new List<(StreamId Id, byte[] Items, bool Deleted)>();
        long liveSeen = 0, deletedSeen = 0;
        StreamId previous = default;
        while (p < items.Count)
        {
            if (!Next(out long flags) || flags is < 0 or > 3 || !Next(out long msDelta) || !Next(out long seqDelta)) return null;
            bool same = (flags & FlagSameFields) != 0;
            long n = fieldCount;
            if (!same && (!Next(out n) || n < 0)) return null;
            long elements = same ? n : 2 * n;
            if (elements > items.Count - p) return null;
            var pairs = new byte[2 * n][];
            for (int i = 0; i < n; i++)
            {
                pairs[2 * i] = same ? masterFields[i] : items[p++];
                pairs[2 * i + 1] = items[p++];
            }
            if (!Next(out long count) || count != (same ? n + 3 : 2 * n + 4)) return null;
            var id = new StreamId(unchecked(master.Ms + (ulong)msDelta), unchecked(master.Seq + (ulong)seqDelta));
            if (entries.Count == 0 ? id != master : id <= previous) return null;
            previous = id;
            bool isDeleted = (flags & FlagDeleted) != 0;
            if (isDeleted) deletedSeen++;
            else liveSeen++;
            entries.Add((id, StreamRowItems.Encode(pairs), isDeleted));
        }
        if (entries.Count == 0 || liveSeen != live || deletedSeen != deleted || liveSeen == 0) return null;
        return entries;
    }
}
