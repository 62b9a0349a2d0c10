namespace KeyspacePubSub.Engine.Keyspace;

/// <summary>One of the numbered databases: key → value. Values and their commands arrive with the key-value store.</summary>
public sealed class Database(int index)
{
    public int Index { get; internal set; } = index;

    public Dictionary<byte[], object> Data { get; private set; } = new(ByteKeyComparer.Instance);

    public int Count => Data.Count;

    public void Clear() => Data = new Dictionary<byte[], object>(ByteKeyComparer.Instance);

    /// <summary>SWAPDB: exchange contents, keep the indexes.</summary>
    public static void Swap(Database a, Database b) => (a.Data, b.Data) = (b.Data, a.Data);
}
