using KeyspacePubSub.Engine.Streams;
using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>
/// XREAD [COUNT n] [BLOCK ms] STREAMS key [key ...] id [id ...] (t_stream.c xreadCommand, Redis 7.0, without
/// groups): the entries after each ID, for the streams that have some; with BLOCK and none, the client waits
/// for an XADD to one of the keys. "$" is the stream's last ID when the command arrives.
/// </summary>
internal static class StreamReadCommand
{
    /// <summary>XREAD_BLOCKED_DEFAULT_COUNT: a blocked read without COUNT is answered at most this many entries.</summary>
    private const long BlockedDefaultCount = 1000;

    public static void Register(CommandTable t)
    {
        t.Add(new() { Name = "xread", Arity = -4, Flags = ReadOnly | Blocking | MovableKeys, Handler = XRead, MovableKeyPositions = KeyPositions, Group = "stream", Since = "5.0.0", Summary = "Return never seen elements in multiple streams, with IDs greater than the ones reported by the caller for each stream. Can block." });
    }

    /// <summary>The keys: the first half of what follows STREAMS.</summary>
    private static IEnumerable<int> KeyPositions(CommandArgs args, int start)
    {
        for (int i = start + 1; i < args.Count; i++)
        {
            if (!args.Is(i, "STREAMS")) continue;
            int n = (args.Count - i - 1) / 2;
            for (int k = 0; k < n; k++) yield return i + 1 + k - start;
            yield break;
        }
    }

    /// <summary>What a blocked XREAD waits for: each key's ID (resolved when it blocked) and its COUNT.</summary>
    internal sealed class Wait(Dictionary<byte[], StreamId> after, long count)
    {
        public Dictionary<byte[], StreamId> After { get; } = after;
        public long Count { get; } = count;
    }

    private static void XRead(CommandContext x)
    {
        if (Engine.ServingKey(x.Client) is { } ready)
        {
            ServeBlocked(x, ready);
            return;
        }
        long timeout = -1, count = 0;
        int streamsArg = 0, streams = 0;
        for (int i = 1; i < x.Args.Count; i++)
        {
            bool more = i + 1 < x.Args.Count;
            if (x.Args.Is(i, "BLOCK") && more)
            {
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
                x.Reply.Error("ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.");
                return;
            }
            else if (x.Args.Is(i, "NOACK"))
            {
                x.Reply.Error("ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.");
                return;
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
        var after = new StreamId[streams];
        var values = new StreamValue?[streams];
        for (int i = 0; i < streams; i++)
        {
            if (!StreamCommands.TryGet(x, x.Args[streamsArg + i], write: false, out values[i])) return;
            var idArg = x.Args[streamsArg + streams + i];
            if (idArg.Length == 1 && idArg[0] == (byte)'$')
            {
                after[i] = values[i]?.LastId ?? StreamId.Min;
            }
            else if (idArg.Length == 1 && idArg[0] == (byte)'>')
            {
                x.Reply.Error("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.");
                return;
            }
            else if (!StreamCommands.TryParseStrictId(x, streamsArg + streams + i, out after[i]))
            {
                return;
            }
        }
        // Served at once: the streams whose last live entry is past the ID asked for. Each key is looked up again,
        // as xreadCommand does (an LFU counter counts both).
        var served = new List<int>();
        var db = x.Engine.Databases[x.Client.Db];
        for (int i = 0; i < streams; i++)
        {
            values[i] = x.Engine.LookupRead(db, x.Args[streamsArg + i]) as StreamValue;
            if (values[i] is { Length: > 0 } s && s.LastLive()!.Id > after[i]) served.Add(i);
        }
        if (served.Count > 0)
        {
            WriteKeys(x.Reply, served.Count);
            foreach (int i in served) WriteKey(x.Reply, x.Args[streamsArg + i], values[i]!, after[i], count == 0 ? long.MaxValue : count);
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
        x.Engine.BlockForKeys(x, keys, deadline, BlockKind.Stream, new Wait(waits, count != 0 ? count : BlockedDefaultCount));
    }

    /// <summary>
    /// As serveClientsBlockedOnStreamKey: a stream written under a key the client waits on, whose last ID is now
    /// past the one it waits after, answers it with that one key's entries; otherwise it keeps waiting.
    /// </summary>
    private static void ServeBlocked(CommandContext x, byte[] key)
    {
        var wait = (Wait)x.Client.Block!.Extra!;
        var value = x.Engine.LookupWrite(x.Engine.Databases[x.Client.Db], key);
        if (value is not StreamValue s || !wait.After.TryGetValue(key, out var after) || s.LastId <= after)
        {
            x.Engine.BlockForKeys(x, [], 0, BlockKind.Stream);
            return;
        }
        WriteKeys(x.Reply, 1);
        WriteKey(x.Reply, key, s, after, wait.Count);
    }

    /// <summary>XREAD's reply: an array of [key, entries] pairs, a map key → entries in RESP3.</summary>
    private static void WriteKeys(RespWriter r, int keys)
    {
        if (r.Resp3) r.Map(keys);
        else r.Array(keys);
    }

    /// <summary>One stream of XREAD's reply: its name, then its entries after <paramref name="after"/>.</summary>
    private static void WriteKey(RespWriter r, ReadOnlySpan<byte> key, StreamValue s, StreamId after, long count)
    {
        if (!r.Resp3) r.Array(2);
        r.Bulk(key);
        after.TryNext(out var start);
        StreamCommands.WriteEntries(r, s.Range(start, StreamId.Max, reverse: false), count);
    }
}
