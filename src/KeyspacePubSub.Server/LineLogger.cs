using System.Text;
using Microsoft.Extensions.Logging;

namespace KeyspacePubSub.Server;

/// <summary>
/// Writes each log entry as one line to standard output, in the simple console logger's single-line format
/// (<c>2026-11-30 14:05:01.123 info: Category[0] message</c>), synchronously under a lock. The server logs
/// rarely (start, stop, errors, a slow subscriber once), so it needs neither the console logger's queue and
/// thread nor its formatter and options machinery, which cost about 1.1 MB of the idle process's RSS.
/// </summary>
[ProviderAlias("Console")]
public sealed class LineLoggerProvider : ILoggerProvider
{
    private readonly Stream _out;
    private readonly Lock _lock = new();
    private readonly Func<string>? _redisLevel;

    /// <param name="output">Where lines go (standard output by default).</param>
    /// <param name="redisLevel">Redis's <c>loglevel</c> as it is now (CONFIG SET changes it): entries below it are dropped,
    /// as Redis drops them, on top of the Logging section's filters.</param>
    public LineLoggerProvider(Stream? output = null, Func<string>? redisLevel = null)
    {
        _out = output ?? Console.OpenStandardOutput();
        _redisLevel = redisLevel;
    }

    /// <summary>Redis's levels as ours: debug and verbose are Debug, notice (the default) Information, warning Warning.</summary>
    public static LogLevel FromRedis(string level) => level switch
    {
        "debug" or "verbose" => LogLevel.Debug,
        "warning" => LogLevel.Warning,
        _ => LogLevel.Information,
    };

    public ILogger CreateLogger(string categoryName) => new LineLogger(this, categoryName);

    public void Dispose() => _out.Flush();

    private void Write(string line)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(line);
        lock (_lock)
        {
            try
            {
                _out.Write(bytes);
                _out.Flush();
            }
            catch (IOException)
            {
                // Standard output closed (the terminal went away): logging must not stop the server.
            }
        }
    }

    private static string Level(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce",
        LogLevel.Debug => "dbug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "fail",
        LogLevel.Critical => "crit",
        _ => "none",
    };

    private sealed class LineLogger(LineLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) =>
            logLevel != LogLevel.None && (provider._redisLevel is null || logLevel >= FromRedis(provider._redisLevel()));

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception,
            Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            var sb = new StringBuilder(128);
            sb.Append(DateTime.Now.ToString("yyyy-MM-dd HH:mm:ss.fff ", System.Globalization.CultureInfo.InvariantCulture))
                .Append(Level(logLevel)).Append(": ").Append(category).Append('[').Append(eventId.Id).Append("] ")
                .Append(formatter(state, exception).Replace('\n', ' '));
            if (exception != null) sb.Append(' ').Append(exception.ToString().Replace(Environment.NewLine, " "));
            sb.Append('\n');
            provider.Write(sb.ToString());
        }
    }
}
