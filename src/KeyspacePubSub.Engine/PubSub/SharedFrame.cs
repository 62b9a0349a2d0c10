using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace KeyspacePubSub.Engine.PubSub;

/// <summary>
/// A connection output that can take a reference to a message frame instead of a copy of it (the event loop's
/// output queue). The frame's bytes are sent from the frame itself; the output releases its reference once
/// they are sent or dropped.
/// </summary>
public interface ISharedFrameOutput
{
    /// <summary>Appends <paramref name="frame"/>'s bytes after what was written so far, taking a reference.</summary>
    void AppendShared(SharedFrame frame);
}

/// <summary>
/// One encoded message frame that many subscribers' outputs refer to: a publish of a 4 KiB message to 100
/// subscribers copied the frame 100 times (memmove was 7.6% of the loop's CPU at the light rate), where Redis
/// copies it as often. Reference-counted: the publish holds one reference while it delivers, each output one
/// until it has sent the bytes; the last release returns the buffer to its pool. Buffers never move (the
/// kernel reads them by address): per power-of-two size from 4 KiB, up to <see cref="PooledBytesPerSize"/> of
/// them come from a <see cref="NativeBlocks"/> pool, which gives the pages of buffers unused for seconds back
/// to the system; beyond those, a frame gets a pinned array of its own, left to the GC.
/// </summary>
public sealed unsafe class SharedFrame
{
    /// <summary>Shorter frames are copied: a copy costs no more than a reference there.</summary>
    public const int MinLength = 1024;

    /// <summary>Longer frames are copied too (rare; their buffers would not be worth keeping).</summary>
    public const int MaxLength = 64 * 1024;

    private const int PooledBytesPerSize = 16 << 20;
    private const int MinShift = 12; // 4 KiB, a page: the unit a pool gives back (frames of 1-4 KiB share it)
    private const int Sizes = 5; // 4 KiB ... 64 KiB
    private const int MaxFreeObjects = 4096;

    private static readonly Lock s_lock = new(); // the frame objects' and, as their guard, the buffer pools'
    private static readonly NativeBlocks[] s_buffers = [.. Enumerable.Range(0, Sizes).Select(i => new NativeBlocks(1 << (MinShift + i), PooledBytesPerSize >> (MinShift + i), s_lock))];
    private static readonly Stack<SharedFrame> s_freeObjects = new(); // frame objects without a buffer, for reuse

    private byte[]? _array; // the buffer when no pooled one was left (pinned)
    private int _size;
    private int _refs;

    private SharedFrame()
    {
    }

    /// <summary>The buffer; the frame is its first <see cref="Length"/> bytes.</summary>
    public byte* Pointer { get; private set; }

    public int Length { get; private set; }

    /// <summary>A frame holding <paramref name="frame"/> with its first byte replaced by <paramref name="first"/>; one reference, the caller's.</summary>
    public static SharedFrame Rent(ReadOnlySpan<byte> frame, byte first)
    {
        if (frame.Length is < 1 or > MaxLength) throw new ArgumentOutOfRangeException(nameof(frame));
        int index = Math.Max(0, 32 - BitOperations.LeadingZeroCount((uint)frame.Length - 1) - MinShift);
        SharedFrame? f;
        byte* buffer;
        lock (s_lock)
        {
            s_freeObjects.TryPop(out f);
            buffer = s_buffers[index].RentHeld();
        }
        f ??= new SharedFrame();
        f._size = index;
        f.Pointer = buffer;
        if (buffer == null)
        {
            f._array = GC.AllocateUninitializedArray<byte>(1 << (MinShift + index), pinned: true);
            f.Pointer = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(f._array));
        }
        var bytes = new Span<byte>(f.Pointer, frame.Length);
        frame.CopyTo(bytes);
        bytes[0] = first;
        f.Length = frame.Length;
        f._refs = 1;
        return f;
    }

    /// <summary>What a frame object takes in the heap (its buffer is outside it).</summary>
    internal static readonly long ObjectBytes = AllocatedBytes.Of(static () => new SharedFrame());

    /// <summary>Bytes of the frame objects kept for reuse now (in the GC heap; read without the lock: an estimate).</summary>
    public static long FreeBytes => s_freeObjects.Count * ObjectBytes;

    /// <summary>References held now (tests).</summary>
    public int References => Volatile.Read(ref _refs);

    public void AddRef() => Interlocked.Increment(ref _refs);

    /// <summary>Drops one reference; the last returns the buffer to its pool.</summary>
    public void Release()
    {
        int refs = Interlocked.Decrement(ref _refs);
        if (refs > 0) return;
        if (refs < 0) throw new InvalidOperationException("shared frame released more often than referenced");
        byte* buffer = _array == null ? Pointer : null;
        _array = null;
        Pointer = null;
        Length = 0;
        lock (s_lock)
        {
            if (buffer != null) s_buffers[_size].ReturnHeld(buffer);
            if (s_freeObjects.Count < MaxFreeObjects) s_freeObjects.Push(this);
        }
    }
}

/// <summary>
/// The shared frames of one delivery pass of the broker: the RESP2 and the RESP3 (first byte '>') encoding of
/// its current frame, each made when the first subscriber of that protocol needs it.
/// </summary>
public sealed class SharedFrames(ArrayBufferWriter<byte> source)
{
    private SharedFrame? _resp2;
    private SharedFrame? _resp3;

    /// <summary>The frame for a client speaking <paramref name="protocol"/> (the pass holds a reference to it).</summary>
    public SharedFrame For(int protocol)
    {
        if (protocol == 3) return _resp3 ??= SharedFrame.Rent(source.WrittenSpan, (byte)'>');
        return _resp2 ??= SharedFrame.Rent(source.WrittenSpan, source.WrittenSpan[0]);
    }

    /// <summary>Ends the pass: drops its references (outputs keep theirs).</summary>
    public void Release()
    {
        _resp2?.Release();
        _resp3?.Release();
        _resp2 = _resp3 = null;
    }
}
