namespace KeyspacePubSub.Engine.Streams;

/// <summary>
/// A durable stream in the store (version 3): the key row holds its counters and its groups (each group's last
/// ID and read counter, its consumers with their seen times); each entry is a row of its own (a deleted one
/// kept, flagged), marked when it starts a node, so a restart gives back the same nodes, as Redis's RDB keeps
/// its listpacks; each pending entry of a group is a row of its own too. An XADD writes one entry row and the
/// small key row; an XACK deletes one pending row. Versions 1 and 2 held the nodes' master entries in the key
/// row, and version 2 the pending entries too: such a stream loads, and its next write stores it anew.
/// </summary>
public static class StreamBlob
{
    private const byte Version = 3;
    private const byte DeletedFlag = 1, StartsNodeFlag = 2;

    /// <summary>The key row's value: counters and groups, without nodes, entries or pending entries.</summary>
    public static byte[] EncodeMeta(StreamValue s)
    {
        var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms))
        {
            w.Write(Version);
            Write(w, s.LastId);
            Write(w, s.MaxDeletedId);
            Write(w, s.FirstId);
            w.Write(s.EntriesAdded);
            w.Write(s.GroupCount);
            if (s.Groups != null)
            {
                foreach (var (name, cg) in s.Groups)
                {
                    WriteBytes(w, name);
                    Write(w, cg.LastId);
                    w.Write(cg.EntriesRead);
                    w.Write(cg.Consumers.Count);
                    foreach (var c in cg.Consumers.Values)
                    {
                        WriteBytes(w, c.Name);
                        w.Write(c.SeenTime);
                    }
                }
            }
        }
        return ms.ToArray();
    }

    /// <summary>Groups as versions 2 and 3 store them; version 2 lists each consumer's pending entries after it.</summary>
    private static void ReadGroups(BinaryReader r, StreamValue s, byte version)
    {
        int groups = r.ReadInt32();
        for (int g = 0; g < groups; g++)
        {
            var name = ReadBytes(r);
            var cg = s.CreateGroup(name, ReadId(r), r.ReadInt64())!;
            int consumers = r.ReadInt32();
            for (int k = 0; k < consumers; k++)
            {
                var c = cg.CreateConsumer(ReadBytes(r), r.ReadInt64())!;
                if (version != 2) continue;
                int pending = r.ReadInt32();
                for (int i = 0; i < pending; i++) cg.AddPending(ReadId(r), c, r.ReadInt64(), r.ReadInt64());
            }
        }
    }

    /// <summary>A pending row as the store loads it: into its group and consumer (a consumer the key row lacks is made).</summary>
    public static void RestorePending(StreamValue s, byte[] group, StreamId id, byte[] consumer, long deliveryTime, long deliveryCount)
    {
        var cg = s.FindGroup(group);
        if (cg is null) return; // a row of a group that is gone (cannot be written so): left out
        var c = cg.FindConsumer(consumer) ?? cg.CreateConsumer(consumer, 0)!;
        if (cg.Pending.Find(id) is null) cg.AddPending(id, c, deliveryTime, deliveryCount);
    }

    private static void WriteBytes(BinaryWriter w, byte[] b)
    {
        w.Write(b.Length);
        w.Write(b);
    }

    private static byte[] ReadBytes(BinaryReader r) => r.ReadBytes(r.ReadInt32());

    /// <summary>A stream from its key row's value; its entries are added by <see cref="StreamValue.RestoreEntry"/>.</summary>
    public static StreamValue DecodeMeta(byte[] blob)
    {
        using var r = new BinaryReader(new MemoryStream(blob));
        byte version = r.ReadByte();
        if (version is not (1 or 2 or Version)) throw new InvalidDataException("unknown stream encoding");
        var last = ReadId(r);
        var maxDeleted = ReadId(r);
        var first = ReadId(r);
        long added = r.ReadInt64();
        List<StreamNode>? nodes = null;
        if (version < 3)
        {
            int count = r.ReadInt32();
            nodes = new List<StreamNode>(count);
            for (int n = 0; n < count; n++) nodes.Add(new StreamNode(ReadId(r), ReadItems(r), body: r.ReadInt64()));
        }
        var s = StreamValue.Restore(nodes, last, maxDeleted, first, added);
        if (version >= 2) ReadGroups(r, s, version); // version 1 had no groups
        return s;
    }

    /// <summary>An entry row's value: flags (deleted, starts a node), then its fields and values.</summary>
    public static byte[] EncodeEntry(StreamEntry e, bool startsNode)
    {
        var pairs = e.Pairs;
        var row = new byte[1 + pairs.RowBytes];
        row[0] = (byte)((e.Deleted ? DeletedFlag : 0) | (startsNode ? StartsNodeFlag : 0));
        pairs.WriteRow(row.AsSpan(1));
        return row;
    }

    /// <summary>An entry row's value from its items (the count, then each item's length and bytes: what WriteItems writes).</summary>
    public static byte[] EncodeEntry(ReadOnlySpan<byte> items, bool deleted, bool startsNode)
    {
        var row = new byte[1 + items.Length];
        row[0] = (byte)((deleted ? DeletedFlag : 0) | (startsNode ? StartsNodeFlag : 0));
        items.CopyTo(row.AsSpan(1));
        return row;
    }

    /// <summary>
    /// An entry row (versions 1 and 2 wrote 0 or 1 for deleted, and no node marks), read straight from its bytes:
    /// a restart decodes one per entry. Returns its items (checked: <see cref="InvalidDataException"/> when
    /// damaged), in place.
    /// </summary>
    public static ReadOnlySpan<byte> DecodeEntry(ReadOnlySpan<byte> row, out bool deleted, out bool startsNode)
    {
        if (row.IsEmpty) throw new InvalidDataException("stream entry row cut short");
        byte flags = row[0];
        startsNode = (flags & StartsNodeFlag) != 0;
        deleted = (flags & DeletedFlag) != 0;
        var items = row[1..];
        StreamRowItems.Check(items);
        return items;
    }

    private static void Write(BinaryWriter w, StreamId id)
    {
        w.Write(id.Ms);
        w.Write(id.Seq);
    }

    private static StreamId ReadId(BinaryReader r) => new(r.ReadUInt64(), r.ReadUInt64());

    private static void WriteItems(BinaryWriter w, byte[][] items)
    {
        w.Write(items.Length);
        foreach (var item in items)
        {
            w.Write(item.Length);
            w.Write(item);
        }
    }

    private static byte[][] ReadItems(BinaryReader r)
    {
        var items = new byte[r.ReadInt32()][];
        for (int i = 0; i < items.Length; i++) items[i] = r.ReadBytes(r.ReadInt32());
        return items;
    }
}
