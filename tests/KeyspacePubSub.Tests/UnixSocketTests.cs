using System.Net.Sockets;
using System.Text;
using FluentAssertions;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// <c>unixsocket</c> and <c>unixsocketperm</c>, on both transports. What is asserted was read from redis-server
/// 7.0.15 started the same way (<c>redis-server --port 0 --unixsocket /tmp/r.sock --unixsocketperm 700</c>, then
/// <c>redis-cli -s /tmp/r.sock CLIENT INFO</c>): both addresses are "path:0", flag U, permissions 700, no TCP
/// listener with port 0, and the file is gone after SHUTDOWN.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class UnixSocketTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kps-unix-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Call(Socket s, params string[] args)
    {
        var sb = new StringBuilder($"*{args.Length}\r\n");
        foreach (var a in args) sb.Append($"${Encoding.UTF8.GetByteCount(a)}\r\n{a}\r\n");
        s.Send(Encoding.UTF8.GetBytes(sb.ToString()));
        var buffer = new byte[65536];
        int n = s.Receive(buffer);
        return Encoding.UTF8.GetString(buffer, 0, n);
    }

    private static Socket Connect(string path)
    {
        var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = 5000 };
        s.Connect(new UnixDomainSocketEndPoint(path));
        return s;
    }

    [Theory]
    [InlineData("epoll")]
    [InlineData("sockets")]
    public async Task UnixSocketClients_AreServed_WithRedissAddressesAndFlag(string transport)
    {
        string path = Path.Combine(_dir, "k.sock");
        File.WriteAllText(path, "left by an earlier run"); // replaced, as Redis unlinks the path first
        var s = await InProcessServer.StartAsync(("unixsocket", path), ("unixsocketperm", "700"), ("io-transport", transport));
        await using (s)
        {
            s.Server.EndPoints.Should().BeEmpty("port 0 with a Unix socket is no TCP listener, as in Redis");
            File.GetUnixFileMode(path).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            using var c = Connect(path);
            Call(c, "PING").Should().Be("+PONG\r\n");
            var info = Call(c, "CLIENT", "INFO");
            info.Should().Contain($" addr={path}:0 laddr={path}:0 ").And.Contain(" flags=U ");
            Call(c, "CONFIG", "GET", "unixsocket*").Should().Be($"*4\r\n$10\r\nunixsocket\r\n${path.Length}\r\n{path}\r\n$14\r\nunixsocketperm\r\n$3\r\n700\r\n");
            Call(c, "CONFIG", "SET", "unixsocket", "/elsewhere").Should().Be("-ERR CONFIG SET failed (possibly related to argument 'unixsocket') - can't set immutable config\r\n");
            using var other = Connect(path);
            Call(other, "CLIENT", "KILL", "ADDR", $"{path}:0").Should().Be(":1\r\n", "every Unix client has that address; the killer skips itself");
        }
        File.Exists(path).Should().BeFalse("the socket's file is removed at shutdown, as Redis removes it");
    }

    [Fact]
    public async Task APortAndAUnixSocket_AreBothListenedOn_AndTcpClientsKeepTheirAddresses()
    {
        var probe = System.Net.Sockets.TcpListener.Create(0);
        probe.Start();
        int free = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        string path = Path.Combine(_dir, "u.sock");
        await using var s = await InProcessServer.StartAsync(("unixsocket", path), ("port", free.ToString()));
        s.Server.EndPoints.Should().ContainSingle().Which.Port.Should().Be(free);
        using var tcp = new RawClient(free);
        tcp.Call("CLIENT", "INFO").Should().Contain(" addr=127.0.0.1:").And.Contain(" flags=N ");
        using var unix = Connect(path);
        Call(unix, "SET", "k", "v").Should().Be("+OK\r\n");
        tcp.Call("GET", "k").Should().Be("$1\r\nv\r\n");
    }

    [Fact]
    public async Task Monitor_ShowsAUnixSocketClientAsUnixAndThePath_AsRedis()
    {
        string path = Path.Combine(_dir, "m.sock");
        await using var s = await InProcessServer.StartAsync(("unixsocket", path));
        using var monitor = Connect(path);
        Call(monitor, "MONITOR").Should().Be("+OK\r\n");
        using var c = Connect(path);
        Call(c, "SET", "k", "v").Should().Be("+OK\r\n");
        var buffer = new byte[4096];
        string line = Encoding.UTF8.GetString(buffer, 0, monitor.Receive(buffer));
        line.Should().MatchRegex($@"^\+\d+\.\d{{6}} \[0 unix:{System.Text.RegularExpressions.Regex.Escape(path)}\] ""SET"" ""k"" ""v""\r\n$");
    }

    [Fact]
    public async Task DebugLocal_LetsAUnixSocketClientIn_AsRedissIsLocalClient()
    {
        string path = Path.Combine(_dir, "d.sock");
        await using var s = await InProcessServer.StartAsync(("unixsocket", path), ("enable-debug-command", "local"));
        using var c = Connect(path);
        Call(c, "DEBUG", "SET-ACTIVE-EXPIRE", "1").Should().Be("+OK\r\n");
    }

    [Fact]
    public void UnixSocketPerm_IsOctal_AsRedisReadsIt()
    {
        var config = new KeyspacePubSub.Engine.Config.ServerConfig();
        config.TrySet("unixsocketperm", "755", startup: true).Should().BeNull();
        config.UnixSocketPerm.Should().Be(Convert.ToInt32("755", 8));
        config.TrySet("unixsocketperm", "8", startup: true).Should().Be("argument couldn't be parsed as an octal number");
        config.TrySet("unixsocketperm", "1000", startup: true).Should().Be("argument must be between 0 and 777 inclusive");
    }

    /// <summary>redis-py's unix_socket_path against our server (redis-server 7.0.15 passes the same script).</summary>
    [PythonRedisFact]
    public async Task RedisPy_OverTheUnixSocket_RunsCommandsAndPubSub()
    {
        string path = Path.Combine(_dir, "py.sock");
        await using var s = await InProcessServer.StartAsync(("unixsocket", path));
        var (exit, output) = await NodeClientTests.RunAsync("/usr/bin/python3", 0, "redis_py_unix.py", path);
        exit.Should().Be(0, output);
        output.Should().Contain("redis-py unix ok");
    }
}
