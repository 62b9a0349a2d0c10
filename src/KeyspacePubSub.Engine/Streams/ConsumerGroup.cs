namespace KeyspacePubSub.Engine.Streams;

/// <summary>
/// An entry delivered to a consumer of a group and not yet acknowledged (Redis's streamNACK): when it was last
/// delivered (Unix ms), how many times, and to whom. The group's pending list and its consumer's share it.
/// It changes only through its <see cref="ConsumerGroup"/>, which tells a durable stream's store what changed.
/// </summary>
public sealed class PendingEntry(StreamId id, Consumer consumer, long deliveryTime, long deliveryCount)
{
    public StreamId Id { get; } = id;
    public Consumer Consumer { get; internal set; } = consumer;
    public long DeliveryTime { get; internal set; } = deliveryTime;
    public long DeliveryCount { get; internal set; } = deliveryCount;
}

/// <summary>A consumer of a group: its name, when it was last seen (Unix ms), and the entries pending with it.</summary>
public sealed class Consumer(byte[] name, long seenTime)
{
    public byte[] Name { get; } = name;
    public long SeenTime { get; set; } = seenTime;
    public PendingList Pending { get; } = new();
}

/// <summary>Names in the order of Redis's rax: bytes compared unsigned, a prefix before what extends it.</summary>
internal sealed class NameOrder : IComparer<byte[]>
{
    public static readonly NameOrder Instance = new();

    public int Compare(byte[]? a, byte[]? b) => a.AsSpan().SequenceCompareTo(b);
}

/// <summary>
/// A consumer group of a stream (Redis's streamCG): the last ID it delivered, its logical read counter
/// (entries_read; -1 when unknown), its pending entries and its consumers by name. Every change of a pending
/// entry goes through it: a durable stream's store writes the entries a command changed, one row each
/// (<see cref="StreamChanges.Pending"/>), and the group's other state with the stream's key row.
/// </summary>
public sealed class ConsumerGroup
{
    /// <summary>SCG_INVALID_ENTRIES_READ.</summary>
    public const long InvalidEntriesRead = -1;

    private readonly StreamValue _stream;

    internal ConsumerGroup(StreamValue stream, byte[] name, StreamId lastId, long entriesRead)
    {
        _stream = stream;
        Name = name;
        LastId = lastId;
        EntriesRead = entriesRead;
    }

    public byte[] Name { get; }
    public StreamId LastId { get; set; }
    public long EntriesRead { get; set; }
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
        foreach (var e in c.Pending)
        {
            Pending.Remove(e);
            Changed(e.Id);
        }
        Consumers.Remove(c.Name);
    }

    /// <summary>As streamCreateNACK and its insertion into both lists: <paramref name="id"/> pending with <paramref name="c"/>.</summary>
    public PendingEntry AddPending(StreamId id, Consumer c, long deliveryTime, long deliveryCount)
    {
        var e = new PendingEntry(id, c, deliveryTime, deliveryCount);
        Pending.Add(e);
        c.Pending.Add(e);
        Changed(id);
        return e;
    }

    /// <summary>Removes a pending entry from the group and from its consumer (XACK, or a claim of a deleted entry).</summary>
    public void Remove(PendingEntry e)
    {
        Pending.Remove(e);
        e.Consumer.Pending.Remove(e);
        Changed(e.Id);
    }

    /// <summary>
    /// A pending entry delivered again, or claimed: it goes to <paramref name="c"/> (leaving its former
    /// consumer's list) with a new delivery time and count.
    /// </summary>
    public void Redeliver(PendingEntry e, Consumer c, long deliveryTime, long deliveryCount)
    {
        if (!ReferenceEquals(e.Consumer, c))
        {
            e.Consumer.Pending.Remove(e);
            e.Consumer = c;
            c.Pending.Add(e);
        }
        e.DeliveryTime = deliveryTime;
        e.DeliveryCount = deliveryCount;
        Changed(e.Id);
    }

    private void Changed(StreamId id) => _stream.Durability?.Pending.Add((Name, id));

    /// <summary>A deep copy for <paramref name="stream"/> (COPY duplicates groups, consumers and pending entries, as streamDup).</summary>
    internal ConsumerGroup CloneFor(StreamValue stream)
    {
        var copy = new ConsumerGroup(stream, Name, LastId, EntriesRead);
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
