using System.Text;
using KeyspacePubSub.Protocol;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>Name → command, case-insensitive, looked up from the raw argument bytes without allocating.</summary>
public sealed class CommandTable
{
    private readonly Dictionary<string, CommandDef> _commands = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, CommandDef>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    public CommandTable()
    {
        _lookup = _commands.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public IReadOnlyCollection<CommandDef> All => _commands.Values;

    public void Add(CommandDef def) => _commands.Add(def.Name, def);

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
        if (name.Length > 64) return null;
        Span<char> chars = stackalloc char[name.Length];
        for (int i = 0; i < name.Length; i++) chars[i] = (char)name[i];
        return _lookup.TryGetValue(chars, out var def) ? def : null;
    }

    public CommandDef? Find(string name) => _commands.GetValueOrDefault(name);

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
