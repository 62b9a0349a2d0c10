using System.Buffers;
using KeyspacePubSub.Engine.Acl;
using KeyspacePubSub.Engine.Commands;
using KeyspacePubSub.Engine.Config;
using KeyspacePubSub.Engine.Keyspace;
using KeyspacePubSub.Engine.PubSub;
using KeyspacePubSub.Protocol;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KeyspacePubSub.Engine;

/// <summary>
/// The one ordered execution point: every command, publish and expiry runs under <see cref="Gate"/>,
/// so Redis's ordering and atomicity guarantees hold by construction. Replies and pushes are appended
/// to per-client buffers and flushed once per batch (<see cref="FlushDirty"/>).
/// </summary>
public sealed partial class Engine : IPushSink
{
    /// <summary>The Redis version this server answers as (the conformance baseline).</summary>
    public const string RedisVersion = "7.0.15";

    private readonly Dictionary<long, Client> _clients = [];
    private readonly List<Client> _cronClients = []; // Cron's copy of the clients, reused
    private readonly List<Client> _dirty = [];
    private readonly List<Client> _monitors = [];
    private long _nextClientId;
    private Client? _current;

    public Engine(ServerConfig? config = null, ILogger? logger = null)
    {
        Config = config ?? new ServerConfig();
        Logger = logger ?? NullLogger.Instance;
        Broker = new PubSubBroker(this);
        Databases = new Database[Config.Databases];
        for (int i = 0; i < Databases.Length; i++) Databases[i] = new Database(i, Config.Clock) { StreamRemoved = SignalStreamRemoved };
        Commands = BuiltinCommands.Create();
        Acl = new AccessControl(this);
        Acl.SetDefaultPassword(Config.RequirePass);
        Config.RequirePassChanged = password =>
        {
            lock (Gate) Acl.SetDefaultPassword(password);
        };
        StartupMemory = PeakMemory = UsedMemory();
    }

    public object Gate { get; } = new();

    /// <summary>SLOWLOG's entries.</summary>
    public Slowlog Slowlog { get; } = new();

    /// <summary>LATENCY's events (latency-monitor-threshold).</summary>
    public LatencyMonitor Latency { get; } = new();

    // The running command's arguments that must not be shown (passwords): in MONITOR and SLOWLOG as "(redacted)".
    private readonly List<int> _redacted = [];

    /// <summary>As Redis's redactClientCommandArgument: argument <paramref name="index"/> of the running command is a secret.</summary>
    public void Redact(int index) => _redacted.Add(index);

    public ServerConfig Config { get; }
    public ILogger Logger { get; }
    public PubSubBroker Broker { get; }
    public Database[] Databases { get; }

    /// <summary>Durable keys (the SQLite room backlog), or null when persistence is off.</summary>
    public Persistence.DurableKeys? Durable { get; set; }

    /// <summary>
    /// Hands everything durable the last commands changed to the store as one unit; the caller sends their
    /// replies only when the returned ticket completes. Null when nothing durable changed. Caller holds the gate,
    /// and then calls <see cref="Persistence.IDurableStore.Drive(Persistence.CommitTicket)"/> out of it.
    /// </summary>
    public Persistence.CommitTicket? CommitDurable() => Durable?.Commit(willDrive: true);
    public ServerStats Stats { get; } = new();
    public CommandTable Commands { get; }

    /// <summary>Users and their permissions (ACL).</summary>
    public AccessControl Acl { get; }
    // Not a secret: Random.Shared keeps OpenSSL (several MB of RSS) out of a server that never needs it.
    public string RunId { get; } = Convert.ToHexString(RandomBytes(20)).ToLowerInvariant();

    private static byte[] RandomBytes(int n)
    {
        var b = new byte[n];
        Random.Shared.NextBytes(b);
        return b;
    }

    /// <summary>The JSON configuration file CONFIG REWRITE updates; null when started without one.</summary>
    public string? ConfigFilePath { get; set; }

    /// <summary>The redis.conf the server started from, if any: CONFIG REWRITE updates it instead of the JSON file.</summary>
    public string? RedisConfPath { get; set; }

    /// <summary>Port the server actually listens on (set by the host; useful when configured as 0).</summary>
    public int ListeningPort { get; set; }

    /// <summary>Raised (under the gate) by SHUTDOWN; the host stops.</summary>
    public event Action? ShutdownRequested;

    public IReadOnlyCollection<Client> Clients => _clients.Values;

    /// <summary>Registers a connection; null when maxclients is reached (the caller replies and closes).</summary>
    public Client? Connect(IClientTransport transport)
    {
        lock (Gate)
        {
            if (_clients.Count >= Config.MaxClients)
            {
                Stats.RejectedConnections++;
                return null;
            }
            var client = new Client(++_nextClientId, transport, !Acl.AuthRequired) { User = Acl.Default };
            client.Reply.OnError = Stats.CountError;
            _clients.Add(client.Id, client);
            Stats.ConnectionsReceived++;
            return client;
        }
    }

    /// <summary>Forgets a connection and every subscription it held. Call once, when its transport ends.</summary>
    public void Disconnect(Client client)
    {
        lock (Gate)
        {
            client.Closed = true;
            Forget(client);
            DisableTracking(client);
            Broker.RemoveClient(client);
            _clients.Remove(client.Id);
            ResetWatch(client);
            _monitors.Remove(client);
        }
    }

    /// <summary>Runs one command for a client, as Redis's processCommand. Caller holds <see cref="Gate"/>.</summary>
    public void Execute(Client c, CommandArgs args)
    {
        if (c.Closed) return;
        c.LastInteraction = Environment.TickCount64;
        MarkForFlush(c);

        var cmd = Commands.Resolve(args, out bool unknownSub);
        c.LastCommand = cmd?.FullName ?? "NULL"; // as processCommand's lookup: CLIENT LIST's cmd= names a rejected command too
        if (cmd is null)
        {
            Reject(c, null, unknownSub
                ? Errors.UnknownSubcommand(Errors.CText(args[1]), Errors.CText(args[0]))
                : UnknownCommandError(args));
            return;
        }
        // The checks of Redis's processCommand, in its order.
        if ((cmd.Arity > 0 && cmd.Arity != args.Count) || args.Count < -cmd.Arity)
        {
            Reject(c, cmd, Errors.WrongArity(cmd.FullName));
            return;
        }
        if (cmd.Has(CommandFlags.Protected) && !ProtectedActionAllowed(Config.EnableDebugCommand, c))
        {
            Reject(c, cmd, "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.");
            return;
        }
        if (!c.Authenticated && Acl.AuthRequired && !cmd.Has(CommandFlags.NoAuth))
        {
            Reject(c, cmd, Errors.NoAuth);
            return;
        }
        if (c.InMulti && cmd.Has(CommandFlags.NoMulti))
        {
            Reject(c, cmd, "ERR Command not allowed inside a transaction");
            return;
        }
        if (!c.User.Unrestricted && Acl.Check(c.User, cmd, args, 0, out int aclPosition) is var denied && denied != AclDenied.Ok)
        {
            Acl.Log.AddDenied(c, denied, c.InMulti, cmd, args, aclPosition);
            Reject(c, cmd, denied switch
            {
                AclDenied.Command => $"NOPERM this user has no permissions to run the '{cmd.FullName}' command",
                AclDenied.Key => "NOPERM this user has no permissions to access one of the keys used as arguments",
                _ => "NOPERM this user has no permissions to access one of the channels used as arguments",
            });
            return;
        }
        if (Config.MaxMemory > 0 && RejectedOutOfMemory(c, cmd, args))
        {
            Reject(c, cmd, Errors.OutOfMemory);
            return;
        }
        // As processCommand: the tracking table is brought under tracking-table-max-keys before every command (a
        // CONFIG SET lowering it takes effect at the next one, its invalidations ahead of that command's reply).
        if (TrackingClients > 0) LimitTrackedKeys();
        if (Durable != null && (Durable.DeniesWrite(cmd, args) || (cmd.Handler == TransactionCommands.ExecHandler && c.InMulti && QueueDeniedByDurable(c))))
        {
            Reject(c, cmd, Durable.MisconfError);
            return;
        }
        if (c.Protocol == 2 && c.InPubSubMode && !cmd.Has(CommandFlags.SubscribedContext))
        {
            Reject(c, cmd, Errors.SubscribedContext(cmd.FullName));
            return;
        }
        if (_pauseMode != PauseMode.None && PausedFor(c, cmd, args))
        {
            Postpone(c, cmd, args);
            return;
        }
        if (c.InMulti && !cmd.Has(CommandFlags.NotQueued))
        {
            c.Queue.Add(cmd, args);
            c.BeginCommand();
            c.Reply.Raw("+QUEUED\r\n"u8);
            c.EndCommand();
            return;
        }
        Call(c, cmd, args);
        if (_ready.Count > 0) ServeReadyKeys();
        // As resetClient: CLIENT CACHING holds for the next command only (CLIENT subcommands and MULTI keep it).
        if (c.Tracking is { CachingGiven: true } tracking && !c.InMulti && (cmd.Parent ?? cmd).Name != "client") tracking.CachingGiven = false;
    }

    /// <summary>
    /// A command's latency sample (whole microseconds, in ns, as Redis), failed call and slowlog entry: when it ends,
    /// or for a blocking command when it is served or unblocked with an error.
    /// </summary>
    private void RecordServedStats(Client c, CommandDef cmd, CommandArgs args, long ticks, bool failed)
    {
        if (Config.LatencyTracking) (cmd.Latencies ??= new()).Record(ticks * 1_000_000 / System.Diagnostics.Stopwatch.Frequency * 1000);
        if (failed) cmd.FailedCalls++;
        long threshold = Config.SlowlogLogSlowerThan;
        if (threshold >= 0 && !cmd.Has(CommandFlags.SkipSlowlog))
        {
            long micros = ticks * 1_000_000 / System.Diagnostics.Stopwatch.Frequency;
            if (micros >= threshold) Slowlog.Add(args, _redacted, micros, c.Transport.RemoteAddress, c.Name, Config.SlowlogMaxLen);
        }
    }

    /// <summary>LATENCY's monitor: an event of at least latency-monitor-threshold ms (0: off), as latencyAddSampleIfNeeded.</summary>
    private void MonitorLatency(string latencyEvent, long ticks)
    {
        long threshold = Config.LatencyMonitorThreshold;
        if (threshold <= 0) return;
        long ms = ticks * 1000 / System.Diagnostics.Stopwatch.Frequency;
        if (ms >= threshold) Latency.Add(latencyEvent, ms);
    }

    /// <summary>Runs a command's handler with its statistics; <paramref name="rerun"/>: a blocked command served again (not one more call).</summary>
    private void Call(Client c, CommandDef cmd, CommandArgs args, bool rerun = false)
    {
        var previous = _current;
        _current = c.ScriptCaller ?? c; // a script's command runs for its caller (server.current_client stays the caller)
        c.BeginCommand();
        _redacted.Clear();
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            cmd.Handler!(new CommandContext(this, c, args, cmd));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A bug, not a client's error: the reply may be half written, so the connection cannot go on; every
            // other client is served as before (the event loop must not stop on one command).
            Interlocked.Increment(ref Stats.InternalErrors);
            Logger.LogError(ex, "Internal error running '{Command}' for client id={Id} {Address}; closing that client", cmd.FullName, c.Id, c.Transport.RemoteAddress);
            Kill(c);
        }
        finally
        {
            // A command that blocked has not ended yet: as Redis, which resets the client (a SKIP in force, a
            // pending SKIP_NEXT) only once it is served or times out (Blocking: Serve, TimeOutBlocked).
            c.EndCommand(topLevel: previous is null && c.Block is null);
            _current = previous;
        }
        long ticks = System.Diagnostics.Stopwatch.GetTimestamp() - started;
        bool failed = ErrorsSinceLastCount();
        if (!rerun)
        {
            // As call(): a command that blocks counts as a call, with the time it took, but its latency and its
            // slowlog entry wait until it is served (RecordServedStats).
            Stats.CommandsProcessed++;
            cmd.Calls++;
            cmd.Ticks += ticks;
            MonitorLatency(cmd.Has(CommandFlags.Fast) ? "fast-command" : "command", ticks);
            if (c.Block is { } blocked)
            {
                blocked.CallTicks = ticks;
                if (failed) cmd.FailedCalls++;
            }
            else RecordServedStats(c, cmd, args, ticks, failed);
        }
        else if (c.Block is { StillWaiting: false } served)
        {
            // As updateStatsOnUnblock: the blocking call's time and this run's, as one more sample of the command.
            MonitorLatency("command-unblocking", ticks);
            cmd.Ticks += served.CallTicks + ticks;
            RecordServedStats(c, cmd, args, served.CallTicks + ticks, failed);
        }
        if (previous is null && c.HasDeferred)
        {
            // Pushes addressed to the running client follow its reply (Redis 7.2, redis#12326).
            c.Transport.Output.Write(c.Deferred.WrittenSpan);
            c.Deferred.ResetWrittenCount();
        }
        if (previous is null && _pendingInvalidations.Count > 0) SendPendingInvalidations(c);
        if (_monitors.Count > 0 && !rerun && !cmd.Has(CommandFlags.Admin | CommandFlags.SkipMonitor)) FeedMonitors(c, args);
        // A served XREAD BLOCK is not remembered again: Redis 7.0 answers it from serveClientsBlockedOnKeys, not
        // through call(), so only the keys remembered when it blocked (under the CLIENT CACHING then given) count.
        if (c.Tracking is { Bcast: false } && !rerun && cmd.Has(CommandFlags.ReadOnly) && !cmd.RunsScript) RememberTrackedKeys(c, cmd, args);
    }

    /// <summary>allowProtectedAction: "yes", or "local" and a client of the Unix socket or on 127.0.0.1 or ::1 (islocalClient).</summary>
    private static bool ProtectedActionAllowed(string setting, Client c)
    {
        if (setting == "yes") return true;
        if (setting != "local") return false;
        if (c.Transport.IsUnixSocket) return true;
        string address = c.Transport.RemoteAddress;
        int colon = address.LastIndexOf(':');
        string ip = colon < 0 ? address : address[..colon];
        return ip is "127.0.0.1" or "::1";
    }

    private void Reject(Client c, CommandDef? cmd, string error)
    {
        if (cmd?.Handler == TransactionCommands.ExecHandler)
        {
            // As execCommandAbort: a rejected EXEC discards the transaction (and the watched keys), in MULTI or not.
            ResetTransaction(c);
            error = "EXECABORT Transaction discarded because of: " + (error.StartsWith("ERR ", StringComparison.Ordinal) ? error[4..] : error);
        }
        else if (c.InMulti)
        {
            // As rejectCommand: inside MULTI a rejected command also dooms the transaction (EXECABORT).
            c.MultiError = true;
        }
        c.BeginCommand();
        c.Reply.Error(error);
        c.EndCommand();
        if (ErrorsSinceLastCount() && cmd != null) cmd.RejectedCalls++;
    }

    private long _errorsCounted; // error replies already attributed to a command (incrCommandStatsOnError's prev_err_count)

    /// <summary>
    /// As incrCommandStatsOnError: whether error replies were written since the last command's stats were
    /// taken, so an EXEC whose error came from a command it ran is not counted as failed again.
    /// </summary>
    private bool ErrorsSinceLastCount()
    {
        bool any = Stats.ErrorReplies - _errorsCounted > 0;
        _errorsCounted = Stats.ErrorReplies;
        return any;
    }

    /// <summary>CONFIG RESETSTAT: the stats counters, every command's counters and the error counts.</summary>
    public void ResetStats()
    {
        Stats.Reset();
        foreach (var cmd in Commands.All)
        {
            cmd.ResetStats();
            foreach (var sub in cmd.Subcommands?.Values ?? Enumerable.Empty<CommandDef>()) sub.ResetStats();
        }
    }

    /// <summary>
    /// As processCommand's maxmemory check: keys are evicted first (see <see cref="PerformEvictions"/>); if memory
    /// is still over the limit with nothing left to evict (and a collection does not bring it under: see
    /// <see cref="CollectedUnderLimit"/>), a deny-oom command is refused, and so is an EXEC whose queue holds one;
    /// inside MULTI every command is but EXEC, DISCARD, QUIT and RESET (queueing itself takes memory).
    /// </summary>
    private bool RejectedOutOfMemory(Client c, CommandDef cmd, CommandArgs args)
    {
        bool outOfMemory = PerformEvictions() == EvictResult.Fail;
        PreCommandOom = outOfMemory;
        bool exec = cmd.Handler == TransactionCommands.ExecHandler;
        bool denied = (FlagsOf(cmd, args) & CommandFlags.DenyOom) != 0 || (exec && c.InMulti && QueueHas(c, CommandFlags.DenyOom));
        if (c.InMulti && !exec && cmd.Name is not ("discard" or "quit" or "reset")) denied = true;
        return denied && outOfMemory && !CollectedUnderLimit();
    }

    /// <summary>
    /// As server.pre_command_oom_state: whether memory was over maxmemory, with nothing left to evict, when the
    /// running command arrived (a script's first write is refused then, not in its middle).
    /// </summary>
    internal bool PreCommandOom { get; private set; }

    private bool QueueHas(Client c, CommandFlags flag)
    {
        for (int i = 0; i < c.Queue.Count; i++)
        {
            if ((FlagsOf(c.Queue.Command(i), c.Queue.Args(i)) & flag) != 0) return true;
        }
        return false;
    }

    /// <summary>As processCommand's MISCONF check of an EXEC: whether a queued command may write a durable key.</summary>
    private bool QueueDeniedByDurable(Client c)
    {
        for (int i = 0; i < c.Queue.Count; i++)
        {
            if (Durable!.DeniesWrite(c.Queue.Command(i), c.Queue.Args(i))) return true;
        }
        return false;
    }

    private static string UnknownCommandError(CommandArgs args)
    {
        // As Redis: each argument quoted and followed by a space, stopping once 128 characters are written.
        var sb = new System.Text.StringBuilder();
        for (int i = 1; i < args.Count && sb.Length < 128; i++)
        {
            var a = CString.Of(args[i]); // printf's %s stops at a NUL
            int room = 128 - sb.Length;
            sb.Append('\'').Append(CommandTable.Latin1(a[..Math.Min(a.Length, room)])).Append("' ");
        }
        var name = CString.Of(args[0]);
        return $"ERR unknown command '{CommandTable.Latin1(name[..Math.Min(name.Length, 128)])}', with args beginning with: {sb}";
    }

    /// <summary>Schedules the client's buffer for the next <see cref="FlushDirty"/>.</summary>
    public void MarkForFlush(Client c)
    {
        if (c.Dirty) return;
        c.Dirty = true;
        _dirty.Add(c);
    }

    /// <inheritdoc />
    public void Deliver(Client client, ReadOnlySpan<byte> frame, SharedFrames? shared = null)
    {
        if (client.Closed) return;
        bool own = ReferenceEquals(client, _current);
        if (shared != null && !own && client.Transport.Output is ISharedFrameOutput output)
        {
            output.AppendShared(shared.For(client.Protocol));
            MarkForFlush(client);
            return;
        }
        IBufferWriter<byte> dest = own ? client.Deferred : client.Transport.Output;
        if (frame.Length <= RespWriter.WholeSpanMax)
        {
            var span = dest.GetSpan(frame.Length);
            frame.CopyTo(span);
            if (client.Protocol == 3) span[0] = (byte)'>';
            dest.Advance(frame.Length);
        }
        else
        {
            // The first byte, then the rest in as many of the output's buffers as it takes (see RespWriter.Raw).
            var span = dest.GetSpan();
            span[0] = client.Protocol == 3 ? (byte)'>' : frame[0];
            dest.Advance(1);
            dest.Write(frame[1..]);
        }
        MarkForFlush(client);
    }

    /// <summary>Hands every buffer written since the last call to its transport and enforces output limits. Caller holds <see cref="Gate"/>.</summary>
    public void FlushDirty()
    {
        if (_prefixes.Count > 0) BroadcastInvalidations(); // as beforeSleep: BCAST tracking, once per batch
        long now = Environment.TickCount64;
        foreach (var c in _dirty)
        {
            c.Dirty = false;
            if (c.Closed) continue;
            var output = c.Transport.Output;
            long pending = output.UnflushedBytes;
            if (pending > 0)
            {
                c.OnFlushed(pending);
                Stats.NetOutputBytes += pending;
                Stats.WritesProcessed++;
                var flush = output.FlushAsync();
                if (flush.IsCompleted) flush.GetAwaiter().GetResult();
                else _ = flush.AsTask();
                c.Transport.OutputReady();
            }
            CheckOutputLimit(c, now);
        }
        _dirty.Clear();
    }

    private void CheckOutputLimit(Client c, long now)
    {
        var limit = c.InPubSubMode ? Config.OutputLimits.PubSub : Config.OutputLimits.Normal;
        long used = c.UnsentBytes;
        bool hard = limit.Hard > 0 && used >= limit.Hard;
        bool soft = limit.Soft > 0 && used >= limit.Soft;
        if (soft && !hard)
        {
            if (c.SoftLimitSince < 0)
            {
                c.SoftLimitSince = now;
                soft = false;
            }
            else
            {
                soft = now - c.SoftLimitSince > limit.SoftSeconds * 1000;
            }
        }
        else if (!soft)
        {
            c.SoftLimitSince = -1;
        }
        if (!hard && !soft) return;
        if (c.InPubSubMode) Stats.PubSubSlowDisconnects++;
        Logger.LogWarning("Client id={Id} addr={Addr} closed for overcoming of output buffer limits ({Used} bytes pending, {Kind} limit).",
            c.Id, c.Transport.RemoteAddress, used, hard ? "hard" : "soft");
        Kill(c);
    }

    /// <summary>Closes a client: the one running a command once its reply is sent, any other now (ACL DELUSER's victims).</summary>
    internal void CloseNowOrAfterReply(Client c)
    {
        if (c == _current) c.CloseAfterReply = true;
        else Kill(c);
    }

    /// <summary>Closes a client now; its transport ends and calls <see cref="Disconnect"/>.</summary>
    public void Kill(Client c)
    {
        if (c.Closed) return;
        c.Closed = true;
        // As freeClient: its subscriptions, watches and wait go now, not when the socket finishes closing.
        Forget(c);
        DisableTracking(c);
        Broker.RemoveClient(c);
        ResetWatch(c);
        _monitors.Remove(c);
        c.Transport.Abort();
    }

    /// <summary>DEBUG PAUSE-CRON: the periodic work is skipped while set (as Redis's server.pause_cron).</summary>
    public bool CronPaused { get; set; }

    /// <summary>DEBUG SET-SKIP-CHECKSUM-VALIDATION: RESTORE takes a payload whatever its CRC (server.skip_checksum_validation).</summary>
    public bool SkipChecksumValidation { get; set; }

    /// <summary>Periodic work (10 Hz): soft output limits that expire without new writes, idle timeouts.</summary>
    public void Cron()
    {
        lock (Gate)
        {
            if (CronPaused) return;
            long now = Environment.TickCount64;
            Stats.Sample(now);
            NotePeakMemory(UsedMemory());
            foreach (var db in Databases) db.ShrinkIfSparse(); // as Redis's databasesCron resizes its dicts
            Broker.TrimIfSparse();
            DropStaleBlockDeadlines();
            TrimPoolsEverySecond(now);
            if (LimitTrackedKeys()) FlushDirty();
            var clients = _cronClients; // a copy: Kill removes clients
            clients.AddRange(_clients.Values);
            try
            {
                foreach (var c in clients)
                {
                    if (c.Closed) continue;
                    if (c.SoftLimitSince >= 0 || c.UnsentBytes > 0) CheckOutputLimit(c, now);
                    if (Config.Timeout > 0 && !c.InPubSubMode && !c.IsMonitor && !c.IsBlocked && now - c.LastInteraction > Config.Timeout * 1000)
                    {
                        Logger.LogInformation("Closing idle client id={Id}", c.Id);
                        Kill(c);
                    }
                }
            }
            finally
            {
                clients.Clear();
            }
        }
    }

    internal void RequestShutdown() => ShutdownRequested?.Invoke();

    internal void AddMonitor(Client c)
    {
        if (c.IsMonitor) return;
        c.IsMonitor = true;
        _monitors.Add(c);
    }

    internal void RemoveMonitor(Client c)
    {
        c.IsMonitor = false;
        _monitors.Remove(c);
    }

}
