namespace KeyspacePubSub.Engine.Keyspace;

/// <summary>A Redis list: a growable ring buffer, O(1) at both ends and by index.</summary>
public sealed class ListValue
{
    private byte[][] _items = new byte[4][];
    private int _head;

    public int Count { get; private set; }

    public byte[] this[int index]
    {
        get => _items[(_head + index) % _items.Length];
        set => _items[(_head + index) % _items.Length] = value;
    }

    public void PushHead(byte[] item)
    {
        Grow();
        _head = (_head - 1 + _items.Length) % _items.Length;
        _items[_head] = item;
        Count++;
    }

    public void PushTail(byte[] item)
    {
        Grow();
        _items[(_head + Count) % _items.Length] = item;
        Count++;
    }

    public byte[] PopHead()
    {
        var item = _items[_head];
        _items[_head] = null!;
        _head = (_head + 1) % _items.Length;
        Count--;
        return item;
    }

    public byte[] PopTail()
    {
        int i = (_head + Count - 1) % _items.Length;
        var item = _items[i];
        _items[i] = null!;
        Count--;
        return item;
    }

    /// <summary>Inserts before position <paramref name="index"/> (0..Count).</summary>
    public void Insert(int index, byte[] item)
    {
        PushTail(item);
        for (int i = Count - 1; i > index; i--) this[i] = this[i - 1];
        this[index] = item;
    }

    public void RemoveAt(int index)
    {
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

    private void Grow()
    {
        if (Count < _items.Length) return;
        var bigger = new byte[_items.Length * 2][];
        for (int i = 0; i < Count; i++) bigger[i] = this[i];
        _items = bigger;
        _head = 0;
    }
}
