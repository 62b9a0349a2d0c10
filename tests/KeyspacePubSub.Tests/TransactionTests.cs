using FluentAssertions;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>Transaction behaviour beyond what Redis 7.0 shows (7.2 push ordering) or can show deterministically.</summary>
public class TransactionTests
{
    [Fact]
    public async Task Resp3_PublishToSelfInsideMulti_MessagesFollowTheExecReply()
    {
        await using var server = await InProcessServer.StartAsync();
        using var c = new RawClient(server.Port);
        c.Send("HELLO", "3");
        c.Read();
        c.Call("SUBSCRIBE", "foo").Should().StartWith(">3\r\n");
        c.Call("MULTI").Should().Be("+OK\r\n");
        c.Call("PUBLISH", "foo", "bar").Should().Be("+QUEUED\r\n");
        c.Call("PUBLISH", "foo", "vaz").Should().Be("+QUEUED\r\n");
        c.Send("EXEC");
        c.Read(3).Should().Be("*2\r\n:1\r\n:1\r\n"
            + ">3\r\n$7\r\nmessage\r\n$3\r\nfoo\r\n$3\r\nbar\r\n"
            + ">3\r\n$7\r\nmessage\r\n$3\r\nfoo\r\n$3\r\nvaz\r\n");
    }

    [Fact]
    public async Task ChatBacklog_SubscriberSeesLpushEventBeforeMessage_AndNothingBeforeExec()
    {
        await using var server = await InProcessServer.StartAsync(("notify-keyspace-events", "Kl"));
        using var sub = new RawClient(server.Port);
        using var c = new RawClient(server.Port);
        sub.Send("SUBSCRIBE", "__keyspace@0__:room:x:backlog", "room:x");
        sub.Read(2);
        c.Call("MULTI");
        c.Call("LPUSH", "room:x:backlog", "hello");
        c.Call("PUBLISH", "room:x", "hello");
        sub.IsSilent(50).Should().BeTrue();
        c.Call("EXEC").Should().Be("*2\r\n:1\r\n:1\r\n");
        sub.Read(2).Should().Be("*3\r\n$7\r\nmessage\r\n$29\r\n__keyspace@0__:room:x:backlog\r\n$5\r\nlpush\r\n"
            + "*3\r\n$7\r\nmessage\r\n$6\r\nroom:x\r\n$5\r\nhello\r\n");
    }

    [Fact]
    public async Task ClientInfo_InsideExec_ShowsMultiFlag()
    {
        await using var server = await InProcessServer.StartAsync();
        using var c = new RawClient(server.Port);
        c.Call("MULTI");
        c.Call("CLIENT", "INFO");
        c.Call("CLIENT", "INFO").Should().Be("+QUEUED\r\n");
        var info = c.Call("EXEC");
        info.Should().Contain("flags=x ").And.Contain("multi=2 ");
    }

    [Fact]
    public async Task WatchedKeyExpiredByTheExpiryLoop_FailsExec()
    {
        await using var server = await InProcessServer.StartAsync();
        using var c = new RawClient(server.Port);
        c.Call("SET", "k", "v", "PX", "30");
        c.Call("WATCH", "k");
        await Task.Delay(200);
        c.Call("MULTI");
        c.Call("PING");
        c.Call("EXEC").Should().Be("*-1\r\n");
    }
}
