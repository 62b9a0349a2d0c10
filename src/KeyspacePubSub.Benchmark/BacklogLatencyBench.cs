using System.Diagnostics;
using System.Runtime.InteropServices;

namespace KeyspacePubSub.Benchmark;

/// <summary>
/// Backlog transactions (MULTI / LPUSH 200 B / PUBLISH / EXEC) at a fixed rate, open loop: every connection has a
/// schedule and sends on it whether or not its earlier transactions were answered, as a chat server's users do.
/// A transaction's latency runs from its scheduled send time to its EXEC reply, so a server that stalls delays
/// every transaction scheduled during the stall (a closed-loop client would send nothing meanwhile, and a stall
/// would delay one transaction per client). One thread sends for every connection, sleeping with usleep between
/// due times; each connection has a thread that reads its replies, which come in order.
/// </summary>
public static class BacklogLatencyBench
{
    public readonly record struct Result(double P50Ms, double P99Ms, double P999Ms, double MaxMs, long Transactions);

    public static Result Run(ServerUnderTest server, int clients, int perSecond, TimeSpan duration)
    {
        var message = new string('m', 200);
        int perClient = (int)(perSecond * duration.TotalSeconds / clients) + 1;
        long interval = Stopwatch.Frequency * clients / perSecond; // between two sends of one connection
        var connections = Enumerable.Range(0, clients).Select(_ => new BenchConnection(server)).ToArray();
        var due = connections.Select(_ => new long[perClient]).ToArray();
        var latency = connections.Select(_ => new long[perClient]).ToArray();
        try
        {
            var tx = Enumerable.Range(0, clients).Select(id => BenchConnection.Command("MULTI")
                .Concat(BenchConnection.Command("LPUSH", $"room:r{id % 10}:backlog", message))
                .Concat(BenchConnection.Command("PUBLISH", $"room:r{id % 10}", message))
                .Concat(BenchConnection.Command("EXEC")).ToArray()).ToArray();
            var readers = Enumerable.Range(0, clients).Select(c => new Thread(() =>
            {
                for (int i = 0; i < perClient; i++)
                {
                    connections[c].ReadFrames(4);
                    latency[c][i] = Stopwatch.GetTimestamp() - Volatile.Read(ref due[c][i]);
                }
            }) { IsBackground = true }).ToList();
            readers.ForEach(t => t.Start());

            // The connections' schedules are spread over one interval, so sends do not come in bursts.
            long start = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 100;
            var next = new int[clients];
            int sent = 0, total = perClient * clients;
            while (sent < total)
            {
                long now = Stopwatch.GetTimestamp(), earliest = long.MaxValue;
                for (int c = 0; c < clients; c++)
                {
                    if (next[c] == perClient) continue;
                    long at = start + c * interval / clients + next[c] * interval;
                    if (at <= now)
                    {
                        Volatile.Write(ref due[c][next[c]], at);
                        connections[c].Send(tx[c]);
                        next[c]++;
                        sent++;
                        at += interval;
                    }
                    if (next[c] < perClient) earliest = Math.Min(earliest, at);
                }
                long wait = earliest == long.MaxValue ? 0 : (earliest - Stopwatch.GetTimestamp()) * 1_000_000 / Stopwatch.Frequency;
                if (wait > 0) usleep((uint)wait);
            }
            foreach (var t in readers)
            {
                if (!t.Join(TimeSpan.FromSeconds(30))) throw new TimeoutException("replies did not arrive");
            }
        }
        finally
        {
            foreach (var c in connections) c.Dispose();
        }
        // With KPS_TXLAT_DUMP=<file>: one line per transaction, its scheduled send time (CLOCK_MONOTONIC, µs, as
        // `perf record -k CLOCK_MONOTONIC` stamps events) and its latency (µs), to match stalls with a trace.
        if (Environment.GetEnvironmentVariable("KPS_TXLAT_DUMP") is string dump)
        {
            using var w = new StreamWriter(dump);
            for (int c = 0; c < clients; c++)
            {
                for (int i = 0; i < perClient; i++) w.WriteLine($"{due[c][i] / (Stopwatch.Frequency / 1_000_000)} {latency[c][i] * 1_000_000 / Stopwatch.Frequency}");
            }
        }
        var all = latency.SelectMany(l => l).Order().ToArray();
        double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
        double At(double q) => Ms(all[Math.Min(all.Length - 1, (int)(q * all.Length))]);
        return new Result(At(0.5), At(0.99), At(0.999), Ms(all[^1]), all.Length);
    }

    [DllImport("libc", SetLastError = false)]
    private static extern int usleep(uint microseconds);
}
