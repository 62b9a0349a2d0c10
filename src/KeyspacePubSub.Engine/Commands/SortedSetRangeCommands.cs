using KeyspacePubSub.Engine.Config;
using KeyspacePubSub.Engine.Keyspace;
using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>
/// Sorted-set ranges: every Z*RANGE* read goes through one parser (zrangeGenericCommand) with the range kind and
/// direction preset by the command name; the ZREMRANGEBY* writes and ZCOUNT/ZLEXCOUNT share its range parsing.
/// </summary>
internal static class SortedSetRangeCommands
{
    private enum Kind { Auto, Rank, Score, Lex }

    public static void Register(CommandTable t)
    {
        Read(t, "zrange", Kind.Auto, false, "1.2.0", "Returns members in a sorted set within a range of indexes.");
        Read(t, "zrevrange", Kind.Rank, true, "1.2.0", "Returns members in a sorted set within a range of indexes in reverse order.");
        Read(t, "zrangebyscore", Kind.Score, false, "1.0.5", "Returns members in a sorted set within a range of scores.");
        Read(t, "zrevrangebyscore", Kind.Score, true, "2.2.0", "Returns members in a sorted set within a range of scores in reverse order.");
        Read(t, "zrangebylex", Kind.Lex, false, "2.8.9", "Returns members in a sorted set within a lexicographical range.");
        Read(t, "zrevrangebylex", Kind.Lex, true, "2.8.9", "Returns members in a sorted set within a lexicographical range in reverse order.");
        t.Add(new() { Name = "zrangestore", Arity = -5, Flags = Write | DenyOom, Handler = static x => Range(x, Kind.Auto, false, store: true), FirstKey = 1, LastKey = 2, Step = 1, Group = "sorted-set", Since = "6.2.0", Summary = "Store a range of members from sorted set into another key" });
        t.Add(new() { Name = "zcount", Arity = 4, Flags = ReadOnly | Fast, Handler = static x => Count(x, Kind.Score), FirstKey = 1, LastKey = 1, Step = 1, Group = "sorted-set", Since = "2.0.0", Summary = "Returns the count of members in a sorted set that have scores within a range." });
        t.Add(new() { Name = "zlexcount", Arity = 4, Flags = ReadOnly | Fast, Handler = static x => Count(x, Kind.Lex), FirstKey = 1, LastKey = 1, Step = 1, Group = "sorted-set", Since = "2.8.9", Summary = "Returns the number of members in a sorted set within a lexicographical range." });
        Remove(t, "zremrangebyrank", Kind.Rank, "2.0.0", "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.");
        Remove(t, "zremrangebyscore", Kind.Score, "1.2.0", "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.");
        Remove(t, "zremrangebylex", Kind.Lex, "2.8.9", "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.");
    }

    private static void Read(CommandTable t, string name, Kind kind, bool reverse, string since, string summary) =>
        t.Add(new() { Name = name, Arity = -4, Flags = ReadOnly, Handler = x => Range(x, kind, reverse), FirstKey = 1, LastKey = 1, Step = 1, Group = "sorted-set", Since = since, Summary = summary });

    private static void Remove(CommandTable t, string name, Kind kind, string since, string summary) =>
        t.Add(new() { Name = name, Arity = 4, Flags = Write, Handler = x => RemoveRange(x, kind, name), FirstKey = 1, LastKey = 1, Step = 1, Group = "sorted-set", Since = since, Summary = summary });

    private static bool TryParseRange(CommandContext x, Kind kind, int minIdx, int maxIdx, out ZRange range)
    {
        bool ok = kind == Kind.Score
            ? ZRange.TryParseScore(x.Args[minIdx], x.Args[maxIdx], out range)
            : ZRange.TryParseLex(x.Args[minIdx], x.Args[maxIdx], out range);
        if (!ok) x.Reply.Error(kind == Kind.Score ? "ERR min or max is not a float" : "ERR min or max not valid string range item");
        return ok;
    }

    /// <summary>zrangeGenericCommand; <paramref name="store"/>: ZRANGESTORE dst src ..., the range stored in dst (no WITHSCORES).</summary>
    private static void Range(CommandContext x, Kind kind, bool reverse, bool store = false)
    {
        bool withScores = false, directionSet = kind != Kind.Auto;
        long offset = 0, limit = -1;
        int a = store ? 1 : 0; // the arguments after the destination
        for (int j = 4 + a; j < x.Args.Count; j++)
        {
            int left = x.Args.Count - j - 1;
            if (!store && x.Args.Is(j, "WITHSCORES")) withScores = true;
            else if (x.Args.Is(j, "LIMIT") && left >= 2)
            {
                if (!x.Args.TryGetInt64(j + 1, out offset) || !x.Args.TryGetInt64(j + 2, out limit))
                {
                    x.Reply.Error(Errors.NotInteger);
                    return;
                }
                j += 2;
            }
            else if (!directionSet && x.Args.Is(j, "REV")) reverse = directionSet = true;
            else if (kind == Kind.Auto && x.Args.Is(j, "BYLEX")) kind = Kind.Lex;
            else if (kind == Kind.Auto && x.Args.Is(j, "BYSCORE")) kind = Kind.Score;
            else
            {
                x.Reply.Error(Errors.Syntax);
                return;
            }
        }
        if (kind == Kind.Auto) kind = Kind.Rank;
        if (limit != -1 && kind == Kind.Rank)
        {
            x.Reply.Error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
            return;
        }
        if (withScores && kind == Kind.Lex)
        {
            x.Reply.Error("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
            return;
        }
        int minIdx = 2 + a, maxIdx = 3 + a;
        if (reverse && kind != Kind.Rank) (minIdx, maxIdx) = (maxIdx, minIdx);
        long start = 0, end = 0;
        ZRange range = default;
        if (kind == Kind.Rank)
        {
            if (!x.Args.TryGetInt64(minIdx, out start) || !x.Args.TryGetInt64(maxIdx, out end))
            {
                x.Reply.Error(Errors.NotInteger);
                return;
            }
        }
        else if (!TryParseRange(x, kind, minIdx, maxIdx, out range))
        {
            return;
        }
        if (!TypedLookup.TryGet(x, x.Args[1 + a], write: false, out SortedSetValue? zset)) return;
        var nodes = zset is null ? [] : kind == Kind.Rank ? ByRank(zset, start, end, reverse) : ByRange(zset, range, offset, limit, reverse);
        if (store)
        {
            var result = new SortedSetValue();
            foreach (var n in nodes) result.Set(n.Member, n.Score);
            SortedSetAlgebraCommands.StoreResult(x, x.Engine.Databases[x.Client.Db], result, "zrangestore");
            return;
        }
        ReplyMembers(x, nodes, nodes.Count, withScores);
    }

    /// <summary>Members in the given order; with scores a flat array in RESP2, [member, score] pairs in RESP3.</summary>
    internal static void ReplyMembers(CommandContext x, IEnumerable<SkipList.Node> nodes, int count, bool withScores)
    {
        bool pairs = withScores && x.Reply.Resp3;
        x.Reply.Array(withScores && !pairs ? count * 2 : count);
        foreach (var n in nodes)
        {
            if (pairs) x.Reply.Array(2);
            x.Reply.Bulk(n.Member);
            if (withScores) x.Reply.Double(n.Score);
        }
    }

    /// <summary>As genericZrangebyrankCommand's index sanitising; null when the range is empty.</summary>
    private static bool Sanitize(long length, ref long start, ref long end)
    {
        if (start < 0) start += length;
        if (end < 0) end += length;
        if (start < 0) start = 0;
        if (start > end || start >= length) return false;
        if (end >= length) end = length - 1;
        return true;
    }

    private static List<SkipList.Node> ByRank(SortedSetValue zset, long start, long end, bool reverse)
    {
        var result = new List<SkipList.Node>();
        long length = zset.Count;
        if (!Sanitize(length, ref start, ref end)) return result;
        var n = zset.List.GetByRank(reverse ? length - start : start + 1);
        for (long i = start; i <= end && n != null; i++)
        {
            result.Add(n);
            n = reverse ? n.Backward : n.Next;
        }
        return result;
    }

    /// <summary>genericZrangebyscoreCommand / genericZrangebylexCommand: offset skips, a negative limit is no limit.</summary>
    private static List<SkipList.Node> ByRange(SortedSetValue zset, in ZRange range, long offset, long limit, bool reverse)
    {
        var result = new List<SkipList.Node>();
        if (offset > 0 && offset >= zset.Count) return result;
        if (offset < 0) return result;
        var n = reverse ? zset.List.LastInRange(range) : zset.List.FirstInRange(range);
        for (; n != null && offset > 0; offset--) n = reverse ? n.Backward : n.Next;
        while (n != null && limit-- != 0)
        {
            if (reverse ? !range.AboveMin(n) : !range.BelowMax(n)) break;
            result.Add(n);
            n = reverse ? n.Backward : n.Next;
        }
        return result;
    }

    private static void Count(CommandContext x, Kind kind)
    {
        if (!TryParseRange(x, kind, 2, 3, out var range)) return;
        if (!SortedSetCommands.TryGet(x, write: false, out var zset)) return;
        x.Reply.Integer(zset?.CountInRange(range) ?? 0);
    }

    /// <summary>zremrangeGenericCommand: the event is named after the command, then "del" if the set emptied.</summary>
    private static void RemoveRange(CommandContext x, Kind kind, string evt)
    {
        long start = 0, end = 0;
        ZRange range = default;
        if (kind == Kind.Rank)
        {
            if (!x.Args.TryGetInt64(2, out start) || !x.Args.TryGetInt64(3, out end))
            {
                x.Reply.Error(Errors.NotInteger);
                return;
            }
        }
        else if (!TryParseRange(x, kind, 2, 3, out range))
        {
            return;
        }
        if (!SortedSetCommands.TryGet(x, write: true, out var zset)) return;
        if (zset is null)
        {
            x.Reply.Integer(0);
            return;
        }
        long deleted;
        if (kind == Kind.Rank)
        {
            deleted = Sanitize(zset.Count, ref start, ref end) ? zset.DeleteRangeByRank(start, end) : 0;
        }
        else
        {
            deleted = zset.DeleteRange(range);
        }
        if (deleted > 0)
        {
            var db = SortedSetCommands.Db(x);
            x.Engine.Notify(NotifyFlags.Zset, evt, x.Args[1], db.Index);
            x.Engine.DeleteIfEmpty(db, x.Args[1], zset.Count);
        }
        x.Reply.Integer(deleted);
    }
}
