using System.Runtime.InteropServices;
using KeyspacePubSub.Engine.Config;
using KeyspacePubSub.Server;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

// Configuration, lowest precedence first: embedded defaults (ServerConfig), config/keyspacepubsub.json,
// environment variables (KPS_Server__port=6380), then the command line (--port 6380 or --Server:port=6380).
var translated = RedisStyleArgs.Translate(args);
var pre = new ConfigurationBuilder().AddEnvironmentVariables("KPS_").AddCommandLine(translated).Build();
string? configFile = pre["config"] ?? FindDefaultConfigFile();
IConfigurationRoot configuration;
try
{
    var layers = new ConfigurationBuilder();
    if (configFile != null) layers.Add(new JsonConfigFile(Path.GetFullPath(configFile)));
    configuration = layers.AddEnvironmentVariables("KPS_").AddCommandLine(translated).Build(); // reads the file
}
catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"*** FATAL CONFIG FILE ERROR *** {ex.Message}");
    return 1;
}

var config = new ServerConfig();
foreach (var entry in configuration.GetSection("Server").GetChildren())
{
    string? error = config.TrySet(entry.Key, entry.Value ?? "", startup: true);
    if (error == "unknown") error = "Bad directive or wrong number of arguments";
    if (error != null)
    {
        Console.Error.WriteLine($"*** FATAL CONFIG FILE ERROR *** '{entry.Key}' = '{entry.Value}': {error}");
        return 1;
    }
}

var section = configuration.GetSection("Persistence");
var persistence = KeyspacePubSub.Persistence.PersistenceOptions.Parse(
    section["Enabled"], section["Path"],
    KeyPatterns(section),
    section["Fsync"], out string? persistenceError);
if (persistenceError != null)
{
    Console.Error.WriteLine($"*** FATAL CONFIG FILE ERROR *** {persistenceError}");
    return 1;
}

using var loggerFactory = LoggerFactory.Create(logging => logging
    .AddConfiguration(configuration.GetSection("Logging"))
    .AddProvider(new LineLoggerProvider()));
var logger = loggerFactory.CreateLogger("KeyspacePubSub.Server.Program");
var engine = new KeyspacePubSub.Engine.Engine(config, loggerFactory.CreateLogger("Engine"))
{
    ConfigFilePath = configFile is null ? null : Path.GetFullPath(configFile),
};
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
    logger.LogInformation("KeyspacePubSub {Version} (Redis {RedisVersion} compatible) listening on port {Port}",
        typeof(KeyspaceServer).Assembly.GetName().Version, KeyspacePubSub.Engine.Engine.RedisVersion, server.Port);
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
