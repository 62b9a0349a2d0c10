using System.Globalization;
using FluentAssertions;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Conformance;

/// <summary>
/// ACL users given at start (<c>user</c> directives) and the ACL file (aclfile, ACL LOAD, ACL SAVE), with
/// redis-server and our server (as a process: the start is what is tested) given the same settings. The users
/// have at most one single command per selector, so ACL LIST does not depend on Redis's dict order.
/// </summary>
public sealed class AclFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kps-acl-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static ServerProcess StartOurs(out int port, params string[] args)
    {
        port = RedisProcess.FreePort();
        var server = new ServerProcess(["--port", port.ToString(CultureInfo.InvariantCulture), .. args]);
        if (!server.WaitUntilServing(port)) throw new InvalidOperationException($"our server did not start: {server.Stdout} {server.Stderr}");
        return server;
    }

    [ConformanceFact]
    public void UsersGivenOnTheCommandLine_AreRedissUsers()
    {
        string[] users =
        [
            "--user", "alice", "on", ">pw", "~k*", "&c*", "+get",
            "--user", "bob", "off", "(~x* +set)", "+@read",
            "--user", "default", "on", "nopass", "~*", "&*", "+@all", "-flushall",
        ];
        using var redis = RedisProcess.Start(users);
        using var ours = StartOurs(out int port, users);
        foreach (var p in new[] { redis.Port, port })
        {
            using var admin = new RawClient(p);
            using var alice = new RawClient(p);
            var transcript = new[]
            {
                admin.Call("ACL", "LIST"),
                admin.Call("FLUSHALL"),
                alice.Call("AUTH", "alice", "pw"),
                alice.Call("GET", "k1"),
                alice.Call("GET", "x1"),
                alice.Call("AUTH", "bob", "x"),
            };
            if (p == redis.Port) _expected = transcript;
            else transcript.Should().Equal(_expected);
        }
        _expected![0].Should().Contain("user alice on #", "the users were made at start");
    }

    private string[]? _expected;

    [ConformanceFact]
    public void AclFile_IsLoadedSavedAndReloaded_AsByRedis()
    {
        const string content = "user alice on >pw ~k* &c* +get\nuser bob off (~x* +set) +@read\n\nuser default on nopass ~* &* +@all -flushall\n";
        // (Paths of one length: the errors name the file.)
        string redisFile = Path.Combine(Directory.CreateDirectory(Path.Combine(_dir, "r")).FullName, "users.acl");
        string oursFile = Path.Combine(Directory.CreateDirectory(Path.Combine(_dir, "o")).FullName, "users.acl");
        File.WriteAllText(redisFile, content);
        File.WriteAllText(oursFile, content);
        using var redis = RedisProcess.Start("--aclfile", redisFile);
        using var ours = StartOurs(out int port, "--aclfile", oursFile);
        var transcripts = new List<string>[2];
        foreach (var (i, p, file) in new[] { (0, redis.Port, redisFile), (1, port, oursFile) })
        {
            var t = transcripts[i] = [];
            using var admin = new RawClient(p);
            using var alice = new RawClient(p);
            t.Add(admin.Call("ACL", "LIST"));
            t.Add(admin.Call("CONFIG", "GET", "aclfile").Replace(file, "<file>"));
            t.Add(alice.Call("AUTH", "alice", "pw"));
            t.Add(alice.Call("GET", "x"));
            // ACL SAVE writes what ACL LIST shows.
            t.Add(admin.Call("ACL", "SETUSER", "carol", "on", "nopass", "+@all", "-@dangerous", "%R~r*"));
            t.Add(admin.Call("ACL", "SAVE"));
            t.Add(File.ReadAllText(file));
            // A file with errors changes nothing, and says what is wrong, line by line.
            File.WriteAllText(file, "user alice on >pw2 +get\nnotuser x\nuser alice on\nuser dave +nosuch ~a ~* ~b\nuser erin (~a +get\nuser frank #abc %X~a\n# comment\n");
            t.Add(admin.Call("ACL", "LOAD").Replace(file, "<file>"));
            t.Add(admin.Call("ACL", "LIST"));
            t.Add(alice.Call("ACL", "WHOAMI"));
            // Lines are split at each space: two spaces make an empty user name here, and "zed" a rule.
            File.WriteAllText(file, "user  zed  on  nopass\n");
            t.Add(admin.Call("ACL", "LOAD").Replace(file, "<file>"));
            // A good file replaces every user; the connections of the old users (all but default's) are closed.
            File.WriteAllText(file, "user alice on >pw3 ~* +@all\r\nuser zed on  nopass\n");
            t.Add(admin.Call("ACL", "LOAD"));
            t.Add(admin.Call("ACL", "LIST"));
            t.Add(alice.WaitClosed() ? "alice closed" : "alice open");
            t.Add(admin.Call("PING"));
            File.Delete(file);
            t.Add(admin.Call("ACL", "LOAD").Replace(file, "<file>"));
        }
        transcripts[1].Should().Equal(transcripts[0]);
        transcripts[0].Should().Contain("alice closed");
    }

    [Fact]
    public async Task AMissingAclFile_StopsTheStart()
    {
        using var ours = new ServerProcess("--port", RedisProcess.FreePort().ToString(CultureInfo.InvariantCulture), "--aclfile", Path.Combine(_dir, "missing.acl"));
        (await ours.ExitCode()).Should().NotBe(0);
        (ours.Stdout + ours.Stderr).Should().Contain("Error loading ACLs, opening file").And.Contain("No such file or directory");
    }

    [Fact]
    public async Task UsersAndAnAclFileTogether_StopTheStart()
    {
        File.WriteAllText(Path.Combine(_dir, "a.acl"), "user a on\n");
        using var ours = new ServerProcess("--port", RedisProcess.FreePort().ToString(CultureInfo.InvariantCulture), "--aclfile", Path.Combine(_dir, "a.acl"), "--user", "b", "on");
        (await ours.ExitCode()).Should().NotBe(0);
        (ours.Stdout + ours.Stderr).Should().Contain("define either an ACL file or declare users directly in your redis.conf, but not both");
    }
}
