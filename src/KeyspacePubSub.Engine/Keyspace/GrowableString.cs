namespace KeyspacePubSub.Engine.Keyspace;

/// <summary>
/// A string value that APPEND, SETRANGE or SETBIT changed: its bytes with room to grow, as Redis's sds after
/// <c>sdsMakeRoomFor</c> (twice the new length up to 1 MiB, then 1 MiB more). Strings are otherwise exact
/// <c>byte[]</c>s; building one by appends copied the whole string each time (50,000 appends of 100 bytes took
/// 257 s; Redis 0.3 s). Those three commands change it in place, and the string readers (GET, MGET, STRLEN,
/// GETRANGE, GETBIT, BITCOUNT) read it in place, so SETBIT and GETBIT on a big bitmap stay O(1); any other
/// read of the key (<see cref="Database.Get"/>) turns it back into an exact array first.
/// </summary>
public sealed class GrowableString
{
    private const int MaxPrealloc = 1024 * 1024; // SDS_MAX_PREALLOC

    private byte[] _buffer;

    public int Length { get; private set; }

    private GrowableString(byte[] buffer, int length)
    {
        _buffer = buffer;
        Length = length;
    }

    /// <summary>A copy of <paramref name="value"/> with room for at least <paramref name="room"/> bytes.</summary>
    public static GrowableString From(ReadOnlySpan<byte> value, int room)
    {
        var g = new GrowableString(new byte[Room(Math.Max(room, value.Length))], value.Length);
        value.CopyTo(g._buffer);
        return g;
    }

    public Span<byte> Span => _buffer.AsSpan(0, Length);

    /// <summary>The bytes of a string value as stored, an exact array or a grown string; false for anything else.</summary>
    public static bool TryBytes(object? value, out ReadOnlySpan<byte> bytes)
    {
        switch (value)
        {
            case byte[] s:
                bytes = s;
                return true;
            case GrowableString g:
                bytes = g.Span;
                return true;
            default:
                bytes = default;
                return false;
        }
    }

    public byte[] ToArray() => Span.ToArray();

    /// <summary>Grows to <paramref name="length"/> bytes (new bytes are zero); never shrinks.</summary>
    public void EnsureLength(int length)
    {
        if (length <= Length) return;
        if (length > _buffer.Length) Array.Resize(ref _buffer, Room(length));
        Length = length; // bytes past the old length are zero: never written, or cleared by the resize
    }

    public void Append(ReadOnlySpan<byte> tail)
    {
        int at = Length;
        EnsureLength(at + tail.Length);
        tail.CopyTo(_buffer.AsSpan(at));
    }

    private static int Room(int length) => length < MaxPrealloc ? Math.Min(length * 2, Array.MaxLength) : (int)Math.Min((long)length + MaxPrealloc, Array.MaxLength);
}
