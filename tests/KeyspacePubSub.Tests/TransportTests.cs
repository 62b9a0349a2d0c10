using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using FluentAssertions;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// The same behaviours against every transport: the epoll event loop (one and several loops) and .NET's
/// socket engine. These exercise the paths a transport owns: reads that split requests, large values in
/// both directions, writes that fill the socket buffer and resume, pushes between loops, and closing.
/// </summary>
public class TransportTests
{
    public static TheoryData<string, string> Transports => new()
    {
        { "epoll", "1" },
        { "epoll", "3" },
        { "sockets", "1" },
    };

    /// <summary>Our server on one of <see cref="Transports"/> (other test classes run their theories on them too).</summary>
    internal static Task<InProcessServer> Start(string transport, string threads) =>
        InProcessServer.StartAsync(("io-transport", transport), ("io-threads", threads));

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task LargeValue_RoundTripsInBothDirections(string transport, string threads)
    {
        await using var server = await Start(transport, threads);
        using var c = new RawClient(server.Port);
        var value = new string('v', 3 * 1024 * 1024 + 17);
        c.Call("SET", "big", value).Should().Be("+OK\r\n");
        c.Call("STRLEN", "big").Should().Be($":{value.Length}\r\n");
        c.Call("GET", "big", "extra").Should().StartWith("-ERR wrong number of arguments");
        c.Call("GET", "big").Should().Be($"${value.Length}\r\n{value}\r\n");
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task PipelinedBurst_EveryReplyInOrder(string transport, string threads)
    {
        await using var server = await Start(transport, threads);
        using var c = new RawClient(server.Port);
        var request = new StringBuilder();
        var expected = new StringBuilder();
        for (int i = 0; i < 20_000; i++)
        {
            request.Append($"*2\r\n$4\r\nINCR\r\n$3\r\nctr\r\n");
            expected.Append($":{i + 1}\r\n");
        }
        c.SendRaw(request.ToString());
        c.Read(20_000, timeoutMs: 20_000).Should().Be(expected.ToString());
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern unsafe int setsockopt(int fd, int level, int name, int* value, int length);

    private static unsafe void SetReceiveBuffer(int fd, int bytes)
    {
        const int SOL_SOCKET = 1, SO_RCVBUFFORCE = 33; // past net.core.rmem_max: needs CAP_NET_ADMIN (.ci/run runs as root)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(int)).Should().Be(0, "errno {0}", System.Runtime.InteropServices.Marshal.GetLastPInvokeError());
    }

    /// <summary>
    /// A client whose long pipeline is all in the server's socket when the loop reads it: its own send buffer,
    /// and the server's end of the connection (this process's descriptor whose peer is the client), get room
    /// for all of it, so every read of it fills the loop's buffer.
    /// </summary>
    private static RawClient ConnectWithRoomForAll(InProcessServer server)
    {
        var c = new RawClient(server.Port, sendBuffer: 8 << 20);
        c.Call("PING").Should().Be("+PONG\r\n"); // accepted
        string peer = $"127.0.0.1:{((System.Net.IPEndPoint)c.LocalEndPoint).Port}";
        int fd = Enumerable.Range(3, 4096).First(f => Server.Linux.NativeSocket.PeerAddress(f) == peer
            && Server.Linux.NativeSocket.LocalAddress(f) == $"127.0.0.1:{server.Port}");
        SetReceiveBuffer(fd, 8 << 20);
        return c;
    }

    /// <summary>
    /// DEBUG SLEEP 0.3 (the loop sleeps while the pipeline piles up), <paramref name="then"/> (a raw command, whose
    /// reply is not in the replies returned), then <paramref name="count"/> INCRs of ctr (23 bytes each).
    /// </summary>
    private static (string Request, string Replies) SleepThenIncrs(int count, string then = "")
    {
        var request = new StringBuilder("*3\r\n$5\r\nDEBUG\r\n$5\r\nSLEEP\r\n$3\r\n0.3\r\n" + then);
        var replies = new StringBuilder("+OK\r\n");
        for (int i = 0; i < count; i++)
        {
            request.Append("*2\r\n$4\r\nINCR\r\n$3\r\nctr\r\n");
            replies.Append($":{i + 1}\r\n");
        }
        return (request.ToString(), replies.ToString());
    }

    [RootTheory]
    [InlineData("epoll", "1")]
    [InlineData("epoll", "3")]
    public async Task LongPipeline_RepliesLeaveWhileTheRestIsStillBeingRead(string transport, string threads)
    {
        // ~1.6 MB of INCRs (sent in one write while this thread reads), then CLIENT INFO. Replies must not wait
        // for the end of the pipeline: when CLIENT INFO runs, what is still unsent (omem) is at most the replies
        // of one iteration's reads (256 KiB: at most 11,397 INCRs, under 100 KB), not of the whole pipeline
        // (~550 KB). A server that read on until the socket was drained sent nothing until then, so a client
        // like redis-cli --pipe, which sends and reads in turn on one thread, worked in turn with it instead of
        // at the same time (1M SETs: 3.0 s, Redis 1.8-2.4 s).
        await using var server = await InProcessServer.StartAsync(("io-transport", transport), ("io-threads", threads), ("enable-debug-command", "yes"));
        using var c = ConnectWithRoomForAll(server);
        const int count = 70_000;
        var (request, replies) = SleepThenIncrs(count);
        var send = Task.Run(() => c.SendRaw(request + "*2\r\n$6\r\nCLIENT\r\n$4\r\nINFO\r\n"));
        c.Read(count + 1, timeoutMs: 20_000).Should().Be(replies);
        var info = c.Read(timeoutMs: 20_000);
        await send;
        var omem = System.Text.RegularExpressions.Regex.Match(info, @" omem=(\d+) ");
        omem.Success.Should().BeTrue(info);
        long.Parse(omem.Groups[1].Value).Should().BeLessThan(160 * 1024, "only the replies of one iteration's reads may still be unsent");
    }

    [RootTheory]
    [InlineData("epoll", "1")]
    public async Task LongPipeline_OtherClientsOfTheLoopAreServedBetweenItsReads(string transport, string threads)
    {
        // Another client waits in BLPOP q with GET ctr queued behind it. The pipeline's LPUSH q (before its
        // 70,000 INCRs) releases it, and its GET runs once the pipeline's connection has had an iteration's reads
        // (four reads of 64 KiB: GET saw 11,394 INCRs done, every run), not once all of the pipeline has run
        // (70,000 without the bound): a client streaming requests cannot keep the others waiting until it pauses.
        await using var server = await InProcessServer.StartAsync(("io-transport", transport), ("io-threads", threads), ("enable-debug-command", "yes"));
        using var c = ConnectWithRoomForAll(server);
        using var other = new RawClient(server.Port);
        other.SendRaw("*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n0\r\n*2\r\n$3\r\nGET\r\n$3\r\nctr\r\n");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!c.Call("INFO", "clients").Contains("blocked_clients:1\r\n"))
        {
            DateTime.UtcNow.Should().BeBefore(deadline, "the other client blocks in BLPOP");
            Thread.Sleep(5);
        }
        const int count = 70_000;
        var (request, replies) = SleepThenIncrs(count, "*3\r\n$5\r\nLPUSH\r\n$1\r\nq\r\n$1\r\nx\r\n");
        var send = Task.Run(() => c.SendRaw(request));
        c.Read(count + 2, timeoutMs: 20_000).Should().Be(replies.Replace("+OK\r\n", "+OK\r\n:1\r\n"));
        await send;
        other.Read(timeoutMs: 20_000).Should().Be("*2\r\n$1\r\nq\r\n$1\r\nx\r\n");
        var got = other.Read(timeoutMs: 20_000);
        got.Should().MatchRegex(@"^\$\d+\r\n\d+\r\n$");
        int value = int.Parse(got.Split("\r\n")[1]);
        value.Should().BeInRange(1, count / 2, "GET ran between the pipeline's reads");
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task RequestSplitAcrossWrites_AtEveryByte_ParsesLikeWhole(string transport, string threads)
    {
        await using var server = await Start(transport, threads);
        using var c = new RawClient(server.Port);
        var frame = Encoding.ASCII.GetBytes("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\nPING\r\n");
        for (int split = 1; split < frame.Length; split++)
        {
            c.SendRaw(frame[..split]);
            Thread.Sleep(2); // lets the first part arrive on its own
            c.SendRaw(frame[split..]);
            c.Read(2).Should().Be("+OK\r\n+PONG\r\n", $"split at {split}");
        }
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task ReaderThatPausesThenReads_GetsEverythingInOrder(string transport, string threads)
    {
        // A small receive buffer and a paused reader fill the socket: the server's writes must wait for it
        // and resume where they stopped (nothing dropped, duplicated or reordered).
        await using var server = await Start(transport, threads);
        using var sub = new RawClient(server.Port, receiveBuffer: 4096);
        sub.Call("SUBSCRIBE", "ch").Should().Be("*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n");
        using var pub = new RawClient(server.Port);
        var payload = new string('p', 1000);
        const int count = 3000; // ~3 MB: far beyond the socket buffers, below the 8 MB soft limit
        var request = new StringBuilder();
        for (int i = 0; i < count; i++) request.Append($"*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n${payload.Length + 6}\r\n{i:D6}{payload}\r\n");
        pub.SendRaw(request.ToString());
        pub.Read(count, timeoutMs: 20_000).Should().Be(string.Concat(Enumerable.Repeat(":1\r\n", count)));
        Thread.Sleep(200);
        var received = sub.Read(count, timeoutMs: 20_000);
        var expected = new StringBuilder();
        for (int i = 0; i < count; i++) expected.Append($"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n${payload.Length + 6}\r\n{i:D6}{payload}\r\n");
        received.Should().Be(expected.ToString());
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task PublishToManySubscribers_EveryConnectionGetsEveryMessageInOrder(string transport, string threads)
    {
        // With several loops the subscribers sit on other loops than the publisher.
        await using var server = await Start(transport, threads);
        var subs = Enumerable.Range(0, 7).Select(_ => new RawClient(server.Port)).ToList();
        try
        {
            foreach (var s in subs) s.Call("SUBSCRIBE", "news").Should().EndWith(":1\r\n");
            using var pub = new RawClient(server.Port);
            for (int i = 0; i < 200; i++) pub.Send("PUBLISH", "news", $"m{i}");
            pub.Read(200).Should().Be(string.Concat(Enumerable.Repeat(":7\r\n", 200)));
            var expected = string.Concat(Enumerable.Range(0, 200).Select(i => $"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n${$"m{i}".Length}\r\nm{i}\r\n"));
            foreach (var s in subs) s.Read(200).Should().Be(expected);
        }
        finally
        {
            foreach (var s in subs) s.Dispose();
        }
    }

    public static TheoryData<string, string, string> FanOutTransports => new()
    {
        { "epoll", "1", "200" },
        { "epoll", "1", "0" },
        { "epoll", "1", "10000" },
        { "epoll", "3", "200" },
        { "sockets", "1", "200" },
    };

    [Fact]
    public async Task WideFanOut_UnderASustainedLoad_TheHelperJoinsOnceTheLoopIsSaturated()
    {
        // The default ("yes"): the helper shares only while the loop is busy at least four fifths of the time.
        // A publisher that always has the next requests in flight keeps the loop's input from running dry, and
        // readers that drain the subscribers as they go keep their sockets writable, so every iteration
        // flushes all 100 subscribers and waits for nothing: the loop is saturated, however loaded the machine
        // (a slower loop is busier still). Bursts with pauses between them do not get there (1,000 pipelined
        // publishes at a time, 20 times: the helper never joined). It joined after 6,800-10,000 publishes (2.3-3.4 s,
        // with and without two busy processes beside); at most 40,000 are sent (each subscriber's messages are kept
        // to compare). Every subscriber gets every message, in order.
        await using var server = await InProcessServer.StartAsync(("io-transport", "epoll"), ("io-threads", "1"));
        var subs = new List<RawClient>();
        try
        {
            for (int i = 0; i < 100; i++)
            {
                var sub = new RawClient(server.Port);
                sub.Call("SUBSCRIBE", "busy").Should().EndWith(":1\r\n");
                subs.Add(sub);
            }
            using var pub = new RawClient(server.Port);
            using var info = new RawClient(server.Port);
            info.Call("CONFIG", "GET", "event-loop-write-helper").Should().Be("*2\r\n$23\r\nevent-loop-write-helper\r\n$3\r\nyes\r\n");
            var received = subs.Select(_ => new StringBuilder()).ToArray();
            using var stop = new CancellationTokenSource();
            var drain = Task.Run(() =>
            {
                while (!stop.IsCancellationRequested)
                {
                    for (int i = 0; i < subs.Count; i++) received[i].Append(subs[i].ReadAvailable(0));
                }
            });
            const int chunk = 200;
            int sent = 0;
            var publisher = Task.Run(() =>
            {
                // Two chunks in flight: the next is sent before the replies of the one before are read.
                var replies = string.Concat(Enumerable.Repeat(":100\r\n", chunk));
                bool first = true;
                while (!stop.IsCancellationRequested && sent < 40_000)
                {
                    var requests = new StringBuilder();
                    for (int i = 0; i < chunk; i++) requests.Append($"*3\r\n$7\r\nPUBLISH\r\n$4\r\nbusy\r\n$6\r\n{sent + i:D6}\r\n");
                    pub.SendRaw(requests.ToString());
                    if (!first && pub.Read(chunk, timeoutMs: 30_000) != replies) throw new InvalidOperationException("a PUBLISH reply was not :100");
                    first = false;
                    Volatile.Write(ref sent, sent + chunk);
                }
                if (!first && pub.Read(chunk, timeoutMs: 30_000) != replies) throw new InvalidOperationException("a PUBLISH reply was not :100");
            });
            long helped = 0;
            var pattern = new System.Text.RegularExpressions.Regex(@"io_threaded_writes_processed:(\d+)");
            var clock = Stopwatch.StartNew();
            while (helped == 0 && clock.ElapsedMilliseconds < 20_000 && !publisher.IsCompleted)
            {
                Thread.Sleep(20);
                helped = long.Parse(pattern.Match(info.Call("INFO", "stats")).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            }
            stop.Cancel();
            await publisher;
            await drain;
            int total = Volatile.Read(ref sent);
            helped.Should().BeGreaterThan(0, $"the helper shared the sends of a saturated loop ({total} publishes in {clock.ElapsedMilliseconds} ms)");
            var expected = string.Concat(Enumerable.Range(0, total).Select(n => $"*3\r\n$7\r\nmessage\r\n$4\r\nbusy\r\n$6\r\n{n:D6}\r\n"));
            for (int i = 0; i < subs.Count; i++)
            {
                int missing = total - RespFrames.Count(Encoding.Latin1.GetBytes(received[i].ToString()), out _);
                if (missing > 0) received[i].Append(subs[i].Read(missing, timeoutMs: 30_000));
                received[i].ToString().Should().Be(expected, $"subscriber {i} gets every message in order");
            }
        }
        finally
        {
            foreach (var s in subs) s.Dispose();
        }
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task MessagesOfEverySizeAroundABlock_ArriveWhole_InRespTwoAndThree(string transport, string threads)
    {
        // Frames longer than an output block are written across blocks (RespWriter.WholeSpanMax); RESP3 pushes
        // change their first byte to '>', and a subscriber's own publish puts the push after its reply.
        // From 1 KiB to 64 KiB the event loop sends a frame shared by the subscribers (SharedFrame), and a
        // subscriber publishing gets a copy after its reply.
        await using var server = await Start(transport, threads);
        using var two = new RawClient(server.Port);
        using var three = new RawClient(server.Port);
        three.Call("HELLO", "3").Should().StartWith("%7\r\n");
        two.Call("SUBSCRIBE", "sizes").Should().EndWith(":1\r\n");
        three.Call("SUBSCRIBE", "sizes").Should().Be(">3\r\n$9\r\nsubscribe\r\n$5\r\nsizes\r\n:1\r\n");
        using var pub = new RawClient(server.Port);
        foreach (int size in new[] { 1000, 1024, 4000, 4060, 4070, 4096, 4097, 8192, 10_000, 65_000, 100_000 })
        {
            string payload = string.Concat(Enumerable.Range(0, size).Select(i => (char)('a' + i % 26)));
            string frame = $"3\r\n$7\r\nmessage\r\n$5\r\nsizes\r\n${size}\r\n{payload}\r\n";
            pub.Call("PUBLISH", "sizes", payload).Should().Be(":2\r\n");
            two.Read(1, timeoutMs: 10_000).Should().Be("*" + frame, $"a {size}-byte message in RESP2");
            three.Read(1, timeoutMs: 10_000).Should().Be(">" + frame, $"a {size}-byte message in RESP3");
            three.Send("PUBLISH", "sizes", payload);
            three.Read(2, timeoutMs: 10_000).Should().Be(":2\r\n>" + frame, "its own message follows its reply");
            two.Read(1, timeoutMs: 10_000).Should().Be("*" + frame);
        }
    }

    [Fact]
    public void DeliveringLargeMessages_AllocatesNoArrayPerDelivery()
    {
        // In a process of its own, so that INFO's total_allocated_bytes counts only the server. 300 messages of
        // 8 KiB to 10 subscribers: 24 MB of frames, which asked one span each used to allocate; the output
        // blocks are pooled now.
        int port = RedisProcess.FreePort();
        using var server = new ServerProcess("--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        server.WaitUntilServing(port).Should().BeTrue();
        var subs = Enumerable.Range(0, 10).Select(_ => new RawClient(port)).ToList();
        try
        {
            foreach (var sub in subs) sub.Call("SUBSCRIBE", "big").Should().EndWith(":1\r\n");
            using var pub = new RawClient(port);
            string payload = new('p', 8192);
            long Allocated() => long.Parse(System.Text.RegularExpressions.Regex.Match(pub.Call("INFO", "memory"), @"total_allocated_bytes:(\d+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            for (int i = 0; i < 20; i++) pub.Call("PUBLISH", "big", payload); // warm-up: first uses of each path
            foreach (var sub in subs) sub.Read(20, timeoutMs: 10_000);
            long before = Allocated();
            for (int i = 0; i < 300; i++)
            {
                pub.Call("PUBLISH", "big", payload).Should().Be(":10\r\n");
                foreach (var sub in subs) sub.Read(1, timeoutMs: 10_000).Should().EndWith($"{payload}\r\n");
            }
            long allocated = Allocated() - before;
            allocated.Should().BeLessThan(300 * 10 * 8192 / 10, "deliveries copy into pooled blocks (allocated {0} bytes)", allocated);
        }
        finally
        {
            foreach (var s in subs) s.Dispose();
        }
    }

    [Theory]
    [InlineData("0")]
    [InlineData("50")]
    public async Task WideFanOut_LonePublishesAfterIdleGaps_AreSentByTheLoopAlone(string spinMicros)
    {
        // A publish to 100 subscribers every 20 ms: the loop is not busy, so the helper is not woken (it would
        // take the core the subscribers' readers need). Busy loops share the sends (the test above).
        await using var server = await InProcessServer.StartAsync(("io-transport", "epoll"), ("io-threads", "1"), ("event-loop-spin-us", spinMicros));
        var subs = new List<RawClient>();
        try
        {
            for (int i = 0; i < 100; i++)
            {
                var sub = new RawClient(server.Port);
                sub.Call("SUBSCRIBE", "lone").Should().EndWith(":1\r\n");
                subs.Add(sub);
            }
            using var pub = new RawClient(server.Port);
            for (int i = 0; i < 20; i++)
            {
                Thread.Sleep(20);
                pub.Call("PUBLISH", "lone", $"m{i}").Should().Be(":100\r\n");
                foreach (var sub in subs) sub.Read(1, timeoutMs: 10_000).Should().Be($"*3\r\n$7\r\nmessage\r\n$4\r\nlone\r\n${$"m{i}".Length}\r\nm{i}\r\n");
            }
            pub.Call("INFO", "stats").Should().Contain("io_threaded_writes_processed:0\r\n");
        }
        finally
        {
            foreach (var s in subs) s.Dispose();
        }
    }

    [Fact]
    public async Task WideFanOut_ThePublishersReplyLeavesBeforeTheMessages()
    {
        // As Redis: the connection whose command ran is queued after those it sent to, and the last queued is
        // sent first, so the publisher is not kept waiting behind a fan-out. On loopback a send lands in the
        // receiver's socket before it returns, and messages of 64 KiB or more are never deferred to a later
        // iteration: had the reply gone last, the first subscriber (sent to last) would hold bytes of its
        // message whenever the reply was read, every time. With the reply first, the loop is still sending
        // (300 messages of 100 KB, milliseconds) when the publisher, spinning, sees it. The PUBLISH spans two
        // reads: a connection queued by the read that completed no command stayed ahead of its subscribers.
        await using var server = await InProcessServer.StartAsync(("io-transport", "epoll"), ("io-threads", "1"));
        var subs = Enumerable.Range(0, 300).Select(_ => new RawClient(server.Port)).ToList();
        try
        {
            foreach (var s in subs) s.Call("SUBSCRIBE", "wide").Should().EndWith(":1\r\n");
            using var pub = new RawClient(server.Port);
            int replyFirst = 0;
            for (int i = 0; i < 10; i++)
            {
                string payload = new((char)('a' + i), 100_000);
                pub.Send("PUBLISH", "wide", payload);
                var deadline = Stopwatch.StartNew();
                while (pub.UnreadBytes < 6 && deadline.ElapsedMilliseconds < 10_000) Thread.SpinWait(20); // no sleep: the check comes at once
                if (subs[0].UnreadBytes == 0) replyFirst++;
                pub.Read().Should().Be(":300\r\n");
                foreach (var sub in subs) sub.Read(1, timeoutMs: 10_000).Should().Be($"*3\r\n$7\r\nmessage\r\n$4\r\nwide\r\n$100000\r\n{payload}\r\n");
            }
            replyFirst.Should().BeGreaterThanOrEqualTo(5);
        }
        finally
        {
            foreach (var s in subs) s.Dispose();
        }
    }

    [Theory]
    [MemberData(nameof(FanOutTransports))]
    public async Task WideFanOut_WithStalledAndVanishingSubscribers_EveryOtherGetsEverythingInOrder(string transport, string threads, string pushDelayMicros)
    {
        // 150 subscribers: every publish flushes more connections than EventLoop.HelperFlushThreshold, and with
        // event-loop-write-helper "always" the epoll loops share those sends with their write helper whatever the
        // machine's load ("yes" shares only while the loop is saturated, which a loaded CI machine may never
        // reach in 300 publishes: the test below). Among them, readers that pause (their writes block and resume
        // on EPOLLOUT) and readers that vanish mid-stream (their sends fail on whichever thread made them; the
        // loop closes them). Pushes held back by a busy loop (event-loop-push-delay-us; 0 never, 10,000 for
        // 10 ms) change only how many go in one send.
        await using var server = await InProcessServer.StartAsync(("io-transport", transport), ("io-threads", threads),
            ("event-loop-push-delay-us", pushDelayMicros), ("event-loop-write-helper", "always"));
        const int count = 300;
        var subs = new List<RawClient>();
        try
        {
            for (int i = 0; i < 150; i++)
            {
                var sub = new RawClient(server.Port, receiveBuffer: i % 10 == 0 ? 4096 : 0);
                sub.Call("SUBSCRIBE", "wide").Should().EndWith(":1\r\n");
                subs.Add(sub);
            }
            var vanishing = subs.Where((_, i) => i % 10 == 5).ToList();
            using var pub = new RawClient(server.Port);
            var payload = new string('w', 2000);
            for (int i = 0; i < count / 3; i++) pub.Send("PUBLISH", "wide", $"{i:D6}{payload}");
            pub.Read(count / 3, timeoutMs: 30_000).Should().Be(string.Concat(Enumerable.Repeat(":150\r\n", count / 3)));
            foreach (var v in vanishing) v.Dispose(); // with unread messages: the server's next sends meet a reset
            for (int i = count / 3; i < count; i++) pub.Send("PUBLISH", "wide", $"{i:D6}{payload}");
            // Each reply counts the subscribers still there when that publish ran: from 150 down to 135.
            var counts = pub.Read(count - (count / 3), timeoutMs: 30_000).Split("\r\n", StringSplitOptions.RemoveEmptyEntries)
                .Select(r => int.Parse(r[1..], System.Globalization.CultureInfo.InvariantCulture)).ToList();
            counts.Should().HaveCount(count - (count / 3)).And.BeInDescendingOrder().And.OnlyContain(n => n >= 150 - vanishing.Count && n <= 150);
            var expected = string.Concat(Enumerable.Range(0, count).Select(i => $"*3\r\n$7\r\nmessage\r\n$4\r\nwide\r\n${payload.Length + 6}\r\n{i:D6}{payload}\r\n"));
            foreach (var sub in subs.Except(vanishing)) sub.Read(count, timeoutMs: 30_000).Should().Be(expected);
            for (int i = 0; i < 100 && !pub.Call("PUBSUB", "NUMSUB", "wide").EndsWith($":{150 - vanishing.Count}\r\n", StringComparison.Ordinal); i++) Thread.Sleep(50);
            pub.Call("PUBSUB", "NUMSUB", "wide").Should().EndWith($":{150 - vanishing.Count}\r\n");
            if (transport == "epoll")
            {
                pub.Call("CONFIG", "GET", "event-loop-write-helper").Should().Be("*2\r\n$23\r\nevent-loop-write-helper\r\n$6\r\nalways\r\n");
                pub.Call("CONFIG", "GET", "event-loop-push-delay-us").Should().Be($"*2\r\n$24\r\nevent-loop-push-delay-us\r\n${pushDelayMicros.Length}\r\n{pushDelayMicros}\r\n");
                var written = System.Text.RegularExpressions.Regex.Match(pub.Call("INFO", "stats"), @"io_threaded_writes_processed:(\d+)");
                long helped = long.Parse(written.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                // Connections are dealt round-robin: a loop holds 150 / threads subscribers.
                if (150 / int.Parse(threads, System.Globalization.CultureInfo.InvariantCulture) >= 64) helped.Should().BeGreaterThan(0, "the helper shared the sends");
                else helped.Should().Be(0, "no loop flushed enough connections at once");
            }
        }
        finally
        {
            foreach (var s in subs) s.Dispose();
        }
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task QuitAndPeerClose_LeaveNoClientBehind(string transport, string threads)
    {
        await using var server = await Start(transport, threads);
        for (int i = 0; i < 30; i++)
        {
            using var c = new RawClient(server.Port);
            c.Call("SUBSCRIBE", $"c{i}");
            if (i % 2 == 0)
            {
                c.Call("QUIT").Should().Be("+OK\r\n");
                c.WaitClosed().Should().BeTrue();
            }
        }
        using var probe = new RawClient(server.Port);
        var deadline = DateTime.UtcNow.AddSeconds(5);
        string clients;
        do
        {
            clients = probe.Call("CLIENT", "LIST");
        }
        while (ClientLines(clients) > 1 && DateTime.UtcNow < deadline && Sleep());
        ClientLines(clients).Should().Be(1, "only the probe is left: " + clients);
        server.Engine.Clients.Should().HaveCount(1);
        probe.Call("PUBSUB", "NUMSUB", "c0", "c1").Should().Be("*4\r\n$2\r\nc0\r\n:0\r\n$2\r\nc1\r\n:0\r\n");
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task ClientKill_FromAnotherLoop_ClosesTheTarget(string transport, string threads)
    {
        await using var server = await Start(transport, threads);
        using var victim = new RawClient(server.Port);
        var id = victim.Call("CLIENT", "ID").Trim(':', '\r', '\n');
        using var killer = new RawClient(server.Port);
        killer.Call("CLIENT", "KILL", "ID", id).Should().Be(":1\r\n");
        victim.WaitClosed().Should().BeTrue();
        killer.Call("PING").Should().Be("+PONG\r\n");
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Stop_SendsPendingRepliesThenCloses(string transport, string threads)
    {
        var server = await Start(transport, threads);
        using var c = new RawClient(server.Port);
        c.Call("PING").Should().Be("+PONG\r\n");
        await server.DisposeAsync();
        c.WaitClosed().Should().BeTrue();
        var act = () => new TcpClient("127.0.0.1", server.Port);
        act.Should().Throw<SocketException>();
    }

    private static int ClientLines(string clientList) => clientList.Split('\n').Count(l => l.StartsWith("id=", StringComparison.Ordinal));

    private static bool Sleep()
    {
        Thread.Sleep(20);
        return true;
    }
}

/// <summary>A [Theory] that needs root (a socket option past the system's limits): skipped for anyone else.</summary>
public sealed class RootTheoryAttribute : TheoryAttribute
{
    public RootTheoryAttribute()
    {
        if (!Environment.IsPrivilegedProcess) Skip = "needs root (SO_RCVBUFFORCE)";
    }
}
