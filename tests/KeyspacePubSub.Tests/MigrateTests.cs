using FluentAssertions;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// MIGRATE between two servers (the conformance cases cover its errors against redis-server, which has no
/// second server to send to there): keys of every type arrive with their TTLs in the chosen database, leave
/// the source with a "del" event each unless COPY, and a target's refusal comes back in Redis's words.
/// </summary>
public sealed class MigrateTests
{
    [Fact]
    public async Task Keys_MoveWithTheirTtls_AndLeaveTheSourceWithDelEvents()
    {
        await using var source = await InProcessServer.StartAsync(("notify-keyspace-events", "Eg"));
        await using var target = await InProcessServer.StartAsync(("requirepass", "pw"));
        using var listener = new RawClient(source.Port);
        listener.Call("SUBSCRIBE", "__keyevent@0__:del").Should().Contain("subscribe");
        using var a = new RawClient(source.Port);
        a.Call("RPUSH", "l", "a", "b", "c");
        a.Call("SET", "k", "v", "PX", "100000");
        a.Call("HSET", "h", "f", "v");
        a.Call("XADD", "s", "1-1", "field", "value");
        a.Call("MIGRATE", "127.0.0.1", target.Port.ToString(), "", "2", "5000", "AUTH", "pw", "KEYS", "l", "k", "h", "s", "missing").Should().Be("+OK\r\n");
        a.Call("EXISTS", "l", "k", "h", "s").Should().Be(":0\r\n");
        listener.Read(4).Should().Be(string.Concat(new[] { "l", "k", "h", "s" }.Select(k => $"*3\r\n$7\r\nmessage\r\n$18\r\n__keyevent@0__:del\r\n$1\r\n{k}\r\n")));

        using var b = new RawClient(target.Port);
        b.Call("AUTH", "pw").Should().Be("+OK\r\n");
        b.Call("SELECT", "2").Should().Be("+OK\r\n");
        b.Call("LRANGE", "l", "0", "-1").Should().Be("*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n");
        b.Call("HGET", "h", "f").Should().Be("$1\r\nv\r\n");
        b.Call("XRANGE", "s", "-", "+").Should().Be("*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$5\r\nfield\r\n$5\r\nvalue\r\n");
        long pttl = long.Parse(b.Call("PTTL", "k").TrimStart(':').TrimEnd());
        pttl.Should().BeInRange(90_000, 100_000);
        b.Call("TTL", "l").Should().Be(":-1\r\n");
    }

    [Fact]
    public async Task Copy_KeepsTheSource_Replace_Overwrites_AndARefusalIsReported()
    {
        await using var source = await InProcessServer.StartAsync();
        await using var target = await InProcessServer.StartAsync();
        using var a = new RawClient(source.Port);
        using var b = new RawClient(target.Port);
        a.Call("SET", "k", "new");
        b.Call("SET", "k", "old");
        string port = target.Port.ToString();
        a.Call("MIGRATE", "127.0.0.1", port, "k", "0", "5000").Should().Be("-ERR Target instance replied with error: BUSYKEY Target key name already exists.\r\n");
        a.Call("GET", "k").Should().Be("$3\r\nnew\r\n", "a key the target refused stays");
        a.Call("MIGRATE", "127.0.0.1", port, "k", "0", "5000", "COPY", "REPLACE").Should().Be("+OK\r\n");
        a.Call("GET", "k").Should().Be("$3\r\nnew\r\n");
        b.Call("GET", "k").Should().Be("$3\r\nnew\r\n");
        a.Call("MIGRATE", "127.0.0.1", port, "gone", "0", "5000").Should().Be("+NOKEY\r\n");
        a.Call("MIGRATE", "127.0.0.1", port, "k", "0", "5000", "AUTH", "nopass").Should().StartWith("-ERR Target instance replied with error: ERR AUTH <password> called without any password configured");
        a.Call("EXISTS", "k").Should().Be(":1\r\n");
    }

    [Fact]
    public async Task ItsOwnPort_TimesOut_AndTheServerGoesOn()
    {
        await using var server = await InProcessServer.StartAsync();
        using var a = new RawClient(server.Port);
        a.Call("SET", "k", "v");
        // Like Redis, the server waits for the target while MIGRATE runs: to itself, the RESTORE is never read.
        a.Call("MIGRATE", "127.0.0.1", server.Port.ToString(), "k", "0", "300").Should().Be("-IOERR error or timeout reading to target instance\r\n");
        a.Call("GET", "k").Should().Be("$1\r\nv\r\n");
    }
}
