using System.Text;
using FluentAssertions;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// RESTORE of damaged payloads, then commands on whatever was restored: this suite's counterpart of Redis's
/// integration/corrupt-dump-fuzzer.tcl (which tests/redis-suite/run.sh runs against the server too). Every
/// type, small and large, is DUMPed, one or two bytes are changed, and the payload is RESTOREd with its CRC
/// unchecked (DEBUG SET-SKIP-CHECKSUM-VALIDATION), so the damage reaches the reader. A payload is either
/// refused with an error or gives a value that every command of its type can read and change: no internal
/// error (which would close the connection), no stray key.
/// </summary>
public sealed class RestoreFuzzTests
{
    private const int Cycles = 1500;

    [Fact]
    public async Task DamagedPayloads_AreRefusedOrGiveAValueEveryCommandServes()
    {
        await using var s = await InProcessServer.StartAsync(("stream-node-max-entries", "5"));
        using var c = new RawClient(s.Port);
        Generate(c);
        var keys = Keys(c);
        keys.Should().HaveCount(14);
        var types = keys.ToDictionary(k => k, k => c.Call("TYPE", k)[1..^2]);
        c.Call("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "1").Should().Be("+OK\r\n");

        var random = new Random(55);
        int restored = 0, refused = 0;
        for (int cycle = 0; cycle < Cycles; cycle++)
        {
            var key = keys[random.Next(keys.Count)];
            var payload = Corrupt(Bulk(c.Call("DUMP", key)), random);
            var copy = "_" + key;
            var reply = c.Call("RESTORE", copy, "0", payload, "REPLACE");
            if (reply != "+OK\r\n")
            {
                reply.Should().StartWith("-ERR ", "payload {0}", Printable(payload));
                refused++;
                continue;
            }
            restored++;
            foreach (var command in Traffic(types[key], copy, random))
            {
                try
                {
                    c.Call(command);
                }
                catch (TimeoutException)
                {
                    // An internal error closes the connection (Engine.Call): the command and the payload say which.
                    throw new Xunit.Sdk.XunitException($"`{string.Join(' ', command)}` got no reply (closed: {c.Closed}) after RESTORE of {Printable(payload)}");
                }
            }
            c.Call("DEL", copy, "dest", "_copy");
            c.Call("DBSIZE").Should().Be($":{keys.Count}\r\n", "payload {0} left a key behind", Printable(payload));
        }
        c.Call("INFO", "stats").Should().Contain("internal_errors:0\r\n");
        restored.Should().BeGreaterThan(Cycles / 10, "most single-byte changes hit values, which load");
        refused.Should().BeGreaterThan(Cycles / 10, "changes to lengths and encodings are refused");
    }

    /// <summary>As the Tcl fuzzer's generate_types: each type small and large, a stream with a group, a consumer, an entry deleted.</summary>
    private static void Generate(RawClient c)
    {
        foreach (var (suffix, count) in new[] { ("", 3), ("big", 300) })
        {
            for (int j = 0; j < count; j++)
            {
                string value = j % 2 == 0 ? j.ToString() : "_" + j;
                c.Call("HSET", "hash" + suffix, j.ToString(), value);
                c.Call("RPUSH", "list" + suffix, value);
                c.Call("ZADD", "zset" + suffix, j.ToString(), value);
                c.Call("SADD", "set" + suffix, value);
                c.Call("SADD", "intset" + suffix, j.ToString());
                c.Call("XADD", "stream" + suffix, "*", "item", "1", "value", value);
            }
        }
        c.Call("XADD", "streambig", "*", "item", "1", "unique", "value");
        c.Call("XGROUP", "CREATE", "stream", "mygroup", "0").Should().Be("+OK\r\n");
        c.Call("XREADGROUP", "GROUP", "mygroup", "Alice", "COUNT", "2", "STREAMS", "stream", ">");
        var ids = c.Call("XRANGE", "stream", "-", "+").Split("\r\n").Where(l => l.Contains('-') && !l.StartsWith('$')).ToArray();
        c.Call("XDEL", "stream", ids[1]).Should().Be(":1\r\n");
        c.Call("XACK", "stream", "mygroup", ids[0]).Should().Be(":1\r\n");
        c.Call("INCR", "int");
        c.Call("PFADD", "hll", "a", "b", "c", "d");
    }

    private static List<string> Keys(RawClient c) =>
        c.Call("KEYS", "*").Split("\r\n").Where(l => l.Length > 0 && l[0] is not ('*' or '$')).Order().ToList();

    private static string Bulk(string reply)
    {
        int header = reply.IndexOf("\r\n", StringComparison.Ordinal);
        int length = int.Parse(reply.AsSpan(1, header - 1));
        return reply.Substring(header + 2, length);
    }

    /// <summary>One byte changed to a random value, or two (one time in ten), as corrupt_payload does.</summary>
    private static string Corrupt(string payload, Random random)
    {
        var bytes = Encoding.Latin1.GetBytes(payload);
        int count = random.Next(10) == 0 ? 2 : 1;
        for (int i = 0; i < count; i++) bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
        return Encoding.Latin1.GetString(bytes);
    }

    private static string Printable(string payload) => string.Concat(Encoding.Latin1.GetBytes(payload).Select(b => $"\\x{b:X2}"));

    /// <summary>Commands that read and change a value of the given type, with arguments that reach its elements.</summary>
    private static IEnumerable<string[]> Traffic(string type, string k, Random random)
    {
        string n = random.Next(-3, 6).ToString(), m = random.Next(0, 300).ToString();
        string[][] generic = [["TYPE", k], ["OBJECT", "ENCODING", k], ["DEBUG", "DIGEST-VALUE", k], ["MEMORY", "USAGE", k], ["DUMP", k], ["COPY", k, "_copy", "REPLACE"], ["EXISTS", k]];
        string[][] specific = type switch
        {
            "string" => [["GET", k], ["STRLEN", k], ["GETRANGE", k, "0", n], ["APPEND", k, "x"], ["SETRANGE", k, m, "y"], ["INCR", k], ["BITCOUNT", k], ["BITPOS", k, "1"], ["GETBIT", k, m],
                ["SETBIT", k, m, "1"], ["BITFIELD", k, "GET", "u8", "0", "INCRBY", "i5", "100", "1"], ["PFCOUNT", k], ["PFADD", k, "z"], ["PFMERGE", "dest", k], ["LCS", k, k]],
            "list" => [["LRANGE", k, "0", "-1"], ["LLEN", k], ["LINDEX", k, n], ["LPOS", k, "_1"], ["LINSERT", k, "BEFORE", "0", "x"], ["LSET", k, n, "v"], ["LREM", k, n, "2"],
                ["SORT", k, "ALPHA"], ["LMOVE", k, k, "LEFT", "RIGHT"], ["LTRIM", k, "1", "-2"], ["LPOP", k], ["RPOP", k, "2"], ["LPUSH", k, "z"], ["LRANGE", k, "0", "-1"]],
            "hash" => [["HGETALL", k], ["HLEN", k], ["HKEYS", k], ["HVALS", k], ["HGET", k, m], ["HSTRLEN", k, "1"], ["HEXISTS", k, "2"], ["HINCRBY", k, "0", "1"], ["HINCRBYFLOAT", k, "2", "1.5"],
                ["HRANDFIELD", k, n, "WITHVALUES"], ["HSCAN", k, "0", "COUNT", "1000"], ["HSET", k, "f", "v"], ["HDEL", k, "1", m], ["HGETALL", k]],
            "set" => [["SMEMBERS", k], ["SCARD", k], ["SISMEMBER", k, "1"], ["SMISMEMBER", k, "0", "_1"], ["SRANDMEMBER", k, n], ["SINTER", k, k], ["SDIFF", k, "nosuch"],
                ["SUNIONSTORE", "dest", k], ["SSCAN", k, "0", "COUNT", "1000"], ["SORT", k], ["SADD", k, "x", "12"], ["SREM", k, "0", m], ["SPOP", k, "2"], ["SMOVE", k, "dest", "2"], ["SMEMBERS", k]],
            "zset" => [["ZRANGE", k, "0", "-1", "WITHSCORES"], ["ZCARD", k], ["ZSCORE", k, "2"], ["ZRANK", k, "_1"], ["ZRANGEBYSCORE", k, "-inf", "+inf", "LIMIT", "1", n], ["ZRANGEBYLEX", k, "-", "+"],
                ["ZREVRANGE", k, "0", n], ["ZCOUNT", k, "1", m], ["ZLEXCOUNT", k, "-", "+"], ["ZRANDMEMBER", k, n, "WITHSCORES"], ["ZINCRBY", k, "1", "x"], ["ZUNIONSTORE", "dest", "1", k],
                ["ZSCAN", k, "0", "COUNT", "1000"], ["ZADD", k, "5", "y"], ["ZREM", k, "0", m], ["ZPOPMIN", k], ["ZREMRANGEBYRANK", k, "0", "1"], ["ZRANGE", k, "0", "-1", "WITHSCORES"]],
            "stream" => [["XLEN", k], ["XRANGE", k, "-", "+"], ["XREVRANGE", k, "+", "-", "COUNT", "3"], ["XINFO", "STREAM", k], ["XINFO", "STREAM", k, "FULL"], ["XINFO", "GROUPS", k],
                ["XINFO", "CONSUMERS", k, "mygroup"], ["XPENDING", k, "mygroup"], ["XPENDING", k, "mygroup", "-", "+", "10"], ["XREADGROUP", "GROUP", "mygroup", "Bob", "COUNT", "2", "STREAMS", k, ">"],
                ["XREADGROUP", "GROUP", "mygroup", "Alice", "STREAMS", k, "0"], ["XCLAIM", k, "mygroup", "Bob", "0", "0-1"], ["XAUTOCLAIM", k, "mygroup", "Bob", "0", "0", "COUNT", "5"],
                ["XREAD", "COUNT", "2", "STREAMS", k, "0"], ["XADD", k, "*", "a", "b"], ["XDEL", k, "0-1"], ["XTRIM", k, "MAXLEN", n], ["XGROUP", "CREATECONSUMER", k, "mygroup", "Carol"],
                ["XGROUP", "SETID", k, "mygroup", "0"], ["XGROUP", "DELCONSUMER", k, "mygroup", "Alice"], ["XGROUP", "DESTROY", k, "mygroup"], ["XRANGE", k, "-", "+"]],
            _ => throw new InvalidOperationException(type),
        };
        return generic.Concat(specific).Concat(generic);
    }
}
