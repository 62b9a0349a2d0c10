namespace KeyspacePubSub.Engine.Config;

/// <summary>notify-keyspace-events classes, with Redis's bit values (src/server.h NOTIFY_*).</summary>
[Flags]
public enum NotifyFlags
{
    None = 0,
    Keyspace = 1 << 0,   // K
    Keyevent = 1 << 1,   // E
    Generic = 1 << 2,    // g
    String = 1 << 3,     // $
    List = 1 << 4,       // l
    Set = 1 << 5,        // s
    Hash = 1 << 6,       // h
    Zset = 1 << 7,       // z
    Expired = 1 << 8,    // x
    Evicted = 1 << 9,    // e
    Stream = 1 << 10,    // t
    KeyMiss = 1 << 11,   // m
    Module = 1 << 13,    // d
    New = 1 << 14,       // n
    All = Generic | String | List | Set | Hash | Zset | Expired | Evicted | Stream | Module, // A
}

public static class NotifyFlagsText
{
    /// <summary>As keyspaceEventsStringToFlags (src/notify.c); null for an invalid character.</summary>
    public static NotifyFlags? Parse(string text)
    {
        var flags = NotifyFlags.None;
        foreach (char c in text)
        {
            flags |= c switch
            {
                'A' => NotifyFlags.All,
                'g' => NotifyFlags.Generic,
                '$' => NotifyFlags.String,
                'l' => NotifyFlags.List,
                's' => NotifyFlags.Set,
                'h' => NotifyFlags.Hash,
                'z' => NotifyFlags.Zset,
                'x' => NotifyFlags.Expired,
                'e' => NotifyFlags.Evicted,
                'K' => NotifyFlags.Keyspace,
                'E' => NotifyFlags.Keyevent,
                't' => NotifyFlags.Stream,
                'm' => NotifyFlags.KeyMiss,
                'd' => NotifyFlags.Module,
                'n' => NotifyFlags.New,
                _ => (NotifyFlags?)null,
            } ?? (NotifyFlags)(-1);
            if (flags == (NotifyFlags)(-1)) return null;
        }
        return flags;
    }

    /// <summary>As keyspaceEventsFlagsToString: classes in the order g$lshzxetdn (or A), then K, E, m.</summary>
    public static string Render(NotifyFlags flags)
    {
        var sb = new System.Text.StringBuilder();
        if ((flags & NotifyFlags.All) == NotifyFlags.All)
        {
            sb.Append('A');
        }
        else
        {
            if (flags.HasFlag(NotifyFlags.Generic)) sb.Append('g');
            if (flags.HasFlag(NotifyFlags.String)) sb.Append('$');
            if (flags.HasFlag(NotifyFlags.List)) sb.Append('l');
            if (flags.HasFlag(NotifyFlags.Set)) sb.Append('s');
            if (flags.HasFlag(NotifyFlags.Hash)) sb.Append('h');
            if (flags.HasFlag(NotifyFlags.Zset)) sb.Append('z');
            if (flags.HasFlag(NotifyFlags.Expired)) sb.Append('x');
            if (flags.HasFlag(NotifyFlags.Evicted)) sb.Append('e');
            if (flags.HasFlag(NotifyFlags.Stream)) sb.Append('t');
            if (flags.HasFlag(NotifyFlags.Module)) sb.Append('d');
            if (flags.HasFlag(NotifyFlags.New)) sb.Append('n');
        }
        if (flags.HasFlag(NotifyFlags.Keyspace)) sb.Append('K');
        if (flags.HasFlag(NotifyFlags.Keyevent)) sb.Append('E');
        if (flags.HasFlag(NotifyFlags.KeyMiss)) sb.Append('m');
        return sb.ToString();
    }
}
