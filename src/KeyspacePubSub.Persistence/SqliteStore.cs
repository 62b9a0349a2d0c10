using System.Diagnostics;
using KeyspacePubSub.Engine.Keyspace;
using KeyspacePubSub.Engine.Persistence;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using SQLitePCL;

namespace KeyspacePubSub.Persistence;

public enum FsyncPolicy { Always, Everysec, No }

/// <summary>
/// Durable keys in one SQLite database (WAL). Opened with an exclusive lock, so a second server on the same
/// file fails clearly instead of interleaving writes. A store that cannot open, or whose commits fail, reports
/// <see cref="Failure"/>; the engine then refuses writes to durable keys (MISCONF).
/// </summary>
public sealed partial class SqliteStore : IDurableStore
{
    private readonly ILogger _logger;
    private SqliteConnection? _db;
    private volatile string? _failure;

    public SqliteStore(string path, FsyncPolicy fsync, ILogger logger)
    {
        Path = System.IO.Path.GetFullPath(path);
        Fsync = fsync;
        _logger = logger;
        try
        {
            Open();
            StartWriter();
        }
        catch (Exception ex) when (ex is SqliteException or IOException or UnauthorizedAccessException)
        {
            _failure = Describe(ex);
            _db?.Dispose();
            _db = null;
            _ahead?.Dispose();
            _ahead = null;
            _logger.LogError("Persistence: cannot use {Path}: {Reason}. Durable keys are not loaded and writes to them are refused (MISCONF).", Path, _failure);
        }
    }

    public string Path { get; }
    public FsyncPolicy Fsync { get; }
    public string? Failure => _failure;
    public int LoadedKeys { get; private set; }
    public long LoadedEntries { get; private set; }
    public double LoadMs { get; private set; }
    public int LoadReaders { get; private set; } // connections that read the list rows (two for a large table, see ListLoader)
    public int LoadBoundedLists { get; private set; } // lists placed by the bounds of the last clean stop (see ListBoundsStore)

    /// <inheritdoc />
    public long NextListSeq { get; private set; } = 1;

    /// <inheritdoc />
    public IReadOnlyList<byte[]> LoadedFunctions { get; private set; } = [];

    private static string Describe(Exception ex) => ex is SqliteException s ? s.Message.Replace("\r", " ").Replace("\n", " ") : ex.Message;

    private bool _walGathered; // WAL frames of a commit go out in one write (WalWriteShim)
    private CheckpointAhead? _ahead; // checkpoints' pages written into the database file before the checkpoint (with the shim)

    private void Open()
    {
        string? dir = System.IO.Path.GetDirectoryName(Path);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        _ = SqliteNative.MultiThreadMode; // before the first connection
        _walGathered = WalWriteShim.Install(); // (after sqlite3_config, which must come before SQLite starts)
        if (_walGathered) _ahead = CheckpointAhead.Register(Path); // (before SQLite opens the files: the shim links them at their open)
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path, Pooling = false, Mode = SqliteOpenMode.ReadWriteCreate, DefaultTimeout = 1 }.ToString());
        _db.Open();
        Exec("PRAGMA busy_timeout = 0");
        // Exclusive locking: the lock taken by the first write is held until the server stops.
        Exec("PRAGMA locking_mode = EXCLUSIVE");
        // A new file's pages are 2 KiB rather than SQLite's 4 KiB. A commit writes every page it changes whole
        // into the WAL, and one client's backlog commit changes one page: half the bytes to write, checksum
        // and later sync per commit. One client's MULTI/LPUSH/PUBLISH/EXEC under everysec: 33,400 -> 36,000 a
        // second (1 KiB pages: the same; 10 and 50 clients: unchanged; a restart's load: unchanged). Larger
        // than 1 KiB so that a message of up to ~2 KiB still fits in its row's page. An existing file keeps its size.
        Exec("PRAGMA page_size = 2048");
        string mode = Scalar("PRAGMA journal_mode = WAL")?.ToString() ?? "";
        if (!mode.Equals("wal", StringComparison.OrdinalIgnoreCase)) throw new IOException($"cannot switch to WAL journal mode (got '{mode}')");
        Exec($"PRAGMA synchronous = {Fsync switch { FsyncPolicy.Always => "FULL", FsyncPolicy.Everysec => "NORMAL", _ => "OFF" }}");
        Exec("PRAGMA wal_autocheckpoint = 10000");
        Exec("BEGIN EXCLUSIVE");
        long version = Convert.ToInt64(Scalar("PRAGMA user_version"), System.Globalization.CultureInfo.InvariantCulture);
        if (version > Schema.Version) throw new IOException($"the database was written by a newer server (schema version {version}, this server knows {Schema.Version})");
        bool oldLists = Convert.ToInt64(Scalar("SELECT COUNT(*) FROM pragma_table_info('list_items')"), System.Globalization.CultureInfo.InvariantCulture) > 0
            && Convert.ToInt64(Scalar("SELECT COUNT(*) FROM pragma_table_info('list_items') WHERE name = 'seq'"), System.Globalization.CultureInfo.InvariantCulture) == 0;
        if (oldLists)
        {
            _logger.LogInformation("Persistence: converting list rows in {Path} to schema version {Version}", Path, Schema.Version);
            Exec(Schema.Migrate);
        }
        if (Scalar("SELECT type FROM pragma_table_info('zset_items') WHERE name = 'score'") is "REAL")
        {
            _logger.LogInformation("Persistence: converting sorted set rows in {Path} to schema version {Version}", Path, Schema.Version);
            Exec(Schema.MigrateZsetScores);
        }
        Exec(Schema.Create);
        if (version != Schema.Version) Exec($"PRAGMA user_version = {Schema.Version}"); // (a write: only when it changes)
        Exec("COMMIT");
        _walEmpty = EmptyWal();
        // The whole file's integrity check (quick_check: 85 ms for 1,000,000 entries) runs after the load, on
        // the writer thread, before any commit (see Load and WriterLoop).
    }

    private bool _walEmpty; // after Open: every commit is in the database file, none in the WAL

    /// <summary>
    /// Moves what the WAL holds (after a crash) into the database file, and empties the WAL, so that the file
    /// alone holds every commit while the load reads it (see <see cref="SecondReader"/>). After a clean stop the
    /// WAL is gone or empty already, and nothing is written.
    /// </summary>
    private bool EmptyWal()
    {
        if (FileBytes(Path + "-wal") == 0) return true;
        try
        {
            using var cmd = _db!.CreateCommand();
            cmd.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)"; // (not counted in INFO: no commit waited for it)
            using (var r = cmd.ExecuteReader())
            {
                if (!r.Read() || r.GetInt64(0) != 0 || r.GetInt64(1) != r.GetInt64(2)) return false;
            }
            return FileBytes(Path + "-wal") == 0;
        }
        catch (Exception ex) when (ex is SqliteException or IOException)
        {
            // (a full disk, say) The load reads the WAL's commits through this connection alone, as before.
            return false;
        }
    }

    /// <summary>
    /// A second connection for the load's second reading thread (<see cref="ListLoader"/>): read-only and
    /// immutable, that is without locks (this connection holds the file's exclusive lock) and without the WAL,
    /// which is empty then. Nothing writes the file while the load runs: the writer thread waits for it.
    /// Null when the WAL could not be emptied.
    /// </summary>
    private string? SecondReader => _walEmpty
        ? new SqliteConnectionStringBuilder { DataSource = FileUri(Path) + "?immutable=1", Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString()
        : null;

    /// <summary>
    /// A SQLite URI for an absolute path: every byte but letters, digits, '-', '.', '_', '~' and '/' percent-encoded
    /// (SQLite decodes %XX, ends the path at '?' or '#'; System.Uri leaves '%' alone).
    /// </summary>
    private static string FileUri(string path)
    {
        var uri = new System.Text.StringBuilder("file:");
        foreach (byte b in System.Text.Encoding.UTF8.GetBytes(path))
        {
            if (char.IsAsciiLetterOrDigit((char)b) || b is (byte)'-' or (byte)'.' or (byte)'_' or (byte)'~' or (byte)'/') uri.Append((char)b);
            else uri.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
        }
        return uri.ToString();
    }

    private void Exec(string sql)
    {
        using var cmd = _db!.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private object? Scalar(string sql)
    {
        using var cmd = _db!.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar();
    }

    /// <inheritdoc />
    /// <remarks>
    /// Reads every table once. SQLite reports a damaged page it meets on the way, and the store then refuses
    /// writes (MISCONF) with nothing loaded. Afterwards the connection goes to the writer thread, which checks
    /// the whole file (<c>PRAGMA quick_check</c>, which also covers indexes and free pages) before it commits
    /// anything: the server answers meanwhile, and writes to durable keys wait for the check. A file found
    /// damaged then keeps what was loaded readable and refuses writes, as Redis does when it cannot persist.
    /// </remarks>
    public List<DurableRecord> Load(long nowMs)
    {
        if (_db is null) return [];
        var sw = Stopwatch.StartNew();
        List<DurableRecord> result;
        var expired = new List<long>();
        var orphans = new List<long>(); // list rows of keys that are gone (expired while down, or left behind)
        long entries;
        try
        {
            using (BulkLoadMemory.Enter(FileBytes(Path) + FileBytes(Path + "-wal")))
            {
                result = ReadAll(nowMs, expired, orphans, out entries);
                LoadedFunctions = ReadFunctions();
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            MarkCorrupt(Describe(ex)); // a damaged page, or a value that does not decode
            return [];
        }
        finally
        {
            lock (_queueLock)
            {
                _committing = false; // held for the load since the writer started
                _checkDue = _corrupt is null;
                Monitor.PulseAll(_queueLock);
            }
        }
        if (expired.Count > 0 || orphans.Count > 0)
        {
            var ops = expired.Select(id => new DurableOp(DurableOpKind.DeleteKey, id))
                .Concat(orphans.Select(seq => new DurableOp(DurableOpKind.ListDelete, 0, Seq: seq))).ToList();
            var done = Commit(ops, willDrive: true);
            Drive(done);
            try
            {
                done.AsTask().Wait();
            }
            catch (AggregateException)
            {
                // Not deleted now: the rows are left behind again, and dropped again at the next start.
            }
        }
        LoadedKeys = result.Count;
        LoadedEntries = entries;
        LoadMs = sw.Elapsed.TotalMilliseconds;
        _logger.LogInformation("Persistence: loaded {Keys} durable keys ({Entries} list, sorted set and stream entries) from {Path} in {Ms:F0} ms (list rows read by {Readers} connection(s), {Bounded} list(s) placed by their bounds); dropped {Expired} expired keys",
            result.Count, entries, Path, LoadMs, LoadReaders, LoadBoundedLists, expired.Count);
        return result;
    }

    /// <summary>Every stored function library's code, in the order the rows were first written.</summary>
    private List<byte[]> ReadFunctions()
    {
        var codes = new List<byte[]>();
        using var cmd = _db!.CreateCommand();
        cmd.CommandText = "SELECT code FROM functions ORDER BY rowid";
        using var r = cmd.ExecuteReader();
        while (r.Read()) codes.Add((byte[])r.GetValue(0));
        return codes;
    }

    private static long FileBytes(string path) => File.Exists(path) ? new FileInfo(path).Length : 0;

    /// <summary>Every stored key with its value; keys past their TTL and rows of keys that are gone are listed for deletion.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private List<DurableRecord> ReadAll(long nowMs, List<long> expired, List<long> orphans, out long entries)
    {
        var result = new List<DurableRecord>();
        var lists = new Dictionary<long, ListValue>();
        var zsets = new Dictionary<long, SortedSetValue>();
        var streams = new Dictionary<long, Engine.Streams.StreamValue>();
        using (var cmd = _db!.CreateCommand())
        {
            cmd.CommandText = "SELECT id, db, key, type, expire_at, value FROM keys WHERE key IS NOT NULL";
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                long id = r.GetInt64(0);
                long expireAt = r.IsDBNull(4) ? -1 : r.GetInt64(4);
                if (expireAt >= 0 && expireAt < nowMs) // as rdbLoad and Database.IsExpired: past its deadline
                {
                    expired.Add(id);
                    continue;
                }
                var type = (DurableType)r.GetInt32(3);
                byte[] blob = r.IsDBNull(5) ? [] : (byte[])r.GetValue(5);
                object value = type switch
                {
                    DurableType.String => blob,
                    DurableType.Hash => DurableBlob.DecodeHash(blob),
                    DurableType.Set => DurableBlob.DecodeSet(blob),
                    DurableType.Stream => streams[id] = Engine.Streams.StreamBlob.DecodeMeta(blob),
                    DurableType.List => lists[id] = new ListValue(),
                    _ => zsets[id] = new SortedSetValue(),
                };
                result.Add(new DurableRecord(id, r.GetInt32(1), (byte[])r.GetValue(2), type, expireAt, value));
            }
        }
        var bounds = ReadListBounds();
        long nextSeq = NextListSeq;
        // The file is read through a memory map while it loads: SQLite then reads a page without a system call
        // and a copy (loads of 1,000,000 entries: ~260 ms against ~280, medians of 12 alternating restarts).
        // Commits afterwards read pages as before (a map's I/O error would be a signal rather than an error).
        long mapBytes = FileBytes(Path);
        Exec($"PRAGMA mmap_size = {mapBytes}");
        try
        {
            entries = ListLoader.Load(_db!.Handle!, SecondReader, mapBytes, lists, bounds, orphans, ref nextSeq, out int readers, out int bounded);
            LoadReaders = readers;
            LoadBoundedLists = bounded;
        }
        finally
        {
            Exec("PRAGMA mmap_size = 0");
        }
        NextListSeq = nextSeq;
        if (zsets.Count > 0) entries += ReadZsetMembers(zsets);
        if (streams.Count > 0) entries += ReadStreamEntries(streams);
        using (var cmd = _db.CreateCommand())
        {
            cmd.CommandText = "SELECT kid, grp, ms, seq, consumer, delivered, count FROM stream_pending";
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                if (!streams.TryGetValue(r.GetInt64(0), out var s)) continue;
                var id = new Engine.Streams.StreamId(unchecked((ulong)r.GetInt64(2)), unchecked((ulong)r.GetInt64(3)));
                Engine.Streams.StreamBlob.RestorePending(s, (byte[])r.GetValue(1), id, (byte[])r.GetValue(4), r.IsDBNull(5) ? 0 : r.GetInt64(5), r.GetInt64(6));
            }
        }
        if (bounds.Count > 0) ForgetListBounds();
        // Keys that expired while the server was down go without an event; so do containers left empty.
        foreach (var k in result.Where(k => k.Value is ListValue { Count: 0 } or SortedSetValue { Count: 0 })) expired.Add(k.Id);
        result.RemoveAll(k => k.Value is ListValue { Count: 0 } or SortedSetValue { Count: 0 });
        return result;
    }

    /// <summary>
    /// The member rows of the loaded sorted sets, in key order (the table's), with a raw statement: each member's
    /// array is made once from SQLite's bytes and becomes the set's own. A key's members are gathered and
    /// handed to the set at once (<see cref="SortedSetValue.Adopt"/>: one sort, then linked in order), where
    /// adding them one by one searched the skiplist for each (1,000,000 members in 7 sets: 2.8-3.0 s).
    /// </summary>
    private unsafe long ReadZsetMembers(Dictionary<long, SortedSetValue> zsets)
    {
        using var statement = RawStatement.PrepareAll(_db!.Handle!, "SELECT kid, member, score FROM zset_items ORDER BY kid")[0]; // (the key's order: no sort)
        IntPtr stmt = statement.Handle.DangerousGetHandle();
        long entries = 0, lastKid = long.MinValue;
        SortedSetValue? set = null;
        var members = new byte[1024][];
        var scores = new double[1024];
        int count = 0;
        int rc;
        while ((rc = SqliteNative.sqlite3_step(stmt)) == raw.SQLITE_ROW)
        {
            long kid = SqliteNative.sqlite3_column_int64(stmt, 0);
            if (kid != lastKid)
            {
                set?.Adopt(members.AsSpan(0, count), scores.AsSpan(0, count));
                Array.Clear(members, 0, count);
                count = 0;
                lastKid = kid;
                set = zsets.GetValueOrDefault(kid);
            }
            if (set is null) continue;
            if (count == members.Length)
            {
                Array.Resize(ref members, count * 2);
                Array.Resize(ref scores, count * 2);
            }
            byte* p = SqliteNative.sqlite3_column_blob(stmt, 1); // before the length (see ListLoader.Step)
            var member = new ReadOnlySpan<byte>(p, SqliteNative.sqlite3_column_bytes(stmt, 1));
            members[count] = member.ToArray();
            scores[count++] = SqliteNative.sqlite3_column_double(stmt, 2);
            entries++;
        }
        RawStatement.Check(rc, _db.Handle!);
        set?.Adopt(members.AsSpan(0, count), scores.AsSpan(0, count));
        return entries;
    }

    /// <summary>
    /// The entry rows of the loaded streams, in key and ID order, read with a raw statement: each row's value
    /// is decoded from SQLite's own bytes (through the ADO.NET reader, a copy of every row was made first).
    /// </summary>
    private unsafe long ReadStreamEntries(Dictionary<long, Engine.Streams.StreamValue> streams)
    {
        using var statement = RawStatement.PrepareAll(_db!.Handle!, "SELECT kid, ms, seq, value FROM stream_items ORDER BY kid")[0]; // (the key's order: no sort)
        IntPtr stmt = statement.Handle.DangerousGetHandle();
        long entries = 0, lastKid = long.MinValue;
        Engine.Streams.StreamValue? stream = null;
        var withRows = new HashSet<long>();
        int rc;
        while ((rc = SqliteNative.sqlite3_step(stmt)) == raw.SQLITE_ROW)
        {
            long kid = SqliteNative.sqlite3_column_int64(stmt, 0);
            if (kid != lastKid)
            {
                stream?.FinishRestore();
                lastKid = kid;
                stream = streams.GetValueOrDefault(kid);
                if (stream != null) withRows.Add(kid);
            }
            if (stream is null) continue;
            byte* p = SqliteNative.sqlite3_column_blob(stmt, 3); // before the length (see ListLoader.Step)
            var row = new ReadOnlySpan<byte>(p, SqliteNative.sqlite3_column_bytes(stmt, 3));
            ulong ms = unchecked((ulong)SqliteNative.sqlite3_column_int64(stmt, 1)), seq = unchecked((ulong)SqliteNative.sqlite3_column_int64(stmt, 2));
            var items = Engine.Streams.StreamBlob.DecodeEntry(row, out bool deleted, out bool startsNode);
            stream.RestoreEntry(new Engine.Streams.StreamId(ms, seq), items, deleted, startsNode); // (copied into its node)
            entries++;
        }
        RawStatement.Check(rc, _db.Handle!);
        stream?.FinishRestore();
        // A stream without entry rows (every entry trimmed away) is restored with none.
        foreach (var (kid, s) in streams)
        {
            if (!withRows.Contains(kid)) s.FinishRestore();
        }
        return entries;
    }

    public IEnumerable<(string Name, object Value)> Info()
    {
        yield return ("durable_path", Path);
        yield return ("durable_fsync", Fsync.ToString().ToLowerInvariant());
        yield return ("durable_status", _failure is null ? "ok" : "err");
        yield return ("durable_last_error", _failure ?? "");
        yield return ("durable_loaded_keys", LoadedKeys);
        yield return ("durable_loaded_entries", LoadedEntries);
        yield return ("durable_load_time_ms", (long)LoadMs);
        yield return ("durable_load_readers", LoadReaders);
        yield return ("durable_load_bounded_lists", LoadBoundedLists);
        yield return ("durable_commits", Interlocked.Read(ref _commits));
        yield return ("durable_units_committed", Interlocked.Read(ref _unitsCommitted));
        yield return ("durable_units_pending", PendingUnits);
        yield return ("durable_last_commit_time", Interlocked.Read(ref _lastCommitUnix));
        yield return ("durable_failed_commits", Interlocked.Read(ref _failedCommits));
        yield return ("durable_commit_usec", (long)(Stopwatch.GetElapsedTime(0, Volatile.Read(ref _avgCommitTicks)).TotalMicroseconds)); // recent average
        yield return ("durable_checkpoints", Interlocked.Read(ref _checkpoints));
        yield return ("durable_checkpoint_time_ms", (long)Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _checkpointTicks)).TotalMilliseconds);
        // Pages written into the database file ahead of checkpoints, and the page copies checkpoints skipped for them.
        yield return ("durable_checkpoint_pages_ahead", _ahead?.PagesAhead ?? 0);
        yield return ("durable_checkpoint_pages_skipped", _ahead?.PagesSkipped ?? 0);
        yield return ("durable_wal_fsyncs", _wal?.Syncs ?? 0);
        yield return ("durable_wal_prefilled_bytes", _walFill?.FilledBytes ?? 0);
        // SQLite's WAL writes, and the system calls made for them (WalWriteShim: one per commit; 0 and 0 without it).
        var (asked, made) = _walGathered ? WalWriteShim.WalWrites : (0, 0);
        yield return ("durable_wal_writes", asked);
        yield return ("durable_wal_write_calls", made);
    }
}
