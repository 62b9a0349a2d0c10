namespace KeyspacePubSub.Engine.Streams;

/// <summary>
/// What Redis keeps in one listpack of a stream's radix tree (t_stream.c): entries from a master ID on, the
/// master entry's fields (which later entries with the same fields do not repeat), the live and deleted counts,
/// and the listpack's size in bytes, so nodes fill and trims cut exactly where Redis's do.
/// <para>
/// The entries themselves lie end to end in one buffer, much as a listpack holds them: each is a flags byte
/// (deleted; fields the master's), its ID as zigzag varint deltas from the master ID, then, unless its fields
/// are the master's, its item count, and each item it stores (only the values when its fields are the
/// master's) as a varint length and the bytes. An array holds where each entry starts. A node is a few objects
/// whatever its entries; with an object and an array per entry, a stream of 1,000,000 entries was two million
/// objects for the GC to mark. Entries are only ever appended and flagged deleted, so an entry's index in its
/// node stays its own (<see cref="StreamEntry"/> is a node and an index).
/// </para>
/// </summary>
internal sealed class StreamNode
{
    private const byte DeletedFlag = 1, SameFieldsFlag = 2;

    /// <summary>The most bytes an entry's flags and ID take: a byte and two 10-byte varints.</summary>
    private const int MaxHeaderBytes = 21;

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

    /// <summary>
    /// What the node holds in memory for MEMORY USAGE: itself, its entries' bytes and start offsets, its master
    /// fields. Left out: the buffers' room to spare, which depends on how the node was made (XADD or a load), so
    /// a stream reports the same before and after a restart.
    /// </summary>
    public long MemoryBytes
    {
        get
        {
            long bytes = 80 + 24 + _used + 24 + 4L * Count;
            if (_fields != null) bytes += 24 + 8L * _fields.Length + _fields.Sum(f => 24L + f.Length);
            return bytes;
        }
    }

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
        int at = _starts[i] + 1;
        long ms = Varint.Unzig(Varint.Read(_data, ref at)), seq = Varint.Unzig(Varint.Read(_data, ref at));
        return new StreamId(unchecked(Master.Ms + (ulong)ms), unchecked(Master.Seq + (ulong)seq));
    }

    public bool DeletedAt(int i) => (_data[_starts[i]] & DeletedFlag) != 0;

    public void MarkDeleted(int i) => _data[_starts[i]] |= DeletedFlag;

    /// <summary>Whether entry <paramref name="i"/> has the master entry's fields (and stores only its values).</summary>
    public bool SameFieldsAt(int i) => (_data[_starts[i]] & SameFieldsFlag) != 0;

    /// <summary>Entry <paramref name="i"/>'s fields and values, read in place.</summary>
    public StreamItems PairsAt(int i)
    {
        int at = _starts[i], end = i + 1 < Count ? _starts[i + 1] : _used;
        byte flags = _data[at++];
        Varint.Skip(_data, ref at);
        Varint.Skip(_data, ref at);
        if ((flags & SameFieldsFlag) != 0) return new StreamItems(_data.AsSpan(at, end - at), _fields, 2 * _fields!.Length);
        int count = (int)Varint.Read(_data, ref at);
        return new StreamItems(_data.AsSpan(at, end - at), null, count);
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

    /// <summary>
    /// The most bytes an entry of <paramref name="count"/> items, <paramref name="itemBytes"/> bytes in all, can
    /// take in a buffer (its fields stored, the longest ID deltas): the same whether XADD's arguments or a
    /// durable row give the items, so a load closes full buffers where XADD did.
    /// </summary>
    public static long EntryBound(int count, long itemBytes) => MaxHeaderBytes + 5 + 5L * count + itemBytes;

    /// <summary>
    /// XADD's entry: the arguments from <paramref name="first"/> on as its fields and values. The same steps as
    /// <see cref="Put(StreamId, StreamRowItems, bool)"/> for row items, kept apart on purpose: one reader over
    /// both sources (a ref struct enumerating either) cost XADD ~8% more server CPU in a 1,000,000-entry mass
    /// insertion (0.77–0.84 s against 0.72–0.75 s, native build, alternating runs).
    /// </summary>
    public void Add(StreamId id, in Protocol.CommandArgs args, int first)
    {
        int count = args.Count - first;
        if (_fields is null)
        {
            var fields = new byte[count / 2][];
            for (int k = 0; k < fields.Length; k++) fields[k] = args[first + 2 * k].ToArray();
            StartFields(fields);
        }
        bool same = count == 2 * _fields!.Length;
        for (int k = 0; same && k < _fields.Length; k++) same = args[first + 2 * k].SequenceEqual(_fields[k]);
        int step = same ? 2 : 1, bytes = same ? 0 : Varint.Size((uint)count);
        for (int i = first + step - 1; i < args.Count; i += step) bytes += Varint.Size((uint)args[i].Length) + args[i].Length;
        var body = Put(id, same ? SameFieldsFlag : (byte)0, bytes);
        int at = same ? 0 : Varint.Write(body, (uint)count);
        for (int i = first + step - 1; i < args.Count; i += step)
        {
            var item = args[i];
            at += Varint.Write(body[at..], (uint)item.Length);
            item.CopyTo(body[at..]);
            at += item.Length;
        }
        Account(Count - 1);
    }

    /// <summary>An entry of items laid out as a durable row lays them out (<see cref="StreamRowItems"/>; checked by the caller).</summary>
    public void Add(StreamId id, ReadOnlySpan<byte> rowItems, bool deleted)
    {
        Put(id, new StreamRowItems(rowItems), deleted);
        Account(Count - 1);
    }

    /// <summary>An entry of a node whose size was stored with it (an older durable layout): counted, its bytes not added.</summary>
    public void AddUnaccounted(StreamId id, ReadOnlySpan<byte> rowItems, bool deleted)
    {
        Put(id, new StreamRowItems(rowItems), deleted);
        if (deleted) Deleted++;
        else Live++;
    }

    private void Put(StreamId id, StreamRowItems items, bool deleted)
    {
        int count = items.Length;
        if (_fields is null) StartFields(FieldsOf(items));
        bool same = count == 2 * _fields!.Length;
        int k = 0;
        foreach (var item in items)
        {
            if (!same) break;
            if (k % 2 == 0) same = item.SequenceEqual(_fields[k / 2]);
            k++;
        }
        int bytes = same ? 0 : Varint.Size((uint)count);
        k = 0;
        foreach (var item in items)
        {
            if (!same || k++ % 2 == 1) bytes += Varint.Size((uint)item.Length) + item.Length;
        }
        var body = Put(id, (byte)((same ? SameFieldsFlag : 0) | (deleted ? DeletedFlag : 0)), bytes);
        int at = same ? 0 : Varint.Write(body, (uint)count);
        k = 0;
        foreach (var item in items)
        {
            if (same && k++ % 2 == 0) continue;
            at += Varint.Write(body[at..], (uint)item.Length);
            item.CopyTo(body[at..]);
            at += item.Length;
        }
    }

    private static byte[][] FieldsOf(StreamRowItems items)
    {
        var fields = new byte[items.Length / 2][];
        int k = 0;
        foreach (var item in items)
        {
            if (k / 2 == fields.Length) break;
            if (k % 2 == 0) fields[k / 2] = item.ToArray();
            k++;
        }
        return fields;
    }

    /// <summary>An entry's flags and ID, appended: the span for its <paramref name="bodyBytes"/> bytes of items.</summary>
    private Span<byte> Put(StreamId id, byte flags, int bodyBytes)
    {
        ulong ms = Varint.Zig(unchecked((long)(id.Ms - Master.Ms))), seq = Varint.Zig(unchecked((long)(id.Seq - Master.Seq)));
        int need = 1 + Varint.Size(ms) + Varint.Size(seq) + bodyBytes;
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
        at[0] = flags;
        int n = 1 + Varint.Write(at[1..], ms);
        n += Varint.Write(at[n..], seq);
        _starts[Count++] = _used;
        _used += need;
        return at[n..];
    }

    /// <summary>
    /// As streamAppendItem's writes into the listpack: entry <paramref name="i"/>'s bytes added to
    /// <see cref="Body"/> (fields left out when they are the master entry's; the first entry's fields became
    /// the master's). A node's bytes follow from its master and its entries, tombstones included, so a stored
    /// stream keeps only where each node starts.
    /// </summary>
    private void Account(int i)
    {
        var pairs = PairsAt(i);
        var id = IdAt(i);
        bool same = SameFieldsAt(i);
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

    private void StartFields(byte[][] fields)
    {
        _fields = fields;
        Body = ListpackSize.Integer(fields.Length) + ListpackSize.Integer(0);
        foreach (var f in fields) Body += ListpackSize.String(f);
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
