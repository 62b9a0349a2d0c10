using FluentAssertions;
using KeyspacePubSub.Engine.Config;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// Who may run DEBUG (enable-debug-command, Redis 7.0's protected commands), and what this server's DEBUG HELP
/// lists. What the subcommands answer is compared with redis-server in the conformance cases (48-debug.txt),
/// where both servers run with enable-debug-command yes.
/// </summary>
public sealed class DebugCommandTests
{
    private const string NotAllowed = "-ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.\r\n";

    [Fact]
    public void DebugIsRefusedByDefault_AsInRedis70()
    {
        var config = new ServerConfig();
        config.EnableDebugCommand.Should().Be("no");
        config.TrySet("enable-debug-command", "sometimes", startup: true).Should().Contain("no, yes, local");
    }

    [Fact]
    public async Task No_RefusesDebug_AfterTheArityCheck_BeforeAuthentication_AndDoomsATransaction()
    {
        await using var s = await InProcessServer.StartAsync(("enable-debug-command", "no"), ("requirepass", "pw"));
        using var c = new RawClient(s.Port);
        c.Call("DEBUG").Should().Be("-ERR wrong number of arguments for 'debug' command\r\n");
        c.Call("DEBUG", "SLEEP", "0").Should().Be(NotAllowed, "refused before NOAUTH, as processCommand checks");
        c.Call("AUTH", "pw").Should().Be("+OK\r\n");
        c.Call("DEBUG", "DIGEST").Should().Be(NotAllowed);
        c.Call("CONFIG", "GET", "enable-debug-command").Should().Be("*2\r\n$20\r\nenable-debug-command\r\n$2\r\nno\r\n");
        c.Call("CONFIG", "SET", "enable-debug-command", "yes").Should().StartWith("-ERR CONFIG SET failed (possibly related to argument 'enable-debug-command') - can't set immutable config");
        c.Call("MULTI").Should().Be("+OK\r\n");
        c.Call("DEBUG", "POPULATE", "3").Should().Be(NotAllowed);
        c.Call("EXEC").Should().Be("-EXECABORT Transaction discarded because of previous errors.\r\n");
        c.Call("DBSIZE").Should().Be(":0\r\n");
    }

    [Theory]
    [InlineData("local")]
    [InlineData("yes")]
    public async Task LocalOrYes_AllowsALoopbackClient(string setting)
    {
        await using var s = await InProcessServer.StartAsync(("enable-debug-command", setting));
        using var c = new RawClient(s.Port);
        c.Call("DEBUG", "POPULATE", "3").Should().Be("+OK\r\n");
        c.Call("DBSIZE").Should().Be(":3\r\n");
        c.Call("CONFIG", "GET", "enable-debug-command").Should().Be($"*2\r\n$20\r\nenable-debug-command\r\n${setting.Length}\r\n{setting}\r\n");
    }

    [Fact]
    public async Task Help_ListsTheSubcommandsThisServerHas()
    {
        await using var s = await InProcessServer.StartAsync();
        using var c = new RawClient(s.Port);
        var help = c.Call("DEBUG", "HELP");
        foreach (var sub in new[] { "DIGEST", "DIGEST-VALUE <key> [<key> ...]", "ERROR <string>", "LOG <message>", "OBJECT <key>", "POPULATE <count> [<prefix>] [<size>]", "PROTOCOL <type>", "SET-ACTIVE-EXPIRE <0|1>", "SET-SKIP-CHECKSUM-VALIDATION <0|1>", "PAUSE-CRON <0|1>", "SLEEP <seconds>", "HELP" })
        {
            help.Should().Contain($"+{sub}\r\n");
        }
        help.Should().NotContain("RELOAD").And.NotContain("SEGFAULT");
        c.Call("DEBUG", "RELOAD").Should().Be("-ERR unknown subcommand or wrong number of arguments for 'RELOAD'. Try DEBUG HELP.\r\n");
    }

    [Fact]
    public async Task Populate_CutsAPrefixOfAnyLengthToRedissNameOf127Bytes()
    {
        await using var s = await InProcessServer.StartAsync();
        using var c = new RawClient(s.Port);
        var prefix = new string('p', 4 * 1024 * 1024);
        c.Call("DEBUG", "POPULATE", "2", prefix).Should().Be("+OK\r\n");
        c.Call("DBSIZE").Should().Be(":1\r\n", "both names are the prefix's first 127 bytes, so the second exists already");
        c.Call("RANDOMKEY").Should().Be($"$127\r\n{prefix[..127]}\r\n");
    }

    [Fact]
    public async Task Populate_RefusesAValueLongerThanABulkString()
    {
        await using var s = await InProcessServer.StartAsync();
        using var c = new RawClient(s.Port);
        c.Call("DEBUG", "POPULATE", "1", "k", "536870913").Should().Be("-ERR size is larger than proto-max-bulk-len\r\n");
        c.Call("DBSIZE").Should().Be(":0\r\n");
    }

    /// <summary>DEBUG PAUSE-CRON 1 stops the periodic work (here: the idle timeout), as Redis's pause_cron; 0 resumes it.</summary>
    [Fact]
    public async Task PauseCron_HoldsThePeriodicWork_UntilResumed()
    {
        await using var s = await InProcessServer.StartAsync(("enable-debug-command", "yes"));
        using var admin = new RawClient(s.Port);
        using var idle = new RawClient(s.Port);
        idle.Call("CLIENT", "SETNAME", "idle").Should().Be("+OK\r\n");
        admin.Call("DEBUG", "PAUSE-CRON", "1").Should().Be("+OK\r\n");
        admin.Call("CONFIG", "SET", "timeout", "1").Should().Be("+OK\r\n");
        await Task.Delay(2_500);
        admin.Call("CLIENT", "LIST").Should().Contain(" name=idle ", "no cron ran to time it out");
        admin.Call("DEBUG", "PAUSE-CRON", "0").Should().Be("+OK\r\n");
        idle.WaitClosed(3_000).Should().BeTrue("the cron runs again and closes the idle client");
    }
}
