namespace KeyspacePubSub.Engine.Streams;

/// <summary>
/// One entry of a stream, read in place from its node (<see cref="StreamNode"/>): its ID, its fields and
/// values, and whether XDEL or a trim left it in its node as a tombstone.
/// </summary>
public readonly struct StreamEntry
{
    private readonly StreamNode _node;
    private readonly int _index;

    internal StreamEntry(StreamNode node, int index)
    {
        _node = node;
        _index = index;
    }

    public StreamId Id => _node.IdAt(_index);

    public bool Deleted => _node.DeletedAt(_index);

    /// <summary>Makes the entry a tombstone (its node keeps it).</summary>
    internal void MarkDeleted() => _node.MarkDeleted(_index);

    /// <summary>field, value, field, value...</summary>
    public StreamItems Pairs => _node.PairsAt(_index);
}
