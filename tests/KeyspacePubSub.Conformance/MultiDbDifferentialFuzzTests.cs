using System.Text;
using FluentAssertions;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Conformance;

/// <summary>
/// What the keyspace fuzz (<see cref="DifferentialFuzzTests"/>) leaves out because it changes a connection or the
/// whole server: SELECT, MOVE, COPY ... DB, SWAPDB, FLUSHDB, FLUSHALL, DBSIZE, mixed with writes, TTLs and
/// renames over databases 0 to 2, and transactions whose WATCHed keys a second client changes (from any
/// database, by writing, moving, swapping or flushing). The same random steps go to a real redis-server and to
/// ours; each step's reply, the keyspace notifications it causes (KEA, heard by a PSUBSCRIBE * connection) and
/// then every key of databases 0 to 2 (type, value, whether it has a TTL) must be the same. Fixed seeds; odd
/// ones speak RESP3.
/// </summary>
public sealed class MultiDbDifferentialFuzzTests(ServersFixture servers) : IClassFixture<ServersFixture>
{
    private static readonly string[] Keys = ["k1", "k2", "l1", "s1"];
    private static readonly string[] Databases = ["0", "1", "2", "0", "1", "2", "15", "16", "-1", "abc", "1.0", "+1", " 1", "", "9223372036854775808"];

    /// <summary>Seeds 1 to 4, or others (<see cref="FuzzSeeds"/>).</summary>
    public static IEnumerable<object[]> Seeds() => FuzzSeeds.Range(4);

    [ConformanceTheory]
    [MemberData(nameof(Seeds))]
    public void RandomStepsOverDatabases_GetTheSameRepliesAndLeaveTheSameKeys(int seed)
    {
        // A main client (its transactions, its selected database) and another that changes what it watches.
        using var redis = new RawClient(servers.Redis!.Port);
        using var ours = new RawClient(servers.OursPort);
        using var redisOther = new RawClient(servers.Redis!.Port);
        using var oursOther = new RawClient(servers.OursPort);
        using var redisView = new RawClient(servers.Redis!.Port);
        using var oursView = new RawClient(servers.OursPort);
        using var redisEvents = new RawClient(servers.Redis!.Port);
        using var oursEvents = new RawClient(servers.OursPort);
        foreach (var c in new[] { redisView, oursView }) c.Call("CONFIG", "SET", "notify-keyspace-events", "KEA").Should().Be("+OK\r\n");
        foreach (var c in new[] { redisEvents, oursEvents }) c.Call("PSUBSCRIBE", "*").Should().StartWith("*3\r\n");
        if (seed % 2 == 1)
        {
            foreach (var c in new[] { redis, ours, redisOther, oursOther }) c.Call("HELLO", "3").Should().StartWith("%");
        }
        var rng = new Random(seed);
        for (int i = 0; i < 600; i++)
        {
            if (i % 200 == 0) Setup([redis, redisOther], [ours, oursOther], redisEvents, oursEvents);
            bool other = rng.Next(4) == 0;
            string[] args = other ? OtherStep(rng) : MainStep(rng);
            string expected = (other ? redisOther : redis).Call(args), actual = (other ? oursOther : ours).Call(args);
            string step = $"seed {seed}, step #{i}: {(other ? "other" : "main")} {Twins.Describe(args)}";
            actual.Should().Be(expected, step);
            var (expectedEvents, actualEvents) = Twins.Read(redisEvents, oursEvents, 2, 500);
            actualEvents.Should().Be(expectedEvents, $"the notifications of {step}");
            Snapshot(oursView).Should().Be(Snapshot(redisView), $"the keys after {step}");
            oursView.Call("DEBUG", "DIGEST").Should().Be(redisView.Call("DEBUG", "DIGEST"), $"the digest of every database after {step}");
        }
    }

    /// <summary>The main client: database commands, writes and reads, and transactions.</summary>
    private static string[] MainStep(Random rng)
    {
        string key = Pick(rng, Keys), key2 = Pick(rng, Keys), db = Pick(rng, Databases);
        return rng.Next(22) switch
        {
            0 or 1 => ["SELECT", db],
            2 or 3 => ["MOVE", key, db],
            4 => ["COPY", key, key2],
            5 => rng.Next(2) == 0 ? ["COPY", key, key2, "DB", db] : ["COPY", key, key2, "DB", db, "REPLACE"],
            6 => ["SWAPDB", db, Pick(rng, Databases)],
            7 => rng.Next(3) switch { 0 => ["FLUSHDB"], 1 => ["FLUSHDB", Pick(rng, ["ASYNC", "SYNC", "sync", "LAZY"])], _ => ["DBSIZE"] },
            8 => rng.Next(8) == 0 ? ["FLUSHALL"] : ["DBSIZE"],
            9 => rng.Next(2) == 0 ? ["SET", key, $"v{rng.Next(100)}"] : ["SET", key, $"v{rng.Next(100)}", "EX", "1000"],
            10 => ["DEL", key, key2],
            11 => rng.Next(2) == 0 ? ["EXISTS", key, key2] : ["TYPE", key],
            12 => ["LPUSH", key, $"e{rng.Next(10)}"],
            13 => ["SADD", key, $"m{rng.Next(10)}"],
            14 => rng.Next(2) == 0 ? ["RENAME", key, key2] : ["RENAMENX", key, key2],
            15 => rng.Next(3) switch { 0 => ["EXPIRE", key, "1000"], 1 => ["PERSIST", key], _ => ["EXPIREAT", key, "1"] },
            16 or 17 => rng.Next(3) == 0 ? ["WATCH", key, key2] : ["WATCH", key],
            18 => ["UNWATCH"],
            19 => ["MULTI"],
            20 => ["EXEC"],
            _ => rng.Next(3) switch { 0 => ["EXEC"], 1 => ["DISCARD"], _ => ["GET", key] },
        };
    }

    /// <summary>The other client: it moves between databases and changes keys the main client may watch.</summary>
    private static string[] OtherStep(Random rng)
    {
        string key = Pick(rng, Keys), db = Pick(rng, ["0", "1", "2"]);
        return rng.Next(8) switch
        {
            0 or 1 => ["SELECT", db],
            2 => ["SET", key, $"o{rng.Next(10)}"],
            3 => ["DEL", key],
            4 => ["MOVE", key, db],
            5 => ["SWAPDB", db, Pick(rng, ["0", "1", "2"])],
            6 => rng.Next(4) switch { 0 => ["FLUSHDB"], 1 => rng.Next(3) == 0 ? ["FLUSHALL"] : ["EXPIREAT", key, "1"], _ => ["EXPIRE", key, "1000"] },
            _ => ["COPY", key, Pick(rng, Keys), "DB", db, "REPLACE"],
        };
    }

    private static void Setup(RawClient[] redis, RawClient[] ours, RawClient redisEvents, RawClient oursEvents)
    {
        foreach (var side in new[] { redis, ours })
        {
            foreach (var c in side)
            {
                // Out of a transaction a run may have left open, watching nothing, in database 0.
                c.Call("DISCARD");
                c.Call("UNWATCH");
                c.Call("SELECT", "0").Should().Be("+OK\r\n");
            }
            var main = side[0];
            main.Call("FLUSHALL").Should().Be("+OK\r\n");
            main.Call("SET", "k1", "zero");
            main.Call("RPUSH", "l1", "a", "b");
            main.Call("SELECT", "1");
            main.Call("SET", "k1", "one");
            main.Call("SADD", "s1", "x", "y");
            main.Call("SET", "k2", "ttl", "EX", "1000");
            main.Call("SELECT", "2");
            main.Call("SET", "k2", "two");
            main.Call("SELECT", "0");
        }
        // The setup's own notifications, all of them: a late one would be taken for the next step's.
        redisEvents.ReadAvailable(200);
        oursEvents.ReadAvailable(200);
    }

    /// <summary>Databases 0 to 2: each one's key names (sorted), then each test key's type, value and whether it has a TTL.</summary>
    private static string Snapshot(RawClient view)
    {
        var sb = new StringBuilder();
        for (int db = 0; db <= 2; db++)
        {
            view.Call("SELECT", db.ToString(System.Globalization.CultureInfo.InvariantCulture)).Should().Be("+OK\r\n");
            var names = view.Call("KEYS", "*").Split("\r\n").Where(l => l.Length > 0 && l[0] != '*' && l[0] != '$').Order(StringComparer.Ordinal);
            sb.Append("db").Append(db).Append(": ").AppendJoin(',', names).Append('\n');
            foreach (var key in Keys)
            {
                string type = view.Call("TYPE", key);
                string value = type switch
                {
                    "+string\r\n" => view.Call("GET", key),
                    "+list\r\n" => view.Call("LRANGE", key, "0", "-1"),
                    "+set\r\n" => string.Join(',', view.Call("SMEMBERS", key).Split("\r\n").Where(l => l.Length > 0 && l[0] != '*' && l[0] != '$').Order(StringComparer.Ordinal)),
                    _ => "",
                };
                string ttl = view.Call("TTL", key);
                sb.Append(key).Append(' ').Append(type).Append(value).Append(ttl is ":-1\r\n" or ":-2\r\n" ? ttl : "ttl\r\n");
            }
        }
        return sb.ToString();
    }

    private static string Pick(Random rng, string[] from) => from[rng.Next(from.Length)];
}
