using System.Globalization;
using System.Text;

namespace KeyspacePubSub.Lua.Lib;

/// <summary>string.format: C's printf conversions as Lua 5.1 passes them on (%d %i %o %u %x %X %c %e %E %f %g %G %q %s).</summary>
internal static class StringFormat
{
    private const string Flags = "-+ #0";

    public static string Format(LuaState L, object?[] a)
    {
        string fmt = Args.String(L, a, 0, "format");
        var b = new StringBuilder();
        int arg = 0;
        for (int i = 0; i < fmt.Length;)
        {
            char c = fmt[i++];
            if (c != '%')
            {
                b.Append(c);
                continue;
            }
            if (i < fmt.Length && fmt[i] == '%')
            {
                b.Append('%');
                i++;
                continue;
            }
            if (++arg >= a.Length) throw Args.Bad(L, arg, "format", "no value");
            int start = i;
            while (i < fmt.Length && Flags.Contains(fmt[i])) i++;
            if (i - start >= Flags.Length + 1) throw L.Error("invalid format (repeated flags)");
            string flags = fmt[start..i];
            int width = -1, precision = -1;
            int w0 = i;
            if (i < fmt.Length && char.IsAsciiDigit(fmt[i])) i++;
            if (i < fmt.Length && char.IsAsciiDigit(fmt[i])) i++;
            if (i > w0) width = int.Parse(fmt.AsSpan(w0, i - w0), CultureInfo.InvariantCulture);
            if (i < fmt.Length && fmt[i] == '.')
            {
                i++;
                int p0 = i;
                if (i < fmt.Length && char.IsAsciiDigit(fmt[i])) i++;
                if (i < fmt.Length && char.IsAsciiDigit(fmt[i])) i++;
                precision = i > p0 ? int.Parse(fmt.AsSpan(p0, i - p0), CultureInfo.InvariantCulture) : 0;
            }
            if (i < fmt.Length && char.IsAsciiDigit(fmt[i])) throw L.Error("invalid format (width or precision too long)");
            char conv = i < fmt.Length ? fmt[i++] : '\0';
            string body;
            switch (conv)
            {
                case 'c':
                    body = ((char)(byte)Args.Int(L, a, arg, "format")).ToString();
                    b.Append(Pad(body, flags, width, false));
                    continue;
                case 'd':
                case 'i':
                    body = Integer((long)Trunc(Args.Number(L, a, arg, "format")), flags, precision);
                    b.Append(Pad(body, flags, width, precision < 0));
                    continue;
                case 'o':
                case 'u':
                case 'x':
                case 'X':
                    body = Unsigned(unchecked((ulong)(long)Trunc(Args.Number(L, a, arg, "format"))), conv, flags, precision);
                    b.Append(Pad(body, flags, width, precision < 0));
                    continue;
                case 'e':
                case 'E':
                case 'f':
                case 'g':
                case 'G':
                {
                    double d = Args.Number(L, a, arg, "format");
                    body = Float(d, conv, flags, precision < 0 ? 6 : precision);
                    b.Append(Pad(body, flags, width, double.IsFinite(d)));
                    continue;
                }
                case 'q':
                    Quoted(b, Args.String(L, a, arg, "format"));
                    continue;
                case 's':
                {
                    string s = LuaState.AsString(Args.At(a, arg)) ?? throw Args.TypeError(L, a, arg, "format", "string");
                    if (precision >= 0 && s.Length > precision) s = s[..precision];
                    b.Append(Pad(s, flags, width, false));
                    continue;
                }
                default:
                    throw L.Error($"invalid option '%{conv}' to 'format'");
            }
        }
        L.Charge(b.Length);
        return b.ToString();
    }

    private static double Trunc(double d) => double.IsNaN(d) ? 0 : Math.Clamp(Math.Truncate(d), long.MinValue, long.MaxValue);

    private static string Sign(bool negative, string flags) => negative ? "-" : flags.Contains('+') ? "+" : flags.Contains(' ') ? " " : "";

    private static string Integer(long v, string flags, int precision)
    {
        string digits = v == long.MinValue ? "9223372036854775808" : Math.Abs(v).ToString(CultureInfo.InvariantCulture);
        if (precision >= 0) digits = precision == 0 && v == 0 ? "" : digits.PadLeft(precision, '0');
        return Sign(v < 0, flags) + digits;
    }

    private static string Unsigned(ulong v, char conv, string flags, int precision)
    {
        string digits = conv switch
        {
            'o' => Convert.ToString(unchecked((long)v), 8),
            'x' => v.ToString("x", CultureInfo.InvariantCulture),
            'X' => v.ToString("X", CultureInfo.InvariantCulture),
            _ => v.ToString(CultureInfo.InvariantCulture),
        };
        if (precision >= 0) digits = precision == 0 && v == 0 ? "" : digits.PadLeft(precision, '0');
        if (flags.Contains('#') && v != 0)
        {
            if (conv == 'o' && !digits.StartsWith('0')) digits = "0" + digits;
            else if (conv == 'x') digits = "0x" + digits;
            else if (conv == 'X') digits = "0X" + digits;
        }
        return digits;
    }

    /// <summary>%e %f %g of a double, as glibc writes them.</summary>
    public static string Float(double d, char conv, string flags, int precision)
    {
        bool upper = char.IsUpper(conv);
        bool negative = double.IsNegative(d) && !double.IsNaN(d) || (double.IsNaN(d) && BitConverter.DoubleToInt64Bits(d) < 0);
        if (!double.IsFinite(d))
        {
            string t = double.IsNaN(d) ? "nan" : "inf";
            return Sign(negative, flags) + (upper ? t.ToUpperInvariant() : t);
        }
        double m = Math.Abs(d);
        bool alt = flags.Contains('#');
        string body;
        switch (char.ToLowerInvariant(conv))
        {
            case 'f':
                body = Fixed(m, precision, alt);
                break;
            case 'e':
                body = Exponent(m, precision, alt);
                break;
            default:
            {
                int p = precision == 0 ? 1 : precision;
                int x = m == 0 ? 0 : ExponentOf(m, p);
                if (x < -4 || x >= p)
                {
                    body = Exponent(m, p - 1, alt);
                    if (!alt) body = StripZeros(body);
                }
                else
                {
                    body = Fixed(m, p - 1 - x, alt);
                    if (!alt) body = StripZeros(body);
                }
                break;
            }
        }
        if (upper) body = body.ToUpperInvariant();
        return Sign(negative, flags) + body;
    }

    private static string Fixed(double m, int precision, bool alt)
    {
        string s = m.ToString("F" + precision.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        return alt && precision == 0 ? s + "." : s;
    }

    private static string Exponent(double m, int precision, bool alt)
    {
        string s = m.ToString((precision == 0 ? "0" : "0." + new string('0', precision)) + "e+00", CultureInfo.InvariantCulture);
        if (alt && precision == 0) s = s.Insert(1, ".");
        return s;
    }

    /// <summary>The decimal exponent of <paramref name="m"/> once rounded to <paramref name="p"/> significant digits.</summary>
    private static int ExponentOf(double m, int p)
    {
        string e = m.ToString("E" + (p - 1).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        return int.Parse(e.AsSpan(e.IndexOf('E') + 1), CultureInfo.InvariantCulture);
    }

    private static string StripZeros(string s)
    {
        int e = s.IndexOf('e');
        string mantissa = e >= 0 ? s[..e] : s, exp = e >= 0 ? s[e..] : "";
        if (mantissa.Contains('.')) mantissa = mantissa.TrimEnd('0').TrimEnd('.');
        return mantissa + exp;
    }

    private static string Pad(string body, string flags, int width, bool zeroAllowed)
    {
        if (width <= body.Length) return body;
        if (flags.Contains('-')) return body.PadRight(width);
        if (zeroAllowed && flags.Contains('0'))
        {
            int signLen = body.Length > 0 && body[0] is '-' or '+' or ' ' ? 1 : 0;
            if (body.StartsWith("0x", StringComparison.OrdinalIgnoreCase)) signLen = 2;
            return body[..signLen] + new string('0', width - body.Length) + body[signLen..];
        }
        return body.PadLeft(width);
    }

    private static void Quoted(StringBuilder b, string s)
    {
        b.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"':
                case '\\':
                case '\n':
                    b.Append('\\').Append(c);
                    break;
                case '\r':
                    b.Append("\\r");
                    break;
                case '\0':
                    b.Append("\\000");
                    break;
                default:
                    b.Append(c);
                    break;
            }
        }
        b.Append('"');
    }
}
