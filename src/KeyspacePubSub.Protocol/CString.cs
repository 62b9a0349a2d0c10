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
}
