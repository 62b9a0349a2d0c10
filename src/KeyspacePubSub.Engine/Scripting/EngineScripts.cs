using Microsoft.Extensions.Logging;
using KeyspacePubSub.Engine.Commands;
using KeyspacePubSub.Engine.Scripting;
using KeyspacePubSub.Protocol;

namespace KeyspacePubSub.Engine;

/// <summary>What scripts need of the engine: their interpreter, and running one command as the script client.</summary>
public sealed partial class Engine
{
    private LuaScripting? _scripting;

    /// <summary>The scripts cache and interpreter, made by the first script (Redis makes its own at start).</summary>
    internal LuaScripting Scripting => _scripting ??= new LuaScripting(this);

    /// <summary>DEBUG SET-DISABLE-DENY-SCRIPTS (server.script_disable_deny_script): scripts may call noscript commands.</summary>
    internal bool ScriptsMayRunAnyCommand { get; set; }

    /// <summary>Whether any script was loaded (INFO reports an empty cache otherwise).</summary>
    internal LuaScripting? ScriptingIfStarted => _scripting;

    /// <summary>
    /// A script's command, as scriptCall's call(): with its statistics, slowlog and MONITOR line ("[db lua]"),
    /// run for the script's caller (its own pushes and invalidations follow the EVAL's reply). Clients blocked on
    /// a key it fills are served once the whole script has run, as after any command (Execute).
    /// </summary>
    internal void CallFromScript(Client scriptClient, CommandDef cmd, CommandArgs args) => Call(scriptClient, cmd, args);

    /// <summary>
    /// getCommandFlags: a command's flags as processCommand weighs them. For EVAL and EVALSHA of a script with a
    /// shebang (cached, or EVAL's body), and FCALL of a loaded function, the script's flags replace write, deny-oom
    /// and may-replicate, as evalGetCommandFlags and fcallGetCommandFlags: a script without no-writes writes, and
    /// without allow-oom is refused out of memory.
    /// </summary>
    internal CommandFlags FlagsOf(CommandDef cmd, CommandArgs args)
    {
        var flags = cmd.Flags;
        if (!cmd.RunsScript || args.Count < 2) return flags;
        ScriptFlags scriptFlags;
        if (cmd.Name.StartsWith("fcall", StringComparison.Ordinal))
        {
            // fcallGetCommandFlags: a function's flags always replace the command's.
            if (_scripting?.Functions.Function(System.Text.Encoding.Latin1.GetString(args[1])) is not { } function) return flags;
            scriptFlags = function.Flags;
        }
        else if (!EvalScriptFlags(args, cmd.Name.StartsWith("evalsha", StringComparison.Ordinal), out scriptFlags)) return flags;
        if ((scriptFlags & ScriptFlags.CompatMode) != 0) return flags;
        flags &= ~(CommandFlags.Stale | CommandFlags.DenyOom | CommandFlags.Write | CommandFlags.MayReplicate);
        if ((scriptFlags & (ScriptFlags.AllowOom | ScriptFlags.NoWrites)) == 0) flags |= CommandFlags.DenyOom;
        if ((scriptFlags & ScriptFlags.NoWrites) == 0) flags |= CommandFlags.Write;
        if ((scriptFlags & ScriptFlags.AllowStale) != 0) flags |= CommandFlags.Stale;
        return flags;
    }

    /// <summary>evalGetCommandFlags: the flags of the cached script (or of EVAL's body's shebang); false when unknown.</summary>
    private bool EvalScriptFlags(CommandArgs args, bool evalsha, out ScriptFlags scriptFlags)
    {
        scriptFlags = ScriptFlags.None;
        if (evalsha && args[1].Length != 40) return false;
        var cache = _scripting?.Cache;
        if (evalsha ? cache != null && cache.TryGet(System.Text.Encoding.Latin1.GetString(args[1]).ToLowerInvariant(), out var script)
                    : cache != null && cache.TryGetByBody(args[1], out script))
        {
            scriptFlags = script.Flags;
            return true;
        }
        return !evalsha && ScriptCache.ParseShebang(args[1], out scriptFlags, out _) == null;
    }

    /// <summary>scriptCall's error path (afterErrorReply, incrCommandStatsOnError REJECTED): counted once, here.</summary>
    internal void RejectedInScript(CommandDef? cmd, string error)
    {
        Stats.CountError(error);
        if (ErrorsSinceLastCount() && cmd != null) cmd.RejectedCalls++;
    }

    /// <summary>
    /// As call() for a script's read: a tracking caller remembers the keys its EVAL (or EVAL_RO) declared. A script
    /// that reads nothing remembers nothing, so EVAL_RO itself is not remembered as a read (see Call).
    /// </summary>
    internal void RememberScriptKeys(Client caller, CommandDef evalCommand, CommandArgs evalArgs) => RememberTrackedKeys(caller, evalCommand, evalArgs);

    /// <summary>
    /// At start, with persistence on: the stored function libraries loaded again (a library that no longer loads
    /// is logged and left out). Returns how many loaded.
    /// </summary>
    public int RestoreFunctions(IReadOnlyList<byte[]> codes)
    {
        int loaded = 0;
        foreach (var code in codes)
        {
            if (Scripting.CreateLibrary(code, replace: true, Scripting.Functions, out string error) is not null) loaded++;
            else Logger.LogWarning("Persistence: a stored function library did not load: {Error}", error);
        }
        if (codes.Count > 0) Logger.LogInformation("Persistence: loaded {Loaded} of {Stored} function libraries", loaded, codes.Count);
        return loaded;
    }

    /// <summary>FCALL and FCALL_RO: MONITOR sees the FCALL before the commands its function runs.</summary>
    internal void FCallCommand(CommandContext x, bool ro)
    {
        if (_monitors.Count > 0) FeedMonitors(x.Client, x.Args);
        Scripting.FCall(x, ro, Config.MaxMemory > 0 && PreCommandOom);
    }

    /// <summary>EVAL and EVALSHA (and their _RO forms): MONITOR sees the EVAL before the commands its script runs.</summary>
    internal void EvalCommand(CommandContext x, bool evalsha, bool ro)
    {
        if (_monitors.Count > 0) FeedMonitors(x.Client, x.Args);
        Scripting.Eval(x, evalsha, ro, Config.MaxMemory > 0 && PreCommandOom);
    }
}
