using System.Buffers.Binary;

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

    /// <summary>The bytes of the fields and values of row items (<see cref="StreamRowItems"/>) themselves, without the count and lengths.</summary>
    internal static long ValueBytesOf(ReadOnlySpan<byte> items) => items.Length - 4 - 4L * BinaryPrimitives.ReadInt32LittleEndian(items);

    /// <summary>Fields and values laid out as a durable row lays them out (<see cref="StreamRowItems"/>).</summary>
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
    /// Checks that <paramref name="items"/> are laid out as a durable row lays them out (<see cref="StreamRowItems"/>):
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

/// <summary>
/// An entry's fields and values, read in place from its node: each stored item a varint length and its bytes,
/// and, for an entry with its node's master fields, the fields taken from the node (see <see cref="StreamNode"/>).
/// </summary>
public readonly ref struct StreamItems
{
    private readonly ReadOnlySpan<byte> _stored;
    private readonly byte[][]? _fields;

    internal StreamItems(ReadOnlySpan<byte> stored, byte[][]? fields, int length)
    {
        _stored = stored;
        _fields = fields;
        Length = length;
    }

    /// <summary>Items: fields and values.</summary>
    public int Length { get; }

    public Enumerator GetEnumerator() => new(_stored, _fields, Length);

    /// <summary>Each item as an array of its own.</summary>
    public byte[][] ToArrays()
    {
        var arrays = new byte[Length][];
        int i = 0;
        foreach (var item in this) arrays[i++] = item.ToArray();
        return arrays;
    }

    /// <summary>The bytes of the items laid out as a durable row lays them out (<see cref="StreamRowItems"/>).</summary>
    public int RowBytes
    {
        get
        {
            int bytes = 4;
            foreach (var item in this) bytes += 4 + item.Length;
            return bytes;
        }
    }

    /// <summary>The items laid out as a durable row lays them out, into <paramref name="to"/> (<see cref="RowBytes"/> long).</summary>
    public void WriteRow(Span<byte> to)
    {
        BinaryPrimitives.WriteInt32LittleEndian(to, Length);
        int at = 4;
        foreach (var item in this)
        {
            BinaryPrimitives.WriteInt32LittleEndian(to[at..], item.Length);
            item.CopyTo(to[(at + 4)..]);
            at += 4 + item.Length;
        }
    }

    public byte[] ToRow()
    {
        var row = new byte[RowBytes];
        WriteRow(row);
        return row;
    }

    public ref struct Enumerator(ReadOnlySpan<byte> stored, byte[][]? fields, int length)
    {
        private readonly ReadOnlySpan<byte> _stored = stored;
        private readonly byte[][]? _fields = fields;
        private int _left = length, _next, _k;
        private ReadOnlySpan<byte> _current;

        public readonly ReadOnlySpan<byte> Current => _current;

        public bool MoveNext()
        {
            if (_left == 0) return false;
            _left--;
            if (_fields != null && (_k & 1) == 0) _current = _fields[_k >> 1];
            else
            {
                int length = (int)Varint.Read(_stored, ref _next);
                _current = _stored.Slice(_next, length);
                _next += length;
            }
            _k++;
            return true;
        }
    }
}

/// <summary>
/// Fields and values as a durable entry row holds them after its flags byte (and as a load hands them over):
/// the item count, then each item's length and bytes, as little-endian 32-bit integers.
/// </summary>
public readonly ref struct StreamRowItems(ReadOnlySpan<byte> items)
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
