namespace KeyspacePubSub.Engine.Streams;

/// <summary>
/// What changed in a durable stream since its rows were last written, so a commit writes only that: entries
/// added or marked deleted (upserted), and entries of nodes that went (deleted). Kept only on a stream held by
/// a durable key (<see cref="StreamValue.Durability"/>); a plain stream records nothing.
/// </summary>
public sealed class StreamChanges(long keyId)
{
    /// <summary>The key row the stream's entry rows belong to.</summary>
    public long KeyId { get; } = keyId;

    /// <summary>Entries to upsert: added, or marked deleted (a tombstone keeps its row).</summary>
    public List<StreamEntry> Written { get; } = [];

    /// <summary>Entries whose node went (trimmed, or its last live entry deleted): their rows go.</summary>
    public List<StreamEntry> Removed { get; } = [];

    public void Reset()
    {
        Written.Clear();
        Removed.Clear();
    }
}
