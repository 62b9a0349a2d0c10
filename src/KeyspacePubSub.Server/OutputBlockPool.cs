using System.Buffers;
using System.Runtime.InteropServices;

namespace KeyspacePubSub.Server;

/// <summary>
/// The memory of every connection's output pipe: 4 KiB blocks kept for reuse, up to <see cref="MaxRetained"/>
/// of them (64 MiB): the sockets transport's, whose gathered sends take arrays (the event loops' blocks come
/// from <see cref="Engine.NativeBlocks"/>, outside the heap). Blocks are made only when output waits for them, so
/// an idle server holds none, and those a burst needed are given up within seconds of its end
/// (<see cref="Trim"/>, from the engine's cron), for a collection to free. The cap was 1,024 (4 MiB) until
/// 2026-12-01: with 100 subscribers of 4 KiB messages whose
/// readers lag (about 4,000 blocks pending), every block beyond the cap was a fresh array, and the GC's
/// clearing of fresh memory made page faults 15-20% of the server's CPU (perf), at 151k deliveries/s and
/// 4.6 µs of CPU per delivery; with the cap at 16,384: 392k-509k deliveries/s at 1.8 µs (Redis: 2.8 µs).
/// The shared ArrayPool the pipes used before keeps only a few dozen arrays per size, so a fan-out to 1,000
/// subscribers (each holding a block between a publish and its send) allocated a thousand fresh 4 KiB arrays
/// per event-loop iteration, and allocation plus collections took over half of the server's user CPU.
/// Larger requests (a pipe asked for a big contiguous span) get an array of their own.
/// Pooled blocks live on the pinned object heap (a send passes their addresses to the kernel, no GCHandle); at
/// most <see cref="MaxRetained"/> are in being at once, so a burst beyond them gets ordinary arrays that die young,
/// instead of pinned ones that, dropped, only a full collection frees (measured: 56 gen-2 collections in a
/// 3-second fan-out, and a p99 of 10 ms).
/// </summary>
public sealed class OutputBlockPool : MemoryPool<byte>
{
    public const int BlockSize = 4096;

    /// <summary>Blocks kept at most: beyond that, returned blocks are left to the GC.</summary>
    public const int MaxRetained = 16384;

    /// <summary>A pool that makes up to <paramref name="maxRetained"/> pooled blocks (tests make small ones).</summary>
    public OutputBlockPool(int maxRetained = MaxRetained)
    {
        _free = new PinnedBlock[maxRetained];
    }

    /// <summary>The pool of every connection's pipe (tests make pools of their own).</summary>
    public static readonly OutputBlockPool Instance = new();

    private readonly Lock _lock = new();
    private readonly PinnedBlock[] _free;
    private int _count;
    private int _made; // pooled blocks in being (free or rented): never more than _free holds, so every one fits back
    private Engine.FreeListDecay _decay;

    public override int MaxBufferSize => int.MaxValue;

    /// <summary>What a pooled block (object and pinned array) takes in the heap (one made for the measure, never rented).</summary>
    internal static readonly long BlockBytes = Engine.AllocatedBytes.Of(static () => new PinnedBlock(Instance));

    /// <summary>Blocks currently kept for reuse (tests).</summary>
    public int Retained => Volatile.Read(ref _count);

    /// <summary>Bytes of the blocks kept for reuse now (an estimate, for used memory).</summary>
    public long FreeBytes => Retained * BlockBytes;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        if (minBufferSize > BlockSize) return new ArrayBlock(minBufferSize);
        lock (_lock)
        {
            if (_count > 0)
            {
                var block = _free[--_count];
                _free[_count] = null!;
                _decay.Taken(_count);
                block.Rented = true;
                return block;
            }
            _decay.Taken(0);
            if (_made == _free.Length) return new ArrayBlock(BlockSize);
            _made++;
        }
        return new PinnedBlock(this) { Rented = true };
    }

    /// <summary>
    /// Gives up half of the free blocks that stayed unused since the last trim (see
    /// <see cref="Engine.FreeListDecay"/>). Returns their bytes, which the next full collection frees.
    /// </summary>
    public long Trim()
    {
        int surplus;
        lock (_lock)
        {
            surplus = _decay.Surplus(_count);
            for (int i = 0; i < surplus; i++) _free[--_count] = null!;
            _made -= surplus;
        }
        return surplus * BlockBytes;
    }

    private void Return(PinnedBlock block)
    {
        lock (_lock) _free[_count++] = block;
    }

    protected override void Dispose(bool disposing)
    {
        // Shared by every connection for the life of the process.
    }

    /// <summary>
    /// A pooled block: an array on the pinned object heap, so <see cref="Pin"/> (each send of a message that
    /// spans blocks pins every block it gathers) is its address. An array-backed Memory's Pin allocates a
    /// pinned GCHandle and frees it again at every send, pinned heap or not: measured at 5.8% of the server's
    /// CPU in a fan-out of 4 KiB messages to 100 subscribers.
    /// </summary>
    private sealed unsafe class PinnedBlock : MemoryManager<byte>
    {
        private readonly OutputBlockPool _pool;
        private readonly byte[] _array = GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true);
        private readonly byte* _pointer;
        private readonly Memory<byte> _memory;

        public bool Rented;

        public PinnedBlock(OutputBlockPool pool)
        {
            _pool = pool;
            _pointer = (byte*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_array));
            _memory = CreateMemory(BlockSize);
        }

        public override Memory<byte> Memory => _memory;

        public override Span<byte> GetSpan() => _array;

        public override MemoryHandle Pin(int elementIndex = 0)
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)elementIndex, (uint)BlockSize, nameof(elementIndex));
            return new MemoryHandle(_pointer + elementIndex);
        }

        public override void Unpin()
        {
            // Never moves.
        }

        protected override bool TryGetArray(out ArraySegment<byte> segment)
        {
            segment = _array;
            return true;
        }

        protected override void Dispose(bool disposing)
        {
            if (!Rented) throw new InvalidOperationException("output block returned twice");
            Rented = false;
            _pool.Return(this);
        }
    }

    /// <summary>A block beyond the pooled ones, or a large one: an ordinary array, left to the GC.</summary>
    private sealed class ArrayBlock(int size) : IMemoryOwner<byte>
    {
        private readonly byte[] _array = GC.AllocateUninitializedArray<byte>(size);

        public Memory<byte> Memory => _array;

        public void Dispose()
        {
        }
    }
}
