using System.Diagnostics;
using System.Runtime.InteropServices;

namespace KeyspacePubSub.Engine;

/// <summary>
/// Output buffers of one size (message frames, a connection's output blocks) carved out of one anonymous
/// mapping of their own, outside the GC heap, and kept for reuse. Buffers that no output used for a while are
/// given back to the system page by page (<see cref="Trim"/>: madvise MADV_DONTNEED), as Redis's allocator
/// gives freed pages back, and the next use of such a buffer takes fresh pages.
/// <para>
/// They were pinned arrays before (2026-12-07): a burst of output to slow subscribers left the process 29 MB
/// above where it started, for good (native build: RSS 8 MB at start, 37 MB during and after a burst of 3,000
/// messages of 4 KB to 100 subscribers that read none, then left; Redis: 6 → 927 → 14 MB within 11 s). Dropping
/// pooled arrays did not give the memory back: the GC returns only whole free regions of the pinned heap, and
/// one pinned buffer made after a burst (a reply's) kept a region of its frames committed (measured: 8.7 MB of
/// free space in the pinned heap after the pools were emptied).
/// </para>
/// <para>
/// Every instance is listed in <see cref="All"/>: the engine counts the bytes rented from them as used memory
/// (output waiting for a client is used memory in Redis too) and trims them once a second.
/// </para>
/// </summary>
public sealed unsafe class NativeBlocks
{
    private static readonly Lock s_allLock = new();
    private static NativeBlocks[] s_all = [];

    private readonly byte* _base;
    private readonly Lock _lock;
    private readonly nint[] _warm; // free buffers whose pages are (or may be) resident: taken first
    private readonly nint[] _cold; // free buffers whose pages were given back
    private int _warmCount;
    private int _coldCount;
    private int _fresh; // buffers never handed out yet: slots _fresh.. of the mapping
    private int _rented;
    private FreeListDecay _decay;

    /// <summary>A mapping of <paramref name="capacity"/> buffers of <paramref name="bufferSize"/> bytes (a multiple of the page size); nothing is resident until used.</summary>
    /// <para>
    /// <paramref name="guard"/>: the lock of the pool's user, which keeps its buffer objects under it too, so
    /// that taking a buffer and its object is one lock (<see cref="RentHeld"/>, <see cref="ReturnHeld"/>).
    /// </para>
    public NativeBlocks(int bufferSize, int capacity, Lock? guard = null)
        : this(bufferSize, capacity, guard, listed: true)
    {
    }

    /// <summary>A pool left out of <see cref="All"/> when not <paramref name="listed"/> (tests: no engine's cron trims it meanwhile).</summary>
    internal NativeBlocks(int bufferSize, int capacity, Lock? guard, bool listed)
    {
        _lock = guard ?? new Lock();
        if (bufferSize <= 0 || bufferSize % 4096 != 0) throw new ArgumentOutOfRangeException(nameof(bufferSize));
        BufferSize = bufferSize;
        Capacity = capacity;
        _warm = new nint[capacity];
        _cold = new nint[capacity];
        nuint bytes = (nuint)bufferSize * (nuint)capacity;
        _base = OperatingSystem.IsLinux() ? Map(bytes) : (byte*)NativeMemory.AlignedAlloc(bytes, 4096);
        if (listed)
        {
            lock (s_allLock) s_all = [.. s_all, this];
        }
    }

    public int BufferSize { get; }

    public int Capacity { get; }

    /// <summary>Every instance made in this process.</summary>
    public static IReadOnlyList<NativeBlocks> All => Volatile.Read(ref s_all);

    /// <summary>Bytes of the buffers handed out and not yet returned (read without the lock: an estimate).</summary>
    public long RentedBytes => (long)Volatile.Read(ref _rented) * BufferSize;

    /// <summary>Bytes of the free buffers whose pages are kept resident for reuse.</summary>
    public long FreeBytes => (long)Volatile.Read(ref _warmCount) * BufferSize;

    /// <summary>Bytes rented from every instance (used memory).</summary>
    public static long TotalRentedBytes => SumOf(static b => b.RentedBytes);

    /// <summary>Bytes kept free and resident by every instance (INFO mem_pooled_free).</summary>
    public static long TotalFreeBytes => SumOf(static b => b.FreeBytes);

    /// <summary>A buffer, or null when all <see cref="Capacity"/> are in use (the caller makes one of its own).</summary>
    public byte* Rent()
    {
        lock (_lock) return RentHeld();
    }

    /// <summary><see cref="Rent"/>, for a caller that holds the pool's guard.</summary>
    public byte* RentHeld()
    {
        Debug.Assert(_lock.IsHeldByCurrentThread, "the guard is held");
        nint p;
        if (_warmCount > 0) p = _warm[--_warmCount];
        else if (_coldCount > 0) p = _cold[--_coldCount];
        else if (_fresh < Capacity) p = (nint)(_base + ((long)_fresh++ * BufferSize));
        else
        {
            _decay.Taken(0);
            return null;
        }
        _decay.Taken(_warmCount);
        _rented++;
        return (byte*)p;
    }

    /// <summary>Takes back a buffer <see cref="Rent"/> gave.</summary>
    public void Return(byte* buffer)
    {
        lock (_lock) ReturnHeld(buffer);
    }

    /// <summary><see cref="Return"/>, for a caller that holds the pool's guard.</summary>
    public void ReturnHeld(byte* buffer)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread, "the guard is held");
        if (!Owns(buffer) || ((long)(buffer - _base)) % BufferSize != 0) throw new ArgumentException("not a buffer of this pool", nameof(buffer));
        if (_rented == 0) throw new InvalidOperationException("more buffers returned than rented");
        _rented--;
        _warm[_warmCount++] = (nint)buffer;
    }

    /// <summary>Where the mapping starts (tests read its resident size in /proc/self/smaps).</summary>
    internal nint Address => (nint)_base;

    /// <summary>Whether <paramref name="p"/> points into this pool's mapping.</summary>
    public bool Owns(byte* p) => p >= _base && p < _base + ((long)Capacity * BufferSize);

    /// <summary>
    /// Gives back to the system the pages of half the free buffers that stayed unused since the last trim (see
    /// <see cref="FreeListDecay"/>); returns their bytes. The system calls are made outside the lock, one per run
    /// of adjacent buffers, so a trim of thousands of buffers holds up no output.
    /// </summary>
    public long Trim()
    {
        nint[] surplus;
        lock (_lock)
        {
            int n = _decay.Surplus(_warmCount);
            if (n == 0) return 0;
            // The oldest free buffers (the bottom of the stack) go: the most recently returned stay warm.
            surplus = _warm[..n];
            Array.Copy(_warm, n, _warm, 0, _warmCount - n);
            _warmCount -= n;
        }
        Array.Sort(surplus);
        for (int i = 0; i < surplus.Length; )
        {
            int j = i + 1;
            while (j < surplus.Length && surplus[j] == surplus[j - 1] + BufferSize) j++;
            GiveBack((byte*)surplus[i], (nuint)((long)(j - i) * BufferSize));
            i = j;
        }
        lock (_lock)
        {
            foreach (var p in surplus) _cold[_coldCount++] = p;
        }
        return (long)surplus.Length * BufferSize;
    }

    /// <summary>Trims every instance (the engine's cron, once a second); returns the bytes given back.</summary>
    public static long TrimAll() => SumOf(static b => b.Trim());

    private static long SumOf(Func<NativeBlocks, long> bytes)
    {
        long sum = 0;
        foreach (var b in All) sum += bytes(b);
        return sum;
    }

    private static byte* Map(nuint bytes)
    {
        // PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE: address space only until touched.
        void* p = mmap(null, bytes, 0x1 | 0x2, 0x02 | 0x20 | 0x4000, -1, 0);
        if (p == (void*)-1) throw new OutOfMemoryException($"mmap of {bytes} bytes failed: errno {Marshal.GetLastPInvokeError()}");
        // MADV_NOHUGEPAGE: with transparent huge pages always on, touching one buffer would make 2 MiB resident,
        // and giving a buffer back would split the page.
        madvise(p, bytes, 15);
        return (byte*)p;
    }

    private static void GiveBack(byte* p, nuint bytes)
    {
        if (OperatingSystem.IsLinux()) madvise(p, bytes, 4); // MADV_DONTNEED: the pages read as zeros from now on
    }

    [DllImport("libc", SetLastError = true)]
    private static extern void* mmap(void* addr, nuint length, int prot, int flags, int fd, nint offset);

    [DllImport("libc")]
    private static extern int madvise(void* addr, nuint length, int advice);
}
