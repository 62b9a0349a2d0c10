using FluentAssertions;
using KeyspacePubSub.Engine.Config;
using KeyspacePubSub.Server;
using KeyspacePubSub.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>The command line, redis.conf files and the checks applied at start (StartupArgs, RedisConfFile, StartupSettings).</summary>
public sealed class StartupConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kps-startup-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("-v")]
    [InlineData("--version")]
    public void Version_AsTheFirstArgument_IsAskedFor(string arg) =>
        StartupArgs.Parse([arg, "--port", "1"]).ShowVersion.Should().BeTrue();

    [Theory]
    [InlineData("-h")]
    [InlineData("--help")]
    public void Help_AsTheFirstArgument_IsAskedFor(string arg) => StartupArgs.Parse([arg]).ShowHelp.Should().BeTrue();

    [Fact]
    public void RedisDirective_TakesEveryArgumentUpToTheNextOption_JoinedBySpaces()
    {
        var args = StartupArgs.Parse(["--save", "900", "1", "300", "10", "--client-output-buffer-limit", "pubsub", "32mb", "8mb", "60", "--notify-keyspace-events", "", "--Port", "7000"]);
        args.Error.Should().BeNull();
        args.Settings.Should().BeEquivalentTo(new Dictionary<string, string?>
        {
            ["Server:save"] = "900 1 300 10",
            ["Server:client-output-buffer-limit"] = "pubsub 32mb 8mb 60",
            ["Server:notify-keyspace-events"] = "",
            ["Server:port"] = "7000",
        });
    }

    [Fact]
    public void NameEqualsValue_IsADirectiveToo()
    {
        // Microsoft's command-line provider took it as a top-level key nobody read: the server started on 6379.
        StartupArgs.Parse(["--port=6390"]).Settings.Should().Equal(new Dictionary<string, string?> { ["Server:port"] = "6390" });
    }

    [Fact]
    public void SectionKeys_TakeOneValue_AfterAnEqualsSignOrAsTheNextArgument()
    {
        var args = StartupArgs.Parse(["--Persistence:Enabled=true", "--Persistence:Fsync", "always", "--config", "a.json"]);
        args.Error.Should().BeNull();
        args.Settings["Persistence:Enabled"].Should().Be("true");
        args.Settings["Persistence:Fsync"].Should().Be("always");
        args.ConfigFile.Should().Be("a.json");
    }

    [Fact]
    public void OfTwoSettingsOfOneName_TheLaterWins() =>
        StartupArgs.Parse(["--port", "1", "--PORT", "2", "--Server:port=3", "--port", "4"]).Settings.Should().Equal(new Dictionary<string, string?> { ["Server:port"] = "4" });

    [Theory]
    [InlineData("/etc/redis/redis.conf", null, "/etc/redis/redis.conf")]
    [InlineData("settings.json", "settings.json", null)]
    [InlineData("SETTINGS.JSON", "SETTINGS.JSON", null)]
    public void FirstArgument_NotAnOption_IsAConfigurationFile(string first, string? json, string? redisConf)
    {
        var args = StartupArgs.Parse([first, "--port", "7000"]);
        args.Error.Should().BeNull();
        args.ConfigFile.Should().Be(json);
        args.RedisConfFile.Should().Be(redisConf);
        args.Settings["Server:port"].Should().Be("7000");
    }

    [Theory]
    [InlineData("'-p': Bad directive or wrong number of arguments", "-p", "6380")]
    [InlineData("'--': Bad directive or wrong number of arguments", "--port", "1", "--Server:x=1", "--")]
    [InlineData("'extra': Bad directive or wrong number of arguments", "--Persistence:Enabled=true", "extra")]
    [InlineData("'--Persistence:Path' needs a value", "--Persistence:Path")]
    [InlineData("'--config' needs a value", "--config")]
    public void StrayArguments_AreErrors(string error, params string[] argv) => StartupArgs.Parse(argv).Error.Should().Be(error);

    [Fact]
    public void RedisConf_IsSplitAsSdssplitargs_SkipsComments_AndFollowsIncludes()
    {
        string included = Write("more.conf", "maxmemory 10mb\nport 7001\n");
        string main = Write("redis.conf", $"""
            # a comment
              port 7000
            requirepass "with space\x41"
            notify-keyspace-events ''
            include {included}
            bind 127.0.0.1 -::1
            Maxmemory-Policy allkeys-lru

            """);
        RedisConfFile.Read(main).Should().BeEquivalentTo(new Dictionary<string, string?>
        {
            ["Server:port"] = "7001",
            ["Server:requirepass"] = "with spaceA",
            ["Server:notify-keyspace-events"] = "",
            ["Server:maxmemory"] = "10mb",
            ["Server:bind"] = "127.0.0.1 -::1",
            ["Server:maxmemory-policy"] = "allkeys-lru",
        });
    }

    [Fact]
    public void RedisConf_SaveAndClientOutputBufferLimitLines_AddUp_AsInRedis()
    {
        string file = Write("r.conf", """
            save 900 1
            save 300 10
            client-output-buffer-limit normal 0 0 0
            client-output-buffer-limit pubsub 32mb 8mb 60
            """);
        var settings = RedisConfFile.Read(file);
        settings["Server:save"].Should().Be("900 1 300 10");
        settings["Server:client-output-buffer-limit"].Should().Be("normal 0 0 0 pubsub 32mb 8mb 60");
        var config = new ServerConfig();
        config.TrySet("save", settings["Server:save"]!, startup: true).Should().BeNull();
        config.TrySet("client-output-buffer-limit", settings["Server:client-output-buffer-limit"]!, startup: true).Should().BeNull();
        config.Get("save"u8).Should().Equal(("save", "900 1 300 10"));
        config.Get("client-output-buffer-limit"u8).Should().Equal(("client-output-buffer-limit", "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"));
    }

    [Fact]
    public async Task RedisConfUserLines_AndCommandLineUsers_AreEachAUser()
    {
        string file = Write("users.conf", """
            user alice on >pw ~k* +get
            user bob on nopass "(~x* +set)" +@read
            user carol on >pässwörd +ping
            """);
        var settings = RedisConfFile.Read(file);
        settings["Server:user"].Should().Be("alice on >pw ~k* +get\nbob on nopass \"(~x* +set)\" +@read\ncarol on >pässwörd +ping");
        StartupArgs.Parse(["--user", "carol", "on", "--port", "1", "--user", "dave", "off"]).Settings["Server:user"].Should().Be("carol on\ndave off");
        var (error, config, _) = Apply(new() { ["Server:user"] = settings["Server:user"] });
        error.Should().BeNull();
        config.AclUserLines.Should().HaveCount(3);
        config.TrySet("port", "0", startup: true);
        var engine = new KeyspacePubSub.Engine.Engine(config);
        lock (engine.Gate) engine.Acl.LoadAtStartup(config.AclUserLines).Should().BeNull();
        await using (var server = new KeyspaceServer(engine))
        {
            await server.StartAsync();
            using var c = new RawClient(server.Port);
            c.Call("AUTH", "alice", "pw").Should().Be("+OK\r\n");
            c.Call("GET", "x").Should().StartWith("-NOPERM");
            c.Call("AUTH", "bob", "any").Should().Be("+OK\r\n");
            c.Call("SET", "x", "1").Should().Be("+OK\r\n", "bob's selector allows SET on ~x*");
            c.Call("GET", "x").Should().StartWith("-NOPERM", "no selector allows both GET and the key");
            // A password is the file's bytes (UTF-8), as a client sends them.
            c.Call("AUTH", "carol", System.Text.Encoding.Latin1.GetString(System.Text.Encoding.UTF8.GetBytes("pässwörd"))).Should().Be("+OK\r\n");
        }
        var bad = new ServerConfig();
        bad.AclUserLines.Add("erin on +nosuch");
        var failing = new KeyspacePubSub.Engine.Engine(bad);
        lock (failing.Gate) failing.Acl.LoadAtStartup(bad.AclUserLines).Should().Be("Error loading ACL rule '+nosuch' for the user named 'erin': Unknown command or category name in ACL");
    }

    [Fact]
    public void RedisConf_UnbalancedQuotes_NameTheFileAndLine()
    {
        string file = Write("bad.conf", "port 7000\n\nrequirepass \"open\n");
        var act = () => RedisConfFile.Read(file);
        act.Should().Throw<InvalidDataException>().WithMessage($"{file}, line 3: >>> 'requirepass \"open': Unbalanced quotes in configuration line");
    }

    [Fact]
    public void RedisConf_IncludeLoop_IsAnError_NotAStackOverflow()
    {
        string file = Path.Combine(_dir, "loop.conf");
        File.WriteAllText(file, $"include {file}\n");
        var act = () => RedisConfFile.Read(file);
        act.Should().Throw<InvalidDataException>().WithMessage("*includes nested deeper than 16*");
    }

    [Fact]
    public void RedisConf_Missing_IsAnError() =>
        FluentActions.Invoking(() => RedisConfFile.Read(Path.Combine(_dir, "none.conf"))).Should().Throw<InvalidDataException>().WithMessage("Fatal error, can't open config file*");

    [Fact]
    public void Apply_SetsOurParameters_AndListsRedisOnesItIgnores()
    {
        var (error, config, ignored) = Apply(new() { ["Server:maxmemory"] = "10mb", ["Server:protected-mode"] = "no", ["Server:daemonize"] = "no", ["Server:tls-port"] = "0", ["Server:replicaof"] = "no one" });
        error.Should().BeNull();
        config.MaxMemory.Should().Be(10 * 1024 * 1024);
        ignored.Should().BeEquivalentTo("protected-mode", "daemonize", "tls-port", "replicaof");
    }

    [Fact]
    public void Apply_AJsonListOfValues_IsTheirItemsJoinedBySpaces()
    {
        // {"Server": {"save": ["900 1", "300 10"], "bind": ["127.0.0.1", "::1"]}} flattens to these keys; a list used to
        // read as an empty value.
        var (error, config, _) = Apply(new() { ["Server:save:0"] = "900 1", ["Server:save:1"] = "300 10", ["Server:bind:0"] = "127.0.0.1", ["Server:bind:1"] = "::1" });
        error.Should().BeNull();
        config.SaveParams.Should().Be("900 1 300 10");
        config.Bind.Should().Be("127.0.0.1 ::1");
    }

    [Theory]
    [InlineData("Server:prot", "1", "'prot' = '1': Bad directive or wrong number of arguments")]
    [InlineData("Server:replicaof", "10.0.0.1 6379", "'replicaof' = '10.0.0.1 6379': there is no replication here")]
    [InlineData("Server:tls-port", "6380", "'tls-port' = '6380': there is no TLS here")]
    [InlineData("Server:rename-command", "FLUSHALL \"\"", "'rename-command' = 'FLUSHALL \"\"': commands cannot be renamed or disabled here")]
    [InlineData("Server:cluster-enabled", "yes", "'cluster-enabled' = 'yes': there is no cluster mode here")]
    [InlineData("Persistence:Enabld", "true", "'Persistence:Enabld' is not a setting (Persistence has Enabled, Path, KeyPatterns, Fsync)")]
    [InlineData("Logging:LogLevel:Default", "Verbose", "'Logging:LogLevel:Default' = 'Verbose': not a log level (Trace, Debug, Information, Warning, Error, Critical, None)")]
    [InlineData("Logging:Console:loglevel:KeyspacePubSub", "loud", "'Logging:Console:loglevel:KeyspacePubSub' = 'loud': not a log level (Trace, Debug, Information, Warning, Error, Critical, None)")]
    [InlineData("Persistance:Enabled", "true", "'Persistance' is not a section of the configuration (they are Server, Persistence, Logging)")]
    public void Apply_StopsTheStart_OnANameItDoesNotKnow_OrASettingItCannotHonour(string key, string value, string error) =>
        Apply(new() { [key] = value }).Error.Should().Be(error);

    [Fact]
    public void Apply_TakesDotNetsLogLevelsInAnyCase_AndSkipsAnEmptyOne_AsLoggingDoes() =>
        Apply(new() { ["Logging:LogLevel:Default"] = "warning", ["Logging:LogLevel:Microsoft"] = "None", ["Logging:LogLevel:Empty"] = "" }).Error.Should().BeNull();

    [Theory]
    [InlineData("debug", LogLevel.Debug)]
    [InlineData("verbose", LogLevel.Debug)]
    [InlineData("notice", LogLevel.Information)]
    [InlineData("warning", LogLevel.Warning)]
    public void RedisLogLevel_DropsWhatRedisWouldNotLog(string redisLevel, LogLevel lowest)
    {
        using var output = new MemoryStream();
        using (var provider = new LineLoggerProvider(output, () => redisLevel))
        {
            var logger = provider.CreateLogger("Test");
            foreach (var level in new[] { LogLevel.Debug, LogLevel.Information, LogLevel.Warning })
            {
                logger.IsEnabled(level).Should().Be(level >= lowest);
                logger.Log(level, "{Level} entry", level);
            }
        }
        string text = System.Text.Encoding.UTF8.GetString(output.ToArray());
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().HaveCount(new[] { LogLevel.Debug, LogLevel.Information, LogLevel.Warning }.Count(l => l >= lowest));
        text.Should().Contain("Warning entry");
    }

    [Fact]
    public void Apply_LeavesTheEnvironmentsOtherNames_Alone()
    {
        // KPS_SERVER_BIN (the tests' own variable) arrives as the top-level key SERVER_BIN; only the file's and the
        // command line's top-level names are checked.
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["SERVER_BIN"] = "/x" }).Build();
        StartupSettings.Apply(configuration, [], new ServerConfig(), []).Should().BeNull();
    }

    [Fact]
    public void Rewrite_KeepsEveryOtherLine_UpdatesTheFirstLineOfAParameter_AndAppendsTheChangedOnes()
    {
        string file = Write("rw.conf", """
            # Redis configuration
            protected-mode no
            port 7000
            maxmemory 1mb
            maxmemory 2mb
            notify-keyspace-events ""
            """);
        var config = new ServerConfig();
        foreach (var (key, value) in RedisConfFile.Read(file))
        {
            string name = key["Server:".Length..];
            if (config.Exists(name)) config.TrySet(name, value!, startup: true).Should().BeNull();
        }
        config.TrySet("maxmemory", "3mb").Should().BeNull();
        config.TrySet("notify-keyspace-events", "KEA").Should().BeNull();
        config.TrySet("requirepass", "a \"b\"\\c").Should().BeNull();
        config.TrySet("maxmemory-policy", "allkeys-lru").Should().BeNull();

        RedisConfRewrite.Rewrite(file, config);

        File.ReadAllText(file).Should().Be("""
            # Redis configuration
            protected-mode no
            port 7000
            maxmemory 3145728
            notify-keyspace-events AKE
            # Generated by CONFIG REWRITE
            requirepass "a \"b\"\\c"
            maxmemory-policy allkeys-lru

            """.Replace("\r\n", "\n"));
        var back = RedisConfFile.Read(file);
        back["Server:requirepass"].Should().Be("a \"b\"\\c");
        back["Server:maxmemory"].Should().Be("3145728");

        // A second rewrite finds its own lines and writes the file unchanged.
        string first = File.ReadAllText(file);
        RedisConfRewrite.Rewrite(file, config);
        File.ReadAllText(file).Should().Be(first);
    }

    [Fact]
    public async Task ConfigSetHz_IsClamped_AndShownByInfo()
    {
        await using var server = await InProcessServer.StartAsync();
        using var c = new RawClient(server.Port);
        c.Call("CONFIG", "SET", "hz", "20").Should().Be("+OK\r\n");
        c.Call("INFO", "server").Should().Contain("\r\nhz:20\r\nconfigured_hz:20\r\n");
        c.Call("CONFIG", "SET", "hz", "0").Should().Be("+OK\r\n");
        c.Call("INFO", "server").Should().Contain("\r\nhz:1\r\nconfigured_hz:1\r\n");
    }

    private static (string? Error, ServerConfig Config, List<string> Ignored) Apply(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var config = new ServerConfig();
        var ignored = new List<string>();
        string? error = StartupSettings.Apply(configuration, settings.Keys.Select(k => k.Split(':')[0]), config, ignored);
        return (error, config, ignored);
    }

    private string Write(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>
    /// Port and bind are set at start only here (Redis rebinds at run time): CONFIG SET of the value they have is
    /// accepted, as Redis accepts a value that changes nothing (its "CONFIG sanity" test sets every parameter to
    /// its own value), and another is refused. Redis's own immutable parameters refuse even their own value.
    /// </summary>
    [Fact]
    public async Task StartOnlyParameters_AcceptTheirOwnValue_AtRunTime()
    {
        await using var s = await InProcessServer.StartAsync();
        using var c = new RawClient(s.Port);
        string port = c.Call("CONFIG", "GET", "port").Split("\r\n")[4]; // as configured (0 in tests: any free port)
        c.Call("CONFIG", "SET", "port", port, "bind", "127.0.0.1").Should().Be("+OK\r\n");
        c.Call("CONFIG", "SET", "port", port == "1" ? "2" : "1").Should().Be("-ERR CONFIG SET failed (possibly related to argument 'port') - can be set only at start here\r\n");
        c.Call("CONFIG", "SET", "event-loop-spin-us", "7").Should().StartWith("-ERR CONFIG SET failed (possibly related to argument 'event-loop-spin-us') - can be set only");
        c.Call("CONFIG", "SET", "maxmemory", "1000000", "bind", "0.0.0.0").Should().StartWith("-ERR CONFIG SET failed (possibly related to argument 'bind')");
        c.Call("CONFIG", "GET", "maxmemory").Should().Be("*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n", "CONFIG SET is all or nothing");
        c.Call("CONFIG", "SET", "databases", "16").Should().Be("-ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config\r\n");
        c.Call("CONFIG", "GET", "port").Should().EndWith($"${port.Length}\r\n{port}\r\n");
    }
}
