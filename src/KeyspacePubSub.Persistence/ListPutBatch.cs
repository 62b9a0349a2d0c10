using KeyspacePubSub.Engine.Persistence;
using SQLitePCL;

namespace KeyspacePubSub.Persistence;

/// <summary>
/// Consecutive list-row inserts of one commit (a group of backlog transactions is a run of them) as
/// multi-row INSERTs of up to <see cref="MaxRows"/> rows. Each statement run costs SQLite a cursor opened on
/// the table, a seek from the root to the insert point, the statement's halt and reset; within one statement
/// the cursor stays open at the last row, so each further row (sequence numbers ascend) appends without a
/// seek. Rows are inserted in the order given; a failed statement fails the commit as a single row's would.
/// </summary>
internal sealed class ListPutBatch : IDisposable
{
    public const int MaxRows = 16;
    private readonly sqlite3 _db;
    private readonly RawStatement _single; // the one-row INSERT (Schema.ListPut), for a run of one row
    private readonly sqlite3_stmt?[] _statements = new sqlite3_stmt?[MaxRows + 1]; // by row count, from 2
    private readonly IntPtr[] _handles = new IntPtr[MaxRows + 1];
    private readonly DurableOp[] _rows = new DurableOp[MaxRows];
    private int _count;

    public ListPutBatch(sqlite3 db, RawStatement single)
    {
        _db = db;
        _single = single;
        for (int n = 2; n <= MaxRows; n++)
        {
            string values = string.Join(", ", Enumerable.Range(0, n).Select(i => $"(?{4 * i + 1}, ?{4 * i + 2}, ?{4 * i + 3}, ?{4 * i + 4})"));
            Check(raw.sqlite3_prepare_v2(db, $"INSERT INTO list_items(seq, kid, pos, value) VALUES {values}", out var stmt));
            _statements[n] = stmt;
            _handles[n] = stmt.DangerousGetHandle(); // valid until Dispose; only the committing thread runs it
        }
    }

    /// <summary>Holds a row for the next flush (writing a full batch first).</summary>
    public void Add(in DurableOp op)
    {
        if (_count == MaxRows) Flush();
        _rows[_count++] = op;
    }

    /// <summary>Inserts the rows held, in order: one row by the one-row statement, more by one statement.</summary>
    public void Flush()
    {
        int n = _count;
        if (n == 0) return;
        _count = 0;
        if (n == 1)
        {
            _single.Run(_rows[0]);
            _rows[0] = default;
            return;
        }
        IntPtr stmt = _handles[n];
        try
        {
            for (int i = 0; i < n; i++)
            {
                ref readonly var op = ref _rows[i];
                Check(SqliteNative.sqlite3_bind_int64(stmt, 4 * i + 1, op.Seq));
                Check(SqliteNative.sqlite3_bind_int64(stmt, 4 * i + 2, op.Id));
                Check(SqliteNative.sqlite3_bind_int64(stmt, 4 * i + 3, op.Pos));
                RawStatement.BindBlob(stmt, 4 * i + 4, op.Value, _db);
            }
            Check(SqliteNative.sqlite3_step(stmt));
        }
        finally
        {
            SqliteNative.sqlite3_reset(stmt); // every parameter is bound again on each run; blobs are copied by SQLite
            Array.Clear(_rows, 0, n); // holds no element past the commit
        }
    }

    /// <summary>Forgets rows held (a failed commit rolls back; its ops are retried from the queue).</summary>
    public void Clear()
    {
        Array.Clear(_rows, 0, _count);
        _count = 0;
    }

    private void Check(int rc) => RawStatement.Check(rc, _db);

    public void Dispose()
    {
        foreach (var s in _statements) s?.Dispose();
    }
}
