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
    public static bool TryOptions(CommandContext x, int from, out byte[]? pattern, out long count)
    {
        pattern = null;
        count = 10;
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
                if (!x.Args.TryGetInt64(++j, out count))
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

    /// <summary>
    /// The reply of HSCAN, SSCAN and ZSCAN on an existing value. A value in a compact encoding (listpack,
    /// intset) is answered whole with cursor 0, as Redis does. A hash-table-encoded one is paged as Redis's
    /// dictScan pages it: about COUNT entries a call, MATCH filtering after they are taken (so a page may be
    /// short or empty), cursor 0 when done. Pages go through the value's dense slots from the top down, and
    /// cursor c asks for the slots below c: removal only ever moves an entry down (into the freed slot, or by
    /// one while a small value keeps its order) and additions go on top, so every entry present for the whole
    /// scan is returned at least once, Redis's guarantee.
    /// </summary>
    public static void ReplyPage<T>(CommandContext x, ulong cursor, long pageSize, byte[]? pattern, bool paged,
        IReadOnlyList<T> whole, int total, Func<int, T> slot, Func<T, byte[]> name, int replyItems, Action<T> write)
    {
        ulong next = 0;
        var items = new List<T>();
        if (!paged)
        {
            items.AddRange(whole);
        }
        else
        {
            long top = cursor == 0 || cursor > (ulong)total ? total : (long)cursor;
            long bottom = Math.Max(0, top - pageSize);
            for (long i = top - 1; i >= bottom; i--) items.Add(slot((int)i));
            next = (ulong)bottom;
        }
        if (pattern != null) items.RemoveAll(item => !PubSub.GlobPattern.IsMatch(pattern, name(item)));
        x.Reply.Array(2);
        x.Reply.Bulk((long)next); // a slot number: within int range
        x.Reply.Array(items.Count * replyItems);
        foreach (var item in items) write(item);
    }
}
