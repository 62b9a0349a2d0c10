using System.Diagnostics;
using System.Text.RegularExpressions;
using FluentAssertions;
using KeyspacePubSub.Engine;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// INFO stats' instantaneous figures (ops per second, input and output kbps: the mean rate of the last 16 samples
/// the cron takes ten times a second, as Redis's trackInstantaneousMetric) and its read and write counts.
/// </summary>
public sealed class InstantaneousStatsTests
{
    [Fact]
    public void Metric_IsTheMeanOfTheLast16SamplesRates()
    {
        var m = new InstantaneousMetric();
        m.Reset(nowMs: 0);
        m.Track(100, 1_000); // 10,000 a second over the first 100 ms
        m.PerSecond.Should().Be(10_000 / 16);
        m.Track(300, 1_000); // nothing over 200 ms
        m.Track(300, 5_000); // no time passed: a sample of 0, never a division by zero
        m.PerSecond.Should().Be(10_000 / 16);
        for (int i = 1; i <= 16; i++) m.Track(300 + i * 100, 5_000 + i * 300); // 3,000 a second throughout
        m.PerSecond.Should().Be(3_000, "the older samples have been replaced");
        m.Reset(nowMs: 2_000);
        m.PerSecond.Should().Be(0);
        m.Track(2_500, 50); // counted from 0 after a reset, as CONFIG RESETSTAT resets the counters
        m.PerSecond.Should().Be(100 / 16);
    }

    private static long Field(string info, string name) =>
        long.Parse(Regex.Match(info, $@"\r\n{name}:(\d+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

    private static long Stat(RawClient c, string name) => Field(c.Call("INFO", "stats"), name);

    private static double Kbps(RawClient c, string name) =>
        double.Parse(Regex.Match(c.Call("INFO", "stats"), $@"\r\n{name}:(\d+\.\d\d)\r\n").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task OpsPerSecond_FollowsTheLoad_AndFallsToZeroWhenIdle()
    {
        await using var s = await InProcessServer.StartAsync();
        using var c = new RawClient(s.Port);
        using var load = new RawClient(s.Port);
        Stat(c, "instantaneous_ops_per_sec").Should().Be(0);
        // ~2 s of pipelined SETs of 100-byte values, 50 at a time: well over 1,000 a second on any machine.
        var value = new string('v', 100);
        var sw = Stopwatch.StartNew();
        long sent = 0;
        while (sw.ElapsedMilliseconds < 2_000)
        {
            for (int i = 0; i < 50; i++) load.Send("SET", "k", value);
            load.Read(50);
            sent += 50;
        }
        long ops = Stat(c, "instantaneous_ops_per_sec");
        ops.Should().BeGreaterThan(1_000).And.BeLessThan(sent, "a rate per second over the last 1.6 s of a 2-s run");
        Kbps(c, "instantaneous_input_kbps").Should().BeGreaterThan(ops * 100 / 1024.0 * 0.5, "each SET brings more than 100 bytes");
        Kbps(c, "instantaneous_output_kbps").Should().BeGreaterThan(0);
        await Task.Delay(2_000); // 16 samples of nothing
        Stat(c, "instantaneous_ops_per_sec").Should().BeLessThan(5, "only the INFO calls themselves");
        Kbps(c, "instantaneous_input_kbps").Should().BeLessThan(1);
    }

    [Fact]
    public async Task ReadsAndWrites_AreCountedPerReadAndPerReply_NotPerCommand()
    {
        await using var s = await InProcessServer.StartAsync();
        using var c = new RawClient(s.Port);
        c.Call("CONFIG", "RESETSTAT");
        (long Reads, long Writes) Counts()
        {
            var info = c.Call("INFO", "stats");
            return (Field(info, "total_reads_processed"), Field(info, "total_writes_processed"));
        }
        Counts().Should().Be((1, 1), "the INFO's read; RESETSTAT's reply (the INFO's own is written after it ran)");
        // Ten commands in one send are one read and one write.
        c.SendRaw(string.Concat(Enumerable.Repeat("PING\r\n", 10)));
        c.Read(10);
        Counts().Should().Be((3, 3), "the first INFO's reply, the PINGs' read and reply, the second INFO's read");
        c.Call("INFO", "stats").Should().Contain("\r\nio_threaded_reads_processed:0\r\n").And.Contain("\r\nmigrate_cached_sockets:0\r\n");
    }
}
