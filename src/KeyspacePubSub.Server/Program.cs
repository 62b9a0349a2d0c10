using KeyspacePubSub.Engine.Config;
using KeyspacePubSub.Server;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

// Configuration, lowest precedence first: embedded defaults (ServerConfig), config/keyspacepubsub.json,
// environment variables (KPS_Server__port=6380), then the command line (--port 6380 or --Server:port=6380).
var translated = RedisStyleArgs.Translate(args);
var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { Args = translated });
var pre = new ConfigurationBuilder().AddEnvironmentVariables("KPS_").AddCommandLine(translated).Build();
string? configFile = pre["config"] ?? FindDefaultConfigFile();
if (configFile != null) builder.Configuration.AddJsonFile(Path.GetFullPath(configFile), optional: false, reloadOnChange: false);
builder.Configuration.AddEnvironmentVariables("KPS_");
builder.Configuration.AddCommandLine(translated);

builder.Logging.AddConfiguration(builder.Configuration.GetSection("Logging"));
builder.Logging.AddSimpleConsole(o =>
{
    o.SingleLine = true;
    o.TimestampFormat = "yyyy-MM-dd HH:mm:ss.fff ";
});

var config = new ServerConfig();
foreach (var entry in builder.Configuration.GetSection("Server").GetChildren())
{
    string? error = config.TrySet(entry.Key, entry.Value ?? "", startup: true);
    if (error == "unknown") error = "Bad directive or wrong number of arguments";
    if (error != null)
    {
        Console.Error.WriteLine($"*** FATAL CONFIG FILE ERROR *** '{entry.Key}' = '{entry.Value}': {error}");
        return 1;
    }
}

var section = builder.Configuration.GetSection("Persistence");
var persistence = KeyspacePubSub.Persistence.PersistenceOptions.Parse(
    section["Enabled"], section["Path"],
    section.GetSection("KeyPatterns").GetChildren().Select(c => c.Value!).Where(v => !string.IsNullOrEmpty(v)).ToList() is { Count: > 0 } list ? list
        : section["KeyPatterns"]?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
    section["Fsync"], out string? persistenceError);
if (persistenceError != null)
{
    Console.Error.WriteLine($"*** FATAL CONFIG FILE ERROR *** {persistenceError}");
    return 1;
}

builder.Services.AddSingleton(config);
builder.Services.AddSingleton(persistence);
builder.Services.AddSingleton(sp => new KeyspacePubSub.Engine.Engine(config, sp.GetRequiredService<ILoggerFactory>().CreateLogger("Engine"))
{
    ConfigFilePath = configFile is null ? null : Path.GetFullPath(configFile),
});
builder.Services.AddSingleton<KeyspaceServer>();
builder.Services.AddHostedService<ServerHostedService>();
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(10));

using var host = builder.Build();
await host.RunAsync();
return 0;

static string? FindDefaultConfigFile()
{
    foreach (var dir in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
    {
        var path = Path.Combine(dir, "config", "keyspacepubsub.json");
        if (File.Exists(path)) return path;
    }
    return null;
}
