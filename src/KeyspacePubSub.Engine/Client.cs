using System.Buffers;
using KeyspacePubSub.Engine.PubSub;
using KeyspacePubSub.Protocol;

namespace KeyspacePubSub.Engine;

/// <summary>
/// CLIENT REPLY's state as Redis's three client flags: OFF until ON; SKIP for the command running now; SKIP_NEXT,
/// set by CLIENT REPLY SKIP, becomes SKIP when the top-level command ends (as <c>resetClient</c>), so a SKIP
/// queued in MULTI skips the command after EXEC, not the next one inside it.
/// </summary>
[Flags]
public enum ReplyMode { On = 0, Off = 1, Skip = 2, SkipNext = 4 }

/// <summary>
/// The state of one connection as Redis's client struct: protocol, database, name, subscriptions,
/// reply mode, transaction. Mutated only under <see cref="Engine.Gate"/>.
/// </summary>
public sealed class Client
{
    private static readonly NullBufferWriter Discard = new();
    private long _unsent;

    internal Client(long id, IClientTransport transport, bool authenticated)
    {
        Id = id;
        Transport = transport;
        Authenticated = authenticated;
        Reply = new RespWriter(transport.Output);
        Pushes = new RespWriter(transport.Output);
        CreatedAt = Environment.TickCount64;
        LastInteraction = CreatedAt;
    }

    public long Id { get; }
    public IClientTransport Transport { get; }

    /// <summary>The command's reply; discarded while CLIENT REPLY is OFF or SKIP.</summary>
    public RespWriter Reply { get; }

    /// <summary>Pub/sub frames for this client: never suppressed by CLIENT REPLY (as Redis 7.2).</summary>
    public RespWriter Pushes { get; }

    public int Protocol
    {
        get => Reply.Protocol;
        set
        {
            Reply.Protocol = value;
            Pushes.Protocol = value;
        }
    }

    public int Db { get; set; }
    public string? Name { get; set; }
    public string? LibName { get; set; }
    public string? LibVersion { get; set; }
    public bool Authenticated { get; set; }

    /// <summary>The ACL user the connection runs as (the default user until AUTH or HELLO names another).</summary>
    internal Acl.AclUser User { get; set; } = null!;
    public ReplyMode ReplyMode { get; set; }
    public bool NoEvict { get; set; }
    public bool NoTouch { get; set; }
    public bool IsMonitor { get; set; }

    /// <summary>The client scripts run their commands as (Redis's lua_client): never blocks, not a connection.</summary>
    internal bool IsScriptClient { get; init; }

    /// <summary>While a script runs: the client that sent the EVAL (Redis's script_caller).</summary>
    internal Client? ScriptCaller { get; set; }
    public long CreatedAt { get; }
    public long LastInteraction { get; set; }
    public string LastCommand { get; set; } = "NULL";

    /// <summary>Set by QUIT and protocol errors: the reply is sent, then the connection closes.</summary>
    public bool CloseAfterReply { get; set; }

    /// <summary>Set when the server decided to drop this client; no more output is produced for it.</summary>
    public bool Closed { get; internal set; }

    public Subscriptions Subs { get; } = new();

    /// <summary>Commands queued since MULTI (empty outside a transaction; kept for the next one).</summary>
    public TransactionQueue Queue => _queue ??= new TransactionQueue();

    private TransactionQueue? _queue;

    public bool InMulti { get; private set; }

    internal void BeginMulti()
    {
        Queue.Clear();
        InMulti = true;
    }

    internal void EndMulti()
    {
        InMulti = false;
        _queue?.Clear();
    }

    /// <summary>A command was rejected while queueing: EXEC will answer EXECABORT.</summary>
    public bool MultiError { get; internal set; }

    /// <summary>A watched key was touched: EXEC will answer a null array.</summary>
    public bool WatchDirty { get; internal set; }

    internal List<WatchedKey> Watched { get; } = [];

    /// <summary>CLIENT TRACKING settings, or null while tracking is off.</summary>
    internal TrackingState? Tracking { get; set; }

    /// <summary>
    /// The REDIRECT of the last CLIENT TRACKING on (0: none). Kept when tracking goes off, as Redis keeps
    /// client_tracking_redirection: an invalidation of the client's own command is sent after that command,
    /// where the settings it leaves say (Engine.SendPendingInvalidations).
    /// </summary>
    internal long TrackingRedirect { get; set; }

    /// <summary>The redirect as CLIENT GETREDIR, TRACKINGINFO and CLIENT LIST show it: -1 while tracking is off.</summary>
    /// <summary>
    /// CLIENT_TRACKING_BROKEN_REDIR: the redirect client was gone when an invalidation was due. Cleared by CLIENT
    /// TRACKING on and off, but set again by the client's own invalidations sent after its command turned
    /// tracking off (TRACKINGINFO then shows "off" and "broken_redirect", CLIENT LIST flag R).
    /// </summary>
    internal bool TrackingBrokenRedirect { get; set; }

    internal long RedirectShown => Tracking is null ? -1 : TrackingRedirect;

    /// <summary>What this client waits for in a blocking command (BLPOP and the like), or null.</summary>
    internal BlockState? Block { get; set; }

    /// <summary>Waiting in a blocking command: later commands are held until it is served or times out.</summary>
    public bool IsBlocked => Block != null;

    /// <summary>Commands that arrived behind a blocking one, run in order once it is answered (Redis keeps them in the query buffer).</summary>
    private RequestBatch? _held;
    private int _heldNext;

    /// <summary>Commands held behind a blocking command and not yet run.</summary>
    public int HeldCount => _held is null ? 0 : _held.CommandCount - _heldNext;

    /// <summary>A protocol error met behind a blocking command: answered (and the connection closed) after the held commands.</summary>
    public string? HeldProtocolError { get; set; }

    /// <summary>Bytes of the commands held (client-query-buffer-limit applies to them).</summary>
    public long HeldBytes => _held?.ArenaBytes ?? 0;

    /// <summary>Keeps a copy of a command that arrived while this client was blocked.</summary>
    public void Hold(CommandArgs args) => (_held ??= new RequestBatch()).Append(args);

    /// <summary>Puts a command back in front of those held (a command postponed by CLIENT PAUSE runs again first).</summary>
    internal void HoldFirst(CommandArgs args)
    {
        var rest = _held;
        int next = _heldNext;
        _held = new RequestBatch();
        _heldNext = 0;
        _held.Append(args);
        for (int i = next; rest != null && i < rest.CommandCount; i++) _held.Append(rest[i]);
    }

    /// <summary>The next held command, or false when none is left (the held batch is then emptied).</summary>
    internal bool TryNextHeld(out CommandArgs args)
    {
        if (_held is null || _heldNext >= _held.CommandCount)
        {
            if (_held is { CommandCount: > 0 }) _held.Reset();
            _heldNext = 0;
            args = default;
            return false;
        }
        args = _held[_heldNext++];
        return true;
    }

    /// <summary>RESP2 connections with any subscription accept only subscribe-family commands.</summary>
    public bool InPubSubMode => Subs.Total > 0;

    internal bool Dirty { get; set; }
    internal long SoftLimitSince { get; set; } = -1;

    /// <summary>Pushes for this client produced while its own command runs; written after the reply.</summary>
    internal ArrayBufferWriter<byte> Deferred => _deferred ??= new(256);

    /// <summary>Whether pushes are waiting for the running command's reply (without making the buffer).</summary>
    internal bool HasDeferred => _deferred is { WrittenCount: > 0 };

    private ArrayBufferWriter<byte>? _deferred; // made by the client's first push to itself: most clients never have one

    /// <summary>Bytes handed to the transport and not yet sent.</summary>
    public long UnsentBytes => Interlocked.Read(ref _unsent);

    /// <summary>
    /// CLIENT LIST qbuf: the bytes of the client's current read while its commands run (as Redis's query buffer,
    /// trimmed only after them), and between reads the part of a command still to come. Set by the transport's
    /// thread; read by anyone.
    /// </summary>
    public int QueryBufferBytes
    {
        get => Volatile.Read(ref _queryBuffer);
        set => Volatile.Write(ref _queryBuffer, value);
    }

    private int _queryBuffer;

    /// <summary>
    /// CLIENT LIST tot-mem and MEMORY STATS clients.normal: the unsent output, the query buffer and a fixed 2 KiB
    /// for the connection's own structures (its state).
    /// </summary>
    public long TotalMemory => UnsentBytes + QueryBufferBytes + StructureBytes;

    public const int StructureBytes = 2048;

    /// <summary>Called by the transport after a socket write.</summary>
    public void OnSent(long bytes) => Interlocked.Add(ref _unsent, -bytes);

    internal void OnFlushed(long bytes) => Interlocked.Add(ref _unsent, bytes);

    /// <summary>CLIENT REPLY OFF, or SKIP for the command running now: replies are dropped (Redis checks at every reply).</summary>
    internal bool RepliesDropped => (ReplyMode & (ReplyMode.Off | ReplyMode.Skip)) != 0;

    /// <summary>Replies written from here on go out or are dropped as the reply flags say now.</summary>
    internal void BeginCommand()
    {
        bool discard = RepliesDropped;
        if (discard == _replyRedirected) return;
        Reply.Output = discard ? Discard : Transport.Output;
        _replyRedirected = discard;
    }

    /// <param name="topLevel">
    /// A command read from the client ended (not one run by EXEC): SKIP ends and a pending SKIP_NEXT takes its
    /// place, as Redis's <c>resetClient</c>; pushes go out again.
    /// </param>
    internal void EndCommand(bool topLevel = true)
    {
        if (!topLevel)
        {
            BeginCommand(); // EXEC's next replies follow the flags as this command left them
            return;
        }
        if (ReplyMode == ReplyMode.On && !_replyRedirected) return;
        ReplyMode &= ~ReplyMode.Skip;
        if ((ReplyMode & ReplyMode.SkipNext) != 0) ReplyMode = (ReplyMode & ~ReplyMode.SkipNext) | ReplyMode.Skip;
        Reply.Output = Transport.Output;
        _replyRedirected = false;
    }

    private bool _replyRedirected;

    private sealed class NullBufferWriter : IBufferWriter<byte>
    {
        private byte[] _scratch = new byte[4096];

        public void Advance(int count) { }

        public Memory<byte> GetMemory(int sizeHint = 0) => Scratch(sizeHint);

        public Span<byte> GetSpan(int sizeHint = 0) => Scratch(sizeHint).Span;

        private Memory<byte> Scratch(int sizeHint)
        {
            if (sizeHint > _scratch.Length) _scratch = new byte[sizeHint];
            return _scratch;
        }
    }
}
