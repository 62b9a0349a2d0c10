namespace KeyspacePubSub.Engine.Keyspace;

/// <summary>
/// Deadlines of every key with a TTL, ordered by time (a binary heap), so keys are expired when their
/// time comes instead of by Redis's random sampling. Entries are never removed from the middle: a popped
/// entry whose key no longer has that exact deadline is simply skipped.
/// </summary>
public sealed class ExpiryIndex
{
    private readonly PriorityQueue<(int Db, byte[] Key), long> _heap = new(); // the deadline is the priority, stored once

    public int Count => _heap.Count;

    public void Add(int db, byte[] key, long atMs) => _heap.Enqueue((db, key), atMs);

    /// <summary>The earliest deadline, or null.</summary>
    public long? NextDeadline => _heap.TryPeek(out _, out long at) ? at : null;

    /// <summary>Pops the next entry due at or before <paramref name="nowMs"/>.</summary>
    public bool TryPopDue(long nowMs, out (int Db, byte[] Key, long At) entry)
    {
        if (_heap.TryPeek(out var e, out long at) && at <= nowMs)
        {
            _heap.Dequeue();
            entry = (e.Db, e.Key, at);
            return true;
        }
        entry = default;
        return false;
    }

    public void Clear() => _heap.Clear();
}
