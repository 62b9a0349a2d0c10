using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>
/// LATENCY LATEST / HISTORY / RESET / DOCTOR / GRAPH / HELP (src/latency.c latencyCommand) over <see cref="LatencyMonitor"/>, and
/// HISTOGRAM over the commands' <see cref="LatencyHistogram"/>s (latency-tracking).
/// </summary>
internal static class LatencyCommand
{
    public static void Register(CommandTable t)
    {
        const CommandFlags F = Admin | NoScript | Loading | Stale;
        t.AddContainer(new() { Name = "latency", Arity = -2, Group = "server", Since = "2.8.13", Summary = "A container for latency diagnostics commands." },
            new() { Name = "latest", Arity = 2, Flags = F, Handler = Latest, Group = "server", Since = "2.8.13" },
            new() { Name = "doctor", Arity = 2, Flags = F, Handler = static x => x.Reply.Verbatim(LatencyReport.Doctor(x.Engine.Latency, x.Engine.Config)), Group = "server", Since = "2.8.13", Summary = "Return a human readable latency analysis report." },
            new() { Name = "graph", Arity = 3, Flags = F, Handler = Graph, Group = "server", Since = "2.8.13", Summary = "Return a latency graph for the event." },
            new() { Name = "history", Arity = 3, Flags = F, Handler = History, Group = "server", Since = "2.8.13" },
            new() { Name = "reset", Arity = -2, Flags = F, Handler = Reset, Group = "server", Since = "2.8.13" },
            new() { Name = "histogram", Arity = -2, Flags = F, Handler = Histogram, Group = "server", Since = "7.0.0", Summary = "Return the cumulative distribution of latencies of a subset of commands or all." },
            new() { Name = "help", Arity = 2, Flags = Loading | Stale, Handler = static x => Help.Reply(x.Reply, "LATENCY",
                "DOCTOR", "    Return a human readable latency analysis report.",
                "GRAPH <event>", "    Return an ASCII latency graph for the <event> class.",
                "HISTORY <event>", "    Return time-latency samples for the <event> class.",
                "LATEST", "    Return the latest latency samples for all events.",
                "RESET [<event> ...]", "    Reset latency data of one or more <event> classes.",
                "    (default: reset all data for all event classes)",
                "HISTOGRAM [COMMAND ...]", "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
                "    If no commands are specified then all histograms are replied."), Group = "server", Since = "2.8.13" });
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

    private static void Graph(CommandContext x)
    {
        string name = x.Args.GetString(2);
        if (x.Engine.Latency.Find(name) is not { } ts)
        {
            x.Reply.Error($"ERR No samples available for event '{Errors.CText(x.Args[2])}'");
            return;
        }
        x.Reply.Verbatim(LatencyReport.Graph(name, ts));
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

    /// <summary>
    /// LATENCY HISTOGRAM [command ...]: a map of command name to its calls and histogram_usec; every command with
    /// data (subcommands by their full name), or those named (a container with its subcommands; unknown names and
    /// commands without data left out, a name given twice answered twice).
    /// </summary>
    private static void Histogram(CommandContext x)
    {
        var chosen = new List<CommandDef>();
        if (x.Args.Count == 2) chosen.AddRange(InfoCommand.CommandsWithLatencies(x.Engine));
        for (int j = 2; j < x.Args.Count; j++)
        {
            var cmd = x.Engine.Commands.FindFullName(x.Args.GetString(j));
            if (cmd is null) continue;
            if (cmd.Latencies != null) chosen.Add(cmd);
            if (cmd.Subcommands != null) chosen.AddRange(cmd.Subcommands.Values.Where(s => s.Latencies != null).OrderBy(s => s.Name, StringComparer.Ordinal));
        }
        x.Reply.Map(chosen.Count);
        foreach (var cmd in chosen)
        {
            var h = cmd.Latencies!;
            x.Reply.Bulk(cmd.FullName);
            x.Reply.Map(2);
            x.Reply.Bulk("calls"u8);
            x.Reply.Integer(h.TotalCount);
            x.Reply.Bulk("histogram_usec"u8);
            var buckets = h.Buckets();
            x.Reply.Map(buckets.Count);
            foreach (var (micros, cumulative) in buckets)
            {
                x.Reply.Integer(micros);
                x.Reply.Integer(cumulative);
            }
        }
    }
}
