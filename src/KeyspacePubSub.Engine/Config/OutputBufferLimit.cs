using System.Globalization;

namespace KeyspacePubSub.Engine.Config;

/// <summary>One class of client-output-buffer-limit: hard bytes, soft bytes, soft seconds (0 = none).</summary>
public readonly record struct OutputBufferLimit(long Hard, long Soft, long SoftSeconds);

/// <summary>The three classes Redis keeps, parsed and rendered as CONFIG does.</summary>
public sealed class OutputBufferLimits
{
    public OutputBufferLimit Normal { get; private set; } = new(0, 0, 0);
    public OutputBufferLimit Replica { get; private set; } = new(256L << 20, 64L << 20, 60);
    public OutputBufferLimit PubSub { get; private set; } = new(32L << 20, 8L << 20, 60);

    public override string ToString() =>
        $"normal {Normal.Hard} {Normal.Soft} {Normal.SoftSeconds} slave {Replica.Hard} {Replica.Soft} {Replica.SoftSeconds} pubsub {PubSub.Hard} {PubSub.Soft} {PubSub.SoftSeconds}";

    /// <summary>Applies "class hard soft seconds ..." all or nothing; returns Redis's error text or null.</summary>
    public string? TryApply(string value)
    {
        var parts = value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length % 4 != 0) return "Wrong number of arguments in buffer limit configuration.";
        var updates = new List<(string Class, OutputBufferLimit Limit)>();
        for (int i = 0; i < parts.Length; i += 4)
        {
            string cls = parts[i].ToLowerInvariant();
            if (cls is not ("normal" or "slave" or "replica" or "pubsub"))
            {
                return "Invalid client class specified in buffer limit configuration.";
            }
            if (!TryParseMemory(parts[i + 1], out long hard) || !TryParseMemory(parts[i + 2], out long soft) ||
                parts[i + 3].Contains('\0', StringComparison.Ordinal) || !long.TryParse(parts[i + 3], NumberStyles.None, CultureInfo.InvariantCulture, out long seconds))
            {
                return "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
            }
            updates.Add((cls, new OutputBufferLimit(hard, soft, seconds)));
        }
        foreach (var (cls, limit) in updates)
        {
            switch (cls)
            {
                case "normal": Normal = limit; break;
                case "pubsub": PubSub = limit; break;
                default: Replica = limit; break;
            }
        }
        return null;
    }

    /// <summary>As Redis's memtoull: a number with an optional b, k, kb, m, mb, g, gb unit.</summary>
    public static bool TryParseMemory(string text, out long bytes)
    {
        bytes = 0;
        string t = text.ToLowerInvariant();
        long mul = 1;
        foreach (var (suffix, m) in new (string, long)[] { ("gb", 1L << 30), ("mb", 1L << 20), ("kb", 1L << 10), ("g", 1000000000L), ("m", 1000000L), ("k", 1000L), ("b", 1L) })
        {
            if (t.EndsWith(suffix, StringComparison.Ordinal))
            {
                mul = m;
                t = t[..^suffix.Length];
                break;
            }
        }
        if (t.Length == 0 || t.Contains('\0', StringComparison.Ordinal) || !long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out long n)) return false;
        bytes = n * mul;
        return true;
    }
}
