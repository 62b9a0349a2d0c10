using System.Text.RegularExpressions;
using FluentAssertions;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// SLOWLOG keeps the commands that ran at least slowlog-log-slower-than µs, with their real duration; the
/// commands an EXEC runs are logged one by one, EXEC itself never. (Entry format and redaction are checked
/// byte for byte against Redis in the conformance cases, with every command logged.)
/// </summary>
public sealed class SlowlogTests
{
    private static long[] Durations(string reply) =>
        Regex.Matches(reply, @"\*6\r\n:\d+\r\n:\d+\r\n:(\d+)\r\n").Select(m => long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToArray();

    [Fact]
    public async Task OnlyCommandsSlowerThanTheThreshold_AreLogged_WithTheirDuration()
    {
        await using var s = await InProcessServer.StartAsync();
        using var c = new RawClient(s.Port);
        c.Call("CONFIG", "SET", "slowlog-log-slower-than", "50000").Should().Be("+OK\r\n");
        c.Call("SLOWLOG", "RESET").Should().Be("+OK\r\n");
        c.Call("PING").Should().Be("+PONG\r\n");
        c.Call("DEBUG", "SLEEP", "0.1").Should().Be("+OK\r\n");
        c.Call("SLOWLOG", "LEN").Should().Be(":1\r\n");
        string entries = c.Call("SLOWLOG", "GET");
        entries.Should().Contain("$5\r\nDEBUG\r\n$5\r\nSLEEP\r\n$3\r\n0.1\r\n");
        Durations(entries).Should().ContainSingle().Which.Should().BeInRange(100_000, 5_000_000);

        // Inside EXEC: the slow command is logged, the EXEC around it (which took as long) is not.
        c.Call("MULTI").Should().Be("+OK\r\n");
        c.Call("DEBUG", "SLEEP", "0.06").Should().Be("+QUEUED\r\n");
        c.Call("PING").Should().Be("+QUEUED\r\n");
        c.Call("EXEC").Should().Be("*2\r\n+OK\r\n+PONG\r\n");
        entries = c.Call("SLOWLOG", "GET");
        Durations(entries).Should().HaveCount(2);
        entries.Should().StartWith("*2\r\n*6\r\n").And.Contain("$4\r\n0.06\r\n").And.NotContain("EXEC");

        // -1 turns it off.
        c.Call("CONFIG", "SET", "slowlog-log-slower-than", "-1").Should().Be("+OK\r\n");
        c.Call("DEBUG", "SLEEP", "0.06").Should().Be("+OK\r\n");
        c.Call("SLOWLOG", "LEN").Should().Be(":2\r\n");
    }
}
