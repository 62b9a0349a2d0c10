namespace KeyspacePubSub.Engine.Streams;

/// <summary>
/// An entry delivered to a consumer of a group and not yet acknowledged (Redis's streamNACK): when it was last
/// delivered (Unix ms), how many times, and to whom. The group's pending list and its consumer's share it.
/// </summary>
public sealed class PendingEntry(StreamId id, Consumer consumer, long deliveryTime, long deliveryCount)
{
    public StreamId Id { get; } = id;
    public Consumer Consumer { get; set; } = consumer;
    public long DeliveryTime { get; set; } = deliveryTime;
    public long DeliveryCount { get; set; } = deliveryCount;
}

/// <summary>A consumer of a group: its name, when it was last seen (Unix ms), and the entries pending with it.</summary>
public sealed class Consumer(byte[] name, long seenTime)
{
    public byte[] Name { get; } = name;
    public long SeenTime { get; set; } = seenTime;
    public PendingList Pending { get; } = new();
}

/// <summary>Pending entries in ID order (as Redis's rax keyed by the 128-bit big-endian ID).</summary>
public sealed class PendingList
{
    private static readonly Comparer<PendingEntry> ById = Comparer<PendingEntry>.Create((a, b) => a.Id.CompareTo(b.Id));
    private static readonly Consumer Nobody = new([], 0);
    private readonly SortedSet<PendingEntry> _set = new(ById);

    public int Count => _set.Count;
    public PendingEntry? First => _set.Count == 0 ? null : _set.Min;
    public PendingEntry? Last => _set.Count == 0 ? null : _set.Max;

    public bool Add(PendingEntry e) => _set.Add(e);
    public bool Remove(PendingEntry e) => _set.Remove(e);

    public PendingEntry? Find(StreamId id) => _set.TryGetValue(Probe(id), out var e) ? e : null;

    /// <summary>The entries from <paramref name="start"/> to <paramref name="end"/> inclusive, in ID order.</summary>
    public IEnumerable<PendingEntry> Range(StreamId start, StreamId end) =>
        start > end || _set.Count == 0 ? [] : _set.GetViewBetween(Probe(start), Probe(end));

    public IEnumerator<PendingEntry> GetEnumerator() => _set.GetEnumerator();

    private static PendingEntry Probe(StreamId id) => new(id, Nobody, 0, 0);
}

/// <summary>Names in the order of Redis's rax: bytes compared unsigned, a prefix before what extends it.</summary>
internal sealed class NameOrder : IComparer<byte[]>
{
    public static readonly NameOrder Instance = new();

    public int Compare(byte[]? a, byte[]? b) => a.AsSpan().SequenceCompareTo(b);
}

/// <summary>
/// A consumer group of a stream (Redis's streamCG): the last ID it delivered, its logical read counter
/// (entries_read; -1 when unknown), its pending entries and its consumers by name.
/// </summary>
public sealed class ConsumerGroup(StreamId lastId, long entriesRead)
{
    /// <summary>SCG_INVALID_ENTRIES_READ.</summary>
    public const long InvalidEntriesRead = -1;

    public StreamId LastId { get; set; } = lastId;
    public long EntriesRead { get; set; } = entriesRead;
    public PendingList Pending { get; } = new();
    public SortedDictionary<byte[], Consumer> Consumers { get; } = new(NameOrder.Instance);

    public Consumer? FindConsumer(ReadOnlySpan<byte> name) => Consumers.TryGetValue(name.ToArray(), out var c) ? c : null;

    /// <summary>As streamCreateConsumer: null when a consumer of that name exists.</summary>
    public Consumer? CreateConsumer(ReadOnlySpan<byte> name, long now)
    {
        var key = name.ToArray();
        if (Consumers.ContainsKey(key)) return null;
        var c = new Consumer(key, now);
        Consumers.Add(key, c);
        return c;
    }

    /// <summary>As streamDelConsumer: its pending entries leave the group's list too.</summary>
    public void DeleteConsumer(Consumer c)
    {
        foreach (var e in c.Pending) Pending.Remove(e);
        Consumers.Remove(c.Name);
    }

    /// <summary>Removes a pending entry from the group and from its consumer (XACK, or a claim of a deleted entry).</summary>
    public void Remove(PendingEntry e)
    {
        Pending.Remove(e);
        e.Consumer.Pending.Remove(e);
    }

    /// <summary>Gives a pending entry to <paramref name="c"/> (it leaves its former consumer's list).</summary>
    public static void MoveTo(PendingEntry e, Consumer c)
    {
        if (ReferenceEquals(e.Consumer, c)) return;
        e.Consumer.Pending.Remove(e);
        e.Consumer = c;
        c.Pending.Add(e);
    }

    /// <summary>A deep copy (COPY duplicates groups, consumers and pending entries, as streamDup).</summary>
    public ConsumerGroup Clone()
    {
        var copy = new ConsumerGroup(LastId, EntriesRead);
        foreach (var (name, c) in Consumers)
        {
            var cc = new Consumer(name, c.SeenTime);
            copy.Consumers.Add(name, cc);
            foreach (var e in c.Pending)
            {
                var ce = new PendingEntry(e.Id, cc, e.DeliveryTime, e.DeliveryCount);
                cc.Pending.Add(ce);
                copy.Pending.Add(ce);
            }
        }
        return copy;
    }
}
