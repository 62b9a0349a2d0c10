using KeyspacePubSub.Engine.Streams;
using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>
/// XCLAIM and XAUTOCLAIM (t_stream.c, Redis 7.0): pending entries of a group change consumer. An entry deleted from
/// the stream since its delivery leaves the pending list instead; the consumer is created with the first entry it
/// claims.
/// </summary>
internal static class StreamClaimCommands
{
    public static void Register(CommandTable t)
    {
        t.Add(new() { Name = "xclaim", Arity = -6, Flags = Write | Fast, Handler = XClaim, FirstKey = 1, LastKey = 1, Step = 1, Group = "stream", Since = "5.0.0", Summary = "Changes (or acquires) ownership of a message in a consumer group, as if the message was delivered to the specified consumer." });
        t.Add(new() { Name = "xautoclaim", Arity = -6, Flags = Write | Fast, Handler = XAutoClaim, FirstKey = 1, LastKey = 1, Step = 1, Group = "stream", Since = "6.2.0", Summary = "Changes (or acquires) ownership of messages in a consumer group, as if the messages were delivered to the specified consumer." });
    }

    /// <summary>
    /// XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME ms] [RETRYCOUNT n] [FORCE] [JUSTID]
    /// [LASTID id] (xclaimCommand): the entries (or IDs) now pending with the consumer.
    /// </summary>
    private static void XClaim(CommandContext x)
    {
        if (!StreamCommands.TryGet(x, x.Args[1], write: false, out var s)) return;
        var cg = s?.FindGroup(x.Args[2]);
        if (cg is null)
        {
            x.Reply.Error(StreamGroupCommands.NoGroup(x, 1, 2));
            return;
        }
        if (!x.Args.TryGetInt64(4, out long minIdle))
        {
            x.Reply.Error("ERR Invalid min-idle-time argument for XCLAIM");
            return;
        }
        if (minIdle < 0) minIdle = 0;
        var ids = new List<StreamId>();
        int j = 5;
        for (; j < x.Args.Count; j++)
        {
            if (!StreamId.TryParse(x.Args[j], strict: true, 0, out var id, out _)) break;
            ids.Add(id);
        }
        long now = x.Engine.NowMs, deliveryTime = -1, retryCount = -1;
        bool force = false, justId = false;
        var lastId = StreamId.Min;
        for (; j < x.Args.Count; j++)
        {
            bool more = j + 1 < x.Args.Count;
            if (x.Args.Is(j, "FORCE")) force = true;
            else if (x.Args.Is(j, "JUSTID")) justId = true;
            else if (x.Args.Is(j, "IDLE") && more)
            {
                if (!x.Args.TryGetInt64(++j, out deliveryTime))
                {
                    x.Reply.Error("ERR Invalid IDLE option argument for XCLAIM");
                    return;
                }
                deliveryTime = now - deliveryTime;
            }
            else if (x.Args.Is(j, "TIME") && more)
            {
                if (!x.Args.TryGetInt64(++j, out deliveryTime))
                {
                    x.Reply.Error("ERR Invalid TIME option argument for XCLAIM");
                    return;
                }
            }
            else if (x.Args.Is(j, "RETRYCOUNT") && more)
            {
                if (!x.Args.TryGetInt64(++j, out retryCount))
                {
                    x.Reply.Error("ERR Invalid RETRYCOUNT option argument for XCLAIM");
                    return;
                }
            }
            else if (x.Args.Is(j, "LASTID") && more)
            {
                if (!StreamCommands.TryParseStrictId(x, ++j, out lastId)) return;
            }
            else
            {
                x.Reply.Error($"ERR Unrecognized XCLAIM option '{Errors.CText(x.Args[j])}'");
                return;
            }
        }
        bool changed = false;
        if (lastId > cg.LastId)
        {
            cg.LastId = lastId;
            changed = true;
        }
        if (deliveryTime == -1 || deliveryTime < 0 || deliveryTime > now) deliveryTime = now;
        Consumer? consumer = null; // as Redis 7.0: found or created with the first entry it claims
        var claimed = new List<StreamId>();
        foreach (var id in ids)
        {
            var p = cg.Pending.Find(id);
            if (!s!.Contains(id))
            {
                if (p != null)
                {
                    cg.Remove(p); // its entry is gone: it leaves the pending list
                    changed = true;
                }
                continue;
            }
            if (p is null && !force) continue;
            if (p != null && minIdle != 0 && now - p.DeliveryTime < minIdle) continue;
            consumer ??= StreamGroupCommands.ConsumerFor(x, x.Args[1], cg, x.Args[3]);
            p ??= cg.AddPending(id, consumer, now, 1); // FORCE: pending from now on (streamCreateNACK)
            cg.Redeliver(p, consumer, deliveryTime, retryCount >= 0 ? retryCount : justId ? p.DeliveryCount : p.DeliveryCount + 1);
            claimed.Add(id);
            changed = true;
        }
        if (changed) x.Engine.GroupChanged(x.Client.Db, x.Args[1]);
        WriteClaimed(x.Reply, s!, claimed, justId);
    }

    /// <summary>Claimed entries: their IDs (JUSTID), or the entries themselves.</summary>
    private static void WriteClaimed(RespWriter r, StreamValue s, List<StreamId> ids, bool justId)
    {
        r.Array(ids.Count);
        foreach (var id in ids)
        {
            if (justId) StreamCommands.WriteId(r, id);
            else StreamCommands.WriteEntry(r, s.Find(id)!.Value);
        }
    }

    /// <summary>
    /// XAUTOCLAIM key group consumer min-idle-time start [COUNT n] [JUSTID] (xautoclaimCommand): claims up to
    /// COUNT pending entries idle long enough, from start on, looking at no more than 10 × COUNT of them; replies
    /// the next start, the claimed entries and the IDs whose entries were gone (they leave the pending list).
    /// </summary>
    private static void XAutoClaim(CommandContext x)
    {
        if (!x.Args.TryGetInt64(4, out long minIdle))
        {
            x.Reply.Error("ERR Invalid min-idle-time argument for XAUTOCLAIM");
            return;
        }
        if (minIdle < 0) minIdle = 0;
        if (!StreamCommands.TryParseBound(x, 5, 0, out var start, out bool startEx)) return;
        if (startEx && !start.TryNext(out start))
        {
            x.Reply.Error("ERR invalid start ID for the interval");
            return;
        }
        const long AttemptsFactor = 10;
        long count = 100;
        bool justId = false;
        for (int j = 6; j < x.Args.Count; j++)
        {
            if (x.Args.Is(j, "COUNT") && j + 1 < x.Args.Count)
            {
                if (!x.Args.TryGetInt64(j + 1, out count) || count < 1 || count > long.MaxValue / 16)
                {
                    x.Reply.Error("ERR COUNT must be > 0");
                    return;
                }
                j++;
            }
            else if (x.Args.Is(j, "JUSTID"))
            {
                justId = true;
            }
            else
            {
                x.Reply.Error(Errors.Syntax);
                return;
            }
        }
        if (!StreamCommands.TryGet(x, x.Args[1], write: false, out var s)) return;
        var cg = s?.FindGroup(x.Args[2]);
        if (cg is null)
        {
            x.Reply.Error(StreamGroupCommands.NoGroup(x, 1, 2));
            return;
        }
        // Redis allocates COUNT IDs up front for the deleted ones (ztrymalloc): more than the machine has fails.
        if (count > GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 16)
        {
            x.Reply.Error("ERR Insufficient memory, failed allocating transient memory, COUNT too high.");
            return;
        }
        Consumer? consumer = null; // as Redis 7.0: found or created with the first entry it claims
        long attempts = count * AttemptsFactor, now = x.Engine.NowMs;
        // What the rax iterator would visit: at most one more than the attempts (the next cursor).
        var candidates = new List<PendingEntry>();
        foreach (var p in cg.Pending.Range(start, StreamId.Max))
        {
            candidates.Add(p);
            if (candidates.Count > attempts) break;
        }
        var claimed = new List<StreamId>();
        var deleted = new List<StreamId>();
        int next = 0;
        while (attempts-- > 0 && count > 0 && next < candidates.Count)
        {
            var p = candidates[next++];
            if (!s!.Contains(p.Id))
            {
                cg.Remove(p);
                deleted.Add(p.Id);
                count--;
                continue;
            }
            if (minIdle != 0 && now - p.DeliveryTime < minIdle) continue;
            consumer ??= StreamGroupCommands.ConsumerFor(x, x.Args[1], cg, x.Args[3]);
            cg.Redeliver(p, consumer, now, justId ? p.DeliveryCount : p.DeliveryCount + 1);
            claimed.Add(p.Id);
            count--;
        }
        if (claimed.Count > 0 || deleted.Count > 0) x.Engine.GroupChanged(x.Client.Db, x.Args[1]);
        var r = x.Reply;
        r.Array(3);
        StreamCommands.WriteId(r, next < candidates.Count ? candidates[next].Id : StreamId.Min);
        WriteClaimed(r, s!, claimed, justId);
        r.Array(deleted.Count);
        foreach (var id in deleted) StreamCommands.WriteId(r, id);
    }
}
