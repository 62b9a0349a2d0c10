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
                {
                    // sprintf("%c", (int)number): C's direct cast (out of int's range: INT_MIN, a NUL byte).
                    double d = Args.Number(L, a, arg, "format");
                    int code = d > -2147483649.0 && d < 2147483648.0 ? (int)d : int.MinValue;
                    body = ((char)(byte)code).ToString();
                    b.Append(CString(Pad(body, flags, width, false)));
                    continue;
                }
                case 'd':
                case 'i':
                    body = Integer(Args.ToInteger(Args.Number(L, a, arg, "format")), flags, precision);
                    b.Append(Pad(body, flags, width, precision < 0));
                    continue;
                case 'o':
                case 'u':
                case 'x':
                case 'X':
                    body = Unsigned(UnsignedCast(Args.Number(L, a, arg, "format")), conv, flags, precision);
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
                    // As str_format: a string of 100 bytes or more without a precision is added whole; any other goes
                    // through sprintf, which stops at a NUL.
                    if (precision < 0 && s.Length >= 100)
                    {
                        b.Append(s);
                        continue;
                    }
                    s = CString(s);
                    if (precision >= 0 && s.Length > precision) s = s[..precision];
                    b.Append(Pad(s, flags, width, false));
                    continue;
                }
                default:
                    // luaO_pushfstring's %c: a NUL ends the text (a '%' at the end of the format shows alone).
                    throw L.Error(conv == '\0' ? "invalid option '%' to 'format'" : $"invalid option '%{conv}' to 'format'");
            }
        }
        L.Charge(b.Length);
        return b.ToString();
    }

    /// <summary>
    /// C's (unsigned long long) cast of a double as GCC does it on x86-64: below 2^63 (or NaN) through the signed
    /// conversion (NaN and values below -2^63 give 2^63), from 2^63 on by subtracting 2^63 first (2^64 and more give 0).
    /// </summary>
    private static ulong UnsignedCast(double d)
    {
        const double TwoTo63 = 9.2233720368547758e18;
        if (!(d >= TwoTo63)) return unchecked((ulong)Args.ToInteger(d));
        return unchecked((ulong)Args.ToInteger(d - TwoTo63)) ^ 0x8000_0000_0000_0000UL;
    }

    /// <summary>A formatted item as luaL_addlstring(buff, strlen(buff)) adds it: up to its first NUL.</summary>
    private static string CString(string s)
    {
        int nul = s.IndexOf('\0');
        return nul < 0 ? s : s[..nul];
    }

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
        string body = char.ToLowerInvariant(conv) switch
        {
            'f' => CDouble.F(m, precision, alt),
            'e' => CDouble.E(m, precision, alt),
            _ => CDouble.G(m, precision, alt),
        };
        if (upper) body = body.ToUpperInvariant();
        return Sign(negative, flags) + body;
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
