using System.Globalization;
using System.Text;

namespace KeyspacePubSub.Engine;

/// <summary>
/// LATENCY DOCTOR and LATENCY GRAPH (src/latency.c createLatencyReport and latencyCommandGenSparkeline), with
/// Redis's texts. The advice covers the events this server records (command, fast-command, eviction-cycle) and
/// transparent huge pages in this process; Redis's advice on fork, AOF and disks has no event here to answer.
/// </summary>
internal static class LatencyReport
{
    private const int GraphColumns = 80;

    public static string Doctor(LatencyMonitor monitor, Config.ServerConfig config)
    {
        var report = new StringBuilder();
        if (!monitor.Events.Any() && config.LatencyMonitorThreshold == 0)
        {
            return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n";
        }
        bool slowlogEnabled = false, slowlogTuning = false, slowlogInspect = false, scheduler = false, largeObjects = false, massEviction = false, disableThp = false;
        int advices = 0, eventNum = 0;
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        foreach (var (name, ts) in monitor.Events)
        {
            eventNum++;
            if (eventNum == 1) report.Append("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n");
            var (samples, avg, mad, period) = Analyze(ts, now);
            report.Append(CultureInfo.InvariantCulture,
                $"{eventNum}. {name}: {samples} latency spikes (average {avg}ms, mean deviation {mad}ms, period {((double)period / samples).ToString("F2", CultureInfo.InvariantCulture)} sec). Worst all time event {ts.Max}ms.");
            if (name.Equals("command", StringComparison.OrdinalIgnoreCase))
            {
                if (config.SlowlogLogSlowerThan < 0)
                {
                    slowlogEnabled = true;
                    advices++;
                }
                else if (config.SlowlogLogSlowerThan / 1000 > config.LatencyMonitorThreshold)
                {
                    slowlogTuning = true;
                    advices++;
                }
                slowlogInspect = largeObjects = true;
                advices += 2;
            }
            if (name.Equals("fast-command", StringComparison.OrdinalIgnoreCase))
            {
                scheduler = true;
                advices++;
            }
            if (name.Equals("eviction-cycle", StringComparison.OrdinalIgnoreCase))
            {
                massEviction = true;
                advices++;
            }
            report.Append('\n');
        }
        if (AnonHugePagesBytes() > 0)
        {
            disableThp = true;
            advices++;
        }
        if (eventNum == 0 && advices == 0)
        {
            report.Append("Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n");
        }
        else if (eventNum > 0 && advices == 0)
        {
            report.Append("\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your help request.\n");
        }
        else
        {
            long threshold = config.LatencyMonitorThreshold * 1000;
            report.Append("\nI have a few advices for you:\n\n");
            if (slowlogEnabled) report.Append(CultureInfo.InvariantCulture, $"- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than {threshold}'. If the Slow log is disabled Redis is not able to log slow commands execution for you.\n");
            if (slowlogTuning) report.Append(CultureInfo.InvariantCulture, $"- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than {threshold}'.\n");
            if (slowlogInspect) report.Append("- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n");
            if (scheduler)
            {
                report.Append("- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n" +
                    "  1) Lower the system load.\n" +
                    "  2) Use a computer / VM just for Redis if you are running other software in the same system.\n" +
                    "  3) Check if you have a \"noisy neighbour\" problem.\n" +
                    "  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n" +
                    "  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n");
            }
            if (largeObjects) report.Append("- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n");
            if (massEviction) report.Append("- Sudden changes to the 'maxmemory' setting via 'CONFIG SET', or allocation of large objects via sets or sorted sets intersections, STORE option of SORT, Redis Cluster large keys migrations (RESTORE command), may create sudden memory pressure forcing the server to block trying to evict keys. \n");
            if (disableThp) report.Append("- I detected a non zero amount of anonymous huge pages used by your process. This creates very serious latency events in different conditions, especially when Redis is persisting on disk. To disable THP support use the command 'echo never > /sys/kernel/mm/transparent_hugepage/enabled', make sure to also add it into /etc/rc.local so that the command will be executed again after a reboot. Note that even if you have already disabled THP, you still need to restart the Redis process to get rid of the huge pages already created.\n");
        }
        return report.ToString();
    }

    /// <summary>analyzeLatencyForEvent: the samples kept, their average and mean absolute deviation (whole ms), and the seconds since the oldest (at least 1).</summary>
    private static (int Samples, long Avg, long Mad, long Period) Analyze(LatencyMonitor.Series ts, long now)
    {
        int samples = 0;
        long sum = 0, oldest = 0;
        foreach (var (time, latency) in ts.History())
        {
            samples++;
            sum += latency;
            if (oldest == 0 || time < oldest) oldest = time;
        }
        if (samples == 0) return (0, 0, 0, 0);
        long avg = sum / samples;
        long period = Math.Max(1, now - oldest);
        long deviations = 0;
        foreach (var (_, latency) in ts.History()) deviations += Math.Abs(avg - latency);
        return (samples, avg, deviations / samples, period);
    }

    /// <summary>LATENCY GRAPH: the event's header line, a rule, and its samples as a sparkline labelled by age.</summary>
    public static string Graph(string name, LatencyMonitor.Series ts)
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var samples = new List<(double, string?)>();
        long min = 0, max = 0;
        foreach (var (time, latency) in ts.History())
        {
            if (samples.Count == 0) min = max = latency;
            else
            {
                max = Math.Max(max, latency);
                min = Math.Min(min, latency);
            }
            long elapsed = now - time;
            string label = elapsed < 60 ? $"{elapsed}s" : elapsed < 3600 ? $"{elapsed / 60}m" : elapsed < 86400 ? $"{elapsed / 3600}h" : $"{elapsed / 86400}d";
            samples.Add((latency, label));
        }
        var graph = new StringBuilder();
        graph.Append(CultureInfo.InvariantCulture, $"{name} - high {max} ms, low {min} ms (all time high {ts.Max} ms)\n");
        graph.Append('-', GraphColumns).Append('\n');
        Sparkline.Render(graph, samples, GraphColumns, 4, fill: true);
        return graph.ToString();
    }

    /// <summary>THPGetAnonHugePagesSize: this process's anonymous huge pages, in bytes (0 where /proc says nothing).</summary>
    private static long AnonHugePagesBytes() => ProcInfo.Bytes("/proc/self/smaps_rollup", "AnonHugePages");
}
