using KeyspacePubSub.Engine.Config;
using KeyspacePubSub.Engine.Keyspace;
using KeyspacePubSub.Engine.Streams;
using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>
/// Stream commands (src/t_stream.c, Redis 7.0): XADD, XTRIM, XLEN, XRANGE, XREVRANGE, XDEL, XSETID. XREAD and
/// XREADGROUP are in <see cref="StreamReadCommand"/>, consumer groups in <see cref="StreamGroupCommands"/> and
/// <see cref="StreamClaimCommands"/>, XINFO in <see cref="StreamInfoCommand"/>.
/// </summary>
internal static class StreamCommands
{
    public static void Register(CommandTable t)
    {
        t.Add(new() { Name = "xadd", Arity = -5, Flags = Write | DenyOom | Fast, Handler = XAdd, FirstKey = 1, LastKey = 1, Step = 1, Group = "stream", Since = "5.0.0", Summary = "Appends a new message to a stream. Creates the key if it doesn't exist." });
        t.Add(new() { Name = "xtrim", Arity = -4, Flags = Write, Handler = XTrim, FirstKey = 1, LastKey = 1, Step = 1, Group = "stream", Since = "5.0.0", Summary = "Deletes messages from the beginning of a stream." });
        t.Add(new() { Name = "xlen", Arity = 2, Flags = ReadOnly | Fast, Handler = XLen, FirstKey = 1, LastKey = 1, Step = 1, Group = "stream", Since = "5.0.0", Summary = "Return the number of messages in a stream." });
        t.Add(new() { Name = "xrange", Arity = -4, Flags = ReadOnly, Handler = static x => XRange(x, reverse: false), FirstKey = 1, LastKey = 1, Step = 1, Group = "stream", Since = "5.0.0", Summary = "Returns the messages from a stream within a range of IDs." });
        t.Add(new() { Name = "xrevrange", Arity = -4, Flags = ReadOnly, Handler = static x => XRange(x, reverse: true), FirstKey = 1, LastKey = 1, Step = 1, Group = "stream", Since = "5.0.0", Summary = "Returns the messages from a stream within a range of IDs in reverse order." });
        t.Add(new() { Name = "xdel", Arity = -3, Flags = Write | Fast, Handler = XDel, FirstKey = 1, LastKey = 1, Step = 1, Group = "stream", Since = "5.0.0", Summary = "Returns the number of messages after removing them from a stream." });
        t.Add(new() { Name = "xsetid", Arity = -3, Flags = Write | DenyOom | Fast, Handler = XSetId, FirstKey = 1, LastKey = 1, Step = 1, Group = "stream", Since = "5.0.0", Summary = "An internal command for replicating stream values." });
        StreamReadCommand.Register(t);
        StreamGroupCommands.Register(t);
        StreamClaimCommands.Register(t);
        StreamInfoCommand.Register(t);
    }

    internal const string InvalidId = "ERR Invalid stream ID specified as stream command argument";

    private static Database Db(CommandContext x) => x.Engine.Databases[x.Client.Db];

    internal static bool TryGet(CommandContext x, ReadOnlySpan<byte> key, bool write, out StreamValue? stream) => TypedLookup.TryGet(x, key, write, out stream);

    /// <summary>As streamParseStrictIDOrReply: no "-" or "+"; a missing sequence is 0.</summary>
    internal static bool TryParseStrictId(CommandContext x, int arg, out StreamId id)
    {
        if (StreamId.TryParse(x.Args[arg], strict: true, 0, out id, out _)) return true;
        x.Reply.Error(InvalidId);
        return false;
    }

    /// <summary>The trimming options of XADD and XTRIM (streamAddTrimArgs).</summary>
    private struct TrimArgs
    {
        public bool ByLength, ByMinId, Approx, NoMkStream, IdGiven, SeqGiven;
        public long MaxLength, Limit;
        public StreamId MinId, Id;
    }

    /// <summary>
    /// As streamParseAddOrTrimArgsOrReply: the options up to XADD's ID (its position is returned), or all of
    /// XTRIM's; -1 once an error is written. Without LIMIT, an approximate trim removes at most 100 nodes' worth.
    /// </summary>
    private static int ParseTrimArgs(CommandContext x, bool xadd, out TrimArgs a)
    {
        a = default;
        bool limitGiven = false;
        int i = 2;
        for (; i < x.Args.Count; i++)
        {
            int more = x.Args.Count - 1 - i;
            var opt = x.Args[i];
            if (xadd && opt.Length == 1 && opt[0] == (byte)'*') break;
            bool maxlen = x.Args.Is(i, "MAXLEN"), minid = x.Args.Is(i, "MINID");
            if ((maxlen || minid) && more > 0)
            {
                if (a.ByLength || a.ByMinId)
                {
                    x.Reply.Error("ERR syntax error, MAXLEN and MINID options at the same time are not compatible");
                    return -1;
                }
                a.Approx = false;
                var next = x.Args[i + 1];
                if (more >= 2 && next.Length == 1 && next[0] == (byte)'~')
                {
                    a.Approx = true;
                    i++;
                }
                else if (more >= 2 && next.Length == 1 && next[0] == (byte)'=')
                {
                    i++;
                }
                if (maxlen)
                {
                    if (!TryGetCount(x, i + 1, "MAXLEN", out a.MaxLength)) return -1;
                    a.ByLength = true;
                }
                else
                {
                    if (!TryParseStrictId(x, i + 1, out a.MinId)) return -1;
                    a.ByMinId = true;
                }
                i++;
            }
            else if (x.Args.Is(i, "LIMIT") && more > 0)
            {
                if (!TryGetCount(x, i + 1, "LIMIT", out a.Limit)) return -1;
                limitGiven = true;
                i++;
            }
            else if (xadd && x.Args.Is(i, "NOMKSTREAM"))
            {
                a.NoMkStream = true;
            }
            else if (xadd)
            {
                if (!StreamId.TryParse(opt, strict: true, 0, out a.Id, out a.SeqGiven, allowSeqStar: true))
                {
                    x.Reply.Error(InvalidId);
                    return -1;
                }
                a.IdGiven = true;
                break;
            }
            else
            {
                x.Reply.Error(Errors.Syntax);
                return -1;
            }
        }
        bool trim = a.ByLength || a.ByMinId;
        if (a.Limit != 0 && !trim)
        {
            x.Reply.Error("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy");
            return -1;
        }
        if (!xadd && !trim)
        {
            x.Reply.Error("ERR syntax error, XTRIM must be called with a trimming strategy");
            return -1;
        }
        if (limitGiven)
        {
            if (!a.Approx)
            {
                x.Reply.Error("ERR syntax error, LIMIT cannot be used without the special ~ option");
                return -1;
            }
        }
        else if (a.Approx)
        {
            a.Limit = 100 * x.Engine.Config.StreamNodeMaxEntries;
            if (a.Limit <= 0) a.Limit = 10000;
            if (a.Limit > 1000000) a.Limit = 1000000;
        }
        else
        {
            a.Limit = 0;
        }
        return i;
    }

    /// <summary>MAXLEN's or LIMIT's number: an integer, not negative (Redis's texts for each).</summary>
    private static bool TryGetCount(CommandContext x, int arg, string option, out long value)
    {
        if (!x.Args.TryGetInt64(arg, out value))
        {
            x.Reply.Error(Errors.NotInteger);
            return false;
        }
        if (value >= 0) return true;
        x.Reply.Error($"ERR The {option} argument must be >= 0.");
        return false;
    }

    private static long Trim(StreamValue s, in TrimArgs a) => s.Trim(a.ByLength, a.MaxLength, a.MinId, a.Approx, a.Limit);

    /// <summary>XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value [field value ...]</summary>
    private static void XAdd(CommandContext x)
    {
        int idPos = ParseTrimArgs(x, xadd: true, out var a);
        if (idPos < 0) return;
        int fields = idPos + 1;
        if (x.Args.Count - fields < 2 || (x.Args.Count - fields) % 2 == 1)
        {
            x.Reply.Error(Errors.WrongArity(x.Command.FullName));
            return;
        }
        if (a.IdGiven && a.SeqGiven && a.Id.IsZero)
        {
            x.Reply.Error("ERR The ID specified in XADD must be greater than 0-0");
            return;
        }
        if (!TryGet(x, x.Args[1], write: true, out var s)) return;
        var db = Db(x);
        if (s is null)
        {
            if (a.NoMkStream)
            {
                x.Reply.NullBulk();
                return;
            }
            s = new StreamValue();
            x.Engine.SetKey(db, x.Args[1], s);
        }
        if (s.LastId == StreamId.Max)
        {
            x.Reply.Error("ERR The stream has exhausted the last possible ID, unable to add more items");
            return;
        }
        if (!TryNextId(x, s, a, out var id))
        {
            x.Reply.Error("ERR The ID specified in XADD is equal or smaller than the target stream top item");
            return;
        }
        long total = 0;
        for (int i = fields; i < x.Args.Count; i++) total += x.Args[i].Length;
        if (total > 1L << 30)
        {
            x.Reply.Error("ERR Elements are too large to be stored");
            return;
        }
        s.Append(id, x.Args, fields, x.Engine.Config.StreamNodeMaxBytes, x.Engine.Config.StreamNodeMaxEntries);
        WriteId(x.Reply, id);
        x.Engine.Notify(NotifyFlags.Stream, "xadd", x.Args[1], x.Client.Db);
        if ((a.ByLength || a.ByMinId) && Trim(s, a) > 0) x.Engine.Notify(NotifyFlags.Stream, "xtrim", x.Args[1], x.Client.Db);
        x.Engine.SignalStreamReady(db, x.Args[1]);
    }

    /// <summary>As streamAppendItem's choice of ID: generated from the clock, <c>ms-*</c>, or as given; above the last.</summary>
    private static bool TryNextId(CommandContext x, StreamValue s, in TrimArgs a, out StreamId id)
    {
        var last = s.LastId;
        if (!a.IdGiven)
        {
            ulong ms = (ulong)x.Engine.NowMs;
            if (ms > last.Ms) id = new StreamId(ms, 0);
            else last.TryNext(out id); // the clock went back or stood still: the next sequence (streamIncrID)
        }
        else if (!a.SeqGiven && a.Id.Ms == last.Ms)
        {
            if (last.Seq == ulong.MaxValue)
            {
                id = default;
                return false;
            }
            id = new StreamId(last.Ms, last.Seq + 1);
        }
        else
        {
            id = a.Id;
        }
        return id > last;
    }

    /// <summary>XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]: the entries removed.</summary>
    private static void XTrim(CommandContext x)
    {
        if (ParseTrimArgs(x, xadd: false, out var a) < 0) return;
        if (!TryGet(x, x.Args[1], write: true, out var s)) return;
        if (s is null)
        {
            x.Reply.Integer(0);
            return;
        }
        long deleted = Trim(s, a);
        if (deleted > 0) x.Engine.Notify(NotifyFlags.Stream, "xtrim", x.Args[1], x.Client.Db);
        x.Reply.Integer(deleted);
    }

    private static void XLen(CommandContext x)
    {
        if (TryGet(x, x.Args[1], write: false, out var s)) x.Reply.Integer(s?.Length ?? 0);
    }

    /// <summary>As streamParseIntervalIDOrReply: "(" makes the bound exclusive (then strict: no "-" or "+").</summary>
    internal static bool TryParseBound(CommandContext x, int arg, ulong missingSeq, out StreamId id, out bool exclusive)
    {
        var s = x.Args[arg];
        exclusive = s.Length > 1 && s[0] == (byte)'(';
        bool ok = exclusive
            ? StreamId.TryParse(s[1..], strict: true, missingSeq, out id, out _)
            : StreamId.TryParse(s, strict: false, missingSeq, out id, out _);
        if (!ok) x.Reply.Error(InvalidId);
        return ok;
    }

    /// <summary>XRANGE key start end [COUNT n] / XREVRANGE key end start [COUNT n].</summary>
    private static void XRange(CommandContext x, bool reverse)
    {
        int startArg = reverse ? 3 : 2, endArg = reverse ? 2 : 3;
        if (!TryParseBound(x, startArg, 0, out var start, out bool startEx)) return;
        if (startEx && !start.TryNext(out start))
        {
            x.Reply.Error("ERR invalid start ID for the interval");
            return;
        }
        if (!TryParseBound(x, endArg, ulong.MaxValue, out var end, out bool endEx)) return;
        if (endEx && !end.TryPrevious(out end))
        {
            x.Reply.Error("ERR invalid end ID for the interval");
            return;
        }
        long count = -1;
        for (int j = 4; j < x.Args.Count; j++)
        {
            if (x.Args.Is(j, "COUNT") && j + 1 < x.Args.Count)
            {
                if (!x.Args.TryGetInt64(++j, out count))
                {
                    x.Reply.Error(Errors.NotInteger);
                    return;
                }
                if (count < 0) count = 0;
            }
            else
            {
                x.Reply.Error(Errors.Syntax);
                return;
            }
        }
        if (!TryGet(x, x.Args[1], write: false, out var s)) return;
        if (s is null)
        {
            x.Reply.Array(0);
            return;
        }
        if (count == 0)
        {
            x.Reply.NullArray();
            return;
        }
        WriteEntries(x.Reply, s.Range(start, end, reverse), count < 0 ? long.MaxValue : count);
    }

    /// <summary>As streamReplyWithRange: an array of [id, [field, value, ...]], at most <paramref name="count"/> of them.</summary>
    internal static void WriteEntries(RespWriter r, IEnumerable<StreamEntry> entries, long count)
    {
        var list = new List<StreamEntry>();
        foreach (var e in entries)
        {
            if (list.Count >= count) break;
            list.Add(e);
        }
        r.Array(list.Count);
        foreach (var e in list) WriteEntry(r, e);
    }

    internal static void WriteEntry(RespWriter r, StreamEntry e)
    {
        r.Array(2);
        WriteId(r, e.Id);
        r.Array(e.Pairs.Length);
        foreach (var p in e.Pairs) r.Bulk(p);
    }

    internal static void WriteId(RespWriter r, StreamId id)
    {
        Span<byte> buffer = stackalloc byte[48];
        r.Bulk(buffer[..id.Format(buffer)]);
    }

    /// <summary>XDEL key id [id ...]: the entries deleted (their IDs are all checked first).</summary>
    private static void XDel(CommandContext x)
    {
        if (!TryGet(x, x.Args[1], write: true, out var s)) return;
        if (s is null)
        {
            x.Reply.Integer(0);
            return;
        }
        var ids = new StreamId[x.Args.Count - 2];
        for (int j = 2; j < x.Args.Count; j++)
        {
            if (!TryParseStrictId(x, j, out ids[j - 2])) return;
        }
        int deleted = s.Delete(ids);
        if (deleted > 0) x.Engine.Notify(NotifyFlags.Stream, "xdel", x.Args[1], x.Client.Db);
        x.Reply.Integer(deleted);
    }

    /// <summary>XSETID key last-id [ENTRIESADDED n] [MAXDELETEDID id] (Redis 7.0).</summary>
    private static void XSetId(CommandContext x)
    {
        if (!TryParseStrictId(x, 2, out var id)) return;
        long entriesAdded = -1;
        var maxDeleted = StreamId.Min;
        for (int i = 3; i < x.Args.Count; i += 2)
        {
            bool more = i + 1 < x.Args.Count;
            if (x.Args.Is(i, "ENTRIESADDED") && more)
            {
                if (!x.Args.TryGetInt64(i + 1, out entriesAdded))
                {
                    x.Reply.Error(Errors.NotInteger);
                    return;
                }
                if (entriesAdded < 0)
                {
                    x.Reply.Error("ERR entries_added must be positive");
                    return;
                }
            }
            else if (x.Args.Is(i, "MAXDELETEDID") && more)
            {
                if (!TryParseStrictId(x, i + 1, out maxDeleted)) return;
                if (id < maxDeleted)
                {
                    x.Reply.Error("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id");
                    return;
                }
            }
            else
            {
                x.Reply.Error(Errors.Syntax);
                return;
            }
        }
        if (!TryGet(x, x.Args[1], write: true, out var s)) return;
        if (s is null)
        {
            x.Reply.Error(Errors.NoSuchKey);
            return;
        }
        if (s.Length > 0)
        {
            if (id < s.LastLive()!.Value.Id)
            {
                x.Reply.Error("ERR The ID specified in XSETID is smaller than the target stream top item");
                return;
            }
            if (entriesAdded != -1 && s.Length > entriesAdded)
            {
                x.Reply.Error("ERR The entries_added specified in XSETID is smaller than the target stream length");
                return;
            }
        }
        s.LastId = id;
        if (entriesAdded != -1) s.EntriesAdded = entriesAdded;
        if (!maxDeleted.IsZero) s.MaxDeletedId = maxDeleted;
        x.Engine.Notify(NotifyFlags.Stream, "xsetid", x.Args[1], x.Client.Db);
        x.Reply.Ok();
    }
}
