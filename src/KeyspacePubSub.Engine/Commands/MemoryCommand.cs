using KeyspacePubSub.Engine.Keyspace;
using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>
/// MEMORY USAGE / PURGE / MALLOC-STATS / HELP (src/object.c memoryCommand). USAGE estimates this server's own
/// bytes for the key (<see cref="MemoryEstimate"/>), with Redis's argument rules; PURGE runs a full garbage
/// collection; there are no allocator statistics to show.
/// </summary>
internal static class MemoryCommand
{
    public static void Register(CommandTable t) =>
        t.AddContainer(new() { Name = "memory", Arity = -2, Group = "server", Since = "4.0.0", Summary = "A container for memory diagnostics commands." },
            new() { Name = "usage", Arity = -3, Flags = ReadOnly, Handler = Usage, FirstKey = 2, LastKey = 2, Step = 1, Group = "server", Since = "4.0.0" },
            new() { Name = "purge", Arity = 2, Flags = None, Handler = Purge, Group = "server", Since = "4.0.0" },
            new() { Name = "malloc-stats", Arity = 2, Flags = None, Handler = static x => x.Reply.Bulk("Stats not supported for the current allocator"u8), Group = "server", Since = "4.0.0" },
            new() { Name = "help", Arity = 2, Flags = Loading | Stale, Handler = static x => Help.Reply(x.Reply, "MEMORY",
                "MALLOC-STATS", "    Return internal statistics report from the memory allocator.",
                "PURGE", "    Attempt to purge dirty pages for reclamation by the allocator.",
                "USAGE <key> [SAMPLES <count>]", "    Return memory in bytes used by <key> and its value. Nested values are",
                "    sampled up to <count> times (default: 5, 0 means sample all)."), Group = "server", Since = "4.0.0" });

    private static void Usage(CommandContext x)
    {
        long samples = 5;
        for (int j = 3; j < x.Args.Count; j++)
        {
            if (!x.Args.Is(j, "SAMPLES") || j + 1 >= x.Args.Count)
            {
                x.Reply.Error(Errors.Syntax);
                return;
            }
            if (!x.Args.TryGetInt64(j + 1, out samples))
            {
                x.Reply.Error(Errors.NotInteger);
                return;
            }
            if (samples < 0)
            {
                x.Reply.Error(Errors.Syntax);
                return;
            }
            if (samples == 0) samples = long.MaxValue;
            j++;
        }
        // As dbFind: the key as stored, expired or not.
        var db = x.Engine.Databases[x.Client.Db];
        if (db.KeyOf(x.Args[2]) is not { } key || db.Get(x.Args[2]) is not { } value)
        {
            x.Reply.NullBulk();
            return;
        }
        x.Reply.Integer(MemoryEstimate.Of(key, value, samples));
    }

    private static void Purge(CommandContext x)
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        x.Reply.Ok();
    }
}
