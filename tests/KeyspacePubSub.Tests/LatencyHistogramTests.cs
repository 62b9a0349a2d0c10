using FluentAssertions;
using KeyspacePubSub.Engine;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// Latency tracking (INFO latencystats, LATENCY HISTOGRAM) with the figures redis-server 7.0.15 printed for the
/// same samples: its hdr_histogram's buckets, percentiles and log iteration, reproduced exactly.
/// </summary>
public sealed class LatencyHistogramTests
{
    private static LatencyHistogram Of(params long[] nanoseconds)
    {
        var h = new LatencyHistogram();
        foreach (long ns in nanoseconds) h.Record(ns);
        return h;
    }

    [Fact]
    public void OneSample_IsReportedAtItsBucketsTop()
    {
        // Redis: a SET of 37 µs showed p50=37.119 and histogram_usec {66: 1}; a CLIENT ID of 2 µs p50=2.007, p0=2.000, {2: 1}.
        var set = Of(37_000);
        set.ValueAtPercentile(50).Should().Be(37_119);
        set.Buckets().Should().Equal((66L, 1L));
        var id = Of(2_000);
        id.ValueAtPercentile(50).Should().Be(2_007);
        id.ValueAtPercentile(0).Should().Be(2_000);
        id.Buckets().Should().Equal((2L, 1L));
    }

    [Fact]
    public void ThreeSamples_GiveRedissPercentilesAndCumulativeBuckets()
    {
        // Redis, CLIENT TRACKINGINFO three times: p0=8.000, p12.5=8.031, p50=9.023, p99=15.039, p100=15.039; {8: 1, 16: 3}.
        var h = Of(8_000, 9_000, 15_000);
        h.TotalCount.Should().Be(3);
        h.ValueAtPercentile(0).Should().Be(8_000);
        h.ValueAtPercentile(12.5).Should().Be(8_031);
        h.ValueAtPercentile(50).Should().Be(9_023);
        h.ValueAtPercentile(99).Should().Be(15_039);
        h.ValueAtPercentile(100).Should().Be(15_039);
        h.Buckets().Should().Equal((8L, 1L), (16L, 3L));
    }

    [Fact]
    public void Values_AreClampedToOneNanosecondAndOneSecond()
    {
        var h = Of(0, 5_000_000_000);
        h.ValueAtPercentile(0).Should().Be(1);
        h.ValueAtPercentile(100).Should().BeGreaterThanOrEqualTo(1_000_000_000).And.BeLessThan(1_010_000_000);
        // redis-server 7.0.15, DEBUG SLEEP 0 then DEBUG SLEEP 1.2: histogram_usec {264: 1, 1073741: 2}. The 1 s level
        // lies past the last bucket, and hdr's log iterator reports it with that bucket's top.
        h.Buckets().Should().Equal((1L, 1L), (1073741L, 2L));
        Of(260_000, 5_000_000_000).Buckets().Should().Equal((264L, 1L), (1073741L, 2L));
    }

    [Fact]
    public async Task InfoLatencystats_ListsEachCalledCommandWithTheConfiguredPercentiles()
    {
        await using var server = await InProcessServer.StartAsync();
        using var c = new RawClient(server.Port);
        c.Call("CONFIG", "RESETSTAT").Should().Be("+OK\r\n");
        c.Call("SET", "k", "v");
        c.Call("CLIENT", "ID");
        string info = c.Call("INFO", "latencystats");
        info.Should().Contain("# Latencystats\r\n");
        info.Should().MatchRegex(@"latency_percentiles_usec_set:p50=\d+\.\d{3},p99=\d+\.\d{3},p99\.9=\d+\.\d{3}\r\n");
        info.Should().MatchRegex(@"latency_percentiles_usec_client\|id:p50=\d+\.\d{3},");
        c.Call("CONFIG", "SET", "latency-tracking-info-percentiles", "0 12.5").Should().Be("+OK\r\n");
        c.Call("INFO", "latencystats").Should().MatchRegex(@"latency_percentiles_usec_set:p0=\d+\.\d{3},p12\.5=\d+\.\d{3}\r\n");
        c.Call("INFO").Should().NotContain("Latencystats", "it is not a default section");
        c.Call("CONFIG", "RESETSTAT");
        c.Call("INFO", "latencystats").Should().NotContain("usec_set");
    }
}
