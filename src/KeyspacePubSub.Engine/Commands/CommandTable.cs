using System.Text;
using KeyspacePubSub.Protocol;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>Name → command, case-insensitive, looked up from the raw argument bytes without allocating.</summary>
public sealed class CommandTable
{
    private readonly Dictionary<string, CommandDef> _commands = new(StringComparer.OrdinalIgnoreCase);

    // Hot-path lookup from raw bytes: bucket by (length, upper-cased first byte), then compare in place.
    private readonly Dictionary<int, (byte[] Upper, CommandDef Def)[]> _buckets = [];

    public IReadOnlyCollection<CommandDef> All => _commands.Values;

    public void Add(CommandDef def)
    {
        _commands.Add(def.Name, def);
        var upper = System.Text.Encoding.ASCII.GetBytes(def.Name.ToUpperInvariant());
        int key = BucketKey(upper);
        _buckets[key] = [.. _buckets.GetValueOrDefault(key) ?? [], (upper, def)];
    }

    private static int BucketKey(ReadOnlySpan<byte> name) => name.Length << 8 | (name[0] & 0xDF);

    /// <summary>Adds a container command (CLIENT, CONFIG, PUBSUB...) and its subcommands.</summary>
    public void AddContainer(CommandDef container, params CommandDef[] subcommands)
    {
        container.Subcommands = new Dictionary<string, CommandDef>(StringComparer.OrdinalIgnoreCase);
        foreach (var sub in subcommands)
        {
            sub.Parent = container;
            container.Subcommands.Add(sub.Name, sub);
        }
        Add(container);
    }

    public CommandDef? Find(ReadOnlySpan<byte> name)
    {
        if (name.Length == 0 || !_buckets.TryGetValue(BucketKey(name), out var bucket)) return null;
        foreach (var (upper, def) in bucket)
        {
            if (EqualsUpper(name, upper)) return def;
        }
        return null;
    }

    private static bool EqualsUpper(ReadOnlySpan<byte> name, byte[] upper)
    {
        for (int i = 0; i < name.Length; i++)
        {
            int c = name[i];
            if (c >= 'a' && c <= 'z') c -= 32;
            if (c != upper[i]) return false;
        }
        return true;
    }

    public CommandDef? Find(string name) => _commands.GetValueOrDefault(name);

    /// <summary>As lookupCommandBySds: "name" or "container|sub" (more levels find nothing).</summary>
    public CommandDef? FindFullName(string name)
    {
        int bar = name.IndexOf('|');
        if (bar < 0) return Find(name);
        return Find(name[..bar])?.Subcommands?.GetValueOrDefault(name[(bar + 1)..]);
    }

    /// <summary>As Redis's lookupCommand: a container with a second argument resolves to the subcommand.</summary>
    public CommandDef? Resolve(CommandArgs args, out bool unknownSubcommand)
    {
        unknownSubcommand = false;
        var def = Find(args[0]);
        if (def?.Subcommands is null || args.Count < 2) return def;
        var subName = args[1];
        if (subName.Length <= 64)
        {
            Span<char> chars = stackalloc char[subName.Length];
            for (int i = 0; i < subName.Length; i++) chars[i] = (char)subName[i];
            if (def.Subcommands.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(chars, out var sub)) return sub;
        }
        unknownSubcommand = true;
        return null;
    }

    /// <summary>Latin-1 view of client bytes so error texts echo them byte for byte.</summary>
    public static string Latin1(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);
}
