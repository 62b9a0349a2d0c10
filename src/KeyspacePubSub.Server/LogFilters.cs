using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace KeyspacePubSub.Server;

/// <summary>
/// The configuration's <c>Logging</c> section as the logger factory's filter rules, read as
/// Microsoft.Extensions.Logging.Configuration reads it (<c>AddConfiguration</c>): <c>LogLevel:&lt;category&gt;</c>
/// for every provider, <c>&lt;provider&gt;:LogLevel:&lt;category&gt;</c> for one (its name or alias, Console here),
/// <c>Default</c> meaning every category, an empty value skipped, and Information below any rule. Reading it
/// here lets the factory be made directly: <c>LoggerFactory.Create</c> with <c>AddConfiguration</c> builds a
/// dependency-injection container and the options machinery for it, ~1.2 MB of the idle JIT process's RSS.
/// The values were checked at start (StartupSettings): every non-empty one is a level.
/// </summary>
public static class LogFilters
{
    public static LoggerFilterOptions From(IConfigurationSection logging)
    {
        var options = new LoggerFilterOptions { MinLevel = LogLevel.Information };
        foreach (var child in logging.GetChildren())
        {
            if (child.Key.Equals("LogLevel", StringComparison.OrdinalIgnoreCase)) AddRules(options, child, provider: null);
            else AddRules(options, child.GetSection("LogLevel"), provider: child.Key);
        }
        return options;
    }

    private static void AddRules(LoggerFilterOptions options, IConfigurationSection levels, string? provider)
    {
        foreach (var entry in levels.GetChildren())
        {
            if (string.IsNullOrEmpty(entry.Value)) continue;
            if (!Enum.TryParse(entry.Value, ignoreCase: true, out LogLevel level))
                throw new InvalidOperationException($"Configuration value '{entry.Value}' for category '{entry.Key}' is unsupported.");
            string? category = entry.Key.Equals("Default", StringComparison.OrdinalIgnoreCase) ? null : entry.Key;
            options.Rules.Add(new LoggerFilterRule(provider, category, level, filter: null));
        }
    }
}
