using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>LATENCY LATEST / HISTORY / RESET / HELP (src/latency.c latencyCommand) over <see cref="LatencyMonitor"/>.</summary>
internal static class LatencyCommand
{
    public static void Register(CommandTable t)
    {
        const CommandFlags F = Admin | NoScript | Loading | Stale;
        t.AddContainer(new() { Name = "latency", Arity = -2, Group = "server", Since = "2.8.13", Summary = "A container for latency diagnostics commands." },
            new() { Name = "latest", Arity = 2, Flags = F, Handler = Latest, Group = "server", Since = "2.8.13" },
            new() { Name = "history", Arity = 3, Flags = F, Handler = History, Group = "server", Since = "2.8.13" },
            new() { Name = "reset", Arity = -2, Flags = F, Handler = Reset, Group = "server", Since = "2.8.13" },
            new() { Name = "help", Arity = 2, Flags = Loading | Stale, Handler = static x => Help.Reply(x.Reply, "LATENCY",
                "HISTORY <event>", "    Return time-latency samples for the <event> class.",
                "LATEST", "    Return the latest latency samples for all events.",
                "RESET [<event> ...]", "    Reset latency data of one or more <event> classes.",
                "    (default: reset all data for all event classes)"), Group = "server", Since = "2.8.13" });
    }

    private static void Latest(CommandContext x)
    {
        var events = x.Engine.Latency.Events.ToList();
        x.Reply.Array(events.Count);
        foreach (var (name, ts) in events)
        {
            x.Reply.Array(4);
            x.Reply.Bulk(name);
            x.Reply.Integer(ts.Last.Time);
            x.Reply.Integer(ts.Last.Latency);
            x.Reply.Integer(ts.Max);
        }
    }

    private static void History(CommandContext x)
    {
        var samples = x.Engine.Latency.Find(x.Args.GetString(2))?.History().ToList() ?? [];
        x.Reply.Array(samples.Count);
        foreach (var (time, latency) in samples)
        {
            x.Reply.Array(2);
            x.Reply.Integer(time);
            x.Reply.Integer(latency);
        }
    }

    private static void Reset(CommandContext x)
    {
        if (x.Args.Count == 2)
        {
            x.Reply.Integer(x.Engine.Latency.Reset(null));
            return;
        }
        int resets = 0;
        for (int j = 2; j < x.Args.Count; j++) resets += x.Engine.Latency.Reset(x.Args.GetString(j));
        x.Reply.Integer(resets);
    }
}
