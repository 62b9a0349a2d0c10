using System.Globalization;
using System.Numerics;
using System.Text;

namespace KeyspacePubSub.Lua;

/// <summary>
/// C's %e, %f and %g of a double as glibc writes them: from the number's exact decimal value, rounded to the
/// digits asked with ties to even (.NET rounds a tie away from zero, and its custom formats stop at 15 digits).
/// </summary>
public static class CDouble
{
    /// <summary>The exact decimal digits of a finite, positive double, and the exponent of the first one (d.ddd × 10^exp).</summary>
    private static (string Digits, int Exp) Exact(double m)
    {
        long bits = BitConverter.DoubleToInt64Bits(m);
        int biased = (int)((bits >> 52) & 0x7FF);
        long mantissa = bits & 0xF_FFFF_FFFF_FFFF;
        int e2;
        if (biased == 0) e2 = -1074;
        else
        {
            mantissa |= 1L << 52;
            e2 = biased - 1075;
        }
        string digits;
        int pointPos; // digits before the decimal point
        if (e2 >= 0)
        {
            digits = (new BigInteger(mantissa) << e2).ToString(CultureInfo.InvariantCulture);
            pointPos = digits.Length;
        }
        else
        {
            // mantissa / 2^k = mantissa * 5^k / 10^k
            digits = (new BigInteger(mantissa) * BigInteger.Pow(5, -e2)).ToString(CultureInfo.InvariantCulture);
            pointPos = digits.Length + e2;
        }
        int lead = 0;
        while (lead < digits.Length - 1 && digits[lead] == '0') lead++;
        digits = digits[lead..].TrimEnd('0');
        if (digits.Length == 0) digits = "0";
        return (digits, pointPos - lead - 1);
    }

    /// <summary>The digits rounded to <paramref name="count"/> significant ones (ties to even); a carry raises the exponent.</summary>
    private static (string Digits, int Exp) Round(string digits, int exp, int count)
    {
        if (count <= 0)
        {
            // Everything is below the last place kept: rounds to 0, or up to one unit of it.
            bool up = count == 0 && (digits[0] > '5' || (digits[0] == '5' && digits.Length > 1));
            return up ? ("1", exp + 1) : ("0", exp - count + 1);
        }
        if (digits.Length <= count) return (digits.PadRight(count, '0'), exp);
        char next = digits[count];
        bool roundUp = next > '5' || (next == '5' && (digits.Length > count + 1 || (digits[count - 1] - '0') % 2 == 1));
        var kept = digits[..count].ToCharArray();
        if (roundUp)
        {
            int i = count - 1;
            while (i >= 0 && kept[i] == '9') kept[i--] = '0';
            if (i < 0) return ("1" + new string(kept, 0, count - 1), exp + 1);
            kept[i]++;
        }
        return (new string(kept), exp);
    }

    /// <summary>%.{precision}e of a finite, non-negative value.</summary>
    public static string E(double m, int precision, bool alt)
    {
        var (d, e) = m == 0 ? ("0", 0) : Exact(m);
        (d, e) = Round(d, e, precision + 1);
        if (m == 0) e = 0;
        return Mantissa(d, 1, alt) + "e" + (e < 0 ? "-" : "+") + Math.Abs(e).ToString("00", CultureInfo.InvariantCulture);
    }

    /// <summary>%.{precision}f of a finite, non-negative value.</summary>
    public static string F(double m, int precision, bool alt)
    {
        if (m == 0) return Mantissa(new string('0', precision + 1), 1, alt);
        var (d, e) = Exact(m);
        var (r, re) = Round(d, e, e + 1 + precision);
        // r holds the digits from 10^re down to 10^-precision.
        if (re < 0)
        {
            r = new string('0', -re) + r;
            re = 0;
        }
        int integerDigits = re + 1;
        if (r.Length < integerDigits + precision) r = r.PadRight(integerDigits + precision, '0');
        return Mantissa(r, integerDigits, alt);
    }

    /// <summary>%.{precision}g of a finite, non-negative value (precision 0 is 1).</summary>
    public static string G(double m, int precision, bool alt)
    {
        int p = precision == 0 ? 1 : precision;
        int x = 0;
        if (m != 0)
        {
            var (d, e) = Exact(m);
            (_, x) = Round(d, e, p);
        }
        string s = x < -4 || x >= p ? E(m, p - 1, alt) : F(m, p - 1 - x, alt);
        return alt ? s : StripZeros(s);
    }

    private static string Mantissa(string digits, int integerDigits, bool alt)
    {
        var sb = new StringBuilder(digits.Length + 1);
        sb.Append(digits, 0, integerDigits);
        if (digits.Length > integerDigits || alt) sb.Append('.');
        sb.Append(digits, integerDigits, digits.Length - integerDigits);
        return sb.ToString();
    }

    private static string StripZeros(string s)
    {
        int e = s.IndexOf('e');
        string mantissa = e >= 0 ? s[..e] : s, exp = e >= 0 ? s[e..] : "";
        if (mantissa.Contains('.')) mantissa = mantissa.TrimEnd('0').TrimEnd('.');
        return mantissa + exp;
    }
}
