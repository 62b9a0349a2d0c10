using System.Diagnostics;
using FluentAssertions;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>A [Fact] skipped where node or tests/clients/node_modules is missing (never under CI).</summary>
public sealed class NodeFactAttribute : FactAttribute
{
    public NodeFactAttribute() => Skip = NodeClientTests.SkipReason;
}

/// <summary>Real Node.js clients (ioredis, node-redis) run unchanged against the server started in-process.</summary>
public class NodeClientTests
{
    public static string ClientsDir
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir != null && !File.Exists(Path.Combine(dir.FullName, "KeyspacePubSub.sln"))) dir = dir.Parent;
            return Path.Combine(dir?.FullName ?? ".", "tests", "clients");
        }
    }

    public static string? SkipReason =>
        Environment.GetEnvironmentVariable("CI") == "true" || Directory.Exists(Path.Combine(ClientsDir, "node_modules", "ioredis"))
            ? null
            : "tests/clients/node_modules is missing (cd tests/clients && npm ci)";

    private static async Task<(int Exit, string Output)> RunNodeAsync(int port, params string[] args)
    {
        var psi = new ProcessStartInfo("node")
        {
            WorkingDirectory = ClientsDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["REDIS_PORT"] = port.ToString();
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(cts.Token);
        return (p.ExitCode, await stdout + await stderr);
    }

    [NodeFact]
    public async Task SeedPublisherAndSubscriber_RunUnchanged_AndEveryMessageArrives()
    {
        await using var server = await InProcessServer.StartAsync();
        var (exit, output) = await RunNodeAsync(server.Port, "run-seed.js");
        exit.Should().Be(0, output);
        output.Should().Contain("seed ok:");
    }

    [NodeFact]
    public async Task IoredisPubSubSuite_Passes()
    {
        await using var server = await InProcessServer.StartAsync();
        var (exit, output) = await RunNodeAsync(server.Port, "--test", "ioredis-pubsub.test.js");
        exit.Should().Be(0, output);
        output.Should().Contain("# fail 0").And.Contain("# pass 5");
    }

    [NodeFact]
    public async Task NodeRedisSuite_Resp2AndResp3_Passes()
    {
        await using var server = await InProcessServer.StartAsync();
        var (exit, output) = await RunNodeAsync(server.Port, "--test", "node-redis.test.js");
        exit.Should().Be(0, output);
        output.Should().Contain("# fail 0").And.Contain("# pass 4");
    }
}
