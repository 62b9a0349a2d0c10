using KeyspacePubSub.Engine.Config;
using KeyspacePubSub.Engine.Keyspace;
using KeyspacePubSub.Engine.PubSub;
using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>RENAME, RENAMENX, MOVE, COPY, TOUCH, RANDOMKEY, SCAN (src/db.c).</summary>
internal static class KeyMoveCommands
{
    private const string SameObject = "ERR source and destination objects are the same";

    public static void Register(CommandTable t)
    {
        t.Add(new() { Name = "rename", Arity = 3, Flags = Write, Handler = static x => Rename(x, nx: false), FirstKey = 1, LastKey = 2, Step = 1, Group = "generic", Summary = "Renames a key and overwrites the destination." });
        t.Add(new() { Name = "renamenx", Arity = 3, Flags = Write | Fast, Handler = static x => Rename(x, nx: true), FirstKey = 1, LastKey = 2, Step = 1, Group = "generic", Summary = "Renames a key only when the target key name doesn't exist." });
        t.Add(new() { Name = "move", Arity = 3, Flags = Write | Fast, Handler = Move, FirstKey = 1, LastKey = 1, Step = 1, Group = "generic", Summary = "Moves a key to another database." });
        t.Add(new() { Name = "copy", Arity = -3, Flags = Write | DenyOom, Handler = Copy, FirstKey = 1, LastKey = 2, Step = 1, Group = "generic", Since = "6.2.0", Summary = "Copies the value of a key to a new key." });
        t.Add(new() { Name = "touch", Arity = -2, Flags = ReadOnly | Fast, Handler = KeyCommands.Touch, FirstKey = 1, LastKey = -1, Step = 1, Group = "generic", Since = "3.2.1", Summary = "Returns the number of existing keys out of those specified after updating the time they were last accessed." });
        t.Add(new() { Name = "randomkey", Arity = 1, Flags = ReadOnly, Handler = RandomKey, Group = "generic", Summary = "Returns a random key name from the database." });
        t.Add(new() { Name = "scan", Arity = -2, Flags = ReadOnly, Handler = Scan, Group = "generic", Since = "2.8.0", Summary = "Iterates over the key names in the database." });
    }

    private static Database Db(CommandContext x) => x.Engine.Databases[x.Client.Db];

    private static long Ttl(Database db, ReadOnlySpan<byte> key) => db.GetExpire(key);

    /// <summary>As renameGenericCommand: ["new"], "rename_from", "rename_to"; the TTL travels with the value.</summary>
    private static void Rename(CommandContext x, bool nx)
    {
        var db = Db(x);
        var e = x.Engine;
        var value = e.LookupWrite(db, x.Args[1]);
        if (value is null)
        {
            x.Reply.Error(Errors.NoSuchKey);
            return;
        }
        if (x.Args[1].SequenceEqual(x.Args[2]))
        {
            if (nx) x.Reply.Integer(0);
            else x.Reply.Ok();
            return;
        }
        long expire = Ttl(db, x.Args[1]);
        if (e.LookupWrite(db, x.Args[2]) != null)
        {
            if (nx)
            {
                x.Reply.Integer(0);
                return;
            }
            db.Remove(x.Args[2]);
        }
        var stored = e.SetKey(db, x.Args[2], value);
        db.SetStamp(stored, db.StampOf(x.Args[1])!.Value); // the value (Redis's object) keeps its access stamp
        if (expire != -1) e.SetExpire(db, stored, expire);
        var from = db.KeyOf(x.Args[1])!;
        db.Remove(from);
        e.Notify(NotifyFlags.Generic, "rename_from", from, db.Index);
        e.Notify(NotifyFlags.Generic, "rename_to", stored, db.Index);
        if (nx) x.Reply.Integer(1);
        else x.Reply.Ok();
    }

    private static bool TryDb(CommandContext x, int arg, out Database db)
    {
        db = null!;
        if (!x.Args.TryGetInt64(arg, out long id) || id < int.MinValue || id > int.MaxValue)
        {
            x.Reply.Error(Errors.NotInteger);
            return false;
        }
        if (id < 0 || id >= x.Engine.Databases.Length)
        {
            x.Reply.Error(Errors.DbIndexOutOfRange);
            return false;
        }
        db = x.Engine.Databases[id];
        return true;
    }

    private static void Move(CommandContext x)
    {
        var src = Db(x);
        if (!TryDb(x, 2, out var dst)) return;
        if (src == dst)
        {
            x.Reply.Error(SameObject);
            return;
        }
        var e = x.Engine;
        var value = e.LookupWrite(src, x.Args[1]);
        if (value is null || e.LookupWrite(dst, x.Args[1]) != null)
        {
            x.Reply.Integer(0);
            return;
        }
        long expire = Ttl(src, x.Args[1]);
        var stored = e.SetKey(dst, x.Args[1], value);
        dst.SetStamp(stored, src.StampOf(x.Args[1])!.Value); // the value (Redis's object) keeps its access stamp
        if (expire != -1) e.SetExpire(dst, stored, expire);
        src.Remove(x.Args[1]);
        e.Notify(NotifyFlags.Generic, "move_from", stored, src.Index);
        e.Notify(NotifyFlags.Generic, "move_to", stored, dst.Index);
        x.Reply.Integer(1);
    }

    private static void Copy(CommandContext x)
    {
        var src = Db(x);
        var dst = src;
        bool replace = false;
        for (int j = 3; j < x.Args.Count; j++)
        {
            if (x.Args.Is(j, "REPLACE")) replace = true;
            else if (x.Args.Is(j, "DB") && j + 1 < x.Args.Count)
            {
                if (!TryDb(x, ++j, out dst)) return;
            }
            else
            {
                x.Reply.Error(Errors.Syntax);
                return;
            }
        }
        if (src == dst && x.Args[1].SequenceEqual(x.Args[2]))
        {
            x.Reply.Error(SameObject);
            return;
        }
        var e = x.Engine;
        var value = e.LookupRead(src, x.Args[1]);
        if (value is null)
        {
            x.Reply.Integer(0);
            return;
        }
        long expire = Ttl(src, x.Args[1]);
        if (e.LookupWrite(dst, x.Args[2]) != null)
        {
            if (!replace)
            {
                x.Reply.Integer(0);
                return;
            }
            dst.Remove(x.Args[2]);
        }
        var stored = e.SetKey(dst, x.Args[2], Duplicate(value));
        if (expire != -1) e.SetExpire(dst, stored, expire);
        e.Notify(NotifyFlags.Generic, "copy_to", stored, dst.Index);
        x.Reply.Integer(1);
    }

    private static object Duplicate(object value)
    {
        switch (value)
        {
            case byte[] s:
                return s; // strings are never mutated in place
            case ListValue l:
                var copy = new ListValue();
                for (int i = 0; i < l.Count; i++) copy.PushTail(l[i]);
                return copy;
            case HashValue h:
                return h.Clone();
            case SetValue s:
                return s.Clone();
            case SortedSetValue z:
                return z.Clone();
            case Streams.StreamValue st:
                return st.Clone();
            default:
                throw new InvalidOperationException("unknown value type");
        }
    }

    /// <summary>
    /// RANDOMKEY as Redis's dbRandomKey: a key picked at random; one found expired is deleted (its "expired"
    /// event goes out) and another is picked. While CLIENT PAUSE holds expiry, expired keys stay, so when every
    /// key has a TTL the 100th pick is answered even if expired, as Redis 7.2 does (7.0.15 loops for ever there).
    /// </summary>
    private static void RandomKey(CommandContext x)
    {
        var db = Db(x);
        int tries = 100;
        while (db.RandomKey() is { } key)
        {
            if (db.ExpiresCount == db.Count && x.Engine.ExpiryPaused && --tries == 0)
            {
                x.Reply.Bulk(key);
                return;
            }
            if (x.Engine.ExpireIfNeeded(db, key)) continue;
            x.Reply.Bulk(key);
            return;
        }
        x.Reply.NullBulk();
    }

    /// <summary>
    /// SCAN as Redis's scanGenericCommand: buckets of the key table are visited in reverse-binary order
    /// (<see cref="KeyTable.Scan"/>) until COUNT keys are collected or ten times COUNT buckets were looked at,
    /// then MATCH, TYPE and expiry filter them. Every key present for the whole iteration is returned at least
    /// once; a call costs about COUNT, whatever the number of keys.
    /// </summary>
    private static void Scan(CommandContext x)
    {
        if (!ScanArgs.TryCursor(x, 1, out ulong cursor)) return;
        byte[]? pattern = null;
        string? type = null;
        long count = 10;
        for (int j = 2; j < x.Args.Count; j++)
        {
            bool more = j + 1 < x.Args.Count;
            if (x.Args.Is(j, "MATCH") && more)
            {
                pattern = x.Args.ToArray(++j);
                if (GlobPattern.MatchesEverything(pattern)) pattern = null;
            }
            else if (x.Args.Is(j, "COUNT") && more)
            {
                if (!x.Args.TryGetInt64(++j, out count))
                {
                    x.Reply.Error(Errors.NotInteger);
                    return;
                }
                if (count < 1)
                {
                    x.Reply.Error(Errors.Syntax);
                    return;
                }
            }
            else if (x.Args.Is(j, "TYPE") && more) type = x.Args.GetString(++j).ToLowerInvariant();
            else
            {
                x.Reply.Error(Errors.Syntax);
                return;
            }
        }
        var db = Db(x);
        long now = x.Engine.ExpiryClockMs;
        var found = new List<byte[]>();
        long buckets = count > long.MaxValue / 10 ? long.MaxValue : count * 10;
        ulong next = cursor;
        do
        {
            next = db.Scan(next, found);
        }
        while (next != 0 && buckets-- > 0 && found.Count < count);
        var keys = found
            .Where(k => !db.IsExpired(k, now))
            .Where(k => pattern is null || GlobPattern.IsMatch(pattern, k))
            .Where(k => type is null || KeyCommands.TypeName(db.Get(k)) == type)
            .ToList();
        x.Reply.Array(2);
        x.Reply.Bulk(next.ToString(System.Globalization.CultureInfo.InvariantCulture));
        x.Reply.Array(keys.Count);
        foreach (var k in keys) x.Reply.Bulk(k);
    }
}
