using KeyspacePubSub.Engine.Streams;
using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>
/// XINFO STREAM / GROUPS / CONSUMERS / HELP (t_stream.c xinfoCommand, Redis 7.0). Consumer groups cannot be
/// created here (XGROUP is not offered), so a stream has none: GROUPS is empty, CONSUMERS answers NOGROUP.
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
            x.Reply.Error($"NOGROUP No such consumer group '{Errors.CText(x.Args[3])}' for key name '{Errors.CText(x.Args[2])}'");
        }
        else if (x.Args.Is(1, "GROUPS"))
        {
            x.Reply.Array(0);
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
                x.Reply.Error($"ERR unknown subcommand or wrong number of arguments for '{Errors.Truncate(Errors.CText(x.Args[1]), 128)}'. Try XINFO HELP.");
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
            r.Integer(0);
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
            r.Array(0);
        }
    }

    private static void WriteEntryOrNull(RespWriter r, StreamEntry? e)
    {
        if (e is null) r.NullBulk();
        else StreamCommands.WriteEntry(r, e);
    }
}
