using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>SLOWLOG GET / LEN / RESET / HELP (src/slowlog.c slowlogCommand), over <see cref="Slowlog"/>.</summary>
internal static class SlowlogCommand
{
    public static void Register(CommandTable t)
    {
        t.AddContainer(new() { Name = "slowlog", Arity = -2, Group = "server", Since = "2.2.12", Summary = "A container for slow log commands." },
            new() { Name = "get", Arity = -2, Flags = Admin | Loading | Stale, Handler = Get, Group = "server", Since = "2.2.12" },
            new() { Name = "len", Arity = 2, Flags = Admin | Loading | Stale, Handler = static x => x.Reply.Integer(x.Engine.Slowlog.Count), Group = "server", Since = "2.2.12" },
            new() { Name = "reset", Arity = 2, Flags = Admin | Loading | Stale, Handler = Reset, Group = "server", Since = "2.2.12" },
            new() { Name = "help", Arity = 2, Flags = Loading | Stale, Handler = static x => Help.Reply(x.Reply, "SLOWLOG",
                "GET [<count>]",
                "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
                "    Entries are made of:",
                "    id, timestamp, time in microseconds, arguments array, client IP and port,",
                "    client name",
                "LEN",
                "    Return the length of the slowlog.",
                "RESET",
                "    Reset the slowlog."), Group = "server", Since = "6.2.0" });
    }

    private static void Reset(CommandContext x)
    {
        x.Engine.Slowlog.Reset();
        x.Reply.Ok();
    }

    private static void Get(CommandContext x)
    {
        if (x.Args.Count > 3)
        {
            PubSubCommands.SubcommandSyntaxError(x);
            return;
        }
        long count = 10;
        if (x.Args.Count == 3 && (!x.Args.TryGetInt64(2, out count) || count < -1))
        {
            x.Reply.Error("ERR count should be greater than or equal to -1");
            return;
        }
        var entries = x.Engine.Slowlog.Newest(count).ToList();
        x.Reply.Array(entries.Count);
        foreach (var e in entries)
        {
            x.Reply.Array(6);
            x.Reply.Integer(e.Id);
            x.Reply.Integer(e.UnixTime);
            x.Reply.Integer(e.Micros);
            x.Reply.Array(e.Args.Length);
            foreach (var a in e.Args) x.Reply.Bulk(a);
            x.Reply.Bulk(e.Peer);
            x.Reply.Bulk(e.Name);
        }
    }
}
