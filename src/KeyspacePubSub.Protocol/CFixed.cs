using System.Globalization;
using System.Numerics;

namespace KeyspacePubSub.Protocol;

/// <summary>
/// C's <c>printf("%.Nf")</c> of a double as glibc writes it: the exact binary value rounded to N decimals, ties
/// to even, every integer digit written out (1e300 has 301), "-" kept on a negative value that rounds to zero,
/// "inf"/"-inf"/"nan". Redis uses it for geo distances ("%.4f"), coordinates (ld2string's "%.17Lf" of a double,
/// exact in a long double) and the invalid-coordinate error ("%f"). Not on a hot path.
/// </summary>
public static class CFixed
{
    public static string Format(double value, int decimals)
    {
        if (double.IsNaN(value)) return double.IsNegative(value) ? "-nan" : "nan";
        if (double.IsInfinity(value)) return value < 0 ? "-inf" : "inf";
        long bits = BitConverter.DoubleToInt64Bits(value);
        int biased = (int)((bits >> 52) & 0x7FF);
        long fraction = bits & 0xFFFFFFFFFFFFFL;
        BigInteger mantissa = biased == 0 ? fraction : fraction | 1L << 52;
        return Format(bits < 0, mantissa, (biased == 0 ? 1 : biased) - 1075, decimals);
    }

    /// <summary>"%.Nf" of ±mantissa × 2^exponent (a double's or a long double's exact value).</summary>
    public static string Format(bool negative, BigInteger mantissa, int exponent, int decimals)
    {
        BigInteger scaled = mantissa * BigInteger.Pow(10, decimals); // value × 10^decimals, then rounded
        if (exponent >= 0)
        {
            scaled <<= exponent;
        }
        else
        {
            var whole = scaled >> -exponent;
            var rest = scaled - (whole << -exponent);
            var half = BigInteger.One << (-exponent - 1);
            if (rest > half || (rest == half && !whole.IsEven)) whole += 1;
            scaled = whole;
        }
        string digits = scaled.ToString(CultureInfo.InvariantCulture).PadLeft(decimals + 1, '0');
        string sign = negative ? "-" : "";
        if (decimals == 0) return sign + digits;
        return sign + digits[..^decimals] + "." + digits[^decimals..];
    }

    /// <summary>ld2string(LD_STR_HUMAN) of a double: "%.17Lf" with trailing zeros and a trailing point removed; "-0" is "0".</summary>
    public static string Human(double value) => Human(Format(value, 17));

    /// <summary>ld2string's human mode on "%.17Lf" text: trailing zeros and a trailing point removed; "-0" is "0".</summary>
    public static string Human(string text)
    {
        if (text.Contains('.')) text = text.TrimEnd('0').TrimEnd('.');
        return text == "-0" ? "0" : text;
    }
}
