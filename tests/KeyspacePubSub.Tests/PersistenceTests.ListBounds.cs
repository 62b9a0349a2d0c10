using System.Globalization;
using FluentAssertions;
using KeyspacePubSub.Persistence;
using KeyspacePubSub.Testing;
using Microsoft.Data.Sqlite;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// The bounds of large lists written at a clean stop (<c>list_bounds</c>): the next load places rows by them,
/// deletes them, and loads the same lists whether they are right, wrong or gone.
/// </summary>
public sealed partial class PersistenceTests
{
    /// <summary>Runs <paramref name="test"/> with lists from <paramref name="rows"/> elements given bounds at a clean stop (this class's tests run one at a time).</summary>
    private static async Task WithListBoundsMinRows(int rows, Func<Task> test)
    {
        int before = SqliteStore.ListBoundsMinRows;
        SqliteStore.ListBoundsMinRows = rows;
        try
        {
            await test();
        }
        finally
        {
            SqliteStore.ListBoundsMinRows = before;
        }
    }

    private SqliteConnection OpenStore(string? path = null)
    {
        var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path ?? Options().Path, Pooling = false }.ToString());
        db.Open();
        return db;
    }

    private static List<(long Kid, long Low, long High)> Query(SqliteConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        using var r = cmd.ExecuteReader();
        var rows = new List<(long, long, long)>();
        while (r.Read()) rows.Add((r.GetInt64(0), r.GetInt64(1), r.GetInt64(2)));
        return rows;
    }

    private static void Execute(SqliteConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    /// <summary>Pushes 300 elements to room:big:backlog at both ends (and 5 to room:small:backlog); returns the big list in order.</summary>
    private static List<string> FillBigAndSmall(RawClient c)
    {
        var big = new List<string>();
        for (int i = 0; i < 300; i += 20)
        {
            var values = Enumerable.Range(i, 20).Select(j => $"m{j}").ToArray();
            bool left = i % 40 == 0;
            c.Call([left ? "LPUSH" : "RPUSH", "room:big:backlog", .. values]).Should().StartWith(":");
            if (left) big.InsertRange(0, values.Reverse());
            else big.AddRange(values);
        }
        c.Call("RPUSH", "room:small:backlog", "a", "b", "c", "d", "e").Should().Be(":5\r\n");
        return big;
    }

    private static string Lrange(IEnumerable<string> values)
    {
        var list = values.ToList();
        var reply = new System.Text.StringBuilder($"*{list.Count}\r\n");
        foreach (var v in list) reply.Append($"${v.Length}\r\n{v}\r\n");
        return reply.ToString();
    }

    [Fact]
    public Task CleanStop_WritesTheBoundsOfLargeLists_WhichTheNextLoadPlacesByAndDeletes() => WithListBoundsMinRows(64, async () =>
    {
        List<string> big;
        await using (var s = await InProcessServer.StartAsync(Options(FsyncPolicy.Everysec)))
        {
            using var c = new RawClient(s.Port);
            big = FillBigAndSmall(c);
            c.Call("INFO", "persistence").Should().Contain("durable_load_bounded_lists:0\r\n", "a new file has no bounds");
        }
        using (var db = OpenStore())
        {
            // One row, for the list of at least 64 rows, with the lowest and highest position its rows hold.
            Query(db, "SELECT kid, low, high FROM list_bounds").Should().Equal(
                Query(db, "SELECT kid, min(pos), max(pos) FROM list_items WHERE kid = (SELECT id FROM keys WHERE key = CAST('room:big:backlog' AS BLOB))"));
        }
        // A server process, killed after its load and a write: the bounds were deleted by the load, so the file
        // the kill leaves has none (they described the file only until its next commit).
        int port = RedisProcess.FreePort();
        using (var server = new ServerProcess("--port", port.ToString(CultureInfo.InvariantCulture), "--Persistence:Enabled=true",
            $"--Persistence:Path={Options().Path}", "--Persistence:Fsync=always"))
        {
            server.WaitUntilServing(port).Should().BeTrue();
            using var c = new RawClient(port);
            c.Call("INFO", "persistence").Should().Contain("durable_load_bounded_lists:1\r\n");
            c.Call("LRANGE", "room:big:backlog", "0", "-1").Should().Be(Lrange(big));
            c.Call("LPUSH", "room:big:backlog", "after").Should().Be(":301\r\n");
            big.Insert(0, "after");
            server.Kill();
        }
        using (var db = OpenStore()) Query(db, "SELECT kid, low, high FROM list_bounds").Should().BeEmpty();
        await using (var s = await InProcessServer.StartAsync(Options(FsyncPolicy.Everysec)))
        {
            using var c = new RawClient(s.Port);
            c.Call("INFO", "persistence").Should().Contain("durable_load_bounded_lists:0\r\n");
            c.Call("LRANGE", "room:big:backlog", "0", "-1").Should().Be(Lrange(big));
            c.Call("LRANGE", "room:small:backlog", "0", "-1").Should().Be(Lrange(["a", "b", "c", "d", "e"]));
        }
        StoredListRows().Should().Be((306L, 0L));
    });

    /// <summary>Bounds that do not describe the rows (written by hand here; an older server leaves them so when it writes the file).</summary>
    [Theory]
    [InlineData("narrower", "low + 10, high - 10", 0)] // rows outside: the list is sorted instead
    [InlineData("wider", "low - 50, high + 50", 1)] // positions without rows at both ends
    [InlineData("shifted", "low + 1000, high + 1000", 0)] // no row inside
    [InlineData("beyond the table", "low - 100000000, high", 0)] // more positions than the table has rows: not used
    [InlineData("inverted", "high, low", 0)]
    [InlineData("of a key that is gone", "low, high", 0)]
    public Task WrongBounds_CostTimeNeverData(string kind, string bounds, int bounded) => WithListBoundsMinRows(64, async () =>
    {
        List<string> big;
        await using (var s = await InProcessServer.StartAsync(Options(FsyncPolicy.No)))
        {
            using var c = new RawClient(s.Port);
            big = FillBigAndSmall(c);
        }
        using (var db = OpenStore())
        {
            string kid = kind == "of a key that is gone" ? "kid + 1000" : "kid";
            Execute(db, $"""
                CREATE TEMP TABLE b AS SELECT kid, low, high FROM list_bounds;
                DELETE FROM list_bounds;
                INSERT INTO list_bounds(kid, low, high) SELECT {kid}, {bounds} FROM b;
                """);
            // A second row at one position (the later wins) and a gap: the loader's other repairs meet the bounds.
            Execute(db, """
                INSERT INTO list_items(kid, pos, value) SELECT kid, pos, CAST('later' AS BLOB) FROM list_items WHERE value = CAST('m7' AS BLOB);
                DELETE FROM list_items WHERE value = CAST('m100' AS BLOB);
                """);
        }
        big[big.IndexOf("m7")] = "later";
        big.Remove("m100");
        for (int restart = 0; restart < 2; restart++)
        {
            await using var s = await InProcessServer.StartAsync(Options(FsyncPolicy.No));
            using var c = new RawClient(s.Port);
            c.Call("INFO", "persistence").Should().Contain($"durable_load_bounded_lists:{(restart == 0 ? bounded : 1)}\r\n", kind);
            c.Call("LRANGE", "room:big:backlog", "0", "-1").Should().Be(Lrange(big), kind);
            c.Call("LRANGE", "room:small:backlog", "0", "-1").Should().Be(Lrange(["a", "b", "c", "d", "e"]));
            // Written after the load: the list (renumbered for its gap) is stored whole and right.
            c.Call("RPUSH", "room:big:backlog", $"r{restart}").Should().Be($":{big.Count + 1}\r\n");
            big.Add($"r{restart}");
        }
        StoredListRows().Should().Be((big.Count + 5L, 0L), "the row that lost its position was deleted");
    });
}
