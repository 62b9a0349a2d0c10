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

/// <summary>A [Fact] skipped where Debian's python3-redis is missing (never under CI).</summary>
public sealed class PythonRedisFactAttribute : FactAttribute
{
    public PythonRedisFactAttribute()
    {
        if (!File.Exists("/usr/lib/python3/dist-packages/redis/__init__.py") && Environment.GetEnvironmentVariable("CI") != "true")
        {
            Skip = "python3-redis is not installed (apt-get install -y python3-redis)";
        }
    }
}

/// <summary>
/// Real clients (ioredis, node-redis, Socket.IO, redis-py) run unchanged against the server started in-process,
/// and, but for the node-redis suite, against real redis-server too.
/// </summary>
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

    private static Task<(int Exit, string Output)> RunNodeAsync(int port, params string[] args) => RunAsync("node", port, args);

    /// <summary>Runs a client program in tests/clients with REDIS_PORT set; its exit code and all its output.</summary>
    public static async Task<(int Exit, string Output)> RunAsync(string program, int port, params string[] args)
    {
        var psi = new ProcessStartInfo(program)
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
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            // Hung: what it printed so far says where.
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
            return (-1, $"(killed after 60 s) {await stdout}{await stderr}");
        }
        return (p.ExitCode, await stdout + await stderr);
    }

    /// <summary>
    /// Runs a client program against a fresh server of ours, then against real redis-server (where it is
    /// installed: always under CI), so that what the program expects is Redis's behaviour; both runs must exit
    /// 0 and print <paramref name="marker"/>.
    /// </summary>
    public static Task RunAgainstBoth(string program, string marker, params string[] args) => BothServers.RunAsync(async (port, name) =>
    {
        var (exit, output) = await RunAsync(program, port, args);
        exit.Should().Be(0, $"against {name}: {output}");
        output.Should().Contain(marker, $"against {name}");
    });

    [NodeFact]
    public Task SeedPublisherAndSubscriber_RunUnchanged_AndEveryMessageArrives() => RunAgainstBoth("node", "seed ok:", "run-seed.js");

    /// <summary>A node:test file, against both servers: every one of its <paramref name="tests"/> passes.</summary>
    private static Task RunSuite(string file, int tests) => RunAgainstBoth("node", $"# pass {tests}\n# fail 0", "--test", file);

    [NodeFact]
    public Task IoredisPubSubSuite_Passes() => RunSuite("ioredis-pubsub.test.js", 5);

    [NodeFact]
    public Task IoredisBlockingSuite_Passes() => RunSuite("ioredis-blocking.test.js", 3);

    /// <summary>ioredis's defineCommand (EVALSHA, EVAL on NOSCRIPT), scripts in MULTI and pipelines, a script's errors, a library of functions.</summary>
    [NodeFact]
    public Task IoredisScriptsSuite_Passes() => RunSuite("ioredis-scripts.test.js", 4);

    /// <summary>ACL users with ioredis and node-redis (RESP2 and RESP3): username and password, NOPERM outside the user's keys and channels, WRONGPASS.</summary>
    [NodeFact]
    public Task AclUsersSuite_Passes() => RunSuite("acl-users.test.js", 4);

    /// <summary>ACL users with redis-py: a service's user, a refused command in a pipeline transaction, WRONGPASS, a deleted user's connection.</summary>
    [PythonRedisFact]
    public Task RedisPyAclUser_IsHeldToItsKeys() => RunAgainstBoth("/usr/bin/python3", "redis-py acl ok", "redis_py_acl.py");

    [PythonRedisFact]
    public Task RedisPyBlockingPops_RunUnchanged() => RunAgainstBoth("/usr/bin/python3", "redis-py blocking ok", "redis_py_blocking.py");

    /// <summary>
    /// A work queue on a stream's consumer group (redis-py): workers blocked in XREADGROUP share the jobs and XACK
    /// them; the jobs of a worker that died unacknowledged are taken over with XAUTOCLAIM; nothing is left pending.
    /// </summary>
    /// <summary>A presence index on geo commands (redis-py): GEOADD NX/XX/CH, GEOPOS, GEOHASH, GEODIST, GEOSEARCH by radius and box with every WITH option, GEOSEARCHSTORE STOREDIST, an invalid position's error.</summary>
    [PythonRedisFact]
    public Task RedisPyGeo_FindsUsersByPosition() => RunAgainstBoth("/usr/bin/python3", "redis-py geo ok", "redis_py_geo.py");

    /// <summary>redis-py's Lock, register_script and eval (RESP2 and RESP3): EVALSHA, NOSCRIPT and reload, scripts in MULTI, cjson.</summary>
    [PythonRedisFact]
    public Task RedisPyScripts_LockAndRateLimiter() => RunAgainstBoth("/usr/bin/python3", "redis-py scripts ok", "redis_py_scripts.py");

    [PythonRedisFact]
    public Task RedisPyStreamGroups_ShareAWorkQueue() => RunAgainstBoth("/usr/bin/python3", "redis-py stream groups ok", "redis_py_stream_groups.py");

    /// <summary>
    /// Ours only: the suite checks CLIENT SETINFO's lib-name in CLIENT INFO, which Redis 7.2 added (7.0 answers
    /// node-redis's SETINFO with an error the client ignores).
    /// </summary>
    [NodeFact]
    public async Task NodeRedisSuite_Resp2AndResp3_Passes()
    {
        await using var server = await InProcessServer.StartAsync();
        var (exit, output) = await RunNodeAsync(server.Port, "--test", "node-redis.test.js");
        exit.Should().Be(0, output);
        output.Should().Contain("# pass 4\n# fail 0");
    }

    [NodeFact]
    public Task SocketIoRedisAdapters_ShareRoomsAcrossTwoNodes() => RunSuite("socketio-adapter.test.js", 3);

    /// <summary>
    /// Socket.IO's Redis Streams adapter: broadcasts cross two nodes as XADD entries read by blocking XREADs, and a
    /// client that drops gets what it missed replayed with XRANGE (connection state recovery).
    /// </summary>
    [NodeFact]
    public Task SocketIoRedisStreamsAdapter_SharesRoomsAndRecoversSessions() => RunSuite("socketio-streams-adapter.test.js", 3);
}

/// <summary>
/// The chat backlog recipe from real clients (ioredis multi(), redis-py pipeline(transaction=True)) with
/// persistence on: what they recorded is still there after a restart.
/// </summary>
public sealed class BacklogClientTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kps-clients-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private KeyspacePubSub.Persistence.PersistenceOptions Options => new() { Enabled = true, Path = Path.Combine(_dir, "b.db"), Fsync = KeyspacePubSub.Persistence.FsyncPolicy.Always };

    private async Task RecordThenRestart(string program, string script, string marker, string prefix)
    {
        await using (var server = await InProcessServer.StartAsync(Options))
        {
            var (exit, output) = await NodeClientTests.RunAsync(program, server.Port, script);
            exit.Should().Be(0, output);
            output.Should().Contain(marker);
        }
        await using (var server = await InProcessServer.StartAsync(Options))
        {
            using var c = new RawClient(server.Port);
            c.Call("LLEN", "room:chatty:backlog").Should().Be(prefix == "redis-py" ? ":51\r\n" : ":50\r\n");
            c.Call("LINDEX", "room:chatty:backlog", "-1").Should().Be($"${prefix.Length + 2}\r\n{prefix} 0\r\n");
        }
    }

    [NodeFact]
    public Task IoredisMulti_RecordsTheBacklogDurably() => RecordThenRestart("node", "ioredis-backlog.js", "ioredis backlog ok", "ioredis");

    [PythonRedisFact]
    public Task RedisPyTransaction_RecordsTheBacklogDurably() => RecordThenRestart("/usr/bin/python3", "redis_py_backlog.py", "redis-py backlog ok", "redis-py");
}
