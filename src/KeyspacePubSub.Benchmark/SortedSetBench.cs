using System.Diagnostics;
using System.Globalization;

namespace KeyspacePubSub.Benchmark;

/// <summary>
/// One large sorted set on a fresh server (a leaderboard, or the members of a time-window backlog): RSS per member
/// once it is loaded, then rescoring random members (ZADD of a present member, pipelined 1,000 at a time), as
/// commands/s and server CPU per command. Every server gets the same members and the same rescores.
/// </summary>
public static class SortedSetBench
{
    public static (double BytesPerMember, double RescoresPerSec, double CpuMicrosPerRescore) Run(ServerUnderTest server, int members)
    {
        using var c = new BenchConnection(server);
        Thread.Sleep(500);
        double idle = server.RssBytes();
        c.Pipelined(members / 1000, i => BenchConnection.Command(
            ["ZADD", "board", .. Enumerable.Range(i * 1000, 1000).SelectMany(m => new object[] { (m * 1.5).ToString(CultureInfo.InvariantCulture), $"member:{m}" })]));
        // Three quiet seconds: the load's garbage (its requests, the member table's outgrown arrays) is collected
        // by then (a quiet server collects within two), and Redis frees its own at once.
        Thread.Sleep(3000);
        double loaded = server.RssBytes();
        var rng = new Random(1);
        var rescores = Enumerable.Range(0, members).Select(_ => BenchConnection.Command("ZADD", "board", rng.Next(members * 2).ToString(CultureInfo.InvariantCulture), $"member:{rng.Next(members)}")).ToArray();
        double cpu0 = server.CpuSeconds();
        var sw = Stopwatch.StartNew();
        c.Pipelined(rescores.Length, i => rescores[i]);
        double seconds = sw.Elapsed.TotalSeconds;
        double cpu = server.CpuSeconds() - cpu0;
        return ((loaded - idle) / members, rescores.Length / seconds, cpu * 1e6 / rescores.Length);
    }
}
