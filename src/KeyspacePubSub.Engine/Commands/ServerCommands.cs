using System.Globalization;
using KeyspacePubSub.Engine.Keyspace;
using KeyspacePubSub.Protocol;
using Microsoft.Extensions.Logging;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>TIME, DBSIZE, FLUSHDB, FLUSHALL, SWAPDB, SHUTDOWN, ROLE, DEBUG, MONITOR, FUNCTION/SCRIPT FLUSH.</summary>
internal static class ServerCommands
{
    public static void Register(CommandTable t)
    {
        t.Add(new() { Name = "time", Arity = 1, Flags = Loading | Stale | Fast, Handler = Time, Group = "server", Since = "2.6.0", Summary = "Returns the server time." });
        t.Add(new() { Name = "dbsize", Arity = 1, Flags = ReadOnly | Fast, ExtraAcl = AclCategory.Keyspace, Handler = static (CommandContext x) => x.Reply.Integer(x.Engine.Databases[x.Client.Db].Count), Group = "server", Summary = "Returns the number of keys in the database." });
        t.Add(new() { Name = "flushdb", Arity = -1, Flags = Write, ExtraAcl = AclCategory.Keyspace | AclCategory.Dangerous, Handler = FlushDb, Group = "server", Summary = "Remove all keys from the current database." });
        t.Add(new() { Name = "flushall", Arity = -1, Flags = Write, ExtraAcl = AclCategory.Keyspace | AclCategory.Dangerous, Handler = FlushAll, Group = "server", Summary = "Removes all keys from all databases." });
        t.Add(new() { Name = "swapdb", Arity = 3, Flags = Write | Fast, ExtraAcl = AclCategory.Keyspace | AclCategory.Dangerous, Handler = SwapDb, Group = "server", Since = "4.0.0", Summary = "Swaps two Redis databases." });
        t.Add(new() { Name = "shutdown", Arity = -1, Flags = Admin | NoScript | Loading | Stale | NoMulti | Sentinel | AllowBusy, Handler = Shutdown, Group = "server", Summary = "Synchronously saves the database(s) to disk and shuts down the Redis server." });
        // No replication here: always a master without replicas (INFO replication says the same).
        t.Add(new() { Name = "role", Arity = 1, Flags = NoScript | Loading | Stale | Fast, ExtraAcl = AclCategory.Admin | AclCategory.Dangerous, Handler = static (CommandContext x) =>
        {
            x.Reply.Array(3);
            x.Reply.Bulk("master"u8);
            x.Reply.Integer(0);
            x.Reply.Array(0);
        }, Group = "server", Since = "2.8.12", Summary = "Returns the replication role." });
        t.Add(new() { Name = "monitor", Arity = 1, Flags = Admin | NoScript | Loading | Stale, Handler = Monitor, Group = "server", Summary = "Listens for all requests received by the server in real-time." });
        t.Add(new() { Name = "debug", Arity = -2, Flags = Admin | NoScript | Loading | Stale | Protected, Handler = DebugCommand.Handler, Group = "server", Summary = "A container for debugging commands." });
    }

    private static void Time(CommandContext x)
    {
        long micros = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks / 10;
        x.Reply.Array(2);
        x.Reply.Bulk(micros / 1_000_000);
        x.Reply.Bulk(micros % 1_000_000);
    }

    /// <summary>FLUSHDB/FLUSHALL accept one optional ASYNC or SYNC (src/db.c getFlushCommandFlags).</summary>
    private static bool FlushFlagsOk(CommandContext x)
    {
        if (x.Args.Count == 1) return true;
        if (x.Args.Count == 2 && (x.Args.Is(1, "ASYNC") || x.Args.Is(1, "SYNC"))) return true;
        x.Reply.Error(Errors.Syntax);
        return false;
    }

    private static void FlushDb(CommandContext x)
    {
        if (!FlushFlagsOk(x)) return;
        x.Engine.SignalFlushedDb(x.Client.Db);
        x.Engine.InvalidateTrackingOnFlush();
        x.Engine.Durable?.BeforeFlush(x.Client.Db);
        x.Engine.Databases[x.Client.Db].Clear();
        x.Engine.SignalFlushedStreams(x.Client.Db);
        x.Reply.Ok();
    }

    private static void FlushAll(CommandContext x)
    {
        if (!FlushFlagsOk(x)) return;
        x.Engine.Durable?.BeforeFlush(null);
        x.Engine.InvalidateTrackingOnFlush();
        foreach (var db in x.Engine.Databases)
        {
            x.Engine.SignalFlushedDb(db.Index);
            db.Clear();
            x.Engine.SignalFlushedStreams(db.Index);
        }
        x.Reply.Ok();
    }

    private static void SwapDb(CommandContext x)
    {
        if (!x.Args.TryGetInt64(1, out long a))
        {
            x.Reply.Error(Errors.InvalidFirstDb);
            return;
        }
        if (!x.Args.TryGetInt64(2, out long b))
        {
            x.Reply.Error(Errors.InvalidSecondDb);
            return;
        }
        var dbs = x.Engine.Databases;
        if (a < 0 || a >= dbs.Length || b < 0 || b >= dbs.Length)
        {
            x.Reply.Error(Errors.DbIndexOutOfRange);
            return;
        }
        if (a != b)
        {
            x.Engine.SignalFlushedDb((int)a, (int)b);
            x.Engine.SignalFlushedDb((int)b, (int)a);
            x.Engine.SwapDatabases((int)a, (int)b);
        }
        x.Reply.Ok();
    }

    private static void Shutdown(CommandContext x)
    {
        for (int i = 1; i < x.Args.Count; i++)
        {
            if (x.Args.Is(i, "ABORT"))
            {
                x.Reply.Error("ERR No shutdown in progress.");
                return;
            }
            if (!(x.Args.Is(i, "NOSAVE") || x.Args.Is(i, "SAVE") || x.Args.Is(i, "NOW") || x.Args.Is(i, "FORCE")))
            {
                x.Reply.Error(Errors.Syntax);
                return;
            }
        }
        x.Engine.Logger.LogWarning("User requested shutdown...");
        // As Redis: a successful SHUTDOWN sends no reply; the connection just closes.
        x.Client.CloseAfterReply = true;
        x.Engine.RequestShutdown();
    }

    private static void Monitor(CommandContext x)
    {
        x.Engine.AddMonitor(x.Client);
        x.Reply.Ok();
    }

    internal static string Seconds(double s) => s.ToString("0.000000", CultureInfo.InvariantCulture);
}
