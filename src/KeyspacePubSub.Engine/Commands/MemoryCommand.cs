using KeyspacePubSub.Engine.Keyspace;
using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>
/// MEMORY USAGE / STATS / DOCTOR / PURGE / MALLOC-STATS / HELP (src/object.c memoryCommand). USAGE estimates this
/// server's own bytes for the key (<see cref="MemoryEstimate"/>), with Redis's argument rules; STATS and DOCTOR
/// report <see cref="MemoryOverhead"/>; PURGE runs a full garbage collection; there are no allocator statistics to show.
/// </summary>
internal static class MemoryCommand
{
    public static void Register(CommandTable t) =>
        t.AddContainer(new() { Name = "memory", Arity = -2, Group = "server", Since = "4.0.0", Summary = "A container for memory diagnostics commands." },
            new() { Name = "usage", Arity = -3, Flags = ReadOnly, Handler = Usage, FirstKey = 2, LastKey = 2, Step = 1, Group = "server", Since = "4.0.0" },
            new() { Name = "purge", Arity = 2, Flags = None, Handler = Purge, Group = "server", Since = "4.0.0" },
            new() { Name = "stats", Arity = 2, Flags = None, Handler = Stats, Group = "server", Since = "4.0.0", Summary = "Show memory usage details" },
            new() { Name = "doctor", Arity = 2, Flags = None, Handler = static x => x.Reply.Verbatim(MemoryOverhead.Of(x.Engine).Doctor()), Group = "server", Since = "4.0.0", Summary = "Outputs memory problems report" },
            new() { Name = "malloc-stats", Arity = 2, Flags = None, Handler = static x => x.Reply.Bulk("Stats not supported for the current allocator"u8), Group = "server", Since = "4.0.0" },
            new() { Name = "help", Arity = 2, Flags = Loading | Stale, Handler = static x => Help.Reply(x.Reply, "MEMORY",
                "DOCTOR", "    Return memory problems reports.",
                "MALLOC-STATS", "    Return internal statistics report from the memory allocator.",
                "PURGE", "    Attempt to purge dirty pages for reclamation by the allocator.",
                "STATS", "    Return information about the memory usage of the server.",
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

    /// <summary>MEMORY STATS: Redis's 27 fields and a map per database with keys, in Redis's order (see <see cref="MemoryOverhead"/>).</summary>
    private static void Stats(CommandContext x)
    {
        var m = MemoryOverhead.Of(x.Engine);
        var r = x.Reply;
        r.Map(27 + m.Dbs.Count);
        Field(r, "peak.allocated", m.Peak);
        Field(r, "total.allocated", m.Total);
        Field(r, "startup.allocated", m.Startup);
        Field(r, "replication.backlog", 0);
        Field(r, "clients.slaves", 0);
        Field(r, "clients.normal", m.ClientsNormal);
        Field(r, "cluster.links", 0);
        Field(r, "aof.buffer", 0);
        Field(r, "lua.caches", 0);
        Field(r, "functions.caches", 0);
        foreach (var (db, main, expires) in m.Dbs)
        {
            r.Bulk($"db.{db}");
            r.Map(3);
            Field(r, "overhead.hashtable.main", main);
            Field(r, "overhead.hashtable.expires", expires);
            Field(r, "overhead.hashtable.slot-to-keys", 0);
        }
        Field(r, "overhead.total", m.OverheadTotal);
        Field(r, "keys.count", m.Keys);
        Field(r, "keys.bytes-per-key", m.BytesPerKey);
        Field(r, "dataset.bytes", m.Dataset);
        Field(r, "dataset.percentage", m.DatasetPercent);
        Field(r, "peak.percentage", m.PeakPercent);
        Field(r, "allocator.allocated", m.AllocatorAllocated);
        Field(r, "allocator.active", m.AllocatorActive);
        Field(r, "allocator.resident", m.AllocatorResident);
        Field(r, "allocator-fragmentation.ratio", m.AllocatorFragmentation);
        Field(r, "allocator-fragmentation.bytes", m.AllocatorFragmentationBytes);
        Field(r, "allocator-rss.ratio", m.AllocatorRss);
        Field(r, "allocator-rss.bytes", m.AllocatorRssBytes);
        Field(r, "rss-overhead.ratio", m.RssOverhead);
        Field(r, "rss-overhead.bytes", m.RssOverheadBytes);
        Field(r, "fragmentation", m.Fragmentation);
        Field(r, "fragmentation.bytes", m.FragmentationBytes);
    }

    private static void Field(RespWriter r, string name, long value)
    {
        r.Bulk(name);
        r.Integer(value);
    }

    /// <summary>A ratio or percentage: a float, as Redis computes them, written as a double.</summary>
    private static void Field(RespWriter r, string name, float value)
    {
        r.Bulk(name);
        r.Double(value);
    }

    private static void Purge(CommandContext x)
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        x.Reply.Ok();
    }
}
