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

    // INFO commandstats, as Redis's per-command counters (reset by CONFIG RESETSTAT); only under the gate.
    public long Calls, Ticks, RejectedCalls, FailedCalls;

    public void ResetStats() => Calls = Ticks = RejectedCalls = FailedCalls = 0;
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

    public IEnumerable<string> FlagNames()
    {
        if (Has(CommandFlags.Write)) yield return "write";
        if (Has(CommandFlags.ReadOnly)) yield return "readonly";
        if (Has(CommandFlags.DenyOom)) yield return "denyoom";
        if (Has(CommandFlags.Admin)) yield return "admin";
        if (Has(CommandFlags.PubSub)) yield return "pubsub";
        if (Has(CommandFlags.NoScript)) yield return "noscript";
        if (Has(CommandFlags.Loading)) yield return "loading";
        if (Has(CommandFlags.Stale)) yield return "stale";
        if (Has(CommandFlags.SkipSlowlog)) yield return "skip_slowlog";
        if (Has(CommandFlags.Fast)) yield return "fast";
        if (Has(CommandFlags.NoAuth)) yield return "no_auth";
        if (Has(CommandFlags.NoMulti)) yield return "no_multi";
        if (Has(CommandFlags.AllowBusy)) yield return "allow_busy";
    }
}
