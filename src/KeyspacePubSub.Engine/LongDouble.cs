using System.Numerics;
using System.Text;
using KeyspacePubSub.Protocol;

namespace KeyspacePubSub.Engine;

/// <summary>
/// The x87 80-bit long double INCRBYFLOAT and HINCRBYFLOAT compute in (Redis on x86-64): a 64-bit mantissa,
/// exponents down to 2^-16445 (subnormal) and up to ~1.19e4932. Parsing (strtold), addition and printing
/// ("%.17Lf", as ld2string's human mode, trailing zeros removed) are exact and round to nearest, ties to even,
/// as the FPU and glibc do, so the digits are Redis's: 487636.3 prints as 487636.30000000000001137, because
/// that is the long double nearest to it. Not on a hot path: BigInteger arithmetic keeps it exact and simple.
/// </summary>
public readonly struct LongDouble
{
    private const int MinExponent = -16445; // of the mantissa's last bit: 2^-16445 is the smallest subnormal
    private const int MaxExponent = 16383 - 63; // the largest finite value is (2^64 - 1) * 2^16320
    private static readonly BigInteger Two64 = BigInteger.One << 64, Two63 = BigInteger.One << 63;

    private readonly BigInteger _mantissa; // < 2^64; 0 for zero, infinity and NaN
    private readonly int _exponent;
    private readonly bool _negative;
    private readonly byte _kind; // 0 finite, 1 infinity, 2 NaN

    private LongDouble(bool negative, BigInteger mantissa, int exponent, byte kind)
    {
        _negative = negative;
        _mantissa = mantissa;
        _exponent = exponent;
        _kind = kind;
    }

    public bool IsFinite => _kind == 0;

    private bool IsZero => _kind == 0 && _mantissa.IsZero;

    /// <summary>
    /// As Redis's string2ld: 1 to 5119 bytes, no leading space, all of it a number to strtold (decimal,
    /// hexadecimal, inf/infinity), not NaN, and no ERANGE to infinity or to zero.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> s, out LongDouble value)
    {
        value = default;
        if (s.Length == 0 || s.Length >= 5120 || CString.IsSpace(s[0])) return false;
        CStrtod.Parse(s, out int consumed, out _);
        if (consumed != s.Length) return false;
        bool negative = s[0] == '-';
        var body = s[0] is (byte)'+' or (byte)'-' ? s[1..] : s;
        if ((body[0] | 0x20) == 'n') return false; // nan
        if ((body[0] | 0x20) == 'i')
        {
            value = new LongDouble(negative, BigInteger.Zero, 0, 1);
            return true;
        }
        bool hex = body.Length >= 2 && body[0] == '0' && (body[1] | 0x20) == 'x';
        value = ParseDigits(negative, hex ? body[2..] : body, hex, out bool range);
        return !range;
    }

    /// <summary>a + b, rounded once as the FPU rounds it.</summary>
    public static LongDouble Add(LongDouble a, LongDouble b)
    {
        if (a._kind == 2 || b._kind == 2) return new LongDouble(false, BigInteger.Zero, 0, 2);
        if (a._kind == 1 && b._kind == 1) return a._negative == b._negative ? a : new LongDouble(false, BigInteger.Zero, 0, 2);
        if (a._kind == 1) return a;
        if (b._kind == 1) return b;
        if (a.IsZero) return b.IsZero ? new LongDouble(a._negative && b._negative, BigInteger.Zero, 0, 0) : b;
        if (b.IsZero) return a;
        int e = Math.Min(a._exponent, b._exponent);
        var sum = Signed(a) * BigInteger.Pow(2, a._exponent - e) + Signed(b) * BigInteger.Pow(2, b._exponent - e);
        if (sum.IsZero) return new LongDouble(false, BigInteger.Zero, 0, 0); // x + -x is +0 when rounding to nearest
        return Round(sum.Sign < 0, BigInteger.Abs(sum), BigInteger.One, e, out _);

        static BigInteger Signed(LongDouble x) => x._negative ? -x._mantissa : x._mantissa;
    }

    /// <summary>
    /// (long long)ceill(value * 1000.0), as getTimeoutFromObjectOrReply turns seconds into milliseconds: the
    /// product rounded once to a long double, rounded up to an integer, and converted as x86 converts, where
    /// NaN and anything out of range become LLONG_MIN.
    /// </summary>
    public long ThousandthsCeiling()
    {
        if (_kind != 0) return long.MinValue;
        if (IsZero) return 0;
        var product = Round(_negative, _mantissa * 1000, BigInteger.One, _exponent, out _);
        if (product._kind != 0) return long.MinValue;
        BigInteger whole;
        if (product._exponent >= 0)
        {
            whole = product._mantissa << product._exponent;
        }
        else
        {
            whole = product._mantissa >> -product._exponent;
            bool fraction = whole << -product._exponent != product._mantissa;
            if (fraction && !product._negative) whole += 1; // towards +infinity; a negative's magnitude truncates
        }
        if (product._negative) whole = -whole;
        return whole >= long.MinValue && whole <= long.MaxValue ? (long)whole : long.MinValue;
    }

    /// <summary>As ld2string(LD_STR_HUMAN): "%.17Lf", then trailing zeros and a trailing point removed; "-0" is "0".</summary>
    public string ToHumanString()
    {
        if (_kind == 1) return _negative ? "-inf" : "inf";
        if (_kind == 2) return "nan";
        return CFixed.Human(CFixed.Format(_negative, _mantissa, _exponent, 17));
    }

    /// <summary>Decimal digits with an optional fraction and "e" exponent, or (after "0x") hex digits and a "p" binary exponent.</summary>
    private static LongDouble ParseDigits(bool negative, ReadOnlySpan<byte> s, bool hex, out bool range)
    {
        var digits = BigInteger.Zero;
        long exponent = 0;
        int i = 0;
        bool fraction = false;
        for (; i < s.Length; i++)
        {
            if (s[i] == '.')
            {
                fraction = true;
                continue;
            }
            int d = CStrtod.DigitValue(s[i], hex ? 16 : 10);
            if (d < 0) break;
            digits = digits * (hex ? 16 : 10) + d;
            if (fraction) exponent -= hex ? 4 : 1;
        }
        if (i < s.Length) exponent += ParseExponent(s[(i + 1)..]); // 'e' or 'p' and its digits (strtod took them)
        return FromScaled(negative, digits, exponent, ten: !hex, out range);
    }

    /// <summary>A signed exponent's digits, saturated far beyond any long double's range.</summary>
    private static long ParseExponent(ReadOnlySpan<byte> s)
    {
        bool negative = s.Length > 0 && s[0] == '-';
        if (s.Length > 0 && s[0] is (byte)'+' or (byte)'-') s = s[1..];
        long e = 0;
        foreach (byte b in s) e = Math.Min(1_000_000, e * 10 + (b - '0'));
        return negative ? -e : e;
    }

    /// <summary>digits × 10^exponent (or × 2^exponent), rounded to a long double.</summary>
    private static LongDouble FromScaled(bool negative, BigInteger digits, long exponent, bool ten, out bool range)
    {
        range = false;
        if (digits.IsZero) return new LongDouble(negative, BigInteger.Zero, 0, 0);
        long magnitude = (long)digits.GetBitLength() + (ten ? (long)(exponent * 3.321928094887362) : exponent);
        if (magnitude > 16400) return Overflow(negative, out range);
        if (magnitude < -16600)
        {
            range = true;
            return new LongDouble(negative, BigInteger.Zero, 0, 0);
        }
        if (!ten) return Round(negative, digits, BigInteger.One, (int)exponent, out range);
        return exponent >= 0
            ? Round(negative, digits * BigInteger.Pow(10, (int)exponent), BigInteger.One, 0, out range)
            : Round(negative, digits, BigInteger.Pow(10, (int)-exponent), 0, out range);
    }

    private static LongDouble Overflow(bool negative, out bool range)
    {
        range = true;
        return new LongDouble(negative, BigInteger.Zero, 0, 1);
    }

    /// <summary>num / den × 2^binary (num, den > 0) to the nearest long double, ties to even; ERANGE on overflow or underflow to 0.</summary>
    private static LongDouble Round(bool negative, BigInteger num, BigInteger den, int binary, out bool range)
    {
        range = false;
        // q = num / den × 2^(binary - e) with 2^63 <= q < 2^64 (or e at its minimum: a subnormal q).
        long e = (long)num.GetBitLength() - (long)den.GetBitLength() + binary - 64;
        BigInteger q, rest, divisor;
        while (true)
        {
            if (e < MinExponent) e = MinExponent;
            long shift = binary - e;
            BigInteger n = shift >= 0 ? num << (int)shift : num, d = shift >= 0 ? den : den << (int)-shift;
            q = BigInteger.DivRem(n, d, out rest);
            divisor = d;
            if (q >= Two64) e++;
            else if (q < Two63 && e > MinExponent) e--;
            else break;
        }
        var twice = rest * 2;
        if (twice > divisor || (twice == divisor && !q.IsEven)) q += 1;
        if (q == Two64)
        {
            q = Two63;
            e++;
        }
        if (e > MaxExponent) return Overflow(negative, out range);
        if (q.IsZero) range = true; // underflow to zero
        return new LongDouble(negative, q, (int)e, 0);
    }
}
