using System.Diagnostics;

namespace KeyspacePubSub.Engine;

/// <summary>
/// The figures of MEMORY STATS and MEMORY DOCTOR, as Redis's getMemoryOverheadData (src/object.c), taken from
/// this server's own accounting: used memory is the GC heap's (as INFO used_memory), the overhead is the startup
/// memory, the clients' buffers and the databases' key tables, and the "allocator" is the .NET GC: what it has
/// handed out, that plus the free space inside its heap, and what it has committed from the system.
/// </summary>
internal sealed class MemoryOverhead
{
    public long Peak, Total, Startup, ClientsNormal, OverheadTotal, Keys, BytesPerKey, Dataset;
    public float DatasetPercent, PeakPercent;
    public long AllocatorAllocated, AllocatorActive, AllocatorResident, Rss;
    public readonly List<(int Db, long Main, long Expires)> Dbs = [];
    public int Clients;

    public float AllocatorFragmentation => (float)AllocatorActive / AllocatorAllocated;
    public long AllocatorFragmentationBytes => AllocatorActive - AllocatorAllocated;
    public float AllocatorRss => (float)AllocatorResident / AllocatorActive;
    public long AllocatorRssBytes => AllocatorResident - AllocatorActive;
    public float RssOverhead => (float)Rss / AllocatorResident;
    public long RssOverheadBytes => Rss - AllocatorResident;
    public float Fragmentation => (float)Rss / Total;
    public long FragmentationBytes => Rss - Total;

    public static MemoryOverhead Of(Engine e)
    {
        var m = new MemoryOverhead { Total = e.UsedMemory(), Startup = e.StartupMemory };
        e.NotePeakMemory(m.Total);
        m.Peak = e.PeakMemory;
        long overhead = m.Startup;
        foreach (var c in e.Clients)
        {
            m.ClientsNormal += c.TotalMemory;
            m.Clients++;
        }
        overhead += m.ClientsNormal;
        foreach (var db in e.Databases)
        {
            if (db.Count == 0) continue;
            m.Keys += db.Count;
            m.Dbs.Add((db.Index, db.TableOverhead, db.ExpiresOverhead));
            overhead += db.TableOverhead + db.ExpiresOverhead;
        }
        m.OverheadTotal = overhead;
        m.Dataset = Math.Max(0, m.Total - overhead);
        m.PeakPercent = (float)m.Total * 100 / Math.Max(1, m.Peak);
        long net = m.Total > m.Startup ? m.Total - m.Startup : 1;
        m.DatasetPercent = (float)m.Dataset * 100 / net;
        m.BytesPerKey = m.Keys > 0 ? net / m.Keys : 0;

        var gc = GC.GetGCMemoryInfo();
        m.AllocatorAllocated = Math.Max(1, GC.GetTotalMemory(false));
        m.AllocatorActive = m.AllocatorAllocated + gc.FragmentedBytes;
        m.AllocatorResident = Math.Max(m.AllocatorActive, gc.TotalCommittedBytes);
        using var p = Process.GetCurrentProcess();
        m.Rss = p.WorkingSet64;
        return m;
    }

    /// <summary>
    /// MEMORY DOCTOR (getMemoryDoctorReport), with Redis's texts. Nearly empty is judged on the memory used above
    /// the startup's (a .NET server starts with several MB where Redis starts with one). Redis's four checks of
    /// fragmentation and RSS overhead are not made: they judge jemalloc against the process, and a managed
    /// runtime's RSS holds its code and JIT beside the heap, so they would always fire and their advice
    /// (jemalloc, activedefrag, Lua or modules) does not apply. Nor are replicas' buffers or scripts checked:
    /// this server has neither.
    /// </summary>
    public string Doctor()
    {
        bool empty = false, bigPeak = false, bigClientBuffers = false;
        int reports = 0;
        if (Total - Startup < 5 * 1024 * 1024)
        {
            empty = true;
            reports++;
        }
        else
        {
            if ((float)Peak / Total > 1.5)
            {
                bigPeak = true;
                reports++;
            }
            if (Clients > 0 && ClientsNormal / Clients > 1024 * 200)
            {
                bigClientBuffers = true;
                reports++;
            }
        }
        if (reports == 0) return "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n";
        if (empty)
        {
            return "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. " +
                   "Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n";
        }
        var s = new System.Text.StringBuilder("Sam, I detected a few issues in this Redis instance memory implants:\n\n");
        if (bigPeak)
        {
            s.Append(" * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.\n\n");
        }
        if (bigClientBuffers)
        {
            s.Append(" * Big client buffers: The clients output buffers in this instance are greater than 200K per client (on average). This may result from different causes, like Pub/Sub clients subscribed to channels bot not receiving data fast enough, so that data piles on the Redis instance output buffer, or clients sending commands with large replies or very large sequences of commands in the same pipeline. Please use the CLIENT LIST command in order to investigate the issue if it causes problems in your instance, or to understand better why certain clients are using a big amount of memory.\n\n");
        }
        s.Append("I'm here to keep you safe, Sam. I want to help you.\n");
        return s.ToString();
    }
}
