using KeyspacePubSub.Engine.Config;
using KeyspacePubSub.Engine.Keyspace;
using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>
/// Pops from the first of several lists or sorted sets that has elements, blocking when none has (t_list.c's
/// blockingPopGenericCommand, t_zset.c's blockingGenericZpopCommand, Redis 7.0), and their non-blocking
/// LMPOP and ZMPOP. A blocked client is served by running the command again for the key that became ready
/// (see <see cref="Engine.BlockForKeys"/>), so it pops, replies and notifies exactly as here.
/// </summary>
internal static class BlockingCommands
{
    public static void Register(CommandTable t)
    {
        t.Add(new() { Name = "blpop", Arity = -3, Flags = Write | NoScript | Blocking, Handler = static x => BPop(x, head: true), FirstKey = 1, LastKey = -2, Step = 1, Group = "list", Since = "2.0.0", Summary = "Remove and get the first element in a list, or block until one is available" });
        t.Add(new() { Name = "brpop", Arity = -3, Flags = Write | NoScript | Blocking, Handler = static x => BPop(x, head: false), FirstKey = 1, LastKey = -2, Step = 1, Group = "list", Since = "2.0.0", Summary = "Remove and get the last element in a list, or block until one is available" });
        t.Add(new() { Name = "brpoplpush", Arity = 4, Flags = Write | DenyOom | NoScript | Blocking, Handler = static x => BMove(x, fromHead: false, toHead: true, timeoutArg: 3), FirstKey = 1, LastKey = 2, Step = 1, Group = "list", Since = "2.2.0", Summary = "Pop an element from a list, push it to another list and return it; or block until one is available" });
        t.Add(new() { Name = "blmove", Arity = 6, Flags = Write | DenyOom | NoScript | Blocking, Handler = BLMove, FirstKey = 1, LastKey = 2, Step = 1, Group = "list", Since = "6.2.0", Summary = "Pop an element from a list, push it to another list and return it; or block until one is available" });
        t.Add(new() { Name = "lmpop", Arity = -4, Flags = Write | MovableKeys, Handler = static x => MPop(x, numKeysArg: 1, sortedSet: false), KeyNumIndex = 1, Group = "list", Since = "7.0.0", Summary = "Pop elements from a list" });
        t.Add(new() { Name = "blmpop", Arity = -5, Flags = Write | Blocking | MovableKeys, Handler = static x => MPop(x, numKeysArg: 2, sortedSet: false), KeyNumIndex = 2, Group = "list", Since = "7.0.0", Summary = "Pop elements from a list, or block until one is available" });
        t.Add(new() { Name = "bzpopmin", Arity = -3, Flags = Write | NoScript | Blocking | Fast, Handler = static x => BZPop(x, max: false), FirstKey = 1, LastKey = -2, Step = 1, Group = "sorted-set", Since = "5.0.0", Summary = "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available" });
        t.Add(new() { Name = "bzpopmax", Arity = -3, Flags = Write | NoScript | Blocking | Fast, Handler = static x => BZPop(x, max: true), FirstKey = 1, LastKey = -2, Step = 1, Group = "sorted-set", Since = "5.0.0", Summary = "Remove and return the member with the highest score from one or more sorted sets, or block until one is available" });
        t.Add(new() { Name = "zmpop", Arity = -4, Flags = Write | MovableKeys, Handler = static x => MPop(x, numKeysArg: 1, sortedSet: true), KeyNumIndex = 1, Group = "sorted-set", Since = "7.0.0", Summary = "Remove and return members with scores in a sorted set" });
        t.Add(new() { Name = "wait", Arity = 3, Flags = NoScript, Handler = Wait, GroupAcl = AclCategory.Connection, Since = "3.0.0", Summary = "Wait for the synchronous replication of all the write commands sent in the context of the current connection" });
        t.Add(new() { Name = "bzmpop", Arity = -5, Flags = Write | Blocking | MovableKeys, Handler = static x => MPop(x, numKeysArg: 2, sortedSet: true), KeyNumIndex = 2, Group = "sorted-set", Since = "7.0.0", Summary = "Remove and return members with scores in a sorted set or block until one is available" });
    }

    private static Database Db(CommandContext x) => x.Engine.Databases[x.Client.Db];

    /// <summary>
    /// As getTimeoutFromObjectOrReply in seconds: a long double, times 1000 rounded up to whole milliseconds
    /// (converted as C does: out of range becomes LLONG_MIN, hence "negative"), then made a Unix-ms deadline
    /// (0: none). A deadline past the largest time wraps, as in Redis, where it is never reached either.
    /// </summary>
    private static bool TryDeadline(CommandContext x, int arg, out long deadline)
    {
        deadline = 0;
        if (!LongDouble.TryParse(x.Args[arg], out var seconds))
        {
            x.Reply.Error("ERR timeout is not a float or out of range");
            return false;
        }
        long tval = seconds.ThousandthsCeiling();
        if (tval < 0)
        {
            x.Reply.Error("ERR timeout is negative");
            return false;
        }
        if (tval > 0) deadline = unchecked(tval + x.Engine.NowMs);
        return true;
    }

    /// <summary>As getTimeoutFromObjectOrReply in milliseconds (WAIT, XREAD's BLOCK): an integer, not negative.</summary>
    internal static bool TryMilliseconds(CommandContext x, int arg, out long ms)
    {
        if (!x.Args.TryGetInt64(arg, out ms))
        {
            x.Reply.Error("ERR timeout is not an integer or out of range");
            return false;
        }
        if (ms >= 0) return true;
        x.Reply.Error("ERR timeout is negative");
        return false;
    }

    /// <summary>
    /// WAIT numreplicas timeout (replication.c): this server has no replicas, so none ever acknowledges. Zero
    /// replicas asked for (or inside MULTI) answer 0 at once; more wait out the timeout (milliseconds; 0 for ever),
    /// then answer 0, as Redis does with no replica connected.
    /// </summary>
    private static void Wait(CommandContext x)
    {
        if (!x.Args.TryGetInt64(1, out long replicas))
        {
            x.Reply.Error(Errors.NotInteger);
            return;
        }
        if (!TryMilliseconds(x, 2, out long ms)) return;
        if (replicas <= 0 || !Engine.MayBlock(x.Client)) x.Reply.Integer(0);
        else x.Engine.BlockForKeys(x, [], ms > 0 ? unchecked(ms + x.Engine.NowMs) : 0, BlockKind.Replicas);
    }

    /// <summary>The keys from <paramref name="first"/>, <paramref name="count"/> of them, that a run looks at: all, or the one that became ready.</summary>
    private static IEnumerable<int> Candidates(CommandContext x, int first, int count)
    {
        var serving = Engine.ServingKey(x.Client);
        for (int i = first; i < first + count; i++)
        {
            if (serving is null || x.Args[i].SequenceEqual(serving)) yield return i;
        }
    }

    private static IEnumerable<byte[]> KeyCopies(CommandContext x, int first, int count)
    {
        for (int i = first; i < first + count; i++) yield return x.Args.ToArray(i);
    }

    /// <summary>BLPOP / BRPOP key [key ...] timeout: [key, element] from the first list with elements.</summary>
    private static void BPop(CommandContext x, bool head)
    {
        if (!TryDeadline(x, x.Args.Count - 1, out long deadline)) return;
        int keys = x.Args.Count - 2;
        foreach (int i in Candidates(x, 1, keys))
        {
            if (!TypedLookup.TryGet(x, x.Args[i], write: true, out ListValue? list)) return;
            if (list is null) continue;
            x.Reply.Array(2);
            x.Reply.Bulk(x.Args[i]);
            x.Reply.Bulk(head ? list.PopHead() : list.PopTail());
            ListCommands.Removed(x, Db(x), x.Args[i], list, head ? "lpop" : "rpop");
            return;
        }
        if (!Engine.MayBlock(x.Client)) x.Reply.NullArray();
        else x.Engine.BlockForKeys(x, KeyCopies(x, 1, keys), deadline, BlockKind.List);
    }

    private static void BLMove(CommandContext x)
    {
        bool? from = ListCommands.Side(x, 3), to = ListCommands.Side(x, 4);
        if (from is null || to is null)
        {
            x.Reply.Error(Errors.Syntax);
            return;
        }
        BMove(x, from.Value, to.Value, timeoutArg: 5);
    }

    /// <summary>BLMOVE / BRPOPLPUSH: LMOVE when the source has elements; else block (a null bulk inside MULTI).</summary>
    private static void BMove(CommandContext x, bool fromHead, bool toHead, int timeoutArg)
    {
        if (!TryDeadline(x, timeoutArg, out long deadline)) return;
        if (!TypedLookup.TryGet(x, x.Args[1], write: true, out ListValue? source)) return;
        if (source != null) ListCommands.Move(x, fromHead, toHead);
        else if (!Engine.MayBlock(x.Client)) x.Reply.NullBulk();
        else x.Engine.BlockForKeys(x, KeyCopies(x, 1, 1), deadline, BlockKind.List);
    }

    /// <summary>BZPOPMIN / BZPOPMAX key [key ...] timeout: [key, member, score] from the first sorted set with members.</summary>
    private static void BZPop(CommandContext x, bool max)
    {
        if (!TryDeadline(x, x.Args.Count - 1, out long deadline)) return;
        int keys = x.Args.Count - 2;
        foreach (int i in Candidates(x, 1, keys))
        {
            if (!TypedLookup.TryGet(x, x.Args[i], write: true, out SortedSetValue? zset)) return;
            if (zset is null) continue;
            x.Reply.Array(3);
            x.Reply.Bulk(x.Args[i]);
            PopMember(x, zset, max, pair: false);
            ZsetRemoved(x, x.Args[i], zset, max);
            return;
        }
        if (!Engine.MayBlock(x.Client)) x.Reply.NullArray();
        else x.Engine.BlockForKeys(x, KeyCopies(x, 1, keys), deadline, BlockKind.SortedSet);
    }

    private static void PopMember(CommandContext x, SortedSetValue zset, bool max, bool pair)
    {
        var node = max ? zset.List.Last! : zset.List.First!;
        if (pair) x.Reply.Array(2);
        x.Reply.Bulk(node.Member);
        x.Reply.Double(node.Score);
        zset.Remove(node.Member);
    }

    private static void ZsetRemoved(CommandContext x, ReadOnlySpan<byte> key, SortedSetValue zset, bool max)
    {
        var db = Db(x);
        x.Engine.Notify(NotifyFlags.Zset, max ? "zpopmax" : "zpopmin", key, db.Index);
        x.Engine.DeleteIfEmpty(db, key, zset.Count);
    }

    /// <summary>
    /// LMPOP / BLMPOP / ZMPOP / BZMPOP ([timeout] numkeys key [key ...] LEFT|RIGHT|MIN|MAX [COUNT count]): as
    /// lmpopGenericCommand and zmpopGenericCommand, numkeys, the side and COUNT are checked before the timeout;
    /// the reply is [key, [elements]] (sorted sets: [member, score] pairs), or a null array when nothing was popped.
    /// </summary>
    private static void MPop(CommandContext x, int numKeysArg, bool sortedSet)
    {
        bool blocking = numKeysArg == 2;
        if (!x.Args.TryGetInt64(numKeysArg, out long numKeys) || numKeys < 1)
        {
            x.Reply.Error("ERR numkeys should be greater than 0");
            return;
        }
        long whereArg = numKeysArg + numKeys + 1;
        if (whereArg >= x.Args.Count)
        {
            x.Reply.Error(Errors.Syntax);
            return;
        }
        int w = (int)whereArg;
        bool? first = sortedSet
            ? (x.Args.Is(w, "MIN") ? true : x.Args.Is(w, "MAX") ? false : null)
            : (x.Args.Is(w, "LEFT") ? true : x.Args.Is(w, "RIGHT") ? false : null);
        if (first is null)
        {
            x.Reply.Error(Errors.Syntax);
            return;
        }
        long count = -1;
        for (int j = w + 1; j < x.Args.Count; j++)
        {
            if (count == -1 && x.Args.Is(j, "COUNT") && j + 1 < x.Args.Count)
            {
                j++;
                if (!x.Args.TryGetInt64(j, out count) || count < 1)
                {
                    x.Reply.Error("ERR count should be greater than 0");
                    return;
                }
            }
            else
            {
                x.Reply.Error(Errors.Syntax);
                return;
            }
        }
        if (count == -1) count = 1;
        long deadline = 0;
        if (blocking && !TryDeadline(x, 1, out deadline)) return;
        int keys = (int)numKeys;
        foreach (int i in Candidates(x, numKeysArg + 1, keys))
        {
            if (sortedSet ? PopRangeZset(x, i, first.Value, count) : PopRangeList(x, i, first.Value, count)) return;
        }
        if (!blocking || !Engine.MayBlock(x.Client)) x.Reply.NullArray();
        else x.Engine.BlockForKeys(x, KeyCopies(x, numKeysArg + 1, keys), deadline, sortedSet ? BlockKind.SortedSet : BlockKind.List);
    }

    /// <summary>As listPopRangeAndReplyWithKey: true when it replied (popped, or WRONGTYPE).</summary>
    private static bool PopRangeList(CommandContext x, int keyArg, bool head, long count)
    {
        if (!TypedLookup.TryGet(x, x.Args[keyArg], write: true, out ListValue? list)) return true;
        if (list is null) return false;
        int n = (int)Math.Min(count, list.Count);
        x.Reply.Array(2);
        x.Reply.Bulk(x.Args[keyArg]);
        x.Reply.Array(n);
        for (int i = 0; i < n; i++) x.Reply.Bulk(head ? list.PopHead() : list.PopTail());
        ListCommands.Removed(x, Db(x), x.Args[keyArg], list, head ? "lpop" : "rpop");
        return true;
    }

    /// <summary>As genericZpopCommand with a key and nested pairs: true when it replied (popped, or WRONGTYPE).</summary>
    private static bool PopRangeZset(CommandContext x, int keyArg, bool min, long count)
    {
        if (!TypedLookup.TryGet(x, x.Args[keyArg], write: true, out SortedSetValue? zset)) return true;
        if (zset is null) return false;
        int n = (int)Math.Min(count, zset.Count);
        x.Reply.Array(2);
        x.Reply.Bulk(x.Args[keyArg]);
        x.Reply.Array(n);
        for (int i = 0; i < n; i++) PopMember(x, zset, max: !min, pair: true);
        ZsetRemoved(x, x.Args[keyArg], zset, max: !min);
        return true;
    }
}
