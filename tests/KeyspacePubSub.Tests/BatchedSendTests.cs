using FluentAssertions;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// The event loop's batched sends (io_uring, one system call for a flush of several connections): the same
/// bytes in the same order as one send() per connection, with full sockets and partial sends handled.
/// </summary>
public class BatchedSendTests
{
    /// <summary>io_uring works on this machine (the kernel's switch; an absent switch means an older kernel that has it on).</summary>
    private static bool IoUringAllowed =>
        !File.Exists("/proc/sys/kernel/io_uring_disabled") || File.ReadAllText("/proc/sys/kernel/io_uring_disabled").Trim() == "0";

    private static long Stat(RawClient c, string name)
    {
        string info = c.Call("INFO", "stats");
        int at = info.IndexOf(name + ":", StringComparison.Ordinal);
        at.Should().BeGreaterThan(0, $"INFO stats has {name}");
        int end = info.IndexOf('\r', at);
        return long.Parse(info[(at + name.Length + 1)..end], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static string Messages(string channel, IEnumerable<string> payloads) =>
        string.Concat(payloads.Select(p => $"*3\r\n$7\r\nmessage\r\n${channel.Length}\r\n{channel}\r\n${p.Length}\r\n{p}\r\n"));

    [Theory]
    [InlineData("yes")]
    [InlineData("no")]
    public async Task FanOut_ToMoreSubscribersThanOneBatchHolds_EveryMessageInOrder(string batched)
    {
        // 300 subscribers: a flush of them is three batches (128 sends each at most). The write helper is off,
        // so the loop alone makes every send, and no push waits for a later iteration: each publish is one flush.
        await using var server = await InProcessServer.StartAsync(("event-loop-batched-sends", batched), ("event-loop-write-helper", "no"),
            ("event-loop-push-delay-us", "0"));
        var subs = Enumerable.Range(0, 300).Select(_ => new RawClient(server.Port)).ToList();
        try
        {
            foreach (var s in subs)
            {
                s.Send("SUBSCRIBE", "fan");
                s.Read();
            }
            using var pub = new RawClient(server.Port);
            var payloads = Enumerable.Range(0, 50).Select(i => $"m{i}").ToList();
            foreach (string p in payloads)
            {
                pub.Call("PUBLISH", "fan", p).Should().Be(":300\r\n"); // one at a time: each publish is a flush of 301 connections
            }
            string expected = Messages("fan", payloads);
            foreach (var s in subs) s.Read(payloads.Count).Should().Be(expected);
            foreach (var s in subs) s.IsSilent(0).Should().BeTrue();

            long sends = Stat(pub, "batched_sends"), calls = Stat(pub, "batched_send_calls");
            if (batched == "yes" && IoUringAllowed)
            {
                sends.Should().BeGreaterThanOrEqualTo(50 * 301, "every publish's reply and 300 deliveries went in batches");
                calls.Should().BeInRange(50 * 3, 50 * 4, "a publish's 301 sends take three calls");
            }
            else
            {
                sends.Should().Be(0);
                calls.Should().Be(0);
            }
        }
        finally
        {
            subs.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task SubscriberWhoseSocketIsFull_WaitsForItsReaderAlone_AndGetsEveryByte()
    {
        // One subscriber reads nothing until the end: its socket fills (partial sends, then EAGAIN in the batch)
        // while 10 others read everything as it comes. 400 messages of 20,000 bytes (8 MB) stay under the default
        // pubsub limits (32 MB hard; 8 MB soft for 60 s).
        await using var server = await InProcessServer.StartAsync(("event-loop-write-helper", "no"));
        using var stalled = new RawClient(server.Port, receiveBuffer: 4096);
        var readers = Enumerable.Range(0, 10).Select(_ => new RawClient(server.Port)).ToList();
        try
        {
            stalled.Send("SUBSCRIBE", "feed");
            stalled.Read();
            foreach (var r in readers)
            {
                r.Send("SUBSCRIBE", "feed");
                r.Read();
            }
            using var pub = new RawClient(server.Port);
            var payloads = Enumerable.Range(0, 400).Select(i => $"{i:D5}" + new string((char)('a' + (i % 26)), 19_995)).ToList();
            foreach (string p in payloads)
            {
                pub.Call("PUBLISH", "feed", p).Should().Be(":11\r\n");
                foreach (var r in readers) r.Read().Should().Be(Messages("feed", [p]));
            }
            stalled.UnreadBytes.Should().BeLessThan(payloads.Count * 20_000L / 2, "most of it waits in the server, not in the stalled socket");
            stalled.Read(payloads.Count, timeoutMs: 30_000).Should().Be(Messages("feed", payloads));
            pub.Call("PUBSUB", "NUMSUB", "feed").Should().Be("*2\r\n$4\r\nfeed\r\n:11\r\n");
            if (IoUringAllowed) Stat(pub, "batched_sends").Should().BeGreaterThanOrEqualTo(400 * 11);
        }
        finally
        {
            readers.ForEach(r => r.Dispose());
        }
    }

    [Fact]
    public async Task ConnectionsThatClose_InTheMiddleOfFanOuts_DoNotDisturbTheOthers()
    {
        await using var server = await InProcessServer.StartAsync(("event-loop-write-helper", "no"));
        var subs = Enumerable.Range(0, 40).Select(_ => new RawClient(server.Port)).ToList();
        try
        {
            foreach (var s in subs)
            {
                s.Send("SUBSCRIBE", "fan");
                s.Read();
            }
            using var pub = new RawClient(server.Port);
            // Every other subscriber goes away while a burst is queued for it: its sends fail (EPIPE, ECONNRESET)
            // or it is gone before the flush; the others get every message.
            for (int i = 0; i < 200; i++) pub.Send("PUBLISH", "fan", $"x{i}");
            for (int i = 0; i < subs.Count; i += 2) subs[i].Dispose();
            for (int i = 200; i < 400; i++) pub.Send("PUBLISH", "fan", $"x{i}");
            pub.Read(400);
            string expected = Messages("fan", Enumerable.Range(0, 400).Select(i => $"x{i}"));
            for (int i = 1; i < subs.Count; i += 2) subs[i].Read(400).Should().Be(expected);
            Eventually.True(() => pub.Call("PUBSUB", "NUMSUB", "fan") == "*2\r\n$3\r\nfan\r\n:20\r\n").Should().BeTrue();
            pub.Call("PING").Should().Be("+PONG\r\n");
        }
        finally
        {
            subs.ForEach(s => s.Dispose());
        }
    }
}
