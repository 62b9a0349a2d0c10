using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace KeyspacePubSub.Benchmark;

/// <summary>A fan-out shape: how many subscribers, on how many channels, by channel or by pattern.</summary>
public sealed record FanoutShape(string Name, int Subscribers, int Channels, bool Pattern);

public sealed record FanoutResult(double DeliveriesPerSec, double CpuMicrosPerDelivery, double P50Us, double P99Us, double P999Us, long Lost)
{
    /// <summary>Each figure the median of its runs; losses add up.</summary>
    public static FanoutResult Median(List<FanoutResult> runs)
    {
        double M(Func<FanoutResult, double> f) => runs.Select(f).Median();
        return new(M(x => x.DeliveriesPerSec), M(x => x.CpuMicrosPerDelivery), M(x => x.P50Us), M(x => x.P99Us), M(x => x.P999Us), runs.Sum(x => x.Lost));
    }
}

/// <summary>
/// One publisher, many subscribers, read by one epoll thread (<see cref="EpollReader"/>). Throughput pass:
/// the publisher pipelines PUBLISH in batches of 32, held back when subscribers lag by more than 1000
/// messages (so no output buffer limit is hit), for a fixed duration; deliveries/s and server CPU per
/// delivery are measured until the last delivery. Latency pass, on fresh subscriber connections: one
/// PUBLISH, a 1 ms sleep, and again; publish→receive time of every delivery.
/// Every payload carries a per-channel sequence number: any loss or reordering is counted.
/// </summary>
public static class FanoutBench
{
    public static FanoutResult Run(ServerUnderTest server, FanoutShape shape, int payloadSize, TimeSpan duration)
    {
        // The publisher allocates nothing per message: its garbage collections stopped the subscribers' reader too.
        var frames = new PublishFrames(shape.Channels, payloadSize);
        using var pub = new BenchConnection(server);
        var (deliveriesPerSec, cpuPerDelivery, lost) = LightOnly ? (double.NaN, double.NaN, 0L) : ThroughputPass(server, shape, frames, pub, duration);

        var light = LightPass([server], shape, payloadSize, (int)duration.TotalMilliseconds)[server.Name];
        return new FanoutResult(deliveriesPerSec, cpuPerDelivery, light.P50Us, light.P99Us, light.P999Us, lost + light.Lost);
    }

    /// <summary>
    /// Latency pass at a light fixed rate, on fresh subscriber connections: one PUBLISH, a 1 ms sleep (about 900
    /// a second), and again; publish→receive time of every delivery. The publisher used to spin between
    /// publishes, holding one of the two cores that the server and the subscribers' reader share. As many
    /// messages per server as the throughput pass lasts in milliseconds (1,500 quick, 3,000 full), so the p99 of
    /// a single subscriber is not the 10th-worst of only 1,000 samples.
    /// <para>
    /// With several servers (<c>--only lightmix</c>) their subscribers are connected at once, read by the one
    /// epoll thread, and the publisher switches server every <paramref name="segment"/> messages. A disturbance
    /// of the shared machine that lasts longer than a segment (100 messages, about 0.11 s) then falls on both,
    /// where back-to-back passes of 3 s each put it on one: in one run of those passes (five per server) the p99
    /// of one shape moved from 1.9 to 18 ms for one server and from 2.0 to 15 ms for the other. It does not remove
    /// the noise: the p99 of 3,000 messages is the 30th-worst message's, and one stall of 20-40 ms sets it (one
    /// interleaved run gave one server 3.2 ms and the other 26). Segments of 10 messages were worse: 1 -> 1 then
    /// had a p99 of 2.9 ms in most runs, the same to the microsecond for both servers, where 100-message
    /// segments and back-to-back passes give 0.2-0.3 ms. Each server's figures are over all its deliveries.
    /// </para>
    /// </summary>
    public static Dictionary<string, FanoutResult> LightPass(IReadOnlyList<ServerUnderTest> servers, FanoutShape shape, int payloadSize, int messagesPerServer, int segment = 100)
    {
        // The publisher allocates nothing per message: its garbage collections stopped the subscribers' reader too.
        var frames = new PublishFrames(shape.Channels, payloadSize);
        var pubs = servers.Select(s => new BenchConnection(s)).ToList();
        var subs = servers.Select(s => Subscribe(s, shape)).ToList();
        try
        {
            foreach (var s in subs.SelectMany(x => x)) s.LatencyTicks = new List<long>(4096);
            var pause0 = GC.GetTotalPauseDuration();
            var seqs = servers.Select(_ => new long[shape.Channels]).ToList(); // fresh subscribers expect every channel from 0
            var sent = new int[servers.Count];
            var one = new byte[frames.MaxLength];
            int fanoutPerMessage = shape.Subscribers / shape.Channels;
            using (new EpollReader(subs.SelectMany(x => x).ToList()))
            {
                for (int m = 0; m < messagesPerServer * servers.Count; m++)
                {
                    if (m > 0) Thread.Sleep(1);
                    int k = m / segment % servers.Count;
                    int ch = sent[k]++ % shape.Channels;
                    int length = frames.Write(one, ch, seqs[k][ch]++);
                    pubs[k].Send(one.AsSpan(0, length));
                    pubs[k].ReadFrames(1);
                }
                long expected = (long)sent.Sum() * fanoutPerMessage;
                var drainDeadline = Stopwatch.StartNew();
                while (subs.Sum(Delivered) < expected && drainDeadline.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(1);
                for (int k = 0; k < servers.Count; k++) Diagnose("latency", subs[k], sent[k], shape);
            }
            var results = new Dictionary<string, FanoutResult>();
            for (int k = 0; k < servers.Count; k++)
            {
                if (LatencyDump != null) Dump(servers[k], shape, payloadSize, subs[k][0].LatencyTicks!, GC.GetTotalPauseDuration() - pause0);
                long lost = (long)sent[k] * fanoutPerMessage - Delivered(subs[k]) + subs[k].Sum(s => s.Errors);
                var lat = subs[k].SelectMany(s => s.LatencyTicks!).Select(t => t * 1e6 / Stopwatch.Frequency).Order().ToArray();
                results[servers[k].Name] = new FanoutResult(double.NaN, double.NaN, Pct(lat, 0.50), Pct(lat, 0.99), Pct(lat, 0.999), lost);
            }
            return results;
        }
        finally
        {
            foreach (var s in subs.SelectMany(x => x)) s.Dispose();
            foreach (var p in pubs) p.Dispose();
        }
    }

    /// <summary>
    /// Throughput pass. The subscribers are read by one thread with epoll, as in the latency pass: with the
    /// thread pool's asynchronous reads every delivery woke the socket engine's thread and then a pool worker,
    /// and the load generator took 1.7 times the CPU from the cores it shares with the server (1 -> 1 64 B:
    /// 2.4-2.5 s of CPU in 2 s against 1.3-1.5 s; Redis's 1 -> 100 64 B rate went from 1.9-2.2M to 2.5-3.6M/s).
    /// </summary>
    private static (double DeliveriesPerSec, double CpuPerDelivery, long Lost) ThroughputPass(
        ServerUnderTest server, FanoutShape shape, PublishFrames frames, BenchConnection pub, TimeSpan duration)
    {
        int fanoutPerMessage = shape.Subscribers / shape.Channels;
        var subs = Subscribe(server, shape);
        try
        {
            using var reader = new EpollReader(subs);
            var seqs = new long[shape.Channels];
            var batch = new byte[32 * frames.MaxLength];
            double cpu0 = server.CpuSeconds();
            var sw = Stopwatch.StartNew();
            long published = 0;
            while (sw.Elapsed < duration)
            {
                // Held back by sleeping, not spinning: a publisher spinning on one of the two cores while the
                // subscribers lag starves their readers and the server, so they lag further (each server had runs
                // at half its rate and 2.5x its CPU per delivery, 2026-12-01). 1,000 messages of lag are
                // 100,000 deliveries at 1 -> 100: a millisecond's sleep leaves them plenty to send.
                while (published - Delivered(subs) / fanoutPerMessage > 1000) Thread.Sleep(1);
                int length = 0;
                for (int k = 0; k < 32; k++)
                {
                    int ch = (int)(published % shape.Channels);
                    length += frames.Write(batch.AsSpan(length), ch, seqs[ch]++);
                    published++;
                }
                pub.Send(batch.AsSpan(0, length));
                pub.ReadFrames(32);
            }
            long expected = published * fanoutPerMessage;
            var drainDeadline = Stopwatch.StartNew();
            while (Delivered(subs) < expected && drainDeadline.Elapsed < TimeSpan.FromSeconds(20)) Thread.Sleep(1);
            double seconds = sw.Elapsed.TotalSeconds;
            long delivered = Delivered(subs);
            Diagnose("throughput", subs, published, shape);
            return (delivered / seconds, (server.CpuSeconds() - cpu0) * 1e6 / Math.Max(1, delivered), expected - delivered + subs.Sum(s => s.Errors));
        }
        finally
        {
            foreach (var s in subs) s.Dispose();
        }
    }

    /// <summary>
    /// --latency-dump prefix: each light pass writes its first subscriber's latencies (µs) in arrival order to a
    /// file, named with the benchmark's own GC pause time in that pass. A stall shows as a run of latencies
    /// falling by the publish interval (messages published on time, read late); it found the benchmark's own
    /// tier-1 JIT stalls (see the project file).
    /// </summary>
    public static string? LatencyDump { get; set; }

    /// <summary>--light-only: the latency pass alone (to profile the servers under the light rate only).</summary>
    public static bool LightOnly { get; set; }

    private static void Dump(ServerUnderTest server, FanoutShape shape, int payload, List<long> ticks, TimeSpan benchGcPause)
    {
        string file = $"{LatencyDump}.{server.Name}.{shape.Subscribers}x{payload}.{DateTime.Now:HHmmss}.gc{benchGcPause.TotalMilliseconds:F1}ms";
        File.WriteAllLines(file, ticks.Select(t => (t * 1_000_000 / Stopwatch.Frequency).ToString(CultureInfo.InvariantCulture)));
    }

    /// <summary>
    /// Names on stderr the subscribers that did not receive exactly what was published to them (at most 5 per
    /// pass, then how many in all): the table's lost/reordered column is a sum over runs, where a subscriber
    /// sent a run of messages twice (one sequence error, n extra deliveries) counts as -(n - 1).
    /// </summary>
    private static void Diagnose(string pass, List<BenchConnection> subs, long published, FanoutShape shape)
    {
        int wrong = 0;
        for (int i = 0; i < subs.Count; i++)
        {
            int ch = i % shape.Channels;
            long expected = shape.Pattern ? published : published / shape.Channels + (ch < published % shape.Channels ? 1 : 0);
            if (subs[i].Received == expected && subs[i].Errors == 0) continue;
            if (++wrong <= 5) Console.Error.WriteLine($"  {shape.Name}, {pass} pass: subscriber {i} received {subs[i].Received} of {expected}, {subs[i].Errors} sequence error(s)");
        }
        if (wrong > 5) Console.Error.WriteLine($"  {shape.Name}, {pass} pass: {wrong} subscribers in all");
    }

    private static List<BenchConnection> Subscribe(ServerUnderTest server, FanoutShape shape)
    {
        var subs = new List<BenchConnection>();
        for (int i = 0; i < shape.Subscribers; i++)
        {
            var s = new BenchConnection(server);
            subs.Add(s);
            s.Send(BenchConnection.Command(shape.Pattern ? "PSUBSCRIBE" : "SUBSCRIBE", shape.Pattern ? "bench:*" : Channel(i % shape.Channels)));
            s.ReadFrames(1);
        }
        return subs;
    }

    private static string Channel(int i) => $"bench:ch{i}";

    /// <summary>
    /// A PUBLISH command for each channel, encoded once; <see cref="Write"/> copies one and stamps its payload
    /// with a sequence number and the send time.
    /// </summary>
    private sealed class PublishFrames
    {
        private readonly byte[][] _commands;
        private readonly int[] _payloadAt;

        public PublishFrames(int channels, int payloadSize)
        {
            _commands = new byte[channels][];
            _payloadAt = new int[channels];
            for (int ch = 0; ch < channels; ch++)
            {
                _commands[ch] = BenchConnection.Command("PUBLISH", Channel(ch), new byte[payloadSize]);
                _payloadAt[ch] = _commands[ch].Length - 2 - payloadSize;
                MaxLength = Math.Max(MaxLength, _commands[ch].Length);
            }
        }

        public int MaxLength { get; }

        public int Write(Span<byte> to, int channel, long seq)
        {
            var command = _commands[channel];
            command.CopyTo(to);
            var payload = to[_payloadAt[channel]..];
            BinaryPrimitives.WriteInt64LittleEndian(payload, seq);
            BinaryPrimitives.WriteInt64LittleEndian(payload[8..], Stopwatch.GetTimestamp());
            return command.Length;
        }
    }

    private static long Delivered(List<BenchConnection> subs)
    {
        long sum = 0;
        foreach (var s in subs) sum += Interlocked.Read(ref s.Received);
        return sum;
    }

    private static double Pct(double[] sorted, double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];
}

/// <summary>PUBLISH throughput to a channel nobody matches, with N non-matching pattern subscriptions present.</summary>
public static class PatternScanBench
{
    public static double Run(ServerUnderTest server, int patterns, TimeSpan duration)
    {
        using var holder = new BenchConnection(server);
        for (int i = 0; i < patterns; i += 500)
        {
            int n = Math.Min(500, patterns - i);
            holder.Send(BenchConnection.Command(["PSUBSCRIBE", .. Enumerable.Range(i, n).Select(k => (object)$"other:{k}:*")]));
            holder.ReadFrames(n);
        }
        using var pub = new BenchConnection(server);
        var batch = new MemoryStream();
        for (int k = 0; k < 64; k++) batch.Write(BenchConnection.Command("PUBLISH", "bench:news", "x"));
        var bytes = batch.ToArray();
        long count = 0;
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < duration)
        {
            pub.Send(bytes);
            pub.ReadFrames(64);
            count += 64;
        }
        return count / sw.Elapsed.TotalSeconds;
    }
}

/// <summary>RSS growth per subscription with 10,000 subscribers on 10 channels each (1,000 distinct channels).</summary>
public static class RssBench
{
    public static (double IdleMb, double BytesPerSubscription) Run(ServerUnderTest server, int clients, int channelsEach)
    {
        double idle = IdleBytes(server);
        var conns = new List<BenchConnection>();
        try
        {
            for (int i = 0; i < clients; i++)
            {
                var c = new BenchConnection(server);
                c.Send(BenchConnection.Command(["SUBSCRIBE", .. Enumerable.Range(0, channelsEach).Select(j => (object)$"rss:{(i * channelsEach + j) % 1000}")]));
                conns.Add(c);
            }
            foreach (var c in conns) c.ReadFrames(channelsEach);
            Thread.Sleep(1000);
            double loaded = server.RssBytes();
            return (idle / (1 << 20), (loaded - idle) / ((double)clients * channelsEach));
        }
        finally
        {
            foreach (var c in conns) c.Dispose();
        }
    }

    /// <summary>RSS idle: started, has answered one client's PING (its code for serving a client is loaded), no clients now.</summary>
    public static double IdleBytes(ServerUnderTest server)
    {
        using (var first = new BenchConnection(server))
        {
            first.Send(BenchConnection.Command("PING"));
            first.ReadFrames(1);
        }
        Thread.Sleep(1000);
        return server.RssBytes();
    }
}
