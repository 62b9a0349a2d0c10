namespace KeyspacePubSub.Engine.Streams;

/// <summary>
/// Unsigned LEB128 integers (seven bits a byte, low bits first), and zigzag for signed ones, as a stream node
/// stores its entries' lengths and ID deltas (<see cref="StreamNode"/>).
/// </summary>
internal static class Varint
{
    public static int Size(ulong v)
    {
        int n = 1;
        while (v >= 0x80)
        {
            v >>= 7;
            n++;
        }
        return n;
    }

    public static int Write(Span<byte> to, ulong v)
    {
        int n = 0;
        while (v >= 0x80)
        {
            to[n++] = (byte)(v | 0x80);
            v >>= 7;
        }
        to[n++] = (byte)v;
        return n;
    }

    public static ulong Read(ReadOnlySpan<byte> from, ref int at)
    {
        ulong v = 0;
        int shift = 0;
        byte b;
        do
        {
            b = from[at++];
            v |= (ulong)(b & 0x7F) << shift;
            shift += 7;
        }
        while (b >= 0x80);
        return v;
    }

    public static void Skip(ReadOnlySpan<byte> from, ref int at)
    {
        while (from[at++] >= 0x80) { }
    }

    public static ulong Zig(long v) => (ulong)((v << 1) ^ (v >> 63));

    public static long Unzig(ulong v) => (long)(v >> 1) ^ -(long)(v & 1);
}
