using FluentAssertions;
using KeyspacePubSub.Persistence;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// The durable room backlog: what a client saw before a clean restart is what it sees after, for durable keys
/// of every type; non-durable keys are gone; a store that cannot be used refuses durable writes with MISCONF.
/// </summary>
public sealed partial class PersistenceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kps-persist-").FullName;

    private PersistenceOptions Options(FsyncPolicy fsync = FsyncPolicy.Always) =>
        new() { Enabled = true, Path = Path.Combine(_dir, "store.db"), KeyPatterns = ["room:*:backlog", "durable:*"], Fsync = fsync };

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly string[] Keys = ["room:a:backlog", "room:b:backlog", "durable:x", "durable:y", "plain"];

    /// <summary>Everything a client can observe about the durable keys of databases 0–2 (TTLs as present/absent).</summary>
    private static string Snapshot(RawClient c)
    {
        var sb = new System.Text.StringBuilder();
        for (int db = 0; db < 3; db++)
        {
            c.Call("SELECT", db.ToString());
            foreach (var k in Keys.Where(k => k != "plain"))
            {
                string type = c.Call("TYPE", k);
                sb.Append($"{db} {k} {type.Trim()} ttl:{(c.Call("PTTL", k).StartsWith(":-") ? "none" : "set")} ");
                sb.Append(type switch
                {
                    "+list\r\n" => c.Call("LRANGE", k, "0", "-1"),
                    "+zset\r\n" => c.Call("ZRANGE", k, "0", "-1", "WITHSCORES"),
                    "+string\r\n" => c.Call("GET", k),
                    "+hash\r\n" => c.Call("HGETALL", k),
                    "+set\r\n" => c.Call("SMEMBERS", k),
                    "+stream\r\n" => c.Call("XINFO", "STREAM", k, "FULL", "COUNT", "0"),
                    _ => "",
                });
                sb.Append('\n');
            }
        }
        c.Call("SELECT", "0");
        return sb.ToString();
    }

    [Fact]
    public async Task Restart_KeepsDurableKeysWithOrderAndTtl_AndDropsTheRest()
    {
        string before;
        await using (var s = await InProcessServer.StartAsync(Options()))
        {
            using var c = new RawClient(s.Port);
            for (int i = 0; i < 20; i++)
            {
                c.Send("MULTI");
                c.Send("LPUSH", "room:a:backlog", $"msg{i}");
                c.Send("PUBLISH", "room:a", $"msg{i}");
                c.Send("EXEC");
                c.Read(4).Should().EndWith("*2\r\n:" + (i + 1) + "\r\n:0\r\n");
            }
            c.Call("LTRIM", "room:a:backlog", "0", "14").Should().Be("+OK\r\n");
            c.Call("RPOP", "room:a:backlog").Should().Be("$4\r\nmsg5\r\n");
            c.Call("LSET", "room:a:backlog", "2", "edited").Should().Be("+OK\r\n");
            c.Call("LINSERT", "room:a:backlog", "BEFORE", "edited", "inserted").Should().Be(":15\r\n");
            c.Call("ZADD", "durable:x", "1700000000", "a", "1700000005", "b", "1700000010", "c").Should().Be(":3\r\n");
            c.Call("ZREMRANGEBYSCORE", "durable:x", "-inf", "1700000004").Should().Be(":1\r\n");
            c.Call("SET", "durable:y", "value", "EX", "1000").Should().Be("+OK\r\n");
            c.Call("HSET", "room:b:backlog", "f", "v", "g", "w").Should().Be(":2\r\n");
            c.Call("SET", "plain", "gone after restart").Should().Be("+OK\r\n");
            before = Snapshot(c);
            c.Call("INFO", "persistence").Should().Contain("durable_enabled:1").And.Contain("durable_status:ok").And.Contain("durable_keys:4");
        }
        await using (var s = await InProcessServer.StartAsync(Options()))
        {
            using var c = new RawClient(s.Port);
            Snapshot(c).Should().Be(before);
            c.Call("LRANGE", "room:a:backlog", "0", "2").Should().Be("*3\r\n$5\r\nmsg19\r\n$5\r\nmsg18\r\n$8\r\ninserted\r\n");
            c.Call("EXISTS", "plain").Should().Be(":0\r\n");
            long ttl = long.Parse(c.Call("TTL", "durable:y")[1..^2]);
            ttl.Should().BeInRange(990, 1000);
            c.Call("INFO", "persistence").Should().Contain("durable_loaded_keys:4");
        }
    }

    [Fact]
    public async Task EvictedDurableKey_IsDeletedFromTheStore_AsRedisLogsTheDel()
    {
        await using (var s = await InProcessServer.StartAsync(Options()))
        {
            using var c = new RawClient(s.Port);
            using var sub = new RawClient(s.Port);
            c.Call("CONFIG", "SET", "notify-keyspace-events", "Ee").Should().Be("+OK\r\n");
            sub.Call("SUBSCRIBE", "__keyevent@0__:evicted");
            c.Call("RPUSH", "room:a:backlog", "m1", "m2").Should().Be(":2\r\n");
            c.Call("EXPIRE", "room:a:backlog", "1000").Should().Be(":1\r\n");
            c.Call("RPUSH", "room:b:backlog", "m3").Should().Be(":1\r\n");
            c.Call("CONFIG", "SET", "maxmemory-policy", "volatile-lru").Should().Be("+OK\r\n");
            c.Call("CONFIG", "SET", "maxmemory", "1").Should().Be("+OK\r\n");
            c.Call("EXISTS", "room:a:backlog", "room:b:backlog").Should().Be(":1\r\n", "only the key with a TTL may be evicted");
            sub.Read().Should().Be("*3\r\n$7\r\nmessage\r\n$22\r\n__keyevent@0__:evicted\r\n$14\r\nroom:a:backlog\r\n");
            c.Call("RPUSH", "room:b:backlog", "m4").Should().StartWith("-OOM", "nothing is left to evict");
            c.Call("CONFIG", "SET", "maxmemory", "0").Should().Be("+OK\r\n");
        }
        await using (var s = await InProcessServer.StartAsync(Options()))
        {
            using var c = new RawClient(s.Port);
            c.Call("EXISTS", "room:a:backlog").Should().Be(":0\r\n", "the eviction's deletion was committed");
            c.Call("LRANGE", "room:b:backlog", "0", "-1").Should().Be("*1\r\n$2\r\nm3\r\n");
        }
    }

    /// <summary>
    /// Runs of list-row inserts are written as multi-row statements of up to 16 rows (ListPutBatch); the
    /// other ops of the commit must still run between them in order. One EXEC: 37 rows pushed, a FLUSHALL,
    /// 3 rows pushed, a pop; another: 20 rows pushed in one command and 20 by 20 clients' commits at once.
    /// </summary>
    [Fact]
    public async Task ElementsOfDurableLists_GoWhereTheGcNeverCopiesThem()
    {
        await using var s = await InProcessServer.StartAsync(Options(FsyncPolicy.Everysec));
        using var c = new RawClient(s.Port);
        c.Call("RPUSH", "room:poh:backlog", "first").Should().Be(":1\r\n"); // the list's first commit makes it durable
        c.Call("RPUSH", "room:poh:backlog", "pushed").Should().Be(":2\r\n"); // replaced by LSET below
        c.Call("LPUSH", "room:poh:backlog", "head").Should().Be(":3\r\n");
        c.Call("LINSERT", "room:poh:backlog", "AFTER", "head", "inserted").Should().Be(":4\r\n");
        c.Call("LSET", "room:poh:backlog", "-1", "set").Should().Be("+OK\r\n");
        c.Call("LRANGE", "room:poh:backlog", "0", "-1").Should().Be("*4\r\n$4\r\nhead\r\n$8\r\ninserted\r\n$5\r\nfirst\r\n$3\r\nset\r\n");
        lock (s.Engine.Gate)
        {
            var list = (KeyspacePubSub.Engine.Keyspace.ListValue)s.Engine.Databases[0].Get("room:poh:backlog"u8)!;
            // The pinned object heap belongs to the oldest generation: an ordinary new array would be in generation 0
            // (or 1, had a collection run meanwhile), never 2 without two collections.
            foreach (int i in new[] { 0, 1, 3 }) GC.GetGeneration(list[i]).Should().Be(GC.MaxGeneration, $"element {i} was written to a durable list");
        }
    }

    /// <summary>
    /// A durable backlog transaction allocates its element and its share of the list's growth, and nothing
    /// for its commit: a commit group is a number (CommitTicket), where each group used to allocate a
    /// TaskCompletionSource and its Task. Measured with this test: 382 bytes a transaction before, 298 after
    /// (the native build: 366 and 276; 250 with persistence off). In a process of its own, so that INFO's
    /// total_allocated_bytes counts only the server.
    /// </summary>
    [Fact]
    public void BacklogTransaction_AllocatesNothingForItsCommit()
    {
        int port = RedisProcess.FreePort();
        using var server = new ServerProcess("--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--Persistence:Enabled=true", $"--Persistence:Path={Path.Combine(_dir, "alloc.db")}", "--Persistence:Fsync=everysec");
        server.WaitUntilServing(port).Should().BeTrue();
        using var c = new RawClient(port);
        string message = new('m', 200);
        int pushed = 0;
        void Transactions(int count)
        {
            for (int i = 0; i < count; i++)
            {
                c.Send("MULTI");
                c.Send("LPUSH", "room:alloc:backlog", message);
                c.Send("PUBLISH", "room:alloc", message);
                c.Send("EXEC");
                c.Read(4).Should().Be($"+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:{++pushed}\r\n:0\r\n");
            }
        }
        long Allocated() => long.Parse(System.Text.RegularExpressions.Regex.Match(c.Call("INFO", "memory"), @"total_allocated_bytes:(\d+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Transactions(500); // warm-up: first uses of each path
        long before = Allocated();
        Transactions(2000);
        double perTransaction = (Allocated() - before) / 2000.0;
        // The element: 200 bytes and a 24-byte array header on the pinned heap; the list's slots double (8 bytes a
        // slot, ~16 amortised); the rest is the batch's own. A task per commit group brought 88 more.
        perTransaction.Should().BeLessThan(330, "a commit allocates nothing (allocated {0:F0} bytes a transaction)", perTransaction);
        c.Call("LLEN", "room:alloc:backlog").Should().Be(":2500\r\n");
    }

    [Fact]
    public async Task ListRowsWrittenManyPerStatement_KeepTheirOrderWithTheCommitsOtherChanges()
    {
        await using (var s = await InProcessServer.StartAsync(Options()))
        {
            using var c = new RawClient(s.Port);
            c.Send("MULTI");
            c.Send(["RPUSH", "room:a:backlog", .. Enumerable.Range(0, 37).Select(i => $"a{i}")]);
            c.Send("FLUSHALL");
            c.Send("RPUSH", "room:b:backlog", "b0", "b1", "b2");
            c.Send("LPOP", "room:b:backlog");
            c.Send("EXEC");
            c.Read(6).Should().EndWith("*4\r\n:37\r\n+OK\r\n:3\r\n$2\r\nb0\r\n");

            c.Call(["LPUSH", "room:c:backlog", .. Enumerable.Range(0, 20).Select(i => $"c{i}")]).Should().Be(":20\r\n");
            var clients = Enumerable.Range(0, 20).Select(_ => new RawClient(s.Port)).ToList();
            foreach (var (client, i) in clients.Select((x, i) => (x, i))) client.Send("RPUSH", "room:c:backlog", $"d{i}");
            foreach (var client in clients)
            {
                client.Read().Should().StartWith(":");
                client.Dispose();
            }
        }
        // (Read once the server is gone: it holds the file's lock while it runs.) The 37 rows pushed before the
        // flush went with it, and the popped row too: 2 of room:b, 40 of room:c.
        StoredListRows().Should().Be((42L, 0L));
        await using (var s = await InProcessServer.StartAsync(Options()))
        {
            using var c = new RawClient(s.Port);
            c.Call("EXISTS", "room:a:backlog").Should().Be(":0\r\n");
            c.Call("LRANGE", "room:b:backlog", "0", "-1").Should().Be("*2\r\n$2\r\nb1\r\n$2\r\nb2\r\n");
            string c20 = c.Call("LRANGE", "room:c:backlog", "0", "19");
            c20.Should().Be("*20\r\n" + string.Concat(Enumerable.Range(0, 20).Reverse().Select(i => $"${$"c{i}".Length}\r\nc{i}\r\n")));
            var tail = c.Call("LRANGE", "room:c:backlog", "20", "-1");
            tail.Should().StartWith("*20\r\n");
            foreach (int i in Enumerable.Range(0, 20)) tail.Should().Contain($"\r\nd{i}\r\n", "every client's acknowledged push survives");
        }
    }

    /// <summary>
    /// A durable string grown in place by APPEND, SETRANGE, SETBIT and BITFIELD (a <c>GrowableString</c>, read in
    /// place by GET) is committed with its bytes as they were at each commit, and loads back whole; so is one that
    /// BITFIELD created without changing anything.
    /// </summary>
    [Fact]
    public async Task DurableStringGrownInPlace_IsCommittedAtEachChange_AndLoadsBackWhole()
    {
        var expected = new System.Text.StringBuilder();
        await using (var s = await InProcessServer.StartAsync(Options(FsyncPolicy.Everysec)))
        {
            using var c = new RawClient(s.Port);
            for (int i = 0; i < 300; i++)
            {
                string piece = $"part{i};";
                c.Call("APPEND", "durable:x", piece).Should().Be($":{expected.Length + piece.Length}\r\n");
                expected.Append(piece);
                if (i % 50 == 49) c.Call("GET", "durable:x").Should().Be($"${expected.Length}\r\n{expected}\r\n");
            }
            c.Call("SETRANGE", "durable:x", "0", "PART").Should().Be($":{expected.Length}\r\n");
            expected.Remove(0, 4).Insert(0, "PART");
            c.Call("SETBIT", "durable:x", "7", "1").Should().Be(":0\r\n"); // 'P' (0x50) becomes 'Q' (0x51)
            expected[0] = 'Q';
            c.Call("BITFIELD", "durable:x", "SET", "u8", "#1", "90", "GET", "u8", "8").Should().Be("*2\r\n:65\r\n:90\r\n"); // "QART" → "QZRT"
            expected[1] = 'Z';
            c.Call("STRLEN", "durable:x").Should().Be($":{expected.Length}\r\n");
            // A BITFIELD whose only write fails still creates the key (zeros, no event): the store must have it too.
            c.Call("BITFIELD", "durable:f", "OVERFLOW", "FAIL", "SET", "i8", "8", "200").Should().Be("*1\r\n$-1\r\n");
        }
        await using (var s = await InProcessServer.StartAsync(Options(FsyncPolicy.Everysec)))
        {
            using var c = new RawClient(s.Port);
            c.Call("GET", "durable:x").Should().Be($"${expected.Length}\r\n{expected}\r\n");
            c.Call("APPEND", "durable:x", "!").Should().Be($":{expected.Length + 1}\r\n");
            c.Call("GET", "durable:f").Should().Be("$2\r\n\0\0\r\n");
        }
    }

    /// <summary>List rows in the store, and those whose key is gone (a row leaked by a missed delete).</summary>
    private (long Rows, long Orphans) StoredListRows(string? path = null) => StoredRows("list_items", path);

    /// <summary>Rows of an item table (list_items, stream_items...), and those whose key is gone.</summary>
    private (long Rows, long Orphans) StoredRows(string table, string? path = null)
    {
        using var db = new Microsoft.Data.Sqlite.SqliteConnection(new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder { DataSource = path ?? Options().Path, Mode = Microsoft.Data.Sqlite.SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"SELECT COUNT(*), COUNT(*) FILTER (WHERE kid NOT IN (SELECT id FROM keys WHERE key IS NOT NULL)) FROM {table}";
        using var r = cmd.ExecuteReader();
        r.Read();
        return (r.GetInt64(0), r.GetInt64(1));
    }

    private static long DurableListElements(RawClient c)
    {
        long n = 0;
        for (int db = 0; db < 3; db++)
        {
            c.Call("SELECT", db.ToString());
            foreach (var k in Keys.Where(k => k != "plain"))
            {
                if (c.Call("TYPE", k) == "+list\r\n") n += long.Parse(c.Call("LLEN", k).Trim(':', '\r', '\n'));
            }
        }
        c.Call("SELECT", "0");
        return n;
    }

    [Fact]
    public async Task ListsOfManyRowsAndLargeValues_LoadWhole_AcrossTheLoadersBatches()
    {
        // The loader hands rows from the thread stepping SQLite to the one making the elements in batches of
        // 8,192 rows or 1 MiB of values: 40,000 rows over three interleaved lists cross many batches by count,
        // 3 KiB values cross them by size, and one 1.5 MiB value is larger than a batch. Empty values too.
        var expected = new Dictionary<string, List<string>> { ["room:1:backlog"] = [], ["room:2:backlog"] = [], ["room:3:backlog"] = [] };
        await using (var s = await InProcessServer.StartAsync(Options(FsyncPolicy.No)))
        {
            using var c = new RawClient(s.Port);
            for (int i = 0; i < 40_000; i += 100)
            {
                string key = $"room:{1 + i / 100 % 3}:backlog";
                var values = Enumerable.Range(i, 100).Select(j => j % 997 == 0 ? "" : j % 50 == 0 ? new string((char)('a' + j % 26), 3000) : $"m{j}").ToArray();
                bool left = i % 300 == 0;
                c.Call([left ? "LPUSH" : "RPUSH", key, .. values]).Should().StartWith(":");
                if (left) expected[key].InsertRange(0, values.Reverse());
                else expected[key].AddRange(values);
            }
            string big = new('B', 1536 * 1024);
            c.Call("RPUSH", "room:2:backlog", big).Should().StartWith(":");
            expected["room:2:backlog"].Add(big);
            c.Call("RPUSH", "room:gone:backlog", "x", "y").Should().Be(":2\r\n");
        }
        using (var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Options().Path};Pooling=False"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "DELETE FROM keys WHERE key = CAST('room:gone:backlog' AS BLOB)"; // its rows are orphans now
            cmd.ExecuteNonQuery().Should().Be(1);
        }
        await using (var s = await InProcessServer.StartAsync(Options(FsyncPolicy.No)))
        {
            using var c = new RawClient(s.Port);
            foreach (var (key, values) in expected)
            {
                var reply = new System.Text.StringBuilder($"*{values.Count}\r\n");
                foreach (var v in values) reply.Append($"${v.Length}\r\n{v}\r\n");
                c.Call("LRANGE", key, "0", "-1").Should().Be(reply.ToString(), key);
            }
            c.Call("EXISTS", "room:gone:backlog").Should().Be(":0\r\n");
        }
        StoredListRows().Should().Be((40_001L, 0L), "the orphan rows were deleted on load");
    }

    [Theory]
    [InlineData(false, "")]
    [InlineData(true, "")]
    [InlineData(false, "a dir #1 ?x=%41&y")] // the second connection opens the file by URI: every character escaped
    public async Task LargeTable_IsReadInTwoHalvesByTwoConnections_AfterACleanStopOrACrash(bool crashed, string subdirectory)
    {
        var options = Options(FsyncPolicy.No) with { Path = Path.Combine(_dir, subdirectory, "store.db") };
        // From 100,000 sequence numbers up the loader reads the upper half on a second, immutable connection.
        // Rows of one list lie in both halves; a row of the upper half takes the position of a row of the lower
        // half (the later row wins); orphan rows lie in both halves. After a crash the commits still in the WAL
        // are first moved into the file, which the immutable connection reads alone.
        var expected = new Dictionary<string, List<string>> { ["room:1:backlog"] = [], ["room:2:backlog"] = [] };
        await using (var s = await InProcessServer.StartAsync(options))
        {
            using var c = new RawClient(s.Port);
            c.Call("RPUSH", "room:early:backlog", "x", "y").Should().Be(":2\r\n");
            for (int i = 0; i < 130_000; i += 1000)
            {
                string key = $"room:{1 + i / 1000 % 2}:backlog";
                var values = Enumerable.Range(i, 1000).Select(j => $"m{j}").ToArray();
                bool left = i % 3000 == 0;
                c.Call([left ? "LPUSH" : "RPUSH", key, .. values]).Should().StartWith(":");
                if (left) expected[key].InsertRange(0, values.Reverse());
                else expected[key].AddRange(values);
            }
            c.Call("RPUSH", "room:late:backlog", "x", "y").Should().Be(":2\r\n");
        }
        string path = options.Path;
        using (var db = new Microsoft.Data.Sqlite.SqliteConnection(new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString()))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = """
                DELETE FROM keys WHERE key IN (CAST('room:early:backlog' AS BLOB), CAST('room:late:backlog' AS BLOB));
                INSERT INTO list_items(kid, pos, value) SELECT kid, pos, CAST('replaced' AS BLOB) FROM list_items WHERE value = CAST('m5' AS BLOB);
                """;
            cmd.ExecuteNonQuery();
            if (crashed)
            {
                // The state a crash leaves: these commits in the WAL only (closing would move them into the file).
                File.Copy(path, path + ".crash");
                File.Copy(path + "-wal", path + "-wal.crash");
                new FileInfo(path + "-wal.crash").Length.Should().BeGreaterThan(0);
            }
        }
        if (crashed)
        {
            File.Move(path + ".crash", path, overwrite: true);
            File.Move(path + "-wal.crash", path + "-wal", overwrite: true);
            File.Delete(path + "-shm");
        }
        expected["room:1:backlog"][expected["room:1:backlog"].IndexOf("m5")] = "replaced";
        await using (var s = await InProcessServer.StartAsync(options))
        {
            using var c = new RawClient(s.Port);
            c.Call("INFO", "persistence").Should().Contain("durable_load_readers:2\r\n").And.Contain("durable_loaded_entries:130000\r\n");
            foreach (var (key, values) in expected)
            {
                var reply = new System.Text.StringBuilder($"*{values.Count}\r\n");
                foreach (var v in values) reply.Append($"${v.Length}\r\n{v}\r\n");
                c.Call("LRANGE", key, "0", "-1").Should().Be(reply.ToString(), key);
            }
            c.Call("EXISTS", "room:early:backlog", "room:late:backlog").Should().Be(":0\r\n");
            c.Call("RPUSH", "room:1:backlog", "after").Should().Be($":{expected["room:1:backlog"].Count + 1}\r\n");
        }
        StoredListRows(path).Should().Be((130_001L, 0L), "the orphans of both halves and the row that lost its position were deleted");
        new FileInfo(path + "-wal").Length.Should().Be(0, "a clean stop empties the WAL: the next start needs no checkpoint before its load");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task StoredRowsWithAGapOrTwoAtOnePosition_LoadInPositionOrder_TheLaterRowWinning(bool sparse)
    {
        await using (var s = await InProcessServer.StartAsync(Options()))
        {
            using var c = new RawClient(s.Port);
            c.Call("RPUSH", "room:g:backlog", "a", "b", "c", "d", "e").Should().Be(":5\r\n");
        }
        using (var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Options().Path};Pooling=False"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            // A gap where "b" was, a second row at the position of "d" written after it, and (sparse) a row far
            // beyond the others, which makes the loader sort instead of placing rows by position.
            cmd.CommandText = """
                DELETE FROM list_items WHERE value = X'62';
                INSERT INTO list_items(kid, pos, value) SELECT kid, pos, X'44' FROM list_items WHERE value = X'64';
                """ + (sparse ? "INSERT INTO list_items(kid, pos, value) SELECT kid, pos + 1000, X'7A' FROM list_items WHERE value = X'65';" : "");
            cmd.ExecuteNonQuery();
        }
        await using (var s = await InProcessServer.StartAsync(Options()))
        {
            using var c = new RawClient(s.Port);
            string expected = sparse ? "*5\r\n$1\r\na\r\n$1\r\nc\r\n$1\r\nD\r\n$1\r\ne\r\n$1\r\nz\r\n" : "*4\r\n$1\r\na\r\n$1\r\nc\r\n$1\r\nD\r\n$1\r\ne\r\n";
            c.Call("LRANGE", "room:g:backlog", "0", "-1").Should().Be(expected);
            // The list was renumbered: later writes land where they belong and survive another restart.
            c.Call("RPUSH", "room:g:backlog", "f").Should().Be(sparse ? ":6\r\n" : ":5\r\n");
            c.Call("LPUSH", "room:g:backlog", "0").Should().Be(sparse ? ":7\r\n" : ":6\r\n");
        }
        StoredListRows().Should().Be((sparse ? 7L : 6L, 0L), "the row that lost its position was deleted");
        await using (var s = await InProcessServer.StartAsync(Options()))
        {
            using var c = new RawClient(s.Port);
            c.Call("LRANGE", "room:g:backlog", "0", "-1").Should().Be(sparse
                ? "*7\r\n$1\r\n0\r\n$1\r\na\r\n$1\r\nc\r\n$1\r\nD\r\n$1\r\ne\r\n$1\r\nz\r\n$1\r\nf\r\n"
                : "*6\r\n$1\r\n0\r\n$1\r\na\r\n$1\r\nc\r\n$1\r\nD\r\n$1\r\ne\r\n$1\r\nf\r\n");
        }
    }

    /// <summary>
    /// A random write (or a read that may delete, such as a pop): every command that changes a list's elements at
    /// either end, in the middle or by rotation, sorted sets, strings changed in place, hashes and sets, stores
    /// into a key (SORT, Z*STORE, S*STORE), renames, copies and moves over databases, TTLs set, kept, removed and
    /// passed, and flushes. Many meet a key of another type or a missing key (an error or nothing changed).
    /// </summary>
    private static string[] WriteCommand(Random rng, string k, string k2, string v)
    {
        string n = rng.Next(-2, 4).ToString(), m = rng.Next(-3, 6).ToString(), end = rng.Next(2) == 0 ? "LEFT" : "RIGHT";
        string consumer = $"c{rng.Next(3)}";
        return rng.Next(76) switch
        {
            0 => ["LPUSH", k, v, v + "b"],
            1 => ["RPUSH", k, v],
            2 => ["LPOP", k],
            3 => ["RPOP", k, "2"],
            4 => ["LSET", k, n, v],
            5 => ["LTRIM", k, n, m],
            6 => ["LINSERT", k, rng.Next(2) == 0 ? "AFTER" : "BEFORE", $"v{rng.Next(50)}", v],
            7 => ["LREM", k, n, v],
            8 => ["ZADD", k, rng.Next(12) == 0 ? "-0" : rng.Next(10).ToString(), v], // (-0 and 0 tie, and each keeps its sign)
            9 => ["ZREM", k, v],
            10 => ["ZREMRANGEBYSCORE", k, "0", rng.Next(5).ToString()],
            11 => ["ZPOPMIN", k],
            12 => ["SET", k, v],
            13 => ["HSET", k, v, v],
            14 => ["SADD", k, v],
            15 => ["DEL", k],
            16 => ["RENAME", k, k2],
            17 => ["EXPIRE", k, "1000"],
            18 => ["PERSIST", k],
            19 => ["MOVE", k, rng.Next(3).ToString()],
            20 => ["SELECT", rng.Next(3).ToString()],
            21 => rng.Next(8) == 0 ? ["SWAPDB", "0", rng.Next(1, 3).ToString()] : ["LMOVE", k, k2, "LEFT", "RIGHT"],
            22 => rng.Next(10) == 0 ? ["FLUSHDB"] : ["PEXPIRE", k, "1"],
            23 => ["COPY", k, k2],
            24 => ["LMOVE", k, rng.Next(2) == 0 ? k : k2, end, rng.Next(2) == 0 ? "LEFT" : "RIGHT"],
            25 => ["RPOPLPUSH", k, rng.Next(2) == 0 ? k : k2],
            26 => ["LMPOP", "2", k, k2, end, "COUNT", rng.Next(1, 4).ToString()],
            27 => [rng.Next(2) == 0 ? "LPUSHX" : "RPUSHX", k, v, v + "x"],
            28 => ["RPUSH", k, v, v + "1", v + "2", v + "3"],
            29 => ["LPOP", k, rng.Next(0, 5).ToString()],
            30 => ["SORT", k, "ALPHA", "STORE", k2],
            31 => ["SORT", k, "BY", "nosort", "LIMIT", "1", "2", "ALPHA", "STORE", k],
            32 => ["ZUNIONSTORE", k2, "2", k, k2],
            33 => ["ZINTERSTORE", k, "1", k2],
            34 => ["ZRANGESTORE", k2, k, "0", n],
            35 => ["ZINCRBY", k, "1.5", v],
            36 => ["ZPOPMAX", k, "2"],
            37 => ["ZREMRANGEBYRANK", k, "0", n],
            38 => ["ZADD", k, "GT", "CH", rng.Next(10).ToString(), v, "3", v + "z"],
            39 => ["APPEND", k, v],
            40 => ["SETRANGE", k, rng.Next(6).ToString(), v],
            41 => ["INCRBY", k, n],
            42 => ["GETDEL", k],
            43 => rng.Next(2) == 0 ? ["GETEX", k, "PERSIST"] : ["GETEX", k, "EX", "1000"],
            44 => ["SET", k, v, "KEEPTTL", "GET"],
            45 => ["MSET", k, v, k2, v + "m"],
            46 => ["SETBIT", k, rng.Next(40).ToString(), "1"],
            47 => ["HINCRBY", k, "n", n],
            48 => ["HDEL", k, v, "n"],
            49 => ["SPOP", k],
            50 => ["SMOVE", k, k2, v],
            51 => ["SINTERSTORE", k2, k, k2],
            52 => ["RENAMENX", k, k2],
            53 => ["COPY", k, k2, "DB", rng.Next(3).ToString(), "REPLACE"],
            54 => ["EXPIREAT", k, "1"],
            55 => ["EXPIRE", k, "2000", rng.Next(2) == 0 ? "NX" : "GT"],
            56 => ["UNLINK", k, k2],
            57 => ["BLMOVE", k, k2, end, "LEFT", "0.01"],
            58 => ["BLMPOP", "0.01", "1", k, end, "COUNT", "2"],
            59 => ["SETEX", k, "1000", v],
            60 => ["XADD", k, "*", "f", v],
            61 => ["XADD", k, "MAXLEN", "3", "*", "f", v, "g", n],
            62 => ["XTRIM", k, "MAXLEN", n],
            63 => ["XADD", k, "NOMKSTREAM", "*", v, v],
            // Consumer groups: pending entries are rows of their own. "<pending>" is a pending ID of group g (Pending).
            64 => ["XGROUP", "CREATE", k, "g", rng.Next(2) == 0 ? "0" : "$", "MKSTREAM"],
            65 => ["XREADGROUP", "GROUP", "g", consumer, "COUNT", "3", "STREAMS", k, ">"],
            66 => ["XACK", k, "g", "<pending>", "<pending>"],
            67 => ["XAUTOCLAIM", k, "g", consumer, "0", "0", "COUNT", "2", .. (rng.Next(2) == 0 ? new[] { "JUSTID" } : [])],
            68 => rng.Next(4) switch
            {
                0 => ["XGROUP", "DELCONSUMER", k, "g", consumer],
                1 => ["XGROUP", "DESTROY", k, "g"],
                2 => ["XREADGROUP", "GROUP", "g", consumer, "STREAMS", k, "0"],
                _ => ["XCLAIM", k, "g", consumer, "0", "<pending>", "RETRYCOUNT", n.TrimStart('-')],
            },
            69 => ["XDEL", k, "<pending>"],
            _ => [rng.Next(2) == 0 ? "LPUSH" : "RPUSH", k, v, v + "p"], // (lists are the backlog: more of them)
        };
    }

    /// <summary>Each "&lt;pending&gt;" of a command: an ID pending in group g of its key (XPENDING), or 0-1 when none is.</summary>
    internal static string[] WithPendingIds(RawClient c, string[] cmd)
    {
        if (!cmd.Contains("<pending>")) return cmd;
        string key = cmd[1];
        var ids = System.Text.RegularExpressions.Regex.Matches(c.Call("XPENDING", key, "g", "-", "+", "5"), @"\r\n\$\d+\r\n(\d+-\d+)\r\n")
            .Select(m => m.Groups[1].Value).ToList();
        int next = 0;
        return cmd.Select(a => a != "<pending>" ? a : ids.Count == 0 ? "0-1" : ids[next++ % ids.Count]).ToArray();
    }

    /// <summary>
    /// Random writes over durable and plain keys of every type, renames and moves between names and
    /// databases, flushes, SWAPDB, expiry: after each of several restarts the durable state must be exactly
    /// what it was.
    /// </summary>
    /// <summary>Seeds 42, 7, 2026, 11 and 12; or KPS_FUZZ_COUNT seeds (default 10) from KPS_FUZZ_FROM, when set.</summary>
    public static IEnumerable<object[]> RestartSeeds() =>
        (int.TryParse(Environment.GetEnvironmentVariable("KPS_FUZZ_FROM"), out int from)
            ? Enumerable.Range(from, int.TryParse(Environment.GetEnvironmentVariable("KPS_FUZZ_COUNT"), out int count) ? count : 10)
            : [42, 7, 2026, 11, 12]).Select(seed => new object[] { seed });

    [Theory]
    [MemberData(nameof(RestartSeeds))]
    // Every list gets its bounds at each clean stop (see PersistenceTests.ListBounds), however short.
    public Task RandomWrites_SurviveRestarts(int seed) => WithListBoundsMinRows(1, () => RandomWritesAndRestarts(seed));

    private async Task RandomWritesAndRestarts(int seed)
    {
        var rng = new Random(seed);
        string? expected = null;
        long expectedRows = 0;
        bool sawLists = false;
        for (int round = 0; round <= 4; round++)
        {
            if (expected != null) StoredListRows().Should().Be((expectedRows, 0L), "the store holds exactly one row per list element");
            if (round == 4) break;
            await using var s = await InProcessServer.StartAsync(Options(FsyncPolicy.Everysec));
            using var c = new RawClient(s.Port);
            if (expected != null) Snapshot(c).Should().Be(expected, $"restart {round} must restore what the last run saw");
            for (int i = 0; i < 250; i++)
            {
                string k = Keys[rng.Next(Keys.Length)], k2 = Keys[rng.Next(Keys.Length)], v = $"v{rng.Next(50)}";
                string[] cmd = WithPendingIds(c, WriteCommand(rng, k, k2, v));
                int shape = rng.Next(6);
                if (shape == 1)
                {
                    // One batch: pops and pushes at both ends of a list within a single commit.
                    c.Send(cmd);
                    c.Send("LPOP", "room:b:backlog");
                    c.Send("LPUSH", "room:b:backlog", v, v + "c");
                    c.Send("RPOP", "room:b:backlog");
                    c.Send("RPUSH", "room:b:backlog", v + "d");
                    c.Read(5);
                }
                else if (shape == 0)
                {
                    c.Send("MULTI");
                    c.Send(cmd);
                    c.Send("RPUSH", "room:a:backlog", "in-exec");
                    c.Send("EXEC");
                    c.Read(4);
                }
                else
                {
                    c.Call(cmd);
                }
            }
            c.Call("SELECT", "0");
            Thread.Sleep(20); // let the keys given 1 ms TTLs expire (and be deleted from the store)
            expected = Snapshot(c);
            sawLists |= expected.Contains(" +list ttl:");
            int present = System.Text.RegularExpressions.Regex.Count(expected, @"(?m)^[0-2] [a-z:]+ \+(?!none )");
            c.Call("INFO", "persistence").Should().Contain($"durable_keys:{present}\r\n", "INFO counts the durable keys that exist");
            expectedRows = DurableListElements(c);
        }
        sawLists.Should().BeTrue("the run reached durable lists");
    }

    [Theory]
    [InlineData(FsyncPolicy.Everysec, "1")]
    [InlineData(FsyncPolicy.Everysec, "2")]
    [InlineData(FsyncPolicy.Always, "2")]
    public async Task ConcurrentBacklogTransactions_AreAllAcknowledgedAndSurviveRestart(FsyncPolicy fsync, string ioThreads)
    {
        // Everysec commits are driven by the event loops themselves (one group per loop iteration), always
        // commits from the pool; either way every EXEC is answered once committed and nothing is lost.
        const int clients = 8, perClient = 150;
        await using (var s = await InProcessServer.StartAsync(Options(fsync), ("io-threads", ioThreads)))
        {
            using var listener = new RawClient(s.Port);
            listener.Call("PSUBSCRIBE", "room:*").Should().EndWith(":1\r\n");
            var tasks = Enumerable.Range(0, clients).Select(n => Task.Run(() =>
            {
                using var c = new RawClient(s.Port);
                for (int i = 0; i < perClient; i++)
                {
                    c.Send("MULTI");
                    c.Send("LPUSH", $"room:{n % 3}:backlog", $"c{n}-m{i}");
                    c.Send("PUBLISH", $"room:{n % 3}", $"c{n}-m{i}");
                    c.Send("EXEC");
                    c.Read(4, timeoutMs: 20_000).Should().StartWith("+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:");
                }
            })).ToArray();
            await Task.WhenAll(tasks);
            listener.Read(clients * perClient, timeoutMs: 20_000).Should().Contain("c0-m149");
            if (fsync == FsyncPolicy.Always)
            {
                // always: every commit was fdatasynced before its clients were answered.
                using var admin = new RawClient(s.Port);
                var info = admin.Call("INFO", "persistence");
                string Field(string name) => info.Split("\r\n").Single(l => l.StartsWith(name + ":"))[(name.Length + 1)..];
                long.Parse(Field("durable_wal_fsyncs")).Should().Be(long.Parse(Field("durable_commits"))).And.BeGreaterThan(0);
            }
        }
        await using (var s = await InProcessServer.StartAsync(Options(fsync)))
        {
            using var c = new RawClient(s.Port);
            long total = 0;
            for (int room = 0; room < 3; room++)
            {
                var len = c.Call("LLEN", $"room:{room}:backlog");
                total += long.Parse(len.Trim(':', '\r', '\n'));
                var all = c.Call("LRANGE", $"room:{room}:backlog", "0", "-1");
                for (int n = room; n < clients; n += 3)
                {
                    // Each client's messages newest-first, in its own order.
                    all.IndexOf($"c{n}-m{perClient - 1}\r\n").Should().BeLessThan(all.IndexOf($"c{n}-m0\r\n"));
                }
            }
            total.Should().Be(clients * perClient);
        }
        StoredListRows().Should().Be((clients * perClient, 0L));
    }

    [Fact]
    public async Task DurableKeys_UseOneEventLoopByDefault_AndWorkWithSeveral()
    {
        await using (var s = await InProcessServer.StartAsync(Options()))
        {
            using var c = new RawClient(s.Port);
            c.Call("CONFIG", "GET", "io-threads").Should().Be("*2\r\n$10\r\nio-threads\r\n$1\r\n1\r\n");
        }
        await using (var s = await InProcessServer.StartAsync(Options(), ("io-threads", "2")))
        {
            using var c = new RawClient(s.Port);
            c.Call("CONFIG", "GET", "io-threads").Should().Be("*2\r\n$10\r\nio-threads\r\n$1\r\n2\r\n");
            // Two loops: clients dealt to both still commit, in order, one unit per transaction.
            using var d = new RawClient(s.Port);
            for (int i = 0; i < 20; i++)
            {
                (i % 2 == 0 ? c : d).Call("RPUSH", "room:two:backlog", $"m{i}").Should().Be($":{i + 1}\r\n");
            }
        }
        await using (var s = await InProcessServer.StartAsync(Options()))
        {
            using var c = new RawClient(s.Port);
            c.Call("LRANGE", "room:two:backlog", "0", "-1").Should().Be("*20\r\n" + string.Concat(Enumerable.Range(0, 20).Select(i => $"${($"m{i}").Length}\r\nm{i}\r\n")));
        }
    }

    [Fact]
    public async Task ManyCommits_AreCheckpointedOffTheEventLoop_AndSurviveRestart()
    {
        // Automatic checkpoints are off; the writer thread checkpoints after about 10,000 WAL frames (one
        // commit writes at least one), and everysec's fsync runs on a thread of its own.
        const int pushes = 10_500;
        await using (var s = await InProcessServer.StartAsync(Options(FsyncPolicy.Everysec)))
        {
            using var c = new RawClient(s.Port);
            for (int i = 0; i < pushes; i++) c.Call("RPUSH", "room:big:backlog", $"m{i}").Should().Be($":{i + 1}\r\n");
            string info = "";
            for (int tries = 0; tries < 50 && !(info.Contains("durable_checkpoints:1") && !info.Contains("durable_wal_fsyncs:0")); tries++)
            {
                await Task.Delay(100);
                info = c.Call("INFO", "persistence");
            }
            info.Should().Contain("durable_checkpoints:1\r\n").And.Contain("durable_failed_commits:0\r\n").And.NotContain("durable_wal_fsyncs:0\r\n");
            // The WAL was written ahead with zeros, 1 MiB at a time, and stops growing at the checkpoint's size:
            // 10,000 frames of 2 KiB pages (room for 12,500), not the ~10,500 this test's commits wrote (SQLite restarted it).
            long Field(string name) => long.Parse(System.Text.RegularExpressions.Regex.Match(info, name + @":(\d+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            Field("durable_wal_prefilled_bytes").Should().BeGreaterThan(15L << 20).And.BeLessThanOrEqualTo(26L << 20);
            new FileInfo(Options().Path + "-wal").Length.Should().BeLessThanOrEqualTo(26L << 20);
            // Each commit's WAL frames went out in one write: SQLite asked for a header and a page per frame.
            // (Counted for the whole process, where other tests' stores commit too, in the same way.)
            Field("durable_wal_write_calls").Should().BeGreaterThanOrEqualTo(pushes);
            Field("durable_wal_writes").Should().BeGreaterThanOrEqualTo(2 * Field("durable_wal_write_calls"));
        }
        await using (var s = await InProcessServer.StartAsync(Options(FsyncPolicy.Everysec)))
        {
            using var c = new RawClient(s.Port);
            c.Call("LLEN", "room:big:backlog").Should().Be($":{pushes}\r\n");
            c.Call("LINDEX", "room:big:backlog", "0").Should().Be("$2\r\nm0\r\n");
            c.Call("LINDEX", "room:big:backlog", "-1").Should().Be($"$6\r\nm{pushes - 1}\r\n");
        }
        StoredListRows().Should().Be((pushes, 0L));
    }

    [Fact]
    public async Task Version1File_ListRowsKeyedByPosition_AreConvertedAndKeepTheirOrder()
    {
        using (var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Options().Path};Pooling=False"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = """
                CREATE TABLE keys(id INTEGER PRIMARY KEY, db INTEGER NOT NULL, key BLOB, type INTEGER NOT NULL, expire_at INTEGER, value BLOB);
                CREATE UNIQUE INDEX keys_name ON keys(db, key);
                CREATE TABLE list_items(kid INTEGER NOT NULL, pos INTEGER NOT NULL, value BLOB NOT NULL, PRIMARY KEY(kid, pos)) WITHOUT ROWID;
                CREATE TABLE zset_items(kid INTEGER NOT NULL, member BLOB NOT NULL, score REAL NOT NULL, PRIMARY KEY(kid, member)) WITHOUT ROWID;
                INSERT INTO keys VALUES(7, 0, CAST('room:m:backlog' AS BLOB), 1, NULL, NULL);
                INSERT INTO list_items VALUES(7, -1, CAST('oldest' AS BLOB)), (7, -3, CAST('newest' AS BLOB)), (7, -2, CAST('middle' AS BLOB));
                """;
            cmd.ExecuteNonQuery();
        }
        await using (var s = await InProcessServer.StartAsync(Options()))
        {
            using var c = new RawClient(s.Port);
            c.Call("LRANGE", "room:m:backlog", "0", "-1").Should().Be("*3\r\n$6\r\nnewest\r\n$6\r\nmiddle\r\n$6\r\noldest\r\n");
            c.Call("LPUSH", "room:m:backlog", "after").Should().Be(":4\r\n");
            c.Call("RPOP", "room:m:backlog").Should().Be("$6\r\noldest\r\n");
        }
        StoredListRows().Should().Be((3L, 0L));
        await using (var s = await InProcessServer.StartAsync(Options()))
        {
            using var c = new RawClient(s.Port);
            c.Call("LRANGE", "room:m:backlog", "0", "-1").Should().Be("*3\r\n$5\r\nafter\r\n$6\r\nnewest\r\n$6\r\nmiddle\r\n");
        }
    }

    [Fact]
    public async Task SecondServerOnTheSameFile_RefusesDurableWritesWithMisconf()
    {
        await using var first = await InProcessServer.StartAsync(Options());
        using (var c = new RawClient(first.Port)) c.Call("RPUSH", "room:a:backlog", "x").Should().Be(":1\r\n");
        await using var second = await InProcessServer.StartAsync(Options());
        using var c2 = new RawClient(second.Port);
        c2.Call("RPUSH", "room:a:backlog", "y").Should().StartWith("-MISCONF Errors writing durable keys to the SQLite database (SQLite Error 5: 'database is locked'.");
        c2.Call("SET", "plain", "ok").Should().Be("+OK\r\n", "keys that are not durable are not affected");
        c2.Call("GET", "plain").Should().Be("$2\r\nok\r\n");
        c2.Call("MULTI").Should().Be("+OK\r\n");
        c2.Call("LPUSH", "room:b:backlog", "z").Should().StartWith("-MISCONF");
        c2.Call("EXEC").Should().Be("-EXECABORT Transaction discarded because of previous errors.\r\n");
        c2.Call("INFO", "persistence").Should().Contain("durable_status:err").And.Contain("database is locked");
    }

    /// <summary>Overwrites the first page of the named table or index with bytes that are no b-tree page.</summary>
    private void DamageRootPage(string name)
    {
        long root, pageSize;
        using (var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Options().Path};Pooling=False"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)";
            cmd.ExecuteNonQuery();
            cmd.CommandText = $"SELECT rootpage FROM sqlite_master WHERE name = '{name}'";
            root = (long)cmd.ExecuteScalar()!;
            cmd.CommandText = "PRAGMA page_size";
            pageSize = (long)cmd.ExecuteScalar()!;
        }
        using var f = File.OpenWrite(Options().Path);
        f.Position = (root - 1) * pageSize;
        f.Write(Enumerable.Repeat((byte)0x77, 64).ToArray());
    }

    [Fact]
    public async Task DamagedIndex_FoundByTheCheckAfterTheLoad_KeepsDataReadableAndRefusesDurableWrites()
    {
        await using (var s = await InProcessServer.StartAsync(Options()))
        {
            using var c = new RawClient(s.Port);
            c.Call("RPUSH", "room:a:backlog", "x", "y").Should().Be(":2\r\n");
        }
        DamageRootPage("keys_name"); // the load reads the keys table without this index: only the check sees it
        await using (var s = await InProcessServer.StartAsync(Options()))
        {
            using var c = new RawClient(s.Port);
            c.Call("LRANGE", "room:a:backlog", "0", "-1").Should().Be("*2\r\n$1\r\nx\r\n$1\r\ny\r\n", "what loaded stays readable");
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (!c.Call("INFO", "persistence").Contains("durable_status:err") && DateTime.UtcNow < deadline) Thread.Sleep(10);
            c.Call("INFO", "persistence").Should().Contain("durable_status:err").And.Contain("durable_last_error:database is corrupt:");
            c.Call("RPUSH", "room:a:backlog", "z").Should().StartWith("-MISCONF Errors writing durable keys to the SQLite database (database is corrupt:");
            c.Call("SET", "plain", "ok").Should().Be("+OK\r\n", "keys that are not durable are not affected");
        }
    }

    [Fact]
    public async Task DamagedListPage_FoundByTheLoad_LoadsNothingAndRefusesDurableWrites()
    {
        await using (var s = await InProcessServer.StartAsync(Options()))
        {
            using var c = new RawClient(s.Port);
            c.Call("RPUSH", "room:a:backlog", "x", "y").Should().Be(":2\r\n");
            c.Call("SET", "durable:x", "v").Should().Be("+OK\r\n");
        }
        DamageRootPage("list_items");
        await using (var s = await InProcessServer.StartAsync(Options()))
        {
            using var c = new RawClient(s.Port);
            c.Call("INFO", "persistence").Should().Contain("durable_status:err").And.Contain("durable_last_error:database is corrupt:");
            c.Call("EXISTS", "room:a:backlog", "durable:x").Should().Be(":0\r\n", "a partly read file loads nothing");
            c.Call("RPUSH", "room:a:backlog", "z").Should().StartWith("-MISCONF");
        }
    }

    [Fact]
    public async Task CorruptFile_IsReportedAndDurableWritesAreRefused()
    {
        var o = Options();
        File.WriteAllBytes(o.Path, Enumerable.Range(0, 8192).Select(i => (byte)(i * 7)).ToArray());
        await using var s = await InProcessServer.StartAsync(o);
        using var c = new RawClient(s.Port);
        c.Call("LPUSH", "room:a:backlog", "x").Should().StartWith("-MISCONF").And.Contain("file is not a database");
        c.Call("LRANGE", "room:a:backlog", "0", "-1").Should().Be("*0\r\n");
    }
}
