namespace KeyspacePubSub.Engine.Streams;

/// <summary>
/// A durable stream in the store: the key row holds its counters and its nodes' master entries (ID, fields,
/// listpack bytes); each entry is a row of its own (a deleted one kept, flagged), so a restart gives back the
/// same nodes, as Redis's RDB keeps its listpacks, and an XADD writes one row. The key row also holds the
/// consumer groups (version 2): each group's last ID and read counter, its consumers with their seen time and
/// pending entries, so a group change rewrites the key row, pending entries and all.
/// </summary>
public static class StreamBlob
{
    private const byte Version = 2;

    /// <summary>The key row's value: counters and nodes, without their entries.</summary>
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
            w.Write(s.Nodes.Count);
            foreach (var node in s.Nodes)
            {
                Write(w, node.Master);
                WriteItems(w, node.MasterFields);
                w.Write(node.Body);
            }
            WriteGroups(w, s);
        }
        return ms.ToArray();
    }

    private static void WriteGroups(BinaryWriter w, StreamValue s)
    {
        w.Write(s.GroupCount);
        if (s.Groups is null) return;
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
                w.Write(c.Pending.Count);
                foreach (var p in c.Pending)
                {
                    Write(w, p.Id);
                    w.Write(p.DeliveryTime);
                    w.Write(p.DeliveryCount);
                }
            }
        }
    }

    private static void ReadGroups(BinaryReader r, StreamValue s)
    {
        int groups = r.ReadInt32();
        for (int g = 0; g < groups; g++)
        {
            var name = ReadBytes(r);
            var cg = new ConsumerGroup(ReadId(r), r.ReadInt64());
            int consumers = r.ReadInt32();
            for (int k = 0; k < consumers; k++)
            {
                var c = cg.CreateConsumer(ReadBytes(r), r.ReadInt64())!;
                int pending = r.ReadInt32();
                for (int i = 0; i < pending; i++)
                {
                    var p = new PendingEntry(ReadId(r), c, r.ReadInt64(), r.ReadInt64());
                    c.Pending.Add(p);
                    cg.Pending.Add(p);
                }
            }
            s.CreateGroupCopy(name, cg);
        }
    }

    private static void WriteBytes(BinaryWriter w, byte[] b)
    {
        w.Write(b.Length);
        w.Write(b);
    }

    private static byte[] ReadBytes(BinaryReader r) => r.ReadBytes(r.ReadInt32());

    /// <summary>A stream from its key row's value; its entries are added by <see cref="StreamValue.RestoreEntries"/>.</summary>
    public static StreamValue DecodeMeta(byte[] blob)
    {
        using var r = new BinaryReader(new MemoryStream(blob));
        byte version = r.ReadByte();
        if (version is not (1 or Version)) throw new InvalidDataException("unknown stream encoding");
        var last = ReadId(r);
        var maxDeleted = ReadId(r);
        var first = ReadId(r);
        long added = r.ReadInt64();
        int count = r.ReadInt32();
        var nodes = new List<StreamNode>(count);
        for (int n = 0; n < count; n++) nodes.Add(new StreamNode(ReadId(r), ReadItems(r)) { Body = r.ReadInt64() });
        var s = StreamValue.Restore(nodes, last, maxDeleted, first, added);
        if (version >= 2) ReadGroups(r, s); // version 1 had no groups
        return s;
    }

    /// <summary>An entry row's value: whether it is deleted, then its fields and values.</summary>
    public static byte[] EncodeEntry(StreamEntry e)
    {
        var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms))
        {
            w.Write(e.Deleted);
            WriteItems(w, e.Pairs);
        }
        return ms.ToArray();
    }

    public static StreamEntry DecodeEntry(ulong ms, ulong seq, byte[] blob)
    {
        using var r = new BinaryReader(new MemoryStream(blob));
        bool deleted = r.ReadBoolean();
        return new StreamEntry(new StreamId(ms, seq), ReadItems(r)) { Deleted = deleted };
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
