using System.Text;
using KeyspacePubSub.Protocol;

namespace KeyspacePubSub.Engine;

/// <summary>
/// SLOWLOG (src/slowlog.c): commands whose execution took at least <c>slowlog-log-slower-than</c> µs, newest
/// first, at most <c>slowlog-max-len</c> of them. Each entry keeps the arguments as the client sent them (at
/// most 32, the last saying how many more there were; each cut at 128 bytes), with passwords redacted, the
/// client's address and its name at the time. Ids keep counting across SLOWLOG RESET. Runs under the gate.
/// </summary>
public sealed class Slowlog
{
    public const int MaxArgs = 32, MaxString = 128;

    public sealed record Entry(long Id, long UnixTime, long Micros, byte[][] Args, string Peer, string Name);

    private static readonly byte[] Redacted = "(redacted)"u8.ToArray();
    private readonly LinkedList<Entry> _entries = new(); // newest first
    private long _nextId;

    public int Count => _entries.Count;

    public void Reset() => _entries.Clear();

    /// <summary>The newest <paramref name="count"/> entries (all when negative).</summary>
    public IEnumerable<Entry> Newest(long count) => count < 0 ? _entries : _entries.Take((int)Math.Min(count, int.MaxValue));

    /// <summary>
    /// Records one command's run; as slowlogPushEntryIfNeeded, the oldest entries past the maximum go only
    /// when an entry is added (lowering slowlog-max-len trims at the next one).
    /// </summary>
    public void Add(CommandArgs args, IReadOnlyList<int> redacted, long micros, string peer, string? name, long maxLength)
    {
        int argc = Math.Min(args.Count, MaxArgs);
        var kept = new byte[argc][];
        for (int j = 0; j < argc; j++)
        {
            if (argc != args.Count && j == argc - 1)
            {
                kept[j] = Encoding.ASCII.GetBytes($"... ({args.Count - argc + 1} more arguments)");
            }
            else if (redacted.Contains(j))
            {
                kept[j] = Redacted;
            }
            else if (args[j].Length > MaxString)
            {
                kept[j] = [.. args[j][..MaxString], .. Encoding.ASCII.GetBytes($"... ({args[j].Length - MaxString} more bytes)")];
            }
            else
            {
                kept[j] = args[j].ToArray();
            }
        }
        _entries.AddFirst(new Entry(_nextId++, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), micros, kept, peer, name ?? ""));
        while (_entries.Count > maxLength) _entries.RemoveLast();
    }
}
