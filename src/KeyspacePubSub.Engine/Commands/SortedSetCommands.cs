using KeyspacePubSub.Engine.Config;
using KeyspacePubSub.Engine.Keyspace;
using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>Sorted-set writes and point reads (src/t_zset.c): time-window backlogs. Ranges are in <see cref="SortedSetRangeCommands"/>.</summary>
internal static class SortedSetCommands
{
    public static void Register(CommandTable t)
    {
        t.Add(new() { Name = "zadd", Arity = -4, Flags = Write | DenyOom | Fast, Handler = static x => ZAdd(x, incrOnly: false), FirstKey = 1, LastKey = 1, Step = 1, Group = "sorted-set", Since = "1.2.0", Summary = "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist." });
        t.Add(new() { Name = "zincrby", Arity = 4, Flags = Write | DenyOom | Fast, Handler = static x => ZAdd(x, incrOnly: true), FirstKey = 1, LastKey = 1, Step = 1, Group = "sorted-set", Since = "1.2.0", Summary = "Increments the score of a member in a sorted set." });
        t.Add(new() { Name = "zrem", Arity = -3, Flags = Write | Fast, Handler = ZRem, FirstKey = 1, LastKey = 1, Step = 1, Group = "sorted-set", Since = "1.2.0", Summary = "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed." });
        t.Add(new() { Name = "zcard", Arity = 2, Flags = ReadOnly | Fast, Handler = ZCard, FirstKey = 1, LastKey = 1, Step = 1, Group = "sorted-set", Since = "1.2.0", Summary = "Returns the number of members in a sorted set." });
        t.Add(new() { Name = "zscore", Arity = 3, Flags = ReadOnly | Fast, Handler = ZScore, FirstKey = 1, LastKey = 1, Step = 1, Group = "sorted-set", Since = "1.2.0", Summary = "Returns the score of a member in a sorted set." });
        t.Add(new() { Name = "zmscore", Arity = -3, Flags = ReadOnly | Fast, Handler = ZMScore, FirstKey = 1, LastKey = 1, Step = 1, Group = "sorted-set", Since = "6.2.0", Summary = "Returns the score of one or more members in a sorted set." });
        t.Add(new() { Name = "zrank", Arity = 3, Flags = ReadOnly | Fast, Handler = static x => ZRank(x, reverse: false), FirstKey = 1, LastKey = 1, Step = 1, Group = "sorted-set", Since = "2.0.0", Summary = "Returns the index of a member in a sorted set ordered by ascending scores." });
        t.Add(new() { Name = "zrevrank", Arity = 3, Flags = ReadOnly | Fast, Handler = static x => ZRank(x, reverse: true), FirstKey = 1, LastKey = 1, Step = 1, Group = "sorted-set", Since = "2.0.0", Summary = "Returns the index of a member in a sorted set ordered by descending scores." });
        t.Add(new() { Name = "zpopmin", Arity = -2, Flags = Write | Fast, Handler = static x => ZPop(x, max: false), FirstKey = 1, LastKey = 1, Step = 1, Group = "sorted-set", Since = "5.0.0", Summary = "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped." });
        t.Add(new() { Name = "zpopmax", Arity = -2, Flags = Write | Fast, Handler = static x => ZPop(x, max: true), FirstKey = 1, LastKey = 1, Step = 1, Group = "sorted-set", Since = "5.0.0", Summary = "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped." });
        t.Add(new() { Name = "zscan", Arity = -3, Flags = ReadOnly, Handler = ZScan, FirstKey = 1, LastKey = 1, Step = 1, Group = "sorted-set", Since = "2.8.0", Summary = "Iterates over members and scores of a sorted set." });
    }

    internal static Database Db(CommandContext x) => x.Engine.Databases[x.Client.Db];

    internal static bool TryGet(CommandContext x, bool write, out SortedSetValue? zset) => TypedLookup.TryGet(x, x.Args[1], write, out zset);

    /// <summary>getDoubleFromObject: the whole argument is a number (no leading space, no overflow), not NaN.</summary>
    internal static bool TryParseScore(ReadOnlySpan<byte> s, out double value) => Strict.TryParseStrtod(s, out value);

    [Flags]
    private enum AddFlags { None = 0, Nx = 1, Xx = 2, Gt = 4, Lt = 8, Ch = 16, Incr = 32 }

    /// <summary>zaddGenericCommand: options, then every score parsed before anything changes.</summary>
    private static void ZAdd(CommandContext x, bool incrOnly)
    {
        var flags = incrOnly ? AddFlags.Incr : AddFlags.None;
        int scoreIdx = 2;
        for (; scoreIdx < x.Args.Count; scoreIdx++)
        {
            if (x.Args.Is(scoreIdx, "NX")) flags |= AddFlags.Nx;
            else if (x.Args.Is(scoreIdx, "XX")) flags |= AddFlags.Xx;
            else if (x.Args.Is(scoreIdx, "CH")) flags |= AddFlags.Ch;
            else if (x.Args.Is(scoreIdx, "INCR")) flags |= AddFlags.Incr;
            else if (x.Args.Is(scoreIdx, "GT")) flags |= AddFlags.Gt;
            else if (x.Args.Is(scoreIdx, "LT")) flags |= AddFlags.Lt;
            else break;
        }
        int elements = x.Args.Count - scoreIdx;
        if (elements % 2 != 0 || elements == 0)
        {
            x.Reply.Error(Errors.Syntax);
            return;
        }
        elements /= 2;
        bool nx = flags.HasFlag(AddFlags.Nx), xx = flags.HasFlag(AddFlags.Xx), gt = flags.HasFlag(AddFlags.Gt), lt = flags.HasFlag(AddFlags.Lt);
        bool incr = flags.HasFlag(AddFlags.Incr);
        if (nx && xx)
        {
            x.Reply.Error("ERR XX and NX options at the same time are not compatible");
            return;
        }
        if ((gt && nx) || (lt && nx) || (gt && lt))
        {
            x.Reply.Error("ERR GT, LT, and/or NX options at the same time are not compatible");
            return;
        }
        if (incr && elements > 1)
        {
            x.Reply.Error("ERR INCR option supports a single increment-element pair");
            return;
        }
        var scores = new double[elements];
        for (int j = 0; j < elements; j++)
        {
            if (!TryParseScore(x.Args[scoreIdx + j * 2], out scores[j]))
            {
                x.Reply.Error(Errors.NotFloat);
                return;
            }
        }
        Apply(x, flags, scores, scoreIdx + 1, 2);
    }

    /// <summary>GEOADD's way in: ZADD [NX|XX] [CH] with scores already computed, members from <paramref name="firstMember"/> every <paramref name="stride"/> arguments.</summary>
    internal static void AddScored(CommandContext x, bool nx, bool xx, bool ch, double[] scores, int firstMember, int stride)
    {
        var flags = (nx ? AddFlags.Nx : 0) | (xx ? AddFlags.Xx : 0) | (ch ? AddFlags.Ch : 0);
        if (scores.Length == 0) x.Reply.Error(Errors.Syntax);
        else Apply(x, flags, scores, firstMember, stride);
    }

    /// <summary>zaddGenericCommand once its arguments are checked: the changes, the reply and the event.</summary>
    private static void Apply(CommandContext x, AddFlags flags, double[] scores, int firstMember, int stride)
    {
        bool nx = flags.HasFlag(AddFlags.Nx), xx = flags.HasFlag(AddFlags.Xx), gt = flags.HasFlag(AddFlags.Gt), lt = flags.HasFlag(AddFlags.Lt);
        bool incr = flags.HasFlag(AddFlags.Incr);
        int elements = scores.Length;
        if (!TryGet(x, write: true, out var zset)) return;
        int added = 0, updated = 0, processed = 0;
        double score = 0;
        if (zset is null && !xx)
        {
            zset = new SortedSetValue();
            x.Engine.SetKey(Db(x), x.Args[1], zset);
        }
        if (zset != null)
        {
            for (int j = 0; j < elements; j++)
            {
                score = scores[j];
                var member = x.Args[firstMember + j * stride];
                var outcome = Add(zset, member, ref score, nx, xx, gt, lt, incr);
                if (outcome == AddOutcome.NaN)
                {
                    x.Reply.Error("ERR resulting score is not a number (NaN)");
                    Notify(x, incr, added + updated);
                    return;
                }
                if (outcome == AddOutcome.Added) added++;
                if (outcome == AddOutcome.Updated) updated++;
                if (outcome != AddOutcome.Nop) processed++;
            }
        }
        if (incr)
        {
            if (processed > 0) x.Reply.Double(score);
            else x.Reply.NullBulk();
        }
        else
        {
            x.Reply.Integer(flags.HasFlag(AddFlags.Ch) ? added + updated : added);
        }
        Notify(x, incr, added + updated);
    }

    private static void Notify(CommandContext x, bool incr, int changed)
    {
        if (changed > 0) x.Engine.Notify(NotifyFlags.Zset, incr ? "zincr" : "zadd", x.Args[1], x.Client.Db);
    }

    private enum AddOutcome { Nop, Added, Updated, Unchanged, NaN }

    /// <summary>zsetAdd: <paramref name="score"/> becomes the member's new score when it is processed.</summary>
    private static AddOutcome Add(SortedSetValue zset, ReadOnlySpan<byte> member, ref double score, bool nx, bool xx, bool gt, bool lt, bool incr)
    {
        if (zset.TryGetScore(member, out double current))
        {
            if (nx) return AddOutcome.Nop;
            double next = incr ? score + current : score;
            if (double.IsNaN(next)) return AddOutcome.NaN;
            if ((lt && next >= current) || (gt && next <= current)) return AddOutcome.Nop;
            score = next;
            if (next == current) return AddOutcome.Unchanged;
            zset.Set(member, next);
            return AddOutcome.Updated;
        }
        if (xx) return AddOutcome.Nop;
        zset.Set(member, score);
        return AddOutcome.Added;
    }

    private static void ZRem(CommandContext x)
    {
        if (!TryGet(x, write: true, out var zset)) return;
        int deleted = 0;
        if (zset != null)
        {
            for (int i = 2; i < x.Args.Count; i++)
            {
                if (zset.Remove(x.Args[i])) deleted++;
            }
        }
        if (deleted > 0)
        {
            var db = Db(x);
            x.Engine.Notify(NotifyFlags.Zset, "zrem", x.Args[1], db.Index);
            x.Engine.DeleteIfEmpty(db, x.Args[1], zset!.Count);
        }
        x.Reply.Integer(deleted);
    }

    private static void ZCard(CommandContext x)
    {
        if (TryGet(x, write: false, out var zset)) x.Reply.Integer(zset?.Count ?? 0);
    }

    private static void ZScore(CommandContext x)
    {
        if (!TryGet(x, write: false, out var zset)) return;
        if (zset != null && zset.TryGetScore(x.Args[2], out double score)) x.Reply.Double(score);
        else x.Reply.NullBulk();
    }

    private static void ZMScore(CommandContext x)
    {
        if (!TryGet(x, write: false, out var zset)) return;
        x.Reply.Array(x.Args.Count - 2);
        for (int i = 2; i < x.Args.Count; i++)
        {
            if (zset != null && zset.TryGetScore(x.Args[i], out double score)) x.Reply.Double(score);
            else x.Reply.NullBulk();
        }
    }

    private static void ZRank(CommandContext x, bool reverse)
    {
        if (!TryGet(x, write: false, out var zset)) return;
        long rank = zset?.Rank(x.Args[2], reverse) ?? -1;
        if (rank >= 0) x.Reply.Integer(rank);
        else x.Reply.NullBulk();
    }

    /// <summary>zpopMinMaxCommand / genericZpopCommand: a flat array, or [member, score] pairs in RESP3 with a count.</summary>
    private static void ZPop(CommandContext x, bool max)
    {
        if (x.Args.Count > 3)
        {
            x.Reply.Error(Errors.Syntax);
            return;
        }
        long count = -1;
        if (x.Args.Count == 3 && (!x.Args.TryGetInt64(2, out count) || count < 0))
        {
            x.Reply.Error("ERR value is out of range, must be positive");
            return;
        }
        bool nested = x.Reply.Resp3 && count != -1;
        if (!TryGet(x, write: true, out var zset)) return;
        if (zset is null || count == 0)
        {
            x.Reply.Array(0);
            return;
        }
        if (count == -1) count = 1;
        long n = Math.Min(count, zset.Count);
        x.Reply.Array((int)(nested ? n : n * 2));
        for (long i = 0; i < n; i++)
        {
            var node = max ? zset.List.Last! : zset.List.First!;
            if (nested) x.Reply.Array(2);
            x.Reply.Bulk(node.Member);
            x.Reply.Double(node.Score);
            zset.Remove(node.Member);
        }
        var db = Db(x);
        x.Engine.Notify(NotifyFlags.Zset, max ? "zpopmax" : "zpopmin", x.Args[1], db.Index);
        x.Engine.DeleteIfEmpty(db, x.Args[1], zset.Count);
    }

    /// <summary>ZSCAN: a listpack sorted set whole in score order with cursor 0, a skiplist's members in pages (<see cref="ScanArgs.ReplyPage"/>).</summary>
    private static void ZScan(CommandContext x)
    {
        if (!ScanArgs.TryCursor(x, 2, out ulong cursor) || !TryGet(x, write: false, out var zset)) return;
        byte[]? pattern = null;
        long count = 10;
        if (zset != null && !ScanArgs.TryOptions(x, 3, out pattern, out count)) return;
        zset ??= new SortedSetValue();
        var whole = new List<(byte[] Member, double Score)>();
        if (!zset.IsSkiplistEncoded)
        {
            for (var n = zset.List.First; n != null; n = n.Next) whole.Add((n.Member!, n.Score));
        }
        ScanArgs.ReplyPage(x, cursor, count, pattern, zset.IsSkiplistEncoded, whole, zset.Count,
            slot =>
            {
                var member = zset.MemberAt(slot);
                zset.TryGetScore(member, out double score);
                return (Member: member, Score: score);
            },
            p => p.Member, 2, p =>
            {
                x.Reply.Bulk(p.Member);
                x.Reply.Bulk(RespWriter.FormatDouble(p.Score));
            });
    }
}
