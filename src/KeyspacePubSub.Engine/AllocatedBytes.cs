namespace KeyspacePubSub.Engine;

/// <summary>What making an object costs the GC heap, measured: its own bytes and those of what it allocates.</summary>
public static class AllocatedBytes
{
    /// <summary>The bytes <paramref name="make"/> allocates on this thread (pass a static lambda: a cached one allocates nothing).</summary>
    public static long Of(Func<object> make)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        GC.KeepAlive(make());
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}
