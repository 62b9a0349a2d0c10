using System.Diagnostics;

namespace KeyspacePubSub.Benchmark;

/// <summary>
/// A cache at its limit: maxmemory M with allkeys-lru and 1,000-byte values. First a flood (4 × M of new keys
/// as fast as one pipelining client goes): requests/s, server CPU per SET, the keys the limit holds, RSS.
/// Then LRU quality: 5,000 hot keys read between every 1,000 new SETs at 10,000 SETs/s (the cache turns over
/// in ~6 s, well above the LRU clock's 1-s resolution) for 12 s: how many hot keys survive.
/// </summary>
public static class EvictionBench
{
    private const int HotKeys = 5_000, Batch = 1_000, ValueSize = 1_000;

    public static (double SetsPerSec, double CpuMicrosPerSet, double KeysHeld, double RssMb, double HotKept) Run(ServerUnderTest server, int maxMemoryMb)
    {
        using var c = new BenchConnection(server);
        Call(c, "FLUSHALL");
        Call(c, "CONFIG", "SET", "maxmemory-policy", "allkeys-lru");
        Call(c, "CONFIG", "SET", "maxmemory", $"{maxMemoryMb}mb");
        var value = new byte[ValueSize];
        Array.Fill(value, (byte)'v');
        var batch = new MemoryStream();

        int flood = maxMemoryMb * 1024 * 1024 / ValueSize * 4;
        double cpu0 = server.CpuSeconds();
        var clock = Stopwatch.StartNew();
        for (int written = 0; written < flood; written += Batch)
        {
            batch.SetLength(0);
            for (int i = written; i < written + Batch; i++) batch.Write(BenchConnection.Command("SET", $"flood:{i}", value));
            c.Send(batch.ToArray());
            c.ReadFrames(Batch);
        }
        double seconds = clock.Elapsed.TotalSeconds, cpu = server.CpuSeconds() - cpu0;
        c.Send(BenchConnection.Command("DBSIZE"));
        long held = c.ReadInteger();
        double rss = server.RssBytes() / 1e6;

        batch.SetLength(0);
        for (int i = 0; i < HotKeys; i++) batch.Write(BenchConnection.Command("SET", $"hot:{i}", value));
        c.Send(batch.ToArray());
        c.ReadFrames(HotKeys);
        var rng = new Random(1);
        clock.Restart();
        for (int written = 0; clock.Elapsed < TimeSpan.FromSeconds(12); written += Batch)
        {
            batch.SetLength(0);
            for (int i = written; i < written + Batch; i++) batch.Write(BenchConnection.Command("SET", $"k:{i}", value));
            for (int i = 0; i < Batch; i++) batch.Write(BenchConnection.Command("GET", $"hot:{rng.Next(HotKeys)}"));
            c.Send(batch.ToArray());
            c.ReadFrames(2 * Batch);
            double due = (written + Batch) / 10_000.0; // 10,000 SETs/s
            if (clock.Elapsed.TotalSeconds < due) Thread.Sleep(TimeSpan.FromSeconds(due - clock.Elapsed.TotalSeconds));
        }
        if (c.Errors > 0) throw new InvalidOperationException($"{server.Name}: {c.Errors} error replies under allkeys-lru");
        var exists = new List<object> { "EXISTS" };
        for (int i = 0; i < HotKeys; i++) exists.Add($"hot:{i}");
        c.Send(BenchConnection.Command([.. exists]));
        long hotKept = c.ReadInteger();
        Call(c, "CONFIG", "SET", "maxmemory", "0");
        Call(c, "FLUSHALL");
        return (flood / seconds, cpu * 1e6 / flood, held, rss, hotKept);
    }

    private static void Call(BenchConnection c, params object[] args)
    {
        c.Send(BenchConnection.Command(args));
        c.ReadFrames(1);
    }
}
