using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT (src/eval.c); FUNCTION has only FLUSH (ServerCommands).</summary>
internal static class ScriptingCommands
{
    public static void Register(CommandTable t)
    {
        const CommandFlags Eval = NoScript | Stale | SkipMonitor | NoMandatoryKeys | MovableKeys;
        t.Add(new() { Name = "eval", Arity = -3, Flags = Eval | MayReplicate, Handler = static x => x.Engine.EvalCommand(x, evalsha: false, ro: false), KeyNumIndex = 2, RunsScript = true, Group = "scripting", Since = "2.6.0", Summary = "Execute a Lua script server side" });
        t.Add(new() { Name = "evalsha", Arity = -3, Flags = Eval | MayReplicate, Handler = static x => x.Engine.EvalCommand(x, evalsha: true, ro: false), KeyNumIndex = 2, RunsScript = true, Group = "scripting", Since = "2.6.0", Summary = "Execute a Lua script server side" });
        t.Add(new() { Name = "eval_ro", Arity = -3, Flags = Eval | ReadOnly, Handler = static x => x.Engine.EvalCommand(x, evalsha: false, ro: true), KeyNumIndex = 2, RunsScript = true, Group = "scripting", Since = "7.0.0", Summary = "Execute a read-only Lua script server side" });
        t.Add(new() { Name = "evalsha_ro", Arity = -3, Flags = Eval | ReadOnly, Handler = static x => x.Engine.EvalCommand(x, evalsha: true, ro: true), KeyNumIndex = 2, RunsScript = true, Group = "scripting", Since = "7.0.0", Summary = "Execute a read-only Lua script server side" });
        t.AddContainer(new() { Name = "script", Arity = -2, Group = "scripting", Since = "2.6.0", Summary = "A container for Lua scripts management commands." },
            new CommandDef { Name = "flush", Arity = -2, Flags = NoScript, Handler = Flush, Group = "scripting", Since = "2.6.0" },
            new CommandDef { Name = "exists", Arity = -3, Flags = NoScript, Handler = Exists, Group = "scripting", Since = "2.6.0" },
            new CommandDef { Name = "help", Arity = 2, Flags = Loading | Stale, Handler = HelpReply, Group = "scripting", Since = "5.0.0" },
            new CommandDef { Name = "load", Arity = 3, Flags = NoScript | Stale, Handler = Load, Group = "scripting", Since = "2.6.0" },
            new CommandDef { Name = "kill", Arity = 2, Flags = NoScript | AllowBusy, Handler = static x => x.Reply.Error("NOTBUSY No scripts in execution right now."), Group = "scripting", Since = "2.6.0" });
    }

    private static void Flush(CommandContext x)
    {
        if (x.Args.Count > 3 || (x.Args.Count == 3 && !(x.Args.Is(2, "ASYNC") || x.Args.Is(2, "SYNC"))))
        {
            x.Reply.Error("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
            return;
        }
        x.Engine.ScriptingIfStarted?.Flush();
        x.Reply.Ok();
    }

    private static void Exists(CommandContext x)
    {
        x.Reply.Array(x.Args.Count - 2);
        var cache = x.Engine.ScriptingIfStarted?.Cache;
        for (int i = 2; i < x.Args.Count; i++)
        {
            // dictFind on the sha as given: Redis's dict is case-insensitive on it.
            string sha = System.Text.Encoding.Latin1.GetString(x.Args[i]).ToLowerInvariant();
            x.Reply.Integer(cache != null && cache.TryGet(sha, out _) ? 1 : 0);
        }
    }

    private static void Load(CommandContext x)
    {
        var script = x.Engine.Scripting.Create(x.Reply, x.Args[2]);
        if (script != null) x.Reply.Bulk(System.Text.Encoding.ASCII.GetBytes(script.Sha));
    }

    private static void HelpReply(CommandContext x) => Help.Reply(x.Reply, "SCRIPT",
        "DEBUG (YES|SYNC|NO)",
        "    Set the debug mode for subsequent scripts executed.",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache. Very dangerous on replicas.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the scripts cache.",
        "    * SYNC: Synchronously flush the scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.");
}
