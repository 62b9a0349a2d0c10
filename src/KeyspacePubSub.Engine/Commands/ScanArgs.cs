using KeyspacePubSub.Protocol;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>The cursor and MATCH/COUNT options of HSCAN and SSCAN (src/db.c scanGenericCommand).</summary>
internal static class ScanArgs
{
    /// <summary>As parseScanCursorOrReply: checked before the key is looked up.</summary>
    public static bool TryCursor(CommandContext x, int arg) => TryCursor(x, arg, out _);

    /// <inheritdoc cref="TryCursor(CommandContext, int)"/>
    public static bool TryCursor(CommandContext x, int arg, out ulong cursor)
    {
        if (TryParseCursor(x.Args[arg], out cursor)) return true;
        x.Reply.Error("ERR invalid cursor");
        return false;
    }

    /// <summary>
    /// C's strtoul in base 10 as parseScanCursorOrReply uses it: no leading space, an optional sign (a minus
    /// negates modulo 2^64, so -1 is the largest cursor), digits up to 2^64-1, nothing after them; the empty
    /// string is cursor 0, and the text ends at a NUL byte as a C string does.
    /// </summary>
    public static bool TryParseCursor(ReadOnlySpan<byte> text, out ulong cursor)
    {
        cursor = 0;
        text = CString.Of(text);
        if (text.IsEmpty) return true;
        if (CString.IsSpace(text[0])) return false;
        bool negative = text[0] == '-';
        if (text[0] is (byte)'-' or (byte)'+') text = text[1..];
        if (text.IsEmpty) return false; // no digits: strtoul leaves the end pointer at the sign
        ulong value = 0;
        foreach (byte b in text)
        {
            if (b is < (byte)'0' or > (byte)'9') return false;
            if (value > (ulong.MaxValue - (ulong)(b - '0')) / 10) return false; // ERANGE
            value = value * 10 + (ulong)(b - '0');
        }
        cursor = negative ? unchecked(0 - value) : value;
        return true;
    }

    /// <summary>MATCH and COUNT, parsed after the lookup (a missing key replies an empty scan first); MATCH * is no pattern.</summary>
    public static bool TryOptions(CommandContext x, int from, out byte[]? pattern)
    {
        pattern = null;
        for (int j = from; j < x.Args.Count; j++)
        {
            bool more = j + 1 < x.Args.Count;
            if (x.Args.Is(j, "MATCH") && more)
            {
                pattern = x.Args.ToArray(++j);
                if (PubSub.GlobPattern.MatchesEverything(pattern)) pattern = null;
            }
            else if (x.Args.Is(j, "COUNT") && more)
            {
                if (!x.Args.TryGetInt64(++j, out long count))
                {
                    x.Reply.Error(Errors.NotInteger);
                    return false;
                }
                if (count < 1)
                {
                    x.Reply.Error(Errors.Syntax);
                    return false;
                }
            }
            else
            {
                x.Reply.Error(Errors.Syntax);
                return false;
            }
        }
        return true;
    }
}
