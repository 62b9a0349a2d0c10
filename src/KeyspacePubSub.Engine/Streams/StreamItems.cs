using System.Buffers.Binary;

namespace KeyspacePubSub.Engine.Streams;

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
