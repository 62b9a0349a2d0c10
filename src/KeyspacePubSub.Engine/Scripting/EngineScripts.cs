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

    /// <summary>Whether any script was loaded (INFO reports an empty cache otherwise).</summary>
    internal LuaScripting? ScriptingIfStarted => _scripting;

    /// <summary>
    /// A script's command, as scriptCall's call(): with its statistics, slowlog and MONITOR line ("[db lua]"),
    /// run for the script's caller (its own pushes and invalidations follow the EVAL's reply).
    /// </summary>
    internal void CallFromScript(Client scriptClient, CommandDef cmd, CommandArgs args)
    {
        Call(scriptClient, cmd, args);
        if (_ready.Count > 0) ServeReadyKeys();
    }

    /// <summary>As call() for a script's read: a tracking caller remembers the keys its EVAL declared.</summary>
    internal void RememberScriptKeys(Client caller, CommandDef evalCommand, CommandArgs evalArgs)
    {
        if (evalCommand.Has(CommandFlags.ReadOnly)) return; // EVAL_RO and EVALSHA_RO remember when they end, as any read
        RememberTrackedKeys(caller, evalCommand, evalArgs);
    }

    /// <summary>EVAL and EVALSHA (and their _RO forms): MONITOR sees the EVAL before the commands its script runs.</summary>
    internal void EvalCommand(CommandContext x, bool evalsha, bool ro)
    {
        if (_monitors.Count > 0) FeedMonitors(x.Client, x.Args);
        Scripting.Eval(x, evalsha, ro, Config.MaxMemory > 0 && PreCommandOom);
    }
}
