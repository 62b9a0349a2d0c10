namespace KeyspacePubSub.Server;

/// <summary>
/// The server's command line, read as redis-server reads its own (<c>redis-server [/path/to/redis.conf] [options]</c>):
/// <list type="bullet">
/// <item><c>-v</c>/<c>--version</c> or <c>-h</c>/<c>--help</c> as the first argument: print and exit;</item>
/// <item>a first argument that is not an option names a configuration file: ours (JSON) when it ends in
/// <c>.json</c>, as <c>--config</c> does, otherwise a redis.conf (<see cref="RedisConfFile"/>);</item>
/// <item><c>--name arg...</c> is a Redis directive, the setting <c>Server:name</c>: every argument up to the next
/// <c>--</c> is its value, joined by spaces as Redis joins them (<c>--save 900 1</c>,
/// <c>--client-output-buffer-limit pubsub 32mb 8mb 60</c>); <c>--name=value</c> too;</item>
/// <item><c>--Section:Key=value</c> or <c>--Section:Key value</c> is a key of Microsoft.Extensions.Configuration
/// (<c>--Persistence:Enabled=true</c>).</item>
/// </list>
/// Anything else (a stray argument, <c>-p 6380</c>) is an error. Microsoft's command-line provider, which read the
/// arguments before, dropped such arguments and <c>--port=6380</c> without a word, and the server started on its defaults.
/// </summary>
public sealed class StartupArgs
{
    public const string Usage = """
        Usage: keyspacepubsub-server [/path/to/redis.conf | /path/to/settings.json] [options]
               keyspacepubsub-server -v or --version
               keyspacepubsub-server -h or --help

        Options are Redis's configuration directives (--port 6380 --notify-keyspace-events KEA)
        and the server's own settings (--Persistence:Enabled=true --Persistence:Fsync=always).
        Without a file, config/keyspacepubsub.json is read when it exists.

        Examples:
               keyspacepubsub-server
               keyspacepubsub-server /etc/redis/6379.conf
               keyspacepubsub-server --port 7777 --maxmemory 100mb --maxmemory-policy allkeys-lru
               keyspacepubsub-server --config my.json --Persistence:Enabled=true
        """;

    public bool ShowVersion { get; private init; }
    public bool ShowHelp { get; private init; }

    /// <summary>Our JSON configuration file, when the command line names one.</summary>
    public string? ConfigFile { get; private set; }

    /// <summary>A redis.conf, when the command line names one.</summary>
    public string? RedisConfFile { get; private set; }

    /// <summary>The command line's settings as configuration keys (<c>Server:port</c>); of two for one key, the later.</summary>
    public Dictionary<string, string?> Settings { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Why the command line cannot be read; null when it can.</summary>
    public string? Error { get; private set; }

    public static StartupArgs Parse(string[] args)
    {
        if (args.Length > 0 && args[0] is "-v" or "--version") return new() { ShowVersion = true };
        if (args.Length > 0 && args[0] is "-h" or "--help") return new() { ShowHelp = true };
        var result = new StartupArgs();
        int i = 0;
        if (args.Length > 0 && !args[0].StartsWith('-'))
        {
            if (args[0].EndsWith(".json", StringComparison.OrdinalIgnoreCase)) result.ConfigFile = args[0];
            else result.RedisConfFile = args[0];
            i = 1;
        }
        while (i < args.Length)
        {
            string arg = args[i++];
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2) return result.Fail($"'{arg}': Bad directive or wrong number of arguments");
            string name = arg[2..];
            string? value = null;
            int eq = name.IndexOf('=');
            if (eq >= 0)
            {
                value = name[(eq + 1)..];
                name = name[..eq];
            }
            if (name.Contains(':') || name.Equals("config", StringComparison.OrdinalIgnoreCase))
            {
                // Microsoft.Extensions.Configuration's form: one value, after '=' or as the next argument.
                if (value is null)
                {
                    if (i == args.Length) return result.Fail($"'{arg}' needs a value");
                    value = args[i++];
                }
                if (name.Contains(':')) result.Settings[name] = value;
                else result.ConfigFile = value;
                continue;
            }
            if (value is null)
            {
                int first = i;
                while (i < args.Length && !args[i].StartsWith("--", StringComparison.Ordinal)) i++;
                value = string.Join(' ', args, first, i - first);
            }
            string key = "Server:" + name.ToLowerInvariant();
            // Every --user is a user (ACL), as every user line of a redis.conf: kept one per line.
            if (key == "Server:user" && result.Settings.GetValueOrDefault(key) is { Length: > 0 } users) value = users + "\n" + value;
            result.Settings[key] = value;
        }
        return result;
    }

    private StartupArgs Fail(string error)
    {
        Error = error;
        return this;
    }
}
