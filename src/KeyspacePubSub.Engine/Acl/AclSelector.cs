using System.Text;
using KeyspacePubSub.Engine.Commands;

namespace KeyspacePubSub.Engine.Acl;

/// <summary>Why an ACL rule was refused, as the errno values of Redis's ACLSetUser, with its texts.</summary>
internal enum AclRuleError
{
    None,
    Syntax,            // EINVAL
    UnknownCommand,    // ENOENT
    KeyAfterAll,       // EEXIST
    ChannelAfterAll,   // EISDIR
    NoSuchPassword,    // ENODEV
    BadHash,           // EBADMSG
    SubcommandFirstArg, // ECHILD
    Duplicate,         // EALREADY
}

/// <summary>A key pattern and what it grants: read (%R~), write (%W~) or both (~).</summary>
internal sealed class KeyPattern(byte[] pattern, int permissions)
{
    public const int Read = 1, Write = 2, All = Read | Write;
    public byte[] Pattern { get; } = pattern;
    public int Permissions { get; set; } = permissions;

    public string Describe()
    {
        string prefix = Permissions switch { All => "~", Read => "%R~", _ => "%W~" };
        return prefix + Encoding.Latin1.GetString(Pattern);
    }
}

/// <summary>
/// One set of permissions of a user, as Redis 7.0's aclSelector: the commands it may run (a bitmap over
/// <see cref="AclCommands"/>, plus first arguments allowed for a command otherwise denied, as
/// <c>+select|0</c>), the keys it may touch (patterns, each for reading, writing or both) and the channels it
/// may publish or subscribe to. A user has a root selector and may have more, in parentheses; a command may
/// run when any one of them allows all of it.
/// </summary>
internal sealed class AclSelector
{
    // Every bit set (as +@all leaves it: the default user needs no command table), or the bits, null for none.
    private bool _allOnes;
    private ulong[]? _bits;

    public bool Root { get; }
    public bool AllKeys { get; private set; }
    public bool AllChannels { get; private set; }
    public bool AllCommands { get; private set; }
    public List<KeyPattern> Keys { get; } = [];
    public List<byte[]> Channels { get; } = [];

    /// <summary>First arguments allowed for a command whose bit is clear (<c>+select|0</c>), by command id.</summary>
    public Dictionary<int, List<string>>? FirstArgs { get; private set; }

    /// <summary>As ACLCreateSelector: no commands, no keys; all channels when acl-pubsub-default is allchannels.</summary>
    public AclSelector(bool root, bool allChannels)
    {
        Root = root;
        AllChannels = allChannels;
    }

    public AclSelector Clone()
    {
        var copy = new AclSelector(Root, AllChannels)
        {
            AllKeys = AllKeys,
            AllCommands = AllCommands,
            _allOnes = _allOnes,
            _bits = (ulong[]?)_bits?.Clone(),
        };
        foreach (var k in Keys) copy.Keys.Add(new KeyPattern(k.Pattern, k.Permissions));
        copy.Channels.AddRange(Channels);
        if (FirstArgs != null) copy.FirstArgs = FirstArgs.ToDictionary(kv => kv.Key, kv => new List<string>(kv.Value));
        return copy;
    }

    /// <summary>Whether the command's bit is set.</summary>
    public bool Allows(AclCommandEntry cmd) => Bit(cmd.Id);

    /// <summary>Whether the bit Redis sets only with +@all is set: the rules start from all commands.</summary>
    public bool CanRunFutureCommands(AclCommands table) => Bit(table.FutureBit);

    /// <summary>Whether the two allow the same commands (of Redis 7.0's) and agree on the future-commands bit.</summary>
    public bool SameBits(AclSelector other, AclCommands table) =>
        Bit(table.FutureBit) == other.Bit(table.FutureBit) && table.All().All(c => c.Newer || Bit(c.Id) == other.Bit(c.Id));

    private bool Bit(int id) => _allOnes || (_bits != null && (_bits[id >> 6] & (1UL << (id & 63))) != 0);

    /// <summary>As ACLSetSelectorCommandBit: clearing a bit also clears the allcommands flag.</summary>
    private void SetBit(AclCommands table, int id, bool value)
    {
        if (!value) AllCommands = false;
        if (Bit(id) == value) return;
        if (_allOnes)
        {
            _bits = new ulong[(table.BitCount + 63) / 64];
            Array.Fill(_bits, ulong.MaxValue);
            _allOnes = false;
        }
        _bits ??= new ulong[(table.BitCount + 63) / 64];
        if (value) _bits[id >> 6] |= 1UL << (id & 63);
        else _bits[id >> 6] &= ~(1UL << (id & 63));
    }

    /// <summary>As ACLChangeSelectorPerm: the command's bit and, for a container, its subcommands' bits; its first arguments go.</summary>
    public void Change(AclCommands table, AclCommandEntry cmd, bool allow)
    {
        SetBit(table, cmd.Id, allow);
        FirstArgs?.Remove(cmd.Id);
        foreach (var sub in cmd.Subcommands) SetBit(table, sub.Id, allow);
    }

    /// <summary>As ACLSetSelectorCommandBitsForCategory: every command of the category, and subcommands by their own categories.</summary>
    public void ChangeCategory(AclCommands table, AclCategory category, bool allow)
    {
        foreach (var top in table.TopLevel)
        {
            if ((top.Categories & category) != 0) Change(table, top, allow);
            foreach (var sub in top.Subcommands)
            {
                if ((sub.Categories & category) != 0) Change(table, sub, allow);
            }
        }
    }

    /// <summary>As ACLCountCategoryBitsForSelector: the category's commands allowed and denied.</summary>
    public (int On, int Off) CountCategory(AclCommands table, AclCategory category)
    {
        int on = 0, off = 0;
        foreach (var c in table.All())
        {
            if ((c.Categories & category) == 0 || c.Newer) continue;
            if (Allows(c)) on++;
            else off++;
        }
        return (on, off);
    }

    public void AllowAll()
    {
        _allOnes = true;
        _bits = null;
        AllCommands = true;
        FirstArgs = null;
    }

    public void DenyAll()
    {
        _allOnes = false;
        _bits = null;
        AllCommands = false;
        FirstArgs = null;
    }

    /// <summary>As ACLSetSelector: applies one rule about commands, keys or channels.</summary>
    public AclRuleError Apply(AccessControl acl, byte[] op)
    {
        string text = Encoding.Latin1.GetString(op);
        if (Is(text, "allkeys") || Is(text, "~*"))
        {
            AllKeys = true;
            Keys.Clear();
        }
        else if (Is(text, "resetkeys"))
        {
            AllKeys = false;
            Keys.Clear();
        }
        else if (Is(text, "allchannels") || Is(text, "&*"))
        {
            AllChannels = true;
            Channels.Clear();
        }
        else if (Is(text, "resetchannels"))
        {
            AllChannels = false;
            Channels.Clear();
        }
        else if (Is(text, "allcommands") || Is(text, "+@all"))
        {
            AllowAll();
        }
        else if (Is(text, "nocommands") || Is(text, "-@all"))
        {
            DenyAll();
        }
        else if (text.Length > 0 && (text[0] == '~' || text[0] == '%'))
        {
            if (AllKeys) return AclRuleError.KeyAfterAll;
            int permissions = 0, offset = 1;
            if (text[0] == '%')
            {
                for (; offset < text.Length; offset++)
                {
                    char ch = char.ToUpperInvariant(text[offset]);
                    if (ch == 'R' && (permissions & KeyPattern.Read) == 0) permissions |= KeyPattern.Read;
                    else if (ch == 'W' && (permissions & KeyPattern.Write) == 0) permissions |= KeyPattern.Write;
                    else if (text[offset] == '~')
                    {
                        offset++;
                        break;
                    }
                    else return AclRuleError.Syntax;
                }
                if (permissions == 0) return AclRuleError.Syntax; // "%~a": a pattern that grants nothing
            }
            else permissions = KeyPattern.All;
            // (Redis takes "%R" with no '~' as a pattern of its own remaining bytes: none, an empty pattern.)
            var pattern = op.AsSpan(Math.Min(offset, op.Length)).ToArray();
            if (HasSpaces(pattern)) return AclRuleError.Syntax;
            var existing = Keys.Find(k => k.Pattern.AsSpan().SequenceEqual(pattern));
            if (existing is null) Keys.Add(new KeyPattern(pattern, permissions));
            else existing.Permissions |= permissions;
            AllKeys = false;
        }
        else if (text.Length > 0 && text[0] == '&')
        {
            if (AllChannels) return AclRuleError.ChannelAfterAll;
            var pattern = op.AsSpan(1).ToArray();
            if (HasSpaces(pattern)) return AclRuleError.Syntax;
            if (!Channels.Exists(c => c.AsSpan().SequenceEqual(pattern))) Channels.Add(pattern);
            AllChannels = false;
        }
        else if (text.Length > 0 && text[0] == '+' && !(text.Length > 1 && text[1] == '@'))
        {
            return Allow(acl.Commands, text[1..]);
        }
        else if (text.Length > 0 && text[0] == '-' && !(text.Length > 1 && text[1] == '@'))
        {
            var cmd = acl.Commands.Find(text[1..]);
            if (cmd is null) return AclRuleError.UnknownCommand;
            Change(acl.Commands, cmd, false);
        }
        else if (text.Length > 1 && (text[0] == '+' || text[0] == '-') && text[1] == '@')
        {
            var category = AclCommands.Category(text[2..]);
            if (category == AclCategory.None) return AclRuleError.UnknownCommand;
            ChangeCategory(acl.Commands, category, text[0] == '+');
        }
        else
        {
            return AclRuleError.Syntax;
        }
        return AclRuleError.None;
    }

    // "+name", "+container|sub", or "+command|first-arg" (a first argument allowed for a command otherwise denied).
    private AclRuleError Allow(AclCommands table, string name)
    {
        int bar = name.LastIndexOf('|');
        if (bar < 0)
        {
            var cmd = table.Find(name);
            if (cmd is null) return AclRuleError.UnknownCommand;
            Change(table, cmd, true);
            return AclRuleError.None;
        }
        var parent = table.Find(name[..bar]);
        if (parent is null) return AclRuleError.UnknownCommand;
        if (parent.Parent != null) return AclRuleError.SubcommandFirstArg;
        string sub = name[(bar + 1)..];
        if (sub.Length == 0) return AclRuleError.Syntax;
        if (parent.Subcommands.Count > 0)
        {
            var cmd = table.Find(name);
            if (cmd is null) return AclRuleError.UnknownCommand;
            Change(table, cmd, true);
            return AclRuleError.None;
        }
        FirstArgs ??= [];
        if (!FirstArgs.TryGetValue(parent.Id, out var list)) FirstArgs[parent.Id] = list = [];
        if (!list.Exists(a => a.Equals(sub, StringComparison.OrdinalIgnoreCase))) list.Add(sub);
        return AclRuleError.None;
    }

    /// <summary>As strcasecmp on the rule as a C string.</summary>
    private static bool Is(string op, string word) => op.Equals(word, StringComparison.OrdinalIgnoreCase);

    /// <summary>As ACLStringHasSpaces: C's isspace, or a NUL.</summary>
    public static bool HasSpaces(ReadOnlySpan<byte> s)
    {
        foreach (byte b in s)
        {
            if (b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\v' or (byte)'\f' or (byte)'\r' or 0) return true;
        }
        return false;
    }
}
