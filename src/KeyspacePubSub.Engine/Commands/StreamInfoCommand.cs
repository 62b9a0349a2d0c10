using KeyspacePubSub.Engine.Streams;
using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>
/// XINFO STREAM / GROUPS / CONSUMERS / HELP (t_stream.c xinfoCommand, Redis 7.0).
/// </summary>
internal static class StreamInfoCommand
{
    public static void Register(CommandTable t)
    {
        t.AddContainer(new() { Name = "xinfo", Arity = -2, Group = "stream", Since = "5.0.0", Summary = "A container for stream introspection commands." },
            new() { Name = "consumers", Arity = 4, Flags = ReadOnly, Handler = Info, FirstKey = 2, LastKey = 2, Step = 1, Group = "stream", Since = "5.0.0" },
            new() { Name = "groups", Arity = 3, Flags = ReadOnly, Handler = Info, FirstKey = 2, LastKey = 2, Step = 1, Group = "stream", Since = "5.0.0" },
            new() { Name = "stream", Arity = -3, Flags = ReadOnly, Handler = Info, FirstKey = 2, LastKey = 2, Step = 1, Group = "stream", Since = "5.0.0" },
            new() { Name = "help", Arity = 2, Flags = Loading | Stale, Handler = static x => Help.Reply(x.Reply, "XINFO",
                "CONSUMERS <key> <groupname>", "    Show consumers of <groupname>.",
                "GROUPS <key>", "    Show the stream consumer groups.",
                "STREAM <key> [FULL [COUNT <count>]", "    Show information about the stream."), Group = "stream", Since = "5.0.0" });
    }

    /// <summary>As xinfoCommand: the key is looked up first (a missing one: "no such key"), then the subcommand runs.</summary>
    private static void Info(CommandContext x)
    {
        if (!StreamCommands.TryGet(x, x.Args[2], write: false, out var s)) return;
        if (s is null)
        {
            x.Reply.Error(Errors.NoSuchKey);
            return;
        }
        if (x.Args.Is(1, "CONSUMERS"))
        {
            Consumers(x, s);
        }
        else if (x.Args.Is(1, "GROUPS"))
        {
            Groups(x.Reply, s);
        }
        else
        {
            StreamInfo(x, s);
        }
    }

    /// <summary>As xinfoReplyWithStreamInfo: XINFO STREAM key [FULL [COUNT n]] (FULL shows 10 entries unless COUNT says; 0: all).</summary>
    private static void StreamInfo(CommandContext x, StreamValue s)
    {
        int options = x.Args.Count - 3;
        bool full = options > 0;
        long count = 10;
        if (full)
        {
            if ((options != 1 && options != 3) || !x.Args.Is(3, "FULL") || (options == 3 && !x.Args.Is(4, "COUNT")))
            {
                PubSubCommands.SubcommandSyntaxError(x);
                return;
            }
            if (options == 3)
            {
                if (!x.Args.TryGetInt64(5, out count))
                {
                    x.Reply.Error(Errors.NotInteger);
                    return;
                }
                if (count < 0) count = 10;
            }
        }
        var r = x.Reply;
        r.Map(full ? 9 : 10);
        r.Bulk("length");
        r.Integer(s.Length);
        r.Bulk("radix-tree-keys");
        r.Integer(s.RadixTreeKeys);
        r.Bulk("radix-tree-nodes");
        r.Integer(s.RadixTreeNodes());
        r.Bulk("last-generated-id");
        StreamCommands.WriteId(r, s.LastId);
        r.Bulk("max-deleted-entry-id");
        StreamCommands.WriteId(r, s.MaxDeletedId);
        r.Bulk("entries-added");
        r.Integer(s.EntriesAdded);
        r.Bulk("recorded-first-entry-id");
        StreamCommands.WriteId(r, s.FirstId);
        if (!full)
        {
            r.Bulk("groups");
            r.Integer(s.GroupCount);
            r.Bulk("first-entry");
            WriteEntryOrNull(r, s.FirstLive());
            r.Bulk("last-entry");
            WriteEntryOrNull(r, s.LastLive());
        }
        else
        {
            r.Bulk("entries");
            StreamCommands.WriteEntries(r, s.Range(StreamId.Min, StreamId.Max, reverse: false), count == 0 ? long.MaxValue : count);
            r.Bulk("groups");
            FullGroups(r, s, count);
        }
    }

    /// <summary>XINFO CONSUMERS key group: each consumer's name, pending count and idle time (since it was last seen).</summary>
    private static void Consumers(CommandContext x, StreamValue s)
    {
        if (s.FindGroup(x.Args[3]) is not { } cg)
        {
            x.Reply.Error(StreamGroupCommands.NoSuchGroup(x.Args[3], x.Args[2]));
            return;
        }
        var r = x.Reply;
        long now = x.Engine.NowMs;
        r.Array(cg.Consumers.Count);
        foreach (var c in cg.Consumers.Values)
        {
            r.Map(3);
            r.Bulk("name");
            r.Bulk(c.Name);
            r.Bulk("pending");
            r.Integer(c.Pending.Count);
            r.Bulk("idle");
            r.Integer(Math.Max(0, now - c.SeenTime));
        }
    }

    /// <summary>XINFO GROUPS key: each group's name, consumers, pending count, last delivered ID, read counter and lag.</summary>
    private static void Groups(RespWriter r, StreamValue s)
    {
        r.Array(s.GroupCount);
        if (s.Groups is null) return;
        foreach (var (name, cg) in s.Groups)
        {
            r.Map(6);
            r.Bulk("name");
            r.Bulk(name);
            r.Bulk("consumers");
            r.Integer(cg.Consumers.Count);
            r.Bulk("pending");
            r.Integer(cg.Pending.Count);
            r.Bulk("last-delivered-id");
            StreamCommands.WriteId(r, cg.LastId);
            WriteCounters(r, s, cg);
        }
    }

    /// <summary>entries-read (null when unknown) and lag (null when it cannot be told).</summary>
    private static void WriteCounters(RespWriter r, StreamValue s, ConsumerGroup cg)
    {
        r.Bulk("entries-read");
        if (cg.EntriesRead != ConsumerGroup.InvalidEntriesRead) r.Integer(cg.EntriesRead);
        else r.NullBulk();
        r.Bulk("lag");
        if (s.Lag(cg) is { } lag) r.Integer(lag);
        else r.NullBulk();
    }

    /// <summary>XINFO STREAM FULL's groups: with their pending entries and consumers, at most <paramref name="count"/> pending entries each (0: all).</summary>
    private static void FullGroups(RespWriter r, StreamValue s, long count)
    {
        r.Array(s.GroupCount);
        if (s.Groups is null) return;
        long max = count == 0 ? long.MaxValue : count;
        foreach (var (name, cg) in s.Groups)
        {
            r.Map(7);
            r.Bulk("name");
            r.Bulk(name);
            r.Bulk("last-delivered-id");
            StreamCommands.WriteId(r, cg.LastId);
            WriteCounters(r, s, cg);
            r.Bulk("pel-count");
            r.Integer(cg.Pending.Count);
            r.Bulk("pending");
            r.Array((int)Math.Min(max, cg.Pending.Count));
            long n = 0;
            foreach (var p in cg.Pending)
            {
                if (n++ >= max) break;
                r.Array(4);
                StreamCommands.WriteId(r, p.Id);
                r.Bulk(p.Consumer.Name);
                r.Integer(p.DeliveryTime);
                r.Integer(p.DeliveryCount);
            }
            r.Bulk("consumers");
            r.Array(cg.Consumers.Count);
            foreach (var c in cg.Consumers.Values)
            {
                r.Map(4);
                r.Bulk("name");
                r.Bulk(c.Name);
                r.Bulk("seen-time");
                r.Integer(c.SeenTime);
                r.Bulk("pel-count");
                r.Integer(c.Pending.Count);
                r.Bulk("pending");
                r.Array((int)Math.Min(max, c.Pending.Count));
                n = 0;
                foreach (var p in c.Pending)
                {
                    if (n++ >= max) break;
                    r.Array(3);
                    StreamCommands.WriteId(r, p.Id);
                    r.Integer(p.DeliveryTime);
                    r.Integer(p.DeliveryCount);
                }
            }
        }
    }

    private static void WriteEntryOrNull(RespWriter r, StreamEntry? e)
    {
        if (e is { } entry) StreamCommands.WriteEntry(r, entry);
        else r.NullBulk();
    }
}
