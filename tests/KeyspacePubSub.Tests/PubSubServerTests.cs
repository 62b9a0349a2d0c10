using FluentAssertions;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>Pub/sub behaviour that Redis 7.0 (the conformance baseline) does not have or cannot show.</summary>
public class PubSubServerTests
{
    [Fact]
    public async Task Resp3_PublishToSelf_ReplyComesBeforeThePush()
    {
        await using var server = await InProcessServer.StartAsync();
        using var c = new RawClient(server.Port);
        c.Send("HELLO", "3");
        c.Read();
        c.Call("SUBSCRIBE", "foo").Should().Be(">3\r\n$9\r\nsubscribe\r\n$3\r\nfoo\r\n:1\r\n");
        c.Send("PUBLISH", "foo", "bar");
        // As Redis 7.2 (redis#12326): the command's own reply first, then the message it caused.
        c.Read(2).Should().Be(":1\r\n>3\r\n$7\r\nmessage\r\n$3\r\nfoo\r\n$3\r\nbar\r\n");
    }

    [Fact]
    public async Task ClientReplyOff_StillReceivesConfirmationsAndMessages()
    {
        await using var server = await InProcessServer.StartAsync();
        using var sub = new RawClient(server.Port);
        using var pub = new RawClient(server.Port);
        sub.Send("HELLO", "3");
        sub.Read();
        sub.Send("CLIENT", "REPLY", "OFF");
        sub.Send("SUBSCRIBE", "news");
        sub.Read().Should().Be(">3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n");
        pub.Call("PUBLISH", "news", "hi").Should().Be(":1\r\n");
        sub.Read().Should().Be(">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n");
        sub.Send("PING");
        sub.IsSilent().Should().BeTrue();
    }

    [Fact]
    public async Task Resp2_PingWhileSubscribed_RepliesPongArray()
    {
        await using var server = await InProcessServer.StartAsync();
        using var c = new RawClient(server.Port);
        c.Send("SUBSCRIBE", "x");
        c.Read();
        c.Call("PING").Should().Be("*2\r\n$4\r\npong\r\n$0\r\n\r\n");
        c.Call("PING", "hi").Should().Be("*2\r\n$4\r\npong\r\n$2\r\nhi\r\n");
    }

    [Fact]
    public async Task UnsubscribeAll_ConfirmsEveryChannel()
    {
        await using var server = await InProcessServer.StartAsync();
        using var c = new RawClient(server.Port);
        c.Send("SUBSCRIBE", "a", "b", "c");
        c.Read(3);
        c.Send("UNSUBSCRIBE");
        var frames = c.Read(3);
        frames.Should().Contain("$1\r\na\r\n").And.Contain("$1\r\nb\r\n").And.Contain("$1\r\nc\r\n");
        frames.Should().EndWith(":0\r\n");
        c.Call("PING").Should().Be("+PONG\r\n");
    }

    /// <summary>
    /// A client's table of one kind of subscription exists only while it holds one of that kind: a client that
    /// went through many channels and left them keeps nothing of the table they grew, and subscribing again
    /// starts a new one with the counts Redis confirms.
    /// </summary>
    [Fact]
    public async Task ChannelTables_ShrinkAfterTheirChannelsAreLeft()
    {
        await using var server = await InProcessServer.StartAsync();
        using var c = new RawClient(server.Port);
        (int Channels, int ShardChannels) Capacity()
        {
            lock (server.Engine.Gate) return server.Engine.Broker.TableCapacity;
        }

        var channels = Enumerable.Range(0, 20_000).Select(i => $"ch{i}").ToArray();
        c.Send(["SUBSCRIBE", .. channels]);
        c.Read(channels.Length).Should().EndWith(":20000\r\n");
        c.Send(["SSUBSCRIBE", .. channels]);
        c.Read(channels.Length).Should().EndWith(":20000\r\n");
        Capacity().Channels.Should().BeGreaterThanOrEqualTo(20_000);
        Capacity().ShardChannels.Should().BeGreaterThanOrEqualTo(20_000);
        c.Send(["UNSUBSCRIBE", .. channels[100..]]);
        c.Read(channels.Length - 100).Should().EndWith(":100\r\n");
        c.Send("SUNSUBSCRIBE");
        c.Read(channels.Length).Should().EndWith(":0\r\n");
        // The cron (ten times a second) gives the tables' arrays back; the 100 channels left are still served.
        Eventually.True(() => Capacity() is { Channels: < 1_000, ShardChannels: < 1_000 }).Should().BeTrue($"the tables shrink ({Capacity()})");
        using var publisher = new RawClient(server.Port);
        publisher.Call("PUBLISH", "ch7", "m").Should().Be(":1\r\n");
        c.Read().Should().Be("*3\r\n$7\r\nmessage\r\n$3\r\nch7\r\n$1\r\nm\r\n");
        publisher.Call("PUBSUB", "NUMSUB", "ch99", "ch100").Should().Be("*4\r\n$4\r\nch99\r\n:1\r\n$5\r\nch100\r\n:0\r\n");
    }

    [Fact]
    public async Task SubscriptionTables_ExistOnlyWhileSubscriptionsOfTheirKindDo()
    {
        await using var server = await InProcessServer.StartAsync();
        using var c = new RawClient(server.Port);
        long id = long.Parse(c.Call("CLIENT", "ID")[1..^2], System.Globalization.CultureInfo.InvariantCulture);
        Engine.Client client;
        lock (server.Engine.Gate) client = server.Engine.Clients.Single(x => x.Id == id);
        string Tables()
        {
            lock (server.Engine.Gate)
            {
                return string.Join(',', new[] { Engine.PubSub.SubscriptionKind.Channel, Engine.PubSub.SubscriptionKind.Pattern, Engine.PubSub.SubscriptionKind.ShardChannel }
                    .Select(k => client.Subs.Find(k) is { } t ? t.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) : "-"));
            }
        }

        Tables().Should().Be("-,-,-");
        var channels = Enumerable.Range(0, 1000).Select(i => $"ch{i}").ToArray();
        c.Send(["SUBSCRIBE", .. channels]);
        c.Read(channels.Length).Should().EndWith(":1000\r\n");
        c.Send("PSUBSCRIBE", "p*");
        c.Read().Should().Be("*3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:1001\r\n");
        Tables().Should().Be("1000,1,-");

        c.Send("UNSUBSCRIBE");
        c.Read(channels.Length).Should().EndWith(":1\r\n");
        Tables().Should().Be("-,1,-");
        c.Send("SSUBSCRIBE", "s");
        c.Read().Should().Be("*3\r\n$10\r\nssubscribe\r\n$1\r\ns\r\n:1\r\n");
        c.Send("SUBSCRIBE", "again");
        c.Read().Should().Be("*3\r\n$9\r\nsubscribe\r\n$5\r\nagain\r\n:2\r\n");
        Tables().Should().Be("1,1,1");

        c.Send("PUNSUBSCRIBE", "p*", "p*");
        c.Read(2).Should().Be("*3\r\n$12\r\npunsubscribe\r\n$2\r\np*\r\n:1\r\n*3\r\n$12\r\npunsubscribe\r\n$2\r\np*\r\n:1\r\n");
        c.Send("SUNSUBSCRIBE", "s");
        c.Read().Should().Be("*3\r\n$12\r\nsunsubscribe\r\n$1\r\ns\r\n:0\r\n");
        c.Send("UNSUBSCRIBE", "again");
        c.Read().Should().Be("*3\r\n$11\r\nunsubscribe\r\n$5\r\nagain\r\n:0\r\n");
        Tables().Should().Be("-,-,-");
        c.Call("PING").Should().Be("+PONG\r\n"); // out of pub/sub mode
        c.Call("PUBSUB", "NUMPAT").Should().Be(":0\r\n");
        c.Call("PUBSUB", "NUMSUB", "ch1", "again").Should().Be("*4\r\n$3\r\nch1\r\n:0\r\n$5\r\nagain\r\n:0\r\n");
    }

    [Fact]
    public async Task SlowSubscriber_OverHardLimit_IsDisconnectedAndOthersAreUnaffected()
    {
        await using var server = await InProcessServer.StartAsync(("client-output-buffer-limit", "pubsub 256kb 0 0"));
        using var slow = new RawClient(server.Port, receiveBuffer: 4096);
        using var healthy = new RawClient(server.Port);
        using var pub = new RawClient(server.Port);
        slow.Send("SUBSCRIBE", "feed");
        slow.Read();
        healthy.Send("SUBSCRIBE", "feed");
        healthy.Read();
        string payload = new('x', 4096);
        int messages = 2000; // 8 MB in all, far over the slow subscriber's 256 KB limit
        for (int i = 0; i < messages; i++)
        {
            pub.Send("PUBLISH", "feed", payload);
            pub.Read().Should().MatchRegex(@"^:\d\r\n$");
            healthy.Read().Should().EndWith(payload + "\r\n");
        }
        Eventually.True(() => pub.Call("INFO", "stats").Contains("pubsub_slow_disconnects:1\r\n")).Should().BeTrue();
        pub.Call("PUBSUB", "NUMSUB", "feed").Should().Be("*2\r\n$4\r\nfeed\r\n:1\r\n");
        slow.WaitClosed().Should().BeTrue();
    }

    [Fact]
    public async Task SlowSubscriber_OverSoftLimitForTooLong_IsDisconnected()
    {
        await using var server = await InProcessServer.StartAsync(("client-output-buffer-limit", "pubsub 0 64kb 1"));
        using var slow = new RawClient(server.Port, receiveBuffer: 4096);
        using var pub = new RawClient(server.Port);
        slow.Send("SUBSCRIBE", "feed");
        slow.Read();
        string payload = new('y', 4096);
        for (int i = 0; i < 2000; i++) // 8 MB: more than the kernel's socket buffers absorb
        {
            pub.Send("PUBLISH", "feed", payload);
            pub.Read();
        }
        pub.Call("PUBSUB", "NUMSUB", "feed").Should().Be("*2\r\n$4\r\nfeed\r\n:1\r\n");
        // the cron notices the soft limit has been exceeded for over a second
        Eventually.True(() => pub.Call("PUBSUB", "NUMSUB", "feed") == "*2\r\n$4\r\nfeed\r\n:0\r\n").Should().BeTrue();
        pub.Call("INFO", "stats").Should().Contain("pubsub_slow_disconnects:1\r\n");
    }

    [Fact]
    public async Task ManyDistinctChannels_AreRemovedWhenEmpty()
    {
        await using var server = await InProcessServer.StartAsync();
        using (var c = new RawClient(server.Port))
        {
            for (int batch = 0; batch < 20; batch++)
            {
                var names = Enumerable.Range(0, 500).Select(i => $"ch:{batch}:{i}").ToArray();
                c.Send(["SUBSCRIBE", .. names]);
                c.Read(500);
                c.Send(["PSUBSCRIBE", .. names.Select(n => n + "*")]);
                c.Read(500);
                c.Send("UNSUBSCRIBE");
                c.Read(500);
            }
            server.Engine.Broker.ChannelCount.Should().Be(0);
            server.Engine.Broker.PatternCount.Should().Be(10000);
        }
        Eventually.True(() => server.Engine.Broker.PatternCount == 0).Should().BeTrue();
    }

    [Fact]
    public async Task Publish_FanOut_DeliversEveryMessageInOrderToEverySubscriber()
    {
        await using var server = await InProcessServer.StartAsync();
        var subs = Enumerable.Range(0, 20).Select(_ => new RawClient(server.Port)).ToList();
        try
        {
            foreach (var s in subs)
            {
                s.Send("SUBSCRIBE", "fan");
                s.Read();
            }
            using var pub = new RawClient(server.Port);
            for (int i = 0; i < 300; i++) pub.Send("PUBLISH", "fan", i.ToString());
            pub.Read(300).Should().Be(string.Concat(Enumerable.Repeat(":20\r\n", 300)));
            var expected = string.Concat(Enumerable.Range(0, 300).Select(i => $"*3\r\n$7\r\nmessage\r\n$3\r\nfan\r\n${i.ToString().Length}\r\n{i}\r\n"));
            foreach (var s in subs) s.Read(300).Should().Be(expected);
        }
        finally
        {
            subs.ForEach(s => s.Dispose());
        }
    }
}
