using FluentAssertions;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// What cases/51-functions.txt cannot compare with redis-server: a library whose code never returns while it loads
/// (Redis stops it after 500 ms, and a FUNCTION RESTORE payload's never: here both are stopped), a function that
/// runs past busy-reply-threshold (stopped, as EVAL's scripts are), and MONITOR's lines.
/// </summary>
public sealed class FunctionTests
{
    private const string Forever = "#!lua name=lib\nlocal a = 1\nwhile 1 do a = a + 1 end";

    [Fact]
    public async Task ALibraryThatNeverEndsLoading_IsStoppedAfter500ms_AndNothingIsLoaded()
    {
        await using var s = await InProcessServer.StartAsync();
        using var c = new RawClient(s.Port);
        using var other = new RawClient(s.Port);
        var started = System.Diagnostics.Stopwatch.StartNew();
        c.Call("FUNCTION", "LOAD", Forever).Should().Be("-ERR Error registering functions: ERR FUNCTION LOAD timeout\r\n");
        started.ElapsedMilliseconds.Should().BeInRange(500, 5000);
        other.Call("PING").Should().Be("+PONG\r\n");
        c.Call("FUNCTION", "LIST").Should().Be("*0\r\n");
        // A library that registers its function before looping forever is not loaded either.
        c.Call("FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('f', function() return 1 end)\nwhile 1 do end")
            .Should().Be("-ERR Error registering functions: ERR FUNCTION LOAD timeout\r\n");
        c.Call("FCALL", "f", "0").Should().Be("-ERR Function not found\r\n");
        c.Call("FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('f', function() return 1 end)").Should().Be("$3\r\nlib\r\n");
        c.Call("FCALL", "f", "0").Should().Be(":1\r\n");
    }

    [Fact]
    public async Task ARestoredLibraryThatNeverEndsLoading_IsStoppedToo()
    {
        await using var s = await InProcessServer.StartAsync();
        using var c = new RawClient(s.Port);
        c.Call("FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('f', function() return 1 end)").Should().Be("$3\r\nlib\r\n");
        string dump = c.Call("FUNCTION", "DUMP");
        string good = dump[(dump.IndexOf("\r\n", StringComparison.Ordinal) + 2)..^2]; // the bulk string's bytes, as Latin-1
        // The same payload with the library's code looping: FUNCTION LOAD's code, then a fresh checksum.
        c.Call("FUNCTION", "FLUSH").Should().Be("+OK\r\n");
        c.Call("FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('f', function() return 1 end)\nwhile 1 do end")
            .Should().Contain("FUNCTION LOAD timeout");
        string looping = Payload("#!lua name=lib\nredis.register_function('f', function() return 1 end)\nwhile 1 do end");
        var started = System.Diagnostics.Stopwatch.StartNew();
        c.Call("FUNCTION", "RESTORE", looping).Should().Be("-ERR Error registering functions: ERR FUNCTION LOAD timeout\r\n");
        started.ElapsedMilliseconds.Should().BeInRange(500, 5000);
        c.Call("FUNCTION", "RESTORE", good).Should().Be("+OK\r\n");
        c.Call("FCALL", "f", "0").Should().Be(":1\r\n");
    }

    /// <summary>A FUNCTION DUMP payload of one library (RDB_OPCODE_FUNCTION2, a plain string, version 10, CRC-64).</summary>
    private static string Payload(string code)
    {
        var bytes = new List<byte> { 245 };
        byte[] text = System.Text.Encoding.Latin1.GetBytes(code);
        bytes.Add((byte)(0x40 | (text.Length >> 8)));
        bytes.Add((byte)text.Length);
        bytes.AddRange(text);
        bytes.AddRange([10, 0]);
        ulong crc = KeyspacePubSub.Engine.Rdb.Crc64.Compute(bytes.ToArray());
        bytes.AddRange(BitConverter.GetBytes(crc));
        return System.Text.Encoding.Latin1.GetString(bytes.ToArray());
    }

    [Fact]
    public async Task AFunctionPastBusyReplyThreshold_IsStopped_AndTheServerGoesOn()
    {
        await using var s = await InProcessServer.StartAsync(("busy-reply-threshold", "200"));
        using var c = new RawClient(s.Port);
        using var other = new RawClient(s.Port);
        c.Call("FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('spin', function()\n  while true do end\nend)").Should().Be("$3\r\nlib\r\n");
        c.Call("FCALL", "spin", "0").Should().Be("-ERR Script ran longer than busy-reply-threshold (200 ms) and was stopped. script: spin, on @user_function:3.\r\n");
        other.Call("PING").Should().Be("+PONG\r\n");
        other.Call("FUNCTION", "STATS").Should().Contain("running_script\r\n$-1\r\n");
        c.Call("FUNCTION", "KILL").Should().Be("-NOTBUSY No scripts in execution right now.\r\n");
    }

    [Fact]
    public async Task Monitor_SeesTheFCall_ThenTheCommandsItsFunctionRuns()
    {
        await using var s = await InProcessServer.StartAsync();
        using var c = new RawClient(s.Port);
        using var monitor = new RawClient(s.Port);
        c.Call("FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('f', function(keys, args) return redis.call('set', keys[1], args[1]) end)").Should().Be("$3\r\nlib\r\n");
        monitor.Call("MONITOR").Should().Be("+OK\r\n");
        c.Call("FCALL", "f", "1", "k", "v").Should().Be("+OK\r\n");
        // MONITOR: the FCALL first, then its function's commands as the "lua" client.
        var shown = monitor.Read(2).Split("\r\n").Where(l => l.StartsWith('+')).Select(l => l[(l.IndexOf(' ') + 1)..]).ToArray();
        shown.Should().HaveCount(2);
        shown[0].Should().MatchRegex(@"^\[0 127\.0\.0\.1:\d+\] ""FCALL"" ""f"" ""1"" ""k"" ""v""$");
        shown[1].Should().Be("[0 lua] \"set\" \"k\" \"v\"");
    }

    [Fact]
    public async Task InfoMemory_CountsFunctionsAndLibraries()
    {
        await using var s = await InProcessServer.StartAsync();
        using var c = new RawClient(s.Port);
        c.Call("INFO", "memory").Should().Contain("number_of_functions:0\r\n").And.Contain("number_of_libraries:0\r\n").And.Contain("used_memory_functions:200\r\n");
        c.Call("FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('a', function() end)\nredis.register_function('b', function() end)").Should().Be("$3\r\nlib\r\n");
        string info = c.Call("INFO", "memory");
        info.Should().Contain("number_of_functions:2\r\n").And.Contain("number_of_libraries:1\r\n").And.NotContain("used_memory_functions:200\r\n");
        c.Call("FUNCTION", "FLUSH").Should().Be("+OK\r\n");
        c.Call("INFO", "memory").Should().Contain("number_of_functions:0\r\n").And.Contain("used_memory_functions:200\r\n");
    }
}

/// <summary>With persistence on, function libraries are stored as Redis's RDB and AOF keep them: they load back at start.</summary>
public sealed class FunctionPersistenceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kps-functions-").FullName;

    private KeyspacePubSub.Persistence.PersistenceOptions Options() =>
        new() { Enabled = true, Path = Path.Combine(_dir, "store.db"), Fsync = KeyspacePubSub.Persistence.FsyncPolicy.Always };

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string Chat = "#!lua name=chat\nredis.register_function('post', function(keys, args) redis.call('lpush', keys[1], args[1]) return 'v1' end)";
    private const string ChatV2 = "#!lua name=chat\nredis.register_function('post', function(keys, args) redis.call('lpush', keys[1], args[1]) return 'v2' end)";
    private const string Other = "#!lua name=other\nredis.register_function{function_name='ping2', callback=function() return 'pong' end, flags={'no-writes'}}";

    [Fact]
    public async Task Libraries_LoadBackAfterARestart_WithTheirChanges()
    {
        await using (var s = await InProcessServer.StartAsync(Options()))
        {
            using var c = new RawClient(s.Port);
            c.Call("FUNCTION", "LOAD", Chat).Should().Be("$4\r\nchat\r\n");
            c.Call("FUNCTION", "LOAD", Other).Should().Be("$5\r\nother\r\n");
            c.Call("FUNCTION", "LOAD", "REPLACE", ChatV2).Should().Be("$4\r\nchat\r\n");
            c.Call("FUNCTION", "LOAD", "#!lua name=bad\nnot lua").Should().StartWith("-ERR Error compiling function");
            c.Call("FCALL", "post", "1", "room:1:backlog", "m1").Should().Be("$2\r\nv2\r\n");
            c.Call("FLUSHALL").Should().Be("+OK\r\n"); // functions outlive FLUSHALL, stored or not
        }
        await using (var s = await InProcessServer.StartAsync(Options()))
        {
            using var c = new RawClient(s.Port);
            c.Call("FCALL", "post", "1", "room:1:backlog", "m2").Should().Be("$2\r\nv2\r\n");
            c.Call("FCALL_RO", "ping2", "0").Should().Be("$4\r\npong\r\n");
            c.Call("FUNCTION", "STATS").Should().EndWith("$15\r\nlibraries_count\r\n:2\r\n$15\r\nfunctions_count\r\n:2\r\n");
            c.Call("FUNCTION", "LIST", "LIBRARYNAME", "chat", "WITHCODE").Should().Contain(ChatV2);
            c.Call("FUNCTION", "DELETE", "other").Should().Be("+OK\r\n");
        }
        string dump;
        await using (var s = await InProcessServer.StartAsync(Options()))
        {
            using var c = new RawClient(s.Port);
            c.Call("FCALL_RO", "ping2", "0").Should().Be("-ERR Function not found\r\n");
            dump = c.Call("FUNCTION", "DUMP");
            c.Call("FUNCTION", "FLUSH").Should().Be("+OK\r\n");
        }
        await using (var s = await InProcessServer.StartAsync(Options()))
        {
            using var c = new RawClient(s.Port);
            c.Call("FUNCTION", "LIST").Should().Be("*0\r\n");
            c.Call("FUNCTION", "LOAD", Other).Should().Be("$5\r\nother\r\n");
            string payload = dump[(dump.IndexOf("\r\n", StringComparison.Ordinal) + 2)..^2];
            c.Call("FUNCTION", "RESTORE", payload, "FLUSH").Should().Be("+OK\r\n");
        }
        await using (var s = await InProcessServer.StartAsync(Options()))
        {
            using var c = new RawClient(s.Port);
            c.Call("FCALL", "post", "1", "room:1:backlog", "m3").Should().Be("$2\r\nv2\r\n");
            c.Call("FCALL_RO", "ping2", "0").Should().Be("-ERR Function not found\r\n", "RESTORE FLUSH dropped the library loaded before it");
            c.Call("LRANGE", "room:1:backlog", "0", "-1").Should().Be("*2\r\n$2\r\nm3\r\n$2\r\nm2\r\n");
        }
    }
}
