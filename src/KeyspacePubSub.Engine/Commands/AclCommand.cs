using System.Security.Cryptography;
using System.Text;
using KeyspacePubSub.Engine.Acl;
using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>ACL and its subcommands (Redis 7.0's aclCommand), over <see cref="AccessControl"/>.</summary>
internal static class AclCommand
{
    private const CommandFlags Info = NoScript | Loading | Stale | Sentinel, Change = Admin | Info;

    public static void Register(CommandTable t)
    {
        t.AddContainer(new() { Name = "acl", Arity = -2, Group = "server", Since = "6.0.0", Summary = "A container for Access List Control commands." },
            new() { Name = "cat", Arity = -2, Flags = Info, Handler = Cat, Group = "server", Since = "6.0.0" },
            new() { Name = "deluser", Arity = -3, Flags = Change, Handler = DelUser, Group = "server", Since = "6.0.0" },
            new() { Name = "dryrun", Arity = -4, Flags = Change, Handler = DryRun, Group = "server", Since = "7.0.0" },
            new() { Name = "genpass", Arity = -2, Flags = Info, Handler = GenPass, Group = "server", Since = "6.0.0" },
            new() { Name = "getuser", Arity = 3, Flags = Change, Handler = GetUser, Group = "server", Since = "6.0.0" },
            new() { Name = "list", Arity = 2, Flags = Change, Handler = x => ListUsers(x, names: false), Group = "server", Since = "6.0.0" },
            new() { Name = "load", Arity = 2, Flags = Change, Handler = Load, Group = "server", Since = "6.0.0" },
            new() { Name = "log", Arity = -2, Flags = Change, Handler = Log, Group = "server", Since = "6.0.0" },
            new() { Name = "save", Arity = 2, Flags = Change, Handler = Save, Group = "server", Since = "6.0.0" },
            new() { Name = "setuser", Arity = -3, Flags = Change, Handler = SetUser, Group = "server", Since = "6.0.0" },
            new() { Name = "users", Arity = 2, Flags = Change, Handler = x => ListUsers(x, names: true), Group = "server", Since = "6.0.0" },
            new() { Name = "whoami", Arity = 2, Flags = Info, Handler = x => x.Reply.Bulk(x.Client.User.Name), Group = "server", Since = "6.0.0" },
            new() { Name = "help", Arity = 2, Flags = Loading | Stale | Sentinel, Handler = HelpReply, Group = "server", Since = "6.0.0" });
    }

    private static void SetUser(CommandContext x)
    {
        var acl = x.Engine.Acl;
        for (int j = 2; j < x.Args.Count; j++) x.Engine.Redact(j);
        var name = x.Args.ToArray(2);
        if (AclSelector.HasSpaces(name))
        {
            x.Reply.Error("ERR Usernames can't contain spaces or null characters");
            return;
        }
        var rules = new List<byte[]>();
        for (int j = 3; j < x.Args.Count; j++) rules.Add(x.Args.ToArray(j));
        var merged = AclRules.MergeSelectors(rules, out int openedAt);
        if (merged is null)
        {
            x.Reply.Error($"ERR Unmatched parenthesis in acl selector starting at '{Errors.CText(x.Args[3 + openedAt])}'.");
            return;
        }
        var existing = acl.Find(name);
        var staged = existing?.Clone() ?? new AclUser(name, acl.PubSubDefaultAllChannels);
        foreach (var rule in merged)
        {
            var error = staged.Apply(acl, rule);
            if (error != AclRuleError.None)
            {
                x.Reply.Error($"ERR Error in ACL SETUSER modifier '{Errors.CText(rule)}': {AclRules.ErrorText(error)}");
                return;
            }
        }
        if (existing != null)
        {
            acl.KillSubscribersIfNeeded(staged, existing);
            existing.CopyFrom(staged);
        }
        else
        {
            acl.Users.Add(name, staged);
        }
        x.Reply.Ok();
    }

    private static void DelUser(CommandContext x)
    {
        var acl = x.Engine.Acl;
        for (int j = 2; j < x.Args.Count; j++)
        {
            if (x.Args[j].SequenceEqual("default"u8))
            {
                x.Reply.Error("ERR The 'default' user cannot be removed");
                return;
            }
        }
        int deleted = 0;
        for (int j = 2; j < x.Args.Count; j++)
        {
            if (acl.Find(x.Args[j]) is not { } user) continue;
            acl.Delete(user);
            deleted++;
        }
        x.Reply.Integer(deleted);
    }

    private static void GetUser(CommandContext x)
    {
        var acl = x.Engine.Acl;
        if (acl.Find(x.Args[2]) is not { } u)
        {
            x.Reply.NullBulk();
            return;
        }
        var r = x.Reply;
        r.Map(6);
        r.Bulk("flags"u8);
        var flags = new List<string> { u.Enabled ? "on" : "off" };
        if (u.NoPass) flags.Add("nopass");
        if (u.SanitizePayload == false) flags.Add("skip-sanitize-payload");
        if (u.SanitizePayload == true) flags.Add("sanitize-payload");
        r.Set(flags.Count);
        foreach (var f in flags) r.Bulk(f);
        r.Bulk("passwords"u8);
        r.Array(u.Passwords.Count);
        foreach (var p in u.Passwords) r.Bulk(p);
        WriteSelector(acl, r, u.Root);
        r.Bulk("selectors"u8);
        r.Array(u.Selectors.Count - 1);
        foreach (var s in u.Selectors.Skip(1))
        {
            r.Map(3);
            WriteSelector(acl, r, s);
        }
    }

    private static void WriteSelector(AccessControl acl, RespWriter r, AclSelector s)
    {
        r.Bulk("commands"u8);
        r.Bulk(Encoding.Latin1.GetBytes(AclDescribe.CommandRules(acl, s)));
        r.Bulk("keys"u8);
        r.Bulk(Encoding.Latin1.GetBytes(AclDescribe.KeysField(s)));
        r.Bulk("channels"u8);
        r.Bulk(Encoding.Latin1.GetBytes(AclDescribe.ChannelsField(s)));
    }

    private static void ListUsers(CommandContext x, bool names)
    {
        var acl = x.Engine.Acl;
        x.Reply.Array(acl.Users.Count);
        foreach (var u in acl.Users.Values)
        {
            if (names) x.Reply.Bulk(u.Name);
            else x.Reply.Bulk(Encoding.Latin1.GetBytes("user " + u.NameText + " " + AclDescribe.User(acl, u)));
        }
    }

    private static void Cat(CommandContext x)
    {
        if (x.Args.Count > 3)
        {
            PubSubCommands.SubcommandSyntaxError(x);
            return;
        }
        if (x.Args.Count == 2)
        {
            var all = AclCommands.CategoryOrder().ToList();
            x.Reply.Array(all.Count);
            foreach (var c in all) x.Reply.Bulk(AclCommands.Name(c));
            return;
        }
        var category = AclCommands.Category(x.Args.GetString(2));
        if (category == AclCategory.None)
        {
            x.Reply.Error($"ERR Unknown category '{Errors.Truncate(Errors.CText(x.Args[2]), 128)}'");
            return;
        }
        var names = x.Engine.Acl.Commands.All().Where(c => (c.Categories & category) != 0 && !c.Newer).Select(c => c.FullName).ToList();
        x.Reply.Array(names.Count);
        foreach (var n in names) x.Reply.Bulk(n);
    }

    private static void GenPass(CommandContext x)
    {
        if (x.Args.Count > 3)
        {
            PubSubCommands.SubcommandSyntaxError(x);
            return;
        }
        long bits = 256;
        if (x.Args.Count == 3 && !x.Args.TryGetInt64(2, out bits))
        {
            x.Reply.Error(Errors.NotInteger);
            return;
        }
        if (bits <= 0 || bits > 4096)
        {
            x.Reply.Error("ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096");
            return;
        }
        int chars = (int)((bits + 3) / 4);
        x.Reply.Bulk(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes((chars + 1) / 2))[..chars]);
    }

    private static void Log(CommandContext x)
    {
        var log = x.Engine.Acl.Log;
        if (x.Args.Count > 3)
        {
            PubSubCommands.SubcommandSyntaxError(x);
            return;
        }
        long count = 10;
        if (x.Args.Count == 3)
        {
            if (x.Args.Is(2, "RESET"))
            {
                log.Reset();
                x.Reply.Ok();
                return;
            }
            if (!x.Args.TryGetInt64(2, out count))
            {
                x.Reply.Error(Errors.NotInteger);
                return;
            }
        }
        log.Write(x.Reply, count);
    }

    private static void DryRun(CommandContext x)
    {
        var e = x.Engine;
        if (e.Acl.Find(x.Args[2]) is not { } user)
        {
            x.Reply.Error($"ERR User '{Errors.CText(x.Args[2])}' not found");
            return;
        }
        var cmd = e.Commands.Find(x.Args[3]);
        if (cmd?.Subcommands is { Count: > 0 } subs && x.Args.Count > 4) cmd = subs.GetValueOrDefault(x.Args.GetString(4).ToLowerInvariant());
        if (cmd is null)
        {
            x.Reply.Error($"ERR Command '{Errors.CText(x.Args[3])}' not found");
            return;
        }
        int argc = x.Args.Count - 3;
        if ((cmd.Arity > 0 && cmd.Arity != argc) || argc < -cmd.Arity)
        {
            x.Reply.Error($"ERR wrong number of arguments for '{cmd.FullName}' command");
            return;
        }
        var result = e.Acl.Check(user, cmd, x.Args, 3, out int position);
        switch (result)
        {
            case AclDenied.Ok:
                x.Reply.Ok();
                return;
            case AclDenied.Command:
                x.Reply.Bulk($"This user has no permissions to run the '{cmd.FullName}' command");
                return;
            default:
                string what = result == AclDenied.Key ? "key" : "channel";
                x.Reply.Bulk([.. "This user has no permissions to access the '"u8, .. x.Args[3 + position], .. Encoding.ASCII.GetBytes($"' {what}")]);
                return;
        }
    }

    private static void Load(CommandContext x)
    {
        var e = x.Engine;
        if (e.Config.AclFile.Length == 0)
        {
            x.Reply.Error(NoAclFile);
            return;
        }
        string? errors = AclFile.Load(e.Acl, e.Config.AclFile);
        if (errors is null) x.Reply.Ok();
        else x.Reply.Error("ERR " + errors);
    }

    private static void Save(CommandContext x)
    {
        var e = x.Engine;
        if (e.Config.AclFile.Length == 0)
        {
            x.Reply.Error(NoAclFile);
            return;
        }
        if (AclFile.Save(e.Acl, e.Config.AclFile, e.Logger)) x.Reply.Ok();
        else x.Reply.Error("ERR There was an error trying to save the ACLs. Please check the server logs for more information");
    }

    private const string NoAclFile = "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";

    private static void HelpReply(CommandContext x) => Help.Reply(x.Reply, "ACL",
        "CAT [<category>]",
        "    List all commands that belong to <category>, or all command categories",
        "    when no category is specified.",
        "DELUSER <username> [<username> ...]",
        "    Delete a list of users.",
        "DRYRUN <username> <command> [<arg> ...]",
        "    Returns whether the user can execute the given command without executing the command.",
        "GETUSER <username>",
        "    Get the user's details.",
        "GENPASS [<bits>]",
        "    Generate a secure 256-bit user password. The optional `bits` argument can",
        "    be used to specify a different size.",
        "LIST",
        "    Show users details in config file format.",
        "LOAD",
        "    Reload users from the ACL file.",
        "LOG [<count> | RESET]",
        "    Show the ACL log entries.",
        "SAVE",
        "    Save the current config to the ACL file.",
        "SETUSER <username> <attribute> [<attribute> ...]",
        "    Create or modify a user with the specified attributes.",
        "USERS",
        "    List all the registered usernames.",
        "WHOAMI",
        "    Return the current connection username.");
}
