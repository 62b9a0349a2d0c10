using System.Diagnostics;
using FluentAssertions;
using KeyspacePubSub.Persistence;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// Blocking pops where the conformance scripts cannot reach: CLIENT UNBLOCK (it needs the other client's id),
/// commands held behind a blocked one on every transport, deadlines, disconnection, the idle timeout, durable
/// keys popped by a served client, and the introspection of blocked clients. Replies are compared with real
/// Redis where it is installed (cases/32-blocking.txt covers the rest byte for byte).
/// </summary>
public sealed class BlockingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kps-blocking-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Task<InProcessServer> Start(string transport, string threads) => TransportTests.Start(transport, threads);

    [Fact]
    public async Task DeadlinesOfServedClients_AreDropped_AndABlockedClientStillTimesOut()
    {
        await using var server = await InProcessServer.StartAsync();
        using var consumer = new RawClient(server.Port);
        using var producer = new RawClient(server.Port);
        using var waiter = new RawClient(server.Port);
        int Entries()
        {
            lock (server.Engine.Gate) return server.Engine.BlockDeadlineEntries;
        }

        // Blocked throughout, its deadline in 8 s: the earliest, so the served clients' entries never reach the
        // top of the queue (where they would be dropped on the way anyway).
        var started = Stopwatch.StartNew();
        waiter.Send("BLPOP", "nothing", "8");
        for (int i = 0; i < 3_000; i++)
        {
            consumer.Send("BLPOP", "q", "300"); // blocks (nothing queued), then a push serves it
            Eventually.True(() => producer.Call("INFO", "clients").Contains("\r\nblocked_clients:2\r\n", StringComparison.Ordinal)).Should().BeTrue("the consumer is blocked");
            producer.Call("RPUSH", "q", "job").Should().Be(":1\r\n");
            consumer.Read().Should().Be("*2\r\n$1\r\nq\r\n$3\r\njob\r\n");
        }
        // Each served BLPOP left its 300 s deadline queued; the cron drops them, keeping the waiter's, once they
        // outnumber the blocked clients' (more than 2 × 1 + 1,024).
        Eventually.True(() => Entries() <= 1_026, timeoutMs: 3_000).Should().BeTrue($"served clients' deadlines are dropped ({Entries()} left)");
        started.ElapsedMilliseconds.Should().BeLessThan(7_000, "the waiter was blocked meanwhile");
        waiter.Read(timeoutMs: 15_000).Should().Be("*-1\r\n", "the waiter times out");
        started.ElapsedMilliseconds.Should().BeGreaterThanOrEqualTo(7_900);
    }

    /// <summary>What a client sees around CLIENT UNBLOCK: the same bytes from Redis and from us.</summary>
    private static string UnblockTranscript(int port)
    {
        using var a = new RawClient(port);
        using var c = new RawClient(port);
        string id = a.Call("CLIENT", "ID").Trim().TrimStart(':');
        c.Call("CONFIG", "RESETSTAT");
        var log = new System.Text.StringBuilder();
        // Blocked, with commands behind it: the error, then the held commands' replies, in order.
        a.Send("BLPOP", "q1", "q2", "0");
        a.Send("PING");
        a.Send("ECHO", "held");
        a.IsSilent(150).Should().BeTrue("a blocked client gets nothing yet");
        log.Append(c.Call("CLIENT", "UNBLOCK", id, "ERROR")).Append(a.Read(3));
        a.Send("BZPOPMIN", "z", "0");
        a.IsSilent(100).Should().BeTrue();
        log.Append(c.Call("CLIENT", "UNBLOCK", id, "bad")).Append(c.Call("CLIENT", "UNBLOCK", "x"));
        log.Append(c.Call("CLIENT", "UNBLOCK", id)).Append(a.Read()); // TIMEOUT by default: a null array
        log.Append(c.Call("CLIENT", "UNBLOCK", id, "TIMEOUT")); // not blocked any more: 0
        log.Append(c.Call("CLIENT", "UNBLOCK", "999999"));
        a.Send("BLMOVE", "s", "d", "LEFT", "LEFT", "0");
        a.IsSilent(100).Should().BeTrue();
        log.Append(c.Call("CLIENT", "UNBLOCK", id, "timeout")).Append(a.Read()); // BLMOVE times out with a null array too
        a.Send("WAIT", "1", "0"); // no replica ever acknowledges: it waits until unblocked
        a.IsSilent(100).Should().BeTrue();
        log.Append(c.Call("CLIENT", "UNBLOCK", id)).Append(a.Read());
        a.Send("WAIT", "3", "0");
        a.IsSilent(100).Should().BeTrue();
        log.Append(c.Call("CLIENT", "UNBLOCK", id, "ERROR")).Append(a.Read());
        a.Call("HELLO", "3");
        a.Send("BLPOP", "q", "0");
        a.IsSilent(100).Should().BeTrue();
        log.Append(c.Call("CLIENT", "UNBLOCK", id)).Append(a.Read());
        a.Send("BLPOP", "q", "0");
        a.IsSilent(100).Should().BeTrue();
        log.Append(c.Call("CLIENT", "UNBLOCK", id, "ERROR")).Append(a.Read());
        // Each blocking command is a call when it blocks; CLIENT UNBLOCK, with either reason, makes it a failed one
        // (and the CLIENT UNBLOCK that sent an error too) and is its one latency sample, as Redis 7.0 counts them.
        var stats = c.Call("INFO", "commandstats");
        foreach (var m in System.Text.RegularExpressions.Regex.Matches(stats, @"cmdstat_(\S+?):calls=(\d+),usec=\d+,usec_per_call=[\d.]+,(rejected_calls=\d+,failed_calls=\d+)")
                     .OrderBy(m => m.Groups[1].Value, StringComparer.Ordinal))
        {
            log.Append($"{m.Groups[1].Value}:calls={m.Groups[2].Value},{m.Groups[3].Value}\n");
        }
        var histograms = c.Call("LATENCY", "HISTOGRAM", "blpop", "bzpopmin", "blmove", "wait");
        foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(histograms, @"\$\d+\r\n([a-z]+)\r\n\*4\r\n\$5\r\ncalls\r\n:(\d+)"))
        {
            log.Append($"latency samples {m.Groups[1].Value}: {m.Groups[2].Value}\n");
        }
        return log.ToString();
    }

    [Fact]
    public async Task ClientUnblock_AnswersTheBlockedClientAsRedisDoes()
    {
        await using var server = await InProcessServer.StartAsync();
        string ours = UnblockTranscript(server.Port);
        ours.Should().Contain("-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n+PONG\r\n$4\r\nheld\r\n");
        ours.Should().Contain("blpop:calls=3,rejected_calls=0,failed_calls=3\n").And.Contain("latency samples blpop: 3\n");
        if (RedisProcess.SkipReason != null) return;
        using var redis = RedisProcess.Start();
        ours.Should().Be(UnblockTranscript(redis.Port));
    }

    [Theory]
    [MemberData(nameof(TransportTests.Transports), MemberType = typeof(TransportTests))]
    public async Task HeldCommands_RunInOrderOnceServed_OnEveryTransport(string transport, string threads)
    {
        await using var server = await Start(transport, threads);
        using var a = new RawClient(server.Port);
        using var c = new RawClient(server.Port);
        // A pipeline with two blocking pops in it: each stops the rest until a push serves it.
        a.Send("BLPOP", "q", "0");
        for (int i = 0; i < 50; i++) a.Send("INCR", "n");
        a.Send("BRPOP", "q", "0");
        a.Send("GET", "n");
        a.IsSilent(150).Should().BeTrue();
        c.Call("GET", "n").Should().Be("$-1\r\n", "nothing behind the blocked BLPOP ran");
        c.Call("RPUSH", "q", "first").Should().Be(":1\r\n");
        var expected = new System.Text.StringBuilder("*2\r\n$1\r\nq\r\n$5\r\nfirst\r\n");
        for (int i = 1; i <= 50; i++) expected.Append($":{i}\r\n");
        a.Read(51).Should().Be(expected.ToString());
        a.IsSilent(150).Should().BeTrue("BRPOP blocks again");
        c.Call("GET", "n").Should().Be("$2\r\n50\r\n");
        c.Call("RPUSH", "q", "second").Should().Be(":1\r\n");
        a.Read(2).Should().Be("*2\r\n$1\r\nq\r\n$6\r\nsecond\r\n$2\r\n50\r\n");
        c.Call("INFO", "clients").Should().Contain("blocked_clients:0");
    }

    [Theory]
    [MemberData(nameof(TransportTests.Transports), MemberType = typeof(TransportTests))]
    public async Task Deadline_AnswersNullAfterTheTimeout_AndNotBefore(string transport, string threads)
    {
        await using var server = await Start(transport, threads);
        using var a = new RawClient(server.Port);
        var watch = Stopwatch.StartNew();
        a.Send("BLPOP", "nothing", "0.3");
        a.Read(timeoutMs: 5000).Should().Be("*-1\r\n");
        watch.ElapsedMilliseconds.Should().BeInRange(290, 1500);
        // A shorter deadline behind a longer one is still kept (the expiry loop wakes for it).
        using var b = new RawClient(server.Port);
        b.Send("BLPOP", "nothing", "5");
        watch.Restart();
        a.Send("BZPOPMAX", "nothing", "0.2");
        a.Read(timeoutMs: 5000).Should().Be("*-1\r\n");
        watch.ElapsedMilliseconds.Should().BeInRange(190, 1500);
        a.Call("INFO", "clients").Should().Contain("blocked_clients:1").And.Contain("clients_in_timeout_table:1");
    }

    [Fact]
    public async Task Disconnect_WhileBlocked_ForgetsTheClient()
    {
        await using var server = await InProcessServer.StartAsync();
        using var c = new RawClient(server.Port);
        using (var a = new RawClient(server.Port))
        {
            a.Send("BLPOP", "q", "0");
            Eventually.True(() => c.Call("INFO", "clients").Contains("blocked_clients:1")).Should().BeTrue();
            c.Call("CLIENT", "LIST").Should().Contain("flags=b ").And.Contain("cmd=blpop");
        }
        Eventually.True(() => c.Call("INFO", "clients").Contains("blocked_clients:0")).Should().BeTrue();
        c.Call("RPUSH", "q", "kept").Should().Be(":1\r\n");
        c.Call("LRANGE", "q", "0", "-1").Should().Be("*1\r\n$4\r\nkept\r\n");
    }

    [Fact]
    public async Task IdleTimeout_DoesNotCloseABlockedClient()
    {
        await using var server = await InProcessServer.StartAsync(("timeout", "1"));
        using var a = new RawClient(server.Port);
        using var idle = new RawClient(server.Port);
        idle.Call("PING").Should().Be("+PONG\r\n");
        a.Send("BLPOP", "q", "0");
        Thread.Sleep(2600);
        idle.WaitClosed(2000).Should().BeTrue("an idle client is closed after the timeout");
        using var c = new RawClient(server.Port);
        c.Call("RPUSH", "q", "v").Should().Be(":1\r\n");
        a.Read().Should().Be("*2\r\n$1\r\nq\r\n$1\r\nv\r\n");
    }

    [Fact]
    public async Task ServedPopOfADurableKey_IsCommittedWithThePush()
    {
        var options = new PersistenceOptions { Enabled = true, Path = Path.Combine(_dir, "store.db"), KeyPatterns = ["room:*:backlog"], Fsync = FsyncPolicy.Always };
        await using (var s = await InProcessServer.StartAsync(options))
        {
            using var a = new RawClient(s.Port);
            using var c = new RawClient(s.Port);
            a.Send("BRPOP", "room:1:backlog", "0");
            a.IsSilent(100).Should().BeTrue();
            c.Call("LPUSH", "room:1:backlog", "m1", "m2", "m3").Should().Be(":3\r\n");
            a.Read().Should().Be("*2\r\n$14\r\nroom:1:backlog\r\n$2\r\nm1\r\n");
            a.Send("BLMOVE", "room:2:backlog", "room:1:backlog", "LEFT", "LEFT", "0");
            a.IsSilent(100).Should().BeTrue();
            c.Call("RPUSH", "room:2:backlog", "moved").Should().Be(":1\r\n");
            a.Read().Should().Be("$5\r\nmoved\r\n");
            c.Call("LRANGE", "room:1:backlog", "0", "-1").Should().Be("*3\r\n$5\r\nmoved\r\n$2\r\nm3\r\n$2\r\nm2\r\n");
        }
        await using (var s = await InProcessServer.StartAsync(options))
        {
            using var c = new RawClient(s.Port);
            c.Call("LRANGE", "room:1:backlog", "0", "-1").Should().Be("*3\r\n$5\r\nmoved\r\n$2\r\nm3\r\n$2\r\nm2\r\n");
            c.Call("EXISTS", "room:2:backlog").Should().Be(":0\r\n");
        }
    }

    [Fact]
    public async Task ManyBlockedClients_AreServedOnePushEach_InTheOrderTheyBlocked()
    {
        await using var server = await Start("epoll", "3");
        var clients = Enumerable.Range(0, 30).Select(_ => new RawClient(server.Port)).ToList();
        try
        {
            using var c = new RawClient(server.Port);
            for (int i = 0; i < clients.Count; i++)
            {
                clients[i].Send("BLPOP", "jobs", "0");
                // Each is blocked before the next one asks (they are spread over three loops).
                Eventually.True(() => c.Call("INFO", "clients").Contains($"blocked_clients:{i + 1}\r\n")).Should().BeTrue();
            }
            for (int i = 0; i < 30; i++) c.Call("RPUSH", "jobs", $"job{i}").Should().Be(":1\r\n", "each push is taken at once by the next waiting client");
            for (int i = 0; i < 30; i++) clients[i].Read().Should().Be($"*2\r\n$4\r\njobs\r\n${$"job{i}".Length}\r\njob{i}\r\n");
            c.Call("EXISTS", "jobs").Should().Be(":0\r\n");
        }
        finally
        {
            foreach (var a in clients) a.Dispose();
        }
    }
}
