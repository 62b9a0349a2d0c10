using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>COMMAND, COMMAND COUNT / INFO / DOCS / LIST / HELP (src/server.c commandCommand and friends).</summary>
internal static class CommandCommand
{
    public static void Register(CommandTable t)
    {
        const CommandFlags F = Loading | Stale | Sentinel;
        t.AddContainer(new() { Name = "command", Arity = -1, Flags = F, Handler = All, Group = "server", ExtraAcl = AclCategory.Connection, Since = "2.8.13", Summary = "Returns detailed information about all commands." },
            new() { Name = "count", Arity = 2, Flags = F, Handler = static (CommandContext x) => x.Reply.Integer(x.Engine.Commands.All.Count), Group = "server", ExtraAcl = AclCategory.Connection, Since = "2.8.13" },
            new() { Name = "info", Arity = -2, Flags = F, Handler = Info, Group = "server", ExtraAcl = AclCategory.Connection, Since = "2.8.13" },
            new() { Name = "docs", Arity = -2, Flags = F, Handler = Docs, Group = "server", ExtraAcl = AclCategory.Connection, Since = "7.0.0" },
            new() { Name = "list", Arity = -2, Flags = F, Handler = List, Group = "server", ExtraAcl = AclCategory.Connection, Since = "7.0.0" },
            new() { Name = "getkeys", Arity = -4, Flags = F, Handler = GetKeys, Group = "server", ExtraAcl = AclCategory.Connection, Since = "2.8.13" },
            new() { Name = "getkeysandflags", Arity = -4, Flags = F, Handler = GetKeysAndFlags, Group = "server", ExtraAcl = AclCategory.Connection, Since = "7.0.0" },
            new() { Name = "help", Arity = 2, Flags = Loading | Stale, Handler = HelpReply, Group = "server", ExtraAcl = AclCategory.Connection, Since = "5.0.0" });
    }

    private static void All(CommandContext x)
    {
        var all = x.Engine.Commands.All;
        x.Reply.Array(all.Count);
        foreach (var def in all) WriteInfo(x.Reply, def);
    }

    private static void Info(CommandContext x)
    {
        if (x.Args.Count == 2)
        {
            All(x);
            return;
        }
        x.Reply.Array(x.Args.Count - 2);
        for (int i = 2; i < x.Args.Count; i++)
        {
            var def = x.Engine.Commands.FindFullName(x.Args.GetString(i));
            if (def is null) x.Reply.NullBulk();
            else WriteInfo(x.Reply, def);
        }
    }

    private static void WriteInfo(RespWriter r, CommandDef def)
    {
        r.Array(10);
        r.Bulk(def.FullName);
        r.Integer(def.Arity);
        var flags = def.FlagNames().ToList();
        r.Set(flags.Count);
        foreach (var f in flags) r.SimpleString(f);
        r.Integer(def.FirstKey);
        r.Integer(def.LastKey);
        r.Integer(def.Step);
        var acl = def.AclNames().ToList();
        r.Set(acl.Count);
        foreach (var c in acl) r.SimpleString(c);
        // Tips and key specs: Redis's own (none for a command Redis 7.0 does not have).
        if (RedisCommandReference.Info(def.FullName) is { } reference)
        {
            reference.Items[7].Write(r);
            reference.Items[8].Write(r);
        }
        else
        {
            r.Set(0);
            r.Set(0);
        }
        // As Redis: an empty set for a command without subcommands, else an array.
        var subs = Subcommands(def);
        if (subs.Count == 0) r.Set(0);
        else r.Array(subs.Count);
        foreach (var s in subs) WriteInfo(r, s);
    }

    /// <summary>A container's subcommands (Redis lists them in its dict's order, which differs from run to run).</summary>
    private static List<CommandDef> Subcommands(CommandDef def) => def.Subcommands?.Values.ToList() ?? [];

    private static void Docs(CommandContext x)
    {
        var table = x.Engine.Commands;
        var defs = new List<CommandDef>();
        if (x.Args.Count == 2) defs.AddRange(table.All);
        else
        {
            for (int i = 2; i < x.Args.Count; i++)
            {
                var def = table.FindFullName(x.Args.GetString(i));
                if (def != null) defs.Add(def);
            }
        }
        x.Reply.Map(defs.Count);
        foreach (var def in defs)
        {
            x.Reply.Bulk(def.FullName);
            WriteDoc(x.Reply, def);
        }
    }

    /// <summary>
    /// A command's documentation: Redis's own (summary, since, group, complexity, flags, history, arguments),
    /// with the subcommands this server has; for a command Redis 7.0 does not have, its summary, since and group.
    /// </summary>
    private static void WriteDoc(RespWriter r, CommandDef def)
    {
        var subs = Subcommands(def);
        if (RedisCommandReference.Docs(def.FullName) is not { } reference)
        {
            r.Map(subs.Count > 0 ? 4 : 3);
            r.Bulk("summary"u8); r.Bulk(def.Summary);
            r.Bulk("since"u8); r.Bulk(def.Since);
            r.Bulk("group"u8); r.Bulk(def.Group);
            WriteSubcommandDocs(r, subs);
            return;
        }
        // Redis's fields as they are, but its subcommands: those this server has, last, as Redis writes them.
        var fields = reference.Items;
        r.Map(fields.Length / 2 - (reference["subcommands"] is null ? 0 : 1) + (subs.Count > 0 ? 1 : 0));
        for (int i = 0; i + 1 < fields.Length; i += 2)
        {
            if (fields[i].Is("subcommands")) continue;
            fields[i].Write(r);
            fields[i + 1].Write(r);
        }
        WriteSubcommandDocs(r, subs);
    }

    private static void WriteSubcommandDocs(RespWriter r, List<CommandDef> subs)
    {
        if (subs.Count == 0) return;
        r.Bulk("subcommands"u8);
        r.Map(subs.Count);
        foreach (var s in subs)
        {
            r.Bulk(s.FullName);
            WriteDoc(r, s);
        }
    }

    /// <summary>
    /// COMMAND LIST: every command and subcommand by full name ("client|kill"), as Redis 7.0 lists them; a
    /// pattern matches the full name without regard to case (stringmatchlen with nocase), as does a category.
    /// </summary>
    private static void List(CommandContext x)
    {
        IEnumerable<CommandDef> defs = x.Engine.Commands.All.SelectMany(d => d.Subcommands is { Count: > 0 } subs ? subs.Values.Prepend(d) : [d]);
        if (x.Args.Count == 5 && x.Args.Is(2, "FILTERBY"))
        {
            string value = x.Args.GetString(4);
            // Command names are lower case: a lower-cased pattern matches them as nocase matching would.
            byte[] pattern = x.Args.ToArray(4);
            for (int i = 0; i < pattern.Length; i++)
            {
                if (pattern[i] is >= (byte)'A' and <= (byte)'Z') pattern[i] += 'a' - 'A'; // tolower, C locale
            }
            if (x.Args.Is(3, "PATTERN")) defs = defs.Where(d => KeyspacePubSub.Engine.PubSub.GlobPattern.IsMatch(pattern, System.Text.Encoding.ASCII.GetBytes(d.FullName)));
            else if (x.Args.Is(3, "ACLCAT")) defs = defs.Where(d => d.AclNames().Contains("@" + value.ToLowerInvariant()));
            else if (x.Args.Is(3, "MODULE")) defs = [];
            else
            {
                x.Reply.Error(Errors.Syntax);
                return;
            }
        }
        else if (x.Args.Count != 2)
        {
            x.Reply.Error(Errors.Syntax);
            return;
        }
        var list = defs.ToList();
        x.Reply.Array(list.Count);
        foreach (var d in list) x.Reply.Bulk(d.FullName);
    }

    private static void HelpReply(CommandContext x) => Help.Reply(x.Reply, "COMMAND",
        "(no subcommand)", "    Return details about all Redis commands.",
        "COUNT", "    Return the total number of commands in this Redis server.",
        "LIST", "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]", "    Return details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "DOCS [<command-name> ...]", "    Return documentation details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "GETKEYS <full-command>", "    Return the keys from a full Redis command.",
        "GETKEYSANDFLAGS <full-command>", "    Return the keys and the access flags from a full Redis command.");

    private static void GetKeys(CommandContext x) => KeysOf(x, withFlags: false);

    private static void GetKeysAndFlags(CommandContext x) => KeysOf(x, withFlags: true);

    /// <summary>
    /// COMMAND GETKEYS and GETKEYSANDFLAGS, as Redis 7.0's getKeysSubcommandImpl: the command (or subcommand)
    /// first, then whether it has keys at all, then its arity, then its keys by its key specs, or by its own
    /// rules where the specs do not suffice or do not apply (<see cref="KeySpec"/>). Shard channels are not keys.
    /// </summary>
    private static void KeysOf(CommandContext x, bool withFlags)
    {
        int argc = x.Args.Count - 2;
        var def = x.Engine.Commands.Find(x.Args[2]);
        if (def?.Subcommands is { } subs && argc >= 2) def = subs.GetValueOrDefault(x.Args.GetString(3));
        if (def is null)
        {
            x.Reply.Error("ERR Invalid command specified");
            return;
        }
        if (!KeySpec.HasKeys(def))
        {
            x.Reply.Error("ERR The command has no key arguments");
            return;
        }
        if ((def.Arity > 0 && def.Arity != argc) || argc < -def.Arity)
        {
            x.Reply.Error("ERR Invalid number of arguments specified for command");
            return;
        }
        var keys = new List<(int Pos, string[] Flags)>();
        KeySpec.FindKeys(def, x.Args, 2, keys);
        if (keys.Count == 0)
        {
            // As commandGetKeysAndFlagsCommand: a command whose keys are optional (EVAL) has none, not an error.
            if (def.Has(CommandFlags.NoMandatoryKeys)) x.Reply.Array(0);
            else x.Reply.Error("ERR Invalid arguments specified for command");
            return;
        }
        x.Reply.Array(keys.Count);
        foreach (var (pos, flags) in keys)
        {
            if (withFlags) x.Reply.Array(2);
            x.Reply.Bulk(x.Args[2 + pos]);
            if (!withFlags) continue;
            x.Reply.Set(flags.Length);
            foreach (var f in flags) x.Reply.SimpleString(f);
        }
    }
}
