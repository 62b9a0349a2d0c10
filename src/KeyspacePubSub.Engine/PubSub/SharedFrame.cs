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
/// until it has sent the bytes; the last release returns the buffer to its pool. Buffers are pinned (the
/// kernel reads them by address) and kept per power-of-two size, up to <see cref="RetainedBytesPerSize"/>.
/// </summary>
public sealed unsafe class SharedFrame
{
    /// <summary>Shorter frames are copied: a copy costs no more than a reference there.</summary>
    public const int MinLength = 1024;

    /// <summary>Longer frames are copied too (rare; their buffers would not be worth keeping).</summary>
    public const int MaxLength = 64 * 1024;

    private const int RetainedBytesPerSize = 16 << 20;
    private const int MinShift = 10; // 1 KiB
    private const int Sizes = 7; // 1 KiB ... 64 KiB

    private static readonly Lock s_lock = new();
    private static readonly Stack<SharedFrame>[] s_free = [.. Enumerable.Range(0, Sizes).Select(_ => new Stack<SharedFrame>())];

    private readonly int _size;
    private int _refs;

    private SharedFrame(int sizeIndex)
    {
        _size = sizeIndex;
        Array = GC.AllocateUninitializedArray<byte>(1 << (MinShift + sizeIndex), pinned: true);
        Pointer = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(Array));
    }

    /// <summary>The buffer (pinned); the frame is its first <see cref="Length"/> bytes.</summary>
    public byte[] Array { get; }

    public byte* Pointer { get; }

    public int Length { get; private set; }

    /// <summary>A frame holding <paramref name="frame"/> with its first byte replaced by <paramref name="first"/>; one reference, the caller's.</summary>
    public static SharedFrame Rent(ReadOnlySpan<byte> frame, byte first)
    {
        if (frame.Length is < 1 or > MaxLength) throw new ArgumentOutOfRangeException(nameof(frame));
        int index = Math.Max(0, 32 - BitOperations.LeadingZeroCount((uint)frame.Length - 1) - MinShift);
        SharedFrame? f = null;
        lock (s_lock)
        {
            s_free[index].TryPop(out f);
        }
        f ??= new SharedFrame(index);
        frame.CopyTo(f.Array);
        f.Array[0] = first;
        f.Length = frame.Length;
        f._refs = 1;
        return f;
    }

    /// <summary>What a frame takes in the heap beside its buffer's bytes: the object and the array's header.</summary>
    internal static readonly long Overhead = AllocatedBytes.Of(static () => new SharedFrame(0)) - (1 << MinShift);

    /// <summary>Bytes of the frames kept for reuse now (read without the lock: an estimate, for used memory).</summary>
    public static long FreeBytes
    {
        get
        {
            long bytes = 0;
            for (int i = 0; i < Sizes; i++)
            {
                long count = s_free[i].Count;
                bytes += count * ((1L << (MinShift + i)) + Overhead);
            }
            return bytes;
        }
    }

    /// <summary>References held now (tests).</summary>
    public int References => Volatile.Read(ref _refs);

    public void AddRef() => Interlocked.Increment(ref _refs);

    /// <summary>Drops one reference; the last returns the buffer to its pool.</summary>
    public void Release()
    {
        int refs = Interlocked.Decrement(ref _refs);
        if (refs > 0) return;
        if (refs < 0) throw new InvalidOperationException("shared frame released more often than referenced");
        lock (s_lock)
        {
            var stack = s_free[_size];
            if ((stack.Count + 1L) * Array.Length <= RetainedBytesPerSize) stack.Push(this);
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
