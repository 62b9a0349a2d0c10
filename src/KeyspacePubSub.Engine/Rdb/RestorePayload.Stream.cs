using System.Buffers.Binary;
using KeyspacePubSub.Engine.Streams;

namespace KeyspacePubSub.Engine.Rdb;

public static partial class RestorePayload
{
    /// <summary>
    /// A stream, as rdbLoadObject reads RDB_TYPE_STREAM_LISTPACKS(_2): its nodes (each checked: master ID first,
    /// IDs rising across nodes, counts and element counts as written), its counters, and its groups, where every
    /// pending entry must belong to exactly one consumer. An RDB 9 stream gets Redis's defaults for the newer
    /// counters: entries added = length, no deleted ID, the first live entry's ID, and each group's entries read
    /// estimated from its last ID.
    /// </summary>
    private static StreamValue? LoadStream(ref Reader r, bool v2)
    {
        ulong nodeCount = r.Length();
        var entries = new List<(StreamId Id, byte[] Items, bool Deleted, bool StartsNode)>();
        StreamId lastEntry = default;
        for (ulong n = 0; n < nodeCount; n++)
        {
            byte[] key = r.String();
            if (key.Length != 16) return null;
            var master = new StreamId(BinaryPrimitives.ReadUInt64BigEndian(key), BinaryPrimitives.ReadUInt64BigEndian(key.AsSpan(8)));
            if (entries.Count > 0 && master <= lastEntry) return null;
            var items = PackedListReader.Listpack(r.String());
            if (items is null || items.Count == 0) return null;
            var nodeEntries = StreamPayload.ReadNode(master, items);
            if (nodeEntries is null) return null;
            for (int i = 0; i < nodeEntries.Count; i++) entries.Add((nodeEntries[i].Id, nodeEntries[i].Items, nodeEntries[i].Deleted, i == 0));
            lastEntry = nodeEntries[^1].Id;
        }
        ulong length = r.Length();
        var last = r.LengthPairId();
        StreamId first = default, maxDeleted = default;
        ulong added = length;
        if (v2)
        {
            first = r.LengthPairId();
            maxDeleted = r.LengthPairId();
            added = r.Length();
        }
        else
        {
            foreach (var e in entries)
            {
                if (e.Deleted) continue;
                first = e.Id;
                break;
            }
        }
        if (added > long.MaxValue || (entries.Count > 0 && lastEntry > last)) return null;
        var s = StreamValue.Restore(null, last, maxDeleted, first, (long)added);
        foreach (var e in entries) s.RestoreEntry(e.Id, e.Items, e.Deleted, e.StartsNode);
        s.FinishRestore();
        if ((ulong)s.Length != length) return null;
        ulong groups = r.Length();
        for (ulong g = 0; g < groups; g++)
        {
            byte[] name = r.String();
            var groupLast = r.LengthPairId();
            long entriesRead = v2 ? unchecked((long)r.Length()) : s.EstimateDistanceFromFirstEverEntry(groupLast);
            var cg = s.CreateGroup(name, groupLast, entriesRead);
            if (cg is null) return null; // a group named twice
            ulong pendingCount = r.Length();
            var pending = new Dictionary<StreamId, (long Time, long Count)>();
            for (ulong i = 0; i < pendingCount; i++)
            {
                var id = r.RawId();
                long time = r.MillisecondTime();
                ulong count = r.Length();
                if (count > long.MaxValue || !pending.TryAdd(id, (time, (long)count))) return null;
            }
            ulong consumers = r.Length();
            for (ulong i = 0; i < consumers; i++)
            {
                byte[] consumerName = r.String();
                long seen = r.MillisecondTime();
                var c = cg.CreateConsumer(consumerName, seen);
                if (c is null) return null;
                ulong owned = r.Length();
                for (ulong k = 0; k < owned; k++)
                {
                    var id = r.RawId();
                    if (!pending.Remove(id, out var p)) return null; // not in the group's list, or owned twice
                    cg.AddPending(id, c, p.Time, p.Count);
                }
            }
            if (pending.Count > 0) return null; // a pending entry without a consumer
        }
        return s;
    }
}
