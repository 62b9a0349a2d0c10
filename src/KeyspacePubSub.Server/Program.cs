using System.Runtime.InteropServices;
using KeyspacePubSub.Engine.Config;
using KeyspacePubSub.Server;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

// Configuration, lowest precedence first: embedded defaults (ServerConfig), config/keyspacepubsub.json (or the JSON
// file named), a redis.conf named first on the command line, environment variables (KPS_Server__port=6380), then
// the command line (--port 6380 or --Server:port=6380). See StartupArgs.
var startup = StartupArgs.Parse(args);
if (startup.ShowVersion)
{
    Console.WriteLine($"KeyspacePubSub server v={typeof(KeyspaceServer).Assembly.GetName().Version} (Redis {KeyspacePubSub.Engine.Engine.RedisVersion} compatible) bits={IntPtr.Size * 8} runtime=.NET {Environment.Version}");
    return 0;
}
if (startup.ShowHelp)
{
    Console.WriteLine(StartupArgs.Usage);
    return 0;
}
if (startup.Error != null) return Fatal(startup.Error);
string? configFile = startup.ConfigFile ?? new ConfigurationBuilder().AddEnvironmentVariables("KPS_").Build()["config"] ?? FindDefaultConfigFile();
IConfigurationRoot configuration;
var topLevelKeys = startup.Settings.Select(s => s.Key.Split(':')[0]).ToList();
try
{
    var layers = new ConfigurationBuilder();
    if (configFile != null) layers.Add(new JsonConfigFile(Path.GetFullPath(configFile)));
    if (startup.RedisConfFile != null) layers.AddInMemoryCollection(RedisConfFile.Read(startup.RedisConfFile));
    configuration = layers.AddEnvironmentVariables("KPS_").AddInMemoryCollection(startup.Settings).Build(); // reads the file
    if (configFile != null) topLevelKeys.AddRange(configuration.Providers.First().GetChildKeys([], null));
}
catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException)
{
    return Fatal(ex.Message);
}

var config = new ServerConfig();
var ignored = new List<string>();
if (StartupSettings.Apply(configuration, topLevelKeys, config, ignored) is { } configError) return Fatal(configError);

var section = configuration.GetSection("Persistence");
var persistence = KeyspacePubSub.Persistence.PersistenceOptions.Parse(
    section["Enabled"], section["Path"],
    KeyPatterns(section),
    section["Fsync"], out string? persistenceError);
if (persistenceError != null) return Fatal(persistenceError);

using var loggerFactory = new LoggerFactory([new LineLoggerProvider(redisLevel: () => config.LogLevel)], LogFilters.From(configuration.GetSection("Logging")));
var logger = loggerFactory.CreateLogger("KeyspacePubSub.Server.Program");
if (ignored.Count > 0) logger.LogWarning("Configuration: Redis settings this server does not have, ignored: {Names}", string.Join(", ", ignored));
var engine = new KeyspacePubSub.Engine.Engine(config, loggerFactory.CreateLogger("Engine"))
{
    ConfigFilePath = configFile is null ? null : Path.GetFullPath(configFile),
    RedisConfPath = startup.RedisConfFile is null ? null : Path.GetFullPath(startup.RedisConfFile),
};
string? aclError;
lock (engine.Gate) aclError = engine.Acl.LoadAtStartup(config.AclUserLines);
if (aclError != null) return Fatal(aclError);
var server = new KeyspaceServer(engine, loggerFactory.CreateLogger<KeyspaceServer>(), persistence);

// Runs until SHUTDOWN, SIGTERM, SIGINT or SIGQUIT; then stops, letting clients receive what is queued for them.
var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
engine.ShutdownRequested += () => stop.TrySetResult();
Action<PosixSignalContext> onSignal = context =>
{
    context.Cancel = true; // stopped below, gracefully
    stop.TrySetResult();
};
PosixSignalRegistration[] signals =
[
    PosixSignalRegistration.Create(PosixSignal.SIGTERM, onSignal),
    PosixSignalRegistration.Create(PosixSignal.SIGINT, onSignal),
    PosixSignalRegistration.Create(PosixSignal.SIGQUIT, onSignal),
];
try
{
    await server.StartAsync();
    string unixSocket = server.Engine.Config.UnixSocket;
    string where = server.EndPoints.Count == 0 ? $"unix socket {unixSocket}"
        : unixSocket.Length > 0 ? $"port {server.Port} and unix socket {unixSocket}" : $"port {server.Port}";
    logger.LogInformation("KeyspacePubSub {Version} (Redis {RedisVersion} compatible) listening on {Where}",
        typeof(KeyspaceServer).Assembly.GetName().Version, KeyspacePubSub.Engine.Engine.RedisVersion, where);
    await stop.Task;
    return 0;
}
catch (IOException ex)
{
    // Cannot listen (address in use...) or open the durable store.
    logger.LogCritical("Cannot start: {Reason}", ex.Message);
    return 1;
}
finally
{
    await server.StopAsync();
    foreach (var registration in signals) registration.Dispose();
}

static int Fatal(string error)
{
    Console.Error.WriteLine($"*** FATAL CONFIG FILE ERROR *** {error}");
    return 1;
}

// A JSON list (KeyPatterns:0, KeyPatterns:1...) or a comma-separated string (command line, environment).
static IReadOnlyList<string>? KeyPatterns(IConfigurationSection section)
{
    var list = new List<string>();
    foreach (var child in section.GetSection("KeyPatterns").GetChildren())
    {
        if (!string.IsNullOrEmpty(child.Value)) list.Add(child.Value);
    }
    return list.Count > 0 ? list : section["KeyPatterns"]?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

static string? FindDefaultConfigFile()
{
    foreach (var dir in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
    {
        var path = Path.Combine(dir, "config", "keyspacepubsub.json");
        if (File.Exists(path)) return path;
    }
    return null;
}
