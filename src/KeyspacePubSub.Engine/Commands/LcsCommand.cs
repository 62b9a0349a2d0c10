using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>LCS (src/t_string.c lcsCommand): the dynamic-programming table, then one walk back for the string and the match ranges.</summary>
internal static class LcsCommand
{
    /// <summary>Table cells we agree to allocate (4 bytes each); beyond it Redis's own allocation failure error is returned.</summary>
    private const long MaxCells = 256L * 1024 * 1024;

    public static void Register(CommandTable t) =>
        t.Add(new() { Name = "lcs", Arity = -3, Flags = ReadOnly, Handler = Lcs, FirstKey = 1, LastKey = 2, Step = 1, Group = "string", Since = "7.0.0", Summary = "Finds the longest common substring." });

    private readonly record struct Match(uint AStart, uint AEnd, uint BStart, uint BEnd);

    private static void Lcs(CommandContext x)
    {
        var db = x.Engine.Databases[x.Client.Db];
        var objA = x.Engine.LookupRead(db, x.Args[1]);
        var objB = x.Engine.LookupRead(db, x.Args[2]);
        if ((objA != null && objA is not byte[]) || (objB != null && objB is not byte[]))
        {
            x.Reply.Error("ERR The specified keys must contain string values");
            return;
        }
        byte[] a = objA as byte[] ?? [], b = objB as byte[] ?? [];
        bool getIdx = false, getLen = false, withMatchLen = false;
        long minMatchLen = 0;
        for (int j = 3; j < x.Args.Count; j++)
        {
            bool more = j + 1 < x.Args.Count;
            if (x.Args.Is(j, "IDX")) getIdx = true;
            else if (x.Args.Is(j, "LEN")) getLen = true;
            else if (x.Args.Is(j, "WITHMATCHLEN")) withMatchLen = true;
            else if (x.Args.Is(j, "MINMATCHLEN") && more)
            {
                if (!x.Args.TryGetInt64(++j, out minMatchLen))
                {
                    x.Reply.Error(Errors.NotInteger);
                    return;
                }
                if (minMatchLen < 0) minMatchLen = 0;
            }
            else
            {
                x.Reply.Error(Errors.Syntax);
                return;
            }
        }
        if (getIdx && getLen)
        {
            x.Reply.Error("ERR If you want both the length and indexes, please just use IDX.");
            return;
        }
        int alen = a.Length, blen = b.Length;
        if ((long)(alen + 1) * (blen + 1) > MaxCells)
        {
            x.Reply.Error("ERR Insufficient memory, failed allocating transient memory for LCS");
            return;
        }
        int w = blen + 1;
        var lcs = new uint[(alen + 1) * w];
        for (int i = 1; i <= alen; i++)
        {
            for (int j = 1; j <= blen; j++)
            {
                lcs[i * w + j] = a[i - 1] == b[j - 1] ? lcs[(i - 1) * w + j - 1] + 1 : Math.Max(lcs[(i - 1) * w + j], lcs[i * w + j - 1]);
            }
        }
        uint length = lcs[alen * w + blen];
        if (getLen)
        {
            x.Reply.Integer(length);
            return;
        }
        var result = new byte[length];
        var matches = new List<Match>();
        WalkBack(a, b, lcs, w, result, matches, minMatchLen);
        if (!getIdx)
        {
            x.Reply.Bulk(result);
            return;
        }
        x.Reply.Map(2);
        x.Reply.Bulk("matches"u8);
        x.Reply.Array(matches.Count);
        foreach (var m in matches)
        {
            x.Reply.Array(withMatchLen ? 3 : 2);
            x.Reply.Array(2);
            x.Reply.Integer(m.AStart);
            x.Reply.Integer(m.AEnd);
            x.Reply.Array(2);
            x.Reply.Integer(m.BStart);
            x.Reply.Integer(m.BEnd);
            if (withMatchLen) x.Reply.Integer(m.AEnd - m.AStart + 1);
        }
        x.Reply.Bulk("len"u8);
        x.Reply.Integer(length);
    }

    /// <summary>From the table's end back to its start: the common string, and each contiguous run as a range pair.</summary>
    private static void WalkBack(byte[] a, byte[] b, uint[] lcs, int w, byte[] result, List<Match> matches, long minMatchLen)
    {
        uint alen = (uint)a.Length, i = alen, j = (uint)b.Length, idx = (uint)result.Length;
        uint aStart = alen, aEnd = 0, bStart = 0, bEnd = 0; // aStart == alen: no range open
        while (i > 0 && j > 0)
        {
            bool emit = false;
            if (a[i - 1] == b[j - 1])
            {
                result[idx - 1] = a[i - 1];
                if (aStart == alen)
                {
                    aStart = aEnd = i - 1;
                    bStart = bEnd = j - 1;
                }
                else if (aStart == i && bStart == j)
                {
                    aStart--;
                    bStart--;
                }
                else
                {
                    emit = true;
                }
                if (aStart == 0 || bStart == 0) emit = true;
                idx--; i--; j--;
            }
            else
            {
                if (lcs[(i - 1) * w + j] > lcs[i * w + j - 1]) i--;
                else j--;
                if (aStart != alen) emit = true;
            }
            if (emit)
            {
                if (minMatchLen == 0 || aEnd - aStart + 1 >= minMatchLen) matches.Add(new Match(aStart, aEnd, bStart, bEnd));
                aStart = alen;
            }
        }
    }
}
