using System.Text.RegularExpressions;
using FluentAssertions;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// INFO commandstats counts, per command and subcommand, the calls that ran, those that replied an error
/// (failed) and those refused before running (rejected), as Redis 7.0 does: an EXEC whose only error came from
/// a command it ran is not failed itself. (The line order differs from Redis's hash order, so this is checked
/// here; errorstats, which Redis sorts, is compared byte for byte in the conformance cases.)
/// </summary>
public sealed class CommandStatsTests
{
    private static Dictionary<string, string> Stats(RawClient c) =>
        Regex.Matches(c.Call("INFO", "commandstats"), @"cmdstat_([^:]+):calls=(\d+),usec=\d+,usec_per_call=[\d.]+,rejected_calls=(\d+),failed_calls=(\d+)")
            .ToDictionary(m => m.Groups[1].Value, m => $"{m.Groups[2].Value}/{m.Groups[3].Value}/{m.Groups[4].Value}");

    [Fact]
    public async Task CallsFailuresAndRejections_AreCountedPerCommand_AndResetWithConfigResetstat()
    {
        await using var s = await InProcessServer.StartAsync();
        using var c = new RawClient(s.Port);
        c.Call("CONFIG", "RESETSTAT").Should().Be("+OK\r\n");
        c.Call("SET", "a", "1").Should().Be("+OK\r\n");
        c.Call("SET", "a", "b", "c").Should().Be("-ERR syntax error\r\n");
        c.Call("GET").Should().StartWith("-ERR wrong number of arguments");
        c.Call("LPUSH", "a", "x").Should().StartWith("-WRONGTYPE");
        c.Call("CONFIG", "GET", "nosuch").Should().Be("*0\r\n");
        // EXEC: its command's error makes that command failed, not the EXEC; EXECABORT and EXEC without MULTI do.
        c.Call("MULTI").Should().Be("+OK\r\n");
        c.Call("INCR", "a").Should().Be("+QUEUED\r\n");
        c.Call("EXEC").Should().Be("*1\r\n:2\r\n");
        c.Call("MULTI").Should().Be("+OK\r\n");
        c.Call("LPUSH", "a", "x").Should().Be("+QUEUED\r\n");
        c.Call("EXEC").Should().StartWith("*1\r\n-WRONGTYPE");
        c.Call("MULTI").Should().Be("+OK\r\n");
        c.Call("GET").Should().StartWith("-ERR wrong number of arguments");
        c.Call("EXEC").Should().StartWith("-EXECABORT");
        c.Call("EXEC").Should().Be("-ERR EXEC without MULTI\r\n");

        var stats = Stats(c);
        stats.Should().Contain("set", "2/0/1").And.Contain("get", "0/2/0").And.Contain("lpush", "2/0/2")
            .And.Contain("exec", "4/0/2").And.Contain("multi", "3/0/0").And.Contain("incr", "1/0/0")
            .And.Contain("config|get", "1/0/0").And.Contain("config|resetstat", "1/0/0");
        c.Call("INFO", "stats").Should().Contain("total_error_replies:7\r\n");
        c.Call("INFO", "errorstats").Should().Contain("errorstat_ERR:count=4\r\nerrorstat_EXECABORT:count=1\r\nerrorstat_WRONGTYPE:count=2\r\n");

        c.Call("CONFIG", "RESETSTAT").Should().Be("+OK\r\n");
        Stats(c).Keys.Should().BeEquivalentTo(["config|resetstat"], "the INFO listing them is counted after it ran");
        c.Call("INFO").Should().Contain("# Errorstats\r\n").And.NotContain("# Commandstats");
    }
}
