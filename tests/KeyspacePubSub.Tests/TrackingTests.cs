using FluentAssertions;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// CLIENT TRACKING with REDIRECT, which the conformance scripts cannot express (it needs another client's id):
/// the same conversation with Redis and with us must give the same bytes. Plus the counters INFO shows.
/// (cases/36-tracking.txt covers the default, OPTIN/OPTOUT, BCAST and NOLOOP modes byte for byte.)
/// </summary>
public sealed class TrackingTests
{
    private static string Id(RawClient c) => c.Call("CLIENT", "ID").Trim().TrimStart(':');

    /// <summary>Invalidations sent to a redirect client: RESP2 in pub/sub mode, RESP3, a RESP2 client not subscribed, and one gone.</summary>
    private static string RedirectTranscript(int port)
    {
        var log = new System.Text.StringBuilder();
        using var c = new RawClient(port);
        using var t = new RawClient(port);
        string subId;
        using (var sub = new RawClient(port))
        {
            subId = Id(sub);
            sub.Call("SUBSCRIBE", "__redis__:invalidate");
            log.Append(t.Call("CLIENT", "TRACKING", "on", "REDIRECT", subId)).Append(t.Call("CLIENT", "GETREDIR").Replace(subId, "<sub>"));
            t.Call("GET", "k");
            t.Call("MGET", "a", "b");
            c.Call("MSET", "k", "1", "a", "2");
            log.Append(sub.Read(2)); // k and a, each in its own message
            t.Call("GET", "k");
            c.Call("FLUSHALL");
            log.Append(sub.Read()); // a flush: null, in the tracking client's protocol (RESP2)
            log.Append(t.IsSilent(100) ? "t:silent;" : "t:pushed;");
        }
        // The redirect client is gone: a RESP3 tracking client is told so when an invalidation is due.
        Thread.Sleep(100);
        t.Call("HELLO", "3");
        t.Call("GET", "k");
        c.Call("SET", "k", "2");
        // Client ids are each server's own counter: the gone client's id is written as <sub> in both transcripts.
        log.Append(t.Read().Replace($":{subId}\r\n", ":<sub>\r\n"));
        log.Append(t.Call("CLIENT", "TRACKINGINFO").Replace($":{subId}\r\n", ":<sub>\r\n"));
        // Tracking turned off inside a transaction: the client's own invalidation is still due after the EXEC,
        // finds the redirect gone again, and leaves the client "off" with "broken_redirect" (CLIENT LIST flag R).
        t.Call("GET", "k");
        t.Call("MULTI");
        t.Call("SET", "k", "x");
        t.Call("CLIENT", "TRACKING", "off");
        t.Send("EXEC");
        log.Append(t.Read(2).Replace($":{subId}\r\n", ":<sub>\r\n"));
        log.Append(t.Call("CLIENT", "TRACKINGINFO"));
        log.Append(System.Text.RegularExpressions.Regex.Match(t.Call("CLIENT", "INFO"), @"flags=\S*").Value).Append(';');
        using (var r3 = new RawClient(port))
        {
            r3.Call("HELLO", "3");
            log.Append(t.Call("CLIENT", "TRACKING", "on", "REDIRECT", Id(r3)));
            t.Call("GET", "k");
            c.Call("SET", "k", "3");
            log.Append(r3.Read()); // a push to a RESP3 redirect client
            using var plain = new RawClient(port);
            log.Append(t.Call("CLIENT", "TRACKING", "on", "REDIRECT", Id(plain)));
            t.Call("GET", "k");
            c.Call("SET", "k", "4");
            log.Append(plain.IsSilent(100) ? "plain:silent;" : "plain:pushed;"); // RESP2 and not subscribed: nothing
            string cId = Id(c);
            log.Append(t.Call("CLIENT", "TRACKING", "on", "REDIRECT", cId, "REDIRECT", cId));
        }
        c.Call("FLUSHALL");
        return log.ToString();
    }

    [Fact]
    public async Task Redirect_SendsInvalidationsAsRedisDoes()
    {
        await using var server = await InProcessServer.StartAsync();
        string ours = RedirectTranscript(server.Port);
        ours.Should().Contain("*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$1\r\nk\r\n");
        ours.Should().Contain("__redis__:invalidate\r\n$-1\r\n");
        ours.Should().Contain("~2\r\n$3\r\noff\r\n$15\r\nbroken_redirect\r\n").And.Contain("flags=R;");
        if (RedisProcess.SkipReason != null) return;
        using var redis = RedisProcess.Start();
        ours.Should().Be(RedirectTranscript(redis.Port));
    }

    /// <summary>
    /// A key read by two tracking clients, one (T) whose redirect is gone and one redirecting to T, then written:
    /// T gets an invalidation and a tracking-redir-broken, in the order Redis walks the key's readers, by the
    /// bytes of their ids in memory (little endian). With T's id 255 and the other's 257 that is the other first,
    /// though T read the key first and has the lower id.
    /// </summary>
    private static string IdOrderTranscript(int port)
    {
        var idle = new List<RawClient>();
        try
        {
            RawClient t;
            while (true)
            {
                var probe = new RawClient(port);
                long id = long.Parse(Id(probe), System.Globalization.CultureInfo.InvariantCulture);
                if (id % 256 == 255)
                {
                    t = probe;
                    break;
                }
                idle.Add(probe);
                if (id > 1000) throw new InvalidOperationException("no id ending in 0xff");
            }
            idle.Add(t);
            string goneId;
            t.Call("HELLO", "3");
            using (var gone = new RawClient(port))
            {
                goneId = Id(gone); // 256
                t.Call("CLIENT", "TRACKING", "on", "REDIRECT", goneId).Should().Be("+OK\r\n");
            }
            var a = new RawClient(port); // 257
            idle.Add(a);
            Eventually.True(() => idle[0].Call("CLIENT", "LIST", "ID", goneId) == "$0\r\n\r\n").Should().BeTrue();
            t.Call("GET", "k");
            a.Call("CLIENT", "TRACKING", "on", "REDIRECT", "255").Should().Be("+OK\r\n");
            a.Call("GET", "k");
            a.Call("CLIENT", "ID").Should().Be(":257\r\n");
            t.Call("SET", "other", "1"); // T's own write: nothing of k
            idle[0].Call("SET", "k", "1");
            return t.Read(2);
        }
        finally
        {
            foreach (var c in idle) c.Dispose();
        }
    }

    [Fact]
    public async Task KeyReaders_AreWalkedInRaxIdOrder()
    {
        await using var server = await InProcessServer.StartAsync();
        string ours = IdOrderTranscript(server.Port);
        ours.Should().Be(">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n>2\r\n$21\r\ntracking-redir-broken\r\n:256\r\n");
        if (RedisProcess.SkipReason != null) return;
        using var redis = RedisProcess.Start();
        ours.Should().Be(IdOrderTranscript(redis.Port));
    }

    [Fact]
    public async Task TableOverItsLimit_InvalidatesKeysToMakeRoom()
    {
        await using var server = await InProcessServer.StartAsync(("tracking-table-max-keys", "2"));
        using var t = new RawClient(server.Port);
        using var c = new RawClient(server.Port);
        t.Call("HELLO", "3");
        t.Call("CLIENT", "TRACKING", "on");
        t.Call("MGET", "k1", "k2", "k3", "k4", "k5").Should().StartWith("*5");
        // The cron (10 Hz) invalidates three of them: the reader is told, as if they had changed.
        var pushes = t.Read(3);
        pushes.Split(">2\r\n$10\r\ninvalidate\r\n*1\r\n").Length.Should().Be(4);
        c.Call("INFO", "stats").Should().Contain("tracking_total_keys:2\r\n");
        t.IsSilent(300).Should().BeTrue("two keys fit");
    }

    [Fact]
    public async Task Info_CountsTrackingClientsKeysAndPrefixes()
    {
        await using var server = await InProcessServer.StartAsync();
        using var c = new RawClient(server.Port);
        using (var t = new RawClient(server.Port))
        {
            t.Call("HELLO", "3");
            t.Call("CLIENT", "TRACKING", "on");
            t.Call("MGET", "a", "b", "c");
            using var b = new RawClient(server.Port);
            b.Call("HELLO", "3");
            b.Call("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "x", "PREFIX", "y");
            b.Call("GET", "a"); // BCAST clients remember nothing
            c.Call("INFO", "clients").Should().Contain("tracking_clients:2\r\n");
            c.Call("INFO", "stats").Should().Contain("tracking_total_keys:3\r\n").And.Contain("tracking_total_items:3\r\n").And.Contain("tracking_total_prefixes:2\r\n");
            c.Call("CLIENT", "LIST").Should().Contain("flags=t ").And.Contain("flags=tB ");
            c.Call("SET", "a", "1");
            t.Read().Should().Be(">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\na\r\n");
            c.Call("INFO", "stats").Should().Contain("tracking_total_keys:2\r\n");
        }
        Eventually.True(() => c.Call("INFO", "clients").Contains("tracking_clients:0\r\n")).Should().BeTrue();
        c.Call("INFO", "stats").Should().Contain("tracking_total_prefixes:0\r\n");
    }
}
