using FluentAssertions;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Conformance;

/// <summary>
/// Starts a real redis-server and our server once for all cases: in-process, or the executable named by
/// <c>KPS_SERVER_BIN</c> (the native build, see <see cref="ServerProcess"/>).
/// </summary>
public sealed class ServersFixture : IAsyncLifetime
{
    private InProcessServer? _inProcess;
    private ServerProcess? _process;

    public RedisProcess? Redis { get; private set; }
    public int OursPort { get; private set; }

    public async Task InitializeAsync()
    {
        if (RedisProcess.SkipReason != null) return;
        Redis = RedisProcess.Start();
        if (ServerProcess.NativeExecutable is null)
        {
            _inProcess = await InProcessServer.StartAsync();
            OursPort = _inProcess.Port;
            return;
        }
        OursPort = RedisProcess.FreePort();
        _process = new ServerProcess("--port", OursPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "--enable-debug-command", "yes");
        if (!_process.WaitUntilServing(OursPort)) throw new InvalidOperationException($"{ServerProcess.NativeExecutable} did not start: {_process.Stdout} {_process.Stderr}");
    }

    public async Task DisposeAsync()
    {
        Redis?.Dispose();
        _process?.Dispose();
        if (_inProcess != null) await _inProcess.DisposeAsync();
    }
}

/// <summary>A [Theory] that is skipped, with the reason, where redis-server is missing (never under CI).</summary>
public sealed class ConformanceTheoryAttribute : TheoryAttribute
{
    public ConformanceTheoryAttribute() => Skip = RedisProcess.SkipReason;
}

/// <summary>A [Fact] that is skipped, with the reason, where redis-server is missing (never under CI).</summary>
public sealed class ConformanceFactAttribute : FactAttribute
{
    public ConformanceFactAttribute() => Skip = RedisProcess.SkipReason;
}

public sealed class ConformanceTests(ServersFixture servers) : IClassFixture<ServersFixture>
{
    public static IEnumerable<object[]> Cases()
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "cases");
        foreach (var file in Directory.GetFiles(dir, "*.txt").Order())
        {
            foreach (var c in ScriptParser.Parse(Path.GetFileName(file), File.ReadAllText(file)))
            {
                yield return [c.File, c.Name];
            }
        }
    }

    [ConformanceTheory]
    [MemberData(nameof(Cases))]
    public void Replies_AreByteIdenticalToRedis(string file, string name)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "cases", file);
        var c = ScriptParser.Parse(file, File.ReadAllText(path)).Single(x => x.Name == name);
        // Cases run in xUnit's order, not the files': each starts from empty databases, whatever the one before left.
        foreach (int port in new[] { servers.Redis!.Port, servers.OursPort })
        {
            using var admin = new RawClient(port);
            admin.Call("FLUSHALL");
            admin.Call("FUNCTION", "FLUSH"); // functions outlive FLUSHALL
        }
        var reference = ScriptRunner.RunReference(c, servers.Redis!.Port);
        var ours = ScriptRunner.RunOurs(c, servers.OursPort, reference);
        ScriptRunner.Compare(c, reference, ours).Should().BeNull();
    }

    [Fact]
    public void CaseFiles_AreNotEmpty()
    {
        Cases().Count().Should().BeGreaterThan(50);
    }
}
