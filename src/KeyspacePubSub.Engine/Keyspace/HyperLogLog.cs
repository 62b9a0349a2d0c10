namespace KeyspacePubSub.Engine.Keyspace;

/// <summary>
/// Redis's HyperLogLog (src/hyperloglog.c, 7.0) on the bytes of a string value, byte for byte: a 16-byte header
/// ("HYLL", encoding, 3 unused bytes, the cached cardinality little-endian with its top bit meaning "stale"),
/// then either 16,384 registers of 6 bits (dense, 12,304 bytes in all) or the sparse run-length opcodes ZERO
/// (00xxxxxx), XZERO (01xxxxxx xxxxxxxx) and VAL (1vvvvvxx), promoted to dense when a register exceeds 32 or the
/// string would pass hll-sparse-max-bytes. Elements are hashed with MurmurHash64A (seed 0xadc83b19); the
/// cardinality is Ertl's estimator over the register histogram, as Redis computes it.
/// </summary>
public static class HyperLogLog
{
    public const int HeaderSize = 16, Registers = 16384, P = 14, Q = 64 - P, DenseSize = HeaderSize + Registers * 6 / 8;
    public const byte Dense = 0, Sparse = 1;
    private const int RegisterMax = 63, SparseValMaxValue = 32, SparseValMaxLen = 4, SparseZeroMaxLen = 64; // an XZERO covers up to 16,384: all the registers
    private const double AlphaInf = 0.721347520444481703680;

    /// <summary>As createHLLObject: an empty sparse HLL (one XZERO of 16,384), its cached cardinality 0 and valid.</summary>
    public static byte[] Create()
    {
        var s = new byte[HeaderSize + 2];
        "HYLL"u8.CopyTo(s);
        s[4] = Sparse;
        SetXZero(s.AsSpan(HeaderSize), Registers);
        return s;
    }

    /// <summary>As isHLLObjectOrReply's checks of the bytes.</summary>
    public static bool IsValid(ReadOnlySpan<byte> s) =>
        s.Length >= HeaderSize && s[..4].SequenceEqual("HYLL"u8) && s[4] <= Sparse && (s[4] != Dense || s.Length == DenseSize);

    public static bool CacheValid(ReadOnlySpan<byte> s) => (s[15] & 0x80) == 0;

    public static void InvalidateCache(Span<byte> s) => s[15] |= 0x80;

    public static ulong CachedCardinality(ReadOnlySpan<byte> s) => System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(s[8..16]);

    public static void SetCachedCardinality(Span<byte> s, ulong card) => System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(s[8..16], card);

    /// <summary>MurmurHash2, 64-bit (MurmurHash64A), as Redis's endian-neutral version.</summary>
    public static ulong MurmurHash64A(ReadOnlySpan<byte> key, uint seed)
    {
        const ulong m = 0xc6a4a7935bd1e995;
        const int r = 47;
        int len = key.Length;
        ulong h = seed ^ unchecked((ulong)len * m);
        int i = 0;
        for (; i + 8 <= len; i += 8)
        {
            ulong k = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(key[i..]);
            unchecked
            {
                k *= m;
                k ^= k >> r;
                k *= m;
                h ^= k;
                h *= m;
            }
        }
        int rest = len & 7;
        if (rest > 0)
        {
            for (int j = rest - 1; j >= 0; j--) h ^= (ulong)key[i + j] << (8 * j);
            h = unchecked(h * m);
        }
        h ^= h >> r;
        h = unchecked(h * m);
        h ^= h >> r;
        return h;
    }

    /// <summary>As hllPatLen: the register an element hashes to, and the length of its 000..1 pattern.</summary>
    public static int PatternLength(ReadOnlySpan<byte> element, out int index)
    {
        ulong hash = MurmurHash64A(element, 0xadc83b19);
        index = (int)(hash & (Registers - 1));
        hash >>= P;
        hash |= 1UL << Q; // the loop ends, and the count is at most Q + 1
        int count = 1;
        for (ulong bit = 1; (hash & bit) == 0; bit <<= 1) count++;
        return count;
    }

    public static int DenseGet(ReadOnlySpan<byte> registers, int index)
    {
        int bitPos = index * 6;
        int b = bitPos >> 3, fb = bitPos & 7;
        int b0 = registers[b], b1 = b + 1 < registers.Length ? registers[b + 1] : 0;
        return ((b0 >> fb) | (b1 << (8 - fb))) & RegisterMax;
    }

    public static void DenseSet(Span<byte> registers, int index, int value)
    {
        int bitPos = index * 6;
        int b = bitPos >> 3, fb = bitPos & 7;
        registers[b] = (byte)((registers[b] & ~(RegisterMax << fb)) | (value << fb));
        if (b + 1 < registers.Length) registers[b + 1] = (byte)((registers[b + 1] & ~(RegisterMax >> (8 - fb))) | (value >> (8 - fb)));
    }

    /// <summary>As hllDenseSet: raises the register to <paramref name="count"/>; true if it changed.</summary>
    private static bool DenseRaise(Span<byte> registers, int index, int count)
    {
        if (count <= DenseGet(registers, index)) return false;
        DenseSet(registers, index, count);
        return true;
    }

    private static bool IsZero(byte op) => (op & 0xc0) == 0;

    private static bool IsXZero(byte op) => (op & 0xc0) == 0x40;

    private static bool IsVal(byte op) => (op & 0x80) != 0;

    private static int ZeroLen(byte op) => (op & 0x3f) + 1;

    /// <summary>An XZERO's run length; its second byte past the end reads as 0, as the sds terminator does in Redis.</summary>
    private static int XZeroLen(ReadOnlySpan<byte> s, int p, int end) => (((s[p] & 0x3f) << 8) | (p + 1 < end ? s[p + 1] : 0)) + 1;

    private static int ValValue(byte op) => ((op >> 2) & 0x1f) + 1;

    private static int ValLen(byte op) => (op & 0x3) + 1;

    private static byte Val(int value, int len) => (byte)(((value - 1) << 2) | (len - 1) | 0x80);

    /// <summary>The opcode at <paramref name="p"/>: the registers it covers, their value (0 for zeros), its size in bytes.</summary>
    internal static (int Length, int Value, int Size) Opcode(ReadOnlySpan<byte> s, int p)
    {
        byte op = s[p];
        if (IsZero(op)) return (ZeroLen(op), 0, 1);
        if (IsXZero(op)) return (XZeroLen(s, p, s.Length), 0, 2);
        return (ValLen(op), ValValue(op), 1);
    }

    private static void SetXZero(Span<byte> p, int len)
    {
        p[0] = (byte)(((len - 1) >> 8) | 0x40);
        p[1] = (byte)((len - 1) & 0xff);
    }

    /// <summary>As hllSparseToDense: the dense form of a sparse HLL (header kept), or null when the runs are corrupt.</summary>
    public static byte[]? SparseToDense(ReadOnlySpan<byte> s)
    {
        var dense = new byte[DenseSize];
        s[..HeaderSize].CopyTo(dense);
        dense[4] = Dense;
        var registers = dense.AsSpan(HeaderSize);
        var runs = new SparseRuns(s);
        while (runs.MoveNext())
        {
            if (runs.Value == 0) continue;
            if (runs.Start + runs.Length > Registers) break; // a VAL past the last register
            for (int i = runs.Start; i < runs.Start + runs.Length; i++) DenseSet(registers, i, runs.Value);
        }
        return runs.Start == Registers ? dense : null;
    }

    /// <summary>As PFDEBUG DECODE: the sparse opcodes as "z:len", "Z:len" (XZERO) and "v:value,len", space-separated.</summary>
    public static string Decode(ReadOnlySpan<byte> s)
    {
        var text = new System.Text.StringBuilder();
        for (int p = HeaderSize; p < s.Length;)
        {
            var (length, value, size) = Opcode(s, p);
            if (text.Length > 0) text.Append(' ');
            if (value > 0) text.Append("v:").Append(value).Append(',').Append(length);
            else text.Append(size == 2 ? "Z:" : "z:").Append(length);
            p += size;
        }
        return text.ToString();
    }

    /// <summary>
    /// Adds an element: 1 if a register changed, 0 if not, -1 for a corrupt sparse HLL. The string may change
    /// size, or become dense (<see cref="HllString"/> holds it).
    /// </summary>
    public static int Add(HllString h, ReadOnlySpan<byte> element, long sparseMaxBytes)
    {
        int count = PatternLength(element, out int index);
        return Set(h, index, count, sparseMaxBytes);
    }

    /// <summary>Raises register <paramref name="index"/> to <paramref name="count"/> (hllDenseSet or hllSparseSet).</summary>
    public static int Set(HllString h, int index, int count, long sparseMaxBytes)
    {
        if (h.Bytes[4] == Dense) return DenseRaise(h.Bytes.AsSpan(HeaderSize, h.Length - HeaderSize), index, count) ? 1 : 0;
        return SparseSet(h, index, count, sparseMaxBytes);
    }

    /// <summary>As hllSparseSet, opcode for opcode, so the sparse bytes are Redis's.</summary>
    private static int SparseSet(HllString h, int index, int count, long sparseMaxBytes)
    {
        if (count > SparseValMaxValue) return Promote(h, index, count);
        h.Reserve(h.Length + 4); // an XZERO split into XZERO-VAL-XZERO: 3 more bytes (one more when the XZERO was cut short)
        var s = h.Bytes;
        int end = h.Length;
        int p = HeaderSize, first = 0, prev = -1, span = 0;
        while (p < end)
        {
            int oplen = 1;
            byte op = s[p];
            if (IsZero(op)) span = ZeroLen(op);
            else if (IsVal(op)) span = ValLen(op);
            else
            {
                span = XZeroLen(s, p, end);
                oplen = 2;
            }
            if (index <= first + span - 1) break;
            prev = p;
            p += oplen;
            first += span;
        }
        if (span == 0 || p >= end) return -1;
        int next = IsXZero(s[p]) ? p + 2 : p + 1;
        if (next >= end) next = -1;
        byte cur = s[p];
        bool isZero = IsZero(cur), isXZero = IsXZero(cur), isVal = !isZero && !isXZero;
        int runLen = isZero ? ZeroLen(cur) : isXZero ? XZeroLen(s, p, end) : ValLen(cur);
        bool simple = false;
        if (isVal)
        {
            if (ValValue(cur) >= count) return 0; // case A
            if (runLen == 1)
            {
                s[p] = Val(count, 1); // case B
                simple = true;
            }
        }
        if (!simple && isZero && runLen == 1)
        {
            s[p] = Val(count, 1); // case C
            simple = true;
        }
        if (!simple)
        {
            // Case D: the opcode is split in up to three (XZERO - VAL - XZERO at worst, 5 bytes).
            Span<byte> seq = stackalloc byte[5];
            int n = 0, last = first + span - 1;
            if (isZero || isXZero)
            {
                if (index != first) n += Zeros(seq[n..], index - first);
                seq[n++] = Val(count, 1);
                if (index != last) n += Zeros(seq[n..], last - index);
            }
            else
            {
                int curValue = ValValue(cur);
                if (index != first) seq[n++] = Val(curValue, index - first);
                seq[n++] = Val(count, 1);
                if (index != last) seq[n++] = Val(curValue, last - index);
            }
            int oldLen = isXZero ? 2 : 1, delta = n - oldLen;
            if (delta > 0 && h.Length + delta > sparseMaxBytes) return Promote(h, index, count);
            if (delta != 0 && next >= 0) s.AsSpan(next, end - next).CopyTo(s.AsSpan(next + delta));
            h.Length += delta;
            seq[..n].CopyTo(s.AsSpan(p));
            end += delta;
        }
        // Adjacent VALs of the same value are merged, scanning up to 5 opcodes from the previous one.
        p = prev >= 0 ? prev : HeaderSize;
        int scan = 5;
        while (p < end && scan-- > 0)
        {
            if (IsXZero(s[p]))
            {
                p += 2;
                continue;
            }
            if (IsZero(s[p]))
            {
                p++;
                continue;
            }
            if (p + 1 < end && IsVal(s[p + 1]))
            {
                int v1 = ValValue(s[p]), v2 = ValValue(s[p + 1]);
                if (v1 == v2)
                {
                    int len = ValLen(s[p]) + ValLen(s[p + 1]);
                    if (len <= SparseValMaxLen)
                    {
                        s[p + 1] = Val(v1, len);
                        s.AsSpan(p + 1, end - p - 1).CopyTo(s.AsSpan(p));
                        h.Length--;
                        end--;
                        s[end] = 0;
                        continue;
                    }
                }
            }
            p++;
        }
        InvalidateCache(s);
        return 1;
    }

    private static int Zeros(Span<byte> at, int len)
    {
        if (len > SparseZeroMaxLen)
        {
            SetXZero(at, len);
            return 2;
        }
        at[0] = (byte)(len - 1);
        return 1;
    }

    private static int Promote(HllString h, int index, int count)
    {
        var dense = SparseToDense(h.Bytes.AsSpan(0, h.Length));
        if (dense is null) return -1;
        h.Replace(dense);
        DenseRaise(dense.AsSpan(HeaderSize), index, count);
        return 1;
    }

    /// <summary>As hllMerge: raises <paramref name="max"/> (one byte per register) to the HLL's registers; false when corrupt.</summary>
    public static bool Merge(Span<byte> max, ReadOnlySpan<byte> s)
    {
        if (s[4] == Dense)
        {
            var registers = s[HeaderSize..];
            for (int i = 0; i < Registers; i++)
            {
                int v = DenseGet(registers, i);
                if (v > max[i]) max[i] = (byte)v;
            }
            return true;
        }
        var runs = new SparseRuns(s);
        while (runs.MoveNext())
        {
            if (runs.Value == 0) continue;
            if (runs.Start + runs.Length > Registers) break;
            for (int i = runs.Start; i < runs.Start + runs.Length; i++)
            {
                if (runs.Value > max[i]) max[i] = (byte)runs.Value;
            }
        }
        return runs.Start == Registers;
    }

    /// <summary>As hllCount on a dense or sparse HLL; null when the sparse runs do not cover every register.</summary>
    public static ulong? Count(ReadOnlySpan<byte> s)
    {
        Span<int> histo = stackalloc int[64];
        histo.Clear();
        if (s[4] == Dense)
        {
            var registers = s[HeaderSize..];
            for (int i = 0; i < Registers; i++) histo[DenseGet(registers, i)]++;
        }
        else
        {
            var runs = new SparseRuns(s);
            while (runs.MoveNext()) histo[runs.Value] += runs.Length;
            if (runs.Start != Registers) return null;
        }
        return Estimate(histo);
    }

    /// <summary>As hllCount on raw registers (one byte each: PFCOUNT of several keys).</summary>
    public static ulong CountRaw(ReadOnlySpan<byte> registers)
    {
        Span<int> histo = stackalloc int[256];
        histo.Clear();
        foreach (byte r in registers) histo[r]++;
        return Estimate(histo);
    }

    /// <summary>Ertl's estimator ("New cardinality estimation algorithms for HyperLogLog sketches"), as Redis computes it.</summary>
    private static ulong Estimate(ReadOnlySpan<int> histo)
    {
        double m = Registers;
        double z = m * Tau((m - histo[Q + 1]) / m);
        for (int j = Q; j >= 1; --j)
        {
            z += histo[j];
            z *= 0.5;
        }
        z += m * Sigma(histo[0] / m);
        return (ulong)(long)Math.Round(AlphaInf * m * m / z, MidpointRounding.AwayFromZero);
    }

    private static double Sigma(double x)
    {
        if (x == 1.0) return double.PositiveInfinity;
        double zPrime, y = 1, z = x;
        do
        {
            x *= x;
            zPrime = z;
            z += x * y;
            y += y;
        } while (zPrime != z);
        return z;
    }

    private static double Tau(double x)
    {
        if (x == 0.0 || x == 1.0) return 0.0;
        double zPrime, y = 1.0, z = 1 - x;
        do
        {
            x = Math.Sqrt(x);
            zPrime = z;
            y *= 0.5;
            z -= Math.Pow(1 - x, 2) * y;
        } while (zPrime != z);
        return z / 3;
    }
}

/// <summary>
/// The runs of a sparse HLL in order: each opcode's first register, length and value (0 for ZERO and XZERO).
/// Once <see cref="MoveNext"/> is false, <see cref="Start"/> is the number of registers the opcodes cover.
/// </summary>
internal ref struct SparseRuns(ReadOnlySpan<byte> s)
{
    private readonly ReadOnlySpan<byte> _s = s;
    private int _p = HyperLogLog.HeaderSize;

    public int Start { get; private set; }

    public int Length { get; private set; }

    public int Value { get; private set; }

    public bool MoveNext()
    {
        Start += Length;
        Length = 0;
        if (_p >= _s.Length) return false;
        (Length, Value, int size) = HyperLogLog.Opcode(_s, _p);
        _p += size;
        return true;
    }
}

/// <summary>The bytes of an HLL being changed: a buffer with room, and its length (the sds of hyperloglog.c).</summary>
public sealed class HllString(byte[] bytes, int length)
{
    public byte[] Bytes { get; private set; } = bytes;

    public int Length { get; set; } = length;

    public void Reserve(int capacity)
    {
        if (capacity <= Bytes.Length) return;
        var grown = new byte[Math.Max(capacity, Bytes.Length * 2)];
        Bytes.AsSpan(0, Length).CopyTo(grown);
        Bytes = grown;
    }

    public void Replace(byte[] bytes)
    {
        Bytes = bytes;
        Length = bytes.Length;
    }

    public byte[] ToArray() => Bytes.AsSpan(0, Length).ToArray();
}
