using System.Text;
using KeyspacePubSub.Engine.Commands;
using KeyspacePubSub.Engine.PubSub;
using KeyspacePubSub.Protocol;
using Microsoft.Extensions.Logging;

namespace KeyspacePubSub.Engine.Acl;

/// <summary>Why a command was denied, with Redis's values (ACL_DENIED_*: the larger one is reported).</summary>
internal enum AclDenied { Ok = 0, Command = 1, Key = 2, Auth = 3, Channel = 4 }

/// <summary>
/// Redis 7.0's ACL (src/acl.c): the users, the default one first among equals, and the checks every command
/// passes. A new connection is the default user's, authenticated when that user is enabled and needs no
/// password (requirepass sets its password). Only under <see cref="Engine.Gate"/>.
/// </summary>
public sealed class AccessControl
{
    private readonly Engine _engine;
    private AclCommands? _commands;
    private readonly List<(int Pos, string[] Flags)> _keys = []; // a check's keys, found once for all its selectors (one check at a time: under the gate)

    internal AccessControl(Engine engine)
    {
        _engine = engine;
        Default = NewDefaultUser();
        Users.Add(Default.Name, Default);
        Log = new AclLog(engine);
    }

    /// <summary>The users by name, in byte order (as Redis's radix tree lists them).</summary>
    internal SortedDictionary<byte[], AclUser> Users { get; } = new(ByteOrder.Instance);

    internal AclUser Default { get; }

    internal AclLog Log { get; }

    /// <summary>The commands rules can name: read from the command table on first use.</summary>
    internal AclCommands Commands => _commands ??= new AclCommands(_engine.Commands);

    /// <summary>acl-pubsub-default: whether new users and selectors start with all channels.</summary>
    internal bool PubSubDefaultAllChannels => _engine.Config.AclPubSubDefaultAllChannels;

    /// <summary>As authRequired: a connection must authenticate unless the default user is enabled and needs no password.</summary>
    public bool AuthRequired => !(Default.NoPass && Default.Enabled);

    internal AclUser? Find(ReadOnlySpan<byte> name) => Users.GetValueOrDefault(name.ToArray());

    /// <summary>As ACLCreateDefaultUser: +@all ~* &amp;* on nopass.</summary>
    private AclUser NewDefaultUser()
    {
        var u = new AclUser("default"u8.ToArray(), allChannels: false);
        u.Apply(this, "+@all"u8.ToArray());
        u.Apply(this, "~*"u8.ToArray());
        u.Apply(this, "&*"u8.ToArray());
        u.Apply(this, "on"u8.ToArray());
        u.Apply(this, "nopass"u8.ToArray());
        return u;
    }

    /// <summary>
    /// As ACLLoadUsersAtStartup: the configuration's <c>user</c> lines (a name and its rules each), or the ACL
    /// file; both at once is refused, as Redis refuses it. Null, or why the server must not start.
    /// </summary>
    public string? LoadAtStartup(IReadOnlyList<string> userLines)
    {
        string file = _engine.Config.AclFile;
        if (file.Length > 0 && userLines.Count > 0)
            return "Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.";
        var seen = new HashSet<string>();
        foreach (string line in userLines)
        {
            // (Configuration text is decoded as UTF-8: its bytes are those of the file, as Redis reads them.)
            var argv = InlineSplitter.SplitArgs(Encoding.UTF8.GetBytes(line));
            if (argv is null || argv.Count == 0) return $"Error in user declaration '{line}': Syntax error";
            var name = argv[0];
            if (!seen.Add(Encoding.Latin1.GetString(name))) return $"Error in user declaration '{Encoding.Latin1.GetString(name)}': {AclRules.ErrorText(AclRuleError.Duplicate)}";
            if (AclSelector.HasSpaces(name)) return "Spaces not allowed in ACL usernames";
            var rules = AclRules.MergeSelectors(argv.Skip(1).ToList(), out int openedAt);
            if (rules is null) return $"Error in user declaration '{Encoding.Latin1.GetString(argv[1 + openedAt])}': Unmatched parenthesis in acl selector";
            var user = Find(name);
            if (user is null) Users.Add(name, user = new AclUser(name, PubSubDefaultAllChannels));
            else user.Apply(this, "reset"u8.ToArray()); // (only the default user exists already)
            foreach (var rule in rules)
            {
                var error = user.Apply(this, rule);
                if (error != AclRuleError.None)
                    return $"Error loading ACL rule '{Encoding.Latin1.GetString(rule)}' for the user named '{user.NameText}': {AclRules.ErrorText(error)}";
            }
            if (!user.Enabled) _engine.Logger.LogInformation("The user '{User}' is disabled (there is no 'on' modifier in the user description). Make sure this is not a configuration error.", user.NameText);
        }
        if (file.Length > 0 && AclFile.Load(this, file) is { } errors) return "Aborting Redis startup because of ACL errors: " + errors;
        return null;
    }

    /// <summary>As ACLUpdateDefaultUserPassword: requirepass's value, or nopass when it is empty.</summary>
    public void SetDefaultPassword(string requirepass)
    {
        Default.Apply(this, "resetpass"u8.ToArray());
        Default.Apply(this, requirepass.Length > 0 ? [(byte)'>', .. Encoding.UTF8.GetBytes(requirepass)] : "nopass"u8.ToArray());
    }

    /// <summary>As ACLAuthenticateUser: on success the connection is that user's; a failure is logged.</summary>
    internal bool Authenticate(Client c, ReadOnlySpan<byte> username, ReadOnlySpan<byte> password, ReadOnlySpan<byte> commandName)
    {
        var user = Find(username);
        if (user != null && user.Accepts(password))
        {
            c.Authenticated = true;
            c.User = user;
            return true;
        }
        Log.Add(c, AclDenied.Auth, c.InMulti, commandName.ToArray(), username.ToArray());
        return false;
    }

    /// <summary>As clientSetDefaultAuth: a new or RESET connection is the default user's.</summary>
    internal void SetDefaultAuth(Client c)
    {
        c.User = Default;
        c.Authenticated = !AuthRequired;
    }

    /// <summary>
    /// As ACLCheckAllUserCommandPerm: whether the user may run this command line (its name at
    /// <paramref name="start"/>) by any of its selectors; when none allows it, the reason Redis picks (a key or
    /// channel no selector allows, the last such argument) and that argument's position relative to start.
    /// </summary>
    internal AclDenied Check(AclUser user, CommandDef def, CommandArgs args, int start, out int position)
    {
        position = 0;
        if (user.Unrestricted) return AclDenied.Ok;
        var relevant = AclDenied.Command;
        int last = 0, local = 0;
        List<(int Pos, string[] Flags)>? keys = null;
        foreach (var s in user.Selectors)
        {
            var result = CheckSelector(s, def, args, start, ref keys, ref local);
            if (result == AclDenied.Ok) return AclDenied.Ok;
            if (result > relevant || (result == relevant && local > last))
            {
                relevant = result;
                last = local;
            }
        }
        position = last;
        return relevant;
    }

    /// <summary>As ACLUserCheckCmdWithUnrestrictedKeyAccess (SORT's BY and GET): a selector that allows the command and reads every key.</summary>
    internal bool CanReadAnyKey(AclUser user, CommandDef def, CommandArgs args, int start)
    {
        if (user.Unrestricted) return true;
        List<(int Pos, string[] Flags)>? keys = null;
        int position = 0;
        foreach (var s in user.Selectors)
        {
            if (CheckSelector(s, def, args, start, ref keys, ref position) != AclDenied.Ok) continue;
            if (s.AllKeys || s.Keys.Exists(k => (k.Permissions & KeyPattern.Read) != 0 && k.Pattern is [(byte)'*'])) return true;
        }
        return false;
    }

    private AclDenied CheckSelector(AclSelector s, CommandDef def, CommandArgs args, int start, ref List<(int Pos, string[] Flags)>? keys, ref int position)
    {
        int argc = args.Count - start;
        if (!s.AllCommands && !def.Has(CommandFlags.NoAuth))
        {
            var cmd = def.AclEntry ??= Commands.Of(def);
            if (!s.Allows(cmd))
            {
                if (argc < 2 || s.FirstArgs is null || !s.FirstArgs.TryGetValue(cmd.Id, out var allowed)) return AclDenied.Command;
                int idx = cmd.Parent != null ? 2 : 1;
                if (idx >= argc || !allowed.Exists(a => AsciiEqualsIgnoreCase(args[start + idx], a))) return AclDenied.Command;
            }
        }
        if (!s.AllKeys && (def.AclHasKeys ??= KeySpec.HasKeys(def)))
        {
            if (keys is null)
            {
                keys = _keys;
                keys.Clear();
                KeySpec.FindKeys(def, args, start, keys);
            }
            foreach (var (pos, flags) in keys)
            {
                if (!MayTouch(s, args[start + pos], flags))
                {
                    position = pos;
                    return AclDenied.Key;
                }
            }
        }
        if (!s.AllChannels && ChannelArguments(def) is var (first, last, pattern))
        {
            for (int pos = first; pos <= Math.Min(last, argc - 1); pos++)
            {
                if (!MayUseChannel(s.Channels, args[start + pos], pattern))
                {
                    position = pos;
                    return AclDenied.Channel;
                }
            }
        }
        return AclDenied.Ok;
    }

    /// <summary>As strcasecmp: ASCII letters fold, nothing else.</summary>
    private static bool AsciiEqualsIgnoreCase(ReadOnlySpan<byte> arg, string allowed)
    {
        if (arg.Length != allowed.Length) return false;
        for (int i = 0; i < arg.Length; i++)
        {
            if (Fold(arg[i]) != Fold(allowed[i])) return false;
        }
        return true;
    }

    private static int Fold(int c) => c is >= 'A' and <= 'Z' ? c + 32 : c;

    /// <summary>As ACLSelectorCheckKey: a pattern that matches the key and grants what its flags need (read for access; write for insert, delete, update).</summary>
    private static bool MayTouch(AclSelector s, ReadOnlySpan<byte> key, string[] flags)
    {
        int need = 0;
        foreach (var f in flags)
        {
            if (f == "access") need |= KeyPattern.Read;
            else if (f is "insert" or "delete" or "update") need |= KeyPattern.Write;
        }
        foreach (var p in s.Keys)
        {
            if ((p.Permissions & need) == need && GlobPattern.IsMatch(p.Pattern, key)) return true;
        }
        return false;
    }

    /// <summary>As ACLCheckChannelAgainstList: a channel matches a pattern; a PSUBSCRIBE pattern must equal one.</summary>
    internal static bool MayUseChannel(List<byte[]> allowed, ReadOnlySpan<byte> channel, bool isPattern)
    {
        foreach (var p in allowed)
        {
            if (isPattern ? p.AsSpan().SequenceEqual(channel) : GlobPattern.IsMatch(p, channel)) return true;
        }
        return false;
    }

    /// <summary>The channels a command publishes or subscribes to (Redis's commands_with_channels): argument range and whether they are patterns.</summary>
    private static (int First, int Last, bool Pattern)? ChannelArguments(CommandDef def) => def.FullName switch
    {
        "subscribe" or "ssubscribe" => (1, int.MaxValue, false),
        "psubscribe" => (1, int.MaxValue, true),
        "publish" or "spublish" => (1, 1, false),
        _ => null,
    };

    /// <summary>
    /// As ACLKillPubsubClientsIfNeeded: when a user's new rules no longer allow every channel and pattern its
    /// connections are subscribed to, those connections are closed (unless the new channels include all the old).
    /// </summary>
    internal void KillSubscribersIfNeeded(AclUser updated, AclUser original)
    {
        if (updated.Selectors.Exists(s => s.AllChannels)) return;
        var upcoming = updated.Selectors.SelectMany(s => s.Channels).ToList();
        // (A user that had all channels and has them no more has lost some: Redis 7.0.15 checks that too; 7.0.4 did not.)
        bool superset = !original.Selectors.Exists(s => s.AllChannels)
            && original.Selectors.SelectMany(s => s.Channels).All(old => upcoming.Exists(n => n.AsSpan().SequenceEqual(old)));
        if (superset) return;
        foreach (var c in _engine.Clients.ToList())
        {
            if (c.Closed || c.User != original || !c.InPubSubMode) continue;
            bool kill = c.Subs.Find(SubscriptionKind.Pattern)?.Keys.Any(p => !MayUseChannel(upcoming, p, true)) == true
                || c.Subs.Find(SubscriptionKind.Channel)?.Keys.Any(ch => !MayUseChannel(upcoming, ch, false)) == true
                || c.Subs.Find(SubscriptionKind.ShardChannel)?.Keys.Any(ch => !MayUseChannel(upcoming, ch, false)) == true;
            if (kill) _engine.CloseNowOrAfterReply(c);
        }
    }

    /// <summary>As ACLFreeUserAndKillClients: the user goes, and its connections are closed (the running one after its reply).</summary>
    internal void Delete(AclUser user)
    {
        Users.Remove(user.Name);
        CloseClientsOf(user);
    }

    /// <summary>
    /// ACL LOAD's end: <paramref name="users"/> become the users. The default user stays the same object (new
    /// connections and requirepass refer to it) with the file's rules, or a new default user's when the file
    /// has none; every connection of another user is closed, as Redis frees the old users.
    /// </summary>
    internal void Replace(SortedDictionary<byte[], AclUser> users)
    {
        var old = Users.Values.Where(u => u != Default).ToList();
        Default.CopyFrom(users.GetValueOrDefault(Default.Name) ?? NewDefaultUser());
        Users.Clear();
        foreach (var (name, u) in users) Users[name] = u;
        Users[Default.Name] = Default;
        foreach (var u in old) CloseClientsOf(u);
    }

    private void CloseClientsOf(AclUser user)
    {
        foreach (var c in _engine.Clients.ToList())
        {
            if (c.Closed || c.User != user) continue;
            SetDefaultAuth(c);
            c.Authenticated = false;
            _engine.CloseNowOrAfterReply(c);
        }
    }

    /// <summary>Byte-wise order of names, as a radix tree lists its keys.</summary>
    private sealed class ByteOrder : IComparer<byte[]>
    {
        public static readonly ByteOrder Instance = new();
        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}
