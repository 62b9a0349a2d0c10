namespace KeyspacePubSub.Engine.Streams;

/// <summary>
/// What Redis keeps in one listpack of a stream's radix tree (t_stream.c): entries from a master ID on, the
/// master entry's fields (which later entries with the same fields do not repeat), the live and deleted counts,
/// and the listpack's size in bytes, so nodes fill and trims cut exactly where Redis's do.
/// </summary>
internal sealed class StreamNode(StreamId master, byte[][] masterFields)
{
    public StreamId Master { get; } = master;
    public byte[][] MasterFields { get; } = masterFields;
    public List<StreamEntry> Entries { get; } = [];
    public int Live { get; set; }
    public int Deleted { get; set; }

    /// <summary>Bytes of every element but the two counts (whose size changes with their values).</summary>
    public long Body { get; set; }

    public long Bytes => ListpackSize.Overhead + Body + ListpackSize.Integer(Live) + ListpackSize.Integer(Deleted);

    /// <summary>A node whose master entry has <paramref name="id"/> and the fields of <paramref name="pairs"/>; its entries follow by <see cref="Add"/>.</summary>
    public static StreamNode StartingWith(StreamId id, StreamItems pairs)
    {
        var fields = new byte[pairs.Length / 2][];
        int i = 0;
        foreach (var item in pairs)
        {
            if (i % 2 == 0) fields[i / 2] = item.ToArray();
            i++;
        }
        var node = new StreamNode(id, fields) { Body = ListpackSize.Integer(fields.Length) + ListpackSize.Integer(0) };
        foreach (var f in fields) node.Body += ListpackSize.String(f);
        return node;
    }

    /// <summary>
    /// As streamAppendItem's writes into the listpack: <paramref name="e"/> at the end, its bytes added to
    /// <see cref="Body"/> (fields left out when they are the master entry's). A node's bytes follow from its
    /// master and its entries, tombstones included, so a stored stream keeps only where each node starts.
    /// </summary>
    public void Add(StreamEntry e)
    {
        var pairs = e.Pairs;
        bool same = HasMasterFields(pairs);
        long size = ListpackSize.Integer(same ? 2 : 0)
            + ListpackSize.Integer(unchecked((long)(e.Id.Ms - Master.Ms)))
            + ListpackSize.Integer(unchecked((long)(e.Id.Seq - Master.Seq)));
        int n = pairs.Length / 2;
        if (!same) size += ListpackSize.Integer(n);
        int i = 0;
        foreach (var item in pairs)
        {
            if (!same || i++ % 2 == 1) size += ListpackSize.String(item); // (fields only when they are not the master's)
        }
        size += ListpackSize.Integer(same ? n + 3 : 2 * n + 4);
        Body += size;
        Entries.Add(e);
        if (e.Deleted) Deleted++;
        else Live++;
    }

    public bool HasMasterFields(StreamItems pairs)
    {
        if (pairs.Length / 2 != MasterFields.Length) return false;
        int i = 0;
        foreach (var item in pairs)
        {
            if (i % 2 == 0 && !item.SequenceEqual(MasterFields[i / 2])) return false;
            i++;
        }
        return true;
    }

    /// <summary>The index of the first entry with an ID at least <paramref name="id"/> (Entries.Count when none).</summary>
    public int LowerBound(StreamId id)
    {
        int lo = 0, hi = Entries.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (Entries[mid].Id < id) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }
}

/// <summary>
/// A stream (Redis's <c>stream</c> type): entries in ID order, held in nodes as Redis's radix tree of listpacks
/// holds them (stream-node-max-entries, stream-node-max-bytes), so approximate trimming (<c>~</c>) removes the
/// same whole nodes, and XINFO's radix-tree figures match. Also the stream's counters: last generated ID,
/// entries added, maximal deleted ID and first ID.
/// </summary>
public sealed partial class StreamValue
{
    internal List<StreamNode> Nodes { get; } = [];

    public long Length { get; private set; }
    public StreamId LastId { get; set; }
    public StreamId FirstId { get; private set; }
    public StreamId MaxDeletedId { get; set; }
    public long EntriesAdded { get; set; }

    /// <summary>Changes since the durable store last wrote this stream; null unless a durable key holds it.</summary>
    public StreamChanges? Durability { get; set; }

    /// <summary>
    /// As streamAppendItem once the ID is known to be above <see cref="LastId"/>: into the tail node, or a new one
    /// when the tail's bytes plus the new fields and values reach <paramref name="maxBytes"/> or it holds
    /// <paramref name="maxEntries"/> entries, live or deleted.
    /// </summary>
    public void Append(StreamEntry entry, long maxBytes, long maxEntries)
    {
        var id = entry.Id;
        long total = entry.ValueBytes;
        var node = Nodes.Count > 0 ? Nodes[^1] : null;
        if (node != null)
        {
            long nodeMax = maxBytes == 0 || maxBytes > MaxListpackBytes ? MaxListpackBytes : maxBytes;
            if (node.Bytes + total >= nodeMax || (maxEntries != 0 && node.Live + node.Deleted >= maxEntries)) node = null;
        }
        if (node is null)
        {
            node = StreamNode.StartingWith(id, entry.Pairs);
            Nodes.Add(node);
        }
        node.Add(entry);
        Durability?.Written.Add(entry);
        Length++;
        EntriesAdded++;
        LastId = id;
        if (Length == 1) FirstId = id;
    }

    /// <summary>STREAM_LISTPACK_MAX_SIZE: the cap on a node's bytes whatever stream-node-max-bytes says.</summary>
    private const long MaxListpackBytes = 1L << 30;

    /// <summary>
    /// As streamTrim: whole nodes go from the head while the rest still meets the threshold; unless
    /// <paramref name="approx"/>, entries of the next node are then marked deleted up to it. <paramref name="limit"/>
    /// (0: none) caps the entries removed, node by node. Returns the entries removed.
    /// </summary>
    public long Trim(bool byLength, long maxLength, StreamId minId, bool approx, long limit)
    {
        long deleted = 0;
        while (Nodes.Count > 0)
        {
            if (byLength && Length <= maxLength) break;
            var node = Nodes[0];
            long entries = node.Live;
            if (limit != 0 && deleted + entries > limit) break;
            bool remove = byLength ? Length - entries >= maxLength : node.Entries[^1].Id < minId;
            if (remove)
            {
                Durability?.Removed.AddRange(node.Entries);
                Nodes.RemoveAt(0);
                Length -= entries;
                deleted += entries;
                continue;
            }
            if (approx) break;
            foreach (var e in node.Entries)
            {
                if (byLength ? Length <= maxLength : e.Id >= minId) break;
                if (e.Deleted) continue;
                e.Deleted = true;
                Durability?.Written.Add(e);
                node.Live--;
                node.Deleted++;
                Length--;
                deleted++;
            }
            break;
        }
        if (Length == 0) FirstId = StreamId.Min;
        else if (deleted > 0) FirstId = FirstLive()!.Id;
        return deleted;
    }

    /// <summary>As XDEL's streamDeleteItem for each ID, then its counters: the maximal deleted ID and the first ID.</summary>
    public int Delete(ReadOnlySpan<StreamId> ids)
    {
        int deleted = 0;
        bool first = false;
        foreach (var id in ids)
        {
            if (!DeleteOne(id)) continue;
            if (id == FirstId) first = true;
            if (id > MaxDeletedId) MaxDeletedId = id;
            deleted++;
        }
        if (deleted > 0)
        {
            if (Length == 0) FirstId = StreamId.Min;
            else if (first) FirstId = FirstLive()!.Id;
        }
        return deleted;
    }

    private bool DeleteOne(StreamId id)
    {
        int n = NodeAtOrBefore(id);
        if (n < 0) return false;
        var node = Nodes[n];
        int i = node.LowerBound(id);
        if (i == node.Entries.Count || node.Entries[i].Id != id || node.Entries[i].Deleted) return false;
        node.Entries[i].Deleted = true;
        if (node.Live == 1)
        {
            Nodes.RemoveAt(n); // its last live entry: the whole listpack goes, tombstones and all
            Durability?.Removed.AddRange(node.Entries);
        }
        else
        {
            node.Live--;
            node.Deleted++;
            Durability?.Written.Add(node.Entries[i]);
        }
        Length--;
        return true;
    }

    /// <summary>The index of the last node whose master ID is at most <paramref name="id"/>; -1 when none.</summary>
    private int NodeAtOrBefore(StreamId id)
    {
        int lo = 0, hi = Nodes.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (Nodes[mid].Master <= id) lo = mid + 1;
            else hi = mid;
        }
        return lo - 1;
    }

    public StreamEntry? FirstLive()
    {
        foreach (var e in Range(StreamId.Min, StreamId.Max, reverse: false)) return e;
        return null;
    }

    public StreamEntry? LastLive()
    {
        foreach (var e in Range(StreamId.Min, StreamId.Max, reverse: true)) return e;
        return null;
    }

    /// <summary>
    /// Live entries (with <paramref name="tombstones"/>, deleted ones too) from <paramref name="start"/> to
    /// <paramref name="end"/> inclusive, in ID order or reversed.
    /// </summary>
    public IEnumerable<StreamEntry> Range(StreamId start, StreamId end, bool reverse, bool tombstones = false)
    {
        if (start > end) yield break;
        if (!reverse)
        {
            for (int n = Math.Max(0, NodeAtOrBefore(start)); n < Nodes.Count; n++)
            {
                var node = Nodes[n];
                for (int i = node.LowerBound(start); i < node.Entries.Count; i++)
                {
                    var e = node.Entries[i];
                    if (e.Id > end) yield break;
                    if (!e.Deleted || tombstones) yield return e;
                }
            }
        }
        else
        {
            int last = NodeAtOrBefore(end);
            for (int n = last < 0 ? Nodes.Count - 1 : last; n >= 0; n--)
            {
                var node = Nodes[n];
                int i = node.LowerBound(end);
                if (i == node.Entries.Count || node.Entries[i].Id > end) i--;
                for (; i >= 0; i--)
                {
                    var e = node.Entries[i];
                    if (e.Id < start) yield break;
                    if (!e.Deleted || tombstones) yield return e;
                }
            }
        }
    }

    /// <summary>Keys of the radix tree: one per node.</summary>
    public int RadixTreeKeys => Nodes.Count;

    /// <summary>
    /// Nodes of Redis's radix tree (rax.c) over the nodes' 128-bit big-endian master IDs: the root, a node per
    /// branching point and per child of one, a compressed node per run of bytes shared below it, and one per key.
    /// </summary>
    public long RadixTreeNodes()
    {
        var keys = new byte[Nodes.Count][];
        for (int i = 0; i < keys.Length; i++)
        {
            keys[i] = new byte[16];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(keys[i], Nodes[i].Master.Ms);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(keys[i].AsSpan(8), Nodes[i].Master.Seq);
        }
        return keys.Length == 0 ? 1 : RaxNodes(keys, 0, keys.Length, 0);
    }

    private static long RaxNodes(byte[][] keys, int lo, int hi, int depth)
    {
        if (depth == 16) return 1;
        int d = depth;
        while (d < 16 && keys[lo][d] == keys[hi - 1][d]) d++; // sorted: the first and last share what all share
        if (d > depth) return 1 + RaxNodes(keys, lo, hi, d);
        long count = 1;
        for (int i = lo; i < hi;)
        {
            int j = i;
            while (j < hi && keys[j][depth] == keys[i][depth]) j++;
            count += RaxNodes(keys, i, j, depth + 1);
            i = j;
        }
        return count;
    }

    /// <summary>A deep copy (COPY): nodes and tombstones as they are.</summary>
    public StreamValue Clone()
    {
        var copy = new StreamValue { Length = Length, LastId = LastId, FirstId = FirstId, MaxDeletedId = MaxDeletedId, EntriesAdded = EntriesAdded };
        foreach (var node in Nodes) copy.Nodes.Add(CopyNode(node));
        if (Groups != null)
        {
            copy.Groups = new SortedDictionary<byte[], ConsumerGroup>(NameOrder.Instance);
            foreach (var (name, cg) in Groups) copy.Groups.Add(name, cg.CloneFor(copy));
        }
        return copy;
    }

    private static StreamNode CopyNode(StreamNode node)
    {
        var c = new StreamNode(node.Master, node.MasterFields) { Live = node.Live, Deleted = node.Deleted, Body = node.Body };
        foreach (var e in node.Entries) c.Entries.Add(e.Copy());
        return c;
    }

    /// <summary>
    /// Whether the stream was loaded from a key row of an older layout, which held its nodes (and its groups'
    /// pending entries) itself; its entry rows then do not say where nodes start.
    /// </summary>
    internal bool NodesFromKeyRow { get; private set; }

    /// <summary>
    /// A stream from its stored counters (a durable key loaded at start), and its nodes when the key row held
    /// them (an older layout); entries follow by <see cref="RestoreEntries"/>.
    /// </summary>
    internal static StreamValue Restore(List<StreamNode>? nodes, StreamId last, StreamId maxDeleted, StreamId first, long entriesAdded)
    {
        var s = new StreamValue { LastId = last, MaxDeletedId = maxDeleted, FirstId = first, EntriesAdded = entriesAdded, NodesFromKeyRow = nodes != null };
        if (nodes != null) s.Nodes.AddRange(nodes);
        return s;
    }

    /// <summary>
    /// Puts loaded entries (any order) into nodes: a new node at each entry stored as starting one; in the older
    /// layout, each into the last node whose master ID is at most its own.
    /// </summary>
    private static bool InIdOrder(List<(StreamEntry Entry, bool StartsNode)> entries)
    {
        for (int i = 1; i < entries.Count; i++)
        {
            if (entries[i - 1].Entry.Id.CompareTo(entries[i].Entry.Id) > 0) return false;
        }
        return true;
    }

    public void RestoreEntries(List<(StreamEntry Entry, bool StartsNode)> entries)
    {
        if (!InIdOrder(entries)) entries.Sort((a, b) => a.Entry.Id.CompareTo(b.Entry.Id)); // (a load reads them in order)
        foreach (var (e, startsNode) in entries)
        {
            if (!NodesFromKeyRow)
            {
                if (startsNode || Nodes.Count == 0) Nodes.Add(StreamNode.StartingWith(e.Id, e.Pairs));
                Nodes[^1].Add(e);
                continue;
            }
            int n = NodeAtOrBefore(e.Id);
            if (n < 0) continue; // a row without its node (cannot be written so): left out
            var node = Nodes[n];
            node.Entries.Add(e);
            if (e.Deleted) node.Deleted++;
            else node.Live++;
        }
        Nodes.RemoveAll(node => node.Live == 0 && node.Entries.Count == 0);
        Length = 0;
        foreach (var node in Nodes) Length += node.Live;
    }

    /// <summary>Whether <paramref name="id"/> is the master entry of a node, the first of its entries (what its row records).</summary>
    public bool StartsNode(StreamId id)
    {
        int n = NodeAtOrBefore(id);
        return n >= 0 && Nodes[n].Master == id;
    }
}
