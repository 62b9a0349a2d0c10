using System.Runtime;

namespace KeyspacePubSub.Persistence;

/// <summary>
/// How the heap behaves while a restart loads a large file. Everything a load allocates survives it (a million
/// list elements are a million small arrays), so a collection during the load is pure cost: each one marks, and
/// may copy, what was loaded so far. So, for the load of a file of at least <see cref="ThresholdBytes"/>, the GC
/// runs no collection (a no-GC region sized from the file; should the load need more, the GC collects as usual
/// and the region ends), and at the end one full, non-compacting collection makes what was loaded old
/// generation, where it stays, rather than leaving the first collection while clients are served to promote it.
/// <para>
/// The heap once was also advised to use transparent huge pages during the load (<c>madvise(MADV_HUGEPAGE)</c>),
/// which looked faster in back-to-back restarts. It is not done any more: on a VM whose kernel hands freed memory
/// back to the host (free page reporting, as on this machine), a 2 MiB page that the host took back cost ~2 ms
/// to fault in again, and a load of 1,000,000 entries (a 70 MB file) took 241–255 ms with huge pages against
/// 123–155 ms without whenever the previous process had exited more than ~2 s before; a 128 MB region touched by
/// a small program: 220–270 ms with huge pages, 42–45 ms without (twenty-seventh session).
/// </para>
/// </summary>
public sealed class BulkLoadMemory : IDisposable
{
    /// <summary>Files (database and WAL together) from this size up load this way. Settable for tests.</summary>
    public static long ThresholdBytes { get; set; } = 32L << 20;

    private const long MaxRegionBytes = 16L << 30;

    /// <summary>Whether the no-GC region was granted.</summary>
    public bool NoGcRegion { get; }

    private BulkLoadMemory(bool noGcRegion) => NoGcRegion = noGcRegion;

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
        return new BulkLoadMemory(noGc);
    }

    public void Dispose()
    {
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
}
