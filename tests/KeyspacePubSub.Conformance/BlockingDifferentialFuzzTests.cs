using System.Text;
using FluentAssertions;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Conformance;

/// <summary>
/// Blocking pops, which the keyspace fuzz (<see cref="DifferentialFuzzTests"/>) leaves out because they wait:
/// four clients on each server (RESP2 and RESP3 mixed) send the same random steps to a real redis-server and to
/// ours. BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX and BZMPOP without a timeout block on
/// empty keys, XREAD BLOCK 0 on streams without newer entries (XADD, XDEL and XTRIM write them), XREADGROUP
/// BLOCK 0 on a group with nothing new (XGROUP CREATE, SETID and DESTROY, XACK, and deleting or replacing the
/// stream end or serve its wait); pushes, moves (within a database and to another), renames, copies, stores, deletes, type
/// changes, SWAPDB and transactions (where nothing blocks, and what an EXEC pushes is served after it) wake them
/// or, as in Redis, do not. CLIENT REPLY SKIP (alone or queued in a transaction) drops a reply, a served
/// wait's included, and CLIENT REPLY ON follows it or not; a client that had SKIP sent and got no answer is
/// sent two PINGs, which it answers at once if it is free and only once served if it waits. After every step
/// each client must have received the same frames as its twin (so the same clients were served, in the same
/// order, with the same elements), the keyspace notifications (KEA, heard by a PSUBSCRIBE * connection) must be
/// the same, and so must the keys. A client that is blocked sends nothing else until it is served; one client
/// always stays free. Fixed seeds.
/// </summary>
public sealed class BlockingDifferentialFuzzTests(ServersFixture servers) : IClassFixture<ServersFixture>
{
    private const int Clients = 4;
    private static readonly string[] Keys = ["l1", "l2", "z1", "k1", "x1"];

    /// <summary>Seeds 1 to 4, or others (<see cref="FuzzSeeds"/>).</summary>
    public static IEnumerable<object[]> Seeds() => FuzzSeeds.Range(4);

    [ConformanceTheory]
    [MemberData(nameof(Seeds))]
    public void RandomBlockingSteps_ServeTheSameClientsAsRedis(int seed)
    {
        var redis = new RawClient[Clients];
        var ours = new RawClient[Clients];
        var blocked = new string[]?[Clients]; // the command each blocked client waits in; null: free
        var swapQueued = new bool[Clients]; // a SWAPDB waits in the client's open transaction
        var skipSent = new bool[Clients]; // the client sent CLIENT REPLY SKIP: an empty answer need not mean blocked
        var skipQueued = new bool[Clients]; // a CLIENT REPLY SKIP waits in the client's open transaction
        using var redisView = new RawClient(servers.Redis!.Port);
        using var oursView = new RawClient(servers.OursPort);
        using var redisEvents = new RawClient(servers.Redis!.Port);
        using var oursEvents = new RawClient(servers.OursPort);
        try
        {
            foreach (var c in new[] { redisView, oursView })
            {
                c.Call("CONFIG", "SET", "notify-keyspace-events", "KEA").Should().Be("+OK\r\n");
                c.Call("FLUSHALL").Should().Be("+OK\r\n");
            }
            foreach (var c in new[] { redisEvents, oursEvents }) c.Call("PSUBSCRIBE", "*").Should().StartWith("*3\r\n");
            for (int i = 0; i < Clients; i++) Connect(i, seed, redis, ours);
            var rng = new Random(seed);
            for (int step = 0; step < 500; step++)
            {
                if (step % 100 == 99)
                {
                    // Blocked clients go (a closed connection stops waiting) and come back free.
                    for (int i = 0; i < Clients; i++)
                    {
                        if (blocked[i] is null) continue;
                        redis[i].Dispose();
                        ours[i].Dispose();
                        Connect(i, seed, redis, ours);
                        blocked[i] = null;
                        swapQueued[i] = false;
                        skipQueued[i] = false;
                        skipSent[i] = false;
                    }
                }
                var free = Enumerable.Range(0, Clients).Where(i => blocked[i] is null).ToArray();
                free.Should().NotBeEmpty($"one client stays free (seed {seed}, step {step})");
                int sender = free[rng.Next(free.Length)];
                // The last free client does not block: someone must be left to wake the others.
                string[] args = Command(rng, step, mayBlock: free.Length > 1);
                // A CLIENT REPLY SKIP in EXEC leaves its element out of EXEC's array (Redis's own count is one too
                // many), and the reply after the EXEC is skipped: two probing PINGs complete an array missing one
                // element, but not one missing two (seed 43 queued two and could no longer be read). One per transaction.
                if (args is ["CLIENT", "REPLY", "SKIP"] && skipQueued[sender]) args = ["CLIENT", "REPLY", "ON"];
                // SWAPDB makes ready every waited-on key that holds a list or sorted set after the swap, in the
                // order of Redis's blocking_keys dict (its hash seed is random at each start): with two waited-on
                // names, which is served first (and so which client gets what, or the events' order) is Redis's
                // chance. Then it is not sent, nor an EXEC that would run it.
                bool swaps = args[0] == "SWAPDB" || (args[0] == "EXEC" && swapQueued[sender]);
                if (swaps && blocked.Where(b => b != null).SelectMany(b => WaitedKeys(b!)).Distinct().Count() > 1)
                {
                    args = args[0] == "EXEC" ? ["DISCARD"] : ["DBSIZE"];
                }
                redis[sender].Send(args);
                ours[sender].Send(args);
                string what = $"seed {seed}, step {step}: client {sender} sent {string.Join(' ', args)}";
                for (int i = 0; i < Clients; i++)
                {
                    var (expected, actual) = Twins.Read(redis[i], ours[i], 3, 300);
                    actual.Should().Be(expected, $"what client {i} received after {what}");
                    if (i == sender && expected.Length == 0) blocked[i] = args;
                    else if (blocked[i] != null && expected.Length > 0) blocked[i] = null;
                    if (i == sender && args[0] == "SWAPDB" && expected == "+QUEUED\r\n") swapQueued[i] = true;
                    else if (i == sender && args[0] is "EXEC" or "DISCARD") swapQueued[i] = false;
                    if (i == sender && args is ["CLIENT", "REPLY", "SKIP"] && expected == "+QUEUED\r\n") skipQueued[i] = true;
                    else if (i == sender && args[0] is "EXEC" or "DISCARD") skipQueued[i] = false;
                }
                if (args is ["CLIENT", "REPLY", "SKIP"]) skipSent[sender] = true;
                if (blocked[sender] != null && skipSent[sender])
                {
                    // A skipped reply or a wait: two PINGs tell them apart (a blocked client answers them once served;
                    // a free one answers at least the second, as the first may be the command a SKIP drops).
                    foreach (var c in new[] { redis[sender], ours[sender] }) c.SendRaw("*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n");
                    var (expected, actual) = Twins.Read(redis[sender], ours[sender], 3, 300);
                    actual.Should().Be(expected, $"what client {sender} received for two PINGs after {what}");
                    if (expected.Length > 0) blocked[sender] = null;
                }
                var (expectedEvents, actualEvents) = Twins.Read(redisEvents, oursEvents, 2, 300);
                actualEvents.Should().Be(expectedEvents, $"the notifications of {what}");
                Snapshot(oursView).Should().Be(Snapshot(redisView), $"the keys after {what}");
            }
        }
        finally
        {
            foreach (var c in redis.Concat(ours)) c?.Dispose();
        }
    }

    /// <summary>The keys a blocking command waits on.</summary>
    private static IEnumerable<string> WaitedKeys(string[] args) => args[0] switch
    {
        "BLMOVE" or "BRPOPLPUSH" => [args[1]],
        "BLMPOP" or "BZMPOP" => args[3..(3 + int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture))],
        "XREAD" or "XREADGROUP" => StreamKeys(args),
        _ => args[1..^1], // BLPOP, BRPOP, BZPOPMIN, BZPOPMAX: the keys, then the timeout
    };

    /// <summary>XREAD's keys: the first half of what follows STREAMS.</summary>
    private static string[] StreamKeys(string[] args)
    {
        int first = Array.IndexOf(args, "STREAMS") + 1;
        return args[first..(first + (args.Length - first) / 2)];
    }

    private void Connect(int i, int seed, RawClient[] redis, RawClient[] ours)
    {
        redis[i] = new RawClient(servers.Redis!.Port);
        ours[i] = new RawClient(servers.OursPort);
        if ((seed + i) % 2 == 0) return;
        redis[i].Call("HELLO", "3").Should().StartWith("%");
        ours[i].Call("HELLO", "3").Should().StartWith("%");
    }

    private static string[] Command(Random rng, int step, bool mayBlock)
    {
        string L() => rng.Next(6) == 0 ? Keys[rng.Next(Keys.Length)] : rng.Next(2) == 0 ? "l1" : "l2";
        string Z() => rng.Next(6) == 0 ? Keys[rng.Next(Keys.Length)] : "z1";
        string End() => rng.Next(2) == 0 ? "LEFT" : "RIGHT";
        string Side() => rng.Next(2) == 0 ? "MIN" : "MAX";
        string[] ListKeys() => Enumerable.Range(0, rng.Next(1, 3)).Select(_ => L()).ToArray();
        string X() => rng.Next(6) == 0 ? Keys[rng.Next(Keys.Length)] : "x1";
        string Id() => rng.Next(3) switch { 0 => "$", 1 => "0", _ => $"{rng.Next(step + 1) + 1}-0" };
        if (mayBlock && rng.Next(3) == 0)
        {
            if (rng.Next(9) == 0)
            {
                // XREAD on one or two streams, after "$" (the last ID when it arrives), the start, or an ID.
                string[] streams = rng.Next(3) == 0 ? [X(), X()] : [X()];
                return ["XREAD", .. rng.Next(2) == 0 ? new[] { "COUNT", "2" } : [], "BLOCK", "0", "STREAMS", .. streams, .. streams.Select(_ => Id())];
            }
            if (rng.Next(8) == 0)
            {
                // XREADGROUP of group g1's new entries, by one of three consumers, on one or two streams.
                string[] streams = rng.Next(4) == 0 ? [X(), X()] : [X()];
                return ["XREADGROUP", "GROUP", "g1", $"c{rng.Next(3)}", .. rng.Next(2) == 0 ? new[] { "COUNT", "2" } : [], .. rng.Next(3) == 0 ? new[] { "NOACK" } : [],
                    "BLOCK", "0", "STREAMS", .. streams, .. streams.Select(_ => ">")];
            }
            return rng.Next(8) switch
            {
                0 => ["BLPOP", .. ListKeys(), "0"],
                1 => ["BRPOP", .. ListKeys(), "0"],
                2 => ["BLMOVE", L(), L(), End(), End(), "0"],
                3 => ["BRPOPLPUSH", L(), L(), "0"],
                4 => rng.Next(2) == 0 ? ["BLMPOP", "0", "2", L(), L(), End()] : ["BLMPOP", "0", "1", L(), End(), "COUNT", "2"],
                5 => ["BZPOPMIN", Z(), "0"],
                6 => ["BZPOPMAX", Z(), .. rng.Next(2) == 0 ? new[] { "l1" } : [], "0"],
                _ => ["BZMPOP", "0", "1", Z(), Side(), .. rng.Next(2) == 0 ? new[] { "COUNT", "3" } : []],
            };
        }
        if (rng.Next(12) == 0)
        {
            return rng.Next(5) switch
            {
                0 or 1 => ["XGROUP", "CREATE", X(), "g1", rng.Next(2) == 0 ? "$" : "0", .. rng.Next(2) == 0 ? new[] { "MKSTREAM" } : []],
                2 => ["XGROUP", "DESTROY", X(), "g1"],
                3 => ["XGROUP", "SETID", X(), "g1", Id()],
                _ => ["XACK", X(), "g1", $"{rng.Next(step + 1) + 1}-0", $"{rng.Next(step + 1) + 1}-1"],
            };
        }
        return rng.Next(18) switch
        {
            < 3 => [rng.Next(2) == 0 ? "LPUSH" : "RPUSH", L(), .. Enumerable.Range(0, rng.Next(1, 4)).Select(k => $"e{step}.{k}")],
            3 => ["LPUSHX", L(), $"x{step}"],
            4 or 5 => ["ZADD", Z(), rng.Next(10).ToString(System.Globalization.CultureInfo.InvariantCulture), $"m{step}", "5", $"n{rng.Next(3)}"],
            6 => ["LMOVE", L(), L(), End(), End()],
            7 => rng.Next(2) == 0 ? ["RENAME", Keys[rng.Next(Keys.Length)], Keys[rng.Next(Keys.Length)]] : ["COPY", Keys[rng.Next(Keys.Length)], Keys[rng.Next(Keys.Length)], "REPLACE"],
            8 => ["DEL", Keys[rng.Next(Keys.Length)]],
            9 => rng.Next(3) == 0 ? ["SET", L(), "s"] : ["SORT", "l1", "ALPHA", "STORE", L()],
            10 => ["MULTI"],
            11 => ["EXEC"],
            12 => rng.Next(2) == 0 ? ["DISCARD"] : ["LRANGE", L(), "0", "-1"],
            13 => rng.Next(3) switch
            {
                0 => ["SWAPDB", "0", "1"],
                1 => rng.Next(2) == 0 ? ["ZINTERSTORE", Z(), "2", "z1", Keys[rng.Next(Keys.Length)]] : ["ZRANGESTORE", Z(), "z1", "0", "1"],
                _ => ["ZUNIONSTORE", Z(), "1", "z1"],
            },
            14 => rng.Next(2) == 0 ? ["LTRIM", L(), "1", "-1"] : ["RPOPLPUSH", L(), L()],
            15 => ["XADD", X(), $"{step + 1}-*", "f", $"v{step}"],
            16 => rng.Next(2) == 0 ? ["XDEL", X(), $"{rng.Next(step + 1) + 1}-0"] : ["XTRIM", X(), "MAXLEN", rng.Next(3).ToString(System.Globalization.CultureInfo.InvariantCulture)],
            _ => rng.Next(5) switch
            {
                0 => ["SELECT", rng.Next(2) == 0 ? "0" : "1"],
                1 => ["MOVE", Keys[rng.Next(Keys.Length)], rng.Next(2) == 0 ? "0" : "1"],
                2 => ["COPY", Keys[rng.Next(Keys.Length)], Keys[rng.Next(Keys.Length)], "DB", rng.Next(2) == 0 ? "0" : "1"],
                3 => ["CLIENT", "REPLY", rng.Next(3) == 0 ? "ON" : "SKIP"],
                _ => ["LPOP", L()],
            },
        };
    }

    /// <summary>The keys of databases 0 and 1: each one's type and whole value.</summary>
    private static string Snapshot(RawClient view)
    {
        var sb = new StringBuilder();
        for (int db = 0; db <= 1; db++)
        {
            view.Call("SELECT", db.ToString(System.Globalization.CultureInfo.InvariantCulture)).Should().Be("+OK\r\n");
            foreach (var key in Keys)
            {
                string type = view.Call("TYPE", key);
                string value = type switch
                {
                    "+string\r\n" => view.Call("GET", key),
                    "+list\r\n" => view.Call("LRANGE", key, "0", "-1"),
                    "+zset\r\n" => view.Call("ZRANGE", key, "0", "-1", "WITHSCORES"),
                    "+stream\r\n" => StreamClock.Masked(view.Call("XINFO", "STREAM", key, "FULL", "COUNT", "0")),
                    _ => "",
                };
                sb.Append(db).Append(' ').Append(key).Append(' ').Append(type).Append(value);
            }
        }
        return sb.ToString();
    }
}
