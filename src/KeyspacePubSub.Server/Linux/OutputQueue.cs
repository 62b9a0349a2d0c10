using System.Diagnostics;
using System.IO.Pipelines;
using System.Runtime.InteropServices;
using KeyspacePubSub.Engine;
using KeyspacePubSub.Engine.PubSub;
using static KeyspacePubSub.Server.Linux.LinuxNative;

namespace KeyspacePubSub.Server.Linux;

/// <summary>
/// A connection's output on an event loop. The engine writes replies and pushes into a chain of pinned blocks
/// (under its gate, from whichever thread holds it), and the loop or its write helper sends what was flushed
/// straight from those blocks.
/// <para>
/// It replaced a System.IO.Pipelines <see cref="Pipe"/> with a <see cref="CoalescingPipeWriter"/> in front:
/// the pipe takes its lock at every advance, flush, read and advance of the reader, and rented and returned a
/// block through a MemoryManager (with its SuppressFinalize) for every delivery. perf of the loop at the light
/// rate, one publisher to 100 subscribers: Monitor.Enter/Exit, the pipe's bookkeeping and the pool were ~8%
/// of its CPU.
/// </para>
/// <para>
/// The writer and the sender share no lock on the way. The writer publishes a block's flushed length
/// (<see cref="Block.Committed"/>) before it links the next block, so a sender that sees a link knows that the
/// length it reads after it is final. The one locked moment is letting go of the last block once all of it
/// was sent, so an idle connection holds no memory: the sender may take it only while the writer holds no
/// span and no unflushed bytes, and the writer claims the chain under the same lock before it writes again.
/// </para>
/// <para>
/// A large message frame is not copied: the chain links a block that refers to the publish's shared frame
/// (<see cref="AppendShared"/>), and the next write starts a block of its own after it.
/// </para>
/// </summary>
internal sealed unsafe class OutputQueue : PipeWriter, ISharedFrameOutput
{
    // Writer's side (under the engine's gate).
    private Block? _tail; // the block written into; null once the sender let the last one go
    private Block? _flushFrom; // the first block with bytes not yet published (the chain's first while _head is null)
    private long _unflushed;

    // Shared.
    private Block? _head; // the first block not wholly sent; the sender's, but published by the writer when it was null
    private readonly Lock _lock = new();
    private volatile bool _active; // the writer holds a span or unflushed bytes since its last flush
    private volatile bool _completed;

    /// <summary>Whether any block is held (tests: an idle queue holds none).</summary>
    internal bool HoldsBlocks => Volatile.Read(ref _head) != null || _tail != null;

    /// <summary>True once the writer completed: after what is queued, nothing more comes.</summary>
    public bool WriterCompleted => _completed;

    public override bool CanGetUnflushedBytes => true;

    public override long UnflushedBytes => _unflushed;

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        var t = Claim(sizeHint);
        return t.Memory.Slice(t.Written);
    }

    public override Span<byte> GetSpan(int sizeHint = 0)
    {
        var t = Claim(sizeHint);
        return new Span<byte>(t.Pointer + t.Written, t.Size - t.Written);
    }

    private Block Claim(int sizeHint)
    {
        var t = _tail;
        if (_active && t != null && t.Size - t.Written >= Math.Max(sizeHint, 1)) return t;
        return ClaimSlow(Math.Max(sizeHint, 1));
    }

    private Block ClaimSlow(int need)
    {
        Activate();
        var t = _tail;
        if (t == null || t.Size - t.Written < need) t = Append(Block.Rent(need));
        return t;
    }

    private void Activate()
    {
        if (_completed) throw new InvalidOperationException("Writing is not allowed after the output was completed");
        if (!_active)
        {
            lock (_lock) _active = true; // from here on the sender leaves the last block alone
        }
    }

    /// <summary>Writer: makes <paramref name="b"/> the last block (linked for the sender at the next flush, after the previous block's final length).</summary>
    private Block Append(Block b)
    {
        var t = _tail;
        if (t == null) _flushFrom = b;
        else t.PendingNext = b;
        _tail = b;
        return b;
    }

    /// <summary>Appends a reference to <paramref name="frame"/>: a block of its own, full, so the next write starts another.</summary>
    public void AppendShared(SharedFrame frame)
    {
        Activate();
        var b = Append(Block.Refer(frame));
        _unflushed += b.Written;
    }

    public override void Advance(int bytes)
    {
        var t = _tail;
        if (bytes < 0 || !_active || t == null || bytes > t.Size - t.Written) throw new InvalidOperationException("Advanced past the end of the buffer");
        t.Written += bytes;
        _unflushed += bytes;
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        Publish();
        return new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: false));
    }

    /// <summary>Makes every advanced byte visible to the sender, in order, and releases the writer's claim.</summary>
    private void Publish()
    {
        if (!_active) return;
        var first = _flushFrom;
        for (var b = first; b != null; )
        {
            Volatile.Write(ref b.Committed, b.Written);
            var next = b.PendingNext;
            if (next == null) break;
            b.PendingNext = null;
            Volatile.Write(ref b.Next, next); // after b's final length
            b = next;
        }
        // A null head stays null while the writer is active (only a release, which an active writer excludes,
        // clears it), so the chain started anew at the first block published here.
        if (Volatile.Read(ref _head) == null) Volatile.Write(ref _head, first);
        _flushFrom = _tail;
        _unflushed = 0;
        _active = false;
    }

    public override void CancelPendingFlush()
    {
        // Flushes never wait.
    }

    /// <summary>Ends the output: what was advanced is still sent, nothing more may be written.</summary>
    public override void Complete(Exception? exception = null)
    {
        Publish();
        _completed = true;
    }

    /// <summary>
    /// Sender: describes up to <paramref name="max"/> pieces of flushed, unsent output in <paramref name="iov"/>.
    /// Returns how many, and their total length in <paramref name="total"/>.
    /// </summary>
    public int Gather(IoVec* iov, int max, out long total)
    {
        total = 0;
        int count = 0;
        for (var b = Volatile.Read(ref _head); b != null && count < max; )
        {
            var next = Volatile.Read(ref b.Next);
            int committed = Volatile.Read(ref b.Committed); // final if next was set
            if (committed > b.Read)
            {
                iov[count].Base = b.Pointer + b.Read;
                iov[count].Length = committed - b.Read;
                total += committed - b.Read;
                count++;
            }
            b = next;
        }
        return count;
    }

    /// <summary>Sender: <paramref name="sent"/> bytes of what <see cref="Gather"/> described were sent.</summary>
    public void Consume(long sent)
    {
        var b = Volatile.Read(ref _head);
        while (b != null)
        {
            var next = Volatile.Read(ref b.Next);
            int committed = Volatile.Read(ref b.Committed);
            int take = (int)Math.Min(committed - b.Read, sent);
            b.Read += take;
            sent -= take;
            if (b.Read < committed || next == null) break;
            Volatile.Write(ref _head, next);
            b.Return();
            b = next;
        }
        Debug.Assert(sent == 0, "consumed more than was gathered");
        if (b != null && !_active && b.Read == Volatile.Read(ref b.Committed)) ReleaseLast(b);
    }

    /// <summary>Lets go of the last block once all of it was sent, unless the writer claimed it meanwhile.</summary>
    private void ReleaseLast(Block b)
    {
        lock (_lock)
        {
            if (_active || Volatile.Read(ref b.Next) != null || b.Read != Volatile.Read(ref b.Committed)) return;
            _head = null;
            _tail = _flushFrom = null;
        }
        b.Return();
    }

    /// <summary>Sender, when the connection closed (after the writer completed): returns every block.</summary>
    public void ReleaseAll()
    {
        lock (_lock)
        {
            var b = _head ?? _flushFrom;
            _head = _tail = _flushFrom = null;
            while (b != null)
            {
                var next = b.Next ?? b.PendingNext;
                b.Return();
                b = next;
            }
        }
    }

    /// <summary>
    /// A block of output. Blocks of <see cref="BlockSize"/> come from a <see cref="NativeBlocks"/> pool of up to
    /// <see cref="MaxRetained"/> (64 MiB, as <see cref="OutputBlockPool"/>, whose comment gives the measurements
    /// behind both figures), which gives the pages of blocks unused for seconds back to the system; beyond those,
    /// and for larger requests, an ordinary array is pinned by a handle until it is returned, and then left to
    /// the GC. A block may instead refer to a shared frame's bytes (<see cref="Refer"/>). The block objects are
    /// kept for reuse apart from their bytes.
    /// </summary>
    internal sealed class Block : System.Buffers.MemoryManager<byte>
    {
        public const int BlockSize = OutputBlockPool.BlockSize;
        public const int MaxRetained = OutputBlockPool.MaxRetained;

        private static readonly Lock s_lock = new(); // the block objects' and, as its guard, the buffer pool's
        private static readonly NativeBlocks s_buffers = new(BlockSize, MaxRetained, s_lock);
        private static readonly Stack<Block> s_freeObjects = new();
        private static FreeListDecay s_decay;

        public byte* Pointer;
        public int Size;
        private bool _native; // Pointer is a buffer of s_buffers
        private byte[]? _array; // or an array pinned by _handle
        private GCHandle _handle;
        private SharedFrame? _frame; // or a shared frame's bytes, referred to
        private bool _rented;

        public int Written; // writer
        public Block? PendingNext; // writer
        public int Committed; // published by the writer
        public Block? Next; // published by the writer
        public int Read; // sender

        private Block()
        {
        }

        /// <summary>A block object, and a pooled buffer if <paramref name="buffer"/> (one lock for both).</summary>
        private static Block Take(bool buffer, out byte* pointer)
        {
            Block? b;
            lock (s_lock)
            {
                s_freeObjects.TryPop(out b);
                s_decay.Taken(s_freeObjects.Count);
                pointer = buffer ? s_buffers.RentHeld() : null;
            }
            b ??= new Block();
            b._rented = true;
            return b;
        }

        /// <summary>A block of <paramref name="frame"/>'s bytes, full (it takes a reference to the frame).</summary>
        public static Block Refer(SharedFrame frame)
        {
            var b = Take(buffer: false, out _);
            frame.AddRef();
            b._frame = frame;
            b.Pointer = frame.Pointer;
            b.Size = b.Written = frame.Length;
            return b;
        }

        /// <summary>An empty block of at least <paramref name="need"/> bytes.</summary>
        public static Block Rent(int need)
        {
            var b = Take(buffer: need <= BlockSize, out byte* pointer);
            if (pointer != null)
            {
                b.Pointer = pointer;
                b._native = true;
                b.Size = BlockSize;
            }
            else
            {
                b._array = GC.AllocateUninitializedArray<byte>(Math.Max(need, BlockSize));
                b._handle = GCHandle.Alloc(b._array, GCHandleType.Pinned);
                b.Pointer = (byte*)b._handle.AddrOfPinnedObject();
                b.Size = b._array.Length;
            }
            return b;
        }

        /// <summary>What a block object takes in the heap (its bytes are outside it).</summary>
        internal static readonly long ObjectBytes = Engine.AllocatedBytes.Of(static () => new Block());

        /// <summary>Bytes of the block objects kept for reuse (in the GC heap; read without the lock: an estimate).</summary>
        public static long FreeBytes => s_freeObjects.Count * ObjectBytes;

        /// <summary>
        /// Lets go of half of the block objects that stayed unused since the last trim (see
        /// <see cref="FreeListDecay"/>; the blocks' bytes are trimmed with every <see cref="NativeBlocks"/> pool).
        /// Returns their bytes.
        /// </summary>
        public static long Trim()
        {
            lock (s_lock)
            {
                int surplus = s_decay.Surplus(s_freeObjects.Count);
                for (int i = 0; i < surplus; i++) s_freeObjects.Pop();
                return surplus * ObjectBytes;
            }
        }

        public void Return()
        {
            if (!_rented) throw new InvalidOperationException("output block returned twice");
            _rented = false;
            Written = Committed = Read = 0;
            Next = PendingNext = null;
            if (_frame is { } frame)
            {
                _frame = null;
                frame.Release();
            }
            else if (!_native)
            {
                _handle.Free();
                _array = null;
            }
            byte* buffer = _native ? Pointer : null;
            _native = false;
            Pointer = null;
            Size = 0;
            lock (s_lock)
            {
                if (buffer != null) s_buffers.ReturnHeld(buffer);
                if (s_freeObjects.Count < MaxRetained) s_freeObjects.Push(this);
            }
        }

        public override Span<byte> GetSpan() => new(Pointer, Size);

        public override System.Buffers.MemoryHandle Pin(int elementIndex = 0)
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)elementIndex, (uint)Size, nameof(elementIndex));
            return new System.Buffers.MemoryHandle(Pointer + elementIndex);
        }

        public override void Unpin()
        {
            // Never moves while rented.
        }

        protected override void Dispose(bool disposing)
        {
            // Returned with Return.
        }
    }
}
