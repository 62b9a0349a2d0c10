using System.Globalization;
using KeyspacePubSub.Protocol;

namespace KeyspacePubSub.Lua;

/// <summary>Lua 5.1's numbers: doubles, written with "%.14g", read with strtod (and strtoul for hex).</summary>
public static class LuaNumber
{
    /// <summary>LUAI_NUMFFORMAT: C's %.14g (glibc writes NaN as "nan" or "-nan", by its sign bit).</summary>
    public static string Format(double d)
    {
        if (double.IsNaN(d)) return BitConverter.DoubleToInt64Bits(d) < 0 ? "-nan" : "nan";
        if (double.IsInfinity(d)) return d > 0 ? "inf" : "-inf";
        if (d == Math.Floor(d) && Math.Abs(d) < 1e14) return d == 0 && double.IsNegative(d) ? "-0" : ((long)d).ToString(CultureInfo.InvariantCulture);
        // The shortest text that reads back as d: when it has at most 14 digits, %.14g writes the same number.
        string shortest = d.ToString("R", CultureInfo.InvariantCulture);
        if (SignificantDigits(shortest) <= 14) return d.ToString("G14", CultureInfo.InvariantCulture).Replace('E', 'e');
        return (d < 0 ? "-" : "") + CDouble.G(Math.Abs(d), 14, false);
    }

    /// <summary>
    /// C's (long long) / (ptrdiff_t) cast of a double as x86-64 does it (lua_tointeger, and Redis's reply of a Lua
    /// number): NaN and values out of range become the minimum.
    /// </summary>
    /// <summary>C's (int) of a double on x86-64 (cvttsd2si): out of range and NaN give int.MinValue.</summary>
    public static int ToInt32(double d) => double.IsNaN(d) || d >= 2147483648.0 || d <= -2147483649.0 ? int.MinValue : (int)d;

    public static long ToInteger(double d) => double.IsNaN(d) || d >= 9.2233720368547758e18 || d < -9.2233720368547758e18 ? long.MinValue : (long)d;

    /// <summary>A NaN without its sign bit (strtod's "nan"; .NET's double.NaN has the bit set, as x86's 0/0).</summary>
    public static readonly double PositiveNaN = BitConverter.Int64BitsToDouble(0x7FF8_0000_0000_0000);

    private static int SignificantDigits(string r)
    {
        int n = 0;
        bool leading = true;
        foreach (char c in r)
        {
            if (c is 'E' or 'e') break;
            if (c is < '0' or > '9') continue;
            if (leading && c == '0') continue;
            leading = false;
            n++;
        }
        return n;
    }

    /// <summary>luaO_str2d: the whole string (up to a NUL, with white space around) as a number, or null.</summary>
    public static double? Parse(string s)
    {
        int nul = s.IndexOf('\0');
        if (nul >= 0) s = s[..nul];
        Span<byte> bytes = s.Length <= 256 ? stackalloc byte[s.Length] : new byte[s.Length];
        for (int i = 0; i < s.Length; i++) bytes[i] = (byte)s[i];
        double value = CStrtod.Parse(bytes, out int consumed, out _);
        if (consumed == 0) return null;
        if (double.IsNaN(value)) value = s.TrimStart().StartsWith('-') ? -PositiveNaN : PositiveNaN; // strtod keeps the text's sign
        if (consumed < bytes.Length && (bytes[consumed] | 0x20) == 'x')
        {
            // strtoul(s, 16): glibc's strtod already read "0x..." as hexadecimal; this is its leftover case ("0x" alone).
            return null;
        }
        while (consumed < bytes.Length && CString.IsSpace(bytes[consumed])) consumed++;
        return consumed == bytes.Length ? value : null;
    }
}
