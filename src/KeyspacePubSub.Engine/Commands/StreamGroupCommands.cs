using KeyspacePubSub.Engine.Keyspace;
using KeyspacePubSub.Engine.Streams;
using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>
/// Consumer groups (t_stream.c, Redis 7.0): XGROUP, XACK, XPENDING, and the group side of XREADGROUP
/// (<see cref="StreamReadCommand"/>); XCLAIM and XAUTOCLAIM are in <see cref="StreamClaimCommands"/>. As in
/// Redis 7.0 they touch no WATCH; their events are xgroup-*.
/// </summary>
internal static class StreamGroupCommands
{
    public static void Register(CommandTable t)
    {
        t.AddContainer(new() { Name = "xgroup", Arity = -2, Group = "stream", Since = "5.0.0", Summary = "A container for consumer groups commands." },
            new() { Name = "create", Arity = -5, Flags = Write | DenyOom, Handler = XGroup, FirstKey = 2, LastKey = 2, Step = 1, Group = "stream", Since = "5.0.0" },
            new() { Name = "setid", Arity = -5, Flags = Write, Handler = XGroup, FirstKey = 2, LastKey = 2, Step = 1, Group = "stream", Since = "5.0.0" },
            new() { Name = "destroy", Arity = 4, Flags = Write, Handler = XGroup, FirstKey = 2, LastKey = 2, Step = 1, Group = "stream", Since = "5.0.0" },
            new() { Name = "createconsumer", Arity = 5, Flags = Write | DenyOom, Handler = XGroup, FirstKey = 2, LastKey = 2, Step = 1, Group = "stream", Since = "6.2.0" },
            new() { Name = "delconsumer", Arity = 5, Flags = Write, Handler = XGroup, FirstKey = 2, LastKey = 2, Step = 1, Group = "stream", Since = "5.0.0" },
            new() { Name = "help", Arity = 2, Flags = Loading | Stale, Handler = static x => Help.Reply(x.Reply, "XGROUP",
                "CREATE <key> <groupname> <id|$> [option]", "    Create a new consumer group. Options are:",
                "    * MKSTREAM", "      Create the empty stream if it does not exist.",
                "    * ENTRIESREAD entries_read", "      Set the group's entries_read counter (internal use).",
                "CREATECONSUMER <key> <groupname> <consumer>", "    Create a new consumer in the specified group.",
                "DELCONSUMER <key> <groupname> <consumer>", "    Remove the specified consumer.",
                "DESTROY <key> <groupname>", "    Remove the specified group.",
                "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]", "    Set the current group ID and entries_read counter."), Group = "stream", Since = "5.0.0" });
        t.Add(new() { Name = "xack", Arity = -4, Flags = Write | Fast, Handler = XAck, FirstKey = 1, LastKey = 1, Step = 1, Group = "stream", Since = "5.0.0", Summary = "Marks a pending message as correctly processed, effectively removing it from the pending entries list of the consumer group. Return value of the command is the number of messages successfully acknowledged, that is, the IDs we were actually able to resolve in the PEL." });
        t.Add(new() { Name = "xpending", Arity = -3, Flags = ReadOnly, Handler = XPending, FirstKey = 1, LastKey = 1, Step = 1, Group = "stream", Since = "5.0.0", Summary = "Return information and entries from a stream consumer group pending entries list, that are messages fetched but never acknowledged." });
    }

    internal static string NoGroup(CommandContext x, int key, int group) =>
        $"NOGROUP No such key '{Errors.CText(x.Args[key])}' or consumer group '{Errors.CText(x.Args[group])}'";

    /// <summary>XGROUP's and XINFO CONSUMERS's error for a group the stream does not have.</summary>
    internal static string NoSuchGroup(ReadOnlySpan<byte> group, ReadOnlySpan<byte> key) =>
        $"NOGROUP No such consumer group '{Errors.CText(group)}' for key name '{Errors.CText(key)}'";

    /// <summary>
    /// The consumer of <paramref name="cg"/> called <paramref name="name"/>, created if missing (its event
    /// xgroup-createconsumer); either way it is seen now (streamLookupConsumer's refresh).
    /// </summary>
    internal static Consumer ConsumerFor(CommandContext x, ReadOnlySpan<byte> key, ConsumerGroup cg, ReadOnlySpan<byte> name)
    {
        long now = x.Engine.NowMs;
        var c = cg.FindConsumer(name);
        if (c is null)
        {
            c = cg.CreateConsumer(name, now)!;
            x.Engine.GroupChanged(x.Client.Db, key, "xgroup-createconsumer");
        }
        c.SeenTime = now;
        return c;
    }

    /// <summary>
    /// As streamReplyWithRange with a group: the entries after <paramref name="after"/> (at most
    /// <paramref name="count"/>), each moving the group's last ID and read counter, and, unless
    /// <paramref name="noAck"/>, pending with <paramref name="consumer"/> (taken from another if it had it).
    /// </summary>
    internal static List<(StreamId, StreamEntry?)> Deliver(CommandContext x, ReadOnlySpan<byte> key, StreamValue s, ConsumerGroup cg, Consumer consumer, StreamId after, long count, bool noAck)
    {
        var list = StreamReadCommand.Collect(s, after, count);
        long now = x.Engine.NowMs;
        foreach (var (id, _) in list)
        {
            s.AdvanceGroup(cg, id);
            if (noAck) continue;
            if (cg.Pending.Find(id) is { } p) cg.Redeliver(p, consumer, now, 1);
            else cg.AddPending(id, consumer, now, 1);
        }
        if (list.Count > 0) x.Engine.GroupChanged(x.Client.Db, key);
        return list;
    }

    /// <summary>
    /// As streamReplyWithRangeFromConsumerPEL: the consumer's pending entries after <paramref name="after"/> (at
    /// most <paramref name="count"/>); each still in the stream is delivered once more, a deleted one has no entry.
    /// </summary>
    internal static List<(StreamId, StreamEntry?)> History(CommandContext x, ReadOnlySpan<byte> key, StreamValue s, ConsumerGroup cg, Consumer consumer, StreamId after, long count)
    {
        var list = new List<(StreamId, StreamEntry?)>();
        after.TryNext(out var start); // (the last possible ID reads as ">" and never comes here)
        long now = x.Engine.NowMs;
        var redelivered = new List<PendingEntry>();
        foreach (var p in consumer.Pending.Range(start, StreamId.Max))
        {
            if (list.Count >= count) break;
            var e = s.Find(p.Id);
            if (e != null) redelivered.Add(p);
            list.Add((p.Id, e));
        }
        foreach (var p in redelivered) cg.Redeliver(p, consumer, now, p.DeliveryCount + 1);
        if (redelivered.Count > 0) x.Engine.GroupChanged(x.Client.Db, key);
        return list;
    }

    private static Database Db(CommandContext x) => x.Engine.Databases[x.Client.Db];

    /// <summary>XGROUP CREATE / SETID / DESTROY / CREATECONSUMER / DELCONSUMER (xgroupCommand).</summary>
    private static void XGroup(CommandContext x)
    {
        bool create = x.Args.Is(1, "CREATE"), setId = x.Args.Is(1, "SETID");
        bool mkStream = false;
        long entriesRead = ConsumerGroup.InvalidEntriesRead;
        for (int i = 5; i < x.Args.Count;)
        {
            if (create && x.Args.Is(i, "MKSTREAM"))
            {
                mkStream = true;
                i++;
            }
            else if ((create || setId) && x.Args.Is(i, "ENTRIESREAD") && i + 1 < x.Args.Count)
            {
                if (!x.Args.TryGetInt64(i + 1, out entriesRead))
                {
                    x.Reply.Error(Errors.NotInteger);
                    return;
                }
                if (entriesRead < 0 && entriesRead != ConsumerGroup.InvalidEntriesRead)
                {
                    x.Reply.Error("ERR value for ENTRIESREAD must be positive or -1");
                    return;
                }
                i += 2;
            }
            else
            {
                PubSubCommands.SubcommandSyntaxError(x);
                return;
            }
        }
        if (!StreamCommands.TryGet(x, x.Args[2], write: true, out var s)) return;
        var key = x.Args[2];
        int db = x.Client.Db;
        ConsumerGroup? cg = null;
        if (!mkStream)
        {
            if (s is null)
            {
                x.Reply.Error("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.");
                return;
            }
            cg = s.FindGroup(x.Args[3]);
            if (cg is null && !create && !x.Args.Is(1, "DESTROY"))
            {
                x.Reply.Error(NoSuchGroup(x.Args[3], key));
                return;
            }
        }
        int argc = x.Args.Count;
        if (create && argc >= 5 && argc <= 8)
        {
            StreamId id;
            if (x.Args.Is(4, "$")) id = s?.LastId ?? StreamId.Min;
            else if (!StreamCommands.TryParseStrictId(x, 4, out id)) return;
            if (s is null)
            {
                s = new StreamValue();
                x.Engine.SetKey(Db(x), key, s);
                x.Engine.SignalModifiedKey(db, key);
            }
            if (s.CreateGroup(x.Args[3], id, entriesRead) is null)
            {
                x.Reply.Error("BUSYGROUP Consumer Group name already exists");
                return;
            }
            x.Reply.Ok();
            x.Engine.GroupChanged(db, key, "xgroup-create");
        }
        else if (setId && (argc == 5 || argc == 7))
        {
            StreamId id;
            if (x.Args.Is(4, "$")) id = s!.LastId;
            else if (!StreamId.TryParse(x.Args[4], strict: false, 0, out id, out _))
            {
                x.Reply.Error(StreamCommands.InvalidId);
                return;
            }
            cg!.LastId = id;
            cg.EntriesRead = entriesRead;
            x.Reply.Ok();
            x.Engine.GroupChanged(db, key, "xgroup-setid");
        }
        else if (x.Args.Is(1, "DESTROY") && argc == 4)
        {
            if (cg is null)
            {
                x.Reply.Integer(0);
                return;
            }
            s!.DestroyGroup(x.Args[3]);
            x.Reply.Integer(1);
            x.Engine.GroupChanged(db, key, "xgroup-destroy");
            x.Engine.SignalStreamReady(Db(x), key); // XREADGROUP waiting on the group answers NOGROUP
        }
        else if (x.Args.Is(1, "CREATECONSUMER") && argc == 5)
        {
            bool created = cg!.CreateConsumer(x.Args[4], x.Engine.NowMs) != null;
            x.Reply.Integer(created ? 1 : 0);
            if (created) x.Engine.GroupChanged(db, key, "xgroup-createconsumer");
        }
        else if (x.Args.Is(1, "DELCONSUMER") && argc == 5)
        {
            var consumer = cg!.FindConsumer(x.Args[4]);
            long pending = 0;
            if (consumer != null)
            {
                pending = consumer.Pending.Count;
                cg.DeleteConsumer(consumer);
                x.Engine.GroupChanged(db, key, "xgroup-delconsumer");
            }
            x.Reply.Integer(pending);
        }
        else
        {
            PubSubCommands.SubcommandSyntaxError(x);
        }
    }

    /// <summary>XACK key group id [id ...]: the IDs that were pending and no longer are (no key or group: 0, before the IDs are read).</summary>
    private static void XAck(CommandContext x)
    {
        if (!StreamCommands.TryGet(x, x.Args[1], write: false, out var s)) return;
        var cg = s?.FindGroup(x.Args[2]);
        if (cg is null)
        {
            x.Reply.Integer(0);
            return;
        }
        var ids = new StreamId[x.Args.Count - 3];
        for (int j = 3; j < x.Args.Count; j++)
        {
            if (!StreamCommands.TryParseStrictId(x, j, out ids[j - 3])) return;
        }
        int acked = 0;
        foreach (var id in ids)
        {
            if (cg.Pending.Find(id) is not { } p) continue;
            cg.Remove(p);
            acked++;
        }
        if (acked > 0) x.Engine.GroupChanged(x.Client.Db, x.Args[1]);
        x.Reply.Integer(acked);
    }

    /// <summary>XPENDING key group [[IDLE min-idle] start end count [consumer]] (xpendingCommand).</summary>
    private static void XPending(CommandContext x)
    {
        int argc = x.Args.Count;
        if (argc != 3 && (argc < 6 || argc > 9))
        {
            x.Reply.Error(Errors.Syntax);
            return;
        }
        long count = 0, minIdle = 0;
        StreamId start = default, end = default;
        int consumerArg = 0;
        if (argc >= 6)
        {
            int startIdx = 3;
            if (x.Args.Is(3, "IDLE"))
            {
                if (!x.Args.TryGetInt64(4, out minIdle))
                {
                    x.Reply.Error(Errors.NotInteger);
                    return;
                }
                if (argc < 8)
                {
                    x.Reply.Error(Errors.Syntax);
                    return;
                }
                startIdx += 2;
            }
            if (!x.Args.TryGetInt64(startIdx + 2, out count))
            {
                x.Reply.Error(Errors.NotInteger);
                return;
            }
            if (count < 0) count = 0;
            if (!StreamCommands.TryParseBound(x, startIdx, 0, out start, out bool startEx)) return;
            if (startEx && !start.TryNext(out start))
            {
                x.Reply.Error("ERR invalid start ID for the interval");
                return;
            }
            if (!StreamCommands.TryParseBound(x, startIdx + 1, ulong.MaxValue, out end, out bool endEx)) return;
            if (endEx && !end.TryPrevious(out end))
            {
                x.Reply.Error("ERR invalid end ID for the interval");
                return;
            }
            if (startIdx + 3 < argc) consumerArg = startIdx + 3;
        }
        if (!StreamCommands.TryGet(x, x.Args[1], write: false, out var s)) return;
        var cg = s?.FindGroup(x.Args[2]);
        if (cg is null)
        {
            x.Reply.Error(NoGroup(x, 1, 2));
            return;
        }
        var r = x.Reply;
        if (argc == 3)
        {
            r.Array(4);
            r.Integer(cg.Pending.Count);
            if (cg.Pending.Count == 0)
            {
                r.NullBulk();
                r.NullBulk();
                r.NullArray();
                return;
            }
            StreamCommands.WriteId(r, cg.Pending.First!.Id);
            StreamCommands.WriteId(r, cg.Pending.Last!.Id);
            int with = 0;
            foreach (var c in cg.Consumers.Values) with += c.Pending.Count > 0 ? 1 : 0;
            r.Array(with);
            foreach (var c in cg.Consumers.Values)
            {
                if (c.Pending.Count == 0) continue;
                r.Array(2);
                r.Bulk(c.Name);
                r.Bulk(c.Pending.Count);
            }
            return;
        }
        PendingList pel = cg.Pending;
        if (consumerArg != 0)
        {
            if (cg.FindConsumer(x.Args[consumerArg]) is not { } consumer)
            {
                r.Array(0);
                return;
            }
            pel = consumer.Pending;
        }
        long now = x.Engine.NowMs;
        var shown = new List<PendingEntry>();
        foreach (var p in pel.Range(start, end))
        {
            if (shown.Count >= count) break;
            if (minIdle != 0 && now - p.DeliveryTime < minIdle) continue;
            shown.Add(p);
        }
        r.Array(shown.Count);
        foreach (var p in shown)
        {
            r.Array(4);
            StreamCommands.WriteId(r, p.Id);
            r.Bulk(p.Consumer.Name);
            r.Integer(Math.Max(0, now - p.DeliveryTime));
            r.Integer(p.DeliveryCount);
        }
    }
}
