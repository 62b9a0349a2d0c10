using FluentAssertions;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>MEMORY USAGE estimates this server's bytes for a key: it grows with the value, and sampling estimates aggregates.</summary>
public sealed class MemoryUsageTests
{
    private static long Usage(RawClient c, params string[] args) => long.Parse(c.Call(["MEMORY", "USAGE", .. args])[1..^2], System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task Usage_GrowsWithTheValue_AndSamplesAggregates()
    {
        await using var s = await InProcessServer.StartAsync();
        using var c = new RawClient(s.Port);
        c.Call("SET", "small", "v").Should().Be("+OK\r\n");
        c.Call("SET", "big", new string('x', 1000)).Should().Be("+OK\r\n");
        Usage(c, "small").Should().BeInRange(60, 200);
        Usage(c, "big").Should().BeInRange(1000, 1200);
        // 100 elements of 100 bytes, the first 5 of them 1,000 bytes: sampling 5 (the default) sees only those.
        for (int i = 0; i < 100; i++) c.Call("RPUSH", "l", new string(i < 5 ? 'a' : 'b', i < 5 ? 1000 : 100));
        long all = Usage(c, "l", "SAMPLES", "0"), sampled = Usage(c, "l");
        all.Should().BeInRange(5 * 1000 + 95 * 100, 5 * 1000 + 95 * 100 + 100 * 64);
        sampled.Should().BeGreaterThan(100 * 1000);
        Usage(c, "l", "SAMPLES", "100").Should().Be(all);
        c.Call("MEMORY", "MALLOC-STATS").Should().Be("$45\r\nStats not supported for the current allocator\r\n");
    }
}
