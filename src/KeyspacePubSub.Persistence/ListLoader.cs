using System.Runtime.CompilerServices;
using KeyspacePubSub.Engine.Keyspace;
using SQLitePCL;

namespace KeyspacePubSub.Persistence;

/// <summary>
/// The bulk of a restart: every list row, read once in sequence order and laid out by position.
/// Rows are kept in fixed-size chunks while the table is read (no array grows and copies), with each list's
/// lowest and highest position and row count; then each list gets one slot per position and every row goes
/// straight to its slot (no sort). The slot arrays become the lists' own storage (ListValue.Adopt). Rows are
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
        public int List; // index into the loader's lists; -1 for a row of a key that is gone
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
    }

    /// <summary>
    /// Loads the rows of <paramref name="lists"/> (by key id); rows of other keys join <paramref name="orphans"/>.
    /// Returns the elements placed, and the next free sequence number in <paramref name="nextSeq"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static long Load(sqlite3 db, Dictionary<long, ListValue> lists, List<long> orphans, ref long nextSeq)
    {
        var index = new Dictionary<long, int>(lists.Count);
        var stored = new Stored[lists.Count];
        foreach (var (kid, list) in lists)
        {
            stored[index.Count] = new Stored { Value = list, Low = long.MaxValue, High = long.MinValue };
            index.Add(kid, index.Count);
        }
        var chunks = Read(db, index, stored, orphans, ref nextSeq, out int lastChunkRows);

        for (int i = 0; i < stored.Length; i++)
        {
            ref var s = ref stored[i];
            if (s.Rows == 0) continue;
            if (s.High - s.Low + 1 > 2L * s.Rows + 16) s.Sparse = new(s.Rows);
            else (s.Values, s.Seqs) = Storage((int)(s.High - s.Low + 1));
        }
        for (int c = 0; c < chunks.Count; c++)
        {
            var chunk = chunks[c];
            int n = c == chunks.Count - 1 ? lastChunkRows : chunk.Length;
            for (int r = 0; r < n; r++)
            {
                ref var row = ref chunk[r];
                if (row.List < 0) continue;
                ref var s = ref stored[row.List];
                if (s.Sparse is { } sparse)
                {
                    sparse.Add((row.Pos, row.Seq, row.Value));
                    continue;
                }
                long at = row.Pos - s.Low;
                if (s.Values![at] != null)
                {
                    // Two rows at one position: the later one wins, the other is deleted.
                    if (s.Seqs![at] > row.Seq)
                    {
                        orphans.Add(row.Seq);
                        continue;
                    }
                    orphans.Add(s.Seqs[at]);
                }
                s.Values[at] = row.Value;
                s.Seqs![at] = row.Seq;
            }
            chunks[c] = null!; // its values are in the lists' arrays now
        }

        long entries = 0;
        for (int i = 0; i < stored.Length; i++)
        {
            ref var s = ref stored[i];
            if (s.Sparse is { } sparse) entries += PlaceSparse(s.Value, sparse, orphans);
            else if (s.Values is { } values) entries += Place(s.Value, values, s.Seqs!, (int)(s.High - s.Low + 1), s.Low, contiguous: true);
        }
        return entries;
    }

    /// <summary>Reads every row into chunks (the last one holding <paramref name="lastChunkRows"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static List<Row[]> Read(sqlite3 db, Dictionary<long, int> index, Stored[] stored, List<long> orphans, ref long nextSeq, out int lastChunkRows)
    {
        var chunks = new List<Row[]>();
        Row[] chunk = [];
        int used = 0;
        using var statement = RawStatement.PrepareAll(db, "SELECT seq, kid, pos, value FROM list_items")[0];
        IntPtr stmt = statement.Handle.DangerousGetHandle();
        long lastKid = long.MinValue;
        int list = -1;
        int rc;
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
            if (used == chunk.Length)
            {
                chunk = new Row[ChunkRows];
                chunks.Add(chunk);
                used = 0;
            }
            long pos = SqliteNative.sqlite3_column_int64(stmt, 2);
            chunk[used++] = new Row { List = list, Pos = pos, Seq = seq, Value = SqliteNative.ColumnBlob(stmt, 3) };
            ref var s = ref stored[list];
            s.Rows++;
            if (pos < s.Low) s.Low = pos;
            if (pos > s.High) s.High = pos;
        }
        statement.Reset(rc); // throws what a failed step reported (a corrupt page, say)
        lastChunkRows = used;
        return chunks;
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
        return Place(list, values, seqs, n, items[0].Pos, contiguous: false);
    }

    /// <summary>
    /// Gives the list its elements: the first <paramref name="positions"/> entries of the arrays, in position
    /// order, with empty positions closed up in place; a gap makes the list renumbered on its next write.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Place(ListValue list, byte[]?[] values, long[] seqs, int positions, long low, bool contiguous)
    {
        int n = 0;
        for (int i = 0; i < positions; i++)
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
