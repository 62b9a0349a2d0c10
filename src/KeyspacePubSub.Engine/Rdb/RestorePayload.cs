using System.Buffers.Binary;
using KeyspacePubSub.Engine.Keyspace;
using KeyspacePubSub.Protocol;

namespace KeyspacePubSub.Engine.Rdb;

/// <summary>
/// RESTORE's reading of a DUMP payload, as Redis 7.0's verifyDumpPayload and rdbLoadObject: the footer's RDB
/// version (at most 10) and CRC-64, then one object of any type Redis 7.0 reads (strings; lists as a linked
/// list, ziplist, or quicklist of ziplists or listpacks; sets as members or an intset; sorted sets with text
/// or binary scores, or as a ziplist or listpack; hashes as fields or a ziplist or listpack). Every length and
/// offset is checked against the payload, so a damaged payload is refused, never half read; empty values,
/// duplicate members and NaN scores are refused as Redis refuses them. Module values and zipmaps are refused.
/// </summary>
public static partial class RestorePayload
{
    /// <summary>verifyDumpPayload: version not above 10 and a matching CRC-64.</summary>
    public static bool Verify(ReadOnlySpan<byte> p, bool skipChecksum = false)
    {
        if (p.Length < 10) return false;
        var footer = p[^10..];
        int version = footer[0] | (footer[1] << 8);
        if (version > DumpPayload.RdbVersion) return false;
        if (skipChecksum) return true; // DEBUG SET-SKIP-CHECKSUM-VALIDATION 1: the version is still checked, as Redis
        return Crc64.Compute(p[..^8]) == BinaryPrimitives.ReadUInt64LittleEndian(footer[2..]);
    }

    /// <summary>
    /// The value the payload holds, or null when it is not one Redis 7.0 would load. As restoreCommand, the object is
    /// read from the whole payload, footer included: only a payload whose CRC is not checked (DEBUG
    /// SET-SKIP-CHECKSUM-VALIDATION) can hold an object that runs into it, and Redis then loads it.
    /// </summary>
    public static object? Load(ReadOnlySpan<byte> payload)
    {
        var r = new Reader(payload);
        try
        {
            var value = LoadObject(ref r);
            return value; // Redis does not look at bytes left after the object
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>rdbGenericLoadStringObject at <paramref name="pos"/> (moved past it), or null when it cannot be read.</summary>
    public static byte[]? ReadString(ReadOnlySpan<byte> payload, ref int pos)
    {
        var r = new Reader(payload) { Position = pos };
        try
        {
            var s = r.String();
            pos = r.Position;
            return s;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>rdbLoadLen at <paramref name="pos"/> (moved past it), or null when it cannot be read.</summary>
    public static ulong? ReadLength(ReadOnlySpan<byte> payload, ref int pos)
    {
        var r = new Reader(payload) { Position = pos };
        try
        {
            ulong len = r.Length();
            pos = r.Position;
            return len;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static object? LoadObject(ref Reader r)
    {
        int type = r.Byte();
        switch (type)
        {
            case 0: // string
                return r.String();
            case 1: // list as a linked list of strings
            {
                ulong n = r.Length();
                var list = new ListValue();
                for (ulong i = 0; i < n; i++) list.PushTail(r.String());
                return NonEmpty(list, list.Count);
            }
            case 2: // set
            {
                ulong n = r.Length();
                var set = new SetValue();
                for (ulong i = 0; i < n; i++)
                {
                    if (!set.Add(r.String())) return null; // duplicate set members
                }
                return NonEmpty(set, set.Count);
            }
            case 3: // sorted set, scores as text
            case 5: // sorted set, binary scores
            {
                ulong n = r.Length();
                var z = new SortedSetValue();
                for (ulong i = 0; i < n; i++)
                {
                    byte[] member = r.String();
                    double score = type == 3 ? r.TextDouble() : r.BinaryDouble();
                    if (double.IsNaN(score) || z.TryGetScore(member, out _)) return null;
                    z.Set(member, score);
                }
                return NonEmpty(z, z.Count);
            }
            case 4: // hash
            {
                ulong n = r.Length();
                var h = new HashValue();
                for (ulong i = 0; i < n; i++)
                {
                    byte[] field = r.String(), value = r.String();
                    if (!h.Put(field, value)) return null; // duplicate fields
                }
                return NonEmpty(h, h.Count);
            }
            case 10: // list as one ziplist
                return ListOf(PackedListReader.Ziplist(r.String()));
            case 11: // set as an intset
                return Intset(r.String());
            case 12: // sorted set as a ziplist
                return Zset(PackedListReader.Ziplist(r.String()));
            case 13: // hash as a ziplist
                return Hash(PackedListReader.Ziplist(r.String()));
            case 14: // quicklist of ziplists
            case 18: // quicklist of listpacks (with a container per node)
            {
                ulong nodes = r.Length();
                var list = new ListValue();
                for (ulong i = 0; i < nodes; i++)
                {
                    ulong container = type == 18 ? r.Length() : 2;
                    byte[] data = r.String();
                    if (data.Length == 0) return null; // as rdb.c: a node of no bytes is refused, plain or packed
                    if (container == 1)
                    {
                        list.PushTail(data); // a plain node: one large element
                        continue;
                    }
                    if (container != 2) return null;
                    var items = type == 18 ? PackedListReader.Listpack(data) : PackedListReader.Ziplist(data);
                    if (items is null) return null;
                    foreach (var item in items) list.PushTail(item); // an empty node is skipped, as Redis does
                }
                return NonEmpty(list, list.Count);
            }
            case 16: // hash as a listpack
                return Hash(PackedListReader.Listpack(r.String()));
            case 17: // sorted set as a listpack
                return Zset(PackedListReader.Listpack(r.String()));
            case 15: // stream (RDB 9)
            case 19: // stream with first ID, maximal deleted ID and entries added (RDB 10)
                return LoadStream(ref r, type == 19);
            default:
                return null; // zipmap (before Redis 2.6), modules, unknown types
        }
    }

    private static T? NonEmpty<T>(T value, int count) where T : class => count > 0 ? value : null;

    private static ListValue? ListOf(List<byte[]>? items)
    {
        if (items is null || items.Count == 0) return null;
        var list = new ListValue();
        foreach (var item in items) list.PushTail(item);
        return list;
    }

    private static SetValue? Intset(byte[] blob)
    {
        if (blob.Length < 8) return null;
        uint width = BinaryPrimitives.ReadUInt32LittleEndian(blob);
        uint count = BinaryPrimitives.ReadUInt32LittleEndian(blob.AsSpan(4));
        if (width is not (2 or 4 or 8) || count == 0 || 8 + (ulong)count * width != (ulong)blob.Length) return null;
        var set = new SetValue();
        long previous = 0;
        for (int i = 0; i < count; i++)
        {
            var at = blob.AsSpan(8 + i * (int)width);
            long v = width == 2 ? BinaryPrimitives.ReadInt16LittleEndian(at) : width == 4 ? BinaryPrimitives.ReadInt32LittleEndian(at) : BinaryPrimitives.ReadInt64LittleEndian(at);
            if (i > 0 && v <= previous) return null; // an intset is sorted, without repeats
            previous = v;
            set.Add(Strict.FormatInt64(v));
        }
        set.WidenIntset((int)width);
        return set;
    }

    private static SortedSetValue? Zset(List<byte[]>? items)
    {
        if (items is null || items.Count == 0 || items.Count % 2 != 0) return null;
        var z = new SortedSetValue();
        for (int i = 0; i < items.Count; i += 2)
        {
            if (!TryParseScore(items[i + 1], out double score) || z.TryGetScore(items[i], out _)) return null;
            z.Set(items[i], score);
        }
        return z;
    }

    private static HashValue? Hash(List<byte[]>? items)
    {
        if (items is null || items.Count == 0 || items.Count % 2 != 0) return null;
        var h = new HashValue();
        for (int i = 0; i < items.Count; i += 2)
        {
            if (!h.Put(items[i], items[i + 1])) return null;
        }
        return h;
    }

    /// <summary>A listpack or ziplist score, as zzlStrtod reads it: C's strtod of the text, whatever follows the number; NaN refused.</summary>
    private static bool TryParseScore(byte[] text, out double score)
    {
        score = CStrtod.Parse(text, out _, out _);
        return !double.IsNaN(score);
    }

    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _pos;

        public int Position
        {
            readonly get => _pos;
            set => _pos = value;
        }

        private ReadOnlySpan<byte> Take(long n)
        {
            if (n < 0 || _pos + n > _data.Length) throw new FormatException();
            var s = _data.Slice(_pos, (int)n);
            _pos += (int)n;
            return s;
        }

        public int Byte() => Take(1)[0];

        /// <summary>rdbLoadLen; an encoded-string marker here is an error.</summary>
        public ulong Length()
        {
            ulong len = LengthOrEncoding(out bool encoded);
            if (encoded) throw new FormatException();
            return len;
        }

        private ulong LengthOrEncoding(out bool encoded)
        {
            encoded = false;
            int b = Byte();
            switch (b >> 6)
            {
                case 0:
                    return (ulong)(b & 0x3F);
                case 1:
                    return (ulong)(((b & 0x3F) << 8) | Byte());
                case 2:
                    if (b == 0x80) return BinaryPrimitives.ReadUInt32BigEndian(Take(4));
                    if (b == 0x81) return BinaryPrimitives.ReadUInt64BigEndian(Take(8));
                    throw new FormatException();
                default:
                    encoded = true;
                    return (ulong)(b & 0x3F);
            }
        }

        /// <summary>rdbGenericLoadStringObject: an integer (8, 16 or 32 bits), LZF, or plain bytes.</summary>
        public byte[] String()
        {
            ulong len = LengthOrEncoding(out bool encoded);
            if (!encoded) return Take(Checked(len)).ToArray();
            switch (len)
            {
                case 0: return Strict.FormatInt64((sbyte)Take(1)[0]);
                case 1: return Strict.FormatInt64(BinaryPrimitives.ReadInt16LittleEndian(Take(2)));
                case 2: return Strict.FormatInt64(BinaryPrimitives.ReadInt32LittleEndian(Take(4)));
                case 3:
                {
                    long compressed = Checked(Length()), length = Checked(Length(), allowLarge: true);
                    var input = Take(compressed);
                    if (length == 0 || length > Array.MaxLength || length > compressed * 256L) throw new FormatException();
                    var output = new byte[length];
                    if (!Lzf.Decompress(input, output)) throw new FormatException();
                    return output;
                }
                default:
                    throw new FormatException();
            }
        }

        /// <summary>A length that the rest of the payload can hold (LZF's expanded length is bounded by its ratio instead).</summary>
        private long Checked(ulong len, bool allowLarge = false)
        {
            if (len > int.MaxValue || (!allowLarge && (long)len > _data.Length - _pos)) throw new FormatException();
            return (long)len;
        }

        /// <summary>rdbLoadDoubleValue: a length byte (253 nan, 254 inf, 255 -inf) and that many characters.</summary>
        public double TextDouble()
        {
            int n = Byte();
            switch (n)
            {
                case 253: return double.NaN;
                case 254: return double.PositiveInfinity;
                case 255: return double.NegativeInfinity;
            }
            var text = Take(n);
            double d = CStrtod.Parse(text, out int consumed, out _); // sscanf("%lg") as rdbLoadDoubleValue
            if (consumed == 0) throw new FormatException();
            return d;
        }

        public double BinaryDouble() => BinaryPrimitives.ReadDoubleLittleEndian(Take(8));

        /// <summary>rdbLoadMillisecondTime: 8 bytes, little-endian.</summary>
        public long MillisecondTime() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));

        /// <summary>A stream ID written raw (16 bytes, big-endian), as in a pending entries list.</summary>
        public Streams.StreamId RawId()
        {
            var b = Take(16);
            return new Streams.StreamId(BinaryPrimitives.ReadUInt64BigEndian(b), BinaryPrimitives.ReadUInt64BigEndian(b[8..]));
        }

        public Streams.StreamId LengthPairId() => new(Length(), Length());

    }
}
