using KeyspacePubSub.Engine.Config;
using Microsoft.Extensions.Configuration;

namespace KeyspacePubSub.Server;

/// <summary>
/// Checks and applies the configuration at start. A name the server does not know stops the start, as Redis stops on a
/// bad directive: a misspelt <c>Persistence:Enabld=true</c> used to be dropped without a word, and the server ran
/// without durable keys. The exceptions are Redis's own directives that this server does not have, ignored with a
/// warning (<see cref="RedisOnlyParameters"/>), so a redis.conf written for Redis starts.
/// </summary>
public static class StartupSettings
{
    private static readonly string[] s_sections = ["Server", "Persistence", "Logging"];
    private static readonly string[] s_persistenceKeys = ["Enabled", "Path", "KeyPatterns", "Fsync"];

    /// <summary>
    /// Applies the Server section to <paramref name="config"/>; returns the error that stops the start, or null.
    /// <paramref name="ignored"/> receives the Redis directives that were ignored, for one warning.
    /// <paramref name="topLevelKeys"/> are the top-level names the file and the command line gave (the environment's
    /// <c>KPS_</c> names are not checked there: other programs' variables share the prefix, such as the tests'
    /// <c>KPS_SERVER_BIN</c>).
    /// </summary>
    public static string? Apply(IConfiguration configuration, IEnumerable<string> topLevelKeys, ServerConfig config, List<string> ignored)
    {
        foreach (string key in topLevelKeys)
        {
            if (!IsOneOf(key, s_sections) && !key.Equals("config", StringComparison.OrdinalIgnoreCase))
                return $"'{key}' is not a section of the configuration (they are {string.Join(", ", s_sections)})";
        }
        foreach (var entry in configuration.GetSection("Persistence").GetChildren())
        {
            if (!IsOneOf(entry.Key, s_persistenceKeys))
                return $"'Persistence:{entry.Key}' is not a setting (Persistence has {string.Join(", ", s_persistenceKeys)})";
        }
        // Logging:LogLevel:<category> and Logging:<provider>:LogLevel:<category>: .NET's levels, or logging's set-up
        // throws ("Configuration value 'Verbose' is not supported.") and the process ends with a stack trace. (An empty
        // value is skipped there, as here.)
        foreach (var (key, value) in configuration.GetSection("Logging").AsEnumerable())
        {
            string[] path = key.Split(':');
            if (!string.IsNullOrEmpty(value) && path.Length >= 3 && path[^2].Equals("LogLevel", StringComparison.OrdinalIgnoreCase)
                && !Enum.TryParse<Microsoft.Extensions.Logging.LogLevel>(value, ignoreCase: true, out _))
                return $"'{key}' = '{value}': not a log level (Trace, Debug, Information, Warning, Error, Critical, None)";
        }
        foreach (var entry in configuration.GetSection("Server").GetChildren())
        {
            if (entry.Key.Equals("user", StringComparison.OrdinalIgnoreCase))
            {
                // ACL users, one per line of a redis.conf (RedisConfFile keeps each) or item of a JSON list.
                config.AclUserLines.AddRange(entry.Value?.Split('\n') ?? entry.GetChildren().Select(c => c.Value ?? ""));
                continue;
            }
            // A JSON list (bind: ["127.0.0.1", "::1"]) is its items joined by spaces, as a redis.conf line's arguments.
            string value = entry.Value ?? string.Join(' ', entry.GetChildren().Select(c => c.Value ?? ""));
            string? error = config.TrySet(entry.Key, value, startup: true);
            if (error == "unknown")
            {
                error = RedisOnlyParameters.Refusal(entry.Key, value);
                if (error is null && RedisOnlyParameters.IsIgnored(entry.Key, value))
                {
                    ignored.Add(entry.Key);
                    continue;
                }
                error ??= "Bad directive or wrong number of arguments";
            }
            if (error != null) return $"'{entry.Key}' = '{value}': {error}";
        }
        return null;
    }

    private static bool IsOneOf(string key, string[] names) => Array.Exists(names, n => n.Equals(key, StringComparison.OrdinalIgnoreCase));
}
