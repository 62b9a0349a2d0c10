namespace KeyspacePubSub.Engine.Keyspace;

/// <summary>
/// A durable list's stored rows and what changed since its last commit, in positions. Each stored row has a
/// sequence number (its row id in the store, assigned in commit order, so every insert appends at the end
/// of one table); <see cref="Seqs"/> holds them for positions [StoredLow, StoredHigh], which is how popped,
/// trimmed and overwritten elements find the rows to delete without an index on (key, position).
/// </summary>
public sealed class ListChanges
{
    /// <summary>The key's id in the durable store.</summary>
    public long Id;

    /// <summary>First position stored in the database.</summary>
    public long StoredLow;

    /// <summary>Row sequence numbers of the stored positions, StoredLow first.</summary>
    public readonly LongDeque Seqs = new();

    /// <summary>Last position stored (below <see cref="StoredLow"/> when none is).</summary>
    public long StoredHigh => StoredLow + Seqs.Count - 1;

    public long HeadWrittenMax = long.MinValue;
    public long TailWrittenMin = long.MaxValue;
    public readonly List<long> Overwritten = [];

    /// <summary>A middle insert or removal shifted positions: the list is written again whole.</summary>
    public bool Renumbered;

    /// <summary>Forgets the changes once they are written (<see cref="Seqs"/> already describes the rows).</summary>
    public void Reset()
    {
        HeadWrittenMax = long.MinValue;
        TailWrittenMin = long.MaxValue;
        Overwritten.Clear();
        Renumbered = false;
    }
}

/// <summary>A ring buffer of longs, O(1) at both ends and by index.</summary>
public sealed class LongDeque
{
    private long[] _items = new long[4];
    private int _head;

    public int Count { get; private set; }

    /// <summary>Slots allocated (tests).</summary>
    public int Capacity => _items.Length;

    public long this[int index]
    {
        get => _items[(_head + index) & (_items.Length - 1)];
        set => _items[(_head + index) & (_items.Length - 1)] = value;
    }

    public void PushFront(long v)
    {
        Grow();
        _head = (_head - 1) & (_items.Length - 1);
        _items[_head] = v;
        Count++;
    }

    public void PushBack(long v)
    {
        Grow();
        _items[(_head + Count) & (_items.Length - 1)] = v;
        Count++;
    }

    public long PopFront()
    {
        long v = _items[_head];
        _head = (_head + 1) & (_items.Length - 1);
        Count--;
        ShrinkIfSparse();
        return v;
    }

    public long PopBack()
    {
        Count--;
        long v = _items[(_head + Count) & (_items.Length - 1)];
        ShrinkIfSparse();
        return v;
    }

    public void Clear()
    {
        _head = 0;
        Count = 0;
    }

    private void Grow() => Ring.GrowIfFull(ref _items, ref _head, Count);

    private void ShrinkIfSparse() => Ring.ShrinkIfSparse(ref _items, ref _head, Count);

    /// <summary>An empty deque takes <paramref name="items"/> (a power-of-two length) as its storage, numbers 0 to <paramref name="count"/> - 1.</summary>
    public void Adopt(long[] items, int count)
    {
        if (Count != 0 || items.Length < 4 || !System.Numerics.BitOperations.IsPow2(items.Length) || count > items.Length) throw new ArgumentException("an empty deque adopts a power-of-two array", nameof(items));
        _items = items;
        _head = 0;
        Count = count;
    }
}
