using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>
/// SAVE, BGSAVE, LASTSAVE. There is no snapshot file here: what a save means is the durable keys' store (the
/// SQLite room backlog) put into its database file, synced (see SqliteStore's Save). Replies, errors and their
/// order as Redis 7.0's saveCommand / bgsaveCommand; without persistence there is nothing to save, which is an error.
/// </summary>
internal static class SaveCommands
{
    public const string NoPersistence = "ERR persistence is off: only durable keys are saved, with Persistence:Enabled=true";

    public static void Register(CommandTable t)
    {
        t.Add(new() { Name = "save", Arity = 1, Flags = Admin | NoScript | NoMulti | NoAsyncLoading, Handler = Save, Group = "server", Since = "1.0.0", Summary = "Synchronously saves the database(s) to disk." });
        t.Add(new() { Name = "bgsave", Arity = -1, Flags = Admin | NoScript | NoAsyncLoading, Handler = BgSave, Group = "server", Since = "1.0.0", Summary = "Asynchronously saves the database(s) to disk." });
        t.Add(new() { Name = "lastsave", Arity = 1, Flags = Loading | Stale | Fast, ExtraAcl = AclCategory.Admin | AclCategory.Dangerous, Handler = LastSave, Group = "server", Since = "1.0.0", Summary = "Returns the Unix timestamp of the last successful save to disk." });
    }

    /// <summary>The durable keys to save, or null once the error is written: persistence off, or a background save running.</summary>
    private static Persistence.DurableKeys? Saveable(CommandContext x)
    {
        if (x.Engine.Durable is not { } durable)
        {
            x.Reply.Error(NoPersistence);
            return null;
        }
        if (durable.BackgroundSaveRunning)
        {
            x.Reply.Error("ERR Background save already in progress");
            return null;
        }
        return durable;
    }

    private static void Save(CommandContext x)
    {
        if (Saveable(x) is not { } durable) return;
        // As Redis: the server waits for the save; a failed one answers a bare ERR (the reason is in the log).
        if (durable.Save()) x.Reply.Ok();
        else x.Reply.Error("ERR");
    }

    private static void BgSave(CommandContext x)
    {
        // SCHEDULE waits in Redis for another child process (an AOF rewrite); there is none here, so it starts the save too.
        if (x.Args.Count > 1 && !(x.Args.Count == 2 && x.Args.Is(1, "SCHEDULE")))
        {
            x.Reply.Error(Errors.Syntax);
            return;
        }
        if (Saveable(x) is not { } durable) return;
        durable.RequestBackgroundSave();
        // Inside EXEC Redis schedules the save for after the transaction, and says so.
        x.Reply.SimpleString(x.Client.InMulti ? "Background saving scheduled" : "Background saving started");
    }

    private static void LastSave(CommandContext x) =>
        x.Reply.Integer(x.Engine.Durable?.Store.LastSaveUnix ?? x.Engine.Stats.StartedUtc.ToUnixTimeSeconds());
}
