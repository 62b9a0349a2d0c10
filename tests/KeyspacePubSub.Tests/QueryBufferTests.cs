using System.Text.RegularExpressions;
using FluentAssertions;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// CLIENT LIST qbuf (and tot-mem, INFO client_recent_max_input_buffer): a client in the middle of a large
/// command shows the part received so far, as Redis shows its query buffer, and nothing once the command ran.
/// </summary>
public sealed class QueryBufferTests
{
    [Fact]
    public async Task AClientHalfwayThroughALargeCommand_ShowsWhatItSentSoFar()
    {
        await using var s = await InProcessServer.StartAsync();
        using var admin = new RawClient(s.Port);
        using var writer = new RawClient(s.Port);
        writer.Call("CLIENT", "SETNAME", "writer");
        writer.SendRaw("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100000\r\n" + new string('x', 60_000));
        int Qbuf(out long totMem)
        {
            var line = admin.Call("CLIENT", "LIST").Split('\n').Single(l => l.Contains(" name=writer "));
            totMem = long.Parse(Regex.Match(line, @" tot-mem=(\d+)").Groups[1].Value);
            return int.Parse(Regex.Match(line, @" qbuf=(\d+)").Groups[1].Value);
        }
        int qbuf = 0;
        long totMem = 0;
        for (int i = 0; i < 100 && qbuf < 60_000; i++, await Task.Delay(20)) qbuf = Qbuf(out totMem);
        qbuf.Should().BeInRange(60_000, 60_100, "the value's bytes so far, and at most the command's header");
        totMem.Should().BeGreaterThanOrEqualTo(qbuf);
        admin.Call("INFO", "clients").Should().MatchRegex(@"client_recent_max_input_buffer:600\d\d\r\n");
        writer.SendRaw(new string('x', 40_000) + "\r\n");
        writer.Read().Should().Be("+OK\r\n");
        Qbuf(out _).Should().Be(0);
        admin.Call("STRLEN", "k").Should().Be(":100000\r\n");
    }
}
