using System.Runtime.InteropServices;
using SQLitePCL;

namespace KeyspacePubSub.Persistence;

/// <summary>
/// The SQLite calls made once per stored row, by a restart and by each commit, imported directly. Through SQLitePCL each call
/// takes the statement's SafeHandle (an add-ref and a release) and an interface dispatch; a load of 1,000,000
/// list rows makes five calls per row, and perf showed the wrappers at about a third of the load.
/// The column getters only read the current row, so they run without a GC transition.
/// </summary>
internal static unsafe partial class SqliteNative
{
    /// <summary>
    /// Before any connection opens: SQLite's multi-thread mode, without a mutex around every call on a
    /// connection. Each connection of the store is used by one thread at a time (the committing thread holds
    /// it alone, see GroupCommit), so the serialized mode's lock and unlock per call bought nothing; on the
    /// load of 1,000,000 rows they took 80 ms. False when SQLite was initialised already (the mode stays).
    /// </summary>
    public static bool MultiThreadMode { get; } = ConfigureMultiThread();

    private static bool ConfigureMultiThread()
    {
        Batteries_V2.Init();
        return raw.sqlite3_config(raw.SQLITE_CONFIG_MULTITHREAD) == raw.SQLITE_OK;
    }

    [LibraryImport("e_sqlite3")]
    public static partial int sqlite3_step(IntPtr stmt);

    [LibraryImport("e_sqlite3")]
    public static partial int sqlite3_reset(IntPtr stmt);

    // Binding only stores the value in the statement (a blob is copied, SQLITE_TRANSIENT): short, never blocking.
    [LibraryImport("e_sqlite3"), SuppressGCTransition]
    public static partial int sqlite3_bind_int64(IntPtr stmt, int index, long value);

    [LibraryImport("e_sqlite3"), SuppressGCTransition]
    public static partial int sqlite3_bind_double(IntPtr stmt, int index, double value);

    [LibraryImport("e_sqlite3"), SuppressGCTransition]
    public static partial int sqlite3_bind_null(IntPtr stmt, int index);

    [LibraryImport("e_sqlite3"), SuppressGCTransition]
    public static partial int sqlite3_bind_zeroblob(IntPtr stmt, int index, int length);

    [LibraryImport("e_sqlite3")]
    public static partial int sqlite3_bind_blob(IntPtr stmt, int index, byte* value, int length, IntPtr destructor);

    /// <summary>SQLITE_TRANSIENT: SQLite copies a bound blob before the bind returns.</summary>
    public static readonly IntPtr Transient = -1;

    [LibraryImport("e_sqlite3"), SuppressGCTransition]
    public static partial long sqlite3_column_int64(IntPtr stmt, int column);

    [LibraryImport("e_sqlite3"), SuppressGCTransition]
    public static partial double sqlite3_column_double(IntPtr stmt, int column);

    [LibraryImport("e_sqlite3"), SuppressGCTransition]
    public static partial byte* sqlite3_column_blob(IntPtr stmt, int column);

    [LibraryImport("e_sqlite3"), SuppressGCTransition]
    public static partial int sqlite3_column_bytes(IntPtr stmt, int column);
}
