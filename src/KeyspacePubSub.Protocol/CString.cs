namespace KeyspacePubSub.Protocol;

/// <summary>How Redis's C code sees an argument or a buffer: as a C string, and with C's isspace.</summary>
public static class CString
{
    /// <summary>The bytes up to the first NUL, where strchr, strtod, printf's %s and friends stop.</summary>
    public static ReadOnlySpan<byte> Of(ReadOnlySpan<byte> s)
    {
        int nul = s.IndexOf((byte)0);
        return nul < 0 ? s : s[..nul];
    }

    /// <summary>C's isspace in the C locale.</summary>
    public static bool IsSpace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or (byte)'\v' or (byte)'\f';

    /// <summary>
    /// C's atoi: leading white space, a sign, then digits up to the first other byte; 0 for none. Past int's
    /// range (undefined in C) it gives int's limit.
    /// </summary>
    public static int Atoi(ReadOnlySpan<byte> s)
    {
        int i = 0;
        while (i < s.Length && IsSpace(s[i])) i++;
        bool negative = false;
        if (i < s.Length && s[i] is (byte)'+' or (byte)'-') negative = s[i++] == '-';
        long value = 0;
        for (; i < s.Length && s[i] is >= (byte)'0' and <= (byte)'9'; i++)
        {
            value = value * 10 + (s[i] - '0');
            if (value > int.MaxValue) return negative ? int.MinValue : int.MaxValue;
        }
        return (int)(negative ? -value : value);
    }
}
