namespace KeyspacePubSub.Engine;

/// <summary>
/// The estimated bytes of evicted keys that the GC has not reclaimed yet. Redis's used memory falls the
/// moment a key is freed; the GC heap's falls only when a collection sweeps the key, and an old key (the one an
/// LRU policy picks) goes only with a full collection. Until then its bytes are subtracted from the heap's
/// size, or every command would evict again for memory that is already garbage.
/// <para>
/// Evictions are counted in buckets, one per GC count: a key evicted while <c>GC.CollectionCount(0)</c> was n is
/// unreachable before GC n + 1 starts, so any full (blocking or background) collection numbered above n that
/// has completed swept it. Keys evicted young and swept by a gen0/gen1 collection stay counted until the next
/// full one, so used memory may read that much low meanwhile.
/// </para>
/// </summary>
internal sealed class UncollectedBytes
{
    private const int MaxBuckets = 8;
    private readonly long[] _marks = new long[MaxBuckets];
    private readonly long[] _bytes = new long[MaxBuckets];
    private int _count;
    private long _checkedAt = -1;

    public long Total { get; private set; }

    public void Add(long bytes)
    {
        long mark = GC.CollectionCount(0);
        if (_count == 0 || _marks[_count - 1] != mark)
        {
            if (_count == MaxBuckets)
            {
                // Full: the two oldest merge under the later mark (they stay counted a little longer).
                _bytes[1] += _bytes[0];
                Array.Copy(_marks, 1, _marks, 0, MaxBuckets - 1);
                Array.Copy(_bytes, 1, _bytes, 0, MaxBuckets - 1);
                _count--;
            }
            _marks[_count] = mark;
            _bytes[_count] = 0;
            _count++;
        }
        _bytes[_count - 1] += bytes;
        Total += bytes;
    }

    /// <summary>
    /// Drops the buckets a completed full collection swept (looked up at most every 5 ms, as it allocates, unless
    /// <paramref name="now"/>: just after a collection).
    /// </summary>
    public void Update(bool now = false)
    {
        if (_count == 0) return;
        long ticks = Environment.TickCount64;
        if (!now && ticks - _checkedAt < 5) return;
        _checkedAt = ticks;
        if (GC.CollectionCount(2) == 0) return;
        long lastFull = Math.Max(GC.GetGCMemoryInfo(GCKind.Background).Index, GC.GetGCMemoryInfo(GCKind.FullBlocking).Index);
        int drop = 0;
        while (drop < _count && _marks[drop] < lastFull) Total -= _bytes[drop++];
        if (drop == 0) return;
        Array.Copy(_marks, drop, _marks, 0, _count - drop);
        Array.Copy(_bytes, drop, _bytes, 0, _count - drop);
        _count -= drop;
    }
}
