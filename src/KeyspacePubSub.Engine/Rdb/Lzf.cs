namespace KeyspacePubSub.Engine.Rdb;

/// <summary>
/// LZF as Redis ships it (lzf_c.c / lzf_d.c with lzfP.h's settings: HLOG 16, VERY_FAST, hash slots as offsets),
/// so a DUMP of a compressible string or listpack holds the bytes Redis's would. Redis leaves its hash table
/// uninitialised (INIT_HTAB 0); this one starts empty, which is what a fresh table gives, and every match is
/// checked byte for byte either way, so any stale slot Redis meets can only change which earlier copy a
/// back-reference points at, never what decompresses.
/// </summary>
public static class Lzf
{
    private const int HLog = 16, HSize = 1 << HLog, MaxLit = 1 << 5, MaxOff = 1 << 13, MaxRef = (1 << 8) + (1 << 3);

    // The hash table: each slot holds the call's stamp (high half) and a position, so a slot another call left
    // reads as empty without clearing 64 Ki slots (512 KiB) on every call; only a wrapped stamp clears them.
    [ThreadStatic] private static ulong[]? t_table;
    [ThreadStatic] private static uint t_stamp;

    private static uint Idx(uint h) => ((h >> (3 * 8 - HLog)) - h * 5) & (HSize - 1);

    /// <summary>Compresses into <paramref name="output"/>; 0 when the result would not fit (as lzf_compress).</summary>
    public static int Compress(ReadOnlySpan<byte> input, Span<byte> output)
    {
        int inLen = input.Length, outLen = output.Length;
        if (inLen == 0 || outLen == 0) return 0;
        var htab = t_table ??= new ulong[HSize];
        uint stamp = ++t_stamp;
        if (stamp == 0)
        {
            Array.Clear(htab);
            stamp = t_stamp = 1;
        }
        ulong tag = (ulong)stamp << 32;
        int ip = 0, op = 0, inEnd = inLen, outEnd = outLen;
        int lit = 0;
        op++; // start run
        uint hval = (uint)((input[ip] << 8) | (inLen > 1 ? input[ip + 1] : 0));
        while (ip < inEnd - 2)
        {
            hval = (hval << 8) | input[ip + 2];
            uint slot = Idx(hval);
            ulong stored = htab[slot];
            int reff = (stored >> 32) == stamp && (uint)stored != 0 ? (int)(uint)stored : -1; // position 0 reads as empty, as in lzf_c
            htab[slot] = tag | (uint)ip;
            long off;
            if (reff >= 0 && (off = (long)ip - reff - 1) >= 0 && off < MaxOff && reff > 0
                && input[reff + 2] == input[ip + 2] && input[reff] == input[ip] && input[reff + 1] == input[ip + 1])
            {
                int len = 2;
                int maxlen = inEnd - ip - len;
                if (maxlen > MaxRef) maxlen = MaxRef;
                if (op + 3 + 1 >= outEnd && op - (lit == 0 ? 1 : 0) + 3 + 1 >= outEnd) return 0;
                output[op - lit - 1] = (byte)(lit - 1); // stop run
                if (lit == 0) op--; // undo run if length is zero
                // As lzf_c's unrolled loop: past 16 octets left it compares 16 positions before looking at
                // maxlen again, so with 17 or 18 left a match may run to 19 octets.
                bool mismatch = false;
                if (maxlen > 16)
                {
                    for (int k = 0; k < 16 && !mismatch; k++)
                    {
                        len++;
                        mismatch = input[reff + len] != input[ip + len];
                    }
                }
                if (!mismatch)
                {
                    do len++;
                    while (len < maxlen && input[reff + len] == input[ip + len]);
                }
                len -= 2; // len is now #octets - 1
                ip++;
                if (len < 7)
                {
                    output[op++] = (byte)((off >> 8) + (len << 5));
                }
                else
                {
                    output[op++] = (byte)((off >> 8) + (7 << 5));
                    output[op++] = (byte)(len - 7);
                }
                output[op++] = (byte)off;
                lit = 0;
                op++; // start run
                ip += len + 1;
                if (ip >= inEnd - 2) break;
                // VERY_FAST: the two positions before the new one are hashed too.
                ip -= 2;
                hval = (uint)((input[ip] << 8) | input[ip + 1]);
                hval = (hval << 8) | input[ip + 2];
                htab[Idx(hval)] = tag | (uint)ip;
                ip++;
                hval = (hval << 8) | input[ip + 2];
                htab[Idx(hval)] = tag | (uint)ip;
                ip++;
            }
            else
            {
                if (op >= outEnd) return 0;
                Literal(input, output, ref ip, ref op, ref lit);
            }
        }
        if (op + 3 > outEnd) return 0;
        while (ip < inEnd) Literal(input, output, ref ip, ref op, ref lit);
        output[op - lit - 1] = (byte)(lit - 1); // end run
        if (lit == 0) op--;
        return op;
    }

    /// <summary>One more literal octet; a run that reaches 32 octets is closed and a new one started.</summary>
    private static void Literal(ReadOnlySpan<byte> input, Span<byte> output, ref int ip, ref int op, ref int lit)
    {
        lit++;
        output[op++] = input[ip++];
        if (lit == MaxLit)
        {
            output[op - lit - 1] = (byte)(lit - 1); // stop run
            lit = 0;
            op++; // start run
        }
    }

    /// <summary>Decompresses into <paramref name="output"/>; false on input that is not valid LZF for exactly that length.</summary>
    public static bool Decompress(ReadOnlySpan<byte> input, Span<byte> output)
    {
        int ip = 0, op = 0;
        while (ip < input.Length)
        {
            int ctrl = input[ip++];
            if (ctrl < 1 << 5)
            {
                ctrl++; // literal run
                if (op + ctrl > output.Length || ip + ctrl > input.Length) return false;
                input.Slice(ip, ctrl).CopyTo(output[op..]);
                op += ctrl;
                ip += ctrl;
            }
            else
            {
                int len = ctrl >> 5;
                int reff = op - ((ctrl & 0x1f) << 8) - 1;
                if (ip >= input.Length) return false;
                if (len == 7)
                {
                    len += input[ip++];
                    if (ip >= input.Length) return false;
                }
                reff -= input[ip++];
                len += 2;
                if (op + len > output.Length || reff < 0) return false;
                for (int i = 0; i < len; i++) output[op++] = output[reff++]; // may overlap: byte by byte
            }
        }
        return op == output.Length;
    }
}
