using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;

namespace KeyspacePubSub.Benchmark;

/// <summary>A fan-out shape: how many subscribers, on how many channels, by channel or by pattern.</summary>
public sealed record FanoutShape(string Name, int Subscribers, int Channels, bool Pattern);

public sealed record FanoutResult(double DeliveriesPerSec, double CpuMicrosPerDelivery, double P50Us, double P99Us, double P999Us, long Lost);

/// <summary>
/// One publisher, many subscribers. Throughput pass: the publisher pipelines PUBLISH in batches of 32,
/// held back when subscribers lag by more than 1000 messages (so no output buffer limit is hit), for a
/// fixed duration; deliveries/s and server CPU per delivery are measured until the last delivery.
/// Latency pass: one PUBLISH, a 1 ms sleep, and again; publish→receive time of every delivery.
/// Every payload carries a per-channel sequence number: any loss or reordering is counted.
/// </summary>
public static class FanoutBench
{
    public static FanoutResult Run(ServerUnderTest server, FanoutShape shape, int payloadSize, TimeSpan duration)
    {
        var subs = new List<BenchConnection>();
        using var cts = new CancellationTokenSource();
        var tasks = new List<Task>();
        try
        {
            for (int i = 0; i < shape.Subscribers; i++)
            {
                var s = new BenchConnection(server);
                string channel = Channel(i % shape.Channels);
                s.Send(BenchConnection.Command(shape.Pattern ? "PSUBSCRIBE" : "SUBSCRIBE", shape.Pattern ? "bench:*" : channel));
                s.ReadFrames(1);
                subs.Add(s);
            }
            foreach (var s in subs) tasks.Add(Task.Run(() => s.RunSubscriberAsync(cts.Token)));
            using var pub = new BenchConnection(server);
            int fanoutPerMessage = shape.Subscribers / shape.Channels;

            // Throughput pass.
            var seqs = new long[shape.Channels];
            double cpu0 = server.CpuSeconds();
            var sw = Stopwatch.StartNew();
            long published = 0;
            var payload = new byte[payloadSize];
            while (sw.Elapsed < duration)
            {
                while (published - Delivered(subs) / fanoutPerMessage > 1000) Thread.SpinWait(50);
                var batch = new MemoryStream();
                for (int k = 0; k < 32; k++)
                {
                    int ch = (int)(published % shape.Channels);
                    Stamp(payload, seqs[ch]++);
                    batch.Write(BenchConnection.Command("PUBLISH", Channel(ch), payload));
                    published++;
                }
                pub.Send(batch.ToArray());
                pub.ReadFrames(32);
            }
            long expected = published * fanoutPerMessage;
            var drainDeadline = Stopwatch.StartNew();
            while (Delivered(subs) < expected && drainDeadline.Elapsed < TimeSpan.FromSeconds(20)) Thread.Sleep(1);
            double seconds = sw.Elapsed.TotalSeconds;
            double cpu = server.CpuSeconds() - cpu0;
            long delivered = Delivered(subs);

            // Latency pass at a light fixed rate.
            foreach (var s in subs) s.LatencyTicks = new List<long>(4096);
            long before = Delivered(subs);
            // One publish, then a 1 ms sleep (about 900 a second): the publisher used to spin between publishes,
            // holding one of the two cores that the server and the subscribers' readers share. As many messages
            // as the throughput pass lasts in milliseconds (1,500 quick, 3,000 full), so the p99 of a single
            // subscriber is not the 10th-worst of only 1,000 samples.
            int latencyMessages = (int)duration.TotalMilliseconds;
            for (int m = 0; m < latencyMessages; m++)
            {
                if (m > 0) Thread.Sleep(1);
                int ch = m % shape.Channels;
                Stamp(payload, seqs[ch]++);
                pub.Send(BenchConnection.Command("PUBLISH", Channel(ch), payload));
                pub.ReadFrames(1);
            }
            long latencyExpected = before + (long)latencyMessages * fanoutPerMessage;
            drainDeadline.Restart();
            while (Delivered(subs) < latencyExpected && drainDeadline.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(1);
            var lat = subs.SelectMany(s => s.LatencyTicks!).Select(t => t * 1e6 / Stopwatch.Frequency).Order().ToArray();
            long lost = (expected - delivered) + (latencyExpected - Delivered(subs)) + subs.Sum(s => s.Errors);
            return new FanoutResult(delivered / seconds, cpu * 1e6 / Math.Max(1, delivered), Pct(lat, 0.50), Pct(lat, 0.99), Pct(lat, 0.999), lost);
        }
        finally
        {
            cts.Cancel();
            foreach (var s in subs) s.Dispose();
            Task.WaitAll([.. tasks], TimeSpan.FromSeconds(5));
        }
    }

    private static string Channel(int i) => $"bench:ch{i}";

    private static void Stamp(byte[] payload, long seq)
    {
        BinaryPrimitives.WriteInt64LittleEndian(payload, seq);
        BinaryPrimitives.WriteInt64LittleEndian(payload.AsSpan(8), Stopwatch.GetTimestamp());
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
        Thread.Sleep(500);
        double idle = server.RssBytes();
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
}
