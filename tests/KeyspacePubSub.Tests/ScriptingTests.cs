using FluentAssertions;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// What the conformance cases cannot compare with redis-server: a script that would run for ever, or nest without
/// end, must not stop the server. (Redis keeps running such a script and answers BUSY meanwhile; here the script
/// is stopped at busy-reply-threshold, see README.) Every reply shape and error text is compared with Redis in
/// cases/50-scripting.txt.
/// </summary>
public sealed class ScriptingTests
{
    private static string StopError(string sha, int line) =>
        $"-ERR Script ran longer than busy-reply-threshold (200 ms) and was stopped. script: {sha}, on @user_script:{line}.\r\n";

    [Theory]
    [InlineData("while true do end", 1)]
    [InlineData("local i = 0\nrepeat i = i + 1 until false", 2)]
    [InlineData("local function f() return f() end\nwhile true do pcall(f) end", 1)] // stopped inside f
    [InlineData("return string.find(string.rep('a', 5000), string.rep('a*', 12) .. 'b')", 1)]
    [InlineData("local t = {} for i = 1, 1e12 do t[i % 1000 + 1] = tostring(i) end", 1)]
    [InlineData("while true do pcall(error, 'x') end", 1)]
    public async Task AScriptPastBusyReplyThreshold_IsStopped_AndTheServerGoesOn(string script, int line)
    {
        await using var s = await InProcessServer.StartAsync(("busy-reply-threshold", "200"));
        using var c = new RawClient(s.Port);
        using var other = new RawClient(s.Port);
        string sha = c.Call("SCRIPT", "LOAD", script).Split("\r\n")[1];
        var started = System.Diagnostics.Stopwatch.StartNew();
        c.Call("EVALSHA", sha, "0").Should().Be(StopError(sha, line));
        started.ElapsedMilliseconds.Should().BeInRange(200, 5000);
        other.Call("PING").Should().Be("+PONG\r\n");
        c.Call("EVAL", "return 'after'", "0").Should().Be("$5\r\nafter\r\n");
    }

    [Fact]
    public async Task TheThreshold_IsLuaTimeLimitToo_AndZeroMeansNoLimit()
    {
        await using var s = await InProcessServer.StartAsync();
        using var c = new RawClient(s.Port);
        c.Call("CONFIG", "GET", "busy-reply-threshold").Should().Be("*2\r\n$20\r\nbusy-reply-threshold\r\n$4\r\n5000\r\n");
        c.Call("CONFIG", "SET", "lua-time-limit", "200").Should().Be("+OK\r\n");
        c.Call("CONFIG", "GET", "busy-reply-threshold").Should().Be("*2\r\n$20\r\nbusy-reply-threshold\r\n$3\r\n200\r\n");
        c.Call("EVAL", "while true do end", "0").Should().StartWith("-ERR Script ran longer than busy-reply-threshold (200 ms)");
        c.Call("CONFIG", "SET", "busy-reply-threshold", "0").Should().Be("+OK\r\n");
        // A loop that ends after ~0.4 s is let run to its end.
        c.Call("EVAL", "local n = 0 for i = 1, 3e6 do n = n + 1 end return n", "0").Should().Be(":3000000\r\n");
    }

    [Theory]
    [InlineData("local function r(n) return 1 + r(n + 1) end return r(1)", "-ERR user_script:1: stack overflow script: ")]
    [InlineData("local t = setmetatable({}, {__index = function(t, k) return t[k] end}) return t.x", "-ERR user_script:1: C stack overflow script: ")]
    [InlineData("local function p() return pcall(p) end return p()", "")]
    public async Task DeepRecursion_IsALuaError_NotACrash(string script, string expectedStart)
    {
        await using var s = await InProcessServer.StartAsync();
        using var c = new RawClient(s.Port);
        string reply = c.Call("EVAL", script, "0");
        reply.Should().StartWith(expectedStart);
        c.Call("PING").Should().Be("+PONG\r\n");
        c.Call("INFO", "errorstats").Should().NotContain("internal");
    }

    [Fact]
    public async Task DeeplyNestedSource_IsASyntaxError()
    {
        await using var s = await InProcessServer.StartAsync();
        using var c = new RawClient(s.Port);
        // As Lua 5.1 (LUAI_MAXCCALLS): more than 200 levels of nesting in one expression or block.
        string deep = "return " + new string('(', 300) + "1" + new string(')', 300);
        c.Call("EVAL", deep, "0").Should().Be("-ERR Error compiling script (new function): user_script:1: chunk has too many syntax levels\r\n");
        string blocks = string.Concat(Enumerable.Repeat("do ", 300)) + string.Concat(Enumerable.Repeat("end ", 300));
        c.Call("EVAL", blocks, "0").Should().StartWith("-ERR Error compiling script (new function): user_script:1: chunk has too many syntax levels");
        c.Call("EVAL", "return " + new string('(', 150) + "1" + new string(')', 150), "0").Should().Be(":1\r\n");
    }

    [Fact]
    public async Task HugeStrings_AreRefused_BeforeTheyAreBuilt()
    {
        await using var s = await InProcessServer.StartAsync();
        using var c = new RawClient(s.Port);
        c.Call("EVAL", "return #string.rep('x', 2^30)", "0").Should().StartWith("-ERR user_script:1: string length overflow script: ");
        c.Call("EVAL", "return #string.rep('ab', 2^28 + 1)", "0").Should().StartWith("-ERR user_script:1: string length overflow script: ");
        c.Call("EVAL", "return #string.rep('ab', 2^20)", "0").Should().Be(":2097152\r\n");
        c.Call("EVAL", "return string.rep('abc', 5)", "0").Should().Be("$15\r\nabcabcabcabcabc\r\n");
        c.Call("PING").Should().Be("+PONG\r\n");
    }

    [Fact]
    public async Task AScriptWhoseHeapGrowsPastAGigabyte_IsStopped()
    {
        await using var s = await InProcessServer.StartAsync();
        using var c = new RawClient(s.Port);
        // 100 strings of 16 M chars each: 3.2 GB if nothing stopped it.
        string reply = c.Call("EVAL", "local t = {}\nfor i = 1, 100 do t[i] = string.rep('x', 2^24 + i) end\nreturn #t", "0");
        reply.Should().StartWith("-ERR Script was stopped: its memory grew past 1 GB. script: ").And.EndWith(", on @user_script:2.\r\n");
        c.Call("EVAL", "return 1", "0").Should().Be(":1\r\n");
    }

    [Fact]
    public async Task AScriptsCommands_AreCountedAndMonitored_AsRedisDoes()
    {
        await using var s = await InProcessServer.StartAsync();
        using var c = new RawClient(s.Port);
        using var monitor = new RawClient(s.Port);
        monitor.Call("MONITOR").Should().Be("+OK\r\n");
        c.Call("CONFIG", "RESETSTAT").Should().Be("+OK\r\n");
        c.Call("EVAL", "redis.call('set', KEYS[1], ARGV[1]) return redis.call('get', KEYS[1])", "1", "k", "v").Should().Be("$1\r\nv\r\n");
        // MONITOR: the EVAL first, then its commands as the "lua" client (replicationFeedMonitors).
        string lines = monitor.Read(3);
        var shown = lines.Split("\r\n").Where(l => l.StartsWith('+')).Select(l => l[(l.IndexOf(' ') + 1)..]).ToArray();
        shown[0].Should().MatchRegex(@"^\[0 127\.0\.0\.1:\d+\] ""EVAL"" ""redis\.call\('set', KEYS\[1\], ARGV\[1\]\) return redis\.call\('get', KEYS\[1\]\)"" ""1"" ""k"" ""v""$");
        shown[1].Should().Be("[0 lua] \"set\" \"k\" \"v\"");
        shown[2].Should().Be("[0 lua] \"get\" \"k\"");
        string stats = c.Call("INFO", "commandstats");
        stats.Should().Contain("cmdstat_eval:calls=1,").And.Contain("cmdstat_set:calls=1,").And.Contain("cmdstat_get:calls=1,");
    }
}
