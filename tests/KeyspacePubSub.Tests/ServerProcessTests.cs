using System.Globalization;
using FluentAssertions;
using KeyspacePubSub.Server;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// The server as a process: its JSON configuration file (read by <see cref="JsonConfigFile"/>), its log lines,
/// how it refuses to start (bad file, address in use) and how a signal stops it.
/// </summary>
public sealed class ServerProcessTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kps-proc-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void JsonConfigFile_FlattensObjectsAndArrays_AsTheJsonProviderDoes()
    {
        var data = JsonConfigFile.Parse("""
            // comments and trailing commas are accepted, as by Microsoft.Extensions.Configuration.Json
            {
              "Server": { "port": 6380, "bind": "127.0.0.1 ::1", "quoted": "a\"b\\c\u00e9\n", },
              "Persistence": { "Enabled": true, "KeyPatterns": ["room:*:backlog", "chat:*"], "Path": null },
              /* block comment */ "Empty": {}, "None": [],
              "Number": -1.5e3
            }
            """);
        data.Should().BeEquivalentTo(new Dictionary<string, string?>
        {
            ["Server:port"] = "6380",
            ["Server:bind"] = "127.0.0.1 ::1",
            ["Server:quoted"] = "a\"b\\c\u00e9\n",
            ["Persistence:Enabled"] = "true",
            ["Persistence:KeyPatterns:0"] = "room:*:backlog",
            ["Persistence:KeyPatterns:1"] = "chat:*",
            ["Persistence:Path"] = null,
            ["Empty"] = "",
            ["None"] = "",
            ["Number"] = "-1.5e3",
        });
        data["server:PORT"].Should().Be("6380", "configuration keys are case-insensitive");
    }

    [Theory]
    [InlineData("{\n  \"Server\": {\n    \"port\" 6380\n  }\n}", "expected ':' at line 3, column 12")]
    [InlineData("{\n  \"a\": \"unterminated\n}", "control character in a string at line 2, column 21")]
    [InlineData("{ \"a\": 1, \"a\": 2 }", "duplicate key 'a'")]
    [InlineData("{ \"a\": tru }", "invalid value 'tru' at line 1, column 8")]
    [InlineData("{ \"a\": 1 } x", "unexpected text after the JSON object")]
    [InlineData("[1, 2]", "the file must hold a JSON object")]
    [InlineData("{ \"a\": \"\\q\" }", "invalid escape '\\q'")]
    [InlineData("{ \"a\": 1", "expected ',' or '}'")]
    public void JsonConfigFile_RejectsBadJson_NamingLineAndColumn(string text, string message)
    {
        var act = () => JsonConfigFile.Parse(text);
        act.Should().Throw<FormatException>().Which.Message.Should().Contain(message);
    }

    [Fact]
    public void JsonConfigFile_RefusesNestingDeeperThan64()
    {
        string deep = string.Concat(Enumerable.Repeat("{\"a\":", 100)) + "1" + new string('}', 100);
        var act = () => JsonConfigFile.Parse(deep);
        act.Should().Throw<FormatException>().Which.Message.Should().Contain("nesting deeper than 64");
    }

    [Fact]
    public async Task ConfigFile_IsApplied_AndTheLogSaysWhereTheServerListens()
    {
        int port = RedisProcess.FreePort();
        string file = Path.Combine(_dir, "good.json");
        File.WriteAllText(file, $$"""
            {
              "Server": { "port": "{{port}}", "notify-keyspace-events": "KEA" },
              "Persistence": { "Enabled": true, "Path": "{{Path.Combine(_dir, "d.db").Replace("\\", "\\\\")}}", "KeyPatterns": ["a:*", "b:*"] }
            }
            """);
        using var server = Run("--config", file);
        string? ready = await server.WaitForLine(l => l.Contains("Ready to accept connections", StringComparison.Ordinal));
        ready.Should().MatchRegex(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} info: KeyspacePubSub\.Server\.KeyspaceServer\[0\] Ready to accept connections tcp on 127\.0\.0\.1:" + port + " ");
        using var c = new RawClient(port);
        c.Call("CONFIG", "GET", "notify-keyspace-events").Should().Be("*2\r\n$22\r\nnotify-keyspace-events\r\n$3\r\nAKE\r\n");
        c.Call("INFO", "persistence").Should().Contain("durable_key_patterns:a:*,b:*");
        c.Call("CLIENT", "INFO").Should().MatchRegex($@"addr=127\.0\.0\.1:\d+ laddr=127\.0\.0\.1:{port} ");
    }

    [Fact]
    public async Task BrokenConfigFile_StopsTheServerWithTheLineOfTheError()
    {
        string file = Path.Combine(_dir, "bad.json");
        File.WriteAllText(file, "{\n  \"Server\": {\n    \"port\": \"6390\",,\n  }\n}\n");
        using var server = Run("--config", file);
        (await server.ExitCode()).Should().Be(1);
        server.Stderr.Should().Contain("*** FATAL CONFIG FILE ERROR ***").And.Contain("expected a property name in double quotes at line 3, column 20").And.Contain(file);
    }

    [Fact]
    public async Task AppendonlyYes_IsRefusedAtStart_ThereIsNoAof()
    {
        using var server = Run("--port", "0", "--appendonly", "yes");
        (await server.ExitCode()).Should().Be(1);
        server.Stderr.Should().Contain("*** FATAL CONFIG FILE ERROR *** 'appendonly' = 'yes': there is no append-only file here; durable keys are kept with Persistence:Enabled=true");
    }

    [Fact]
    public async Task AddressInUse_IsLoggedAndTheServerExitsWithOne()
    {
        using var holder = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        holder.Start();
        int port = ((System.Net.IPEndPoint)holder.LocalEndpoint).Port;
        using var server = Run("--port", port.ToString(CultureInfo.InvariantCulture));
        (await server.ExitCode()).Should().Be(1);
        server.Stdout.Should().Contain($"bind 127.0.0.1:{port}: Address already in use");
    }

    [Fact]
    public async Task Sigterm_StopsTheServerGracefully_WithExitCodeZero()
    {
        int port = RedisProcess.FreePort();
        using var server = Run("--port", port.ToString(CultureInfo.InvariantCulture));
        server.WaitUntilServing(port).Should().BeTrue();
        using var client = new RawClient(port);
        client.Call("SET", "k", "v").Should().Be("+OK\r\n");
        server.Signal(15);
        (await server.ExitCode()).Should().Be(0);
        server.Stdout.Should().Contain("Server stopped; all connections closed");
    }

    [Fact]
    public async Task Version_PrintsALineAndExits_WithoutStartingTheServer()
    {
        using var server = Run("--version");
        (await server.ExitCode()).Should().Be(0);
        server.Stdout.Should().MatchRegex(@"^KeyspacePubSub server v=\d+\.\d+\.\d+\.\d+ \(Redis 7\.0\.15 compatible\) bits=64 runtime=\.NET \d+");
        server.Stdout.Should().NotContain("Ready to accept connections");
    }

    [Fact]
    public async Task StrayArgument_StopsTheStart_InsteadOfRunningOnTheDefaults()
    {
        using var server = Run("-p", "6390");
        (await server.ExitCode()).Should().Be(1);
        server.Stderr.Should().Contain("*** FATAL CONFIG FILE ERROR *** '-p': Bad directive or wrong number of arguments");
    }

    [Fact]
    public async Task RedisConf_AsTheFirstArgument_IsApplied_UnderTheCommandLine_AndConfigRewriteUpdatesIt()
    {
        int port = RedisProcess.FreePort();
        string file = Path.Combine(_dir, "redis.conf");
        File.WriteAllText(file, "port 1\nprotected-mode no\ndaemonize no\nnotify-keyspace-events KEA\nmaxmemory 20mb\n");
        using var server = Run(file, "--port", port.ToString(CultureInfo.InvariantCulture));
        server.WaitUntilServing(port).Should().BeTrue();
        (await server.WaitForLine(l => l.Contains("Configuration: Redis settings", StringComparison.Ordinal))).Should().EndWith("warn: KeyspacePubSub.Server.Program[0] Configuration: Redis settings this server does not have, ignored: daemonize, protected-mode");
        using var c = new RawClient(port);
        c.Call("CONFIG", "GET", "notify-keyspace-events").Should().Be("*2\r\n$22\r\nnotify-keyspace-events\r\n$3\r\nAKE\r\n");
        c.Call("CONFIG", "GET", "maxmemory").Should().Be("*2\r\n$9\r\nmaxmemory\r\n$8\r\n20971520\r\n");
        c.Call("INFO", "server").Should().Contain($"config_file:{file}\r\n");
        c.Call("CONFIG", "SET", "maxmemory-policy", "allkeys-lru").Should().Be("+OK\r\n");
        c.Call("CONFIG", "REWRITE").Should().Be("+OK\r\n");
        File.ReadAllText(file).Should().Be($"port {port}\nprotected-mode no\ndaemonize no\nnotify-keyspace-events AKE\nmaxmemory 20971520\n# Generated by CONFIG REWRITE\nmaxmemory-policy allkeys-lru\nuser default on nopass ~* &* +@all\n");
    }

    [Fact]
    public void ConfigRewrite_WritesTheUsers_InPlaceOfTheFilesUserLines_AsRedis()
    {
        // The file and the steps of a run of redis-server 7.0.15 (which also appended its dir and latency percentiles).
        int port = RedisProcess.FreePort();
        string file = Path.Combine(_dir, "users.conf");
        File.WriteAllText(file, $"port {port}\nuser bob on nopass +get\nsave \"\"\nuser carol off\n");
        using var server = Run(file);
        server.WaitUntilServing(port).Should().BeTrue();
        using var c = new RawClient(port);
        c.Call("CONFIG", "SET", "maxmemory-policy", "allkeys-lru").Should().Be("+OK\r\n");
        c.Call("ACL", "DELUSER", "carol").Should().Be(":1\r\n");
        c.Call("ACL", "SETUSER", "alice", "on").Should().Be("+OK\r\n");
        c.Call("CONFIG", "REWRITE").Should().Be("+OK\r\n");
        File.ReadAllText(file).Should().Be($"port {port}\nuser alice on resetchannels -@all\nsave \"\"\nuser bob on nopass resetchannels -@all +get\n" +
            "# Generated by CONFIG REWRITE\nmaxmemory-policy allkeys-lru\nuser default on nopass ~* &* +@all\n");
    }

    [Fact]
    public void ConfigRewrite_OfAUserWithANonAsciiName_ReadsBackAfterARestart()
    {
        int port = RedisProcess.FreePort();
        string file = Path.Combine(_dir, "utf8.conf");
        File.WriteAllText(file, $"port {port}\n");
        string name = System.Text.Encoding.Latin1.GetString(System.Text.Encoding.UTF8.GetBytes("jösé")); // its UTF-8 bytes, as a client sends them
        using (var first = Run(file))
        {
            first.WaitUntilServing(port).Should().BeTrue();
            using var c = new RawClient(port);
            c.Call("ACL", "SETUSER", name, "on", ">pw", "~" + name + ":*", "+get", "+acl|whoami").Should().Be("+OK\r\n");
            c.Call("CONFIG", "REWRITE").Should().Be("+OK\r\n");
        }
        File.ReadAllText(file).Should().Contain("user jösé on #");
        using var second = Run(file);
        second.WaitUntilServing(port).Should().BeTrue();
        using var again = new RawClient(port);
        again.Call("AUTH", name, "pw").Should().Be("+OK\r\n");
        again.Call("GET", name + ":1").Should().Be("$-1\r\n");
        again.Call("GET", "other").Should().StartWith("-NOPERM");
        again.Call("ACL", "WHOAMI").Should().Be($"${System.Text.Encoding.Latin1.GetByteCount(name)}\r\n{name}\r\n");
        using var admin = new RawClient(port);
        admin.Call("CLIENT", "LIST").Should().Contain($" user={name} ", "CLIENT LIST names the user by its bytes");
    }

    private static ServerProcess Run(params string[] args) => new(args);
}
