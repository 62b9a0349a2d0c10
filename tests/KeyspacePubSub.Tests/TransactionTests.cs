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
        using (var other = new RawClient(server.Port)) // DBSIZE counts a key until it is deleted, and touches none
            Eventually.True(() => other.Call("DBSIZE") == ":0\r\n").Should().BeTrue();
        c.Call("MULTI");
        c.Call("PING");
        c.Call("EXEC").Should().Be("*-1\r\n");
    }

    [Fact]
    public async Task QueueIsReusedAcrossTransactions_WithoutLeftoversOrCorruptedArguments()
    {
        await using var server = await InProcessServer.StartAsync();
        using var c = new RawClient(server.Port);
        string big = new('b', 10_000); // grows the queue's arena past its first size
        c.Call("MULTI");
        c.Call("SET", "k1", big).Should().Be("+QUEUED\r\n");
        c.Call("SET", "k2", "two").Should().Be("+QUEUED\r\n");
        c.Call("APPEND", "k2", big).Should().Be("+QUEUED\r\n");
        c.Call("EXEC").Should().Be("*3\r\n+OK\r\n+OK\r\n:10003\r\n");
        c.Call("GET", "k1").Should().Be($"$10000\r\n{big}\r\n");
        c.Call("GET", "k2").Should().Be($"$10003\r\ntwo{big}\r\n");

        // A shorter transaction after a longer one runs only its own commands.
        c.Call("MULTI");
        c.Call("INCR", "n");
        c.Call("EXEC").Should().Be("*1\r\n:1\r\n");
        c.Call("MULTI");
        c.Call("INCR", "n");
        c.Call("DISCARD").Should().Be("+OK\r\n");
        c.Call("MULTI");
        c.Call("EXEC").Should().Be("*0\r\n");

        // A transaction of very many commands (its tables are given back afterwards), then a small one.
        const int many = 25_000;
        var pipeline = new System.Text.StringBuilder("MULTI\r\n");
        for (int i = 0; i < many; i++) pipeline.Append($"RPUSH list {i}\r\n");
        pipeline.Append("EXEC\r\n");
        c.SendRaw(pipeline.ToString());
        c.Read(1 + many).Should().Be("+OK\r\n" + string.Concat(Enumerable.Repeat("+QUEUED\r\n", many)));
        string exec = c.Read();
        exec.Should().StartWith($"*{many}\r\n:1\r\n:2\r\n").And.EndWith($":{many}\r\n");
        c.Call("LINDEX", "list", "-1").Should().Be($"${(many - 1).ToString().Length}\r\n{many - 1}\r\n");
        c.Call("MULTI");
        c.Call("GET", "k2");
        c.Call("EXEC").Should().Be($"*1\r\n$10003\r\ntwo{big}\r\n");
    }
}
