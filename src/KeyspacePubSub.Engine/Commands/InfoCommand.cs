using System.Diagnostics;
using System.Globalization;
using System.Text;
using KeyspacePubSub.Engine.Config;
using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>INFO with Redis 7.0's section and field names (src/server.c genRedisInfoString).</summary>
internal static class InfoCommand
{
    // Every section, in Redis's order; the default ones (INFO, INFO default) leave out commandstats (Redis also latencystats, not kept here).
    private static readonly string[] AllSections = ["server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules", "commandstats", "errorstats", "latencystats", "cluster", "keyspace"];
    private static readonly string[] DefaultSections = [.. AllSections.Where(s => s is not ("commandstats" or "latencystats"))];

    public static void Register(CommandTable t) =>
        t.Add(new() { Name = "info", Arity = -1, Flags = Loading | Stale | Sentinel, ExtraAcl = AclCategory.Dangerous, Handler = Info, Group = "server", Summary = "Returns information and statistics about the server." });

    private static void Info(CommandContext x)
    {
        var wanted = new List<string>();
        for (int i = 1; i < x.Args.Count; i++)
        {
            string s = x.Args.GetString(i).ToLowerInvariant();
            if (s is "all" or "everything") wanted.AddRange(AllSections);
            else if (s is "default") wanted.AddRange(DefaultSections);
            else wanted.Add(s);
        }
        if (wanted.Count == 0) wanted.AddRange(DefaultSections);
        x.Reply.Verbatim(Build(x.Engine, wanted));
    }

    public static string Build(Engine e, IEnumerable<string> sections)
    {
        var sb = new StringBuilder();
        foreach (var section in AllSections.Where(sections.Contains))
        {
            if (sb.Length > 0) sb.Append("\r\n");
            switch (section)
            {
                case "server": Server(e, sb); break;
                case "clients": Clients(e, sb); break;
                case "memory": Memory(e, sb); break;
                case "persistence": Persistence(e, sb); break;
                case "stats": Stats(e, sb); break;
                case "replication": Replication(e, sb); break;
                case "cpu": Cpu(sb); break;
                case "modules": sb.Append("# Modules\r\n"); break;
                case "commandstats": CommandStats(e, sb); break;
                case "errorstats": ErrorStats(e, sb); break;
                case "latencystats": LatencyStats(e, sb); break;
                case "cluster": sb.Append("# Cluster\r\ncluster_enabled:0\r\n"); break;
                case "keyspace": Keyspace(e, sb); break;
            }
        }
        return sb.ToString();
    }

    private static void Line(StringBuilder sb, string name, object value) =>
        sb.Append(name).Append(':').Append(Convert.ToString(value, CultureInfo.InvariantCulture)).Append("\r\n");

    private static void Server(Engine e, StringBuilder sb)
    {
        long uptime = (Environment.TickCount64 - e.Stats.StartedAt) / 1000;
        sb.Append("# Server\r\n");
        Line(sb, "redis_version", Engine.RedisVersion);
        Line(sb, "redis_git_sha1", "00000000");
        Line(sb, "redis_git_dirty", 0);
        Line(sb, "redis_build_id", "keyspacepubsub");
        Line(sb, "redis_mode", "standalone");
        Line(sb, "os", System.Runtime.InteropServices.RuntimeInformation.OSDescription);
        Line(sb, "arch_bits", IntPtr.Size * 8);
        Line(sb, "monotonic_clock", "POSIX clock_gettime");
        Line(sb, "multiplexing_api", "epoll");
        Line(sb, "process_id", Environment.ProcessId);
        Line(sb, "process_supervised", "no");
        Line(sb, "run_id", e.RunId);
        Line(sb, "tcp_port", e.ListeningPort);
        Line(sb, "server_time_usec", (DateTime.UtcNow - DateTime.UnixEpoch).Ticks / 10);
        Line(sb, "uptime_in_seconds", uptime);
        Line(sb, "uptime_in_days", uptime / 86400);
        Line(sb, "hz", e.Config.Hz);
        Line(sb, "configured_hz", e.Config.Hz);
        Line(sb, "executable", Environment.ProcessPath ?? "");
        Line(sb, "config_file", e.RedisConfPath ?? e.ConfigFilePath ?? "");
        Line(sb, "io_threads_active", 0);
    }

    private static void Clients(Engine e, StringBuilder sb)
    {
        sb.Append("# Clients\r\n");
        Line(sb, "connected_clients", e.Clients.Count);
        Line(sb, "cluster_connections", 0);
        Line(sb, "maxclients", e.Config.MaxClients);
        Line(sb, "client_recent_max_input_buffer", e.Clients.Select(c => c.QueryBufferBytes).DefaultIfEmpty(0).Max());
        Line(sb, "client_recent_max_output_buffer", e.Clients.Select(c => c.UnsentBytes).DefaultIfEmpty(0).Max());
        Line(sb, "blocked_clients", e.BlockedClients);
        Line(sb, "tracking_clients", e.TrackingClients);
        Line(sb, "pubsub_clients", e.Clients.Count(c => c.InPubSubMode));
        Line(sb, "clients_in_timeout_table", e.BlockedWithTimeout);
    }

    /// <summary>
    /// Redis's memory fields in Redis's order, from the figures MEMORY STATS shows (<see cref="MemoryOverhead"/>,
    /// as Redis's INFO and MEMORY STATS share getMemoryOverheadData); Lua and function fields are left out (there
    /// are none here), and this server's own GC figures follow.
    /// </summary>
    private static void Memory(Engine e, StringBuilder sb)
    {
        var m = MemoryOverhead.Of(e); // (raises the peak to the memory in use, as Redis's INFO does)
        long used = m.Total, rss = m.Rss, peak = m.Peak;
        sb.Append("# Memory\r\n");
        Line(sb, "used_memory", used);
        Line(sb, "used_memory_human", Human(used));
        Line(sb, "used_memory_rss", rss);
        Line(sb, "used_memory_rss_human", Human(rss));
        Line(sb, "used_memory_peak", peak);
        Line(sb, "used_memory_peak_human", Human(peak));
        Line(sb, "used_memory_peak_perc", Percent(m.PeakPercent));
        Line(sb, "used_memory_overhead", m.OverheadTotal);
        Line(sb, "used_memory_startup", m.Startup);
        Line(sb, "used_memory_dataset", m.Dataset);
        Line(sb, "used_memory_dataset_perc", Percent(m.DatasetPercent));
        Line(sb, "allocator_allocated", m.AllocatorAllocated);
        Line(sb, "allocator_active", m.AllocatorActive);
        Line(sb, "allocator_resident", m.AllocatorResident);
        long system = TotalSystemMemory();
        Line(sb, "total_system_memory", system);
        Line(sb, "total_system_memory_human", Human(system));
        var scripts = e.ScriptingIfStarted;
        long lua = scripts?.MemoryEstimate ?? Scripting.LuaScripting.EmptyMemory;
        Line(sb, "used_memory_lua", lua);
        Line(sb, "used_memory_vm_eval", lua);
        Line(sb, "used_memory_lua_human", Human(lua));
        Line(sb, "used_memory_scripts_eval", scripts?.Cache.Bytes ?? 0);
        Line(sb, "number_of_cached_scripts", scripts?.Cache.Count ?? 0);
        Line(sb, "number_of_functions", scripts?.Functions.FunctionCount ?? 0);
        Line(sb, "number_of_libraries", scripts?.Functions.LibraryCount ?? 0);
        long vmFunctions = scripts?.FunctionsMemoryEstimate ?? Scripting.LuaScripting.EmptyFunctionsMemory;
        Line(sb, "used_memory_vm_functions", vmFunctions);
        Line(sb, "used_memory_vm_total", vmFunctions + lua);
        Line(sb, "used_memory_vm_total_human", Human(vmFunctions + lua));
        long functions = Scripting.FunctionLibraries.EmptyBytes + (scripts?.Functions.Bytes ?? 0);
        Line(sb, "used_memory_functions", functions);
        Line(sb, "used_memory_scripts", functions + (scripts?.Cache.Bytes ?? 0));
        Line(sb, "used_memory_scripts_human", Human(functions + (scripts?.Cache.Bytes ?? 0)));
        Line(sb, "maxmemory", e.Config.MaxMemory);
        Line(sb, "maxmemory_human", Human(e.Config.MaxMemory));
        Line(sb, "maxmemory_policy", e.Config.MaxMemoryPolicy.Name());
        Line(sb, "allocator_frag_ratio", Ratio(m.AllocatorFragmentation));
        Line(sb, "allocator_frag_bytes", m.AllocatorFragmentationBytes);
        Line(sb, "allocator_rss_ratio", Ratio(m.AllocatorRss));
        Line(sb, "allocator_rss_bytes", m.AllocatorRssBytes);
        Line(sb, "rss_overhead_ratio", Ratio(m.RssOverhead));
        Line(sb, "rss_overhead_bytes", m.RssOverheadBytes);
        Line(sb, "mem_fragmentation_ratio", Ratio(used == 0 ? 0 : m.Fragmentation));
        Line(sb, "mem_fragmentation_bytes", m.FragmentationBytes);
        Line(sb, "mem_not_counted_for_evict", 0);
        Line(sb, "mem_replication_backlog", 0);
        Line(sb, "mem_total_replication_buffers", 0);
        Line(sb, "mem_clients_slaves", 0);
        Line(sb, "mem_clients_normal", m.ClientsNormal);
        Line(sb, "mem_cluster_links", 0);
        Line(sb, "mem_aof_buffer", 0);
        Line(sb, "mem_allocator", "dotnet-gc");
        // Nothing is defragmented or freed on another thread here (the GC compacts and frees).
        Line(sb, "active_defrag_running", 0);
        Line(sb, "lazyfree_pending_objects", 0);
        Line(sb, "lazyfreed_objects", 0);
        // Ours: evicted keys' estimated bytes the GC has not reclaimed yet, left out of used_memory.
        Line(sb, "mem_evicted_not_collected", e.EvictedNotCollected);
        // Ours: output buffers pools keep free for reuse, left out of used_memory too.
        Line(sb, "mem_pooled_free", e.PooledFreeBytes);
        // Ours, not Redis's: managed bytes allocated since start, to verify the hot path allocates nothing.
        Line(sb, "total_allocated_bytes", GC.GetTotalAllocatedBytes(false));
        Line(sb, "gc_collections", $"{GC.CollectionCount(0)},{GC.CollectionCount(1)},{GC.CollectionCount(2)}");
        // Ours too: the time the GC has stopped the server in all (a latency tail may be one collection).
        Line(sb, "gc_pause_total_ms", (long)GC.GetTotalPauseDuration().TotalMilliseconds);
        // The heap as the last collection left it: its size, and the free space inside it (fragmentation).
        var gc = GC.GetGCMemoryInfo();
        Line(sb, "gc_heap_size", gc.HeapSizeBytes);
        Line(sb, "gc_fragmented", gc.FragmentedBytes);
        Line(sb, "gc_committed", gc.TotalCommittedBytes);
    }

    private static long s_totalSystemMemory = -1;

    /// <summary>The machine's memory, as Redis's zmalloc_get_memory_size (physical pages × page size, /proc/meminfo's MemTotal); 0 when unknown, as Redis.</summary>
    private static long TotalSystemMemory() =>
        s_totalSystemMemory >= 0 ? s_totalSystemMemory : s_totalSystemMemory = ProcInfo.Bytes("/proc/meminfo", "MemTotal");

    /// <summary>As Redis's "%.2f%%".</summary>
    private static string Percent(float value) => value.ToString("0.00", CultureInfo.InvariantCulture) + "%";

    /// <summary>As Redis's "%.2f".</summary>
    private static string Ratio(float value) => value.ToString("0.00", CultureInfo.InvariantCulture);

    private static void Persistence(Engine e, StringBuilder sb)
    {
        sb.Append("# Persistence\r\n");
        Line(sb, "loading", 0);
        Line(sb, "async_loading", 0);
        // A save is of the durable keys' store (SAVE, BGSAVE); without persistence nothing is ever saved.
        var store = e.Durable?.Store;
        Line(sb, "rdb_changes_since_last_save", store?.ChangesSinceLastSave ?? 0);
        Line(sb, "rdb_bgsave_in_progress", e.Durable?.BackgroundSaveRunning == true ? 1 : 0);
        Line(sb, "rdb_last_save_time", store?.LastSaveUnix ?? e.Stats.StartedUtc.ToUnixTimeSeconds());
        Line(sb, "rdb_last_bgsave_status", store?.LastBackgroundSaveOk == false ? "err" : "ok");
        Line(sb, "aof_enabled", 0);
        Line(sb, "aof_rewrite_in_progress", 0);
        Line(sb, "aof_last_write_status", "ok");
        // The durable room backlog (SQLite), when enabled.
        Line(sb, "durable_enabled", e.Durable is null ? 0 : 1);
        if (e.Durable is not { } d) return;
        Line(sb, "durable_key_patterns", string.Join(",", d.Patterns));
        Line(sb, "durable_keys", d.StoredKeys);
        foreach (var (name, value) in d.Store.Info()) Line(sb, name, value);
    }

    private static void Stats(Engine e, StringBuilder sb)
    {
        var s = e.Stats;
        sb.Append("# Stats\r\n");
        Line(sb, "total_connections_received", s.ConnectionsReceived);
        Line(sb, "total_commands_processed", s.CommandsProcessed);
        Line(sb, "instantaneous_ops_per_sec", s.Commands.PerSecond);
        Line(sb, "total_net_input_bytes", s.NetInputBytes);
        Line(sb, "total_net_output_bytes", s.NetOutputBytes);
        Line(sb, "instantaneous_input_kbps", Ratio(s.NetInput.PerSecond / 1024f));
        Line(sb, "instantaneous_output_kbps", Ratio(s.NetOutput.PerSecond / 1024f));
        Line(sb, "rejected_connections", s.RejectedConnections);
        Line(sb, "expired_keys", s.ExpiredKeys);
        Line(sb, "evicted_keys", s.EvictedKeys);
        long exceeded = s.EvictionExceededSince == 0 ? 0 : Environment.TickCount64 - s.EvictionExceededSince;
        Line(sb, "total_eviction_exceeded_time", s.EvictionExceededMs + exceeded);
        Line(sb, "current_eviction_exceeded_time", exceeded);
        Line(sb, "keyspace_hits", s.KeyspaceHits);
        Line(sb, "keyspace_misses", s.KeyspaceMisses);
        Line(sb, "pubsub_channels", e.Broker.ChannelCount);
        Line(sb, "pubsub_patterns", e.Broker.PatternCount);
        Line(sb, "pubsubshard_channels", e.Broker.ShardChannelCount);
        Line(sb, "migrate_cached_sockets", 0); // MIGRATE keeps no connection open (see README)
        Line(sb, "pubsub_slow_disconnects", s.PubSubSlowDisconnects);
        Line(sb, "client_output_buffer_limit_disconnections", s.PubSubSlowDisconnects);
        Line(sb, "tracking_total_keys", e.TrackedKeys);
        Line(sb, "tracking_total_items", e.TrackedItems);
        Line(sb, "tracking_total_prefixes", e.TrackingPrefixes);
        Line(sb, "total_error_replies", s.ErrorReplies);
        Line(sb, "total_reads_processed", Interlocked.Read(ref s.ReadsProcessed));
        Line(sb, "total_writes_processed", s.WritesProcessed);
        Line(sb, "io_threaded_reads_processed", 0); // every read is the event loop's own
        Line(sb, "io_threaded_writes_processed", Interlocked.Read(ref s.IoThreadedWrites));
        Line(sb, "internal_errors", Interlocked.Read(ref s.InternalErrors));
    }

    private static void Replication(Engine e, StringBuilder sb)
    {
        sb.Append("# Replication\r\n");
        Line(sb, "role", "master");
        Line(sb, "connected_slaves", 0);
        Line(sb, "master_failover_state", "no-failover");
        Line(sb, "master_replid", e.RunId);
        Line(sb, "master_replid2", new string('0', 40));
        Line(sb, "master_repl_offset", 0);
        Line(sb, "second_repl_offset", -1);
        Line(sb, "repl_backlog_active", 0);
        Line(sb, "repl_backlog_size", 1048576);
        Line(sb, "repl_backlog_first_byte_offset", 0);
        Line(sb, "repl_backlog_histlen", 0);
    }

    private static void Cpu(StringBuilder sb)
    {
        using var p = Process.GetCurrentProcess();
        sb.Append("# CPU\r\n");
        Line(sb, "used_cpu_sys", ServerCommands.Seconds(p.PrivilegedProcessorTime.TotalSeconds));
        Line(sb, "used_cpu_user", ServerCommands.Seconds(p.UserProcessorTime.TotalSeconds));
        Line(sb, "used_cpu_sys_children", "0.000000");
        Line(sb, "used_cpu_user_children", "0.000000");
    }

    /// <summary>Each command and subcommand that was called, failed or was rejected since the start or CONFIG RESETSTAT.</summary>
    private static void CommandStats(Engine e, StringBuilder sb)
    {
        sb.Append("# Commandstats\r\n");
        var commands = e.Commands.All.SelectMany(c => c.Subcommands is { } subs ? subs.Values.Prepend(c) : [c]);
        foreach (var c in commands.Where(c => c.Calls > 0 || c.FailedCalls > 0 || c.RejectedCalls > 0).OrderBy(c => c.FullName, StringComparer.Ordinal))
        {
            long usec = c.Ticks * 1_000_000 / Stopwatch.Frequency;
            sb.Append(CultureInfo.InvariantCulture, $"cmdstat_{c.FullName}:calls={c.Calls},usec={usec},usec_per_call={(c.Calls == 0 ? 0 : (double)usec / c.Calls):F2},rejected_calls={c.RejectedCalls},failed_calls={c.FailedCalls}\r\n");
        }
    }

    /// <summary>Every command and subcommand with a latency histogram, in name order (as commandstats): the configured percentiles in microseconds.</summary>
    private static void LatencyStats(Engine e, StringBuilder sb)
    {
        sb.Append("# Latencystats\r\n");
        if (!e.Config.LatencyTracking) return;
        foreach (var c in CommandsWithLatencies(e))
        {
            var h = c.Latencies!;
            var parts = e.Config.LatencyTrackingPercentiles.Select(p => $"p{ServerConfig.PercentileText(p)}={CFixed.Format(h.ValueAtPercentile(p) / 1000.0, 3)}");
            sb.Append("latency_percentiles_usec_").Append(c.FullName).Append(':').AppendJoin(',', parts).Append("\r\n");
        }
    }

    internal static IEnumerable<CommandDef> CommandsWithLatencies(Engine e) =>
        e.Commands.All.SelectMany(c => c.Subcommands is { } subs ? subs.Values.Prepend(c) : [c]).Where(c => c.Latencies != null).OrderBy(c => c.FullName, StringComparer.Ordinal);

    /// <summary>Error replies by code, in the byte order of the codes (Redis keeps them in a radix tree).</summary>
    private static void ErrorStats(Engine e, StringBuilder sb)
    {
        sb.Append("# Errorstats\r\n");
        foreach (var (code, count) in e.Stats.ErrorCodes.OrderBy(kv => kv.Key, StringComparer.Ordinal)) sb.Append(CultureInfo.InvariantCulture, $"errorstat_{code}:count={count}\r\n");
    }

    private static void Keyspace(Engine e, StringBuilder sb)
    {
        sb.Append("# Keyspace\r\n");
        foreach (var db in e.Databases)
        {
            if (db.Count > 0) Line(sb, $"db{db.Index}", $"keys={db.Count},expires={db.ExpiresCount},avg_ttl=0");
        }
    }

    private static string Human(long bytes)
    {
        string[] units = ["B", "K", "M", "G", "T"];
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < units.Length - 1)
        {
            v /= 1024;
            u++;
        }
        return u == 0 ? $"{bytes}B" : v.ToString("0.00", CultureInfo.InvariantCulture) + units[u];
    }
}
