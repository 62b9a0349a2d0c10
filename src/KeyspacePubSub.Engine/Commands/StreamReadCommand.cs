using KeyspacePubSub.Engine.Streams;
using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>
/// XREAD [COUNT n] [BLOCK ms] STREAMS key [key ...] id [id ...] and XREADGROUP GROUP group consumer [COUNT n]
/// [BLOCK ms] [NOACK] STREAMS key [key ...] id [id ...], one command as in t_stream.c's xreadCommand (Redis 7.0).
/// XREAD: the entries after each ID, for the streams that have some; "$" is the stream's last ID when the command
/// arrives. XREADGROUP: with "&gt;" the entries the group has not delivered yet (each becomes pending with the
/// consumer unless NOACK), with an ID the consumer's own pending entries after it. With BLOCK and nothing to
/// serve, the client waits for an XADD to one of the keys.
/// </summary>
internal static class StreamReadCommand
{
    /// <summary>XREAD_BLOCKED_DEFAULT_COUNT: a blocked read without COUNT is answered at most this many entries.</summary>
    private const long BlockedDefaultCount = 1000;

    public static void Register(CommandTable t)
    {
        t.Add(new() { Name = "xread", Arity = -4, Flags = ReadOnly | Blocking | MovableKeys, Handler = static x => Read(x, group: false), MovableKeyPositions = KeyPositions, Group = "stream", Since = "5.0.0", Summary = "Return never seen elements in multiple streams, with IDs greater than the ones reported by the caller for each stream. Can block." });
        t.Add(new() { Name = "xreadgroup", Arity = -7, Flags = Write | Blocking | MovableKeys, Handler = static x => Read(x, group: true), MovableKeyPositions = KeyPositions, Group = "stream", Since = "5.0.0", Summary = "Return new entries from a stream using a consumer group, or access the history of the pending entries for a given consumer. Can block." });
    }

    /// <summary>The keys: the first half of what follows STREAMS.</summary>
    private static IEnumerable<int> KeyPositions(CommandArgs args, int start)
    {
        // As xreadGetKeys: the options up to STREAMS (BLOCK and COUNT take one argument, GROUP two, NOACK none),
        // then the first half of what follows. None when another word comes first, or the rest does not pair up.
        // (Searching for the first STREAMS anywhere took a group named STREAMS for the keyword.)
        int argc = args.Count - start, streams = -1;
        for (int i = 1; i < argc && streams < 0; i++)
        {
            if (args.Is(start + i, "BLOCK") || args.Is(start + i, "COUNT")) i++;
            else if (args.Is(start + i, "GROUP")) i += 2;
            else if (args.Is(start + i, "STREAMS")) streams = i;
            else if (!args.Is(start + i, "NOACK")) break;
        }
        int rest = argc - streams - 1;
        if (streams < 0 || rest == 0 || rest % 2 != 0) yield break;
        for (int k = 0; k < rest / 2; k++) yield return streams + 1 + k;
    }

    /// <summary>XREADGROUP's group, consumer and NOACK, kept while it waits.</summary>
    internal sealed record GroupRead(byte[] Group, byte[] Consumer, bool NoAck);

    /// <summary>What a blocked read waits for: each key's ID (resolved when it blocked; XREADGROUP reads after the group's), its COUNT, its group.</summary>
    internal sealed class Wait(Dictionary<byte[], StreamId> after, long count, GroupRead? group)
    {
        public Dictionary<byte[], StreamId> After { get; } = after;
        public long Count { get; } = count;
        public GroupRead? Group { get; } = group;
    }

    /// <summary>One stream's part of the reply: entries, or (a consumer's history) an ID whose entry is gone.</summary>
    private readonly record struct Served(int Stream, List<(StreamId Id, StreamEntry? Entry)> Entries);

    private static void Read(CommandContext x, bool group)
    {
        if (Engine.ServingKey(x.Client) is { } ready)
        {
            ServeBlocked(x, ready);
            return;
        }
        long timeout = -1, count = 0;
        int streamsArg = 0, streams = 0, groupArg = 0;
        bool noAck = false;
        for (int i = 1; i < x.Args.Count; i++)
        {
            bool more = i + 1 < x.Args.Count;
            if (x.Args.Is(i, "BLOCK") && more)
            {
                if (x.Client.IsScriptClient)
                {
                    // As xreadCommand: there is no sense in BLOCK from a script (Redis refuses it rather than not block).
                    x.Reply.Error($"ERR {Errors.CText(x.Args[0])} command is not allowed with BLOCK option from scripts");
                    return;
                }
                if (!BlockingCommands.TryMilliseconds(x, ++i, out timeout)) return;
            }
            else if (x.Args.Is(i, "COUNT") && more)
            {
                i++;
                if (!x.Args.TryGetInt64(i, out count))
                {
                    x.Reply.Error(Errors.NotInteger);
                    return;
                }
                if (count < 0) count = 0;
            }
            else if (x.Args.Is(i, "STREAMS") && more)
            {
                streamsArg = i + 1;
                streams = x.Args.Count - streamsArg;
                if (streams % 2 != 0)
                {
                    x.Reply.Error("ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.");
                    return;
                }
                streams /= 2;
                break;
            }
            else if (x.Args.Is(i, "GROUP") && i + 2 < x.Args.Count)
            {
                if (!group)
                {
                    x.Reply.Error("ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.");
                    return;
                }
                groupArg = i + 1;
                i += 2;
            }
            else if (x.Args.Is(i, "NOACK"))
            {
                if (!group)
                {
                    x.Reply.Error("ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.");
                    return;
                }
                noAck = true;
            }
            else
            {
                x.Reply.Error(Errors.Syntax);
                return;
            }
        }
        if (streamsArg == 0)
        {
            x.Reply.Error(Errors.Syntax);
            return;
        }
        if (group && groupArg == 0)
        {
            x.Reply.Error("ERR Missing GROUP option for XREADGROUP");
            return;
        }
        var after = new StreamId[streams];
        var fresh = new bool[streams]; // XREADGROUP's ">"
        var groups = group ? new ConsumerGroup[streams] : null;
        for (int i = 0; i < streams; i++)
        {
            if (!StreamCommands.TryGet(x, x.Args[streamsArg + i], write: false, out var value)) return;
            if (groups != null)
            {
                if (value?.FindGroup(x.Args[groupArg]) is not { } cg)
                {
                    x.Reply.Error($"NOGROUP No such key '{Errors.CText(x.Args[streamsArg + i])}' or consumer group '{Errors.CText(x.Args[groupArg])}' in XREADGROUP with GROUP option");
                    return;
                }
                groups[i] = cg;
            }
            var idArg = x.Args[streamsArg + streams + i];
            if (idArg.Length == 1 && idArg[0] == (byte)'$')
            {
                if (group)
                {
                    x.Reply.Error("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.");
                    return;
                }
                after[i] = value?.LastId ?? StreamId.Min;
            }
            else if (idArg.Length == 1 && idArg[0] == (byte)'>')
            {
                if (!group)
                {
                    x.Reply.Error("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.");
                    return;
                }
                fresh[i] = true;
                after[i] = StreamId.Max;
            }
            else if (!StreamCommands.TryParseStrictId(x, streamsArg + streams + i, out after[i]))
            {
                return;
            }
            else if (after[i] == StreamId.Max)
            {
                fresh[i] = group; // as xreadCommand, which marks ">" with the last possible ID: that ID reads as ">"
            }
        }
        // Served at once: XREAD's streams whose last live entry is past the ID asked for; XREADGROUP's history, or
        // its new entries when there are some. Each key is looked up again, as xreadCommand does (an LFU counter
        // counts both). A group's state changes stream by stream, so a key named twice sees the first's changes.
        var served = new List<Served>();
        var db = x.Engine.Databases[x.Client.Db];
        long max = count == 0 ? long.MaxValue : count;
        for (int i = 0; i < streams; i++)
        {
            var key = x.Args[streamsArg + i];
            if (x.Engine.LookupRead(db, key) is not StreamValue s) continue;
            if (groups is null)
            {
                if (s.Length > 0 && s.LastLive()!.Value.Id > after[i]) served.Add(new Served(i, Collect(s, after[i], max)));
                continue;
            }
            var cg = groups[i];
            bool history = !fresh[i], now = history || (s.Length > 0 && s.LastLive()!.Value.Id > cg.LastId);
            if (!now) continue;
            var consumer = StreamGroupCommands.ConsumerFor(x, key, cg, x.Args[groupArg + 1]); // (Redis 7.0: only when served)
            var entries = history
                ? StreamGroupCommands.History(x, key, s, cg, consumer, after[i], max)
                : StreamGroupCommands.Deliver(x, key, s, cg, consumer, cg.LastId, max, noAck);
            served.Add(new Served(i, entries));
        }
        if (served.Count > 0)
        {
            WriteKeys(x.Reply, served.Count);
            foreach (var part in served) WriteKey(x.Reply, x.Args[streamsArg + part.Stream], part.Entries);
            return;
        }
        if (timeout == -1 || !Engine.MayBlock(x.Client))
        {
            x.Reply.NullArray();
            return;
        }
        var waits = new Dictionary<byte[], StreamId>(ByteKeyComparer.Instance);
        var keys = new List<byte[]>();
        for (int i = 0; i < streams; i++)
        {
            var key = x.Args.ToArray(streamsArg + i);
            if (waits.TryAdd(key, after[i])) keys.Add(key); // a key named twice waits for its first ID
        }
        long deadline = timeout > 0 ? unchecked(timeout + x.Engine.NowMs) : 0;
        var groupRead = group ? new GroupRead(x.Args.ToArray(groupArg), x.Args.ToArray(groupArg + 1), noAck) : null;
        x.Engine.BlockForKeys(x, keys, deadline, BlockKind.Stream, new Wait(waits, count != 0 ? count : BlockedDefaultCount, groupRead));
    }

    /// <summary>The entries after <paramref name="after"/>, at most <paramref name="count"/> (none after the last possible ID).</summary>
    internal static List<(StreamId, StreamEntry?)> Collect(StreamValue s, StreamId after, long count)
    {
        var list = new List<(StreamId, StreamEntry?)>();
        if (!after.TryNext(out var start)) return list;
        foreach (var e in s.Range(start, StreamId.Max, reverse: false))
        {
            if (list.Count >= count) break;
            list.Add((e.Id, e));
        }
        return list;
    }

    /// <summary>
    /// As serveClientsBlockedOnStreamKey: a stream written under a key the client waits on, whose last ID is now
    /// past the one it waits after (XREADGROUP: its group's last delivered ID), answers it with that one key's
    /// entries; otherwise it keeps waiting. XREADGROUP's wait ends in an error when its group was destroyed, or
    /// when no stream is left under the key.
    /// </summary>
    private static void ServeBlocked(CommandContext x, byte[] key)
    {
        var wait = (Wait)x.Client.Block!.Extra!;
        var value = x.Engine.LookupWrite(x.Engine.Databases[x.Client.Db], key);
        if (value is not StreamValue s)
        {
            if (wait.Group != null) x.Reply.Error("UNBLOCKED the stream key no longer exists");
            else x.Engine.BlockForKeys(x, [], 0, BlockKind.Stream);
            return;
        }
        ConsumerGroup? cg = null;
        StreamId after;
        if (wait.Group is { } g)
        {
            cg = s.FindGroup(g.Group);
            if (cg is null)
            {
                x.Reply.Error("NOGROUP the consumer group this client was blocked on no longer exists");
                return;
            }
            after = cg.LastId;
        }
        else if (!wait.After.TryGetValue(key, out after))
        {
            x.Engine.BlockForKeys(x, [], 0, BlockKind.Stream);
            return;
        }
        if (s.LastId <= after)
        {
            x.Engine.BlockForKeys(x, [], 0, BlockKind.Stream);
            return;
        }
        var entries = cg is null
            ? Collect(s, after, wait.Count)
            : StreamGroupCommands.Deliver(x, key, s, cg, StreamGroupCommands.ConsumerFor(x, key, cg, wait.Group!.Consumer), after, wait.Count, wait.Group.NoAck);
        WriteKeys(x.Reply, 1);
        WriteKey(x.Reply, key, entries);
    }

    /// <summary>
    /// Whether a blocked read would be served by the stream now under <paramref name="key"/>: its last ID is past
    /// the one the read waits after (XREADGROUP: its group's last delivered ID), or (XREADGROUP) its group is gone.
    /// </summary>
    internal static bool WouldServe(Wait wait, byte[] key, StreamValue s)
    {
        if (wait.Group is { } g) return s.FindGroup(g.Group) is not { } cg || s.LastId > cg.LastId;
        return wait.After.TryGetValue(key, out var after) && s.LastId > after;
    }

    /// <summary>The reply: an array of [key, entries] pairs, a map key → entries in RESP3.</summary>
    private static void WriteKeys(RespWriter r, int keys)
    {
        if (r.Resp3) r.Map(keys);
        else r.Array(keys);
    }

    /// <summary>One stream of the reply: its name, then its entries; a pending ID whose entry is gone has a null for its fields.</summary>
    private static void WriteKey(RespWriter r, ReadOnlySpan<byte> key, List<(StreamId Id, StreamEntry? Entry)> entries)
    {
        if (!r.Resp3) r.Array(2);
        r.Bulk(key);
        r.Array(entries.Count);
        foreach (var (id, e) in entries)
        {
            if (e is { } entry)
            {
                StreamCommands.WriteEntry(r, entry);
                continue;
            }
            r.Array(2);
            StreamCommands.WriteId(r, id);
            r.NullArray();
        }
    }
}
