using FluentAssertions;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Tests;

public class ServerTests
{
    [Fact]
    public async Task Start_OnPortZero_ExposesTheChosenPort()
    {
        await using var server = await InProcessServer.StartAsync();
        server.Port.Should().BeGreaterThan(0);
        server.Engine.ListeningPort.Should().Be(server.Port);
        using var c = new RawClient(server.Port);
        c.Call("PING").Should().Be("+PONG\r\n");
    }

    [Fact]
    public async Task Command_SentOneByteAtATime_ParsesLikeWhole()
    {
        await using var server = await InProcessServer.StartAsync();
        using var c = new RawClient(server.Port);
        foreach (byte b in "*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n"u8.ToArray())
        {
            c.SendRaw([b]);
            await Task.Delay(1);
        }
        c.Read().Should().Be("$5\r\nhello\r\n");
    }

    [Fact]
    public async Task ProtocolError_ClosesOnlyThatConnection()
    {
        await using var server = await InProcessServer.StartAsync();
        using var bad = new RawClient(server.Port);
        using var good = new RawClient(server.Port);
        bad.SendRaw("*1\r\n$x\r\n");
        bad.Read().Should().Be("-ERR Protocol error: invalid bulk length\r\n");
        bad.WaitClosed().Should().BeTrue();
        good.Call("PING").Should().Be("+PONG\r\n");
    }

    [Fact]
    public async Task HugeBulkHeader_IsRefusedWithoutGrowingMemory()
    {
        await using var server = await InProcessServer.StartAsync();
        using var c = new RawClient(server.Port);
        long before = GC.GetTotalMemory(true);
        c.SendRaw("*1\r\n$1073741824\r\n");
        c.Read().Should().Be("-ERR Protocol error: invalid bulk length\r\n");
        c.WaitClosed().Should().BeTrue();
        (GC.GetTotalMemory(true) - before).Should().BeLessThan(64L << 20);
    }

    [Fact]
    public async Task MaxClients_RejectsTheExtraConnection()
    {
        await using var server = await InProcessServer.StartAsync(("maxclients", "1"));
        using var first = new RawClient(server.Port);
        first.Call("PING").Should().Be("+PONG\r\n");
        using var second = new RawClient(server.Port);
        second.Read().Should().Be("-ERR max number of clients reached\r\n");
        second.WaitClosed().Should().BeTrue();
    }

    [Fact]
    public async Task IdleTimeout_ClosesIdleClients_ButNotSubscribersOrBusyOnes()
    {
        await using var server = await InProcessServer.StartAsync(("timeout", "3"));
        using var idle = new RawClient(server.Port);
        using var subscriber = new RawClient(server.Port);
        using var busy = new RawClient(server.Port);
        idle.Call("PING").Should().Be("+PONG\r\n");
        subscriber.Call("SUBSCRIBE", "news").Should().Be("*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n");
        // The busy client sends a command every 100 ms from this thread (no await: a starved thread pool once
        // delayed a continuation past a 1 s timeout in CI); it must outlive the idle one by far.
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (!idle.Closed && sw.Elapsed < TimeSpan.FromSeconds(10))
        {
            busy.Call("PING").Should().Be("+PONG\r\n");
            idle.IsSilent(100);
        }
        // Redis's clientsCronHandleTimeout: over `timeout` seconds without a command, and not a subscriber.
        idle.Closed.Should().BeTrue();
        sw.Elapsed.Should().BeGreaterThan(TimeSpan.FromSeconds(3));
        busy.Call("PUBLISH", "news", "still here").Should().Be(":1\r\n");
        subscriber.Read().Should().Be("*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$10\r\nstill here\r\n");
        busy.Call("INFO", "clients").Should().Contain("connected_clients:2\r\n");
    }

    [Fact]
    public async Task Shutdown_RaisesShutdownRequestedAndClosesWithoutReply()
    {
        await using var server = await InProcessServer.StartAsync();
        var requested = new TaskCompletionSource();
        server.Engine.ShutdownRequested += () => requested.TrySetResult();
        using var c = new RawClient(server.Port);
        c.Send("SHUTDOWN", "NOSAVE");
        (await Task.WhenAny(requested.Task, Task.Delay(5000))).Should().Be(requested.Task);
        c.WaitClosed().Should().BeTrue();
        c.IsSilent().Should().BeTrue();
    }

    [Fact]
    public async Task ClientSetInfo_ShowsInClientInfo()
    {
        await using var server = await InProcessServer.StartAsync();
        using var c = new RawClient(server.Port);
        c.Call("CLIENT", "SETINFO", "LIB-NAME", "ioredis").Should().Be("+OK\r\n");
        c.Call("CLIENT", "SETINFO", "lib-ver", "5.4.1").Should().Be("+OK\r\n");
        c.Call("CLIENT", "SETINFO", "lib-name", "bad name").Should().Be("-ERR lib-name cannot contain spaces, newlines or special characters.\r\n");
        c.Call("CLIENT", "SETINFO", "color", "x").Should().Be("-ERR Unrecognized option 'color'\r\n");
        c.Call("CLIENT", "NO-TOUCH", "on").Should().Be("+OK\r\n");
        c.Call("CLIENT", "INFO").Should().Contain("lib-name=ioredis lib-ver=5.4.1").And.Contain("flags=T ");
    }

    [Fact]
    public async Task ClientList_ShowsPubSubCountsAndFlag()
    {
        await using var server = await InProcessServer.StartAsync();
        using var sub = new RawClient(server.Port);
        sub.Send("SUBSCRIBE", "a", "b");
        sub.Read(2);
        sub.Send("PSUBSCRIBE", "p*");
        sub.Read();
        sub.Send("SSUBSCRIBE", "s");
        sub.Read();
        using var admin = new RawClient(server.Port);
        var list = admin.Call("CLIENT", "LIST", "TYPE", "pubsub");
        list.Should().Contain("flags=P ").And.Contain("sub=2 psub=1 ssub=1 ").And.Contain("omem=0 ");
        admin.Call("CLIENT", "LIST", "TYPE", "normal").Should().NotContain("flags=P");
        var info = admin.Call("INFO", "stats");
        info.Should().Contain("pubsub_channels:2\r\n").And.Contain("pubsub_patterns:1\r\n").And.Contain("pubsubshard_channels:1\r\n");
        admin.Call("INFO", "clients").Should().Contain("pubsub_clients:1\r\n");
    }

    [Fact]
    public async Task Auth_RequirePass_GuardsNewConnectionsOnly()
    {
        await using var server = await InProcessServer.StartAsync(("requirepass", "secret"));
        using var c = new RawClient(server.Port);
        c.Call("PING").Should().Be("-NOAUTH Authentication required.\r\n");
        c.Call("AUTH", "secret").Should().Be("+OK\r\n");
        c.Call("PING").Should().Be("+PONG\r\n");
        c.Call("RESET").Should().Be("+RESET\r\n");
        c.Call("PING").Should().Be("-NOAUTH Authentication required.\r\n");
    }
}
