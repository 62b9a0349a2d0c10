using System.Buffers.Binary;

namespace KeyspacePubSub.Engine.Streams;

/// <summary>
/// What Redis keeps in one listpack of a stream's radix tree (t_stream.c): entries from a master ID on, the
/// master entry's fields (which later entries with the same fields do not repeat), the live and deleted counts,
/// and the listpack's size in bytes, so nodes fill and trims cut exactly where Redis's do.
/// <para>
/// The entries themselves lie end to end in one buffer, as a listpack holds them: each is its ID (ms, seq),
/// a deleted flag, then its items (<see cref="StreamEntry.Items"/>), and an array holds where each starts. A
/// node is a few objects whatever its entries; with an object and an array per entry, a stream of 1,000,000
/// entries was two million objects for the GC to mark, and clearing their new memory was a quarter of XADD's
/// time in a mass insertion. Entries are only ever appended and flagged deleted, so an entry's index in its
/// node stays its own (<see cref="StreamEntry"/> is a node and an index).
/// </para>
/// </summary>
internal sealed class StreamNode
{
    /// <summary>The bytes before an entry's items: its ID (ms, seq) and its deleted flag.</summary>
    public const int HeaderBytes = 17;

    /// <summary>The bytes a node's buffer may hold: a node closes before its entries pass them (1 GB).</summary>
    public const int MaxBuffer = 1 << 30;
    private byte[][]? _fields;
    private byte[] _data;
    private int[] _starts;
    private int _used;
    private readonly bool _pinned;

    /// <summary>
    /// A node whose master entry is the first entry added to it (its fields become the master fields); its
    /// buffers <paramref name="pinned"/> (see <see cref="ByteBuffer"/>) unless a load makes it.
    /// </summary>
    public StreamNode(StreamId master, int capacityBytes = 0, int capacityEntries = 0, bool pinned = true)
    {
        Master = master;
        _pinned = pinned;
        _data = ByteBuffer(capacityBytes);
        _starts = IntBuffer(capacityEntries);
    }

    /// <summary>A node of a given master entry and size (an older durable layout's), its entries added by <see cref="AddUnaccounted"/>.</summary>
    public StreamNode(StreamId master, byte[][] masterFields, long body) : this(master, pinned: false)
    {
        _fields = masterFields;
        Body = body;
    }

    private StreamNode(StreamNode from) : this(from.Master, pinned: true)
    {
        _fields = from._fields;
        _data = Copy(from._data, from._used);
        _starts = Copy(from._starts, from.Count);
        _used = from._used;
        Count = from.Count;
        Live = from.Live;
        Deleted = from.Deleted;
        Body = from.Body;
    }

    public StreamId Master { get; }
    public byte[][] MasterFields => _fields ?? [];

    /// <summary>The bytes its entries take in its buffer.</summary>
    public int UsedBytes => _used;

    /// <summary>Entries, live and deleted.</summary>
    public int Count { get; private set; }
    public int Live { get; set; }
    public int Deleted { get; set; }

    /// <summary>Bytes of every element but the two counts (whose size changes with their values).</summary>
    public long Body { get; private set; }

    public long Bytes => ListpackSize.Overhead + Body + ListpackSize.Integer(Live) + ListpackSize.Integer(Deleted);

    public StreamEntry this[int i] => new(this, i);

    public StreamEntry Last => new(this, Count - 1);

    public StreamId IdAt(int i)
    {
        var at = _data.AsSpan(_starts[i]);
        return new StreamId(BinaryPrimitives.ReadUInt64LittleEndian(at), BinaryPrimitives.ReadUInt64LittleEndian(at[8..]));
    }

    public bool DeletedAt(int i) => _data[_starts[i] + 16] != 0;

    public void MarkDeleted(int i) => _data[_starts[i] + 16] = 1;

    public ReadOnlySpan<byte> ItemsAt(int i)
    {
        int start = _starts[i] + HeaderBytes, end = i + 1 < Count ? _starts[i + 1] : _used;
        return _data.AsSpan(start, end - start);
    }

    /// <summary>An independent copy (COPY): entries, tombstones and counts as they are.</summary>
    public StreamNode Clone() => new(this);

    /// <summary>
    /// Gives back the room left at the end of the buffers when it is over a quarter of what they hold (a node
    /// that will take no more entries; nodes are sized with an eighth to spare).
    /// </summary>
    public void Shrink()
    {
        if (_data.Length - _used > _used / 4) _data = Copy(_data, _used);
        if (_starts.Length - Count > Count / 4) _starts = Copy(_starts, Count);
    }

    /// <summary>
    /// Buffers live as long as their node, so they go on the pinned object heap: the GC collects it with
    /// generation 2 and never copies it, where an ordinary array is copied by both collections that promote
    /// it (as <c>CommandArgs.Keep</c> does for kept values). 1,000,000 XADDs through redis-cli --pipe (native
    /// build): 106–124 ms of GC pauses, 1.9–2.0 s, with ordinary arrays; 6 ms, 1.65 s, pinned. A load runs without collections and ends with one that does not
    /// compact (<c>BulkLoadMemory</c>), and the pinned heap's slower allocation made it ~10% slower, so the
    /// nodes a load makes are not pinned. Past the bytes in use the buffers are never read, so they are not
    /// cleared.
    /// </summary>
    private byte[] ByteBuffer(int length) => length == 0 ? [] : GC.AllocateUninitializedArray<byte>(length, _pinned);

    private int[] IntBuffer(int length) => length == 0 ? [] : GC.AllocateUninitializedArray<int>(length, _pinned);

    private T[] Copy<T>(T[] from, int length) where T : unmanaged
    {
        var to = length == 0 ? [] : GC.AllocateUninitializedArray<T>(length, _pinned);
        from.AsSpan(0, length).CopyTo(to);
        return to;
    }

    /// <summary>XADD's entry: the arguments from <paramref name="first"/> on as its fields and values.</summary>
    public void Add(StreamId id, in Protocol.CommandArgs args, int first)
    {
        int count = args.Count - first, bytes = 4 + 4 * count;
        for (int i = first; i < args.Count; i++) bytes += args[i].Length;
        var items = Put(id, deleted: false, bytes);
        BinaryPrimitives.WriteInt32LittleEndian(items, count);
        int at = 4;
        for (int i = first; i < args.Count; i++)
        {
            var item = args[i];
            BinaryPrimitives.WriteInt32LittleEndian(items[at..], item.Length);
            item.CopyTo(items[(at + 4)..]);
            at += 4 + item.Length;
        }
        Account(Count - 1);
    }

    /// <summary>An entry of items laid out as <see cref="StreamEntry.Items"/> lays them out (checked by the caller).</summary>
    public void Add(StreamId id, ReadOnlySpan<byte> items, bool deleted)
    {
        items.CopyTo(Put(id, deleted, items.Length));
        Account(Count - 1);
    }

    /// <summary>An entry of a node whose size was stored with it (an older durable layout): counted, its bytes not added.</summary>
    public void AddUnaccounted(StreamId id, ReadOnlySpan<byte> items, bool deleted)
    {
        items.CopyTo(Put(id, deleted, items.Length));
        if (deleted) Deleted++;
        else Live++;
    }

    private Span<byte> Put(StreamId id, bool deleted, int itemBytes)
    {
        int need = HeaderBytes + itemBytes;
        if (_data.Length - _used < need)
        {
            var bigger = ByteBuffer((int)Math.Min(Array.MaxLength, Math.Max(Math.Max(256L, 2L * _data.Length), (long)_used + need)));
            _data.AsSpan(0, _used).CopyTo(bigger);
            _data = bigger;
        }
        if (Count == _starts.Length)
        {
            var more = IntBuffer(Math.Max(8, 2 * Count));
            _starts.AsSpan(0, Count).CopyTo(more);
            _starts = more;
        }
        var at = _data.AsSpan(_used, need);
        BinaryPrimitives.WriteUInt64LittleEndian(at, id.Ms);
        BinaryPrimitives.WriteUInt64LittleEndian(at[8..], id.Seq);
        at[16] = deleted ? (byte)1 : (byte)0;
        _starts[Count++] = _used;
        _used += need;
        return at[HeaderBytes..];
    }

    /// <summary>
    /// As streamAppendItem's writes into the listpack: entry <paramref name="i"/>'s bytes added to
    /// <see cref="Body"/> (fields left out when they are the master entry's; the first entry's fields become
    /// the master's). A node's bytes follow from its master and its entries, tombstones included, so a stored
    /// stream keeps only where each node starts.
    /// </summary>
    private void Account(int i)
    {
        var pairs = new StreamItems(ItemsAt(i));
        if (_fields is null) StartFields(pairs);
        var id = IdAt(i);
        bool same = HasMasterFields(pairs);
        long size = ListpackSize.Integer(same ? 2 : 0)
            + ListpackSize.Integer(unchecked((long)(id.Ms - Master.Ms)))
            + ListpackSize.Integer(unchecked((long)(id.Seq - Master.Seq)));
        int n = pairs.Length / 2;
        if (!same) size += ListpackSize.Integer(n);
        int k = 0;
        foreach (var item in pairs)
        {
            if (!same || k++ % 2 == 1) size += ListpackSize.String(item); // (fields only when they are not the master's)
        }
        size += ListpackSize.Integer(same ? n + 3 : 2 * n + 4);
        Body += size;
        if (DeletedAt(i)) Deleted++;
        else Live++;
    }

    private void StartFields(StreamItems pairs)
    {
        var fields = new byte[pairs.Length / 2][];
        int i = 0;
        foreach (var item in pairs)
        {
            if (i % 2 == 0) fields[i / 2] = item.ToArray();
            i++;
        }
        _fields = fields;
        Body = ListpackSize.Integer(fields.Length) + ListpackSize.Integer(0);
        foreach (var f in fields) Body += ListpackSize.String(f);
    }

    public bool HasMasterFields(StreamItems pairs)
    {
        var fields = MasterFields;
        if (pairs.Length / 2 != fields.Length) return false;
        int i = 0;
        foreach (var item in pairs)
        {
            if (i % 2 == 0 && !item.SequenceEqual(fields[i / 2])) return false;
            i++;
        }
        return true;
    }

    /// <summary>The index of the first entry with an ID at least <paramref name="id"/> (<see cref="Count"/> when none).</summary>
    public int LowerBound(StreamId id)
    {
        int lo = 0, hi = Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (IdAt(mid) < id) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }
}
