using System.Text;

namespace KeyspacePubSub.Benchmark;

/// <summary>
/// SET throughput while every write is heard: notify-keyspace-events KEA and N subscribers on
/// <c>__keyevent@0__:*</c>, driven by redis-benchmark; the subscribers count what they receive so a server
/// that drops events cannot look fast.
/// </summary>
public static class NotifyBench
{
    /// <summary>SET/s by redis-benchmark, the share of events delivered, and server CPU µs per SET (with its deliveries).</summary>
    public static (double SetsPerSec, double Delivered, double CpuMicrosPerSet) Run(ServerUnderTest server, int subscribers, int pipeline, int requests)
    {
        using (var admin = new BenchConnection(server))
        {
            admin.Send(BenchConnection.Command("CONFIG", "SET", "notify-keyspace-events", "KEA"));
            admin.ReadFrames(1);
            admin.Send(BenchConnection.Command("FLUSHALL"));
            admin.ReadFrames(1);
        }
        var subs = Enumerable.Range(0, subscribers).Select(_ => new BenchConnection(server) { CountOnly = true }).ToList();
        EpollReader? reader = null;
        try
        {
            foreach (var s in subs)
            {
                s.Send(BenchConnection.Command("PSUBSCRIBE", "__keyevent@0__:*"));
                s.ReadFrames(1);
            }
            // One thread reads every subscriber with epoll, as in the fan-out rows (the thread pool's
            // asynchronous reads made every event wake two threads of the load generator).
            reader = new EpollReader(subs);
            double cpu0 = server.CpuSeconds();
            var result = RedisBenchmarkRunner.Run(server, "set", pipeline, requests, extra: "-r 100000");
            // Every SET emits exactly one keyevent ("set"); wait for the subscribers to catch up.
            long expected = (long)requests * subscribers;
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (subs.Sum(s => Interlocked.Read(ref s.Received)) < expected && DateTime.UtcNow < deadline) Thread.Sleep(50);
            double cpu = server.CpuSeconds() - cpu0;
            double delivered = subs.Sum(s => Interlocked.Read(ref s.Received)) / (double)expected;
            return (result.GetValueOrDefault("SET"), delivered, cpu * 1e6 / requests);
        }
        finally
        {
            reader?.Dispose();
            foreach (var s in subs) s.Dispose();
            using var admin = new BenchConnection(server);
            admin.Send(BenchConnection.Command("CONFIG", "SET", "notify-keyspace-events", ""));
            admin.ReadFrames(1);
        }
    }
}

/// <summary>RSS growth per key on a fresh server: N string keys (16-byte values), then the same keys given a TTL.</summary>
public static class KeyMemoryBench
{
    public static (double PerKey, double PerTtl) Run(ServerUnderTest server, int keys)
    {
        using var c = new BenchConnection(server);
        Thread.Sleep(500);
        double idle = server.RssBytes();
        Load(c, keys, i => BenchConnection.Command("SET", $"key:{i:D10}", "v-0123456789abcd"));
        Thread.Sleep(1000);
        double loaded = server.RssBytes();
        Load(c, keys, i => BenchConnection.Command("EXPIRE", $"key:{i:D10}", "3600"));
        Thread.Sleep(1000);
        double withTtl = server.RssBytes();
        return ((loaded - idle) / keys, (withTtl - loaded) / keys);
    }

    private static void Load(BenchConnection c, int keys, Func<int, byte[]> command)
    {
        const int batch = 1000;
        var buffer = new MemoryStream();
        for (int i = 0; i < keys; i += batch)
        {
            buffer.SetLength(0);
            int n = Math.Min(batch, keys - i);
            for (int j = 0; j < n; j++) buffer.Write(command(i + j));
            c.Send(buffer.ToArray());
            c.ReadFrames(n);
        }
    }
}
