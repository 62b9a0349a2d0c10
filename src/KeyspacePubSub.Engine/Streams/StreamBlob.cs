namespace KeyspacePubSub.Engine.Streams;

/// <summary>
/// A durable stream stored whole: its counters, then its nodes as they are (master ID and fields, entries with
/// their tombstones), so a restart gives back the same nodes, as Redis's RDB keeps its listpacks.
/// </summary>
public static class StreamBlob
{
    private const byte Version = 1;

    public static byte[] Encode(StreamValue s)
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
                w.Write(node.Entries.Count);
                foreach (var e in node.Entries)
                {
                    Write(w, e.Id);
                    w.Write(e.Deleted);
                    WriteItems(w, e.Pairs);
                }
            }
        }
        return ms.ToArray();
    }

    public static StreamValue Decode(byte[] blob)
    {
        using var r = new BinaryReader(new MemoryStream(blob));
        if (r.ReadByte() != Version) throw new InvalidDataException("unknown stream encoding");
        var last = ReadId(r);
        var maxDeleted = ReadId(r);
        var first = ReadId(r);
        long added = r.ReadInt64();
        int count = r.ReadInt32();
        var nodes = new List<StreamNode>(count);
        for (int n = 0; n < count; n++)
        {
            var node = new StreamNode(ReadId(r), ReadItems(r)) { Body = r.ReadInt64() };
            int entries = r.ReadInt32();
            for (int i = 0; i < entries; i++)
            {
                var id = ReadId(r);
                bool deleted = r.ReadBoolean();
                node.Entries.Add(new StreamEntry(id, ReadItems(r)) { Deleted = deleted });
                if (deleted) node.Deleted++;
                else node.Live++;
            }
            nodes.Add(node);
        }
        return StreamValue.Restore(nodes, last, maxDeleted, first, added);
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
