using KeyspacePubSub.Engine.Config;
using KeyspacePubSub.Engine.Keyspace;
using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>List commands (src/t_list.c): room backlogs are lists. Events in Redis's order; "del" when a list empties.</summary>
internal static class ListCommands
{
    public static void Register(CommandTable t)
    {
        const CommandFlags W = Write | DenyOom | Fast;
        t.Add(new() { Name = "lpush", Arity = -3, Flags = W, Handler = static x => Push(x, head: true, onlyExisting: false), FirstKey = 1, LastKey = 1, Step = 1, Group = "list", Summary = "Prepends one or more elements to a list. Creates the key if it doesn't exist." });
        t.Add(new() { Name = "rpush", Arity = -3, Flags = W, Handler = static x => Push(x, head: false, onlyExisting: false), FirstKey = 1, LastKey = 1, Step = 1, Group = "list", Summary = "Appends one or more elements to a list. Creates the key if it doesn't exist." });
        t.Add(new() { Name = "lpushx", Arity = -3, Flags = W, Handler = static x => Push(x, head: true, onlyExisting: true), FirstKey = 1, LastKey = 1, Step = 1, Group = "list", Since = "2.2.0", Summary = "Prepends one or more elements to a list only when the list exists." });
        t.Add(new() { Name = "rpushx", Arity = -3, Flags = W, Handler = static x => Push(x, head: false, onlyExisting: true), FirstKey = 1, LastKey = 1, Step = 1, Group = "list", Since = "2.2.0", Summary = "Appends an element to a list only when the list exists." });
        t.Add(new() { Name = "lpop", Arity = -2, Flags = Write | Fast, Handler = static x => Pop(x, head: true), FirstKey = 1, LastKey = 1, Step = 1, Group = "list", Summary = "Returns the first elements in a list after removing it. Deletes the list if the last element was popped." });
        t.Add(new() { Name = "rpop", Arity = -2, Flags = Write | Fast, Handler = static x => Pop(x, head: false), FirstKey = 1, LastKey = 1, Step = 1, Group = "list", Summary = "Returns and removes the last elements of a list. Deletes the list if the last element was popped." });
        t.Add(new() { Name = "lrange", Arity = 4, Flags = ReadOnly, Handler = LRange, FirstKey = 1, LastKey = 1, Step = 1, Group = "list", Summary = "Returns a range of elements from a list." });
        t.Add(new() { Name = "llen", Arity = 2, Flags = ReadOnly | Fast, Handler = LLen, FirstKey = 1, LastKey = 1, Step = 1, Group = "list", Summary = "Returns the length of a list." });
        t.Add(new() { Name = "lindex", Arity = 3, Flags = ReadOnly, Handler = LIndex, FirstKey = 1, LastKey = 1, Step = 1, Group = "list", Summary = "Returns an element from a list by its index." });
        t.Add(new() { Name = "lset", Arity = 4, Flags = Write | DenyOom, Handler = LSet, FirstKey = 1, LastKey = 1, Step = 1, Group = "list", Summary = "Sets the value of an element in a list by its index." });
        t.Add(new() { Name = "linsert", Arity = 5, Flags = Write | DenyOom, Handler = LInsert, FirstKey = 1, LastKey = 1, Step = 1, Group = "list", Since = "2.2.0", Summary = "Inserts an element before or after another element in a list." });
        t.Add(new() { Name = "lrem", Arity = 4, Flags = Write, Handler = LRem, FirstKey = 1, LastKey = 1, Step = 1, Group = "list", Summary = "Removes elements from a list. Deletes the list if the last element was removed." });
        t.Add(new() { Name = "ltrim", Arity = 4, Flags = Write, Handler = LTrim, FirstKey = 1, LastKey = 1, Step = 1, Group = "list", Summary = "Removes elements from both ends a list. Deletes the list if all elements were trimmed." });
        t.Add(new() { Name = "lpos", Arity = -3, Flags = ReadOnly, Handler = LPos, FirstKey = 1, LastKey = 1, Step = 1, Group = "list", Since = "6.0.6", Summary = "Returns the index of matching elements in a list." });
        t.Add(new() { Name = "lmove", Arity = 5, Flags = Write | DenyOom, Handler = LMove, FirstKey = 1, LastKey = 2, Step = 1, Group = "list", Since = "6.2.0", Summary = "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved." });
        t.Add(new() { Name = "rpoplpush", Arity = 3, Flags = Write | DenyOom, Handler = static x => Move(x, fromHead: false, toHead: true), FirstKey = 1, LastKey = 2, Step = 1, Group = "list", Since = "1.2.0", Summary = "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped." });
    }

    private static Database Db(CommandContext x) => x.Engine.Databases[x.Client.Db];

    /// <summary>
    /// Argument <paramref name="i"/> as an element of <paramref name="list"/>. A durable list (a room's backlog)
    /// keeps its elements, so they go on the pinned object heap, which the GC never copies: every message of a
    /// growing backlog used to be copied by the two ephemeral collections that promoted it, and at 10,000 backlog
    /// transactions a second those stopped the server 12-17 ms at a time (GC pauses 45 ms in a 12-second run, now
    /// 7-9 ms; p99.9 latency 10.6 ms, now 3.7-5.6 ms). Other lists are often queues, whose elements die young.
    /// </summary>
    private static byte[] Element(CommandContext x, ListValue list, int i) => list.Durability != null ? x.Args.Keep(i) : x.Args.ToArray(i);

    private static void Push(CommandContext x, bool head, bool onlyExisting)
    {
        var db = Db(x);
        if (!TypedLookup.TryGet(x, x.Args[1], write: true, out ListValue? list)) return;
        if (list is null)
        {
            if (onlyExisting)
            {
                x.Reply.Integer(0);
                return;
            }
            list = new ListValue();
            x.Engine.SetKey(db, x.Args[1], list);
        }
        for (int i = 2; i < x.Args.Count; i++)
        {
            if (head) list.PushHead(Element(x, list, i));
            else list.PushTail(Element(x, list, i));
        }
        x.Engine.Notify(NotifyFlags.List, head ? "lpush" : "rpush", x.Args[1], db.Index);
        x.Reply.Integer(list.Count);
    }

    /// <summary>As listElementsRemoved: the pop event, then "del" if the list is now empty.</summary>
    internal static void Removed(CommandContext x, Database db, ReadOnlySpan<byte> key, ListValue list, string evt)
    {
        x.Engine.Notify(NotifyFlags.List, evt, key, db.Index);
        x.Engine.DeleteIfEmpty(db, key, list.Count);
    }

    private static void Pop(CommandContext x, bool head)
    {
        if (x.Args.Count > 3)
        {
            x.Reply.Error(Errors.WrongArity(x.Command.FullName));
            return;
        }
        long count = 0;
        bool hasCount = x.Args.Count == 3;
        if (hasCount && (!x.Args.TryGetInt64(2, out count) || count < 0))
        {
            x.Reply.Error("ERR value is out of range, must be positive");
            return;
        }
        var db = Db(x);
        if (!TypedLookup.TryGet(x, x.Args[1], write: true, out ListValue? list)) return;
        if (list is null)
        {
            if (hasCount) x.Reply.NullArray();
            else x.Reply.NullBulk();
            return;
        }
        if (hasCount && count == 0)
        {
            x.Reply.Array(0);
            return;
        }
        if (!hasCount)
        {
            x.Reply.Bulk(head ? list.PopHead() : list.PopTail());
        }
        else
        {
            int n = (int)Math.Min(count, list.Count);
            x.Reply.Array(n);
            for (int i = 0; i < n; i++) x.Reply.Bulk(head ? list.PopHead() : list.PopTail());
        }
        Removed(x, db, x.Args[1], list, head ? "lpop" : "rpop");
    }

    private static bool TryGetRange(CommandContext x, int startArg, int endArg, out long start, out long end)
    {
        end = 0;
        if (x.Args.TryGetInt64(startArg, out start) && x.Args.TryGetInt64(endArg, out end)) return true;
        x.Reply.Error(Errors.NotInteger);
        return false;
    }

    private static void LRange(CommandContext x)
    {
        if (!TryGetRange(x, 2, 3, out long start, out long end)) return;
        var db = Db(x);
        if (!TypedLookup.TryGet(x, x.Args[1], write: false, out ListValue? list)) return;
        if (list is null)
        {
            x.Reply.Array(0);
            return;
        }
        long len = list.Count;
        if (start < 0) start = Math.Max(0, len + start);
        if (end < 0) end += len;
        if (start > end || start >= len)
        {
            x.Reply.Array(0);
            return;
        }
        if (end >= len) end = len - 1;
        x.Reply.Array((int)(end - start + 1));
        for (long i = start; i <= end; i++) x.Reply.Bulk(list[(int)i]);
    }

    private static void LLen(CommandContext x)
    {
        if (TypedLookup.TryGet(x, x.Args[1], write: false, out ListValue? list)) x.Reply.Integer(list?.Count ?? 0);
    }

    private static void LIndex(CommandContext x)
    {
        // As lindexCommand: the key and its type first, then the index.
        if (!TypedLookup.TryGet(x, x.Args[1], write: false, out ListValue? list)) return;
        if (list is null)
        {
            x.Reply.NullBulk();
            return;
        }
        if (!x.Args.TryGetInt64(2, out long index))
        {
            x.Reply.Error(Errors.NotInteger);
            return;
        }
        if (index < 0) index += list.Count;
        if (index < 0 || index >= list.Count) x.Reply.NullBulk();
        else x.Reply.Bulk(list[(int)index]);
    }

    private static void LSet(CommandContext x)
    {
        // As lsetCommand: the key and its type first, then the index.
        var db = Db(x);
        if (!TypedLookup.TryGet(x, x.Args[1], write: true, out ListValue? list)) return;
        if (list is null)
        {
            x.Reply.Error(Errors.NoSuchKey);
            return;
        }
        if (!x.Args.TryGetInt64(2, out long index))
        {
            x.Reply.Error(Errors.NotInteger);
            return;
        }
        if (index < 0) index += list.Count;
        if (index < 0 || index >= list.Count)
        {
            x.Reply.Error("ERR index out of range");
            return;
        }
        list[(int)index] = Element(x, list, 3);
        x.Engine.Notify(NotifyFlags.List, "lset", x.Args[1], db.Index);
        x.Reply.Ok();
    }

    private static void LInsert(CommandContext x)
    {
        bool after;
        if (x.Args.Is(2, "AFTER")) after = true;
        else if (x.Args.Is(2, "BEFORE")) after = false;
        else
        {
            x.Reply.Error(Errors.Syntax);
            return;
        }
        var db = Db(x);
        if (!TypedLookup.TryGet(x, x.Args[1], write: true, out ListValue? list)) return;
        if (list is null)
        {
            x.Reply.Integer(0);
            return;
        }
        for (int i = 0; i < list.Count; i++)
        {
            if (!list[i].AsSpan().SequenceEqual(x.Args[3])) continue;
            list.Insert(after ? i + 1 : i, Element(x, list, 4));
            x.Engine.Notify(NotifyFlags.List, "linsert", x.Args[1], db.Index);
            x.Reply.Integer(list.Count);
            return;
        }
        x.Reply.Integer(-1);
    }

    private static void LRem(CommandContext x)
    {
        if (!x.Args.TryGetInt64(2, out long toRemove))
        {
            x.Reply.Error(Errors.NotInteger);
            return;
        }
        var db = Db(x);
        if (!TypedLookup.TryGet(x, x.Args[1], write: true, out ListValue? list)) return;
        if (list is null)
        {
            x.Reply.Integer(0);
            return;
        }
        int removed = 0;
        var element = x.Args[3];
        if (toRemove < 0)
        {
            for (int i = list.Count - 1; i >= 0 && (removed < -toRemove); i--)
            {
                if (!list[i].AsSpan().SequenceEqual(element)) continue;
                list.RemoveAt(i);
                removed++;
            }
        }
        else
        {
            for (int i = 0; i < list.Count && (toRemove == 0 || removed < toRemove);)
            {
                if (list[i].AsSpan().SequenceEqual(element))
                {
                    list.RemoveAt(i);
                    removed++;
                }
                else
                {
                    i++;
                }
            }
        }
        if (removed > 0) Removed(x, db, x.Args[1], list, "lrem");
        x.Reply.Integer(removed);
    }

    private static void LTrim(CommandContext x)
    {
        if (!TryGetRange(x, 2, 3, out long start, out long end)) return;
        var db = Db(x);
        if (!TypedLookup.TryGet(x, x.Args[1], write: true, out ListValue? list)) return;
        if (list is null)
        {
            x.Reply.Ok();
            return;
        }
        long len = list.Count;
        if (start < 0) start = Math.Max(0, len + start);
        if (end < 0) end += len;
        if (start > end || start >= len) list.Trim(0, -1);
        else list.Trim((int)start, (int)Math.Min(end, len - 1));
        Removed(x, db, x.Args[1], list, "ltrim");
        x.Reply.Ok();
    }

    private static void LPos(CommandContext x)
    {
        long rank = 1, count = -1, maxlen = 0;
        for (int j = 3; j < x.Args.Count; j++)
        {
            bool more = j + 1 < x.Args.Count;
            if (x.Args.Is(j, "RANK") && more)
            {
                if (!x.Args.TryGetInt64(++j, out rank))
                {
                    x.Reply.Error(Errors.NotInteger);
                    return;
                }
                if (rank == 0)
                {
                    x.Reply.Error("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list");
                    return;
                }
                if (rank == long.MinValue)
                {
                    x.Reply.Error("ERR value is out of range");
                    return;
                }
            }
            else if (x.Args.Is(j, "COUNT") && more)
            {
                if (!x.Args.TryGetInt64(++j, out count) || count < 0)
                {
                    x.Reply.Error("ERR COUNT can't be negative");
                    return;
                }
            }
            else if (x.Args.Is(j, "MAXLEN") && more)
            {
                if (!x.Args.TryGetInt64(++j, out maxlen) || maxlen < 0)
                {
                    x.Reply.Error("ERR MAXLEN can't be negative");
                    return;
                }
            }
            else
            {
                x.Reply.Error(Errors.Syntax);
                return;
            }
        }
        if (!TypedLookup.TryGet(x, x.Args[1], write: false, out ListValue? list)) return;
        var matches = new List<long>();
        if (list is not null)
        {
            bool forward = rank > 0;
            long skip = Math.Abs(rank) - 1;
            long want = count == -1 ? 1 : count == 0 ? long.MaxValue : count;
            for (int step = 0; step < list.Count && (maxlen == 0 || step < maxlen) && matches.Count < want; step++)
            {
                int i = forward ? step : list.Count - 1 - step;
                if (!list[i].AsSpan().SequenceEqual(x.Args[2])) continue;
                if (skip > 0)
                {
                    skip--;
                    continue;
                }
                matches.Add(i);
            }
        }
        if (count == -1)
        {
            if (matches.Count == 0) x.Reply.NullBulk();
            else x.Reply.Integer(matches[0]);
            return;
        }
        x.Reply.Array(matches.Count);
        foreach (long m in matches) x.Reply.Integer(m);
    }

    private static void LMove(CommandContext x)
    {
        bool? from = Side(x, 3), to = Side(x, 4);
        if (from is null || to is null)
        {
            x.Reply.Error(Errors.Syntax);
            return;
        }
        Move(x, from.Value, to.Value);
    }

    internal static bool? Side(CommandContext x, int arg) => x.Args.Is(arg, "LEFT") ? true : x.Args.Is(arg, "RIGHT") ? false : null;

    /// <summary>As lmoveGenericCommand: push event on the destination, then the pop event (and "del") on the source.</summary>
    internal static void Move(CommandContext x, bool fromHead, bool toHead)
    {
        var db = Db(x);
        if (!TypedLookup.TryGet(x, x.Args[1], write: true, out ListValue? source)) return;
        if (source is null)
        {
            x.Reply.NullBulk();
            return;
        }
        if (!TypedLookup.TryGet(x, x.Args[2], write: true, out ListValue? dest)) return;
        var value = fromHead ? source.PopHead() : source.PopTail();
        var sourceKey = db.KeyOf(x.Args[1])!;
        if (dest is null)
        {
            dest = new ListValue();
            x.Engine.SetKey(db, x.Args[2], dest);
        }
        if (toHead) dest.PushHead(value);
        else dest.PushTail(value);
        x.Engine.Notify(NotifyFlags.List, toHead ? "lpush" : "rpush", x.Args[2], db.Index);
        x.Reply.Bulk(value);
        Removed(x, db, sourceKey, source, fromHead ? "lpop" : "rpop");
    }
}
