using KeyspacePubSub.Protocol;

namespace KeyspacePubSub.Engine.Commands;

[Flags]
public enum CommandFlags
{
    None = 0,
    Write = 1 << 0,
    ReadOnly = 1 << 1,
    Admin = 1 << 2,
    PubSub = 1 << 3,
    NoScript = 1 << 4,
    Loading = 1 << 5,
    Stale = 1 << 6,
    Fast = 1 << 7,
    NoAuth = 1 << 8,
    NoMulti = 1 << 9,
    AllowBusy = 1 << 10,
    Sentinel = 1 << 11,
    DenyOom = 1 << 12,
    /// <summary>Allowed while a RESP2 connection is subscribed.</summary>
    SubscribedContext = 1 << 13,
    /// <summary>Never queued by MULTI: EXEC, DISCARD, MULTI, WATCH, QUIT, RESET.</summary>
    NotQueued = 1 << 14,
    /// <summary>Not recorded by SLOWLOG (EXEC: the commands it runs are).</summary>
    SkipSlowlog = 1 << 15,
    NoAsyncLoading = 1 << 16,
    /// <summary>May block the client (BLPOP and the like): "blocking" in COMMAND INFO, the @blocking category.</summary>
    Blocking = 1 << 17,
    /// <summary>Keys found by a numkeys argument (<see cref="CommandDef.KeyNumIndex"/>), not by first/last/step.</summary>
    MovableKeys = 1 << 18,
    /// <summary>Redis's internal may_replicate (PUBLISH, SPUBLISH): held by CLIENT PAUSE WRITE though not a write; COMMAND INFO does not show it.</summary>
    MayReplicate = 1 << 19,
    /// <summary>Redis's CMD_PROTECTED (DEBUG): refused unless its enable-... parameter allows the client.</summary>
    Protected = 1 << 20,
    /// <summary>Redis's CMD_ASKING (RESTORE-ASKING): meaningful in a cluster only; COMMAND INFO shows it.</summary>
    Asking = 1 << 21,
    /// <summary>Redis's CMD_SKIP_MONITOR (EVAL: it feeds MONITOR itself, before the commands its script runs).</summary>
    SkipMonitor = 1 << 22,
    /// <summary>Redis's CMD_NO_MANDATORY_KEYS (EVAL: its numkeys may be 0).</summary>
    NoMandatoryKeys = 1 << 23,
}

/// <summary>Everything a handler needs: the engine, the calling client and its arguments.</summary>
public readonly struct CommandContext(Engine engine, Client client, CommandArgs args, CommandDef command)
{
    public Engine Engine { get; } = engine;
    public Client Client { get; } = client;
    public CommandArgs Args { get; } = args;
    public CommandDef Command { get; } = command;
    public RespWriter Reply => Client.Reply;
}

public delegate void CommandHandler(CommandContext ctx);

/// <summary>Redis's ACL categories, in the order of its category table (acl.c), which COMMAND INFO lists them in.</summary>
[Flags]
public enum AclCategory
{
    None = 0,
    Keyspace = 1 << 0, Read = 1 << 1, Write = 1 << 2, Set = 1 << 3, SortedSet = 1 << 4, List = 1 << 5, Hash = 1 << 6,
    String = 1 << 7, Bitmap = 1 << 8, HyperLogLog = 1 << 9, Geo = 1 << 10, Stream = 1 << 11, PubSub = 1 << 12,
    Admin = 1 << 13, Fast = 1 << 14, Slow = 1 << 15, Blocking = 1 << 16, Dangerous = 1 << 17, Connection = 1 << 18,
    Transaction = 1 << 19, Scripting = 1 << 20,
}

/// <summary>One entry of the command table: name, arity (Redis convention: negative = at least), flags, keys.</summary>
public sealed class CommandDef
{
    public required string Name { get; init; }
    public required int Arity { get; init; }
    public CommandFlags Flags { get; init; }
    public CommandHandler? Handler { get; init; }
    public int FirstKey { get; init; }
    public int LastKey { get; init; }
    public int Step { get; init; }
    public string Group { get; init; } = "generic";
    public string Summary { get; init; } = "";
    public string Since { get; init; } = "1.0.0";

    /// <summary>For <see cref="CommandFlags.MovableKeys"/>: the argument holding the number of keys that follow it (LMPOP: 1).</summary>
    public int KeyNumIndex { get; init; }

    /// <summary>EVAL, EVALSHA and their _RO forms: a script's flags may replace this command's (Engine.FlagsOf).</summary>
    public bool RunsScript { get; init; }

    /// <summary>
    /// The key arguments' positions in a command line that starts (its name) at <paramref name="start"/> of
    /// <paramref name="args"/>, relative to that start: by first key, last key and step, or after the numkeys
    /// argument for movable keys, after the destination if there is one (none when numkeys is not a count the
    /// line holds).
    /// </summary>
    public IEnumerable<int> KeyPositions(CommandArgs args, int start = 0)
    {
        int argc = args.Count - start;
        if (MovableKeyPositions != null) return MovableKeyPositions(args, start);
        return FixedOrCountedKeys(args, start, argc);
    }

    /// <summary>For movable keys found otherwise than by a numkeys argument (SORT's STORE): the positions, as <see cref="KeyPositions"/>.</summary>
    public Func<CommandArgs, int, IEnumerable<int>>? MovableKeyPositions { get; init; }

    private IEnumerable<int> FixedOrCountedKeys(CommandArgs args, int start, int argc)
    {
        if (Has(CommandFlags.MovableKeys))
        {
            if (!args.TryGetInt64(start + KeyNumIndex, out long n) || n < 1 || n > argc - 1 - KeyNumIndex) yield break;
            if (FirstKey > 0) yield return FirstKey; // the destination of ZUNIONSTORE and the like
            for (int i = 0; i < n; i++) yield return KeyNumIndex + 1 + i;
            yield break;
        }
        if (FirstKey <= 0) yield break;
        int last = LastKey < 0 ? argc + LastKey : LastKey;
        for (int i = FirstKey; i <= last && i < argc; i += Math.Max(1, Step)) yield return i;
    }

    /// <summary>The category Redis's command JSON gives in place of the group's (WAIT, group generic, is @connection).</summary>
    public AclCategory? GroupAcl { get; init; }

    /// <summary>Categories Redis's command JSON gives beyond the one of the group (KEYS: dangerous; DBSIZE: keyspace).</summary>
    public AclCategory ExtraAcl { get; init; }

    /// <summary>This command's entry among the commands ACL rules name, and whether it names keys: found once, on the first check of a restricted user.</summary>
    internal Acl.AclCommandEntry? AclEntry;
    internal bool? AclHasKeys;

    // INFO commandstats, as Redis's per-command counters (reset by CONFIG RESETSTAT); only under the gate.
    public long Calls, Ticks, RejectedCalls, FailedCalls;

    /// <summary>INFO latencystats and LATENCY HISTOGRAM (latency-tracking): null until the command first completes.</summary>
    public LatencyHistogram? Latencies;

    public void ResetStats()
    {
        Calls = Ticks = RejectedCalls = FailedCalls = 0;
        Latencies = null;
    }
    public CommandDef? Parent
    {
        get => _parent;
        internal set
        {
            _parent = value;
            FullName = value is null ? Name : $"{value.Name}|{Name}";
        }
    }

    private CommandDef? _parent;
    public Dictionary<string, CommandDef>? Subcommands { get; internal set; }

    /// <summary>As Redis's fullname: "client|kill" for subcommands.</summary>
    public string FullName
    {
        get => _fullName ?? Name;
        private set => _fullName = value;
    }

    private string? _fullName;

    public bool Has(CommandFlags flag) => (Flags & flag) != 0;

    /// <summary>
    /// The command's ACL categories as Redis computes them: the one its group stands for (as the command JSON
    /// declares), <see cref="ExtraAcl"/>, and setImplicitACLCategories' ones from the flags (write, read unless
    /// scripting, admin and dangerous, pubsub, fast; slow when not fast).
    /// </summary>
    public AclCategory Acl
    {
        get
        {
            // A container's own entry (CLIENT, OBJECT...) has no group category: its subcommands have theirs.
            var group = Subcommands is { Count: > 0 } ? AclCategory.None : GroupAcl ?? Group switch
            {
                "generic" => AclCategory.Keyspace,
                "string" => AclCategory.String,
                "list" => AclCategory.List,
                "hash" => AclCategory.Hash,
                "set" => AclCategory.Set,
                "sorted-set" => AclCategory.SortedSet,
                "bitmap" => AclCategory.Bitmap,
                "hyperloglog" => AclCategory.HyperLogLog,
                "geo" => AclCategory.Geo,
                "stream" => AclCategory.Stream,
                "connection" => AclCategory.Connection,
                "transactions" => AclCategory.Transaction,
                "scripting" => AclCategory.Scripting,
                _ => AclCategory.None,
            };
            var acl = group | ExtraAcl;
            if (Has(CommandFlags.Write)) acl |= AclCategory.Write;
            if (Has(CommandFlags.ReadOnly) && (acl & AclCategory.Scripting) == 0) acl |= AclCategory.Read;
            if (Has(CommandFlags.Admin)) acl |= AclCategory.Admin | AclCategory.Dangerous;
            if (Has(CommandFlags.PubSub)) acl |= AclCategory.PubSub;
            if (Has(CommandFlags.Fast)) acl |= AclCategory.Fast;
            if (Has(CommandFlags.Blocking)) acl |= AclCategory.Blocking;
            if ((acl & AclCategory.Fast) == 0) acl |= AclCategory.Slow;
            return acl;
        }
    }

    /// <summary>The names COMMAND INFO shows for <see cref="Acl"/>: "@keyspace", "@read", ...</summary>
    public IEnumerable<string> AclNames()
    {
        var acl = Acl;
        foreach (var c in Enum.GetValues<AclCategory>())
        {
            if (c != AclCategory.None && (acl & c) != 0) yield return "@" + KeyspacePubSub.Engine.Acl.AclCommands.Name(c);
        }
    }

    public IEnumerable<string> FlagNames()
    {
        if (Has(CommandFlags.Write)) yield return "write";
        if (Has(CommandFlags.ReadOnly)) yield return "readonly";
        if (Has(CommandFlags.DenyOom)) yield return "denyoom";
        if (Has(CommandFlags.Admin)) yield return "admin";
        if (Has(CommandFlags.PubSub)) yield return "pubsub";
        if (Has(CommandFlags.NoScript)) yield return "noscript";
        if (Has(CommandFlags.Blocking)) yield return "blocking";
        if (Has(CommandFlags.Loading)) yield return "loading";
        if (Has(CommandFlags.Stale)) yield return "stale";
        if (Has(CommandFlags.SkipMonitor)) yield return "skip_monitor";
        if (Has(CommandFlags.SkipSlowlog)) yield return "skip_slowlog";
        if (Has(CommandFlags.Asking)) yield return "asking";
        if (Has(CommandFlags.Fast)) yield return "fast";
        if (Has(CommandFlags.NoAuth)) yield return "no_auth";
        if (Has(CommandFlags.NoMandatoryKeys)) yield return "no_mandatory_keys";
        if (Has(CommandFlags.NoAsyncLoading)) yield return "no_async_loading";
        if (Has(CommandFlags.NoMulti)) yield return "no_multi";
        if (Has(CommandFlags.MovableKeys)) yield return "movablekeys";
        if (Has(CommandFlags.AllowBusy)) yield return "allow_busy";
    }
}
