using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using KeyspacePubSub.Engine.Keyspace;
using SQLitePCL;

namespace KeyspacePubSub.Persistence;

/// <summary>
/// The bulk of a restart: every list row, read once in sequence order and laid out by position.
/// Rows are kept in fixed-size chunks while the table is read (on two threads, see Read; no array grows and
/// copies), with each list's lowest and highest position and row count; then each list gets one slot per
/// position and every row goes straight to its slot (no sort). The slot arrays become the lists' own storage (ListValue.Adopt). Rows are
/// contiguous by construction; a gap makes the list renumbered on its next write, and of two rows at one
/// position the later wins (the other is deleted). A list whose rows are far apart (more than twice as many
/// positions as rows) is sorted instead of slotted.
/// Everything here runs once, at start: compiled fully optimised at once rather than through the quick tier.
/// </summary>
internal static class ListLoader
{
    private const int ChunkRows = 1 << 16;

    private struct Row
    {
        public int List; // index into the loader's lists (rows of keys that are gone are never kept)
        public long Pos, Seq;
        public byte[] Value;
    }

    private struct Stored
    {
        public ListValue Value;
        public long Low, High;
        public int Rows;
        public byte[]?[]? Values; // by position from Low, then the list's own storage (ListValue.Adopt)
        public long[]? Seqs; // each element's row
        public List<(long Pos, long Seq, byte[] Value)>? Sparse;
        public long HintLow; // with Values made before the read (a bounds hint): the position of Values[0]
        public int HintPositions;
    }

    /// <summary>
    /// Loads the rows of <paramref name="lists"/> (by key id); rows of other keys join <paramref name="orphans"/>.
    /// Returns the elements placed, the next free sequence number in <paramref name="nextSeq"/>, how many
    /// connections read the rows in <paramref name="readers"/>, and how many lists were placed by their
    /// <paramref name="bounds"/> (see <see cref="Hint"/>) in <paramref name="bounded"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static long Load(sqlite3 db, string? secondReader, long mapBytes, Dictionary<long, ListValue> lists, IReadOnlyDictionary<long, ListBounds> bounds,
        List<long> orphans, ref long nextSeq, out int readers, out int bounded)
    {
        var index = new Dictionary<long, int>(lists.Count);
        var stored = new Stored[lists.Count];
        foreach (var (kid, list) in lists)
        {
            stored[index.Count] = new Stored { Value = list, Low = long.MaxValue, High = long.MinValue };
            index.Add(kid, index.Count);
        }
        var range = SeqRange(db);
        Hint(index, stored, bounds, range is var (lowSeq, highSeq) ? highSeq - lowSeq + 1 : 0);
        var chunks = Read(db, secondReader, mapBytes, range, index, stored, orphans, ref nextSeq, out int lastChunkRows, out var spilled, out readers);

        for (int i = 0; i < stored.Length; i++)
        {
            ref var s = ref stored[i];
            if (s.Rows == 0 || s.Values != null) continue;
            if (s.High - s.Low + 1 > 2L * s.Rows + 16) s.Sparse = new(s.Rows);
            else
            {
                (s.Values, s.Seqs) = Storage((int)(s.High - s.Low + 1));
                s.HintLow = s.Low;
            }
        }
        foreach (var row in spilled) Unhint(ref stored[row.List]); // rows outside a list's hint: that list is sorted
        for (int c = 0; c < chunks.Count; c++)
        {
            var chunk = chunks[c];
            int n = c == chunks.Count - 1 ? lastChunkRows : chunk.Length;
            for (int r = 0; r < n; r++)
            {
                ref var row = ref chunk[r];
                ref var s = ref stored[row.List];
                if (s.Sparse is { } sparse)
                {
                    sparse.Add((row.Pos, row.Seq, row.Value));
                    continue;
                }
                PutInSlot(ref s, row.Pos - s.Low, row.Seq, row.Value, orphans);
            }
            chunks[c] = null!; // its values are in the lists' arrays now
        }

        foreach (var row in spilled) stored[row.List].Sparse!.Add((row.Pos, row.Seq, row.Value));

        long entries = 0;
        bounded = 0;
        for (int i = 0; i < stored.Length; i++)
        {
            ref var s = ref stored[i];
            if (s.HintPositions > 0 && s.Sparse is null) bounded++;
            if (s.Rows == 0) continue;
            if (s.Sparse is { } sparse) entries += PlaceSparse(s.Value, sparse, orphans);
            else if (s.Values is { } values) entries += Place(s.Value, values, s.Seqs!, (int)(s.Low - s.HintLow), (int)(s.High - s.Low + 1), s.Low, contiguous: true);
        }
        return entries;
    }

    /// <summary>
    /// Lists whose bounds were stored at the last clean stop (<see cref="ListBounds"/>) get their storage
    /// before the read, and the element maker puts each row straight into its slot: no chunk of rows and no
    /// pass over them afterwards. A bound that claims more than twice as many positions as the table has rows
    /// (not written by this server, or damaged) is ignored, and so are all of them when together they claim that
    /// (the limit of a list placed by position rather than sorted, see Load).
    /// Bounds are a hint: a row outside them makes its list sorted as a sparse one is (<see cref="Unhint"/>), and
    /// positions inside them without a row are closed up as any gap is.
    /// </summary>
    private static void Hint(Dictionary<long, int> index, Stored[] stored, IReadOnlyDictionary<long, ListBounds> bounds, long tableRows)
    {
        var usable = new List<(int List, ListBounds Bounds)>(bounds.Count);
        long claimed = 0;
        foreach (var (kid, b) in bounds)
        {
            // (a key that expired while the server was down is not loaded: its bounds are not used)
            if (!index.TryGetValue(kid, out int list) || b.High < b.Low || b.High - b.Low + 1 > 2 * tableRows + 16) continue;
            usable.Add((list, b));
            claimed += b.High - b.Low + 1;
        }
        if (claimed > 2 * tableRows + 16L * usable.Count) return;
        foreach (var (list, b) in usable)
        {
            ref var s = ref stored[list];
            s.HintLow = b.Low;
            s.HintPositions = (int)(b.High - b.Low + 1);
            (s.Values, s.Seqs) = Storage(s.HintPositions);
        }
    }

    /// <summary>A hinted list with rows outside its bounds: its placed rows join the rows to sort (the bound was wrong).</summary>
    private static void Unhint(ref Stored s)
    {
        if (s.Sparse != null) return;
        s.Sparse = new(s.Rows);
        for (int at = 0; at < s.HintPositions; at++)
        {
            if (s.Values![at] is { } value) s.Sparse.Add((s.HintLow + at, s.Seqs![at], value));
        }
        s.Values = null;
        s.Seqs = null;
    }

    /// <summary>
    /// Reads every row into chunks (the last one holding <paramref name="lastChunkRows"/>), on up to three threads:
    /// this one steps SQLite and copies each row's bytes into a batch (reused, so its memory is warm); a second
    /// one makes each element's array and fills the chunks. Making 1,000,000 arrays in new memory (the
    /// kernel's page faults and the GC's clearing) was 44% of a load on one thread (perf, native build), and
    /// still the slower half: the stepping thread waited ~90 ms of ~390 for it. So when the second thread is
    /// behind (the queue of batches nearly full) the stepping thread makes the arrays of its next batch itself;
    /// each then waits ~40 ms, and the load of 1,000,000 rows took 473–478 ms instead of 488–518 (medians of
    /// three alternating runs of 8–10 restarts).
    /// Stepping SQLite (its VDBE, a third of a load's CPU) then was the longest part. With
    /// <paramref name="secondReader"/> (a read-only connection string to the same file, see
    /// <see cref="SqliteStore"/>) a large table is read as two halves of its sequence numbers, the upper half on
    /// a third thread through that connection; rows are laid out by position, so the order in which the two
    /// halves arrive does not matter. Each half counts its lists' positions and its orphans apart; they are
    /// added up afterwards.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static List<Row[]> Read(sqlite3 db, string? secondReader, long mapBytes, (long Low, long High)? range, Dictionary<long, int> index, Stored[] stored, List<long> orphans,
        ref long nextSeq, out int lastChunkRows, out List<Row> spilled, out int readers)
    {
        readers = 1;
        using var full = new System.Collections.Concurrent.BlockingCollection<Batch>(BatchesInFlight);
        var free = new System.Collections.Concurrent.ConcurrentQueue<Batch>();
        using var failed = new CancellationTokenSource();
        var maker = new ElementMaker(full, free, failed, stored);
        var thread = new Thread(maker.Run) { IsBackground = true, Name = "kps-load" };
        thread.Start();
        UpperHalf? upper = null;
        try
        {
            long split = long.MaxValue;
            if (secondReader != null && range is var (low, high) && high - low >= ParallelRows)
            {
                split = low + (high - low) / 2;
                upper = new UpperHalf(secondReader, mapBytes, split, index, stored, full, free, failed.Token);
            }
            try
            {
                Step(db, long.MinValue, upper is null ? long.MaxValue : split - 1, index, stored, orphans, ref nextSeq, full, free, failed.Token);
            }
            finally
            {
                upper?.Join();
            }
            if (upper != null)
            {
                if (upper.Failure is OperationCanceledException) throw upper.Failure; // the maker failed
                // Without its own connection (it could not open one), this thread reads that half too.
                if (upper.Failure != null && !upper.Opened) Step(db, split, long.MaxValue, index, stored, orphans, ref nextSeq, full, free, failed.Token);
                else if (upper.Failure != null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(upper.Failure);
                else
                {
                    upper.AddTo(stored, orphans, ref nextSeq);
                    readers = 2;
                }
            }
        }
        catch (OperationCanceledException) when (maker.Failure != null)
        {
            // the maker failed (out of memory, say): its exception is thrown below
        }
        finally
        {
            full.CompleteAdding();
            thread.Join();
        }
        if (maker.Failure != null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(maker.Failure);
        lastChunkRows = maker.LastChunkRows;
        spilled = maker.Spilled;
        orphans.AddRange(maker.Orphans);
        return maker.Chunks;
    }

    /// <summary>Below this many sequence numbers one thread steps the whole table (a second connection costs its opening).</summary>
    private const long ParallelRows = 100_000;

    /// <summary>The lowest and highest sequence number (two subqueries: each reads one end of the b-tree; min and max in one query scan the table).</summary>
    private static (long Low, long High)? SeqRange(sqlite3 db)
    {
        using var statement = RawStatement.PrepareAll(db, "SELECT (SELECT min(seq) FROM list_items), (SELECT max(seq) FROM list_items)")[0];
        IntPtr stmt = statement.Handle.DangerousGetHandle();
        int rc = SqliteNative.sqlite3_step(stmt);
        (long, long)? range = rc == raw.SQLITE_ROW && raw.sqlite3_column_type(statement.Handle, 0) != raw.SQLITE_NULL
            ? (SqliteNative.sqlite3_column_int64(stmt, 0), SqliteNative.sqlite3_column_int64(stmt, 1))
            : null;
        statement.Reset(rc == raw.SQLITE_ROW ? raw.SQLITE_DONE : rc);
        return range;
    }

    /// <summary>
    /// The upper half of the sequence numbers, stepped on a thread of its own through a second, read-only
    /// connection, with its own position counts, orphans and highest sequence number.
    /// </summary>
    private sealed class UpperHalf
    {
        private readonly Thread _thread;
        private readonly Stored[] _stored;
        private readonly List<long> _orphans = [];
        private long _nextSeq;

        public UpperHalf(string connection, long mapBytes, long from, Dictionary<long, int> index, Stored[] stored,
            System.Collections.Concurrent.BlockingCollection<Batch> full, System.Collections.Concurrent.ConcurrentQueue<Batch> free, CancellationToken failed)
        {
            _stored = new Stored[stored.Length];
            for (int i = 0; i < stored.Length; i++) _stored[i] = new Stored { Low = long.MaxValue, High = long.MinValue };
            _thread = new Thread(() =>
            {
                try
                {
                    using var db = new Microsoft.Data.Sqlite.SqliteConnection(connection);
                    db.Open();
                    using (var mmap = db.CreateCommand())
                    {
                        mmap.CommandText = $"PRAGMA mmap_size = {mapBytes}"; // as the first connection's (SqliteStore.ReadAll)
                        mmap.ExecuteNonQuery();
                    }
                    Opened = true;
                    Step(db.Handle!, from, long.MaxValue, index, _stored, _orphans, ref _nextSeq, full, free, failed);
                }
                catch (Exception ex)
                {
                    Failure = ex;
                }
            }) { IsBackground = true, Name = "kps-load-2" };
            _thread.Start();
        }

        public bool Opened { get; private set; }
        public Exception? Failure { get; private set; }

        public void Join() => _thread.Join();

        public void AddTo(Stored[] stored, List<long> orphans, ref long nextSeq)
        {
            for (int i = 0; i < stored.Length; i++)
            {
                ref var s = ref stored[i];
                ref var mine = ref _stored[i];
                s.Rows += mine.Rows;
                s.Low = Math.Min(s.Low, mine.Low);
                s.High = Math.Max(s.High, mine.High);
            }
            orphans.AddRange(_orphans);
            nextSeq = Math.Max(nextSeq, _nextSeq);
        }
    }

    private const int BatchRows = 8192, BatchBytes = 1 << 20, BatchesInFlight = 4;

    /// <summary>
    /// Rows as read: each value's bytes at <see cref="RawRow.Offset"/> in the batch's buffer, or, in a batch
    /// made while the second thread was behind (<see cref="Made"/>), the element's array itself.
    /// </summary>
    private sealed class Batch
    {
        public readonly RawRow[] Rows = new RawRow[BatchRows];
        public byte[] Bytes = new byte[BatchBytes];
        public int Count, Used;
        public bool Made;
    }

    private struct RawRow
    {
        public int List, Offset, Length;
        public long Pos, Seq;
        public byte[]? Value;
    }

    /// <summary>Steps through the table, batching the rows of loaded lists and counting each list's positions.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Step(sqlite3 db, long from, long to, Dictionary<long, int> index, Stored[] stored, List<long> orphans, ref long nextSeq,
        System.Collections.Concurrent.BlockingCollection<Batch> full, System.Collections.Concurrent.ConcurrentQueue<Batch> free, CancellationToken failed)
    {
        using var statement = RawStatement.PrepareAll(db, "SELECT seq, kid, pos, value FROM list_items WHERE seq >= $lo AND seq <= $hi")[0];
        IntPtr stmt = statement.Handle.DangerousGetHandle();
        SqliteNative.sqlite3_bind_int64(stmt, raw.sqlite3_bind_parameter_index(statement.Handle, "$lo"), from);
        SqliteNative.sqlite3_bind_int64(stmt, raw.sqlite3_bind_parameter_index(statement.Handle, "$hi"), to);
        long lastKid = long.MinValue;
        int list = -1;
        int rc;
        var batch = new Batch();
        while ((rc = SqliteNative.sqlite3_step(stmt)) == raw.SQLITE_ROW)
        {
            long seq = SqliteNative.sqlite3_column_int64(stmt, 0), kid = SqliteNative.sqlite3_column_int64(stmt, 1);
            if (seq >= nextSeq) nextSeq = seq + 1;
            if (kid != lastKid)
            {
                lastKid = kid;
                if (!index.TryGetValue(kid, out list)) list = -1;
            }
            if (list < 0)
            {
                orphans.Add(seq);
                continue;
            }
            long pos = SqliteNative.sqlite3_column_int64(stmt, 2);
            byte* p = SqliteNative.sqlite3_column_blob(stmt, 3); // before the length: the value is a blob already, nothing converts
            int length = SqliteNative.sqlite3_column_bytes(stmt, 3);
            if (batch.Count == BatchRows || batch.Used + length > batch.Bytes.Length)
            {
                if (batch.Count > 0)
                {
                    full.Add(batch, failed);
                    if (!free.TryDequeue(out batch!)) batch = new Batch();
                    // The second thread is behind (making arrays in new memory is the slower half): rather than
                    // wait for it, this thread makes the next batch's arrays itself.
                    batch.Made = full.Count >= BatchesInFlight - 1;
                }
                if (length > batch.Bytes.Length) batch.Bytes = new byte[length]; // one value larger than a batch
            }
            var source = new ReadOnlySpan<byte>(p, length);
            if (batch.Made)
            {
                byte[] value = length == 0 ? [] : GC.AllocateUninitializedArray<byte>(length);
                source.CopyTo(value);
                batch.Rows[batch.Count++] = new RawRow { List = list, Length = length, Pos = pos, Seq = seq, Value = value };
            }
            else
            {
                source.CopyTo(batch.Bytes.AsSpan(batch.Used));
                batch.Rows[batch.Count++] = new RawRow { List = list, Offset = batch.Used, Length = length, Pos = pos, Seq = seq };
                batch.Used += length;
            }
            ref var s = ref stored[list];
            s.Rows++;
            if (pos < s.Low) s.Low = pos;
            if (pos > s.High) s.High = pos;
        }
        statement.Reset(rc); // throws what a failed step reported (a corrupt page, say)
        if (batch.Count > 0) full.Add(batch, failed);
    }

    /// <summary>
    /// The second thread of a load: makes each row's element array and puts the row in its slot (a list with
    /// storage made from its bounds), or lays it out in chunks (placed once every row is read). It alone writes
    /// the slots.
    /// </summary>
    private sealed class ElementMaker(System.Collections.Concurrent.BlockingCollection<Batch> full, System.Collections.Concurrent.ConcurrentQueue<Batch> free, CancellationTokenSource failed,
        Stored[] stored)
    {
        public List<Row[]> Chunks { get; } = [];
        public List<long> Orphans { get; } = []; // the later of two rows at one slot
        public List<Row> Spilled { get; } = []; // rows outside their list's bounds
        public int LastChunkRows { get; private set; }
        public Exception? Failure { get; private set; }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run()
        {
            try
            {
                Row[] chunk = [];
                int used = 0;
                foreach (var batch in full.GetConsumingEnumerable())
                {
                    for (int i = 0; i < batch.Count; i++)
                    {
                        ref var raw = ref batch.Rows[i];
                        byte[]? value = raw.Value;
                        if (value is null)
                        {
                            value = raw.Length == 0 ? [] : GC.AllocateUninitializedArray<byte>(raw.Length);
                            batch.Bytes.AsSpan(raw.Offset, raw.Length).CopyTo(value);
                        }
                        else
                        {
                            raw.Value = null; // the batch is reused
                        }
                        ref var s = ref stored[raw.List];
                        if (s.HintPositions > 0)
                        {
                            long at = raw.Pos - s.HintLow;
                            if ((ulong)at >= (ulong)s.HintPositions) Spilled.Add(new Row { List = raw.List, Pos = raw.Pos, Seq = raw.Seq, Value = value });
                            else PutInSlot(ref s, at, raw.Seq, value, Orphans);
                            continue;
                        }
                        if (used == chunk.Length)
                        {
                            chunk = new Row[ChunkRows];
                            Chunks.Add(chunk);
                            used = 0;
                        }
                        chunk[used++] = new Row { List = raw.List, Pos = raw.Pos, Seq = raw.Seq, Value = value };
                    }
                    batch.Count = batch.Used = 0;
                    free.Enqueue(batch);
                }
                LastChunkRows = used;
            }
            catch (Exception ex)
            {
                Failure = ex;
                failed.Cancel(); // the stepping thread stops waiting to hand over a batch
            }
        }
    }

    /// <summary>Puts a row in its slot; of two rows at one position the later one wins, the other is deleted.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PutInSlot(ref Stored s, long at, long seq, byte[] value, List<long> orphans)
    {
        ref byte[]? slot = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(s.Values!), (nint)at); // (no covariance check per store)
        ref long slotSeq = ref s.Seqs![at];
        if (slot != null)
        {
            if (slotSeq > seq)
            {
                orphans.Add(seq);
                return;
            }
            orphans.Add(slotSeq);
        }
        slot = value;
        slotSeq = seq;
    }

    /// <summary>A list's element and row arrays for <paramref name="positions"/> positions (a power-of-two length, as a list's storage).</summary>
    private static (byte[]?[] Values, long[] Seqs) Storage(int positions)
    {
        int length = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(4, positions));
        return (new byte[length][], new long[length]);
    }

    /// <summary>A list whose rows are far apart: sorted by position, the later of two rows at one position winning.</summary>
    private static int PlaceSparse(ListValue list, List<(long Pos, long Seq, byte[] Value)> items, List<long> orphans)
    {
        items.Sort(static (a, b) => a.Pos != b.Pos ? a.Pos.CompareTo(b.Pos) : a.Seq.CompareTo(b.Seq));
        var (values, seqs) = Storage(items.Count);
        int n = 0;
        for (int i = 0; i < items.Count; i++)
        {
            if (i + 1 < items.Count && items[i + 1].Pos == items[i].Pos)
            {
                orphans.Add(items[i].Seq);
                continue;
            }
            values[n] = items[i].Value;
            seqs[n++] = items[i].Seq;
        }
        return Place(list, values, seqs, 0, n, items[0].Pos, contiguous: false);
    }

    /// <summary>
    /// Gives the list its elements: <paramref name="positions"/> entries of the arrays from <paramref name="from"/>,
    /// in position order, moved to the front with empty positions closed up in place; a gap makes the list
    /// renumbered on its next write.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Place(ListValue list, byte[]?[] values, long[] seqs, int from, int positions, long low, bool contiguous)
    {
        int n = 0;
        for (int i = from; i < from + positions; i++)
        {
            if (values[i] is null) continue;
            if (n != i)
            {
                values[n] = values[i];
                seqs[n] = seqs[i];
                values[i] = null;
            }
            n++;
        }
        var changes = new ListChanges();
        list.PlaceAt(low);
        list.Adopt(values!, n);
        changes.Seqs.Adopt(seqs, n);
        changes.Renumbered = !contiguous || n < positions; // a gap
        changes.StoredLow = low;
        list.Durability = changes; // after the adoption, which would otherwise count as changes
        return list.Count;
    }
}

/// <summary>A durable list's lowest and highest stored position, as written at a clean stop (a hint for the next load).</summary>
public readonly record struct ListBounds(long Low, long High);
