using FluentAssertions;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// Random picks, which the conformance cases cannot compare with Redis: a positive count picks that many
/// distinct entries; picks with repeats (a negative count) are refused when their reply could not be built
/// (Redis 7.0 aborts out of memory there).
/// </summary>
public sealed class RandomReplyTests
{
    [Fact]
    public async Task HugeNegativeCounts_AreRefused_AndTheConnectionGoesOn()
    {
        await using var server = await InProcessServer.StartAsync();
        using var c = new RawClient(server.Port);
        c.Call("SADD", "s", "a", "b", "c").Should().Be(":3\r\n");
        c.Call("HSET", "h", "f", "v").Should().Be(":1\r\n");
        c.Call("SRANDMEMBER", "s", "-9223372036854775807").Should().Be("-ERR value is out of range\r\n");
        c.Call("SRANDMEMBER", "s", "-3000000000").Should().Be("-ERR value is out of range\r\n");
        c.Call("HRANDFIELD", "h", "-4611686018427387903", "WITHVALUES").Should().Be("-ERR value is out of range\r\n");
        c.Call("HRANDFIELD", "h", "-9223372036854775807").Should().Be("-ERR value is out of range\r\n");
        c.Call("HRANDFIELD", "h", "-3", "WITHVALUES").Should().Be("*6\r\n$1\r\nf\r\n$1\r\nv\r\n$1\r\nf\r\n$1\r\nv\r\n$1\r\nf\r\n$1\r\nv\r\n");
        c.Call("ZADD", "z", "1", "m").Should().Be(":1\r\n");
        c.Call("ZRANDMEMBER", "z", "-4611686018427387903", "WITHSCORES").Should().Be("-ERR value is out of range\r\n");
        c.Call("ZRANDMEMBER", "z", "-9223372036854775807").Should().Be("-ERR value is out of range\r\n");
        c.Call("ZRANDMEMBER", "z", "-2", "WITHSCORES").Should().Be("*4\r\n$1\r\nm\r\n$1\r\n1\r\n$1\r\nm\r\n$1\r\n1\r\n");
        c.Call("SRANDMEMBER", "s", "-5").Should().StartWith("*5\r\n");
        c.Call("PING").Should().Be("+PONG\r\n");
    }

    [Fact]
    public async Task TheBound_IsTheExpectedReplySize_AgainstProtoMaxBulkLen()
    {
        await using var server = await InProcessServer.StartAsync(("proto-max-bulk-len", "1mb"));
        using var c = new RawClient(server.Port);
        var member = new string('m', 1000);
        c.Call("SADD", "big", member).Should().Be(":1\r\n");
        c.Call("HSET", "hb", "f", member).Should().Be(":1\r\n");
        // ~1,007 bytes a pick: 2,000 picks are ~2 MB, over the 1 MB bound; 500 are ~0.5 MB.
        c.Call("SRANDMEMBER", "big", "-2000").Should().Be("-ERR value is out of range\r\n");
        c.Call("SRANDMEMBER", "big", "-500").Should().StartWith("*500\r\n");
        c.Call("HRANDFIELD", "hb", "-2000", "WITHVALUES").Should().Be("-ERR value is out of range\r\n");
        c.Call("HRANDFIELD", "hb", "-2000").Should().StartWith("*2000\r\n"); // fields only: 2,000 × 7 bytes
        // However large the bound, the reply's length must stay an int (RESP2 WITHVALUES doubles it).
        c.Call("CONFIG", "SET", "proto-max-bulk-len", "9223372036854775807").Should().Be("+OK\r\n");
        c.Call("HRANDFIELD", "hb", "-1500000000", "WITHVALUES").Should().Be("-ERR value is out of range\r\n");
    }

    [Theory]
    [InlineData(3)] // a few of many: random positions
    [InlineData(8)] // most of the value: all but random ones, in the value's order
    public async Task PositiveCounts_PickThatManyDistinctEntries(int count)
    {
        await using var server = await InProcessServer.StartAsync();
        using var c = new RawClient(server.Port);
        var members = Enumerable.Range(0, 10).Select(i => $"m{i}").ToArray();
        c.Call(["SADD", "s", .. members]).Should().Be(":10\r\n");
        c.Call(["HSET", "h", .. members.SelectMany(m => new[] { m, "v" + m })]).Should().Be(":10\r\n");
        c.Call(["ZADD", "z", .. members.SelectMany(m => new[] { m[1..], m })]).Should().Be(":10\r\n"); // m0..m9 scored 0..9
        for (int round = 0; round < 20; round++)
        {
            foreach (var reply in new[] { c.Call("SRANDMEMBER", "s", count.ToString()), c.Call("HRANDFIELD", "h", count.ToString()), c.Call("ZRANDMEMBER", "z", count.ToString()) })
            {
                var picked = reply.Split("\r\n").Where(l => l.StartsWith('m')).ToList();
                reply.Should().StartWith($"*{count}\r\n");
                picked.Should().HaveCount(count).And.OnlyHaveUniqueItems().And.BeSubsetOf(members);
                if (count == 8) picked.Select(m => int.Parse(m.Substring(1))).Should().BeInAscendingOrder("most of a small value keeps its order");
            }
        }
    }

    [Fact]
    public async Task ZRandMember_WithScores_PairsEachMemberWithItsOwnScore()
    {
        await using var server = await InProcessServer.StartAsync();
        using var c = new RawClient(server.Port);
        var members = Enumerable.Range(0, 200).Select(i => $"m{i}").ToArray(); // over 128: the skiplist encoding
        c.Call(["ZADD", "z", .. members.SelectMany(m => new[] { m[1..], m })]).Should().Be(":200\r\n");
        foreach (string count in new[] { "-50", "5", "150" })
        {
            string[] lines = c.Call("ZRANDMEMBER", "z", count, "WITHSCORES").Split("\r\n");
            int n = Math.Abs(int.Parse(count));
            lines[0].Should().Be($"*{2 * n}");
            var pairs = lines.Skip(1).Where(l => !l.StartsWith('$') && l.Length > 0).Chunk(2).ToList();
            pairs.Should().HaveCount(n);
            foreach (var p in pairs) p[0].Should().Be("m" + p[1], "a member's score is its number");
            if (n != 50) pairs.Select(p => p[0]).Should().OnlyHaveUniqueItems();
        }
        c.Call("HELLO", "3").Should().Contain("proto");
        c.Call("ZRANDMEMBER", "z", "-3", "WITHSCORES").Should().MatchRegex(@"^\*3\r\n(\*2\r\n\$\d+\r\nm(\d+)\r\n,\2\r\n){3}$");
    }
}
