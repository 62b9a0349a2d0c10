using System.Buffers.Text;

namespace KeyspacePubSub.Protocol;

/// <summary>Number parsing with Redis's exact acceptance rules.</summary>
public static class Strict
{
    /// <summary>
    /// As Redis's string2ll: optional '-', no '+', no spaces, no leading zeros, fits in a signed 64-bit integer.
    /// </summary>
    public static bool TryParseInt64(ReadOnlySpan<byte> s, out long value)
    {
        value = 0;
        if (s.Length == 0 || s.Length > 20) return false;
        if (s.Length == 1 && s[0] == (byte)'0') return true;
        int i = 0;
        bool negative = false;
        if (s[0] == (byte)'-')
        {
            negative = true;
            i = 1;
            if (s.Length == 1) return false;
        }
        if (s[i] < (byte)'1' || s[i] > (byte)'9') return false;
        ulong v = 0;
        for (; i < s.Length; i++)
        {
            uint d = (uint)(s[i] - (byte)'0');
            if (d > 9) return false;
            if (v > (ulong.MaxValue - d) / 10) return false;
            v = v * 10 + d;
        }
        if (negative)
        {
            if (v > (ulong)long.MaxValue + 1) return false;
            value = (long)(0 - v);
        }
        else
        {
            if (v > long.MaxValue) return false;
            value = (long)v;
        }
        return true;
    }

    /// <summary>As Redis's getDoubleFromObject (scores): not empty, no leading space, the whole text a number to strtod, not NaN, no ERANGE overflow or underflow to 0.</summary>
    public static bool TryParseStrtod(ReadOnlySpan<byte> s, out double value)
    {
        value = 0;
        if (s.Length == 0 || CString.IsSpace(s[0])) return false;
        double v = CStrtod.Parse(s, out int consumed, out bool range);
        if (consumed != s.Length || double.IsNaN(v) || range) return false;
        value = v;
        return true;
    }

    public static int FormatInt64(long v, Span<byte> dest)
    {
        Utf8Formatter.TryFormat(v, dest, out int n);
        return n;
    }

    /// <summary>The decimal text of <paramref name="v"/>, as Redis's ll2string, in an array of its own.</summary>
    public static byte[] FormatInt64(long v)
    {
        Span<byte> digits = stackalloc byte[20];
        return digits[..FormatInt64(v, digits)].ToArray();
    }
}
