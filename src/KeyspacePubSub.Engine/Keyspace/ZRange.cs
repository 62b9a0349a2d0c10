using KeyspacePubSub.Protocol;

namespace KeyspacePubSub.Engine.Keyspace;

/// <summary>
/// A score range (zrangespec) or a lex range (zlexrangespec) of a sorted set, with Redis's parsing:
/// <c>(</c> for exclusive score bounds, <c>[</c>/<c>(</c>/<c>-</c>/<c>+</c> for lex bounds.
/// </summary>
public readonly struct ZRange
{
    private readonly bool _lex;
    private readonly double _min, _max;
    private readonly byte[]? _minLex, _maxLex; // null with _minInf/_maxInf set means "-" or "+"
    private readonly int _minInf, _maxInf;     // -1 = "-", +1 = "+", 0 = a string
    private readonly bool _minEx, _maxEx;

    private ZRange(double min, bool minEx, double max, bool maxEx)
    {
        _min = min; _minEx = minEx; _max = max; _maxEx = maxEx;
    }

    private ZRange(byte[]? min, int minInf, bool minEx, byte[]? max, int maxInf, bool maxEx)
    {
        _lex = true;
        _minLex = min; _minInf = minInf; _minEx = minEx;
        _maxLex = max; _maxInf = maxInf; _maxEx = maxEx;
    }

    /// <summary>A score range built in code: geo searches ask for min &lt;= score &lt; max.</summary>
    public static ZRange Scores(double min, bool minExclusive, double max, bool maxExclusive) => new(min, minExclusive, max, maxExclusive);

    /// <summary>zslParseRange: strtod over the whole text (after an optional "("), NaN refused.</summary>
    public static bool TryParseScore(ReadOnlySpan<byte> min, ReadOnlySpan<byte> max, out ZRange range)
    {
        range = default;
        if (!TryBound(min, out double lo, out bool loEx) || !TryBound(max, out double hi, out bool hiEx)) return false;
        range = new ZRange(lo, loEx, hi, hiEx);
        return true;

        static bool TryBound(ReadOnlySpan<byte> s, out double value, out bool exclusive)
        {
            exclusive = s.Length > 0 && s[0] == (byte)'(';
            return Strtod(exclusive ? s[1..] : s, out value) && !double.IsNaN(value);
        }
    }

    /// <summary>zslParseLexRange.</summary>
    public static bool TryParseLex(ReadOnlySpan<byte> min, ReadOnlySpan<byte> max, out ZRange range)
    {
        range = default;
        if (!TryItem(min, out var lo, out int loInf, out bool loEx) || !TryItem(max, out var hi, out int hiInf, out bool hiEx)) return false;
        range = new ZRange(lo, loInf, loEx, hi, hiInf, hiEx);
        return true;

        static bool TryItem(ReadOnlySpan<byte> s, out byte[]? value, out int inf, out bool exclusive)
        {
            value = null; inf = 0; exclusive = true;
            if (s.Length == 0) return false;
            switch (s[0])
            {
                case (byte)'+': inf = 1; return s.Length == 1;
                case (byte)'-': inf = -1; return s.Length == 1;
                case (byte)'(': value = s[1..].ToArray(); return true;
                case (byte)'[': value = s[1..].ToArray(); exclusive = false; return true;
                default: return false;
            }
        }
    }

    /// <summary>C's strtod as zslParseRange uses it: leading spaces allowed, the empty string is 0, overflow is ±inf; the text ends at a NUL, as a C string does.</summary>
    public static bool Strtod(ReadOnlySpan<byte> s, out double value)
    {
        value = CStrtod.Parse(s, out int consumed, out _);
        // Without a number strtod's end pointer stays at the start (consumed 0): only "" or a NUL there passes.
        return consumed == s.Length || s[consumed] == 0;
    }

    public bool IsLex => _lex;

    /// <summary>zslIsInRange/zslIsInLexRange's first test: false when the range cannot hold anything.</summary>
    public bool IsNonEmpty()
    {
        if (!_lex) return !(_min > _max || (_min == _max && (_minEx || _maxEx)));
        int cmp = CompareBounds(_minLex, _minInf, _maxLex, _maxInf);
        return !(cmp > 0 || (cmp == 0 && (_minEx || _maxEx)));
    }

    public bool AboveMin(SkipList.Node n) => AboveMin(n.Score, n.Member!);

    public bool BelowMax(SkipList.Node n) => BelowMax(n.Score, n.Member!);

    public bool AboveMin(double score, byte[] member)
    {
        if (!_lex) return _minEx ? score > _min : score >= _min;
        int cmp = CompareBounds(member, 0, _minLex, _minInf);
        return _minEx ? cmp > 0 : cmp >= 0;
    }

    public bool BelowMax(double score, byte[] member)
    {
        if (!_lex) return _maxEx ? score < _max : score <= _max;
        int cmp = CompareBounds(member, 0, _maxLex, _maxInf);
        return _maxEx ? cmp < 0 : cmp <= 0;
    }

    public bool Contains(double score, byte[] member) => AboveMin(score, member) && BelowMax(score, member);

    /// <summary>sdscmplex: "-" below everything, "+" above everything.</summary>
    private static int CompareBounds(byte[]? a, int aInf, byte[]? b, int bInf)
    {
        if (aInf != 0 && aInf == bInf) return 0;
        if (aInf < 0 || bInf > 0) return -1;
        if (aInf > 0 || bInf < 0) return 1;
        return a.AsSpan().SequenceCompareTo(b);
    }
}
