using KeyspacePubSub.Engine.Config;
using KeyspacePubSub.Engine.Keyspace;
using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>String commands (src/t_string.c), with their keyspace events in Redis's order.</summary>
internal static class StringCommands
{
    [Flags]
    private enum SetFlags { None = 0, NX = 1, XX = 2, Get = 4, KeepTtl = 8, EX = 16, PX = 32, EXAT = 64, PXAT = 128, Persist = 256 }

    private const SetFlags AnyExpire = SetFlags.EX | SetFlags.PX | SetFlags.EXAT | SetFlags.PXAT;

    public static void Register(CommandTable t)
    {
        const CommandFlags W = Write | DenyOom;
        t.Add(new() { Name = "get", Arity = 2, Flags = ReadOnly | Fast, Handler = Get, FirstKey = 1, LastKey = 1, Step = 1, Group = "string", Summary = "Returns the string value of a key." });
        t.Add(new() { Name = "set", Arity = -3, Flags = W, Handler = Set, FirstKey = 1, LastKey = 1, Step = 1, Group = "string", Summary = "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist." });
        t.Add(new() { Name = "setnx", Arity = 3, Flags = W | Fast, Handler = static x => SetGeneric(x, SetFlags.NX, x.Args[1], x.Args[2], -1, true), FirstKey = 1, LastKey = 1, Step = 1, Group = "string", Summary = "Set the string value of a key only when the key doesn't exist." });
        t.Add(new() { Name = "setex", Arity = 4, Flags = W, Handler = static x => SetWithExpireArg(x, SetFlags.EX, 2, 3), FirstKey = 1, LastKey = 1, Step = 1, Group = "string", Since = "2.0.0", Summary = "Sets the string value and expiration time of a key." });
        t.Add(new() { Name = "psetex", Arity = 4, Flags = W, Handler = static x => SetWithExpireArg(x, SetFlags.PX, 2, 3), FirstKey = 1, LastKey = 1, Step = 1, Group = "string", Since = "2.6.0", Summary = "Sets both string value and expiration time in milliseconds of a key." });
        t.Add(new() { Name = "getset", Arity = 3, Flags = W | Fast, Handler = GetSet, FirstKey = 1, LastKey = 1, Step = 1, Group = "string", Summary = "Returns the previous string value of a key after setting it to a new value." });
        t.Add(new() { Name = "getdel", Arity = 2, Flags = Write | Fast, Handler = GetDel, FirstKey = 1, LastKey = 1, Step = 1, Group = "string", Since = "6.2.0", Summary = "Returns the string value of a key after deleting the key." });
        t.Add(new() { Name = "getex", Arity = -2, Flags = Write | Fast, Handler = GetEx, FirstKey = 1, LastKey = 1, Step = 1, Group = "string", Since = "6.2.0", Summary = "Returns the string value of a key after setting its expiration time." });
        t.Add(new() { Name = "mget", Arity = -2, Flags = ReadOnly | Fast, Handler = MGet, FirstKey = 1, LastKey = -1, Step = 1, Group = "string", Summary = "Atomically returns the string values of one or more keys." });
        t.Add(new() { Name = "mset", Arity = -3, Flags = W, Handler = static x => MSet(x, nx: false), FirstKey = 1, LastKey = -1, Step = 2, Group = "string", Since = "1.0.1", Summary = "Atomically creates or modifies the string values of one or more keys." });
        t.Add(new() { Name = "msetnx", Arity = -3, Flags = W, Handler = static x => MSet(x, nx: true), FirstKey = 1, LastKey = -1, Step = 2, Group = "string", Since = "1.0.1", Summary = "Atomically modifies the string values of one or more keys only when all keys don't exist." });
        t.Add(new() { Name = "append", Arity = 3, Flags = W | Fast, Handler = Append, FirstKey = 1, LastKey = 1, Step = 1, Group = "string", Since = "2.0.0", Summary = "Appends a string to the value of a key. Creates the key if it doesn't exist." });
        t.Add(new() { Name = "strlen", Arity = 2, Flags = ReadOnly | Fast, Handler = StrLen, FirstKey = 1, LastKey = 1, Step = 1, Group = "string", Since = "2.2.0", Summary = "Returns the length of a string value." });
        t.Add(new() { Name = "incr", Arity = 2, Flags = W | Fast, Handler = static x => IncrBy(x, 1), FirstKey = 1, LastKey = 1, Step = 1, Group = "string", Summary = "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist." });
        t.Add(new() { Name = "decr", Arity = 2, Flags = W | Fast, Handler = static x => IncrBy(x, -1), FirstKey = 1, LastKey = 1, Step = 1, Group = "string", Summary = "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist." });
        t.Add(new() { Name = "incrby", Arity = 3, Flags = W | Fast, Handler = static x => IncrByArg(x, negate: false), FirstKey = 1, LastKey = 1, Step = 1, Group = "string", Summary = "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist." });
        t.Add(new() { Name = "incrbyfloat", Arity = 3, Flags = W | Fast, Handler = IncrByFloat, FirstKey = 1, LastKey = 1, Step = 1, Group = "string", Since = "2.6.0", Summary = "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist." });
        t.Add(new() { Name = "decrby", Arity = 3, Flags = W | Fast, Handler = static x => IncrByArg(x, negate: true), FirstKey = 1, LastKey = 1, Step = 1, Group = "string", Summary = "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist." });
    }

    private static Database Db(CommandContext x) => x.Engine.Databases[x.Client.Db];

    private static void Get(CommandContext x)
    {
        if (!TypedLookup.TryGetString(x, out bool found, out var s)) return;
        if (found) x.Reply.Bulk(s);
        else x.Reply.NullBulk();
    }

    /// <summary>As parseExtendedStringArgumentsOrReply for SET (and GETEX with <paramref name="getex"/>).</summary>
    private static bool TryParseOptions(CommandContext x, int from, bool getex, out SetFlags flags, out int expireArg)
    {
        flags = SetFlags.None;
        expireArg = -1;
        for (int j = from; j < x.Args.Count; j++)
        {
            bool hasNext = j + 1 < x.Args.Count;
            if (!getex && x.Args.Is(j, "NX") && (flags & SetFlags.XX) == 0) flags |= SetFlags.NX;
            else if (!getex && x.Args.Is(j, "XX") && (flags & SetFlags.NX) == 0) flags |= SetFlags.XX;
            else if (!getex && x.Args.Is(j, "GET")) flags |= SetFlags.Get;
            else if (!getex && x.Args.Is(j, "KEEPTTL") && (flags & (AnyExpire | SetFlags.Persist)) == 0) flags |= SetFlags.KeepTtl;
            else if (getex && x.Args.Is(j, "PERSIST") && (flags & (AnyExpire | SetFlags.KeepTtl)) == 0) flags |= SetFlags.Persist;
            // A unit excludes the other units, KEEPTTL and PERSIST, but not itself: "PX 1 PX 2" is PX 2, as Redis.
            else if (hasNext && ExpireUnit(x, j) is { } unit && (flags & ((AnyExpire & ~unit) | SetFlags.KeepTtl | SetFlags.Persist)) == 0)
            {
                flags |= unit;
                expireArg = ++j;
            }
            else
            {
                x.Reply.Error(Errors.Syntax);
                return false;
            }
        }
        return true;
    }

    private static SetFlags? ExpireUnit(CommandContext x, int j) =>
        x.Args.Is(j, "EX") ? SetFlags.EX : x.Args.Is(j, "PX") ? SetFlags.PX :
        x.Args.Is(j, "EXAT") ? SetFlags.EXAT : x.Args.Is(j, "PXAT") ? SetFlags.PXAT : null;

    /// <summary>As getExpireMillisecondsOrReply: the absolute deadline in Unix ms.</summary>
    private static bool TryGetDeadline(CommandContext x, int arg, SetFlags unit, out long at)
    {
        at = 0;
        if (!x.Args.TryGetInt64(arg, out long v))
        {
            x.Reply.Error(Errors.NotInteger);
            return false;
        }
        bool seconds = (unit & (SetFlags.EX | SetFlags.EXAT)) != 0;
        if (v <= 0 || (seconds && v > long.MaxValue / 1000))
        {
            x.Reply.Error(Errors.InvalidExpireTime(x.Command.FullName));
            return false;
        }
        if (seconds) v *= 1000;
        if ((unit & (SetFlags.EX | SetFlags.PX)) != 0)
        {
            long now = x.Engine.NowMs;
            if (v > long.MaxValue - now)
            {
                x.Reply.Error(Errors.InvalidExpireTime(x.Command.FullName));
                return false;
            }
            v += now;
        }
        at = v;
        return true;
    }

    private static void Set(CommandContext x)
    {
        if (!TryParseOptions(x, 3, getex: false, out var flags, out int expireArg)) return;
        SetGeneric(x, flags, x.Args[1], x.Args[2], expireArg, integerReply: false);
    }

    private static void SetWithExpireArg(CommandContext x, SetFlags unit, int expireArg, int valueArg) =>
        SetGeneric(x, unit, x.Args[1], x.Args[valueArg], expireArg, integerReply: false);

    /// <summary>As setGenericCommand: events "new" (if added), "set", then "expire".</summary>
    private static void SetGeneric(CommandContext x, SetFlags flags, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, int expireArg, bool integerReply)
    {
        long at = -1;
        if (expireArg >= 0 && !TryGetDeadline(x, expireArg, flags & AnyExpire, out at)) return;
        var db = Db(x);
        var e = x.Engine;
        if ((flags & SetFlags.Get) != 0)
        {
            var old = e.LookupRead(db, key);
            if (old is not (null or byte[]))
            {
                x.Reply.Error(Errors.WrongType);
                return;
            }
            if (old is byte[] s) x.Reply.Bulk(s);
            else x.Reply.NullBulk();
        }
        bool found = e.LookupWrite(db, key) != null;
        if (((flags & SetFlags.NX) != 0 && found) || ((flags & SetFlags.XX) != 0 && !found))
        {
            if ((flags & SetFlags.Get) == 0)
            {
                if (integerReply) x.Reply.Integer(0);
                else x.Reply.NullBulk();
            }
            return;
        }
        // With a new TTL the old one is kept until SetExpire replaces it (nothing can see it between): a later
        // deadline then needs no new heap entry (see Database.SetExpire), so SET ... EX refreshing a key's TTL
        // does not grow the heap.
        var stored = e.SetLiveKey(db, key, value.ToArray(), keepTtl: (flags & SetFlags.KeepTtl) != 0 || at >= 0);
        e.Notify(NotifyFlags.String, "set", stored, db.Index);
        if (at >= 0)
        {
            e.SetExpire(db, stored, at);
            e.Notify(NotifyFlags.Generic, "expire", stored, db.Index);
        }
        if ((flags & SetFlags.Get) != 0) return;
        if (integerReply) x.Reply.Integer(1);
        else x.Reply.Ok();
    }

    private static void GetSet(CommandContext x)
    {
        var db = Db(x);
        var old = x.Engine.LookupRead(db, x.Args[1]);
        if (old is not (null or byte[]))
        {
            x.Reply.Error(Errors.WrongType);
            return;
        }
        if (old is byte[] s) x.Reply.Bulk(s);
        else x.Reply.NullBulk();
        var stored = x.Engine.SetKey(db, x.Args[1], x.Args.ToArray(2));
        x.Engine.Notify(NotifyFlags.String, "set", stored, db.Index);
    }

    private static void GetDel(CommandContext x)
    {
        var db = Db(x);
        switch (x.Engine.LookupRead(db, x.Args[1]))
        {
            case null:
                x.Reply.NullBulk();
                break;
            case byte[] s:
                x.Reply.Bulk(s);
                var stored = db.KeyOf(x.Args[1])!;
                db.Remove(stored);
                x.Engine.Notify(NotifyFlags.Generic, "del", stored, db.Index);
                break;
            default:
                x.Reply.Error(Errors.WrongType);
                break;
        }
    }

    private static void GetEx(CommandContext x)
    {
        // As getexCommand: the options, then the key and its type, then the expiry's value.
        if (!TryParseOptions(x, 2, getex: true, out var flags, out int expireArg)) return;
        var db = Db(x);
        var e = x.Engine;
        var value = e.LookupRead(db, x.Args[1]);
        if (value is null)
        {
            x.Reply.NullBulk();
            return;
        }
        if (value is not byte[] s)
        {
            x.Reply.Error(Errors.WrongType);
            return;
        }
        long at = -1;
        if (expireArg >= 0 && !TryGetDeadline(x, expireArg, flags & AnyExpire, out at)) return;
        x.Reply.Bulk(s);
        var stored = db.KeyOf(x.Args[1])!;
        if ((flags & (SetFlags.EXAT | SetFlags.PXAT)) != 0 && at <= x.Engine.NowMs)
        {
            db.Remove(stored);
            e.Notify(NotifyFlags.Generic, "del", stored, db.Index);
        }
        else if (at >= 0)
        {
            e.SetExpire(db, stored, at);
            e.Notify(NotifyFlags.Generic, "expire", stored, db.Index);
        }
        else if ((flags & SetFlags.Persist) != 0 && db.RemoveExpire(stored))
        {
            e.Notify(NotifyFlags.Generic, "persist", stored, db.Index);
        }
    }

    private static void MGet(CommandContext x)
    {
        var db = Db(x);
        x.Reply.Array(x.Args.Count - 1);
        for (int i = 1; i < x.Args.Count; i++)
        {
            // As Redis: a key of another type reads as null, not an error.
            if (GrowableString.TryBytes(x.Engine.LookupRead(db, x.Args[i], growable: true), out var s)) x.Reply.Bulk(s);
            else x.Reply.NullBulk();
        }
    }

    private static void MSet(CommandContext x, bool nx)
    {
        if (x.Args.Count % 2 == 0)
        {
            x.Reply.Error(Errors.WrongArity(x.Command.FullName));
            return;
        }
        var db = Db(x);
        if (nx)
        {
            for (int i = 1; i < x.Args.Count; i += 2)
            {
                if (x.Engine.LookupWrite(db, x.Args[i]) != null)
                {
                    x.Reply.Integer(0);
                    return;
                }
            }
        }
        for (int i = 1; i < x.Args.Count; i += 2)
        {
            var stored = x.Engine.SetKey(db, x.Args[i], x.Args.ToArray(i + 1));
            x.Engine.Notify(NotifyFlags.String, "set", stored, db.Index);
        }
        if (nx) x.Reply.Integer(1);
        else x.Reply.Ok();
    }

    /// <summary>As appendCommand; the string grows in place (see <see cref="GrowableString"/>).</summary>
    private static void Append(CommandContext x)
    {
        if (!BitRangeCommands.TryGrowable(x, out var old, out int length)) return;
        var tail = x.Args[2];
        if (old is null)
        {
            // A new key holds the argument as it is (Redis's embstr), as SET would.
            x.Engine.SetKey(Db(x), x.Args[1], x.Args.ToArray(2));
            length = tail.Length;
        }
        else
        {
            if (!BitRangeCommands.CheckStringLength(x, length, tail.Length)) return;
            var g = BitRangeCommands.Grown(x, old, length + tail.Length);
            g.Append(tail);
            length = g.Length;
        }
        x.Engine.Notify(NotifyFlags.String, "append", x.Args[1], x.Client.Db);
        x.Reply.Integer(length);
    }

    private static void StrLen(CommandContext x)
    {
        if (TypedLookup.TryGetString(x, out _, out var s)) x.Reply.Integer(s.Length);
    }

    private static void IncrByArg(CommandContext x, bool negate)
    {
        if (!x.Args.TryGetInt64(2, out long by))
        {
            x.Reply.Error(Errors.NotInteger);
            return;
        }
        if (negate)
        {
            // As Redis: DECRBY LLONG_MIN cannot be negated.
            if (by == long.MinValue)
            {
                x.Reply.Error("ERR decrement would overflow");
                return;
            }
            by = -by;
        }
        IncrBy(x, by);
    }

    /// <summary>As incrDecrCommand: events "new" (if added) then "incrby".</summary>
    private static void IncrBy(CommandContext x, long by)
    {
        var db = Db(x);
        var e = x.Engine;
        var old = e.LookupWrite(db, x.Args[1]);
        long value = 0;
        if (old is byte[] s)
        {
            if (!Strict.TryParseInt64(s, out value))
            {
                x.Reply.Error(Errors.NotInteger);
                return;
            }
        }
        else if (old != null)
        {
            x.Reply.Error(Errors.WrongType);
            return;
        }
        if ((by < 0 && value < 0 && by < long.MinValue - value) || (by > 0 && value > 0 && by > long.MaxValue - value))
        {
            x.Reply.Error("ERR increment or decrement would overflow");
            return;
        }
        value += by;
        var bytes = System.Text.Encoding.ASCII.GetBytes(value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var stored = old is null ? e.SetKey(db, x.Args[1], bytes) : db.Set(x.Args[1], bytes);
        e.Notify(NotifyFlags.String, "incrby", stored, db.Index);
        x.Reply.Integer(value);
    }

    /// <summary>As incrbyfloatCommand: events "new" (if added) then "incrbyfloat"; the TTL is kept.</summary>
    private static void IncrByFloat(CommandContext x)
    {
        var db = Db(x);
        var e = x.Engine;
        var old = e.LookupWrite(db, x.Args[1]);
        LongDouble value = default;
        if (old != null && (old is not byte[] s || !LongDouble.TryParse(s, out value)))
        {
            x.Reply.Error(old is byte[] ? Errors.NotFloat : Errors.WrongType);
            return;
        }
        if (!LongDouble.TryParse(x.Args[2], out var by))
        {
            x.Reply.Error(Errors.NotFloat);
            return;
        }
        var sum = LongDouble.Add(value, by);
        if (!sum.IsFinite)
        {
            x.Reply.Error("ERR increment would produce NaN or Infinity");
            return;
        }
        var bytes = System.Text.Encoding.ASCII.GetBytes(sum.ToHumanString());
        var stored = old is null ? e.SetKey(db, x.Args[1], bytes) : db.Set(x.Args[1], bytes);
        e.Notify(NotifyFlags.String, "incrbyfloat", stored, db.Index);
        x.Reply.Bulk(bytes);
    }
}
