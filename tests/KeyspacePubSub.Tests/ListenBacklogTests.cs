using System.Diagnostics;
using FluentAssertions;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// tcp-backlog reaches listen(): the kernel shows a listening socket's queue length as its Send-Q (`ss -ltn`;
/// .ci/run installs iproute2 where it is missing).
/// </summary>
public class ListenBacklogTests
{
    private static int? ListenQueue(int port)
    {
        var psi = new ProcessStartInfo("ss", $"-ltnH sport = :{port}") { RedirectStandardOutput = true, UseShellExecute = false };
        using var ss = Process.Start(psi)!;
        string output = ss.StandardOutput.ReadToEnd();
        ss.WaitForExit();
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
}
