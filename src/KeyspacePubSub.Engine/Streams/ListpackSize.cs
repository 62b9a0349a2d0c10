namespace KeyspacePubSub.Engine.Streams;

/// <summary>
/// The bytes an element takes in a Redis listpack (listpack.c: its encoding, then its back-length), so a stream
/// node fills, and a new one starts, exactly where Redis's would (stream-node-max-bytes).
/// </summary>
internal static class ListpackSize
{
    /// <summary>Header (total bytes, element count) and end byte.</summary>
    public const int Overhead = 6 + 1;

    public static int Integer(long v)
    {
        int encoded = v is >= 0 and <= 127 ? 1
            : v is >= -4096 and <= 4095 ? 2
            : v is >= short.MinValue and <= short.MaxValue ? 3
            : v is >= -8388608 and <= 8388607 ? 4
            : v is >= int.MinValue and <= int.MaxValue ? 5
            : 9;
        return encoded + BackLength(encoded);
    }

    /// <summary>A string element; one that reads as an integer (lpStringToInt64, as string2ll) is stored as one.</summary>
    public static int String(ReadOnlySpan<byte> s)
    {
        if (s.Length <= 20 && Protocol.Strict.TryParseInt64(s, out long v)) return Integer(v);
        long encoded = s.Length < 64 ? 1 + s.Length : s.Length < 4096 ? 2 + s.Length : 5 + (long)s.Length;
        return (int)Math.Min(int.MaxValue, encoded + BackLength(encoded));
    }

    /// <summary>The bytes of an entry's back-length (lpEncodeBacklen) for an entry of <paramref name="l"/> bytes.</summary>
    internal static int BackLength(long l) => l <= 127 ? 1 : l < 16383 ? 2 : l < 2097151 ? 3 : l < 268435455 ? 4 : 5;
}
