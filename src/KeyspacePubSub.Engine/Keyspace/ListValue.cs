namespace KeyspacePubSub.Engine.Keyspace;

/// <summary>
/// A Redis list: a growable ring buffer, O(1) at both ends and by index. Every element also has a stable
/// position (<see cref="HeadPosition"/> + index) that pushes and pops at the ends never renumber, so a durable
/// list is stored as (position, element) rows and each change touches only the rows it changed
/// (<see cref="Durability"/>).
/// </summary>
public sealed class ListValue
{
    private byte[][] _items = new byte[4][]; // a power of two: indexes wrap with a mask
    private int _head;

    public int Count { get; private set; }

    /// <summary>Slots allocated (MEMORY USAGE).</summary>
    public int Capacity => _items.Length;

    /// <summary>Position of element 0.</summary>
    public long HeadPosition { get; private set; }

    /// <summary>Change tracking since the last durable commit; null for lists that are not durable.</summary>
    public ListChanges? Durability { get; set; }

    public byte[] this[int index]
    {
        get => _items[(_head + index) & (_items.Length - 1)];
        set
        {
            _items[(_head + index) & (_items.Length - 1)] = value;
            Durability?.Overwritten.Add(HeadPosition + index);
        }
    }

    public void PushHead(byte[] item)
    {
        Grow();
        _head = (_head - 1) & (_items.Length - 1);
        _items[_head] = item;
        Count++;
        HeadPosition--;
        if (Durability is { } d) d.HeadWrittenMax = Math.Max(d.HeadWrittenMax, HeadPosition);
    }

    public void PushTail(byte[] item)
    {
        Grow();
        _items[(_head + Count) & (_items.Length - 1)] = item;
        Count++;
        if (Durability is { } d) d.TailWrittenMin = Math.Min(d.TailWrittenMin, HeadPosition + Count - 1);
    }

    public byte[] PopHead()
    {
        var item = _items[_head];
        _items[_head] = null!;
        _head = (_head + 1) & (_items.Length - 1);
        Count--;
        HeadPosition++;
        ShrinkIfSparse();
        return item;
    }

    public byte[] PopTail()
    {
        int i = (_head + Count - 1) & (_items.Length - 1);
        var item = _items[i];
        _items[i] = null!;
        Count--;
        ShrinkIfSparse();
        return item;
    }

    /// <summary>Inserts before position <paramref name="index"/> (0..Count).</summary>
    public void Insert(int index, byte[] item)
    {
        if (Durability != null) Durability.Renumbered = true;
        PushTail(item);
        for (int i = Count - 1; i > index; i--) this[i] = this[i - 1];
        this[index] = item;
    }

    public void RemoveAt(int index)
    {
        if (Durability != null) Durability.Renumbered = true;
        for (int i = index; i < Count - 1; i++) this[i] = this[i + 1];
        PopTail();
    }

    /// <summary>Keeps only [start, end] (inclusive, already clamped); as LTRIM.</summary>
    public void Trim(int start, int end)
    {
        int keep = end - start + 1;
        for (int i = 0; i < start; i++) PopHead();
        while (Count > keep) PopTail();
    }

    private void Grow() => Ring.GrowIfFull(ref _items, ref _head, Count);

    private void ShrinkIfSparse() => Ring.ShrinkIfSparse(ref _items, ref _head, Count);

    /// <summary>
    /// An empty list takes <paramref name="items"/> as its storage, elements 0 to <paramref name="count"/> - 1 in
    /// order (a list loaded at start). The array's length must be a power of two.
    /// </summary>
    public void Adopt(byte[][] items, int count)
    {
        if (Count != 0 || items.Length < 4 || !System.Numerics.BitOperations.IsPow2(items.Length) || count > items.Length) throw new ArgumentException("an empty list adopts a power-of-two array", nameof(items));
        _items = items;
        _head = 0;
        Count = count;
    }

    /// <summary>Sets the position of element 0 (when a durable list is loaded).</summary>
    public void PlaceAt(long headPosition) => HeadPosition = headPosition;
}
