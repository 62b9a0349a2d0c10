using System.Globalization;
using System.Runtime;
using System.Runtime.InteropServices;

namespace KeyspacePubSub.Persistence;

/// <summary>
/// How the heap behaves while a restart loads a large file. Everything a load allocates survives it (a million
/// list elements are a million small arrays), so a collection during the load is pure cost: each one marks, and
/// may copy, what was loaded so far. And each element's memory is fresh: the page faults of first touching it
/// (zeroed by the kernel, then by the GC) were the largest kernel cost of a load (perf, native build).
/// So, for the load of a file of at least <see cref="ThresholdBytes"/>:
/// <list type="bullet">
/// <item>the GC runs no collection (a no-GC region sized from the file; should the load need more, the GC
/// collects as usual and the region ends);</item>
/// <item>the GC's address range is advised to use transparent huge pages (<c>madvise(MADV_HUGEPAGE)</c>; the
/// machine's THP setting is usually "madvise"), so one fault maps 2 MiB instead of 4 KiB. Afterwards new memory
/// goes back to 4 KiB pages; what was loaded keeps its huge pages;</item>
/// <item>at the end one full, non-compacting collection makes what was loaded old generation, where it stays,
/// rather than leaving the first collection while clients are served to promote it.</item>
/// </list>
/// Loading 1,000,000 backlog entries (a 70 MB file) took 465–510 ms before and 314–356 ms with both (the two
/// alone: 397–435 ms with huge pages, 469–474 ms with the no-GC region). Smaller files load as before: a few
/// huge pages would cost more memory than the load saves time.
/// </summary>
public sealed partial class BulkLoadMemory : IDisposable
{
    /// <summary>Files (database and WAL together) from this size up load this way. Settable for tests.</summary>
    public static long ThresholdBytes { get; set; } = 32L << 20;

    private const long MaxRegionBytes = 16L << 30;
    private readonly (long Lo, long Hi) _advised;

    /// <summary>Whether the no-GC region was granted, and the range advised to use huge pages (empty if not).</summary>
    public bool NoGcRegion { get; }
    public (long Lo, long Hi) HugePageRange => _advised;

    private BulkLoadMemory(bool noGcRegion, (long, long) advised)
    {
        NoGcRegion = noGcRegion;
        _advised = advised;
    }

    /// <summary>The load's memory mode for a file of <paramref name="fileBytes"/>, or null for a small file.</summary>
    public static BulkLoadMemory? Enter(long fileBytes)
    {
        if (fileBytes < ThresholdBytes) return null;
        // A load allocates about twice the file (elements, their lists' arrays, the loader's row chunks).
        bool noGc = false;
        for (long size = Math.Clamp(3 * fileBytes, 64L << 20, MaxRegionBytes); size >= 64L << 20 && !noGc; size /= 2)
        {
            try
            {
                noGc = GC.TryStartNoGCRegion(size);
            }
            catch (ArgumentOutOfRangeException)
            {
                // More than this GC grants at once: ask for less.
            }
            catch (InvalidOperationException)
            {
                break; // a region is in progress already (another server of this process loads)
            }
        }
        var advised = HeapRange();
        if (advised.Hi != 0 && madvise((nint)advised.Lo, (nuint)(advised.Hi - advised.Lo), MADV_HUGEPAGE) != 0) advised = default;
        return new BulkLoadMemory(noGc, advised);
    }

    public void Dispose()
    {
        if (_advised.Hi != 0) madvise((nint)_advised.Lo, (nuint)(_advised.Hi - _advised.Lo), MADV_NOHUGEPAGE);
        if (NoGcRegion && GCSettings.LatencyMode == GCLatencyMode.NoGCRegion)
        {
            try
            {
                GC.EndNoGCRegion();
            }
            catch (InvalidOperationException)
            {
                // The region ended by itself (the load needed more, or something collected).
            }
        }
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: false);
    }

    /// <summary>
    /// The GC's address range: the run of adjacent anonymous mappings (committed and reserved) that holds a
    /// fresh small object. Empty where /proc/self/maps cannot be read (not Linux).
    /// </summary>
    private static unsafe (long Lo, long Hi) HeapRange()
    {
        if (!OperatingSystem.IsLinux()) return default;
        var probe = new byte[64];
        long at;
        fixed (byte* p = probe) at = (long)p;
        var maps = new List<(long Lo, long Hi, bool Anonymous)>();
        try
        {
            foreach (var line in File.ReadLines("/proc/self/maps"))
            {
                // "lo-hi perms offset dev inode [path]": an anonymous mapping has no path.
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                int dash = fields[0].IndexOf('-');
                maps.Add((long.Parse(fields[0].AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                    long.Parse(fields[0].AsSpan(dash + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture), fields.Length < 6));
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return default;
        }
        GC.KeepAlive(probe);
        int first = maps.FindIndex(m => at >= m.Lo && at < m.Hi);
        if (first < 0 || !maps[first].Anonymous) return default;
        int last = first;
        while (first > 0 && maps[first - 1].Anonymous && maps[first - 1].Hi == maps[first].Lo) first--;
        while (last + 1 < maps.Count && maps[last + 1].Anonymous && maps[last + 1].Lo == maps[last].Hi) last++;
        return (maps[first].Lo, maps[last].Hi);
    }

    private const int MADV_HUGEPAGE = 14, MADV_NOHUGEPAGE = 15;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int madvise(nint address, nuint length, int advice);
}
