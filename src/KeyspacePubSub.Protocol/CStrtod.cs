using System.Globalization;
using System.Text;

namespace KeyspacePubSub.Protocol;

/// <summary>
/// C's strtod (glibc), which Redis's number parsers are built on: leading white space, an optional sign, then
/// "inf" / "infinity", "nan" (with an optional "(chars)"), a hexadecimal number ("0x", hex digits, an optional
/// fraction and binary exponent "p"), or decimal digits with an optional fraction and exponent. It takes the
/// longest prefix that is a number and reports how much it took: the callers decide, as Redis does, whether
/// text may follow (zslParseRange stops at a NUL as C strings do; getDoubleFromObject and string2ld want the
/// whole argument). <c>Range</c> is C's ERANGE: the value overflowed to infinity, or underflowed.
/// </summary>
public static class CStrtod
{
    /// <summary>Parses the longest number at the start of <paramref name="s"/>; <paramref name="consumed"/> is 0 when there is none.</summary>
    public static double Parse(ReadOnlySpan<byte> s, out int consumed, out bool range)
    {
        consumed = 0;
        range = false;
        int i = 0;
        while (i < s.Length && CString.IsSpace(s[i])) i++;
        bool negative = false;
        if (i < s.Length && s[i] is (byte)'+' or (byte)'-')
        {
            negative = s[i] == '-';
            i++;
        }
        double sign = negative ? -1 : 1;
        var rest = s[i..];
        if (StartsWithIgnoreCase(rest, "inf"u8))
        {
            consumed = i + (StartsWithIgnoreCase(rest, "infinity"u8) ? 8 : 3);
            return sign * double.PositiveInfinity;
        }
        if (StartsWithIgnoreCase(rest, "nan"u8))
        {
            int end = 3;
            if (end < rest.Length && rest[end] == '(')
            {
                int close = end + 1;
                while (close < rest.Length && (char.IsAsciiLetterOrDigit((char)rest[close]) || rest[close] == '_')) close++;
                if (close < rest.Length && rest[close] == ')') end = close + 1;
            }
            consumed = i + end;
            return double.NaN;
        }
        if (rest.Length >= 2 && rest[0] == '0' && (rest[1] | 0x20) == 'x')
        {
            double hex = ParseHex(rest[2..], out int taken, out range);
            if (taken > 0)
            {
                consumed = i + 2 + taken;
                return sign * hex;
            }
            consumed = i + 1; // "0x" with no hex digit is the number 0, followed by "x"
            return sign * 0.0;
        }
        return sign * ParseDecimal(rest, i, out consumed, out range);
    }

    private static double ParseDecimal(ReadOnlySpan<byte> s, int offset, out int consumed, out bool range)
    {
        consumed = 0;
        range = false;
        int j = 0, digits = 0;
        bool nonZero = false;
        for (; j < s.Length && char.IsAsciiDigit((char)s[j]); j++, digits++) nonZero |= s[j] != '0';
        if (j < s.Length && s[j] == '.')
        {
            j++;
            for (; j < s.Length && char.IsAsciiDigit((char)s[j]); j++, digits++) nonZero |= s[j] != '0';
        }
        if (digits == 0) return 0; // not a number: nothing consumed
        if (j < s.Length && (s[j] | 0x20) == 'e')
        {
            int k = j + 1;
            if (k < s.Length && s[k] is (byte)'+' or (byte)'-') k++;
            int start = k;
            while (k < s.Length && char.IsAsciiDigit((char)s[k])) k++;
            if (k > start) j = k; // an "e" without digits is not part of the number
        }
        consumed = offset + j;
        string text = Encoding.ASCII.GetString(s[..j]);
        double value = double.Parse(text, NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture);
        range = double.IsInfinity(value) || (value == 0 && nonZero); // ERANGE as Redis tests it (a subnormal result passes)
        return value;
    }

    /// <summary>Hex digits, an optional '.' and hex fraction, an optional "p" binary exponent (after "0x").</summary>
    private static double ParseHex(ReadOnlySpan<byte> s, out int consumed, out bool range)
    {
        consumed = 0;
        range = false;
        int j = 0, digits = 0, exponent = 0;
        double value = 0;
        bool fraction = false;
        for (; j < s.Length; j++)
        {
            if (s[j] == '.' && !fraction)
            {
                fraction = true;
                continue;
            }
            int d = DigitValue(s[j], 16);
            if (d < 0) break;
            value = value * 16 + d;
            if (fraction) exponent -= 4;
            digits++;
        }
        if (digits == 0) return 0;
        if (j < s.Length && (s[j] | 0x20) == 'p')
        {
            int k = j + 1;
            bool negative = false;
            if (k < s.Length && s[k] is (byte)'+' or (byte)'-')
            {
                negative = s[k] == '-';
                k++;
            }
            int start = k, p = 0;
            for (; k < s.Length && char.IsAsciiDigit((char)s[k]); k++) p = Math.Min(100_000, p * 10 + (s[k] - '0'));
            if (k > start)
            {
                exponent += negative ? -p : p;
                j = k;
            }
        }
        consumed = j;
        bool nonZero = value != 0;
        value = Math.ScaleB(value, exponent);
        range = double.IsInfinity(value) || (value == 0 && nonZero);
        return value;
    }

    /// <summary>The value of a digit in base 10 or 16, or -1.</summary>
    public static int DigitValue(byte b, int radix)
    {
        int d = b switch
        {
            >= (byte)'0' and <= (byte)'9' => b - '0',
            >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
            >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
            _ => -1,
        };
        return d < radix ? d : -1;
    }

    private static bool StartsWithIgnoreCase(ReadOnlySpan<byte> s, ReadOnlySpan<byte> lower)
    {
        if (s.Length < lower.Length) return false;
        for (int k = 0; k < lower.Length; k++)
        {
            if ((s[k] | 0x20) != lower[k]) return false;
        }
        return true;
    }
}
