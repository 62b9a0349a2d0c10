using System.Numerics;

namespace KeyspacePubSub.Engine.Keyspace;

/// <summary>The storage of a ring buffer (<see cref="ListValue"/>, <see cref="LongDeque"/>): a power-of-two array whose elements run from a head index, wrapping.</summary>
internal static class Ring
{
    /// <summary>
    /// The <paramref name="count"/> elements from <paramref name="head"/> in a new array of <paramref name="size"/>,
    /// from index 0: two bulk copies (one card-marking pass each for references) instead of a masked index and a
    /// write barrier per element (LPUSHes into growing backlogs spent ~0.6% of the server's CPU in such loops).
    /// </summary>
    public static T[] Copy<T>(T[] items, int head, int count, int size)
    {
        var copy = new T[size];
        int first = Math.Min(count, items.Length - head);
        Array.Copy(items, head, copy, 0, first);
        Array.Copy(items, 0, copy, first, count - first);
        return copy;
    }

    /// <summary>A full ring doubles (staying a power of two); its elements then start at index 0.</summary>
    public static void GrowIfFull<T>(ref T[] items, ref int head, int count)
    {
        if (count < items.Length) return;
        items = Copy(items, head, count, items.Length * 2);
        head = 0;
    }

    /// <summary>A ring mostly empty shrinks (see <see cref="ShrunkSize"/>); its elements then start at index 0.</summary>
    public static void ShrinkIfSparse<T>(ref T[] items, ref int head, int count)
    {
        int size = ShrunkSize(count, items.Length);
        if (size == 0) return;
        items = Copy(items, head, count, size);
        head = 0;
    }

    /// <summary>
    /// The size a ring holding <paramref name="count"/> of <paramref name="size"/> slots shrinks to, or 0 to keep
    /// it: under a tenth full (over 64 slots), twice its elements, so that pops give memory back as Redis's
    /// quicklist frees its emptied nodes (200,000 elements popped but one kept 2.3 MB); a ring shrunk for n
    /// elements grows again past 2n and shrinks again under n / 5 at the earliest, so it never goes back and forth.
    /// </summary>
    private static int ShrunkSize(int count, int size) =>
        size > 64 && count * 10L < size ? (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(4, count * 2)) : 0;
}
