using FluentAssertions;
using KeyspacePubSub.Persistence;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>Durable sorted sets loaded whole at start (each key's members adopted at once, see SortedSetValue.Adopt).</summary>
public sealed partial class PersistenceTests
{
    [Fact]
    public async Task LargeSortedSets_LoadAsTheyWere_TiesInMemberOrder()
    {
        // Three sets written interleaved, scores from a small range (many ties, 0 and -0), members of every
        // length around the listpack limit; one set of 128 members (still a listpack in Redis); a set whose key
        // row is deleted by hand (its member rows are skipped).
        var rng = new Random(5);
        string[] keys = ["room:z1:backlog", "room:z2:backlog", "room:z3:backlog"];
        var before = new Dictionary<string, string>();
        await using (var s = await InProcessServer.StartAsync(Options(FsyncPolicy.No)))
        {
            using var c = new RawClient(s.Port);
            for (int i = 0; i < 6000; i += 50)
            {
                var args = new List<string> { "ZADD", keys[i / 50 % 3] };
                for (int j = i; j < i + 50; j++)
                {
                    args.Add(rng.Next(5) == 0 ? "-0" : rng.Next(40).ToString());
                    args.Add(new string((char)('a' + rng.Next(26)), 1 + rng.Next(3)) + j + new string('x', rng.Next(70)));
                }
                c.Call([.. args]).Should().Be(":50\r\n");
            }
            for (int j = 0; j < 128; j++) c.Call("ZADD", "room:small:backlog", (j % 7).ToString(), $"s{127 - j}").Should().Be(":1\r\n");
            c.Call("ZADD", "room:gone:backlog", "1", "a", "2", "b").Should().Be(":2\r\n");
            foreach (var k in keys.Append("room:small:backlog"))
            {
                before[k] = c.Call("ZRANGE", k, "0", "-1", "WITHSCORES") + c.Call("OBJECT", "ENCODING", k) + c.Call("ZRANK", k, "a77");
            }
            c.Call("OBJECT", "ENCODING", "room:small:backlog").Should().Be("$8\r\nlistpack\r\n");
        }
        using (var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Options().Path};Pooling=False"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "DELETE FROM keys WHERE key = CAST('room:gone:backlog' AS BLOB)";
            cmd.ExecuteNonQuery().Should().Be(1);
        }
        await using (var s = await InProcessServer.StartAsync(Options(FsyncPolicy.No)))
        {
            using var c = new RawClient(s.Port);
            foreach (var (k, reply) in before)
            {
                (c.Call("ZRANGE", k, "0", "-1", "WITHSCORES") + c.Call("OBJECT", "ENCODING", k) + c.Call("ZRANK", k, "a77")).Should().Be(reply, k);
            }
            c.Call("EXISTS", "room:gone:backlog").Should().Be(":0\r\n");
            c.Call("INFO", "persistence").Should().Contain("durable_loaded_entries:6128\r\n");
            // Written after the load: ranks and ranges of the adopted skiplist stay right.
            c.Call("ZADD", "room:z1:backlog", "20.5", "mid").Should().Be(":1\r\n");
            string all = c.Call("ZRANGE", "room:z1:backlog", "0", "-1");
            var members = all.Split("\r\n").Where((_, i) => i > 0 && i % 2 == 0).ToList();
            c.Call("ZRANK", "room:z1:backlog", "mid").Should().Be($":{members.IndexOf("mid")}\r\n");
            c.Call("ZREMRANGEBYRANK", "room:z1:backlog", "0", "99").Should().Be(":100\r\n");
            c.Call("ZRANK", "room:z1:backlog", "mid").Should().Be($":{members.IndexOf("mid") - 100}\r\n");
        }
    }

    [Fact]
    public async Task Version2File_ScoresDeclaredReal_AreConverted_AndMinusZeroSurvivesRestarts()
    {
        // A version 2 file: scores declared REAL (SQLite stored -0 there as the integer 0).
        using (var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Options().Path};Pooling=False"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = """
                CREATE TABLE keys(id INTEGER PRIMARY KEY, db INTEGER NOT NULL, key BLOB, type INTEGER NOT NULL, expire_at INTEGER, value BLOB);
                CREATE UNIQUE INDEX keys_name ON keys(db, key);
                CREATE TABLE list_items(seq INTEGER PRIMARY KEY, kid INTEGER NOT NULL, pos INTEGER NOT NULL, value BLOB NOT NULL);
                CREATE TABLE zset_items(kid INTEGER NOT NULL, member BLOB NOT NULL, score REAL NOT NULL, PRIMARY KEY(kid, member)) WITHOUT ROWID;
                INSERT INTO keys VALUES(3, 0, CAST('room:s:backlog' AS BLOB), 2, NULL, NULL);
                INSERT INTO zset_items VALUES(3, CAST('b' AS BLOB), 1.5), (3, CAST('a' AS BLOB), 2), (3, CAST('c' AS BLOB), -2.25);
                PRAGMA user_version = 2;
                """;
            cmd.ExecuteNonQuery();
        }
        await using (var s = await InProcessServer.StartAsync(Options()))
        {
            using var c = new RawClient(s.Port);
            c.Call("ZRANGE", "room:s:backlog", "0", "-1", "WITHSCORES").Should().Be("*6\r\n$1\r\nc\r\n$5\r\n-2.25\r\n$1\r\nb\r\n$3\r\n1.5\r\n$1\r\na\r\n$1\r\n2\r\n");
            c.Call("ZADD", "room:s:backlog", "-0", "z", "0", "y", "-inf", "x").Should().Be(":3\r\n");
        }
        for (int restart = 0; restart < 2; restart++)
        {
            await using var s = await InProcessServer.StartAsync(Options());
            using var c = new RawClient(s.Port);
            c.Call("ZSCORE", "room:s:backlog", "z").Should().Be("$2\r\n-0\r\n", "Redis keeps a score of -0");
            c.Call("ZSCORE", "room:s:backlog", "y").Should().Be("$1\r\n0\r\n");
            c.Call("ZRANGE", "room:s:backlog", "0", "-1").Should().Be("*6\r\n$1\r\nx\r\n$1\r\nc\r\n$1\r\ny\r\n$1\r\nz\r\n$1\r\nb\r\n$1\r\na\r\n");
        }
        using (var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Options().Path};Pooling=False;Mode=ReadOnly"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "SELECT (SELECT user_version FROM pragma_user_version), (SELECT type FROM pragma_table_info('zset_items') WHERE name = 'score')";
            using var r = cmd.ExecuteReader();
            r.Read().Should().BeTrue();
            (r.GetInt64(0), r.GetString(1)).Should().Be((3L, ""));
        }
    }
}
