using System.Diagnostics;
using FluentAssertions;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// tcp-backlog and tcp-keepalive reach the sockets, as the kernel reports them (`ss`; .ci/run installs iproute2
/// where it is missing): a listening socket's queue length is its Send-Q, and a connection with keepalive on
/// has a keepalive timer.
/// </summary>
public class SocketOptionTests
{
    private static string Ss(string arguments)
    {
        var psi = new ProcessStartInfo("ss", arguments) { RedirectStandardOutput = true, UseShellExecute = false };
        using var ss = Process.Start(psi)!;
        string output = ss.StandardOutput.ReadToEnd();
        ss.WaitForExit();
        return output;
    }

    private static int? ListenQueue(int port)
    {
        string output = Ss($"-ltnH sport = :{port}");
        // "LISTEN 0 511 127.0.0.1:6379 0.0.0.0:*": state, Recv-Q, Send-Q (the backlog), ...
        var fields = output.Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
        return fields.Length >= 3 && int.TryParse(fields[2], out int q) ? q : null;
    }

    [Theory]
    [InlineData(null, 511)]
    [InlineData("37", 37)]
    [InlineData("1024", 1024)]
    public async Task TcpBacklog_IsTheListenQueueLength(string? configured, int expected)
    {
        if (!OperatingSystem.IsLinux()) return;
        await using var server = configured is null
            ? await InProcessServer.StartAsync()
            : await InProcessServer.StartAsync(("tcp-backlog", configured));
        ListenQueue(server.Port).Should().Be(expected);
        using var c = new RawClient(server.Port);
        c.Call("CONFIG", "GET", "tcp-backlog").Should().Be($"*2\r\n$11\r\ntcp-backlog\r\n${expected.ToString().Length}\r\n{expected}\r\n");
    }

    /// <summary>The keepalive timer of the server's side of the one connection from <paramref name="clientPort"/>, or "" if it has none.</summary>
    private static string KeepAliveTimer(int serverPort, int clientPort)
    {
        string line = Ss($"-tnoH state established sport = :{serverPort} and dport = :{clientPort}");
        int at = line.IndexOf("timer:(keepalive,", StringComparison.Ordinal);
        return at < 0 ? "" : line[(at + "timer:(keepalive,".Length)..].Split(',')[0];
    }

    private static int LocalPort(RawClient c) => ((System.Net.IPEndPoint)c.LocalEndPoint).Port;

    [Fact]
    public async Task TcpKeepalive_IsSetOnEachNewConnection_AndZeroTurnsItOff()
    {
        if (!OperatingSystem.IsLinux()) return;
        await using var server = await InProcessServer.StartAsync();
        using var first = new RawClient(server.Port);
        first.Call("PING").Should().Be("+PONG\r\n");
        // ss prints a timer of exactly 300 s as "5min" (read within the tick it was armed in).
        KeepAliveTimer(server.Port, LocalPort(first)).Should().MatchRegex("^(4min5[0-9]sec|5min)$", "Redis's default: 300 s");
        first.Call("CONFIG", "SET", "tcp-keepalive", "60").Should().Be("+OK\r\n");
        first.Call("CONFIG", "GET", "tcp-keepalive").Should().Be("*2\r\n$13\r\ntcp-keepalive\r\n$2\r\n60\r\n");
        using var second = new RawClient(server.Port);
        second.Call("PING").Should().Be("+PONG\r\n");
        KeepAliveTimer(server.Port, LocalPort(second)).Should().MatchRegex("^(5[0-9]sec|1min)$");
        first.Call("CONFIG", "SET", "tcp-keepalive", "0").Should().Be("+OK\r\n");
        using var third = new RawClient(server.Port);
        third.Call("PING").Should().Be("+PONG\r\n");
        KeepAliveTimer(server.Port, LocalPort(third)).Should().BeEmpty();
    }
}
