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

/// <summary>
/// INFO's memory peak. Used memory is the GC heap's, which is the whole test process's: these tests run alone, so
/// no other test's allocations come and go between the figures they compare.
/// </summary>
[Collection(nameof(InfoPeakTests))]
public sealed class InfoPeakTests
{
    private static long Field(string info, string field)
    {
        var m = System.Text.RegularExpressions.Regex.Match(info, $"\r\n{field}:(\\d+)\r\n");
        m.Success.Should().BeTrue($"INFO memory has {field}");
        return long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static long InfoField(RawClient c, string field) => Field(c.Call("INFO", "memory"), field);

    /// <summary>
    /// used_memory_peak is the most used_memory seen (it was the process's peak RSS, which is not comparable with
    /// used_memory), as Redis's: it stays when the memory is freed and after CONFIG RESETSTAT.
    /// </summary>
    [Fact]
    public async Task InfoPeak_IsTheMostUsedMemory()
    {
        await using var s = await InProcessServer.StartAsync();
        using var c = new RawClient(s.Port);
        InfoField(c, "used_memory_startup").Should().BeGreaterThan(0);
        // The heap is the whole test process's, garbage included: a full collection first, then figures from
        // one reply each.
        c.Call("MEMORY", "PURGE").Should().Be("+OK\r\n");
        string info = c.Call("INFO", "memory");
        long before = Field(info, "used_memory");
        Field(info, "used_memory_peak").Should().BeGreaterThanOrEqualTo(before);
        string big = new('x', 100_000);
        for (int i = 0; i < 300; i++) c.Call("SET", $"k{i}", big).Should().Be("+OK\r\n"); // 30 MB
        info = c.Call("INFO", "memory");
        long full = Field(info, "used_memory");
        full.Should().BeGreaterThan(before + 25_000_000);
        Field(info, "used_memory_peak").Should().BeGreaterThanOrEqualTo(full);
        c.Call("FLUSHALL").Should().Be("+OK\r\n");
        c.Call("MEMORY", "PURGE").Should().Be("+OK\r\n"); // a full collection: the values are gone
        c.Call("CONFIG", "RESETSTAT").Should().Be("+OK\r\n");
        info = c.Call("INFO", "memory");
        long used = Field(info, "used_memory"), peak = Field(info, "used_memory_peak");
        used.Should().BeLessThan(full - 25_000_000);
        peak.Should().BeGreaterThanOrEqualTo(full);
        var perc = System.Text.RegularExpressions.Regex.Match(info, @"\r\nused_memory_peak_perc:(\d+\.\d\d)%\r\n");
        perc.Success.Should().BeTrue();
        double.Parse(perc.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture).Should().BeApproximately(used * 100.0 / peak, 0.006);
    }
}

[CollectionDefinition(nameof(InfoPeakTests), DisableParallelization = true)]
public sealed class InfoPeakCollection;
