using System.Text.RegularExpressions;
using FluentAssertions;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// With latency-monitor-threshold set, commands at least that slow are recorded under "command" (or
/// "fast-command"), one sample per second with the highest kept; RESET forgets them. (Off by default: checked
/// against Redis in the conformance cases.)
/// </summary>
public sealed class LatencyMonitorTests
{
    [Fact]
    public async Task SlowCommands_AreRecordedAsCommandEvents_FastOnesUnderTheThresholdAreNot()
    {
        await using var s = await InProcessServer.StartAsync();
        using var c = new RawClient(s.Port);
        c.Call("CONFIG", "SET", "latency-monitor-threshold", "20").Should().Be("+OK\r\n");
        // The CONFIG SET itself is timed against the new threshold: on a loaded machine its first run (JIT) can pass it.
        c.Call("LATENCY", "RESET");
        c.Call("PING").Should().Be("+PONG\r\n");
        c.Call("LATENCY", "LATEST").Should().Be("*0\r\n");
        c.Call("DEBUG", "SLEEP", "0.03").Should().Be("+OK\r\n");
        c.Call("DEBUG", "SLEEP", "0.05").Should().Be("+OK\r\n");
        var latest = Regex.Match(c.Call("LATENCY", "LATEST"), @"^\*1\r\n\*4\r\n\$7\r\ncommand\r\n:(\d+)\r\n:(\d+)\r\n:(\d+)\r\n$");
        latest.Success.Should().BeTrue();
        long.Parse(latest.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture).Should().BeCloseTo(DateTimeOffset.UtcNow.ToUnixTimeSeconds(), 5);
        long.Parse(latest.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture).Should().BeInRange(50, 5000, "the highest latency ever");
        // One sample per second, the highest of that second: one or two samples for the two sleeps.
        var history = Regex.Matches(c.Call("LATENCY", "HISTORY", "command"), @"\*2\r\n:(\d+)\r\n:(\d+)\r\n").Select(m => long.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        history.Should().HaveCountGreaterThan(0).And.HaveCountLessThan(3);
        history.Max().Should().BeGreaterThanOrEqualTo(50);
        c.Call("LATENCY", "RESET", "command", "fast-command").Should().Be(":1\r\n");
        c.Call("LATENCY", "LATEST").Should().Be("*0\r\n");
    }
}
