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
if (configFile != null)
{
    try
    {
        ((IConfigurationBuilder)builder.Configuration).Add(new JsonConfigFile(Path.GetFullPath(configFile)));
    }
    catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException)
    {
        Console.Error.WriteLine($"*** FATAL CONFIG FILE ERROR *** {ex.Message}");
        return 1;
    }
}
builder.Configuration.AddEnvironmentVariables("KPS_");
builder.Configuration.AddCommandLine(translated);

builder.Logging.AddConfiguration(builder.Configuration.GetSection("Logging"));
builder.Logging.AddProvider(new LineLoggerProvider());

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
    KeyPatterns(section),
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
try
{
    await host.RunAsync();
}
catch (IOException)
{
    return 1; // cannot listen (address in use...) or open the durable store: the host has logged why
}
return 0;

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
