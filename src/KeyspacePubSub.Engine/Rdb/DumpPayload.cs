using System.Buffers.Binary;
using KeyspacePubSub.Engine.Keyspace;
using KeyspacePubSub.Protocol;

namespace KeyspacePubSub.Engine.Rdb;

/// <summary>
/// DUMP's serialisation, as Redis 7.0's createDumpPayload: the value's RDB type byte and rdbSaveObject's bytes
/// for it, then RDB version 10 and the CRC-64 of everything before, both little-endian. Strings go as
/// rdbSaveRawString writes them (an integer of up to 11 characters in 1, 2 or 4 bytes, more than 20 bytes LZF
/// compressed when that saves at least 4 bytes), compact values as the listpack or intset Redis would hold,
/// lists as quicklist nodes filled as Redis fills them when elements are pushed at the tail (8 KiB listpacks,
/// list-max-listpack-size -2), streams as their nodes' listpacks and their groups. Hash tables (big hashes and sets) are written in this server's order, which is
/// not Redis's dict order; RESTORE on either server reads them the same.
/// </summary>
public static class DumpPayload
{
    public const int RdbVersion = 10;
    private const byte TypeString = 0, TypeSet = 2, TypeHash = 4, TypeZset2 = 5, TypeSetIntset = 11,
        TypeHashListpack = 16, TypeZsetListpack = 17, TypeListQuicklist2 = 18, TypeStreamListpacks2 = 19;
    private const int QuicklistPacked = 2, NodeSizeLimit = 8192, SizeEstimateOverhead = 8;

    /// <summary>The payload for a value.</summary>
    public static byte[] Create(object value)
    {
        var w = new RdbBuffer();
        switch (value)
        {
            case byte[] s:
                w.Byte(TypeString);
                w.RawString(s);
                break;
            case GrowableString g:
                w.Byte(TypeString);
                w.RawString(g.Span);
                break;
            case ListValue l:
                w.Byte(TypeListQuicklist2);
                WriteList(w, l);
                break;
            case SetValue set:
                WriteSet(w, set);
                break;
            case HashValue h:
                WriteHash(w, h);
                break;
            case SortedSetValue z:
                WriteZset(w, z);
                break;
            case Streams.StreamValue st:
                w.Byte(TypeStreamListpacks2);
                StreamPayload.Write(w, st);
                break;
            default:
                throw new InvalidOperationException("unknown value type");
        }
        AppendFooter(w);
        return w.Written.ToArray();
    }

    /// <summary>A DUMP (or FUNCTION DUMP) payload's footer: the RDB version, then a CRC-64 of everything before it.</summary>
    internal static void AppendFooter(RdbBuffer w)
    {
        Span<byte> version = [RdbVersion & 0xFF, RdbVersion >> 8];
        w.Bytes(version);
        Span<byte> crc = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(crc, Crc64.Compute(w.Written));
        w.Bytes(crc);
    }

    /// <summary>quicklistPushTail's nodes: an element joins the tail node while Redis's estimate of the grown listpack stays within 8 KiB.</summary>
    private static void WriteList(RdbBuffer w, ListValue l)
    {
        var nodes = QuicklistNodes(l);
        w.Length((ulong)nodes.Count);
        foreach (var lp in nodes)
        {
            w.Length(QuicklistPacked);
            w.RawString(lp);
        }
    }

    /// <summary>The listpacks of the quicklist Redis would hold for <paramref name="l"/> (see <see cref="WriteList"/>).</summary>
    public static List<byte[]> QuicklistNodes(ListValue l)
    {
        var nodes = new List<byte[]>();
        ListpackBuilder? node = null;
        for (int i = 0; i < l.Count; i++)
        {
            byte[] item = l[i];
            if (node is null || !AllowInsert(node, item.Length))
            {
                if (node != null) nodes.Add(node.ToArray());
                node = new ListpackBuilder();
            }
            node.Append(item);
        }
        if (node != null) nodes.Add(node.ToArray());
        return nodes;
    }

    /// <summary>
    /// _quicklistNodeAllowInsert for fill -2 as redis-server 7.0.15 has it: the listpack's size, the element's
    /// length and an 8-byte overestimate of its overhead must stay within 8 KiB.
    /// </summary>
    private static bool AllowInsert(ListpackBuilder node, int sz) => (long)node.Bytes + sz + SizeEstimateOverhead <= NodeSizeLimit;

    private static void WriteSet(RdbBuffer w, SetValue set)
    {
        if (set.IsHashtableEncoded)
        {
            w.Byte(TypeSet);
            w.Length((ulong)set.Count);
            foreach (var m in set.Members.Keys) w.RawString(m);
            return;
        }
        var values = new long[set.Count];
        int n = 0;
        foreach (var m in set.Members.Keys) Strict.TryParseInt64(m, out values[n++]);
        Array.Sort(values);
        int width = set.IntsetWidth; // every member came in through SetValue.Add, which widened it as needed
        var blob = new byte[8 + values.Length * width];
        BinaryPrimitives.WriteUInt32LittleEndian(blob, (uint)width);
        BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(4), (uint)values.Length);
        for (int i = 0; i < values.Length; i++)
        {
            var at = blob.AsSpan(8 + i * width);
            if (width == 2) BinaryPrimitives.WriteInt16LittleEndian(at, (short)values[i]);
            else if (width == 4) BinaryPrimitives.WriteInt32LittleEndian(at, (int)values[i]);
            else BinaryPrimitives.WriteInt64LittleEndian(at, values[i]);
        }
        w.Byte(TypeSetIntset);
        w.RawString(blob);
    }

    private static void WriteHash(RdbBuffer w, HashValue h)
    {
        if (h.IsHashtableEncoded)
        {
            w.Byte(TypeHash);
            w.Length((ulong)h.Count);
            foreach (var (k, v) in h.Fields)
            {
                w.RawString(k);
                w.RawString(v);
            }
            return;
        }
        var lp = new ListpackBuilder();
        foreach (var (k, v) in h.Fields)
        {
            lp.Append(k);
            lp.Append(v);
        }
        w.Byte(TypeHashListpack);
        w.RawString(lp.ToArray());
    }

    private static void WriteZset(RdbBuffer w, SortedSetValue z)
    {
        if (z.IsSkiplistEncoded)
        {
            // From the tail back, as rdbSaveObject: loading inserts each at the head.
            w.Byte(TypeZset2);
            w.Length((ulong)z.Count);
            Span<byte> score = stackalloc byte[8];
            for (var node = z.List.Last; node != null && node.Member != null; node = node.Backward)
            {
                w.RawString(node.Member);
                BinaryPrimitives.WriteDoubleLittleEndian(score, node.Score);
                w.Bytes(score);
            }
            return;
        }
        var lp = new ListpackBuilder();
        for (var node = z.List.First; node != null; node = node.Next)
        {
            lp.Append(node.Member!);
            lp.AppendScore(node.Score);
        }
        w.Byte(TypeZsetListpack);
        w.RawString(lp.ToArray());
    }
}

/// <summary>A growing byte buffer with RDB's length and string encodings.</summary>
internal sealed class RdbBuffer
{
    private byte[] _buffer = new byte[64];
    private int _length;

    public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, _length);

    private Span<byte> Take(int n)
    {
        if ((long)_length + n > Array.MaxLength) throw new InvalidOperationException("payload too large");
        if (_length + n > _buffer.Length) Array.Resize(ref _buffer, (int)Math.Min(Array.MaxLength, Math.Max(_length + n, _buffer.Length * 2L)));
        var span = _buffer.AsSpan(_length, n);
        _length += n;
        return span;
    }

    public void Byte(byte b) => Take(1)[0] = b;

    public void Bytes(ReadOnlySpan<byte> b) => b.CopyTo(Take(b.Length));

    /// <summary>rdbSaveLen: 6 bits, 14 bits, or a 0x80 / 0x81 marker and 32 / 64 bits, big-endian.</summary>
    public void Length(ulong len)
    {
        if (len < 1 << 6)
        {
            Byte((byte)len);
        }
        else if (len < 1 << 14)
        {
            var s = Take(2);
            s[0] = (byte)((len >> 8) | 0x40);
            s[1] = (byte)len;
        }
        else if (len <= uint.MaxValue)
        {
            Byte(0x80);
            BinaryPrimitives.WriteUInt32BigEndian(Take(4), (uint)len);
        }
        else
        {
            Byte(0x81);
            BinaryPrimitives.WriteUInt64BigEndian(Take(8), len);
        }
    }

    /// <summary>rdbSaveRawString: integer encoding, LZF (rdbcompression yes), or the bytes with their length.</summary>
    public void RawString(ReadOnlySpan<byte> s)
    {
        if (s.Length <= 11 && Strict.TryParseInt64(s, out long v))
        {
            if (v is >= sbyte.MinValue and <= sbyte.MaxValue)
            {
                var t = Take(2);
                t[0] = 0xC0;
                t[1] = (byte)(sbyte)v;
                return;
            }
            if (v is >= short.MinValue and <= short.MaxValue)
            {
                Byte(0xC1);
                BinaryPrimitives.WriteInt16LittleEndian(Take(2), (short)v);
                return;
            }
            if (v is >= int.MinValue and <= int.MaxValue)
            {
                Byte(0xC2);
                BinaryPrimitives.WriteInt32LittleEndian(Take(4), (int)v);
                return;
            }
        }
        if (s.Length > 20)
        {
            var output = new byte[s.Length - 4];
            int compressed = Lzf.Compress(s, output);
            if (compressed > 0)
            {
                Byte(0xC3);
                Length((ulong)compressed);
                Length((ulong)s.Length);
                Bytes(output.AsSpan(0, compressed));
                return;
            }
        }
        Length((ulong)s.Length);
        Bytes(s);
    }
}
