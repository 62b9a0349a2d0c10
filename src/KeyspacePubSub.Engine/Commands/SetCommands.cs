using KeyspacePubSub.Engine.Config;
using KeyspacePubSub.Engine.Keyspace;
using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>Set commands (src/t_set.c): presence lists.</summary>
internal static class SetCommands
{
    public static void Register(CommandTable t)
    {
        t.Add(new() { Name = "sadd", Arity = -3, Flags = Write | DenyOom | Fast, Handler = SAdd, FirstKey = 1, LastKey = 1, Step = 1, Group = "set", Summary = "Adds one or more members to a set. Creates the key if it doesn't exist." });
        t.Add(new() { Name = "srem", Arity = -3, Flags = Write | Fast, Handler = SRem, FirstKey = 1, LastKey = 1, Step = 1, Group = "set", Summary = "Removes one or more members from a set. Deletes the set if the last member was removed." });
        t.Add(new() { Name = "smembers", Arity = 2, Flags = ReadOnly, Handler = SMembers, FirstKey = 1, LastKey = 1, Step = 1, Group = "set", Summary = "Returns all members of a set." });
        t.Add(new() { Name = "sismember", Arity = 3, Flags = ReadOnly | Fast, Handler = SIsMember, FirstKey = 1, LastKey = 1, Step = 1, Group = "set", Summary = "Determines whether a member belongs to a set." });
        t.Add(new() { Name = "smismember", Arity = -3, Flags = ReadOnly | Fast, Handler = SMIsMember, FirstKey = 1, LastKey = 1, Step = 1, Group = "set", Since = "6.2.0", Summary = "Determines whether multiple members belong to a set." });
        t.Add(new() { Name = "scard", Arity = 2, Flags = ReadOnly | Fast, Handler = static x => { if (TryGet(x, x.Args[1], false, out var s)) x.Reply.Integer(s?.Count ?? 0); }, FirstKey = 1, LastKey = 1, Step = 1, Group = "set", Summary = "Returns the number of members in a set." });
        t.Add(new() { Name = "spop", Arity = -2, Flags = Write | Fast, Handler = SPop, FirstKey = 1, LastKey = 1, Step = 1, Group = "set", Summary = "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped." });
        t.Add(new() { Name = "srandmember", Arity = -2, Flags = ReadOnly, Handler = SRandMember, FirstKey = 1, LastKey = 1, Step = 1, Group = "set", Summary = "Get one or multiple random members from a set" });
        t.Add(new() { Name = "sscan", Arity = -3, Flags = ReadOnly, Handler = SScan, FirstKey = 1, LastKey = 1, Step = 1, Group = "set", Since = "2.8.0", Summary = "Iterates over members of a set." });
        t.Add(new() { Name = "sinter", Arity = -2, Flags = ReadOnly, Handler = static x => Combine(x, SetOp.Inter), FirstKey = 1, LastKey = -1, Step = 1, Group = "set", Summary = "Returns the intersect of multiple sets." });
        t.Add(new() { Name = "sunion", Arity = -2, Flags = ReadOnly, Handler = static x => Combine(x, SetOp.Union), FirstKey = 1, LastKey = -1, Step = 1, Group = "set", Summary = "Returns the union of multiple sets." });
        t.Add(new() { Name = "sdiff", Arity = -2, Flags = ReadOnly, Handler = static x => Combine(x, SetOp.Diff), FirstKey = 1, LastKey = -1, Step = 1, Group = "set", Summary = "Returns the difference of multiple sets." });
        t.Add(new() { Name = "sinterstore", Arity = -3, Flags = Write | DenyOom, Handler = static x => Combine(x, SetOp.Inter, store: true), FirstKey = 1, LastKey = -1, Step = 1, Group = "set", Summary = "Stores the intersect of multiple sets in a key." });
        t.Add(new() { Name = "sunionstore", Arity = -3, Flags = Write | DenyOom, Handler = static x => Combine(x, SetOp.Union, store: true), FirstKey = 1, LastKey = -1, Step = 1, Group = "set", Summary = "Stores the union of multiple sets in a key." });
        t.Add(new() { Name = "sdiffstore", Arity = -3, Flags = Write | DenyOom, Handler = static x => Combine(x, SetOp.Diff, store: true), FirstKey = 1, LastKey = -1, Step = 1, Group = "set", Summary = "Stores the difference of multiple sets in a key." });
        t.Add(new() { Name = "sintercard", Arity = -3, Flags = ReadOnly | MovableKeys, Handler = SInterCard, KeyNumIndex = 1, Group = "set", Since = "7.0.0", Summary = "Intersect multiple sets and return the cardinality of the result" });
        t.Add(new() { Name = "smove", Arity = 4, Flags = Write | Fast, Handler = SMove, FirstKey = 1, LastKey = 2, Step = 1, Group = "set", Summary = "Moves a member from one set to another." });
    }

    private enum SetOp { Inter, Union, Diff }

    private static Database Db(CommandContext x) => x.Engine.Databases[x.Client.Db];

    private static bool TryGet(CommandContext x, ReadOnlySpan<byte> key, bool write, out SetValue? set) => TypedLookup.TryGet(x, key, write, out set);

    private static void SAdd(CommandContext x)
    {
        if (!TryGet(x, x.Args[1], true, out var set)) return;
        if (set is null)
        {
            set = new SetValue();
            x.Engine.SetKey(Db(x), x.Args[1], set);
        }
        int added = 0;
        for (int i = 2; i < x.Args.Count; i++)
        {
            if (set.Add(x.Args.ToArray(i))) added++;
        }
        if (added > 0) x.Engine.Notify(NotifyFlags.Set, "sadd", x.Args[1], x.Client.Db);
        x.Reply.Integer(added);
    }

    private static void SRem(CommandContext x)
    {
        if (!TryGet(x, x.Args[1], true, out var set)) return;
        int removed = 0;
        if (set != null)
        {
            for (int i = 2; i < x.Args.Count; i++)
            {
                if (set.Remove(x.Args.ToArray(i))) removed++;
            }
        }
        if (removed > 0)
        {
            var db = Db(x);
            x.Engine.Notify(NotifyFlags.Set, "srem", x.Args[1], db.Index);
            x.Engine.DeleteIfEmpty(db, x.Args[1], set!.Count);
        }
        x.Reply.Integer(removed);
    }

    private static void Reply(CommandContext x, List<byte[]> members)
    {
        x.Reply.Set(members.Count);
        foreach (var m in members) x.Reply.Bulk(m);
    }

    private static void SMembers(CommandContext x)
    {
        if (TryGet(x, x.Args[1], false, out var set)) Reply(x, set?.Ordered() ?? []);
    }

    private static void SIsMember(CommandContext x)
    {
        if (TryGet(x, x.Args[1], false, out var set)) x.Reply.Integer(set != null && set.Members.ContainsKey(x.Args.ToArray(2)) ? 1 : 0);
    }

    private static void SMIsMember(CommandContext x)
    {
        if (!TryGet(x, x.Args[1], false, out var set)) return;
        x.Reply.Array(x.Args.Count - 2);
        for (int i = 2; i < x.Args.Count; i++) x.Reply.Integer(set != null && set.Members.ContainsKey(x.Args.ToArray(i)) ? 1 : 0);
    }

    /// <summary>
    /// SINTER, SUNION, SDIFF and their STORE forms (sinterGenericCommand, sunionDiffGenericCommand): every source
    /// is type-checked (a missing one is an empty set); a STORE replaces the destination, whatever it held,
    /// with the result and its event ("sinterstore", ...), or deletes it ("del") when the result is empty.
    /// </summary>
    private static void Combine(CommandContext x, SetOp op, bool store = false)
    {
        var sets = new List<SetValue?>();
        for (int i = store ? 2 : 1; i < x.Args.Count; i++)
        {
            if (!TryGet(x, x.Args[i], store, out var s)) return;
            sets.Add(s);
        }
        var result = new SetValue();
        var first = sets[0];
        switch (op)
        {
            case SetOp.Union:
                foreach (var s in sets)
                {
                    foreach (var m in s?.Members.Keys ?? Enumerable.Empty<byte[]>()) result.Add(m);
                }
                break;
            case SetOp.Inter:
                if (sets.All(s => s != null))
                {
                    // As sinterGenericCommand: the smallest set's members, each looked up in the others.
                    var smallest = sets.MinBy(s => s!.Count)!;
                    foreach (var m in smallest.Members.Keys)
                    {
                        if (sets.All(s => ReferenceEquals(s, smallest) || s!.Members.ContainsKey(m))) result.Add(m);
                    }
                }
                break;
            default:
                foreach (var m in first?.Members.Keys ?? Enumerable.Empty<byte[]>())
                {
                    if (!sets.Skip(1).Any(s => s != null && s.Members.ContainsKey(m))) result.Add(m);
                }
                break;
        }
        if (!store)
        {
            Reply(x, result.Ordered());
            return;
        }
        var db = Db(x);
        x.Reply.Integer(result.Count);
        if (result.Count > 0)
        {
            x.Engine.SetKey(db, x.Args[1], result);
            x.Engine.Notify(NotifyFlags.Set, op switch { SetOp.Inter => "sinterstore", SetOp.Union => "sunionstore", _ => "sdiffstore" }, x.Args[1], db.Index);
        }
        else if (x.Engine.LookupWrite(db, x.Args[1]) != null)
        {
            x.Engine.DeleteIfEmpty(db, x.Args[1], 0);
        }
    }

    /// <summary>
    /// As sinterCardCommand: numkeys and LIMIT are checked before any key; a missing key makes the intersection
    /// empty (every key is still looked up, so a later one of the wrong type is WRONGTYPE); counting stops at LIMIT.
    /// </summary>
    private static void SInterCard(CommandContext x)
    {
        if (!x.Args.TryGetInt64(1, out long numKeys) || numKeys < 1)
        {
            x.Reply.Error("ERR numkeys should be greater than 0");
            return;
        }
        if (numKeys > x.Args.Count - 2)
        {
            x.Reply.Error("ERR Number of keys can't be greater than number of args");
            return;
        }
        long limit = 0;
        for (int j = 2 + (int)numKeys; j < x.Args.Count; j++)
        {
            if (x.Args.Is(j, "LIMIT") && j + 1 < x.Args.Count)
            {
                j++;
                if (!x.Args.TryGetInt64(j, out limit) || limit < 0)
                {
                    x.Reply.Error("ERR LIMIT can't be negative");
                    return;
                }
            }
            else
            {
                x.Reply.Error(Errors.Syntax);
                return;
            }
        }
        var sets = new List<SetValue?>();
        for (int i = 2; i < 2 + numKeys; i++)
        {
            if (!TryGet(x, x.Args[i], false, out var set)) return;
            sets.Add(set);
        }
        if (sets.Any(s => s is null))
        {
            x.Reply.Integer(0);
            return;
        }
        var smallest = sets.MinBy(s => s!.Count)!;
        long count = 0;
        foreach (var m in smallest.Members.Keys)
        {
            if (!sets.All(s => ReferenceEquals(s, smallest) || s!.Members.ContainsKey(m))) continue;
            if (++count == limit) break;
        }
        x.Reply.Integer(count);
    }

    /// <summary>As smoveCommand: "srem" on the source (and "del" if it is now empty), then "sadd" on the destination if the member was new there.</summary>
    private static void SMove(CommandContext x)
    {
        var db = Db(x);
        var source = x.Engine.LookupWrite(db, x.Args[1]);
        var destination = x.Engine.LookupWrite(db, x.Args[2]);
        if (source is null)
        {
            x.Reply.Integer(0);
            return;
        }
        if (source is not SetValue from || (destination != null && destination is not SetValue))
        {
            x.Reply.Error(Errors.WrongType);
            return;
        }
        var member = x.Args.ToArray(3);
        if (ReferenceEquals(source, destination))
        {
            x.Reply.Integer(from.Members.ContainsKey(member) ? 1 : 0);
            return;
        }
        if (!from.Remove(member))
        {
            x.Reply.Integer(0);
            return;
        }
        x.Engine.Notify(NotifyFlags.Set, "srem", x.Args[1], db.Index);
        x.Engine.DeleteIfEmpty(db, x.Args[1], from.Count);
        var to = destination as SetValue;
        if (to is null)
        {
            to = new SetValue();
            x.Engine.SetLiveKey(db, x.Args[2], to);
        }
        if (to.Add(member)) x.Engine.Notify(NotifyFlags.Set, "sadd", x.Args[2], db.Index);
        x.Reply.Integer(1);
    }

    private static bool TryCount(CommandContext x, out long count, out bool hasCount, bool allowNegative)
    {
        count = 1;
        hasCount = x.Args.Count == 3;
        if (x.Args.Count > 3)
        {
            x.Reply.Error(Errors.Syntax);
            return false;
        }
        if (!hasCount) return true;
        bool parsed = x.Args.TryGetInt64(2, out count);
        if (parsed && allowNegative && count == long.MinValue)
        {
            // SRANDMEMBER reads its count with getRangeLongFromObjectOrReply(-LONG_MAX, LONG_MAX).
            x.Reply.Error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");
            return false;
        }
        if (parsed && allowNegative) return true;
        if (!parsed && allowNegative)
        {
            x.Reply.Error(Errors.NotInteger);
            return false;
        }
        // As getPositiveLongFromObjectOrReply with SPOP's message: also for a count that is not a number.
        if (!parsed || count < 0)
        {
            x.Reply.Error("ERR value is out of range, must be positive");
            return false;
        }
        return true;
    }

    /// <summary>As spopCommand: "spop", then "del" if the set is now empty.</summary>
    private static void SPop(CommandContext x)
    {
        if (!TryCount(x, out long count, out bool hasCount, allowNegative: false)) return;
        if (!TryGet(x, x.Args[1], true, out var set)) return;
        if (set is null)
        {
            if (hasCount) x.Reply.Set(0);
            else x.Reply.NullBulk();
            return;
        }
        if (hasCount && count == 0)
        {
            x.Reply.Set(0);
            return;
        }
        List<byte[]> popped;
        if (count >= set.Count)
        {
            // As Redis: asking for at least the whole set returns it whole (in reply order).
            popped = set.Ordered();
            set.Members.Clear();
        }
        else
        {
            popped = new List<byte[]>((int)count);
            for (long i = 0; i < count; i++)
            {
                int k = Random.Shared.Next(set.Count);
                popped.Add(set.At(k));
                set.RemoveAt(k);
            }
        }
        if (hasCount) Reply(x, popped);
        else x.Reply.Bulk(popped[0]);
        var db = Db(x);
        x.Engine.Notify(NotifyFlags.Set, "spop", x.Args[1], db.Index);
        x.Engine.DeleteIfEmpty(db, x.Args[1], set.Count);
    }

    private static void SRandMember(CommandContext x)
    {
        if (!TryCount(x, out long count, out bool hasCount, allowNegative: true)) return;
        if (!TryGet(x, x.Args[1], false, out var set)) return;
        if (set is null)
        {
            if (hasCount) x.Reply.Array(0);
            else x.Reply.NullBulk();
            return;
        }
        if (!hasCount)
        {
            x.Reply.Bulk(set.At(Random.Shared.Next(set.Count)));
            return;
        }
        if (count < 0)
        {
            // Negative: that many picks, repeats allowed.
            if (!RandomReply.TryFits(x, -count, k => RandomReply.BulkBytes(set.At(k)), set.Count)) return;
            x.Reply.Array((int)-count);
            for (long i = 0; i < -count; i++) x.Reply.Bulk(set.At(Random.Shared.Next(set.Count)));
            return;
        }
        if (count >= set.Count)
        {
            // The whole set, as an array (SPOP's whole set is a RESP3 set; Redis 7.0 replies so).
            var all = set.Ordered();
            x.Reply.Array(all.Count);
            foreach (var m in all) x.Reply.Bulk(m);
            return;
        }
        x.Reply.Array((int)count);
        // Most of the set keeps its reply order (integers sorted, as an intset); a few are read by position.
        var members = count * 3 > set.Count ? set.Ordered() : null;
        foreach (int i in RandomReply.DistinctPicks(set.Count, count)) x.Reply.Bulk(members is null ? set.At(i) : members[i]);
    }

    /// <summary>SSCAN: an intset whole with cursor 0 (in its numeric order), a hash table in pages (<see cref="ScanArgs.ReplyPage"/>).</summary>
    private static void SScan(CommandContext x)
    {
        if (!ScanArgs.TryCursor(x, 2, out ulong cursor) || !TryGet(x, x.Args[1], false, out var set)) return;
        byte[]? pattern = null;
        long count = 10;
        if (set != null && !ScanArgs.TryOptions(x, 3, out pattern, out count)) return;
        set ??= new SetValue();
        ScanArgs.ReplyPage(x, cursor, count, pattern, set.IsHashtableEncoded, set.IsHashtableEncoded ? [] : set.Ordered(),
            set.Count, set.At, m => m, 1, m => x.Reply.Bulk(m));
    }
}
