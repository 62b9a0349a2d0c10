using System.Diagnostics;
using KeyspacePubSub.Engine.Persistence;
using KeyspacePubSub.Persistence;
using Microsoft.Extensions.Logging.Abstractions;
using SQLitePCL;

namespace KeyspacePubSub.Benchmark;

/// <summary>
/// `--only commitcost`: what one durable commit costs in CPU, in this process, with no server and no network.
/// Each commit is one backlog row (a 200-byte element, as one LPUSH of the backlog rows), fsync everysec.
/// "store" goes through <see cref="SqliteStore"/> as a client's EXEC does (Commit, then Drive on the calling
/// thread: the VFS shims, the WAL hook, the checkpoints ahead); "sqlite" is the same schema, pragmas and
/// statements with SQLite alone (its own unix VFS, BEGIN IMMEDIATE / INSERT / COMMIT on prepared statements).
/// If the store costs what SQLite costs, what the server adds per durable EXEC beyond that is not in the store.
/// Process CPU time (user and system, every thread: the store's writer and the GC included) per commit.
/// </summary>
public static class CommitCostBench
{
    public static void Run(int commits, int rounds)
    {
        string dir = Path.Combine(Path.GetTempPath(), $"kps-commitcost-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            var value = new byte[200];
            Array.Fill(value, (byte)'m');
            Console.WriteLine($"| one 200-byte list row per commit, fsync everysec ({commits:N0} commits a run) | wall µs/commit | user µs/commit | system µs/commit |");
            Console.WriteLine("| --- | --- | --- | --- |");
            // The store first: it makes SQLite multi-threaded, which must precede SQLite's first use.
            var store = new SqliteStore(Path.Combine(dir, "store.db"), FsyncPolicy.Everysec, NullLogger.Instance);
            try
            {
                if (store.Failure != null) throw new InvalidOperationException(store.Failure);
                store.Load(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                long seq = store.NextListSeq;
                var key = "room:bench:backlog"u8.ToArray();
                for (int r = 0; r < rounds; r++)
                {
                    Measure($"store (SqliteStore.Commit + Drive), run {r + 1}", commits, () =>
                    {
                        var ops = store.RentOps();
                        if (seq == 1) ops.Add(new DurableOp(DurableOpKind.PutKey, 1, 0, key, DurableType.List));
                        ops.Add(new DurableOp(DurableOpKind.ListPut, 1, Value: value, Pos: -seq, Seq: seq));
                        seq++;
                        var ticket = store.Commit(ops, willDrive: true);
                        store.Drive(ticket);
                        if (!ticket.IsCompleted) ticket.AsTask().GetAwaiter().GetResult(); // handed to the writer (a checkpoint)
                        if (ticket.IsFaulted) throw new IOException(ticket.Failure);
                    });
                }
            }
            finally
            {
                store.Dispose();
            }
            RunSqliteAlone(Path.Combine(dir, "sqlite.db"), value, commits, rounds);
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    private static void RunSqliteAlone(string path, byte[] value, int commits, int rounds)
    {
        // "unix": SQLite's own VFS by name (the store registered its shim as the default).
        Check(raw.sqlite3_open_v2(path, out var db, raw.SQLITE_OPEN_READWRITE | raw.SQLITE_OPEN_CREATE, "unix"), null);
        try
        {
            foreach (var sql in new[]
            {
                "PRAGMA page_size = 2048", "PRAGMA locking_mode = EXCLUSIVE", "PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL",
                "PRAGMA wal_autocheckpoint = 10000",
                "CREATE TABLE list_items(seq INTEGER PRIMARY KEY, kid INTEGER NOT NULL, pos INTEGER NOT NULL, value BLOB NOT NULL)",
            })
            {
                Check(raw.sqlite3_exec(db, sql), db);
            }
            Check(raw.sqlite3_prepare_v2(db, "BEGIN IMMEDIATE", out var begin), db);
            Check(raw.sqlite3_prepare_v2(db, "INSERT INTO list_items(seq, kid, pos, value) VALUES(?, ?, ?, ?)", out var insert), db);
            Check(raw.sqlite3_prepare_v2(db, "COMMIT", out var commit), db);
            long seq = 1;
            for (int r = 0; r < rounds; r++)
            {
                Measure($"SQLite alone (BEGIN / INSERT / COMMIT), run {r + 1}", commits, () =>
                {
                    Step(begin, db);
                    raw.sqlite3_bind_int64(insert, 1, seq);
                    raw.sqlite3_bind_int64(insert, 2, 1);
                    raw.sqlite3_bind_int64(insert, 3, -seq);
                    raw.sqlite3_bind_blob(insert, 4, value);
                    seq++;
                    Step(insert, db);
                    Step(commit, db);
                });
            }
            raw.sqlite3_finalize(begin);
            raw.sqlite3_finalize(insert);
            raw.sqlite3_finalize(commit);
        }
        finally
        {
            raw.sqlite3_close_v2(db);
        }
    }

    private static void Step(sqlite3_stmt statement, sqlite3 db)
    {
        int rc = raw.sqlite3_step(statement);
        raw.sqlite3_reset(statement);
        if (rc != raw.SQLITE_DONE) Check(rc, db);
    }

    private static void Check(int rc, sqlite3? db)
    {
        if (rc != raw.SQLITE_OK) throw new IOException($"SQLite error {rc}: {(db is null ? "" : raw.sqlite3_errmsg(db).utf8_to_string())}");
    }

    private static void Measure(string label, int commits, Action one)
    {
        using var self = Process.GetCurrentProcess();
        self.Refresh();
        var (user0, system0) = (self.UserProcessorTime, self.PrivilegedProcessorTime);
        var wall = Stopwatch.StartNew();
        for (int i = 0; i < commits; i++) one();
        double seconds = wall.Elapsed.TotalSeconds;
        self.Refresh();
        double user = (self.UserProcessorTime - user0).TotalMicroseconds / commits, system = (self.PrivilegedProcessorTime - system0).TotalMicroseconds / commits;
        Console.WriteLine($"| {label} | {seconds * 1e6 / commits:F2} | {user:F2} | {system:F2} |");
    }
}
