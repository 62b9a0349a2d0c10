using System.Buffers.Binary;

namespace KeyspacePubSub.Engine.Streams;

/// <summary>
/// One entry of a stream: its ID, its fields and values, and whether XDEL left it in its node as a tombstone.
/// The fields and values are one array (<see cref="Items"/>): the item count, then each item's length and
/// bytes, lengths as little-endian 32-bit integers, which is also a durable entry row after its flags byte.
/// An entry is two objects whatever its fields: with an array per field and value and one array of them,
/// an entry of two fields was six, and a stream of 1,000,000 such entries six million objects for the GC to
/// mark and 280 bytes an entry against 160.
/// </summary>
public sealed class StreamEntry
{
    private readonly byte[] _items; // never changed once made: a copy of the stream (COPY) shares it

    public StreamEntry(StreamId id, byte[][] pairs)
    {
        Id = id;
        int bytes = 4 + 4 * pairs.Length;
        foreach (var p in pairs) bytes += p.Length;
        _items = Start(bytes, pairs.Length);
        int at = 4;
        foreach (var p in pairs) Put(_items, ref at, p);
    }

    /// <summary>An entry of the arguments from <paramref name="first"/> on (XADD's fields and values), copied straight into its items.</summary>
    public StreamEntry(StreamId id, in Protocol.CommandArgs args, int first)
    {
        Id = id;
        int count = args.Count - first, bytes = 4 + 4 * count;
        for (int i = first; i < args.Count; i++) bytes += args[i].Length;
        _items = Start(bytes, count);
        int at = 4;
        for (int i = first; i < args.Count; i++) Put(_items, ref at, args[i]);
    }

    private static byte[] Start(int bytes, int count)
    {
        var items = new byte[bytes];
        BinaryPrimitives.WriteInt32LittleEndian(items, count);
        return items;
    }

    private static void Put(byte[] items, ref int at, ReadOnlySpan<byte> item)
    {
        BinaryPrimitives.WriteInt32LittleEndian(items.AsSpan(at), item.Length);
        item.CopyTo(items.AsSpan(at + 4));
        at += 4 + item.Length;
    }

    private StreamEntry(StreamId id, byte[] items)
    {
        Id = id;
        _items = items;
    }

    /// <summary>
    /// An entry whose fields and values are laid out as <see cref="Items"/> lays them out (a durable row's),
    /// copied once; <see cref="InvalidDataException"/> when the count and lengths do not fill the bytes exactly.
    /// </summary>
    public static StreamEntry FromItems(StreamId id, ReadOnlySpan<byte> items)
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
        return new StreamEntry(id, items.ToArray());
    }

    public StreamId Id { get; }

    public bool Deleted { get; set; }

    /// <summary>field, value, field, value...</summary>
    public StreamItems Pairs => new(_items);

    /// <summary>The bytes of the fields and values themselves (without the count and lengths).</summary>
    public long ValueBytes => _items.Length - 4 - 4L * BinaryPrimitives.ReadInt32LittleEndian(_items);

    /// <summary>The count, then each item's length and bytes.</summary>
    public ReadOnlySpan<byte> Items => _items;

    /// <summary>The same entry for another stream (a copy's): the items are shared, never changed.</summary>
    public StreamEntry Copy() => new(Id, _items) { Deleted = Deleted };
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
