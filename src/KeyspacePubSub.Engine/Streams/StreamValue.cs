namespace KeyspacePubSub.Engine.Streams;

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
    /// As streamAppendItem once the ID is known to be above <see cref="LastId"/>: XADD's fields and values (the
    /// arguments from <paramref name="first"/> on) into the tail node, or a new one when the tail's bytes plus
    /// the new fields and values reach <paramref name="maxBytes"/> or it holds <paramref name="maxEntries"/>
    /// entries, live or deleted.
    /// </summary>
    public void Append(StreamId id, in Protocol.CommandArgs args, int first, long maxBytes, long maxEntries)
    {
        long total = 0, likely = 0;
        for (int i = first; i < args.Count; i++)
        {
            total += args[i].Length;
            if ((i - first) % 2 == 1) likely += Varint.Size((uint)args[i].Length) + args[i].Length;
        }
        var node = TailFor(total, StreamNode.EntryBound(args.Count - first, total), likely, maxBytes, maxEntries, id);
        node.Add(id, args, first);
        Appended(node);
    }

    /// <summary>
    /// As <see cref="Append(StreamId, in Protocol.CommandArgs, int, long, long)"/>, of items laid out as a
    /// durable row lays them out (<see cref="StreamRowItems"/>); <paramref name="maxBuffer"/> is for tests.
    /// </summary>
    public void Append(StreamId id, ReadOnlySpan<byte> items, long maxBytes, long maxEntries, int maxBuffer = StreamNode.MaxBuffer)
    {
        long likely = 0;
        int k = 0;
        foreach (var item in new StreamRowItems(items))
        {
            if (k++ % 2 == 1) likely += Varint.Size((uint)item.Length) + item.Length;
        }
        var node = TailFor(StreamRowItems.ValueBytes(items), RowBound(items), likely, maxBytes, maxEntries, id, maxBuffer);
        node.Add(id, items, deleted: false);
        Appended(node);
    }

    /// <summary>The most bytes row items (<see cref="StreamRowItems"/>) can take in a node (<see cref="StreamNode.EntryBound"/>).</summary>
    private static long RowBound(ReadOnlySpan<byte> items) => StreamNode.EntryBound(new StreamRowItems(items).Length, StreamRowItems.ValueBytes(items));

    /// <summary>
    /// The node an entry goes into: the tail, unless Redis's rules close it, or its buffer would pass
    /// <paramref name="maxBuffer"/> with an entry of up to <paramref name="entryBound"/> bytes (a node without
    /// limits closes at 1 GB of listpack, and its entries can take more room here: varint lengths and IDs, field
    /// names of entries whose fields are not the master's). A new node is sized for entries of
    /// <paramref name="likelyBytes"/> (the values and a few bytes of flags and ID: later entries mostly have
    /// the master's fields).
    /// </summary>
    private StreamNode TailFor(long valueBytes, long entryBound, long likelyBytes, long maxBytes, long maxEntries, StreamId id, int maxBuffer = StreamNode.MaxBuffer)
    {
        long nodeMax = maxBytes == 0 || maxBytes > MaxListpackBytes ? MaxListpackBytes : maxBytes;
        var node = Nodes.Count > 0 ? Nodes[^1] : null;
        if (node != null && node.Bytes + valueBytes < nodeMax && (maxEntries == 0 || node.Live + node.Deleted < maxEntries)
            && (node.Count == 0 || node.UsedBytes + entryBound <= maxBuffer)) return node;
        node?.Shrink(); // full: it takes no more entries
        // Room for as many entries of about this size as the node is likely to take (fewer when its bytes will
        // close it first), and an eighth more: a buffer grown by doubling allocates three times what it keeps.
        long expected = Math.Min(maxEntries == 0 ? 128 : maxEntries, nodeMax / Math.Max(1, valueBytes) + 1);
        expected = Math.Clamp(expected, 1, 128);
        long entry = likelyBytes + 5, room = entry * expected + entry * expected / 8;
        node = new StreamNode(id, (int)Math.Min(Math.Max(entryBound, 1 << 16), Math.Max(room, entryBound)), (int)(expected + expected / 8));
        Nodes.Add(node);
        return node;
    }

    private void Appended(StreamNode node)
    {
        var entry = node.Last;
        Durability?.Written.Add(entry);
        Length++;
        EntriesAdded++;
        LastId = entry.Id;
        if (Length == 1) FirstId = LastId;
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
            bool remove = byLength ? Length - entries >= maxLength : node.Last.Id < minId;
            if (remove)
            {
                Removed(node);
                Nodes.RemoveAt(0);
                Length -= entries;
                deleted += entries;
                continue;
            }
            if (approx) break;
            for (int i = 0; i < node.Count; i++)
            {
                var e = node[i];
                if (byLength ? Length <= maxLength : e.Id >= minId) break;
                if (e.Deleted) continue;
                e.MarkDeleted();
                Durability?.Written.Add(e);
                node.Live--;
                node.Deleted++;
                Length--;
                deleted++;
            }
            break;
        }
        if (Length == 0) FirstId = StreamId.Min;
        else if (deleted > 0) FirstId = FirstLive()!.Value.Id;
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
            else if (first) FirstId = FirstLive()!.Value.Id;
        }
        return deleted;
    }

    private bool DeleteOne(StreamId id)
    {
        int n = NodeAtOrBefore(id);
        if (n < 0) return false;
        var node = Nodes[n];
        int i = node.LowerBound(id);
        if (i == node.Count || node.IdAt(i) != id || node.DeletedAt(i)) return false;
        node.MarkDeleted(i);
        if (node.Live == 1)
        {
            Nodes.RemoveAt(n); // its last live entry: the whole listpack goes, tombstones and all
            Removed(node);
        }
        else
        {
            node.Live--;
            node.Deleted++;
            Durability?.Written.Add(node[i]);
        }
        Length--;
        return true;
    }

    private void Removed(StreamNode node)
    {
        if (Durability is null) return;
        for (int i = 0; i < node.Count; i++) Durability.Removed.Add(node[i]);
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
                for (int i = node.LowerBound(start); i < node.Count; i++)
                {
                    var e = node[i];
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
                if (i == node.Count || node.IdAt(i) > end) i--;
                for (; i >= 0; i--)
                {
                    var e = node[i];
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
        foreach (var node in Nodes) copy.Nodes.Add(node.Clone());
        if (Groups != null)
        {
            copy.Groups = new SortedDictionary<byte[], ConsumerGroup>(NameOrder.Instance);
            foreach (var (name, cg) in Groups) copy.Groups.Add(name, cg.CloneFor(copy));
        }
        return copy;
    }

    /// <summary>
    /// Whether the stream was loaded from a key row of an older layout, which held its nodes (and its groups'
    /// pending entries) itself; its entry rows then do not say where nodes start.
    /// </summary>
    internal bool NodesFromKeyRow { get; private set; }

    /// <summary>
    /// A stream from its stored counters (a durable key loaded at start), and its nodes when the key row held
    /// them (an older layout); entries follow by <see cref="RestoreEntry"/>.
    /// </summary>
    internal static StreamValue Restore(List<StreamNode>? nodes, StreamId last, StreamId maxDeleted, StreamId first, long entriesAdded)
    {
        var s = new StreamValue { LastId = last, MaxDeletedId = maxDeleted, FirstId = first, EntriesAdded = entriesAdded, NodesFromKeyRow = nodes != null };
        if (nodes != null) s.Nodes.AddRange(nodes);
        return s;
    }

    /// <summary>Entries restored out of ID order, or into an older layout's nodes: placed by <see cref="FinishRestore"/>.</summary>
    private List<(StreamId Id, byte[] Items, bool Deleted, bool StartsNode)>? _loose;

    /// <summary>Whether the first entry restored was stored as starting a node (the first node starts with it either way).</summary>
    private bool _firstRestoredStarts;

    /// <summary>
    /// A loaded entry (a durable row, an RDB payload's), its items laid out as a durable row lays them out
    /// (<see cref="StreamRowItems"/>; checked by the caller): a new node at each entry stored as starting one; in the older
    /// layout, into the last node whose master ID is at most its own. Loads give them in ID order, straight
    /// into their nodes; any other order is sorted by <see cref="FinishRestore"/>, which ends every restore.
    /// </summary>
    public void RestoreEntry(StreamId id, ReadOnlySpan<byte> items, bool deleted, bool startsNode, int maxBuffer = StreamNode.MaxBuffer)
    {
        if (_loose is null && !NodesFromKeyRow && (Nodes.Count == 0 || id > Nodes[^1].Last.Id))
        {
            if (Nodes.Count == 0) _firstRestoredStarts = startsNode;
            Place(id, items, deleted, startsNode, maxBuffer);
            return;
        }
        if (_loose is null)
        {
            _loose = [];
            if (!NodesFromKeyRow)
            {
                for (int n = 0; n < Nodes.Count; n++)
                {
                    var node = Nodes[n];
                    for (int i = 0; i < node.Count; i++) _loose.Add((node.IdAt(i), node.PairsAt(i).ToRow(), node.DeletedAt(i), i == 0 && (n > 0 || _firstRestoredStarts)));
                }
                Nodes.Clear();
            }
        }
        _loose.Add((id, items.ToArray(), deleted, startsNode));
    }

    /// <summary>
    /// A restored entry after the last: into a new node when its row starts one (or its buffer is full, see
    /// <see cref="TailFor"/>), sized as the node before it and an eighth more (a stream's nodes fill alike).
    /// </summary>
    private void Place(StreamId id, ReadOnlySpan<byte> items, bool deleted, bool startsNode, int maxBuffer)
    {
        if (Nodes.Count == 0) Nodes.Add(new StreamNode(id, pinned: false));
        else if (startsNode || Nodes[^1].UsedBytes + RowBound(items) > maxBuffer)
        {
            var previous = Nodes[^1];
            previous.Shrink();
            Nodes.Add(new StreamNode(id, previous.UsedBytes + previous.UsedBytes / 8, previous.Count + previous.Count / 8 + 1, pinned: false));
        }
        Nodes[^1].Add(id, items, deleted);
    }

    /// <summary>Ends a restore (also of a stream without entries): entries that came out of order placed, the length counted.</summary>
    public void FinishRestore()
    {
        if (_loose != null)
        {
            var loose = _loose;
            _loose = null;
            loose.Sort((a, b) => a.Id.CompareTo(b.Id));
            foreach (var (id, items, deleted, startsNode) in loose)
            {
                if (!NodesFromKeyRow)
                {
                    Place(id, items, deleted, startsNode, StreamNode.MaxBuffer);
                    continue;
                }
                int n = NodeAtOrBefore(id);
                if (n < 0) continue; // a row without its node (cannot be written so): left out
                Nodes[n].AddUnaccounted(id, items, deleted);
            }
        }
        Nodes.RemoveAll(node => node.Count == 0);
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
