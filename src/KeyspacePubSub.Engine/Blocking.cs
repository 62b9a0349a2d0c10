using KeyspacePubSub.Engine.Commands;
using KeyspacePubSub.Engine.Keyspace;
using KeyspacePubSub.Protocol;

namespace KeyspacePubSub.Engine;

/// <summary>
/// What a blocked client waits for: elements of a list or of a sorted set, entries of a stream (XREAD), (WAIT)
/// replicas, of which there are none, or (Postponed) the end of a CLIENT PAUSE.
/// </summary>
internal enum BlockKind { List, SortedSet, Stream, Replicas, Postponed }

/// <summary>
/// A client waiting in a blocking command (BLPOP, BLMOVE, BZPOPMIN, WAIT...): a copy of the command, the keys
/// it waits on, in its database, and its deadline (Unix ms; 0 waits for ever, as does a deadline past
/// <see cref="long.MaxValue"/>, which Redis never reaches either).
/// </summary>
internal sealed class BlockState(Client client, CommandDef command, RequestBatch args, int db, byte[][] keys, long deadline, BlockKind kind)
{
    public Client Client { get; } = client;
    public CommandDef Command { get; } = command;
    public RequestBatch Args { get; } = args;
    public int Db { get; } = db;
    public byte[][] Keys { get; } = keys;
    public long Deadline { get; } = deadline;

    public BlockKind Kind { get; } = kind;

    /// <summary>What the command needs to be served later (XREAD: the ID it reads after, per key, and its COUNT).</summary>
    public object? Extra { get; init; }

    /// <summary>While the command runs again for a key that became ready: that key, the only one it looks at.</summary>
    public byte[]? ServingKey { get; set; }

    /// <summary>Set when a run for a ready key found nothing to take: the client keeps waiting.</summary>
    public bool StillWaiting { get; set; }

    /// <summary>How long the call that blocked took (Redis's c->duration): part of the command's time once it is served.</summary>
    public long CallTicks { get; set; }
}

/// <summary>
/// Blocking commands, as Redis 7.0's blocked.c. A command that finds nothing to pop blocks its client: the
/// client is listed, first come first served, under each key it waits on, and the commands it sends meanwhile
/// are held (<see cref="Client.Hold"/>). A command that makes a list or sorted set under such a key marks the
/// key ready; after the command (after the whole EXEC) each waiting client of a ready key gets its command run
/// again for that key, in the order they blocked, while the key has elements, so the pops, their events and
/// their replies are those of the command itself. A deadline that passes, CLIENT UNBLOCK or a disconnection
/// ends the wait. Inside MULTI/EXEC nothing blocks: the command answers as if it timed out.
/// </summary>
public sealed partial class Engine
{
    private Dictionary<byte[], List<Client>>[]? _waiting; // by database: key → clients in blocking order
    private readonly List<(int Db, byte[] Key)> _ready = [];
    private readonly PriorityQueue<BlockState, long> _blockDeadlines = new();
    private bool _servingReady;
    private int _blockedOnLists, _blockedOnSortedSets, _blockedOnStreams; // as Redis's blocked_clients_by_type

    /// <summary>Clients waiting in a blocking command (INFO blocked_clients).</summary>
    public int BlockedClients { get; private set; }

    /// <summary>Blocked clients with a deadline (INFO clients_in_timeout_table).</summary>
    public int BlockedWithTimeout { get; private set; }

    /// <summary>Whether a blocking command may block its client now: not inside EXEC nor a script (Redis's CLIENT_DENY_BLOCKING).</summary>
    internal static bool MayBlock(Client c) => !c.InMulti && !c.IsScriptClient;

    /// <summary>While a blocked command runs again for a ready key: that key (it looks at no other).</summary>
    internal static byte[]? ServingKey(Client c) => c.Block?.ServingKey;

    /// <summary>
    /// The command found nothing and blocks its client on <paramref name="keys"/> (duplicates count once) until
    /// <paramref name="deadline"/>. When it ran again for a ready key that had nothing for it, the client keeps
    /// waiting as it was.
    /// </summary>
    internal void BlockForKeys(CommandContext x, IEnumerable<byte[]> keys, long deadline, BlockKind kind, object? extra = null)
    {
        var c = x.Client;
        if (c.Block is { } waiting)
        {
            waiting.StillWaiting = true;
            return;
        }
        var copy = new RequestBatch();
        copy.Append(x.Args);
        var distinct = new List<byte[]>();
        foreach (var k in keys)
        {
            if (!distinct.Exists(d => d.AsSpan().SequenceEqual(k))) distinct.Add(k);
        }
        var state = new BlockState(c, x.Command, copy, c.Db, [.. distinct], deadline, kind) { Extra = extra };
        c.Block = state;
        _waiting ??= NewWaitingTables();
        foreach (var k in state.Keys)
        {
            if (!_waiting[c.Db].TryGetValue(k, out var list)) _waiting[c.Db][k] = list = [];
            list.Add(c);
        }
        BlockedClients++;
        if (kind == BlockKind.List) _blockedOnLists++;
        else if (kind == BlockKind.SortedSet) _blockedOnSortedSets++;
        else if (kind == BlockKind.Stream) _blockedOnStreams++;
        if (deadline != 0) BlockedWithTimeout++; // a wrapped (negative) one too: Redis lists it, and never reaches it
        if (deadline > 0)
        {
            bool earliest = !_blockDeadlines.TryPeek(out _, out long next) || deadline < next;
            _blockDeadlines.Enqueue(state, deadline);
            if (earliest) _expiryWake.Set();
        }
    }

    private Dictionary<byte[], List<Client>>[] NewWaitingTables()
    {
        var tables = new Dictionary<byte[], List<Client>>[Databases.Length];
        for (int i = 0; i < tables.Length; i++) tables[i] = new Dictionary<byte[], List<Client>>(ByteKeyComparer.Instance);
        return tables;
    }

    /// <summary>
    /// As signalKeyAsReady: a list or sorted set was stored under <paramref name="key"/>; waiting clients are
    /// served after the command. As in Redis 7.0, only while some client (in any database) is blocked for that
    /// type: a key added as a sorted set while only list pops wait is not ready, even if a later command of the
    /// same EXEC overwrites it with a list (which signals nothing: see SetLiveKey).
    /// </summary>
    private void SignalKeyAsReady(int db, byte[] key, object value)
    {
        int blocked = value switch
        {
            ListValue => _blockedOnLists,
            SortedSetValue => _blockedOnSortedSets,
            Streams.StreamValue => _blockedOnStreams,
            _ => 0,
        };
        if (blocked == 0) return;
        if (!_waiting![db].ContainsKey(key)) return;
        AddReady(db, key);
    }

    private void AddReady(int db, byte[] key)
    {
        foreach (var (d, k) in _ready)
        {
            if (d == db && k.AsSpan().SequenceEqual(key)) return;
        }
        _ready.Add((db, key));
    }

    /// <summary>
    /// As Redis 7.0's signalDeletedKeyAsReady: a stream left <paramref name="key"/> (deleted, overwritten, renamed
    /// away, flushed, swapped out). A client blocked in XREADGROUP on it is answered -UNBLOCKED after the command
    /// unless the key holds a stream again by then (XREAD waits on).
    /// </summary>
    private void SignalStreamRemoved(Database db, ReadOnlySpan<byte> key)
    {
        if (_blockedOnStreams == 0) return;
        if (_waiting![db.Index].GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(key, out var stored, out _)) AddReady(db.Index, stored);
    }

    /// <summary>FLUSHDB / FLUSHALL: every key waited on by a stream read of that database is ready (Redis's scanDatabaseForDeletedStreams).</summary>
    internal void SignalFlushedStreams(int db)
    {
        if (_blockedOnStreams == 0) return;
        foreach (var key in _waiting![db].Keys) AddReady(db, key);
    }

    /// <summary>As XADD's signalKeyAsReady: an entry was added to the stream under <paramref name="key"/>.</summary>
    internal void SignalStreamReady(Database db, ReadOnlySpan<byte> key)
    {
        if (_blockedOnStreams == 0 || db.KeyOf(key) is not { } stored) return;
        SignalKeyAsReady(db.Index, stored, db.Get(stored)!);
    }

    /// <summary>As scanDatabaseForReadyKeys (SWAPDB): every waited-on key that now holds a list, sorted set or stream is ready.</summary>
    private void SignalSwappedKeysReady(int a, int b)
    {
        if (BlockedClients == 0) return;
        foreach (int db in (int[])[a, b])
        {
            foreach (var key in _waiting![db].Keys)
            {
                var value = Databases[db].Get(key);
                if (value != null) SignalKeyAsReady(db, key, value);
                if (value is not Streams.StreamValue && _blockedOnStreams > 0) AddReady(db, key); // a stream swapped out
            }
        }
    }

    /// <summary>
    /// As handleClientsBlockedOnKeys, after a top-level command: each ready key's waiting clients, in the order
    /// they blocked, get their command run again for that key while it holds elements of their kind. A client
    /// waiting for the other kind is passed over (it stays blocked, as in Redis 7.0). Serving may make more keys
    /// ready (BLMOVE pushes): they are served in the same pass.
    /// </summary>
    private void ServeReadyKeys()
    {
        if (_servingReady) return;
        _servingReady = true;
        try
        {
            while (_ready.Count > 0)
            {
                // Taken off first: a key served and filled again (a BLMOVE into it) is ready once more.
                var (dbIndex, key) = _ready[0];
                _ready.RemoveAt(0);
                if (!_waiting![dbIndex].TryGetValue(key, out var waiters)) continue;
                var db = Databases[dbIndex];
                // Each client waiting when the pass began, in blocking order; one served leaves the queue, one not
                // keeps its place (none can block anew during the pass: a served client's next commands run later).
                var value = LookupWrite(db, key);
                foreach (var c in waiters.ToArray())
                {
                    BlockKind? kind = value switch
                    {
                        ListValue { Count: > 0 } => BlockKind.List,
                        SortedSetValue { Count: > 0 } => BlockKind.SortedSet,
                        Streams.StreamValue => BlockKind.Stream,
                        _ => null,
                    };
                    if (kind is null) break;
                    if (c.Block is not { } state || state.Kind != kind) continue;
                    // A stream read runs again only if it would be served (serveClientsBlockedOnStreamKey's test):
                    // a hundred consumers of one group waiting cost one comparison each per XADD, not a command.
                    if (state.Extra is StreamReadCommand.Wait wait && !StreamReadCommand.WouldServe(wait, key, (Streams.StreamValue)value!)) continue;
                    Serve(c, key);
                    value = LookupWrite(db, key); // what the command that ran left under the key
                }
                // As unblockDeletedStreamReadgroupClients: no stream under the key, XREADGROUP's wait ends in an error
                // (its command runs once more and answers it); XREAD keeps waiting.
                if (_blockedOnStreams > 0 && LookupWrite(db, key) is not Streams.StreamValue && _waiting[dbIndex].TryGetValue(key, out waiters))
                {
                    foreach (var c in waiters.ToArray())
                    {
                        if (c.Block is { Kind: BlockKind.Stream, Extra: StreamReadCommand.Wait { Group: not null } }) Serve(c, key);
                    }
                }
            }
        }
        finally
        {
            _ready.Clear();
            _servingReady = false;
        }
    }

    /// <summary>Runs a blocked client's command again for <paramref name="key"/>; unblocks it unless it found nothing.</summary>
    private void Serve(Client c, byte[] key)
    {
        var state = c.Block!;
        state.ServingKey = key;
        state.StillWaiting = false;
        MarkForFlush(c);
        Call(c, state.Command, state.Args[0], rerun: true);
        state.ServingKey = null;
        if (state.StillWaiting) return;
        c.EndCommand(); // the blocked command ends here, as resetClient in Redis's unblockClient
        Unblock(c);
    }

    /// <summary>
    /// Ends a client's wait: it leaves every key's queue and the deadlines, and the commands it sent meanwhile
    /// run (on its own connection's thread, through <see cref="IClientTransport.Resume"/>).
    /// </summary>
    internal void Unblock(Client c)
    {
        if (!Forget(c)) return;
        MarkForFlush(c);
        if ((c.HeldCount > 0 || c.HeldProtocolError != null) && !c.Closed) c.Transport.Resume();
    }

    /// <summary>Drops a client's wait without answering it (disconnection); false if it was not blocked.</summary>
    private bool Forget(Client c)
    {
        var state = c.Block;
        if (state is null) return false;
        c.Block = null;
        foreach (var k in state.Keys)
        {
            var table = _waiting![state.Db];
            if (!table.TryGetValue(k, out var list)) continue;
            list.Remove(c);
            if (list.Count == 0) table.Remove(k);
        }
        BlockedClients--;
        if (state.Kind == BlockKind.List) _blockedOnLists--;
        else if (state.Kind == BlockKind.SortedSet) _blockedOnSortedSets--;
        else if (state.Kind == BlockKind.Stream) _blockedOnStreams--;
        if (state.Deadline != 0) BlockedWithTimeout--; // its queue entry is dropped lazily
        if (state.Kind == BlockKind.Postponed) _postponed.Remove(c);
        return true;
    }

    /// <summary>
    /// As replyToBlockedClientTimedOut, then unblockClient: a null array (also for BLMOVE, as Redis 7.0), for WAIT
    /// the replicas that acknowledged (none), or with <paramref name="error"/> the error CLIENT UNBLOCK ... ERROR
    /// sends. A client whose replies are off, or skipped for the command that blocked, gets none.
    /// </summary>
    internal void TimeOutBlocked(Client c, string? error = null, bool byClientUnblock = false)
    {
        if (c.Block is not { } state) return;
        if (!c.RepliesDropped)
        {
            if (error != null) c.Reply.Error(error);
            else if (state.Kind == BlockKind.Replicas) c.Reply.Integer(0);
            else c.Reply.NullArray();
        }
        // CLIENT UNBLOCK ends the command as a failed call, with either reason (Redis 7.0: updateStatsOnUnblock(c, 0,
        // 0, 1)); a deadline that passes records nothing more, as its replyToBlockedClientTimedOut.
        if (byClientUnblock)
        {
            _redacted.Clear();
            RecordServedStats(c, state.Command, state.Args[0], state.CallTicks, failed: true);
        }
        c.EndCommand(); // the blocked command ends here (resetClient); a CLIENT PAUSE wait never times out
        Unblock(c);
    }

    /// <summary>Answers every blocked client whose deadline has passed. Caller holds the gate.</summary>
    private void TimeOutDueBlocked()
    {
        long now = NowMs;
        while (_blockDeadlines.TryPeek(out var state, out long deadline) && deadline <= now)
        {
            _blockDeadlines.Dequeue();
            if (ReferenceEquals(state.Client.Block, state)) TimeOutBlocked(state.Client);
        }
    }

    /// <summary>
    /// Drops the deadlines of clients no longer blocked (served, or gone) once they outnumber the blocked ones
    /// (over 2× + 1,024): each stayed until its own deadline, holding its client, so BLPOPs with a 300 s timeout,
    /// each served by a push, kept ~90 bytes apiece for 300 s (20,000 rounds: used memory +1.75 MB; Redis:
    /// nothing). The cron, between commands.
    /// </summary>
    internal void DropStaleBlockDeadlines()
    {
        if (_blockDeadlines.Count <= 2L * BlockedWithTimeout + 1024) return;
        var live = new List<(BlockState, long)>(BlockedWithTimeout);
        foreach (var (state, deadline) in _blockDeadlines.UnorderedItems)
        {
            if (ReferenceEquals(state.Client.Block, state)) live.Add((state, deadline));
        }
        _blockDeadlines.Clear();
        _blockDeadlines.TrimExcess();
        _blockDeadlines.EnqueueRange(live);
    }

    /// <summary>Deadline entries, stale ones included (tests).</summary>
    internal int BlockDeadlineEntries => _blockDeadlines.Count;

    /// <summary>The earliest blocked client's deadline (entries of clients no longer blocked included), or null.</summary>
    private long? NextBlockDeadline()
    {
        while (_blockDeadlines.TryPeek(out var state, out long deadline))
        {
            if (ReferenceEquals(state.Client.Block, state)) return deadline;
            _blockDeadlines.Dequeue();
        }
        return null;
    }

    /// <summary>
    /// Runs the commands a client sent while it was blocked, until none is left or one blocks again, then answers a
    /// protocol error that followed them (the connection then closes). Caller holds the gate.
    /// </summary>
    public void RunHeld(Client c, ref int executed)
    {
        while (!c.IsBlocked && !c.Closed && !c.CloseAfterReply && c.TryNextHeld(out var args))
        {
            Execute(c, args);
            executed++;
        }
        if (c.HeldProtocolError is { } error && !c.IsBlocked && c.HeldCount == 0 && !c.Closed && !c.CloseAfterReply)
        {
            c.Reply.Error(error);
            c.CloseAfterReply = true;
            MarkForFlush(c);
        }
    }
}
