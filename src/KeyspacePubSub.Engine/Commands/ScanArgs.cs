using KeyspacePubSub.Protocol;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>The cursor and MATCH/COUNT options of HSCAN and SSCAN (src/db.c scanGenericCommand).</summary>
internal static class ScanArgs
{
    /// <summary>As parseScanCursorOrReply: checked before the key is looked up.</summary>
    public static bool TryCursor(CommandContext x, int arg)
    {
        if (ulong.TryParse(x.Args.GetString(arg), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _)) return true;
        x.Reply.Error("ERR invalid cursor");
        return false;
    }

    /// <summary>MATCH and COUNT, parsed after the lookup (a missing key replies an empty scan first).</summary>
    public static bool TryOptions(CommandContext x, int from, out byte[]? pattern)
    {
        pattern = null;
        for (int j = from; j < x.Args.Count; j++)
        {
            bool more = j + 1 < x.Args.Count;
            if (x.Args.Is(j, "MATCH") && more) pattern = x.Args.ToArray(++j);
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
