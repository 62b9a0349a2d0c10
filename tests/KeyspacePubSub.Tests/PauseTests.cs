using System.Diagnostics;
using FluentAssertions;
using KeyspacePubSub.Persistence;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// CLIENT PAUSE where the conformance scripts cannot reach (cases/38-client-pause.txt compares the rest with
/// Redis byte for byte): every transport, CLIENT UNBLOCK of a postponed client (it needs the client's id), a
/// pipeline held behind a postponed command, introspection, RANDOMKEY when every key is logically expired
/// (Redis 7.0.15 loops for ever there), and a postponed write of a durable key.
/// </summary>
public sealed class PauseTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kps-pause-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [MemberData(nameof(TransportTests.Transports), MemberType = typeof(TransportTests))]
    public async Task PostponedPipeline_RunsInOrderWhenThePauseEnds_OnEveryTransport(string transport, string threads)
    {
        await using var server = await TransportTests.Start(transport, threads);
        using var a = new RawClient(server.Port);
        using var b = new RawClient(server.Port);
        a.Call("CLIENT", "PAUSE", "1500", "WRITE").Should().Be("+OK\r\n");
        var watch = Stopwatch.StartNew();
        b.Send("INCR", "n");
        b.Send("GET", "n"); // a read, but behind a postponed write
        for (int i = 0; i < 20; i++) b.Send("INCR", "n");
        b.IsSilent(150).Should().BeTrue("the first INCR waits, and everything behind it");
        a.Call("GET", "n").Should().Be("$-1\r\n", "reads from others still run");
        var expected = new System.Text.StringBuilder(":1\r\n$1\r\n1\r\n");
        for (int i = 2; i <= 21; i++) expected.Append($":{i}\r\n");
        b.Read(22, timeoutMs: 5000).Should().Be(expected.ToString());
        watch.ElapsedMilliseconds.Should().BeInRange(1400, 4000, "the pause ends by its time, with nobody calling UNPAUSE");
        a.Call("GET", "n").Should().Be("$2\r\n21\r\n");
    }

    [Fact]
    public async Task PostponedClient_IsBlockedButNotUnblockable_ThenBlocksInBlpopAsUsual()
    {
        await using var server = await InProcessServer.StartAsync();
        using var a = new RawClient(server.Port);
        using var b = new RawClient(server.Port);
        string id = b.Call("CLIENT", "ID").Trim().TrimStart(':');
        a.Call("CLIENT", "PAUSE", "100000", "WRITE").Should().Be("+OK\r\n");
        b.Send("BLPOP", "q", "0");
        b.IsSilent(100).Should().BeTrue();
        a.Call("INFO", "clients").Should().Contain("blocked_clients:1\r\n");
        a.Call("CLIENT", "LIST").Should().Contain($"id={id} ").And.Contain("flags=b db=0").And.Contain("cmd=blpop ");
        a.Call("CLIENT", "UNBLOCK", id, "ERROR").Should().Be(":0\r\n", "a client waiting for the pause is not unblockable (pause.tcl)");
        a.Call("CLIENT", "UNPAUSE").Should().Be("+OK\r\n");
        b.IsSilent(100).Should().BeTrue("BLPOP now runs and blocks on the empty list");
        a.Call("CLIENT", "UNBLOCK", id, "ERROR").Should().Be(":1\r\n");
        b.Read().Should().Be("-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n");
        a.Call("INFO", "clients").Should().Contain("blocked_clients:0\r\n");
    }

    [Fact]
    public async Task PostponedClient_ThatDisconnects_IsForgotten()
    {
        await using var server = await InProcessServer.StartAsync();
        using var a = new RawClient(server.Port);
        using (var b = new RawClient(server.Port))
        {
            a.Call("CLIENT", "PAUSE", "100000", "WRITE").Should().Be("+OK\r\n");
            b.Send("SET", "k", "v");
            b.IsSilent(100).Should().BeTrue();
        }
        await Task.Delay(200);
        a.Call("INFO", "clients").Should().Contain("blocked_clients:0\r\n").And.Contain("connected_clients:1\r\n");
        a.Call("CLIENT", "UNPAUSE").Should().Be("+OK\r\n");
        a.Call("EXISTS", "k").Should().Be(":0\r\n", "a postponed command of a closed connection never runs");
    }

    [Fact]
    public async Task RandomKey_WhenEveryKeyIsLogicallyExpired_AnswersOneInsteadOfLooping()
    {
        await using var server = await InProcessServer.StartAsync();
        using var c = new RawClient(server.Port);
        c.Send("MULTI");
        c.Send("SET", "key", "value", "PX", "3");
        c.Send("CLIENT", "PAUSE", "10000", "WRITE");
        c.Send("EXEC");
        c.Read(4).Should().EndWith("*2\r\n+OK\r\n+OK\r\n");
        await Task.Delay(20);
        c.Call("GET", "key").Should().Be("$-1\r\n");
        c.Call("RANDOMKEY").Should().Be("$3\r\nkey\r\n", "as Redis 7.2: the 100th pick is answered");
        c.Call("DBSIZE").Should().Be(":1\r\n");
        c.Call("INFO", "stats").Should().Contain("expired_keys:0\r\n");
        c.Call("CLIENT", "UNPAUSE").Should().Be("+OK\r\n");
        c.Call("RANDOMKEY").Should().Be("$-1\r\n");
        c.Call("INFO", "stats").Should().Contain("expired_keys:1\r\n");
    }

    [Fact]
    public async Task PostponedWriteOfADurableKey_IsCommittedBeforeItsReply()
    {
        var options = new PersistenceOptions { Enabled = true, Path = Path.Combine(_dir, "store.db"), KeyPatterns = ["room:*:backlog"], Fsync = FsyncPolicy.Always };
        await using (var s = await InProcessServer.StartAsync(options))
        {
            using var a = new RawClient(s.Port);
            using var b = new RawClient(s.Port);
            a.Call("CLIENT", "PAUSE", "100000", "WRITE").Should().Be("+OK\r\n");
            b.Send("MULTI");
            b.Send("LPUSH", "room:1:backlog", "m1");
            b.Send("PUBLISH", "room:1", "m1");
            b.Send("EXEC");
            b.Read().Should().Be("+OK\r\n");
            b.IsSilent(100).Should().BeTrue("LPUSH waits before it is even queued");
            a.Call("CLIENT", "UNPAUSE").Should().Be("+OK\r\n");
            b.Read(3).Should().Be("+QUEUED\r\n+QUEUED\r\n*2\r\n:1\r\n:0\r\n");
        }
        await using (var s = await InProcessServer.StartAsync(options))
        {
            using var c = new RawClient(s.Port);
            c.Call("LRANGE", "room:1:backlog", "0", "-1").Should().Be("*1\r\n$2\r\nm1\r\n");
        }
    }
}
