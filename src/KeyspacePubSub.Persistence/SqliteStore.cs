using System.Diagnostics;
using KeyspacePubSub.Engine.Keyspace;
using KeyspacePubSub.Engine.Persistence;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

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
            _logger.LogError("Persistence: cannot use {Path}: {Reason}. Durable keys are not loaded and writes to them are refused (MISCONF).", Path, _failure);
        }
    }

    public string Path { get; }
    public FsyncPolicy Fsync { get; }
    public string? Failure => _failure;
    public int LoadedKeys { get; private set; }
    public long LoadedEntries { get; private set; }
    public double LoadMs { get; private set; }

    private static string Describe(Exception ex) => ex is SqliteException s ? s.Message.Replace("\r", " ").Replace("\n", " ") : ex.Message;

    private void Open()
    {
        string? dir = System.IO.Path.GetDirectoryName(Path);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path, Pooling = false, Mode = SqliteOpenMode.ReadWriteCreate, DefaultTimeout = 1 }.ToString());
        _db.Open();
        Exec("PRAGMA busy_timeout = 0");
        // Exclusive locking: the lock taken by the first write is held until the server stops.
        Exec("PRAGMA locking_mode = EXCLUSIVE");
        string mode = Scalar("PRAGMA journal_mode = WAL")?.ToString() ?? "";
        if (!mode.Equals("wal", StringComparison.OrdinalIgnoreCase)) throw new IOException($"cannot switch to WAL journal mode (got '{mode}')");
        Exec($"PRAGMA synchronous = {Fsync switch { FsyncPolicy.Always => "FULL", FsyncPolicy.Everysec => "NORMAL", _ => "OFF" }}");
        Exec("PRAGMA wal_autocheckpoint = 10000");
        Exec("BEGIN EXCLUSIVE");
        Exec(Schema.Create);
        Exec("COMMIT");
        string check = Scalar("PRAGMA quick_check")?.ToString() ?? "";
        if (check != "ok") throw new IOException($"database is corrupt: {check}");
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
    public List<DurableRecord> Load(long nowMs)
    {
        var result = new List<DurableRecord>();
        if (_db is null) return result;
        var sw = Stopwatch.StartNew();
        var lists = new Dictionary<long, ListValue>();
        var zsets = new Dictionary<long, SortedSetValue>();
        var expired = new List<long>();
        using (var cmd = _db.CreateCommand())
        {
            cmd.CommandText = "SELECT id, db, key, type, expire_at, value FROM keys WHERE key IS NOT NULL";
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                long id = r.GetInt64(0);
                long expireAt = r.IsDBNull(4) ? -1 : r.GetInt64(4);
                if (expireAt >= 0 && expireAt <= nowMs)
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
                    DurableType.List => lists[id] = new ListValue(),
                    _ => zsets[id] = new SortedSetValue(),
                };
                result.Add(new DurableRecord(id, r.GetInt32(1), (byte[])r.GetValue(2), type, expireAt, value));
            }
        }
        long entries = 0;
        using (var cmd = _db.CreateCommand())
        {
            cmd.CommandText = "SELECT kid, pos, value FROM list_items ORDER BY kid, pos";
            using var r = cmd.ExecuteReader();
            ListValue? list = null;
            long listId = 0, expectedPos = 0;
            while (r.Read())
            {
                long kid = r.GetInt64(0), pos = r.GetInt64(1);
                if (list is null || kid != listId)
                {
                    listId = kid;
                    if (!lists.TryGetValue(kid, out list)) continue;
                    list.PlaceAt(pos);
                    expectedPos = pos;
                }
                // Positions are contiguous by construction; a gap would mean renumbering on the next write.
                if (pos != expectedPos) list.Durability = new ListChanges { Renumbered = true };
                expectedPos = pos + 1;
                list.PushTail((byte[])r.GetValue(2));
                entries++;
            }
        }
        using (var cmd = _db.CreateCommand())
        {
            cmd.CommandText = "SELECT kid, member, score FROM zset_items";
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                if (!zsets.TryGetValue(r.GetInt64(0), out var z)) continue;
                z.Set((byte[])r.GetValue(1), r.GetDouble(2));
                entries++;
            }
        }
        // Keys that expired while the server was down go without an event; so do containers left empty.
        foreach (var k in result.Where(k => k.Value is ListValue { Count: 0 } or SortedSetValue { Count: 0 })) expired.Add(k.Id);
        result.RemoveAll(k => k.Value is ListValue { Count: 0 } or SortedSetValue { Count: 0 });
        if (expired.Count > 0)
        {
            var ops = expired.Select(id => new DurableOp(DurableOpKind.DeleteKey, id)).ToList();
            Commit(ops).Wait();
        }
        LoadedKeys = result.Count;
        LoadedEntries = entries;
        LoadMs = sw.Elapsed.TotalMilliseconds;
        _logger.LogInformation("Persistence: loaded {Keys} durable keys ({Entries} list/zset entries) from {Path} in {Ms:F0} ms; dropped {Expired} expired keys",
            result.Count, entries, Path, LoadMs, expired.Count);
        return result;
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
        yield return ("durable_commits", Interlocked.Read(ref _commits));
        yield return ("durable_units_committed", Interlocked.Read(ref _unitsCommitted));
        yield return ("durable_units_pending", PendingUnits);
        yield return ("durable_last_commit_time", Interlocked.Read(ref _lastCommitUnix));
        yield return ("durable_failed_commits", Interlocked.Read(ref _failedCommits));
    }
}
