using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>MULTI, EXEC, DISCARD, WATCH, UNWATCH (src/multi.c).</summary>
internal static class TransactionCommands
{
    public static void Register(CommandTable t)
    {
        const CommandFlags F = NoScript | Loading | Stale | Fast | AllowBusy;
        t.Add(new() { Name = "multi", Arity = 1, Flags = F | NotQueued, Handler = Multi, Group = "transactions", Since = "1.2.0", Summary = "Starts a transaction." });
        t.Add(new() { Name = "exec", Arity = 1, Flags = NoScript | Loading | Stale | SkipSlowlog | Sentinel | NotQueued, Handler = ExecHandler, Group = "transactions", Since = "1.2.0", Summary = "Executes all commands in a transaction." });
        t.Add(new() { Name = "discard", Arity = 1, Flags = F | NotQueued, Handler = Discard, Group = "transactions", Since = "2.0.0", Summary = "Discards a transaction." });
        t.Add(new() { Name = "watch", Arity = -2, Flags = F | NotQueued, Handler = Watch, FirstKey = 1, LastKey = -1, Step = 1, Group = "transactions", Since = "2.2.0", Summary = "Monitors changes to keys to determine the execution of a transaction." });
        t.Add(new() { Name = "unwatch", Arity = 1, Flags = F, Handler = static x => { x.Engine.ResetWatch(x.Client); x.Reply.Ok(); }, Group = "transactions", Since = "2.2.0", Summary = "Forgets about watched keys of a transaction." });
    }

    private static void Multi(CommandContext x)
    {
        if (x.Client.InMulti)
        {
            x.Reply.Error("ERR MULTI calls can not be nested");
            return;
        }
        x.Client.BeginMulti();
        x.Reply.Ok();
    }

    /// <summary>EXEC's handler: the engine tells EXEC apart by it (a rejected EXEC aborts the transaction).</summary>
    public static readonly CommandHandler ExecHandler = Exec;

    private static void Exec(CommandContext x)
    {
        if (!x.Client.InMulti)
        {
            x.Reply.Error("ERR EXEC without MULTI");
            return;
        }
        x.Engine.Exec(x.Client);
    }

    private static void Discard(CommandContext x)
    {
        if (!x.Client.InMulti)
        {
            x.Reply.Error("ERR DISCARD without MULTI");
            return;
        }
        x.Engine.ResetTransaction(x.Client);
        x.Reply.Ok();
    }

    private static void Watch(CommandContext x)
    {
        if (x.Client.InMulti)
        {
            x.Reply.Error("ERR WATCH inside MULTI is not allowed");
            return;
        }
        // As Redis: no point in watching while a watched key was already touched (the EXEC will fail anyway).
        if (!x.Client.WatchDirty)
        {
            for (int i = 1; i < x.Args.Count; i++) x.Engine.WatchKey(x.Client, x.Args[i]);
        }
        x.Reply.Ok();
    }
}
