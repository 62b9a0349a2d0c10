using System.Buffers.Binary;

namespace KeyspacePubSub.Engine.Streams;

/// <summary>
/// One entry of a stream, read in place from its node (<see cref="StreamNode"/>): its ID, its fields and
/// values, and whether XDEL or a trim left it in its node as a tombstone. The fields and values are laid out
/// as <see cref="Items"/>: the item count, then each item's length and bytes, lengths as little-endian 32-bit
/// integers, which is also a durable entry row after its flags byte.
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
    public StreamItems Pairs => new(Items);

    /// <summary>The bytes of the fields and values of <paramref name="items"/> themselves (without the count and lengths).</summary>
    internal static long ValueBytesOf(ReadOnlySpan<byte> items) => items.Length - 4 - 4L * BinaryPrimitives.ReadInt32LittleEndian(items);

    /// <summary>The count, then each item's length and bytes.</summary>
    public ReadOnlySpan<byte> Items => _node.ItemsAt(_index);

    /// <summary>Fields and values laid out as <see cref="Items"/> lays them out.</summary>
    public static byte[] EncodeItems(byte[][] pairs)
    {
        int bytes = 4 + 4 * pairs.Length;
        foreach (var p in pairs) bytes += p.Length;
        var items = new byte[bytes];
        BinaryPrimitives.WriteInt32LittleEndian(items, pairs.Length);
        int at = 4;
        foreach (var p in pairs)
        {
            BinaryPrimitives.WriteInt32LittleEndian(items.AsSpan(at), p.Length);
            p.CopyTo(items.AsSpan(at + 4));
            at += 4 + p.Length;
        }
        return items;
    }

    /// <summary>
    /// Checks that <paramref name="items"/> are laid out as <see cref="Items"/> lays them out (a durable row's):
    /// <see cref="InvalidDataException"/> when the count and lengths do not fill the bytes exactly.
    /// </summary>
    public static void CheckItems(ReadOnlySpan<byte> items)
    {
        if (items.Length < 4) throw new InvalidDataException("stream entry row cut short");
        int count = BinaryPrimitives.ReadInt32LittleEndian(items), at = 4;
        if (count < 0) throw new InvalidDataException("stream entry row damaged (a negative item count)");
        if (count > (items.Length - 4) / 4) throw new InvalidDataException("stream entry row cut short");
        for (int i = 0; i < count; i++)
        {
            if (items.Length - at < 4) throw new InvalidDataException("stream entry row cut short");
            int length = BinaryPrimitives.ReadInt32LittleEndian(items[at..]);
            if (length < 0) throw new InvalidDataException("stream entry row damaged (a negative item length)");
            if (length > items.Length - at - 4) throw new InvalidDataException("stream entry row cut short");
            at += 4 + length;
        }
        if (at != items.Length) throw new InvalidDataException("stream entry row damaged (bytes after its items)");
    }
}

/// <summary>An entry's fields and values, read in place from its items (<see cref="StreamEntry.Items"/>).</summary>
public readonly ref struct StreamItems(ReadOnlySpan<byte> items)
{
    private readonly ReadOnlySpan<byte> _items = items;

    public int Length => BinaryPrimitives.ReadInt32LittleEndian(_items);

    public Enumerator GetEnumerator() => new(_items);

    /// <summary>Each item as an array of its own.</summary>
    public byte[][] ToArrays()
    {
        var arrays = new byte[Length][];
        int i = 0;
        foreach (var item in this) arrays[i++] = item.ToArray();
        return arrays;
    }

    public ref struct Enumerator(ReadOnlySpan<byte> items)
    {
        private readonly ReadOnlySpan<byte> _items = items;
        private int _left = BinaryPrimitives.ReadInt32LittleEndian(items), _next = 4, _start, _length;

        public readonly ReadOnlySpan<byte> Current => _items.Slice(_start, _length);

        public bool MoveNext()
        {
            if (_left == 0) return false;
            _left--;
            _length = BinaryPrimitives.ReadInt32LittleEndian(_items[_next..]);
            _start = _next + 4;
            _next = _start + _length;
            return true;
        }
    }
}
