using KeyspacePubSub.Engine.Config;
using KeyspacePubSub.Engine.Keyspace;
using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>Hash commands (src/t_hash.c).</summary>
internal static class HashCommands
{
    public static void Register(CommandTable t)
    {
        t.Add(new() { Name = "hset", Arity = -4, Flags = Write | DenyOom | Fast, Handler = static x => HSet(x, ok: false), FirstKey = 1, LastKey = 1, Step = 1, Group = "hash", Since = "2.0.0", Summary = "Creates or modifies the value of a field in a hash." });
        t.Add(new() { Name = "hmset", Arity = -4, Flags = Write | DenyOom | Fast, Handler = static x => HSet(x, ok: true), FirstKey = 1, LastKey = 1, Step = 1, Group = "hash", Since = "2.0.0", Summary = "Sets the values of multiple fields." });
        t.Add(new() { Name = "hsetnx", Arity = 4, Flags = Write | DenyOom | Fast, Handler = HSetNx, FirstKey = 1, LastKey = 1, Step = 1, Group = "hash", Since = "2.0.0", Summary = "Sets the value of a field in a hash only when the field doesn't exist." });
        t.Add(new() { Name = "hget", Arity = 3, Flags = ReadOnly | Fast, Handler = HGet, FirstKey = 1, LastKey = 1, Step = 1, Group = "hash", Since = "2.0.0", Summary = "Returns the value of a field in a hash." });
        t.Add(new() { Name = "hmget", Arity = -3, Flags = ReadOnly | Fast, Handler = HMGet, FirstKey = 1, LastKey = 1, Step = 1, Group = "hash", Since = "2.0.0", Summary = "Returns the values of all fields in a hash." });
        t.Add(new() { Name = "hgetall", Arity = 2, Flags = ReadOnly, Handler = static x => Dump(x, keys: true, values: true), FirstKey = 1, LastKey = 1, Step = 1, Group = "hash", Since = "2.0.0", Summary = "Returns all fields and values in a hash." });
        t.Add(new() { Name = "hkeys", Arity = 2, Flags = ReadOnly, Handler = static x => Dump(x, keys: true, values: false), FirstKey = 1, LastKey = 1, Step = 1, Group = "hash", Since = "2.0.0", Summary = "Returns all fields in a hash." });
        t.Add(new() { Name = "hvals", Arity = 2, Flags = ReadOnly, Handler = static x => Dump(x, keys: false, values: true), FirstKey = 1, LastKey = 1, Step = 1, Group = "hash", Since = "2.0.0", Summary = "Returns all values in a hash." });
        t.Add(new() { Name = "hdel", Arity = -3, Flags = Write | Fast, Handler = HDel, FirstKey = 1, LastKey = 1, Step = 1, Group = "hash", Since = "2.0.0", Summary = "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain." });
        t.Add(new() { Name = "hexists", Arity = 3, Flags = ReadOnly | Fast, Handler = HExists, FirstKey = 1, LastKey = 1, Step = 1, Group = "hash", Since = "2.0.0", Summary = "Determines whether a field exists in a hash." });
        t.Add(new() { Name = "hlen", Arity = 2, Flags = ReadOnly | Fast, Handler = static x => { if (TryGet(x, write: false, out var h)) x.Reply.Integer(h?.Count ?? 0); }, FirstKey = 1, LastKey = 1, Step = 1, Group = "hash", Since = "2.0.0", Summary = "Returns the number of fields in a hash." });
        t.Add(new() { Name = "hstrlen", Arity = 3, Flags = ReadOnly | Fast, Handler = HStrLen, FirstKey = 1, LastKey = 1, Step = 1, Group = "hash", Since = "3.2.0", Summary = "Returns the length of the value of a field." });
        t.Add(new() { Name = "hscan", Arity = -3, Flags = ReadOnly, Handler = HScan, FirstKey = 1, LastKey = 1, Step = 1, Group = "hash", Since = "2.8.0", Summary = "Iterates over fields and values of a hash." });
        t.Add(new() { Name = "hincrby", Arity = 4, Flags = Write | DenyOom | Fast, Handler = HIncrBy, FirstKey = 1, LastKey = 1, Step = 1, Group = "hash", Since = "2.0.0", Summary = "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist." });
        t.Add(new() { Name = "hrandfield", Arity = -2, Flags = ReadOnly, Handler = HRandField, FirstKey = 1, LastKey = 1, Step = 1, Group = "hash", Since = "6.2.0", Summary = "Returns one or more random fields from a hash." });
        t.Add(new() { Name = "hincrbyfloat", Arity = 4, Flags = Write | DenyOom | Fast, Handler = HIncrByFloat, FirstKey = 1, LastKey = 1, Step = 1, Group = "hash", Since = "2.6.0", Summary = "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist." });
    }

    private static Database Db(CommandContext x) => x.Engine.Databases[x.Client.Db];

    private static bool TryGet(CommandContext x, bool write, out HashValue? hash) => TypedLookup.TryGet(x, x.Args[1], write, out hash);

    private static HashValue GetOrCreate(CommandContext x, HashValue? hash)
    {
        if (hash != null) return hash;
        hash = new HashValue();
        x.Engine.SetKey(Db(x), x.Args[1], hash);
        return hash;
    }

    private static void HSet(CommandContext x, bool ok)
    {
        if (x.Args.Count % 2 == 1)
        {
            x.Reply.Error(Errors.WrongArity(x.Command.FullName));
            return;
        }
        if (!TryGet(x, write: true, out var hash)) return;
        hash = GetOrCreate(x, hash);
        int added = 0;
        for (int i = 2; i < x.Args.Count; i += 2)
        {
            if (hash.Put(x.Args.ToArray(i), x.Args.ToArray(i + 1))) added++;
        }
        x.Engine.Notify(NotifyFlags.Hash, "hset", x.Args[1], x.Client.Db);
        if (ok) x.Reply.Ok();
        else x.Reply.Integer(added);
    }

    private static void HSetNx(CommandContext x)
    {
        if (!TryGet(x, write: true, out var hash)) return;
        if (hash != null && hash.Fields.ContainsKey(x.Args.ToArray(2)))
        {
            x.Reply.Integer(0);
            return;
        }
        hash = GetOrCreate(x, hash);
        hash.Put(x.Args.ToArray(2), x.Args.ToArray(3));
        x.Engine.Notify(NotifyFlags.Hash, "hset", x.Args[1], x.Client.Db);
        x.Reply.Integer(1);
    }

    private static byte[]? Field(HashValue? hash, ReadOnlySpan<byte> field) =>
        hash != null && hash.Fields.TryGetValue(field.ToArray(), out var v) ? v : null;

    private static void HGet(CommandContext x)
    {
        if (!TryGet(x, write: false, out var hash)) return;
        if (Field(hash, x.Args[2]) is { } v) x.Reply.Bulk(v);
        else x.Reply.NullBulk();
    }

    private static void HMGet(CommandContext x)
    {
        if (!TryGet(x, write: false, out var hash)) return;
        x.Reply.Array(x.Args.Count - 2);
        for (int i = 2; i < x.Args.Count; i++)
        {
            if (Field(hash, x.Args[i]) is { } v) x.Reply.Bulk(v);
            else x.Reply.NullBulk();
        }
    }

    private static void Dump(CommandContext x, bool keys, bool values)
    {
        if (!TryGet(x, write: false, out var hash)) return;
        int n = hash?.Count ?? 0;
        if (keys && values) x.Reply.Map(n);
        else x.Reply.Array(n);
        if (hash is null) return;
        foreach (var (k, v) in hash.Fields)
        {
            if (keys) x.Reply.Bulk(k);
            if (values) x.Reply.Bulk(v);
        }
    }

    private static void HDel(CommandContext x)
    {
        if (!TryGet(x, write: true, out var hash)) return;
        int removed = 0;
        if (hash != null)
        {
            for (int i = 2; i < x.Args.Count; i++)
            {
                if (hash.Remove(x.Args.ToArray(i))) removed++;
            }
        }
        if (removed > 0)
        {
            var db = Db(x);
            x.Engine.Notify(NotifyFlags.Hash, "hdel", x.Args[1], db.Index);
            x.Engine.DeleteIfEmpty(db, x.Args[1], hash!.Count);
        }
        x.Reply.Integer(removed);
    }

    private static void HExists(CommandContext x)
    {
        if (TryGet(x, write: false, out var hash)) x.Reply.Integer(Field(hash, x.Args[2]) is null ? 0 : 1);
    }

    private static void HStrLen(CommandContext x)
    {
        if (TryGet(x, write: false, out var hash)) x.Reply.Integer(Field(hash, x.Args[2])?.Length ?? 0);
    }

    private static void HIncrBy(CommandContext x)
    {
        if (!x.Args.TryGetInt64(3, out long by))
        {
            x.Reply.Error(Errors.NotInteger);
            return;
        }
        if (!TryGet(x, write: true, out var hash)) return;
        long value = 0;
        if (Field(hash, x.Args[2]) is { } old && !Strict.TryParseInt64(old, out value))
        {
            x.Reply.Error("ERR hash value is not an integer");
            return;
        }
        if ((by < 0 && value < 0 && by < long.MinValue - value) || (by > 0 && value > 0 && by > long.MaxValue - value))
        {
            x.Reply.Error("ERR increment or decrement would overflow");
            return;
        }
        value += by;
        Store(x, GetOrCreate(x, hash), System.Text.Encoding.ASCII.GetBytes(value.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        x.Engine.Notify(NotifyFlags.Hash, "hincrby", x.Args[1], x.Client.Db);
        x.Reply.Integer(value);
    }

    private static void HIncrByFloat(CommandContext x)
    {
        if (!LongDouble.TryParse(x.Args[3], out var by))
        {
            x.Reply.Error(Errors.NotFloat);
            return;
        }
        if (!by.IsFinite)
        {
            x.Reply.Error("ERR value is NaN or Infinity"); // as hincrbyfloatCommand, before the key is looked up
            return;
        }
        if (!TryGet(x, write: true, out var hash)) return;
        LongDouble value = default;
        var old = Field(hash, x.Args[2]);
        if (old != null && !LongDouble.TryParse(old, out value))
        {
            x.Reply.Error("ERR hash value is not a float");
            return;
        }
        var sum = LongDouble.Add(value, by);
        if (!sum.IsFinite)
        {
            x.Reply.Error("ERR increment would produce NaN or Infinity");
            return;
        }
        string text = sum.ToHumanString();
        var bytes = System.Text.Encoding.ASCII.GetBytes(text);
        Store(x, GetOrCreate(x, hash), bytes);
        x.Engine.Notify(NotifyFlags.Hash, "hincrbyfloat", x.Args[1], x.Client.Db);
        x.Reply.Bulk(bytes);
    }

    private static void Store(CommandContext x, HashValue hash, byte[] value)
    {
        hash.Put(x.Args.ToArray(2), value);
    }

    /// <summary>HSCAN: a listpack hash whole with cursor 0, a hash table in pages (<see cref="ScanArgs.ReplyPage"/>).</summary>
    private static void HScan(CommandContext x)
    {
        if (!ScanArgs.TryCursor(x, 2, out ulong cursor) || !TryGet(x, write: false, out var hash)) return;
        byte[]? pattern = null;
        long count = 10;
        if (hash != null && !ScanArgs.TryOptions(x, 3, out pattern, out count)) return;
        hash ??= new HashValue();
        ScanArgs.ReplyPage(x, cursor, count, pattern, hash.IsHashtableEncoded, hash.IsHashtableEncoded ? [] : [.. hash.Fields],
            hash.Count, hash.At, f => f.Key, 2, f =>
            {
                x.Reply.Bulk(f.Key);
                x.Reply.Bulk(f.Value);
            });
    }

    /// <summary>
    /// As hrandfieldCommand / hrandfieldWithCountCommand: one field (or nil); with a count, distinct fields (at
    /// most the whole hash, in its order), or with a negative count that many picks with repeats; WITHVALUES
    /// adds each value (RESP3: a [field, value] pair each).
    /// </summary>
    private static void HRandField(CommandContext x)
    {
        if (!RandomReply.TryParseCount(x, "WITHVALUES", out long count, out bool withValues)) return;
        if (!TryGet(x, write: false, out var hash)) return;
        if (x.Args.Count == 2)
        {
            if (hash is null) x.Reply.NullBulk();
            else x.Reply.Bulk(hash.At(Random.Shared.Next(hash.Count)).Key);
            return;
        }
        if (hash is null || count == 0)
        {
            x.Reply.Array(0);
            return;
        }
        // A count covering the hash answers it in its order.
        RandomReply.WritePicks(x, count, withValues, hash.Count, hash.At, hash.Fields,
            f => RandomReply.BulkBytes(f.Key) + (withValues ? RandomReply.BulkBytes(f.Value) : 0),
            f =>
            {
                x.Reply.Bulk(f.Key);
                if (withValues) x.Reply.Bulk(f.Value);
            });
    }
}
