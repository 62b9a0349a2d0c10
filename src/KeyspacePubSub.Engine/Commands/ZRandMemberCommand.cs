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
            else x.Reply.Bulk(zset.List.GetByRank(Random.Shared.Next(zset.Count) + 1)!.Member!);
            return;
        }
        if (zset is null || count == 0)
        {
            x.Reply.Array(0);
            return;
        }
        RandomReply.WritePicks(x, count, withScores, zset.Count, rank => zset.List.GetByRank(rank + 1)!, Descending(zset),
            n => RandomReply.BulkBytes(n.Member!) + (withScores ? ScoreBytes : 0),
            n =>
            {
                x.Reply.Bulk(n.Member!);
                if (withScores) x.Reply.Double(n.Score);
            });
    }

    /// <summary>The whole set, highest score first, as Redis 7.0 answers a count that covers it.</summary>
    private static IEnumerable<SkipList.Node> Descending(SortedSetValue zset)
    {
        for (var n = zset.List.Last; n != null; n = n.Backward) yield return n;
    }
}
