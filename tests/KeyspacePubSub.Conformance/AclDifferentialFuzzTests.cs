using System.Text.RegularExpressions;
using FluentAssertions;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Conformance;

/// <summary>
/// ACL SETUSER, GETUSER, LIST and DRYRUN against Redis's: a user built by random rules (passwords, flags, key
/// and channel patterns, categories, commands, subcommands, first arguments, selectors, resets and bad rules),
/// each step's reply compared, then the user as GETUSER and LIST show it, then DRYRUN of random command lines
/// (keys read and written, channels and patterns, subcommands), and now and then the same lines run for real by
/// a connection AUTHenticated as the user (closed alike when the rules take a channel it subscribed to). Redis writes the single commands of a
/// description in its dict's order, which changes between runs, so those are compared as a set; everything else
/// byte for byte. Fixed seeds (<see cref="FuzzSeeds"/>).
/// </summary>
public sealed class AclDifferentialFuzzTests(ServersFixture servers) : IClassFixture<ServersFixture>
{
    private static readonly string[] Rules =
    [
        "on", "off", "nopass", "resetpass", ">p1", ">p2", "<p1", "<p2",
        "#ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb", "!ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
        "~k*", "~*", "~k1", "%R~r*", "%W~w*", "%RW~b*", "%R~k*", "%W~*", "allkeys", "resetkeys",
        "&c*", "&*", "&c1", "&news.[ab]", "allchannels", "resetchannels",
        "allcommands", "nocommands", "+@all", "-@all", "reset", "clearselectors", "sanitize-payload", "skip-sanitize-payload",
        "+get", "-get", "+set", "-set", "+publish", "-publish", "+subscribe", "+psubscribe", "+ssubscribe", "+spublish",
        "+config", "-config", "+config|get", "-config|set", "+client|id", "-client", "+select|0", "+select|1", "+debug|object",
        "+copy", "+lmove", "+mget", "+object|encoding", "-object", "+flushall", "+eval", "-eval", "+acl|whoami",
        "(~s* +get)", "(&c* +publish)", "(%R~r* +@read)", "()", "(+nosuch)",
        "bogus", "+nosuch", "%X~a", "~a b", "+config|get|x", "-select|0",
    ];

    private static readonly string[] Categories =
    [
        "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap", "hyperloglog", "geo", "stream",
        "pubsub", "admin", "fast", "slow", "blocking", "dangerous", "connection", "transaction", "scripting",
    ];

    private static readonly string[][] Lines =
    [
        ["get", "k1"], ["get", "r1"], ["get", "w1"], ["get", "b1"], ["get", "s1"], ["set", "w1", "v"], ["set", "k1", "v", "GET"],
        ["set", "b1", "v", "GET"], ["copy", "r1", "w1"], ["copy", "k1", "r1"], ["lmove", "b1", "w1", "LEFT", "RIGHT"],
        ["mget", "k1", "r1", "x"], ["publish", "c1", "m"], ["publish", "news.a", "m"], ["publish", "x", "m"],
        ["subscribe", "c1", "x"], ["subscribe", "c2"], ["psubscribe", "c*"], ["psubscribe", "c1", "x*"], ["ssubscribe", "c1"],
        ["spublish", "c1", "m"], ["config", "get", "maxmemory"], ["config", "set", "maxmemory", "0"], ["select", "0"],
        ["select", "1"], ["SELECT", "2"], ["client", "id"], ["client", "info"], ["debug", "object", "k1"], ["ping"],
        ["flushall"], ["object", "encoding", "k1"], ["object", "freq", "r1"], ["acl", "whoami"], ["acl", "list"], ["del", "w1", "k1"],
        ["sort", "k1", "STORE", "w1"], ["sort_ro", "r1"], ["xread", "STREAMS", "r1", "0"], ["zunionstore", "w1", "2", "r1", "k1"],
    ];

    public static IEnumerable<object[]> Seeds() => FuzzSeeds.Range(20); // (about 0.2 s each)

    [ConformanceTheory]
    [MemberData(nameof(Seeds))]
    public void RandomRules_DescribeAndCheck_AsRedis(int seed)
    {
        var rng = new Random(seed);
        using var clients = new BothProtocols(servers);
        string user = $"fz{seed}";
        int allowed = 0, denied = 0;
        RawClient? userRedis = null, userOurs = null;
        try
        {
            for (int step = 0; step < 60; step++)
            {
                var args = new List<string> { "ACL", "SETUSER", user };
                int n = 1 + rng.Next(4);
                for (int i = 0; i < n; i++)
                {
                    args.Add(rng.Next(4) == 0
                        ? (rng.Next(2) == 0 ? "+@" : "-@") + Categories[rng.Next(Categories.Length)]
                        : Rules[rng.Next(Rules.Length)]);
                }
                string context = $"seed {seed} step {step}: {string.Join(' ', args.Select(a => $"\"{a}\""))}";
                var (redis, ours) = rng.Next(2) == 0 ? clients.Resp2 : clients.Resp3;
                ours.Call([.. args]).Should().Be(redis.Call([.. args]), context);
                Normalize(ours.Call("ACL", "GETUSER", user)).Should().Be(Normalize(redis.Call("ACL", "GETUSER", user)), context);
                Normalize(UserLine(ours.Call("ACL", "LIST"), user)).Should().Be(Normalize(UserLine(redis.Call("ACL", "LIST"), user)), context);
                if (rng.Next(3) == 0)
                {
                    // The same lines run for real by a connection of the user's (after AUTH, which may fail alike).
                    Exchange(ref userRedis, ref userOurs, ["AUTH", user, "p1"], context);
                    for (int d = 0; d < 3; d++)
                    {
                        var line = Lines[rng.Next(Lines.Length)];
                        if (line[0] is "client" or "debug" || line is ["acl", "list"]) continue; // (ids, addresses; LIST's order is Redis's dict's)
                        Exchange(ref userRedis, ref userOurs, line, context);
                    }
                }
                for (int d = 0; d < 5; d++)
                {
                    var line = Lines[rng.Next(Lines.Length)];
                    string expected = redis.Call(["ACL", "DRYRUN", user, .. line]);
                    ours.Call(["ACL", "DRYRUN", user, .. line]).Should().Be(expected, $"{context}; DRYRUN {string.Join(' ', line)}");
                    if (expected == "+OK\r\n") allowed++;
                    else denied++;
                }
            }
        }
        finally
        {
            userRedis?.Dispose();
            userOurs?.Dispose();
            clients.Resp2.Redis.Call("ACL", "DELUSER", user);
            clients.Resp2.Ours.Call("ACL", "DELUSER", user);
        }
        allowed.Should().BeGreaterThan(10, "some lines are allowed");
        denied.Should().BeGreaterThan(10, "some lines are denied");
    }

    /// <summary>One request to both servers' user connections, the replies compared; a connection either closed is opened again.</summary>
    private void Exchange(ref RawClient? redis, ref RawClient? ours, string[] args, string context)
    {
        redis ??= new RawClient(servers.Redis!.Port);
        ours ??= new RawClient(servers.OursPort);
        string Reply(RawClient c)
        {
            try
            {
                c.Send(args);
                return c.Read(timeoutMs: 2000);
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException || (e is TimeoutException && c.Closed))
            {
                return "<closed>";
            }
        }
        string expected = Reply(redis);
        Reply(ours).Should().Be(expected, $"{context}; as the user: {string.Join(' ', args)}");
        if (expected != "<closed>") return;
        redis.Dispose();
        ours.Dispose();
        redis = ours = null;
    }

    private static string UserLine(string list, string user) =>
        list.Split("\r\n").FirstOrDefault(l => l.StartsWith($"user {user} ", StringComparison.Ordinal)) ?? "";

    // Within each line, and each selector's parentheses in it, the single-command rules ("+get", "-config|set",
    // "+select|0", which Redis writes last) are sorted; the rest stays as it is. A bulk's length is unchanged.
    private static string Normalize(string reply) =>
        string.Join("\r\n", reply.Split("\r\n").Select(line => Regex.Replace(line, @"[^()]+", m => SortSingles(m.Value))));

    private static string SortSingles(string segment)
    {
        var tokens = segment.Split(' ');
        bool IsSingle(string t) => t.Length > 1 && (t[0] == '+' || t[0] == '-') && t[1] != '@';
        return string.Join(' ', tokens.Where(t => !IsSingle(t)).Concat(tokens.Where(IsSingle).Order(StringComparer.Ordinal)));
    }
}
