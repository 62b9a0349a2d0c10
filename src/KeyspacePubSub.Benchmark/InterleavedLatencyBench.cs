using System.Diagnostics;

namespace KeyspacePubSub.Benchmark;

/// <summary>
/// Light-rate publish→receive latency with the servers interleaved: both servers' subscribers are connected
/// at once and read by one epoll thread, and the publisher alternates between the servers every
/// <c>segment</c> messages (one PUBLISH, a 1 ms sleep, and again, as <see cref="FanoutBench"/>'s latency
/// pass). A disturbance of the shared machine that lasts longer than a segment (100 messages, about 0.11 s)
/// falls on both servers, where back-to-back passes of 3 s each put it on one: in one run of those passes
/// (five per server) the p99 of one shape moved from 1.9 to 18 ms for one server and from 2.0 to 15 ms for the
/// other. It does not remove the noise: the p99 of 3,000 messages is the 30th-worst message's, and one stall
/// of 20-40 ms sets it (one interleaved run gave one server 3.2 ms and the other 26). Segments of 10 messages
/// were worse: 1 -> 1 then had a p99 of 2.9 ms in most runs, the same to the microsecond for both servers,
/// where 100-message segments and back-to-back passes give 0.2-0.3 ms. Each server's figures are over all its
/// deliveries.
/// </summary>
public static class InterleavedLatencyBench
{
    public static Dictionary<string, FanoutResult> Run(IReadOnlyList<ServerUnderTest> servers, FanoutShape shape, int payloadSize, int messagesPerServer, int segment = 100)
    {
        var frames = new FanoutBench.PublishFrames(shape.Channels, payloadSize);
        var pubs = servers.Select(s => new BenchConnection(s)).ToList();
        var subs = servers.Select(s => FanoutBench.Subscribe(s, shape)).ToList();
        try
        {
            foreach (var s in subs.SelectMany(x => x)) s.LatencyTicks = new List<long>(4096);
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
                while (subs.Sum(FanoutBench.Delivered) < expected && drainDeadline.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(1);
            }
            var results = new Dictionary<string, FanoutResult>();
            for (int k = 0; k < servers.Count; k++)
            {
                long lost = (long)sent[k] * fanoutPerMessage - FanoutBench.Delivered(subs[k]) + subs[k].Sum(s => s.Errors);
                var lat = subs[k].SelectMany(s => s.LatencyTicks!).Select(t => t * 1e6 / Stopwatch.Frequency).Order().ToArray();
                results[servers[k].Name] = new FanoutResult(double.NaN, double.NaN, FanoutBench.Pct(lat, 0.50), FanoutBench.Pct(lat, 0.99), FanoutBench.Pct(lat, 0.999), lost);
            }
            return results;
        }
        finally
        {
            foreach (var s in subs.SelectMany(x => x)) s.Dispose();
            foreach (var p in pubs) p.Dispose();
        }
    }
}
