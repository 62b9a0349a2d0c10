using KeyspacePubSub.Engine.Keyspace;
using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>
/// ZRANDMEMBER key [count [WITHSCORES]] (t_zset.c, zrandmemberWithCountCommand): HRANDFIELD's rules and
/// <see cref="RandomReply"/>'s picks over the sorted set's ranks. A count covering the whole set answers it from
/// the highest score down, as Redis 7.0 does (tried: ZADD z 1 a 2 b 3 c, ZRANDMEMBER z 10 answers c, b, a).
/// </summary>
internal static class ZRandMemberCommand
{
    public static void Register(CommandTable t) =>
        t.Add(new() { Name = "zrandmember", Arity = -2, Flags = ReadOnly, Handler = ZRandMember, FirstKey = 1, LastKey = 1, Step = 1, Group = "sorted-set", Since = "6.2.0", Summary = "Returns one or more random members from a sorted set." });

    /// <summary>Bytes a score takes in a reply at most: RESP2's bulk string or RESP3's double of 17 significant digits.</summary>
    private const int ScoreBytes = 32;

    private static void ZRandMember(CommandContext x)
    {
        if (!RandomReply.TryParseCount(x, "WITHSCORES", out long count, out bool withScores)) return;
        if (!SortedSetCommands.TryGet(x, write: false, out var zset)) return;
        if (x.Args.Count == 2)
        {
            if (zset is null) x.Reply.NullBulk();
            else x.Reply.Bulk(At(zset, Random.Shared.Next(zset.Count)).Member);
            return;
        }
        if (zset is null || count == 0)
        {
            x.Reply.Array(0);
            return;
        }
        bool pairs = withScores && x.Reply.Resp3;
        int size = zset.Count;
        if (count < 0 || count == 1)
        {
            // Picks with repeats (Redis's case 1, also for a count of 1).
            long picks = Math.Abs(count);
            if (!RandomReply.TryFits(x, picks, k => RandomReply.BulkBytes(At(zset, k).Member!) + (withScores ? ScoreBytes : 0) + (pairs ? 4 : 0), size)) return;
            x.Reply.Array((int)(withScores && !pairs ? picks * 2 : picks));
            for (long i = 0; i < picks; i++) Member(x, At(zset, Random.Shared.Next(size)), withScores, pairs);
            return;
        }
        if (count >= size)
        {
            // The whole set, highest score first.
            x.Reply.Array(withScores && !pairs ? size * 2 : size);
            for (var n = zset.List.Last; n != null; n = n.Backward) Member(x, n, withScores, pairs);
            return;
        }
        x.Reply.Array((int)(withScores && !pairs ? count * 2 : count));
        foreach (int i in RandomReply.DistinctPicks(size, count)) Member(x, At(zset, i), withScores, pairs);
    }

    /// <summary>The member at a 0-based rank.</summary>
    private static SkipList.Node At(SortedSetValue zset, int rank) => zset.List.GetByRank(rank + 1)!;

    private static void Member(CommandContext x, SkipList.Node node, bool withScores, bool pairs)
    {
        if (pairs) x.Reply.Array(2);
        x.Reply.Bulk(node.Member!);
        if (withScores) x.Reply.Double(node.Score);
    }
}
