namespace KeyspacePubSub.Engine.Streams;

/// <summary>
/// A stream's consumer groups, and the counters Redis 7.0 derives for them from the stream's own: a group's
/// logical read counter (entries_read) and its lag.
/// </summary>
public sealed partial class StreamValue
{
    /// <summary>Consumer groups by name, in Redis's rax order; null until the first is created.</summary>
    public SortedDictionary<byte[], ConsumerGroup>? Groups { get; private set; }

    public int GroupCount => Groups?.Count ?? 0;

    public ConsumerGroup? FindGroup(ReadOnlySpan<byte> name) => Groups is null ? null : FindGroup(name.ToArray());

    public ConsumerGroup? FindGroup(byte[] name) => Groups is { } g && g.TryGetValue(name, out var cg) ? cg : null;

    /// <summary>As streamCreateCG: null when a group of that name exists.</summary>
    public ConsumerGroup? CreateGroup(ReadOnlySpan<byte> name, StreamId lastId, long entriesRead)
    {
        Groups ??= new SortedDictionary<byte[], ConsumerGroup>(NameOrder.Instance);
        var key = name.ToArray();
        if (Groups.ContainsKey(key)) return null;
        var cg = new ConsumerGroup(this, key, lastId, entriesRead);
        Groups.Add(key, cg);
        return cg;
    }

    /// <summary>As streamDestroyCG: the group goes with its pending entries.</summary>
    public bool DestroyGroup(ReadOnlySpan<byte> name)
    {
        if (Groups is null || !Groups.Remove(name.ToArray(), out var cg)) return false;
        Durability?.DroppedGroups.Add(cg.Name);
        return true;
    }

    /// <summary>As streamEntryExists: a live entry with this ID.</summary>
    public bool Contains(StreamId id) => Find(id) != null;

    /// <summary>The live entry with this ID, or null.</summary>
    public StreamEntry? Find(StreamId id)
    {
        int n = NodeAtOrBefore(id);
        if (n < 0) return null;
        var node = Nodes[n];
        int i = node.LowerBound(id);
        return i < node.Count && node.IdAt(i) == id && !node.DeletedAt(i) ? node[i] : null;
    }

    /// <summary>
    /// As Redis 7.0's streamRangeHasTombstones(s, start, NULL): whether a deleted entry may lie at or after
    /// <paramref name="start"/>; only the maximal deleted ID is known, and one before the first entry counts not.
    /// </summary>
    public bool HasTombstonesFrom(StreamId start)
    {
        if (Length == 0 || MaxDeletedId.IsZero) return false;
        if (FirstId > MaxDeletedId) return false;
        return start <= MaxDeletedId;
    }

    /// <summary>
    /// As Redis 7.0's streamEstimateDistanceFromFirstEverEntry: the logical read counter of <paramref name="id"/>
    /// (the entries added up to it), when the counters can tell; <see cref="ConsumerGroup.InvalidEntriesRead"/> otherwise.
    /// </summary>
    public long EstimateDistanceFromFirstEverEntry(StreamId id)
    {
        if (EntriesAdded == 0) return 0;
        if (Length == 0 && id <= LastId) return EntriesAdded;
        int cmpLast = id.CompareTo(LastId);
        if (cmpLast == 0) return EntriesAdded;
        if (cmpLast > 0) return ConsumerGroup.InvalidEntriesRead;
        int cmpFirst = id.CompareTo(FirstId);
        if (MaxDeletedId.IsZero || MaxDeletedId < FirstId)
        {
            if (cmpFirst < 0) return EntriesAdded - Length;
            if (cmpFirst == 0) return EntriesAdded - Length + 1;
        }
        return ConsumerGroup.InvalidEntriesRead;
    }

    /// <summary>As Redis 7.0's streamReplyWithCGLag: the entries not yet delivered to the group, or null when unknown.</summary>
    public long? Lag(ConsumerGroup cg)
    {
        if (EntriesAdded == 0) return 0;
        if (cg.EntriesRead != ConsumerGroup.InvalidEntriesRead && !HasTombstonesFrom(cg.LastId)) return EntriesAdded - cg.EntriesRead;
        long read = EstimateDistanceFromFirstEverEntry(cg.LastId);
        return read == ConsumerGroup.InvalidEntriesRead ? null : EntriesAdded - read;
    }

    /// <summary>
    /// As streamReplyWithRange's step for a group, for each entry it delivers past the group's last ID: the read
    /// counter goes on by one when it is known and no deleted entry may lie ahead, else it is estimated again.
    /// </summary>
    public void AdvanceGroup(ConsumerGroup cg, StreamId id)
    {
        if (id <= cg.LastId) return;
        if (cg.EntriesRead != ConsumerGroup.InvalidEntriesRead && !HasTombstonesFrom(id)) cg.EntriesRead++;
        else if (EntriesAdded != 0) cg.EntriesRead = EstimateDistanceFromFirstEverEntry(id);
        cg.LastId = id;
    }
}
