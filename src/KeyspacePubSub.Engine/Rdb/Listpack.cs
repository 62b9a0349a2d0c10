using System.Buffers.Binary;
using System.Globalization;
using KeyspacePubSub.Protocol;

namespace KeyspacePubSub.Engine.Rdb;

/// <summary>
/// Builds a Redis listpack (listpack.c) byte for byte: a string that reads as an integer (lpStringToInt64) is
/// stored as the smallest integer encoding, any other as a 6-, 12- or 32-bit-length string, each entry
/// followed by its back-length; the header holds the total bytes and the count (65535 when larger).
/// </summary>
public sealed class ListpackBuilder
{
    private const int HeaderBytes = 6;
    private byte[] _buffer = new byte[256];
    private int _length = HeaderBytes;

    public int Count { get; private set; }

    /// <summary>The listpack's size as it stands (header and end byte included), as quicklist's node->sz.</summary>
    public int Bytes => _length + 1;

    public void Append(ReadOnlySpan<byte> s)
    {
        if (s.Length <= 20 && Strict.TryParseInt64(s, out long v))
        {
            Append(v);
            return;
        }
        Span<byte> head = stackalloc byte[5];
        int headLen;
        if (s.Length < 64)
        {
            head[0] = (byte)(0x80 | s.Length);
            headLen = 1;
        }
        else if (s.Length < 4096)
        {
            head[0] = (byte)(0xE0 | (s.Length >> 8));
            head[1] = (byte)s.Length;
            headLen = 2;
        }
        else
        {
            head[0] = 0xF0;
            BinaryPrimitives.WriteUInt32LittleEndian(head[1..], (uint)s.Length);
            headLen = 5;
        }
        Write(head[..headLen], s);
    }

    public void Append(long v)
    {
        Span<byte> enc = stackalloc byte[9];
        int n;
        if (v is >= 0 and <= 127)
        {
            enc[0] = (byte)v;
            n = 1;
        }
        else if (v is >= -4096 and <= 4095)
        {
            long u = v < 0 ? (1L << 13) + v : v;
            enc[0] = (byte)(0xC0 | (u >> 8));
            enc[1] = (byte)u;
            n = 2;
        }
        else if (v is >= short.MinValue and <= short.MaxValue)
        {
            enc[0] = 0xF1;
            BinaryPrimitives.WriteInt16LittleEndian(enc[1..], (short)v);
            n = 3;
        }
        else if (v is >= -8388608 and <= 8388607)
        {
            long u = v < 0 ? (1L << 24) + v : v;
            enc[0] = 0xF2;
            enc[1] = (byte)u;
            enc[2] = (byte)(u >> 8);
            enc[3] = (byte)(u >> 16);
            n = 4;
        }
        else if (v is >= int.MinValue and <= int.MaxValue)
        {
            enc[0] = 0xF3;
            BinaryPrimitives.WriteInt32LittleEndian(enc[1..], (int)v);
            n = 5;
        }
        else
        {
            enc[0] = 0xF4;
            BinaryPrimitives.WriteInt64LittleEndian(enc[1..], v);
            n = 9;
        }
        Write(enc[..n], default);
    }

    /// <summary>A score as zzlInsertAt stores it: d2string's text (an integer when the double is one).</summary>
    public void AppendScore(double score) => Append(System.Text.Encoding.ASCII.GetBytes(D2String(score)));

    /// <summary>Redis 7.0's d2string as a listpack score: integers within ±2^52 as integers (-0 as 0), otherwise %.17g.</summary>
    public static string D2String(double value)
    {
        if (double.IsNaN(value)) return "nan";
        if (double.IsInfinity(value)) return value > 0 ? "inf" : "-inf";
        if (value > -4503599627370495d && value < 4503599627370496d && value == Math.Truncate(value))
            return ((long)value).ToString(CultureInfo.InvariantCulture);
        return RespWriter.FormatDouble(value);
    }

    private void Write(ReadOnlySpan<byte> encoding, ReadOnlySpan<byte> data)
    {
        long entry = encoding.Length + data.Length;
        Span<byte> back = stackalloc byte[5];
        int backLen = BackLength(entry, back);
        long needed = _length + entry + backLen + 1;
        if (needed > Array.MaxLength) throw new InvalidOperationException("listpack too large");
        if (needed > _buffer.Length) Array.Resize(ref _buffer, (int)Math.Min(Array.MaxLength, Math.Max(needed, _buffer.Length * 2L)));
        encoding.CopyTo(_buffer.AsSpan(_length));
        _length += encoding.Length;
        data.CopyTo(_buffer.AsSpan(_length));
        _length += data.Length;
        back[..backLen].CopyTo(_buffer.AsSpan(_length));
        _length += backLen;
        Count++;
    }

    /// <summary>lpEncodeBacklen: the entry's length in 7-bit groups, read from the end backwards.</summary>
    private static int BackLength(long l, Span<byte> buf)
    {
        if (l <= 127)
        {
            buf[0] = (byte)l;
            return 1;
        }
        if (l < 16383)
        {
            buf[0] = (byte)(l >> 7);
            buf[1] = (byte)((l & 127) | 128);
            return 2;
        }
        if (l < 2097151)
        {
            buf[0] = (byte)(l >> 14);
            buf[1] = (byte)(((l >> 7) & 127) | 128);
            buf[2] = (byte)((l & 127) | 128);
            return 3;
        }
        if (l < 268435455)
        {
            buf[0] = (byte)(l >> 21);
            buf[1] = (byte)(((l >> 14) & 127) | 128);
            buf[2] = (byte)(((l >> 7) & 127) | 128);
            buf[3] = (byte)((l & 127) | 128);
            return 4;
        }
        buf[0] = (byte)(l >> 28);
        buf[1] = (byte)(((l >> 21) & 127) | 128);
        buf[2] = (byte)(((l >> 14) & 127) | 128);
        buf[3] = (byte)(((l >> 7) & 127) | 128);
        buf[4] = (byte)((l & 127) | 128);
        return 5;
    }

    /// <summary>The finished listpack.</summary>
    public byte[] ToArray()
    {
        var result = new byte[_length + 1];
        _buffer.AsSpan(HeaderBytes, _length - HeaderBytes).CopyTo(result.AsSpan(HeaderBytes));
        BinaryPrimitives.WriteUInt32LittleEndian(result, (uint)result.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(result.AsSpan(4), (ushort)Math.Min(Count, 65535));
        result[^1] = 0xFF;
        return result;
    }
}

/// <summary>Reads the elements of a listpack or a ziplist (the older container RDB files may still hold), checking every bound.</summary>
public static class PackedListReader
{
    /// <summary>A listpack's elements as strings (integers in decimal); null when the bytes are not a valid listpack.</summary>
    public static List<byte[]>? Listpack(ReadOnlySpan<byte> lp)
    {
        if (lp.Length < 7 || BinaryPrimitives.ReadUInt32LittleEndian(lp) != lp.Length || lp[^1] != 0xFF) return null;
        int declared = BinaryPrimitives.ReadUInt16LittleEndian(lp[4..]);
        var items = new List<byte[]>();
        int p = 6, end = lp.Length - 1;
        while (p < end)
        {
            int start = p;
            byte b = lp[p];
            byte[] item;
            if ((b & 0x80) == 0)
            {
                item = Strict.FormatInt64(b & 0x7F);
                p += 1;
            }
            else if ((b & 0xC0) == 0x80)
            {
                int len = b & 0x3F;
                if (!Fits(p + 1, len, end)) return null;
                item = lp.Slice(p + 1, len).ToArray();
                p += 1 + len;
            }
            else if ((b & 0xE0) == 0xC0)
            {
                if (!Fits(p, 2, end)) return null;
                int u = ((b & 0x1F) << 8) | lp[p + 1];
                item = Strict.FormatInt64(u >= 1 << 12 ? u - (1 << 13) : u);
                p += 2;
            }
            else if ((b & 0xF0) == 0xE0)
            {
                if (!Fits(p, 2, end)) return null;
                int len = ((b & 0x0F) << 8) | lp[p + 1];
                if (!Fits(p + 2, len, end)) return null;
                item = lp.Slice(p + 2, len).ToArray();
                p += 2 + len;
            }
            else
            {
                switch (b)
                {
                    case 0xF1:
                        if (!Fits(p, 3, end)) return null;
                        item = Strict.FormatInt64(BinaryPrimitives.ReadInt16LittleEndian(lp[(p + 1)..]));
                        p += 3;
                        break;
                    case 0xF2:
                        if (!Fits(p, 4, end)) return null;
                        int u24 = lp[p + 1] | (lp[p + 2] << 8) | (lp[p + 3] << 16);
                        item = Strict.FormatInt64(u24 >= 1 << 23 ? u24 - (1 << 24) : u24);
                        p += 4;
                        break;
                    case 0xF3:
                        if (!Fits(p, 5, end)) return null;
                        item = Strict.FormatInt64(BinaryPrimitives.ReadInt32LittleEndian(lp[(p + 1)..]));
                        p += 5;
                        break;
                    case 0xF4:
                        if (!Fits(p, 9, end)) return null;
                        item = Strict.FormatInt64(BinaryPrimitives.ReadInt64LittleEndian(lp[(p + 1)..]));
                        p += 9;
                        break;
                    case 0xF0:
                        if (!Fits(p, 5, end)) return null;
                        uint len32 = BinaryPrimitives.ReadUInt32LittleEndian(lp[(p + 1)..]);
                        if (len32 > int.MaxValue || !Fits(p + 5, (int)len32, end)) return null;
                        item = lp.Slice(p + 5, (int)len32).ToArray();
                        p += 5 + (int)len32;
                        break;
                    default:
                        return null; // 0xFF before the end, or an encoding listpacks do not have
                }
            }
            // The back-length must give this entry's length, read from its last byte backwards.
            long entry = p - start;
            int used = Streams.ListpackSize.BackLength(entry);
            if (!Fits(p, used, end)) return null;
            if (DecodeBackLength(lp.Slice(p, used)) != entry) return null;
            p += used;
            items.Add(item);
        }
        if (declared != 65535 && declared != items.Count) return null;
        return items;
    }

    private static long DecodeBackLength(ReadOnlySpan<byte> b)
    {
        long v = 0;
        for (int i = 0; i < b.Length; i++) v = (v << 7) | (uint)(b[i] & 127);
        return v;
    }

    /// <summary>
    /// A ziplist's elements (ziplist.c: previous-length, encoding, data); null when not a valid ziplist. Checked as
    /// ziplistValidateIntegrity's deep check, which Redis 7.0 always makes on a ziplist it converts while loading:
    /// every entry's previous-length is the previous entry's size, the tail offset is the last entry's start, and
    /// the count in the header (unless 65535) is the number of entries.
    /// </summary>
    public static List<byte[]>? Ziplist(ReadOnlySpan<byte> zl)
    {
        if (zl.Length < 11 || BinaryPrimitives.ReadUInt32LittleEndian(zl) != zl.Length || zl[^1] != 0xFF) return null;
        uint tail = BinaryPrimitives.ReadUInt32LittleEndian(zl[4..]);
        if (tail > zl.Length - 1) return null;
        int declared = BinaryPrimitives.ReadUInt16LittleEndian(zl[8..]);
        var items = new List<byte[]>();
        int p = 10, end = zl.Length - 1, last = -1;
        while (p < end)
        {
            // previous entry's length: 1 byte, or 0xFE and 4 bytes; it must be the previous entry's size
            int start = p;
            uint previousSize;
            if (zl[p] == 0xFE)
            {
                if (!Fits(p, 5, end)) return null;
                previousSize = BinaryPrimitives.ReadUInt32LittleEndian(zl[(p + 1)..]);
                p += 5;
            }
            else
            {
                if (zl[p] == 0xFF) return null;
                previousSize = zl[p];
                p += 1;
            }
            if (previousSize != (last < 0 ? 0 : start - last)) return null;
            last = start;
            if (p >= end) return null;
            byte b = zl[p];
            byte[] item;
            switch (b >> 6)
            {
                case 0:
                {
                    int len = b & 0x3F;
                    if (!Fits(p + 1, len, end)) return null;
                    item = zl.Slice(p + 1, len).ToArray();
                    p += 1 + len;
                    break;
                }
                case 1:
                {
                    if (!Fits(p, 2, end)) return null;
                    int len = ((b & 0x3F) << 8) | zl[p + 1];
                    if (!Fits(p + 2, len, end)) return null;
                    item = zl.Slice(p + 2, len).ToArray();
                    p += 2 + len;
                    break;
                }
                case 2:
                {
                    // 0x80 and the 63 bytes after it alike: ZIP_ENTRY_ENCODING keeps a string encoding's top two bits only
                    if (!Fits(p, 5, end)) return null;
                    uint len = BinaryPrimitives.ReadUInt32BigEndian(zl[(p + 1)..]);
                    if (len > int.MaxValue || !Fits(p + 5, (int)len, end)) return null;
                    item = zl.Slice(p + 5, (int)len).ToArray();
                    p += 5 + (int)len;
                    break;
                }
                default:
                    switch (b)
                    {
                        case 0xC0:
                            if (!Fits(p, 3, end)) return null;
                            item = Strict.FormatInt64(BinaryPrimitives.ReadInt16LittleEndian(zl[(p + 1)..]));
                            p += 3;
                            break;
                        case 0xD0:
                            if (!Fits(p, 5, end)) return null;
                            item = Strict.FormatInt64(BinaryPrimitives.ReadInt32LittleEndian(zl[(p + 1)..]));
                            p += 5;
                            break;
                        case 0xE0:
                            if (!Fits(p, 9, end)) return null;
                            item = Strict.FormatInt64(BinaryPrimitives.ReadInt64LittleEndian(zl[(p + 1)..]));
                            p += 9;
                            break;
                        case 0xF0:
                            if (!Fits(p, 4, end)) return null;
                            int u24 = zl[p + 1] | (zl[p + 2] << 8) | (zl[p + 3] << 16);
                            item = Strict.FormatInt64(u24 >= 1 << 23 ? u24 - (1 << 24) : u24);
                            p += 4;
                            break;
                        case 0xFE:
                            if (!Fits(p, 2, end)) return null;
                            item = Strict.FormatInt64((sbyte)zl[p + 1]);
                            p += 2;
                            break;
                        default:
                            if (b is < 0xF1 or > 0xFD) return null;
                            item = Strict.FormatInt64((b & 0x0F) - 1); // immediate 0..12
                            p += 1;
                            break;
                    }
                    break;
            }
            items.Add(item);
        }
        if (last >= 0 && last != tail) return null;
        if (declared != 65535 && declared != items.Count) return null;
        return items;
    }

    private static bool Fits(int at, int length, int end) => length >= 0 && (long)at + length <= end;

}
