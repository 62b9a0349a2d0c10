using System.Globalization;
using FluentAssertions;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Conformance;

/// <summary>
/// MIGRATE between this server and a real redis-server, both ways: every type (compact and large encodings, a
/// stream with a group and pending entries, a HyperLogLog, a TTL) arrives with the same value, the same DUMP
/// payload where Redis's is deterministic, and its TTL, and COPY leaves the source as it was.
/// </summary>
public sealed class MigrateRedisTests(ServersFixture servers) : IClassFixture<ServersFixture>
{
    private static readonly string[] Keys = ["str", "int", "long", "list", "biglist", "intset", "set", "hash", "bighash", "zset", "bigzset", "stream", "hll", "ttl"];

    private static void Fill(RawClient c)
    {
        c.Call("FLUSHALL");
        c.Call("SET", "str", "hello");
        c.Call("SET", "int", "-123456");
        c.Call("SET", "long", string.Concat(Enumerable.Repeat("compressible text ", 40)));
        c.Call("RPUSH", "list", "a", "1", "-70000", "b");
        c.Call(["RPUSH", "biglist", .. Enumerable.Range(0, 3000).Select(i => "element-" + i)]);
        c.Call("SADD", "intset", "5", "-3", "70000");
        c.Call("SADD", "set", "x", "y", "z");
        c.Call("HSET", "hash", "f", "v", "n", "12");
        c.Call(["HSET", "bighash", .. Enumerable.Range(0, 600).SelectMany(i => new[] { "f" + i, "v" + i })]);
        c.Call("ZADD", "zset", "1.5", "a", "-inf", "b", "3", "c");
        c.Call(["ZADD", "bigzset", .. Enumerable.Range(0, 300).SelectMany(i => new[] { (i / 3.0).ToString("R", CultureInfo.InvariantCulture), "m" + i })]);
        for (int i = 1; i <= 150; i++) c.Call("XADD", "stream", $"{i}-1", "field", "value" + i);
        c.Call("XDEL", "stream", "7-1");
        c.Call("XGROUP", "CREATE", "stream", "g", "0");
        c.Call("XREADGROUP", "GROUP", "g", "alice", "COUNT", "3", "STREAMS", "stream", ">");
        c.Call("PFADD", "hll", "a", "b", "c");
        c.Call("SET", "ttl", "v", "PX", "100000");
    }

    private static string Content(RawClient c, string key) => c.Call("TYPE", key) switch
    {
        "+string\r\n" => c.Call("GET", key),
        "+list\r\n" => c.Call("LRANGE", key, "0", "-1"),
        "+set\r\n" => string.Join("|", Sorted(c.Call("SMEMBERS", key))),
        "+hash\r\n" => string.Join("|", Sorted(c.Call("HGETALL", key))),
        "+zset\r\n" => c.Call("ZRANGE", key, "0", "-1", "WITHSCORES"),
        "+stream\r\n" => c.Call("XRANGE", key, "-", "+") + c.Call("XPENDING", key, "g") + c.Call("XINFO", "GROUPS", key),
        var other => other,
    };

    private static List<string> Sorted(string reply) => [.. reply.Split("\r\n").Skip(1).Order(StringComparer.Ordinal)];

    private void Migrate(RawClient from, RawClient to, int toPort)
    {
        Fill(from);
        to.Call("FLUSHALL");
        string expected = string.Concat(Keys.Select(k => k + "=" + Content(from, k)));
        from.Call(["MIGRATE", "127.0.0.1", toPort.ToString(CultureInfo.InvariantCulture), "", "0", "5000", "COPY", "KEYS", .. Keys]).Should().Be("+OK\r\n");
        string.Concat(Keys.Select(k => k + "=" + Content(to, k))).Should().Be(expected);
        string.Concat(Keys.Select(k => k + "=" + Content(from, k))).Should().Be(expected, "COPY leaves the source");
        foreach (var key in Keys.Except(["set", "bighash", "stream"])) // hash tables: dict order; the stream: its group's times
            to.Call("DUMP", key).Should().Be(from.Call("DUMP", key), $"the DUMP of {key}");
        long pttl = long.Parse(to.Call("PTTL", "ttl")[1..^2], CultureInfo.InvariantCulture);
        pttl.Should().BeInRange(90_000, 100_000);
        from.Call(["MIGRATE", "127.0.0.1", toPort.ToString(CultureInfo.InvariantCulture), "", "0", "5000", "REPLACE", "KEYS", .. Keys]).Should().Be("+OK\r\n");
        from.Call(["EXISTS", .. Keys]).Should().Be(":0\r\n");
        string.Concat(Keys.Select(k => k + "=" + Content(to, k))).Should().Be(expected);
    }

    [ConformanceFact]
    public void FromRedisToThisServer_EveryTypeArrives()
    {
        using var redis = new RawClient(servers.Redis!.Port);
        using var ours = new RawClient(servers.OursPort);
        Migrate(redis, ours, servers.OursPort);
    }

    [ConformanceFact]
    public void FromThisServerToRedis_EveryTypeArrives()
    {
        using var redis = new RawClient(servers.Redis!.Port);
        using var ours = new RawClient(servers.OursPort);
        Migrate(ours, redis, servers.Redis!.Port);
    }
}
