using System.Buffers.Binary;

namespace KeyspacePubSub.Engine.Streams;

/// <summary>
/// Fields and values as a durable entry row holds them after its flags byte (and as a load hands them over):
/// the item count, then each item's length and bytes, as little-endian 32-bit integers.
/// </summary>
public readonly ref struct StreamRowItems(ReadOnlySpan<byte> items)
{
    private readonly ReadOnlySpan<byte> _items = items;

    public int Length => BinaryPrimitives.ReadInt32LittleEndian(_items);

    public Enumerator GetEnumerator() => new(_items);

    /// <summary>The bytes of the fields and values of <paramref name="items"/> themselves, without the count and lengths.</summary>
    internal static long ValueBytes(ReadOnlySpan<byte> items) => items.Length - 4 - 4L * BinaryPrimitives.ReadInt32LittleEndian(items);

    /// <summary>Fields and values laid out as a durable row lays them out.</summary>
    public static byte[] Encode(byte[][] pairs)
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
    /// Checks that <paramref name="items"/> are laid out as a durable row lays them out:
    /// <see cref="InvalidDataException"/> when the count and lengths do not fill the bytes exactly.
    /// </summary>
    public static void Check(ReadOnlySpan<byte> items)
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
