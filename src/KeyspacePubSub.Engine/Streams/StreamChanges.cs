namespace KeyspacePubSub.Engine.Streams;

/// <summary>
/// What changed in a durable stream since its rows were last written, so a commit writes only that: entries
/// added or marked deleted (upserted), entries of nodes that went (deleted), pending entries of its groups that
/// changed, and groups that went. Kept only on a stream held by a durable key (<see cref="StreamValue.Durability"/>);
/// a plain stream records nothing.
/// </summary>
public sealed class StreamChanges(long keyId)
{
    /// <summary>The key row the stream's entry and pending rows belong to.</summary>
    public long KeyId { get; } = keyId;

    /// <summary>
    /// Every row to be written again: the stream was loaded from a key row of an older layout (nodes and
    /// pending entries inside it), whose rows the next write replaces.
    /// </summary>
    public bool Full { get; set; }

    /// <summary>Entries to upsert: added, or marked deleted (a tombstone keeps its row).</summary>
    public List<StreamEntry> Written { get; } = [];

    /// <summary>Entries whose node went (trimmed, or its last live entry deleted): their rows go.</summary>
    public List<StreamEntry> Removed { get; } = [];

    /// <summary>
    /// Pending entries (group name, ID) added, changed or removed, in order; the write looks each up in the
    /// group of that name as it is then, so a repeat writes the same row again.
    /// </summary>
    public List<(byte[] Group, StreamId Id)> Pending { get; } = [];

    /// <summary>Groups destroyed: all their pending rows go, before the rows of <see cref="Pending"/> are written.</summary>
    public List<byte[]> DroppedGroups { get; } = [];

    public void Reset()
    {
        Full = false;
        Written.Clear();
        Removed.Clear();
        Pending.Clear();
        DroppedGroups.Clear();
    }
}
