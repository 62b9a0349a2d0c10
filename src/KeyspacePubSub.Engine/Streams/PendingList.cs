namespace KeyspacePubSub.Engine.Streams;

/// <summary>
/// Pending entries in ID order (as Redis's rax keyed by the 128-bit big-endian ID): sorted chunks of up to 64
/// references. A group's list and each consumer's hold every pending entry between them, so what a slot costs
/// counts twice per entry: a <see cref="SortedSet{T}"/> node was 48 bytes (an object per entry in each list, for
/// the GC to walk), a slot here is 8 bytes and its share of a chunk. Entries arrive mostly in ID order (XREADGROUP
/// delivers new entries), so a full last chunk is followed by a new one rather than split, and chunks stay full;
/// a chunk emptied to a quarter joins a neighbour that has room. Modifying a list while it is enumerated throws,
/// as a SortedSet does.
/// </summary>
public sealed class PendingList : IEnumerable<PendingEntry>
{
    private const int ChunkSize = 64;

    private sealed class Chunk
    {
        public readonly PendingEntry[] Items = new PendingEntry[ChunkSize];
        public int Count;
        public StreamId LastId => Items[Count - 1].Id;
    }

    private readonly List<Chunk> _chunks = [];
    private int _version;

    public int Count { get; private set; }
    public PendingEntry? First => Count == 0 ? null : _chunks[0].Items[0];
    public PendingEntry? Last => Count == 0 ? null : _chunks[^1].Items[_chunks[^1].Count - 1];

    /// <summary>Adds <paramref name="e"/>; false when an entry of its ID is there already.</summary>
    public bool Add(PendingEntry e)
    {
        if (_chunks.Count == 0 || _chunks[^1].LastId < e.Id)
        {
            // The common case: after every entry (a new one delivered).
            if (_chunks.Count == 0 || _chunks[^1].Count == ChunkSize) _chunks.Add(new Chunk());
            var last = _chunks[^1];
            last.Items[last.Count++] = e;
        }
        else
        {
            int ci = ChunkFor(e.Id);
            var chunk = _chunks[ci];
            int at = IndexIn(chunk, e.Id);
            if (at >= 0) return false;
            at = ~at;
            if (chunk.Count == ChunkSize)
            {
                // Full: its upper half moves to a new chunk after it.
                var upper = new Chunk { Count = ChunkSize / 2 };
                Array.Copy(chunk.Items, ChunkSize / 2, upper.Items, 0, ChunkSize / 2);
                Array.Clear(chunk.Items, ChunkSize / 2, ChunkSize / 2);
                chunk.Count = ChunkSize / 2;
                _chunks.Insert(ci + 1, upper);
                if (at > ChunkSize / 2)
                {
                    chunk = upper;
                    at -= ChunkSize / 2;
                }
            }
            Array.Copy(chunk.Items, at, chunk.Items, at + 1, chunk.Count - at);
            chunk.Items[at] = e;
            chunk.Count++;
        }
        Count++;
        _version++;
        return true;
    }

    /// <summary>Removes the entry of <paramref name="e"/>'s ID; false when there is none.</summary>
    public bool Remove(PendingEntry e)
    {
        if (Count == 0) return false;
        int ci = ChunkFor(e.Id);
        var chunk = _chunks[ci];
        int at = IndexIn(chunk, e.Id);
        if (at < 0) return false;
        chunk.Count--;
        Array.Copy(chunk.Items, at + 1, chunk.Items, at, chunk.Count - at);
        chunk.Items[chunk.Count] = null!;
        if (chunk.Count == 0) _chunks.RemoveAt(ci);
        else if (chunk.Count <= ChunkSize / 4) MergeSmall(ci);
        Count--;
        _version++;
        return true;
    }

    public PendingEntry? Find(StreamId id)
    {
        if (Count == 0) return null;
        var chunk = _chunks[ChunkFor(id)];
        int at = IndexIn(chunk, id);
        return at >= 0 ? chunk.Items[at] : null;
    }

    /// <summary>The entries from <paramref name="start"/> to <paramref name="end"/> inclusive, in ID order.</summary>
    public IEnumerable<PendingEntry> Range(StreamId start, StreamId end)
    {
        if (start > end || Count == 0) yield break;
        int version = _version;
        int ci = ChunkFor(start);
        int at = IndexIn(_chunks[ci], start);
        if (at < 0) at = ~at;
        for (; ci < _chunks.Count; ci++, at = 0)
        {
            var chunk = _chunks[ci];
            for (; at < chunk.Count; at++)
            {
                var e = chunk.Items[at];
                if (e.Id > end) yield break;
                yield return e;
                if (version != _version) throw new InvalidOperationException("The pending list was modified while it was enumerated.");
            }
        }
    }

    public IEnumerator<PendingEntry> GetEnumerator() => Range(StreamId.Min, StreamId.Max).GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>The chunk that holds <paramref name="id"/> or would: the first whose last ID is not below it (else the last).</summary>
    private int ChunkFor(StreamId id)
    {
        int lo = 0, hi = _chunks.Count - 1;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_chunks[mid].LastId < id) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /// <summary>The position of <paramref name="id"/> in the chunk, or the complement of where it would go.</summary>
    private static int IndexIn(Chunk chunk, StreamId id)
    {
        int lo = 0, hi = chunk.Count - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            int c = chunk.Items[mid].Id.CompareTo(id);
            if (c == 0) return mid;
            if (c < 0) lo = mid + 1;
            else hi = mid - 1;
        }
        return ~lo;
    }

    /// <summary>A chunk down to a quarter moves into a neighbour with room (acknowledged entries leave no sparse chunks behind).</summary>
    private void MergeSmall(int ci)
    {
        var chunk = _chunks[ci];
        if (ci > 0 && _chunks[ci - 1].Count + chunk.Count <= ChunkSize)
        {
            var before = _chunks[ci - 1];
            Array.Copy(chunk.Items, 0, before.Items, before.Count, chunk.Count);
            before.Count += chunk.Count;
            _chunks.RemoveAt(ci);
        }
        else if (ci + 1 < _chunks.Count && _chunks[ci + 1].Count + chunk.Count <= ChunkSize)
        {
            var after = _chunks[ci + 1];
            Array.Copy(after.Items, 0, after.Items, chunk.Count, after.Count);
            Array.Copy(chunk.Items, 0, after.Items, 0, chunk.Count);
            after.Count += chunk.Count;
            _chunks.RemoveAt(ci);
        }
    }
}
