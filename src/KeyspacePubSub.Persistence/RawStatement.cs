using KeyspacePubSub.Engine.Persistence;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace KeyspacePubSub.Persistence;

/// <summary>
/// One prepared SQLite statement run through SQLitePCL's raw API, with its parameters bound by position
/// found once at prepare time. The commit path runs thousands of these per second: through
/// Microsoft.Data.Sqlite each execution costs a data reader, boxed parameter values and a lookup of
/// parameters by name (measured: 4.2 µs per inserted row against 2.7 µs raw, and 9.2 against 7.6 µs per
/// one-row commit). Values bind without boxing or copying.
/// </summary>
internal sealed class RawStatement : IDisposable
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _stmt;
    private readonly IntPtr _handle; // the statement's own pointer, for the direct calls of SqliteNative
    private readonly int _id, _db_, _key, _type, _exp, _value, _pos, _score, _seq, _count;

    private RawStatement(sqlite3 db, string sql)
    {
        _db = db;
        Check(raw.sqlite3_prepare_v2(db, sql, out _stmt), db);
        _handle = _stmt.DangerousGetHandle(); // valid until Dispose, as the statement is only run by its owner
        _id = raw.sqlite3_bind_parameter_index(_stmt, "$id");
        _db_ = raw.sqlite3_bind_parameter_index(_stmt, "$db");
        _key = raw.sqlite3_bind_parameter_index(_stmt, "$key");
        _type = raw.sqlite3_bind_parameter_index(_stmt, "$type");
        _exp = raw.sqlite3_bind_parameter_index(_stmt, "$exp");
        _value = raw.sqlite3_bind_parameter_index(_stmt, "$value");
        _pos = raw.sqlite3_bind_parameter_index(_stmt, "$pos");
        _score = raw.sqlite3_bind_parameter_index(_stmt, "$score");
        _seq = raw.sqlite3_bind_parameter_index(_stmt, "$seq");
        _count = raw.sqlite3_bind_parameter_index(_stmt, "$count");
    }

    /// <summary>Prepares each statement of <paramref name="sql"/> (several separated by ';').</summary>
    public static RawStatement[] PrepareAll(sqlite3 db, string sql) =>
        sql.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => new RawStatement(db, s)).ToArray();

    /// <summary>Runs the statement once with no parameters.</summary>
    public void Run()
    {
        try
        {
            Step();
        }
        finally
        {
            SqliteNative.sqlite3_reset(_handle);
        }
    }

    /// <summary>The prepared statement, for stepping and reading columns directly (<see cref="SqliteNative"/>).</summary>
    public sqlite3_stmt Handle => _stmt;

    /// <summary>After steps through the bare handle: resets, and throws what the last step reported unless it was the end.</summary>
    public void Reset(int lastStep)
    {
        raw.sqlite3_reset(_stmt);
        if (lastStep != raw.SQLITE_DONE) Check(lastStep, _db);
    }

    /// <summary>
    /// Binds what the statement uses of <paramref name="op"/> and runs it once. The calls go straight to
    /// SQLite (<see cref="SqliteNative"/>): through SQLitePCL each took the statement's SafeHandle (an add-ref
    /// and a release) and an interface dispatch, about a dozen per backlog commit.
    /// </summary>
    public void Run(in DurableOp op)
    {
        IntPtr stmt = _handle;
        try
        {
            if (_id > 0) Check(SqliteNative.sqlite3_bind_int64(stmt, _id, op.Id), _db);
            if (_db_ > 0) Check(SqliteNative.sqlite3_bind_int64(stmt, _db_, op.Db), _db);
            if (_key > 0) BindBlob(_key, op.Key);
            if (_type > 0) Check(SqliteNative.sqlite3_bind_int64(stmt, _type, (int)op.Type), _db);
            if (_exp > 0) Check(op.ExpireAt >= 0 ? SqliteNative.sqlite3_bind_int64(stmt, _exp, op.ExpireAt) : SqliteNative.sqlite3_bind_null(stmt, _exp), _db);
            if (_value > 0) BindBlob(_value, op.Value);
            if (_pos > 0) Check(SqliteNative.sqlite3_bind_int64(stmt, _pos, op.Pos), _db);
            if (_score > 0) Check(SqliteNative.sqlite3_bind_double(stmt, _score, op.Score), _db);
            if (_seq > 0) Check(SqliteNative.sqlite3_bind_int64(stmt, _seq, op.Seq), _db);
            if (_count > 0) Check(SqliteNative.sqlite3_bind_int64(stmt, _count, op.Count), _db);
            Step();
        }
        finally
        {
            SqliteNative.sqlite3_reset(stmt); // every parameter is bound again on each run; blobs are copied by SQLite
        }
    }

    private void BindBlob(int index, byte[]? value) => BindBlob(_handle, index, value, _db);

    /// <summary>Binds a blob by copy (SQLITE_TRANSIENT); a zero-length blob stays a value, null binds NULL.</summary>
    internal static unsafe void BindBlob(IntPtr stmt, int index, byte[]? value, sqlite3 db)
    {
        // A zero-length blob is a value, not NULL: empty list elements and strings stay empty.
        if (value is null)
        {
            Check(SqliteNative.sqlite3_bind_null(stmt, index), db);
            return;
        }
        if (value.Length == 0)
        {
            Check(SqliteNative.sqlite3_bind_zeroblob(stmt, index, 0), db);
            return;
        }
        fixed (byte* p = value) Check(SqliteNative.sqlite3_bind_blob(stmt, index, p, value.Length, SqliteNative.Transient), db);
    }

    private void Step()
    {
        int rc = SqliteNative.sqlite3_step(_handle);
        if (rc != raw.SQLITE_DONE && rc != raw.SQLITE_ROW) Check(rc, _db);
    }

    /// <summary>Throws SQLite's error for a result code other than OK, DONE or ROW.</summary>
    internal static void Check(int rc, sqlite3 db)
    {
        if (rc != raw.SQLITE_OK && rc != raw.SQLITE_DONE && rc != raw.SQLITE_ROW) SqliteException.ThrowExceptionForRC(rc, db);
    }

    public void Dispose() => _stmt.Dispose();
}
