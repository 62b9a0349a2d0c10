namespace KeyspacePubSub.Engine.Keyspace;

/// <summary>
/// Deadlines of one database's keys with a TTL, ordered by time (a binary heap), so keys are expired when
/// their time comes instead of by Redis's random sampling. Entries are never removed from the middle: a popped
/// entry whose key no longer has that exact deadline is dropped, or carried to the key's later deadline
/// (<see cref="Database.Reindex"/>). An entry is a key reference and its
/// deadline (16 bytes); the database it belongs to is the heap's owner, so SWAPDB moves heaps, not entries.
/// </summary>
public sealed class ExpiryIndex
{
    private readonly PriorityQueue<byte[], long> _heap = new(); // the deadline is the priority, stored once
    private int _peak; // the most entries since the heap's array was last trimmed

    public int Count => _heap.Count;

    public void Add(byte[] key, long atMs)
    {
        _heap.Enqueue(key, atMs);
        if (_heap.Count > _peak) _peak = _heap.Count;
    }

    /// <summary>Fills an empty heap at once (in linear time).</summary>
    public void AddRange(IEnumerable<(byte[] Key, long At)> entries)
    {
        _heap.EnqueueRange(entries);
        _peak = Math.Max(_peak, _heap.Count);
    }

    /// <summary>
    /// Gives back the heap's array when its entries are under a tenth of the most it held (over 4,096), as the
    /// key table shrinks (<see cref="KeyTable.ShrinkIfSparse"/>): 16 bytes a deadline stayed at the peak.
    /// </summary>
    public void TrimIfSparse()
    {
        if (_peak <= 4096 || _heap.Count * 10L >= _peak) return;
        _heap.TrimExcess();
        _peak = _heap.Count;
    }

    /// <summary>The earliest deadline, or null.</summary>
    public long? NextDeadline => _heap.TryPeek(out _, out long at) ? at : null;

    /// <summary>The earliest entry (possibly stale), without removing it.</summary>
    public bool TryPeek(out byte[] key, out long at) => _heap.TryPeek(out key!, out at);

    /// <summary>Removes the earliest entry (a stale one, found by <see cref="TryPeek"/>).</summary>
    public void Pop() => _heap.Dequeue();

    /// <summary>Pops the next entry whose deadline is before <paramref name="nowMs"/> (see <see cref="Database.IsExpired"/>).</summary>
    public bool TryPopDue(long nowMs, out byte[] key, out long at)
    {
        if (_heap.TryPeek(out key!, out at) && at < nowMs)
        {
            _heap.Dequeue();
            return true;
        }
        key = null!;
        return false;
    }

    public void Clear() => _heap.Clear();
}
