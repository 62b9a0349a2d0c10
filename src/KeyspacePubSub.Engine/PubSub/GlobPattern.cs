namespace KeyspacePubSub.Engine.PubSub;

/// <summary>
/// Redis's stringmatchlen (src/util.c), case-sensitive, byte-wise, including its guards against
/// abusive patterns: skipLongerMatches (CVE-2022-36021) and the nesting limit (CVE-2024-31228).
/// </summary>
public static class GlobPattern
{
    private const int MaxNesting = 1000;

    /// <summary>
    /// Whether KEYS and the SCAN family take <paramref name="pattern"/> as no pattern at all: exactly <c>*</c>
    /// (Redis's allkeys / use_pattern). Then the empty name is listed too, which <see cref="IsMatch"/> does not
    /// match (stringmatchlen stops when the string is empty with the pattern left over).
    /// </summary>
    public static bool MatchesEverything(ReadOnlySpan<byte> pattern) => pattern.Length == 1 && pattern[0] == (byte)'*';

    public static bool IsMatch(ReadOnlySpan<byte> pattern, ReadOnlySpan<byte> text)
    {
        bool skipLongerMatches = false;
        return Match(pattern, 0, text, 0, ref skipLongerMatches, 0);
    }

    /// <summary>The leading bytes every matching string must start with (stops at the first special byte).</summary>
    public static int LiteralPrefixLength(ReadOnlySpan<byte> pattern)
    {
        int i = pattern.IndexOfAny((byte)'*', (byte)'?', (byte)'[');
        int esc = pattern.IndexOf((byte)'\\');
        if (i < 0) i = pattern.Length;
        if (esc >= 0 && esc < i) i = esc;
        return i;
    }

    // pattern[p..] and text[s..]; bytes past the end read as NUL, as in the C original (sds is NUL-terminated).
    private static bool Match(ReadOnlySpan<byte> pattern, int p, ReadOnlySpan<byte> text, int s, ref bool skipLongerMatches, int nesting)
    {
        if (nesting > MaxNesting) return false;
        int plen = pattern.Length - p;
        int slen = text.Length - s;
        while (plen > 0 && slen > 0)
        {
            switch (pattern[p])
            {
                case (byte)'*':
                    while (plen > 0 && At(pattern, p + 1) == '*')
                    {
                        p++;
                        plen--;
                    }
                    if (plen == 1) return true;
                    while (slen > 0)
                    {
                        if (Match(pattern[..(p + plen)], p + 1, text, s, ref skipLongerMatches, nesting + 1)) return true;
                        if (skipLongerMatches) return false;
                        s++;
                        slen--;
                    }
                    skipLongerMatches = true;
                    return false;
                case (byte)'?':
                    s++;
                    slen--;
                    break;
                case (byte)'[':
                {
                    p++;
                    plen--;
                    bool not = At(pattern, p) == '^';
                    if (not)
                    {
                        p++;
                        plen--;
                    }
                    bool match = false;
                    while (true)
                    {
                        if (At(pattern, p) == '\\' && plen >= 2)
                        {
                            p++;
                            plen--;
                            if (pattern[p] == text[s]) match = true;
                        }
                        else if (At(pattern, p) == ']')
                        {
                            break;
                        }
                        else if (plen == 0)
                        {
                            p--;
                            plen++;
                            break;
                        }
                        else if (plen >= 3 && At(pattern, p + 1) == '-')
                        {
                            // C char is signed: compare as sbyte like the original.
                            int start = (sbyte)pattern[p];
                            int end = (sbyte)pattern[p + 2];
                            int c = (sbyte)text[s];
                            if (start > end) (start, end) = (end, start);
                            p += 2;
                            plen -= 2;
                            if (c >= start && c <= end) match = true;
                        }
                        else if (pattern[p] == text[s])
                        {
                            match = true;
                        }
                        p++;
                        plen--;
                    }
                    if (not) match = !match;
                    if (!match) return false;
                    s++;
                    slen--;
                    break;
                }
                case (byte)'\\':
                    if (plen >= 2)
                    {
                        p++;
                        plen--;
                    }
                    if (pattern[p] != text[s]) return false;
                    s++;
                    slen--;
                    break;
                default:
                    if (pattern[p] != text[s]) return false;
                    s++;
                    slen--;
                    break;
            }
            p++;
            plen--;
            if (slen == 0)
            {
                while (plen > 0 && pattern[p] == '*')
                {
                    p++;
                    plen--;
                }
                break;
            }
        }
        return plen == 0 && slen == 0;
    }

    private static byte At(ReadOnlySpan<byte> s, int i) => (uint)i < (uint)s.Length ? s[i] : (byte)0;
}
