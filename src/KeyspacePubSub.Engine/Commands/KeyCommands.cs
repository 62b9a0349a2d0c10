using KeyspacePubSub.Engine.Config;
using KeyspacePubSub.Engine.Keyspace;
using KeyspacePubSub.Engine.PubSub;
using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>Generic key commands (src/db.c, src/expire.c): DEL, EXISTS, TYPE, KEYS, the EXPIRE and TTL families, PERSIST.</summary>
internal static class KeyCommands
{
    [Flags]
    private enum ExpireFlags { None = 0, NX = 1, XX = 2, GT = 4, LT = 8 }

    public static void Register(CommandTable t)
    {
        t.Add(new() { Name = "del", Arity = -2, Flags = Write, Handler = Del, FirstKey = 1, LastKey = -1, Step = 1, Group = "generic", Summary = "Deletes one or more keys." });
        t.Add(new() { Name = "unlink", Arity = -2, Flags = Write | Fast, Handler = Del, FirstKey = 1, LastKey = -1, Step = 1, Group = "generic", Since = "4.0.0", Summary = "Asynchronously deletes one or more keys." });
        t.Add(new() { Name = "exists", Arity = -2, Flags = ReadOnly | Fast, Handler = Exists, FirstKey = 1, LastKey = -1, Step = 1, Group = "generic", Summary = "Determines whether one or more keys exist." });
        t.Add(new() { Name = "type", Arity = 2, Flags = ReadOnly | Fast, Handler = Type, FirstKey = 1, LastKey = 1, Step = 1, Group = "generic", Summary = "Determines the type of value stored at a key." });
        t.Add(new() { Name = "keys", Arity = 2, Flags = ReadOnly, ExtraAcl = AclCategory.Dangerous, Handler = Keys, Group = "generic", Summary = "Returns all key names that match a pattern." });
        t.Add(new() { Name = "expire", Arity = -3, Flags = Write | Fast, Handler = static x => Expire(x, 1000, relative: true), FirstKey = 1, LastKey = 1, Step = 1, Group = "generic", Summary = "Sets the expiration time of a key in seconds." });
        t.Add(new() { Name = "pexpire", Arity = -3, Flags = Write | Fast, Handler = static x => Expire(x, 1, relative: true), FirstKey = 1, LastKey = 1, Step = 1, Group = "generic", Since = "2.6.0", Summary = "Sets the expiration time of a key in milliseconds." });
        t.Add(new() { Name = "expireat", Arity = -3, Flags = Write | Fast, Handler = static x => Expire(x, 1000, relative: false), FirstKey = 1, LastKey = 1, Step = 1, Group = "generic", Since = "1.2.0", Summary = "Sets the expiration time of a key to a Unix timestamp." });
        t.Add(new() { Name = "pexpireat", Arity = -3, Flags = Write | Fast, Handler = static x => Expire(x, 1, relative: false), FirstKey = 1, LastKey = 1, Step = 1, Group = "generic", Since = "2.6.0", Summary = "Sets the expiration time of a key to a Unix milliseconds timestamp." });
        t.Add(new() { Name = "ttl", Arity = 2, Flags = ReadOnly | Fast, Handler = static x => Ttl(x, ms: false, absolute: false), FirstKey = 1, LastKey = 1, Step = 1, Group = "generic", Summary = "Returns the expiration time in seconds of a key." });
        t.Add(new() { Name = "pttl", Arity = 2, Flags = ReadOnly | Fast, Handler = static x => Ttl(x, ms: true, absolute: false), FirstKey = 1, LastKey = 1, Step = 1, Group = "generic", Since = "2.6.0", Summary = "Returns the expiration time in milliseconds of a key." });
        t.Add(new() { Name = "expiretime", Arity = 2, Flags = ReadOnly | Fast, Handler = static x => Ttl(x, ms: false, absolute: true), FirstKey = 1, LastKey = 1, Step = 1, Group = "generic", Since = "7.0.0", Summary = "Returns the expiration time of a key as a Unix timestamp." });
        t.Add(new() { Name = "pexpiretime", Arity = 2, Flags = ReadOnly | Fast, Handler = static x => Ttl(x, ms: true, absolute: true), FirstKey = 1, LastKey = 1, Step = 1, Group = "generic", Since = "7.0.0", Summary = "Returns the expiration time of a key as a Unix milliseconds timestamp." });
        t.Add(new() { Name = "persist", Arity = 2, Flags = Write | Fast, Handler = Persist, FirstKey = 1, LastKey = 1, Step = 1, Group = "generic", Since = "2.2.0", Summary = "Removes the expiration time of a key." });
    }

    private static Database Db(CommandContext x) => x.Engine.Databases[x.Client.Db];

    private static void Del(CommandContext x)
    {
        var db = Db(x);
        int deleted = 0;
        for (int i = 1; i < x.Args.Count; i++)
        {
            x.Engine.ExpireIfNeeded(db, x.Args[i]);
            var stored = db.KeyOf(x.Args[i]);
            if (stored is null) continue;
            db.Remove(stored);
            x.Engine.Notify(NotifyFlags.Generic, "del", stored, db.Index);
            deleted++;
        }
        x.Reply.Integer(deleted);
    }

    /// <summary>EXISTS (LOOKUP_NOTOUCH: access stamps stay).</summary>
    private static void Exists(CommandContext x) => CountExisting(x, touch: false);

    /// <summary>TOUCH: EXISTS's reply, renewing each key's access stamp (even under CLIENT NO-TOUCH).</summary>
    internal static void Touch(CommandContext x) => CountExisting(x, touch: true);

    private static void CountExisting(CommandContext x, bool touch)
    {
        var db = Db(x);
        int count = 0;
        for (int i = 1; i < x.Args.Count; i++)
        {
            var value = touch ? x.Engine.LookupReadTouching(db, x.Args[i]) : x.Engine.LookupRead(db, x.Args[i], growable: false, touch: false);
            if (value != null) count++;
        }
        x.Reply.Integer(count);
    }

    /// <summary>Redis's type name for a stored value.</summary>
    public static string TypeName(object? value) => value switch
    {
        null => "none",
        byte[] => "string",
        ListValue => "list",
        HashValue => "hash",
        SetValue => "set",
        SortedSetValue => "zset",
        Streams.StreamValue => "stream",
        _ => "none",
    };

    private static void Type(CommandContext x) => x.Reply.SimpleString(TypeName(x.Engine.LookupRead(Db(x), x.Args[1], growable: false, touch: false)));

    private static void Keys(CommandContext x)
    {
        var db = Db(x);
        var pattern = x.Args.ToArray(1);
        bool all = GlobPattern.MatchesEverything(pattern);
        long now = x.Engine.ExpiryClockMs;
        var keys = db.LiveKeys(now).Where(k => all || GlobPattern.IsMatch(pattern, k)).ToList();
        x.Reply.Array(keys.Count);
        foreach (var k in keys) x.Reply.Bulk(k);
    }

    /// <summary>As expireGenericCommand: options first, then the time; a time already past deletes ("del").</summary>
    private static void Expire(CommandContext x, long unitMs, bool relative)
    {
        var flags = ExpireFlags.None;
        for (int j = 3; j < x.Args.Count; j++)
        {
            if (x.Args.Is(j, "NX")) flags |= ExpireFlags.NX;
            else if (x.Args.Is(j, "XX")) flags |= ExpireFlags.XX;
            else if (x.Args.Is(j, "GT")) flags |= ExpireFlags.GT;
            else if (x.Args.Is(j, "LT")) flags |= ExpireFlags.LT;
            else
            {
                // addReplyErrorFormat trims CR and LF off the message's ends before it maps the others to spaces.
                x.Reply.Error($"ERR Unsupported option {Errors.CText(x.Args[j]).TrimEnd('\r', '\n')}");
                return;
            }
        }
        if ((flags & ExpireFlags.NX) != 0 && (flags & (ExpireFlags.XX | ExpireFlags.GT | ExpireFlags.LT)) != 0)
        {
            x.Reply.Error("ERR NX and XX, GT or LT options at the same time are not compatible");
            return;
        }
        if ((flags & ExpireFlags.GT) != 0 && (flags & ExpireFlags.LT) != 0)
        {
            x.Reply.Error("ERR GT and LT options at the same time are not compatible");
            return;
        }
        if (!x.Args.TryGetInt64(2, out long when))
        {
            x.Reply.Error(Errors.NotInteger);
            return;
        }
        if (unitMs == 1000)
        {
            if (when > long.MaxValue / 1000 || when < long.MinValue / 1000)
            {
                x.Reply.Error(Errors.InvalidExpireTime(x.Command.FullName));
                return;
            }
            when *= 1000;
        }
        long now = x.Engine.NowMs;
        long basetime = relative ? now : 0;
        if (when > long.MaxValue - basetime)
        {
            x.Reply.Error(Errors.InvalidExpireTime(x.Command.FullName));
            return;
        }
        when += basetime;
        var db = Db(x);
        var e = x.Engine;
        if (e.LookupWrite(db, x.Args[1]) is null)
        {
            x.Reply.Integer(0);
            return;
        }
        long current = db.GetExpire(x.Args[1]);
        bool refused = ((flags & ExpireFlags.NX) != 0 && current != -1)
            || ((flags & ExpireFlags.XX) != 0 && current == -1)
            || ((flags & ExpireFlags.GT) != 0 && (when <= current || current == -1))
            || ((flags & ExpireFlags.LT) != 0 && current != -1 && when >= current);
        if (refused)
        {
            x.Reply.Integer(0);
            return;
        }
        var stored = db.KeyOf(x.Args[1])!;
        if (when <= now)
        {
            db.Remove(stored);
            e.Notify(NotifyFlags.Generic, "del", stored, db.Index);
        }
        else
        {
            e.SetExpire(db, stored, when);
            e.Notify(NotifyFlags.Generic, "expire", stored, db.Index);
        }
        x.Reply.Integer(1);
    }

    private static void Ttl(CommandContext x, bool ms, bool absolute)
    {
        var db = Db(x);
        // As ttlGenericCommand: lookupKeyReadWithFlags(LOOKUP_NOTOUCH), so a hit or a miss (and its "keymiss" event).
        if (x.Engine.LookupRead(db, x.Args[1], growable: false, touch: false) is null)
        {
            x.Reply.Integer(-2);
            return;
        }
        long expire = db.GetExpire(x.Args[1]);
        if (expire == -1)
        {
            x.Reply.Integer(-1);
            return;
        }
        long ttl = Math.Max(0, absolute ? expire : expire - x.Engine.NowMs);
        // (ttl+500)/1000 in Redis's build runs unsigned (the compiler knows ttl >= 0): EXPIRETIME of a deadline
        // near LLONG_MAX ms is 9223372036854776, not a wrapped negative number.
        x.Reply.Integer(ms ? ttl : (long)(((ulong)ttl + 500) / 1000));
    }

    private static void Persist(CommandContext x)
    {
        var db = Db(x);
        if (x.Engine.LookupWrite(db, x.Args[1]) != null && db.RemoveExpire(x.Args[1]))
        {
            x.Engine.Notify(NotifyFlags.Generic, "persist", db.KeyOf(x.Args[1])!, db.Index);
            x.Reply.Integer(1);
            return;
        }
        x.Reply.Integer(0);
    }
}
