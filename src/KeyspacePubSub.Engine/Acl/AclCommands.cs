using KeyspacePubSub.Engine.Commands;

namespace KeyspacePubSub.Engine.Acl;

/// <summary>One command or subcommand as ACL rules name it, with the id of its bit in a selector's bitmap.</summary>
internal sealed class AclCommandEntry(int id, string fullName, AclCategory categories, AclCommandEntry? parent, bool newer = false)
{
    /// <summary>
    /// A command of this server that Redis 7.0 lacks (CLIENT SETINFO, CLIENT NO-TOUCH, from 7.2): rules and checks
    /// treat it as any other, but ACL LIST, GETUSER and CAT leave it out, so they show what Redis 7.0 shows, and
    /// describing a user's rules does not count it.
    /// </summary>
    public bool Newer { get; } = newer;

    public int Id { get; } = id;
    public string FullName { get; } = fullName;
    public AclCategory Categories { get; } = categories;
    public AclCommandEntry? Parent { get; } = parent;
    public List<AclCommandEntry> Subcommands { get; } = [];
}

/// <summary>
/// The commands ACL rules can name, each with its categories and a bit number: Redis 7.0.15's whole table (its
/// COMMAND INFO, embedded) and this server's few commands Redis 7.0 lacks. Commands this server does not run
/// (EVAL, FUNCTION...) are here too, as in Redis: a rule such as <c>-eval</c> or <c>+@scripting</c> from a Redis
/// configuration is accepted, and the categories hold the commands Redis counts when it describes a user's rules
/// (ACL LIST), so the description picks the same categories. The last bit is Redis's "future commands" bit,
/// set only by <c>+@all</c>. Built on first use: a server whose users never change does not read the table.
/// </summary>
internal sealed class AclCommands
{
    private readonly Dictionary<string, AclCommandEntry> _byName = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Top-level commands, in Redis's table order.</summary>
    public List<AclCommandEntry> TopLevel { get; } = [];

    /// <summary>Bits in a selector's bitmap: one per command and subcommand, and the future-commands bit.</summary>
    public int BitCount { get; }

    public int FutureBit => BitCount - 1;

    public AclCommands(CommandTable ours)
    {
        int next = 0;
        foreach (var entry in RedisCommandReference.AllInfo())
        {
            var top = new AclCommandEntry(next++, entry.Items[0].String, Categories(entry.Items[6]), null);
            Add(top);
            foreach (var sub in entry.Items[9].Items)
            {
                var s = new AclCommandEntry(next++, sub.Items[0].String, Categories(sub.Items[6]), top);
                top.Subcommands.Add(s);
                Add(s);
            }
        }
        foreach (var def in ours.All)
        {
            if (!_byName.TryGetValue(def.FullName, out var top))
            {
                top = new AclCommandEntry(next++, def.FullName, def.Acl, null, newer: true);
                Add(top);
            }
            foreach (var sub in def.Subcommands?.Values ?? Enumerable.Empty<CommandDef>())
            {
                if (_byName.ContainsKey(sub.FullName)) continue;
                var s = new AclCommandEntry(next++, sub.FullName, sub.Acl, top, newer: true);
                top.Subcommands.Add(s);
                Add(s);
            }
        }
        BitCount = next + 1;
    }

    private void Add(AclCommandEntry c)
    {
        _byName[c.FullName] = c;
        if (c.Parent is null) TopLevel.Add(c);
    }

    /// <summary>As Redis's ACLLookupCommand: "get", or "config|get" (a name with more than one '|' is none).</summary>
    public AclCommandEntry? Find(string fullName) => _byName.GetValueOrDefault(fullName);

    /// <summary>The entry of a command of this server's table.</summary>
    public AclCommandEntry Of(CommandDef def) => _byName[def.FullName];

    /// <summary>Every command and subcommand, a container before its subcommands (<see cref="AclCommandEntry.Newer"/> ones too).</summary>
    public IEnumerable<AclCommandEntry> All()
    {
        foreach (var top in TopLevel)
        {
            yield return top;
            foreach (var sub in top.Subcommands) yield return sub;
        }
    }

    /// <summary>A category by its ACL name ("read", "sortedset"), case-insensitively; None when there is no such category.</summary>
    public static AclCategory Category(string name)
    {
        foreach (var c in Enum.GetValues<AclCategory>())
        {
            if (c != AclCategory.None && c.ToString().Equals(name, StringComparison.OrdinalIgnoreCase)) return c;
        }
        return AclCategory.None;
    }

    /// <summary>The categories, in Redis's table order (ACL CAT's).</summary>
    public static IEnumerable<AclCategory> CategoryOrder() => Enum.GetValues<AclCategory>().Where(c => c != AclCategory.None);

    public static string Name(AclCategory c) => c.ToString().ToLowerInvariant();

    private static AclCategory Categories(RespNode set)
    {
        var result = AclCategory.None;
        foreach (var item in set.Items) result |= Category(item.String.TrimStart('@'));
        return result;
    }
}
