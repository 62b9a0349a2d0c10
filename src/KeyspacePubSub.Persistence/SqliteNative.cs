using System.Runtime.InteropServices;
using SQLitePCL;

namespace KeyspacePubSub.Persistence;

/// <summary>
/// The few SQLite calls a restart makes once per stored row, imported directly. Through SQLitePCL each call
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

    [LibraryImport("e_sqlite3"), SuppressGCTransition]
    public static partial long sqlite3_column_int64(IntPtr stmt, int column);

    [LibraryImport("e_sqlite3"), SuppressGCTransition]
    public static partial byte* sqlite3_column_blob(IntPtr stmt, int column);

    [LibraryImport("e_sqlite3"), SuppressGCTransition]
    public static partial int sqlite3_column_bytes(IntPtr stmt, int column);
}
