using System.Globalization;
using KeyspacePubSub.Engine.PubSub;
using KeyspacePubSub.Protocol;

namespace KeyspacePubSub.Engine.Config;

/// <summary>
/// Runtime configuration under Redis's own parameter names. The host applies its configuration file,
/// environment and command line through <see cref="TrySet"/>, the same path CONFIG SET takes,
/// so every value is validated once, in one place.
/// </summary>
public sealed class ServerConfig
{
    private readonly Dictionary<string, Param> _params = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<Param> _ordered = [];

    public ServerConfig()
    {
        Add("port", () => Port.ToString(CultureInfo.InvariantCulture), v => SetInt(v, 0, 65535, x => Port = (int)x), startOnly: true);
        Add("bind", () => Bind, v => { Bind = v; return null; }, startOnly: true);
        Add("unixsocket", () => UnixSocket, v => { UnixSocket = v; return null; }, immutable: true);
        Add("unixsocketperm", () => Convert.ToString(UnixSocketPerm, 8), v => SetOctal(v, 0, 511, x => UnixSocketPerm = (int)x), immutable: true);
        Add("requirepass", () => RequirePass, v =>
        {
            RequirePass = v;
            RequirePassChanged?.Invoke(v);
            return null;
        }, sensitive: true);
        // In the order Redis's CONFIG GET acl* lists them.
        Add("acllog-max-len", () => AclLogMaxLen.ToString(CultureInfo.InvariantCulture), v => SetInt(v, 0, long.MaxValue, x => AclLogMaxLen = x));
        Add("aclfile", () => AclFile, v => { AclFile = v; return null; }, immutable: true);
        Add("acl-pubsub-default", () => AclPubSubDefaultAllChannels ? "allchannels" : "resetchannels",
            v => SetEnum(v, ["allchannels", "resetchannels"], x => AclPubSubDefaultAllChannels = x == "allchannels"));
        Add("databases", () => Databases.ToString(CultureInfo.InvariantCulture), v => SetInt(v, 1, 1024, x => Databases = (int)x), immutable: true);
        Add("notify-keyspace-events", () => NotifyFlagsText.Render(NotifyKeyspaceEvents), v =>
        {
            var flags = NotifyFlagsText.Parse(v);
            if (flags is null) return "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";
            NotifyKeyspaceEvents = flags.Value;
            return null;
        });
        Add("client-output-buffer-limit", () => OutputLimits.ToString(), OutputLimits.TryApply);
        Add("timeout", () => Timeout.ToString(CultureInfo.InvariantCulture), v => SetInt(v, 0, int.MaxValue, x => Timeout = x));
        Add("maxclients", () => MaxClients.ToString(CultureInfo.InvariantCulture), v => SetInt(v, 1, uint.MaxValue, x => MaxClients = x));
        // In the order Redis's CONFIG GET stream* lists them. How many entries, and bytes, a stream's node (a listpack in Redis) holds before the next starts: where
        // XADD and XTRIM's approximate (~) trimming cut, and XINFO STREAM's radix-tree-keys.
        Add("stream-node-max-entries", () => StreamNodeMaxEntries.ToString(CultureInfo.InvariantCulture), v => SetInt(v, 0, long.MaxValue, x => StreamNodeMaxEntries = x));
        Add("stream-node-max-bytes", () => StreamNodeMaxBytes.ToString(CultureInfo.InvariantCulture), v => SetMemory(v, 0, long.MaxValue, x => StreamNodeMaxBytes = x));
        Add("hll-sparse-max-bytes", () => HllSparseMaxBytes.ToString(CultureInfo.InvariantCulture), v => SetMemory(v, 0, long.MaxValue, x => HllSparseMaxBytes = x));
        Add("proto-max-bulk-len", () => ProtoMaxBulkLen.ToString(CultureInfo.InvariantCulture), v => SetMemory(v, 1 << 20, long.MaxValue, x => ProtoMaxBulkLen = x));
        // In the order Redis's CONFIG GET slowlog* lists them.
        Add("slowlog-max-len", () => SlowlogMaxLen.ToString(CultureInfo.InvariantCulture), v => SetInt(v, 0, long.MaxValue, x => SlowlogMaxLen = x));
        Add("slowlog-log-slower-than", () => SlowlogLogSlowerThan.ToString(CultureInfo.InvariantCulture), v => SetInt(v, -1, long.MaxValue, x => SlowlogLogSlowerThan = x));
        Add("latency-tracking-info-percentiles", () => string.Join(" ", LatencyTrackingPercentiles.Select(PercentileText)), SetPercentiles);
        Add("latency-monitor-threshold", () => LatencyMonitorThreshold.ToString(CultureInfo.InvariantCulture), v => SetInt(v, 0, long.MaxValue, x => LatencyMonitorThreshold = x));
        Add("latency-tracking", () => LatencyTracking ? "yes" : "no", v => SetBool(v, x => LatencyTracking = x));
        Add("tracking-table-max-keys", () => TrackingTableMaxKeys.ToString(CultureInfo.InvariantCulture), v => SetInt(v, 0, long.MaxValue, x => TrackingTableMaxKeys = x));
        // Kept and shown as Redis clamps it (1..500); nothing here runs on a timer of its frequency (expiry is exact).
        Add("hz", () => Hz.ToString(CultureInfo.InvariantCulture), v => SetInt(v, 0, int.MaxValue, x => Hz = (int)Math.Clamp(x, 1, 500)));
        // In the order Redis's CONFIG GET maxmemory* and lfu* list them (maxmemory-clients is not offered: no client eviction).
        Add("maxmemory-policy", () => MaxMemoryPolicy.Name(), v => SetEnum(v, EvictionPolicyText.Names, x =>
        {
            MaxMemoryPolicy = (EvictionPolicy)Array.IndexOf(EvictionPolicyText.Names, x);
            Clock.Lfu = MaxMemoryPolicy.IsLfu();
        }));
        Add("maxmemory", () => MaxMemory.ToString(CultureInfo.InvariantCulture), v => SetMemory(v, 0, long.MaxValue, x => MaxMemory = x));
        Add("maxmemory-eviction-tenacity", () => MaxMemoryEvictionTenacity.ToString(CultureInfo.InvariantCulture), v => SetInt(v, 0, 100, x => MaxMemoryEvictionTenacity = (int)x));
        Add("maxmemory-samples", () => MaxMemorySamples.ToString(CultureInfo.InvariantCulture), v => SetInt(v, 1, int.MaxValue, x => MaxMemorySamples = (int)x));
        Add("lfu-decay-time", () => Clock.DecayMinutes.ToString(CultureInfo.InvariantCulture), v => SetInt(v, 0, int.MaxValue, x => Clock.DecayMinutes = x));
        Add("lfu-log-factor", () => Clock.LogFactor.ToString(CultureInfo.InvariantCulture), v => SetInt(v, 0, int.MaxValue, x => Clock.LogFactor = x));
        // There is no AOF: "yes" is refused rather than accepted and ignored (a client asking for durability would
        // believe it had it). Durable keys are kept in SQLite instead (Persistence:Enabled).
        Add("appendonly", () => "no", v => SetBool(v, _ => { }) ?? (v.Equals("yes", StringComparison.OrdinalIgnoreCase)
            ? "there is no append-only file here; durable keys are kept with Persistence:Enabled=true (see Persistence:KeyPatterns)"
            : null));
        // Enumerations list their values in Redis 7.0's order (its error text names them so).
        Add("appendfsync", () => AppendFsync, v => SetEnum(v, ["everysec", "always", "no"], x => AppendFsync = x));
        // Kept and shown as Redis checks and renders it; there are no RDB snapshots (SAVE saves the durable keys).
        Add("save", () => SaveParams, v => SetSaveParams(v, x => SaveParams = x));
        // Protected in Redis 7.0 (enable-protected-configs no): settable only at start.
        Add("dir", () => Dir, v => { Dir = v; return null; }, isProtected: true);
        Add("dbfilename", () => "dump.rdb", v => null, isProtected: true);
        // Redis's lua-time-limit is an alias of busy-reply-threshold; a script running longer is stopped here (see EVAL).
        Add("busy-reply-threshold", () => BusyReplyThreshold.ToString(CultureInfo.InvariantCulture), v => SetInt(v, 0, long.MaxValue, x => BusyReplyThreshold = x));
        Add("lua-time-limit", () => BusyReplyThreshold.ToString(CultureInfo.InvariantCulture), v => SetInt(v, 0, long.MaxValue, x => BusyReplyThreshold = x));
        Add("loglevel", () => LogLevel, v => SetEnum(v, ["debug", "verbose", "notice", "warning"], x => LogLevel = x));
        Add("tcp-backlog", () => TcpBacklog.ToString(CultureInfo.InvariantCulture), v => SetInt(v, 0, int.MaxValue, x => TcpBacklog = (int)x), immutable: true);
        Add("tcp-keepalive", () => TcpKeepalive.ToString(CultureInfo.InvariantCulture), v => SetInt(v, 0, int.MaxValue, x => TcpKeepalive = (int)x));
        Add("replica-read-only", () => "yes", v => SetBool(v, _ => { }));
        Add("slave-read-only", () => "yes", v => SetBool(v, _ => { }));
        Add("cluster-enabled", () => "no", v => SetBool(v, _ => { }) ?? (v.Equals("yes", StringComparison.OrdinalIgnoreCase) ? "there is no cluster mode here" : null), immutable: true);
        Add("enable-debug-command", () => EnableDebugCommand, v => SetEnum(v, ["no", "yes", "local"], x => EnableDebugCommand = x), immutable: true);
        Add("io-threads", () => IoThreads.ToString(CultureInfo.InvariantCulture), v => SetInt(v, 1, 128, x => IoThreads = (int)x), immutable: true);
        Add("event-loop-spin-us", () => EventLoopSpinMicros.ToString(CultureInfo.InvariantCulture), v => SetInt(v, 0, 10_000, x => EventLoopSpinMicros = (int)x), startOnly: true);
        Add("event-loop-push-delay-us", () => EventLoopPushDelayMicros.ToString(CultureInfo.InvariantCulture), v => SetInt(v, 0, 10_000, x => EventLoopPushDelayMicros = (int)x), startOnly: true);
        Add("event-loop-write-helper", () => EventLoopWriteHelper, v => SetEnum(v, ["yes", "no", "always"], x => EventLoopWriteHelper = x), startOnly: true);
        Add("io-transport", () => IoTransport, v => SetEnum(v, ["epoll", "sockets"], x => IoTransport = x), startOnly: true);
    }

    public int Port { get; private set; } = 6379;
    public string Bind { get; private set; } = "127.0.0.1";

    /// <summary>unixsocket: the path of a Unix domain socket to listen on as well ("": none). With it, port 0 means no TCP.</summary>
    public string UnixSocket { get; private set; } = "";

    /// <summary>unixsocketperm: the socket file's permissions, as octal in a configuration (0: left as the umask makes them).</summary>
    public int UnixSocketPerm { get; private set; }
    public string RequirePass { get; private set; } = "";
    public int Databases { get; private set; } = 16;
    public NotifyFlags NotifyKeyspaceEvents { get; private set; }
    public OutputBufferLimits OutputLimits { get; } = new();
    public long Timeout { get; private set; }
    public long MaxClients { get; private set; } = 10000;
    public long ProtoMaxBulkLen { get; private set; } = 512L * 1024 * 1024;

    /// <summary>Who may run DEBUG: "no" (Redis 7.0's default), "yes", or "local" (clients on the loopback address).</summary>
    public string EnableDebugCommand { get; private set; } = "no";

    /// <summary>hll-sparse-max-bytes: a sparse HyperLogLog that would grow past it becomes dense (Redis's default 3000).</summary>
    public long HllSparseMaxBytes { get; private set; } = 3000;
    public string AppendFsync { get; private set; } = "everysec";
    public string Dir { get; private set; } = Directory.GetCurrentDirectory();
    public string LogLevel { get; private set; } = "notice";

    /// <summary>busy-reply-threshold (alias lua-time-limit), in ms: a script running longer is stopped (0: never).</summary>
    public long BusyReplyThreshold { get; private set; } = 5000;

    /// <summary>CONFIG GET save, as Redis renders it (nothing is snapshotted: see SAVE).</summary>
    public string SaveParams { get; private set; } = "";

    /// <summary>SLOWLOG records commands that take at least this many µs (-1: none, 0: all).</summary>
    public long SlowlogLogSlowerThan { get; private set; } = 10_000;

    public long SlowlogMaxLen { get; private set; } = 128;

    /// <summary>LATENCY records commands that take at least this many ms (0: off, as Redis's default).</summary>
    public long LatencyMonitorThreshold { get; private set; }

    /// <summary>latency-tracking: each command's latency histogram (INFO latencystats, LATENCY HISTOGRAM).</summary>
    public bool LatencyTracking { get; private set; } = true;

    /// <summary>latency-tracking-info-percentiles: the percentiles INFO latencystats shows.</summary>
    public double[] LatencyTrackingPercentiles { get; private set; } = [50, 99, 99.9];

    /// <summary>A percentile as Redis writes it: "%f" with trailing zeros (and point) removed.</summary>
    public static string PercentileText(double p) => CFixed.Human(CFixed.Format(p, 6));

    /// <summary>As setConfigLatencyTrackingInfoPercentilesOutputOption: numbers from 0 to 100 split at every space, or "" for none.</summary>
    private string? SetPercentiles(string v)
    {
        string[] tokens = v.Length == 0 ? [] : v.Split(' ');
        var values = new double[tokens.Length];
        for (int j = 0; j < tokens.Length; j++)
        {
            if (!Strict.TryParseStrtod(System.Text.Encoding.Latin1.GetBytes(tokens[j]), out values[j])) return "Invalid latency-tracking-info-percentiles parameters";
            if (values[j] > 100.0 || values[j] < 0.0) return "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]";
        }
        LatencyTrackingPercentiles = values;
        return null;
    }

    /// <summary>Keys CLIENT TRACKING remembers at most (0: no limit); beyond it keys are invalidated to make room.</summary>
    public long TrackingTableMaxKeys { get; private set; } = 1_000_000;

    /// <summary>
    /// Event-loop threads serving connections (epoll transport; connections are dealt round-robin). Default 1,
    /// as Redis: every command runs under one engine lock, so a second loop adds parallel reads and sends but
    /// also lock hand-offs, and on a 2-core machine shared with the clients it lost more than it gained
    /// (measured 2026-11-30, ours/Redis with 1 loop → 2: SET -P 1 1.16 → 0.82, SET -P 16 1.01 → 0.71,
    /// PING -P 16 1.01 → 0.89–1.04). Wide fan-outs get their parallel sends from the write helper instead.
    /// With durable keys one loop also groups the units of all its clients into each commit, as Redis's single
    /// thread groups its clients' writes into one AOF write and fsync (backlog benchmark, 10 clients: fsync
    /// always 22–25k EXEC/s with one loop, 13–16k with two waiting on each other's commits).
    /// </summary>
    public int IoThreads { get; private set; } = 1;

    /// <summary>
    /// The listen queue's length (Redis's default; the kernel caps it at net.core.somaxconn). A burst of
    /// connections faster than the loop accepts them overflows a short queue, and each overflowed connect waits
    /// for the client's SYN retransmission (1 s): 5,000 back-to-back connects took 3.1–5.2 s here at 511 (Redis
    /// 0.11–1.13 s), 0.10–0.11 s at 4096.
    /// </summary>
    public int TcpBacklog { get; private set; } = 511;

    /// <summary>Redis's server-cron frequency: only kept and shown (INFO hz, configured_hz).</summary>
    public int Hz { get; private set; } = 10;

    /// <summary>
    /// Bytes of memory above which keys are evicted as <see cref="MaxMemoryPolicy"/> says, and, when nothing can be
    /// evicted, commands that may grow memory (Redis's deny-oom flag) are refused with Redis's OOM error; 0: no
    /// limit. Measured as INFO's used_memory (see Engine.UsedMemory).
    /// </summary>
    public long MaxMemory { get; private set; }

    public long StreamNodeMaxBytes { get; private set; } = 4096;

    public long StreamNodeMaxEntries { get; private set; } = 100;

    public EvictionPolicy MaxMemoryPolicy { get; private set; } = EvictionPolicy.NoEviction;

    /// <summary>Keys sampled per database for each LRU / LFU eviction (Redis's default 5).</summary>
    public int MaxMemorySamples { get; private set; } = 5;

    /// <summary>How long one command's turn may evict (0–100; 10: 500 µs, as Redis's evictionTimeLimitUs).</summary>
    public int MaxMemoryEvictionTenacity { get; private set; } = 10;

    /// <summary>The keys' access clock: LRU times or LFU counters as the policy says, with lfu-log-factor and lfu-decay-time.</summary>
    public Keyspace.AccessClock Clock { get; } = new();

    /// <summary>
    /// Seconds of silence before TCP probes a client's connection (0: never), for connections accepted from then
    /// on, as Redis's anetKeepAlive: probes every third of that, and 3 unanswered probes close it. A subscriber
    /// whose host vanished (no FIN, no RST: a NAT dropped, a cable pulled) is otherwise never noticed: nothing is
    /// sent to an idle subscriber, and its subscriptions and output stay.
    /// </summary>
    public int TcpKeepalive { get; private set; } = 300;

    /// <summary>
    /// Whether each event loop has a helper thread that shares the sends of an iteration with many connections
    /// to flush (EventLoop.HelperFlushThreshold), as Redis's io-threads share writes. On by default where there
    /// is more than one CPU. <c>yes</c>: the helper shares only while its loop is saturated (see
    /// EventLoop.FlushQueued); <c>always</c>: every wide flush, however idle the loop (for machines with cores to
    /// spare, and for tests that must take the shared path whatever the machine's load); <c>no</c>: no helper.
    /// </summary>
    public string EventLoopWriteHelper { get; private set; } = Environment.ProcessorCount > 1 ? "yes" : "no";

    /// <summary>How long a busy event loop polls before it sleeps (0: never; see EventLoop.Wait).</summary>
    public int EventLoopSpinMicros { get; private set; } = 50;

    /// <summary>
    /// How long a busy event loop may hold back pushes to a connection that sent no command, so that one send
    /// carries more of them (0: never). An iteration that reads no request sends everything, so a light load sees
    /// no delay.
    /// </summary>
    public int EventLoopPushDelayMicros { get; private set; } = 200;

    /// <summary>"epoll" (own event loops; Linux) or "sockets" (.NET's socket engine; any platform).</summary>
    public string IoTransport { get; private set; } = "epoll";

    /// <summary>Called when requirepass is set: the default user's password follows it (ACL).</summary>
    public Action<string>? RequirePassChanged { get; set; }

    /// <summary>The configuration's <c>user</c> directives, a user's name and rules each: the users made at start.</summary>
    public List<string> AclUserLines { get; } = [];

    /// <summary>ACL LOG's length (acllog-max-len).</summary>
    public long AclLogMaxLen { get; private set; } = 128;

    /// <summary>The ACL file (aclfile; empty: none): read at start and by ACL LOAD, written by ACL SAVE.</summary>
    public string AclFile { get; private set; } = "";

    /// <summary>acl-pubsub-default: whether a new user may use every channel (allchannels) or none (resetchannels, Redis 7's default).</summary>
    public bool AclPubSubDefaultAllChannels { get; private set; }

    /// <summary>Parameters matching a glob, in registration order, as name/value pairs.</summary>
    public List<(string Name, string Value)> Get(ReadOnlySpan<byte> pattern)
    {
        var result = new List<(string, string)>();
        foreach (var p in _ordered)
        {
            if (GlobPattern.IsMatch(pattern, System.Text.Encoding.ASCII.GetBytes(p.Name))) result.Add((p.Name, p.Get()));
        }
        return result;
    }

    public bool Exists(string name) => _params.ContainsKey(name);

    /// <summary>Sets one parameter; returns null, or Redis's reason text for CONFIG SET's error.</summary>
    public string? TrySet(string name, string value, bool startup = false)
    {
        if (!_params.TryGetValue(name, out var p)) return "unknown";
        if (p.Immutable && !startup) return "can't set immutable config";
        // Set at start only here (Redis changes port and bind at run time): the value it has is accepted, as Redis
        // accepts a value that changes nothing, and another is refused.
        if (p.StartOnly && !startup) return value == p.Get() ? null : "can be set only at start here";
        if (p.Protected && !startup) return "can't set protected config";
        return p.Set(value);
    }

    public bool IsImmutable(string name) => _params.TryGetValue(name, out var p) && p.Immutable;

    /// <summary>A secret (requirepass): CONFIG SET's value for it is redacted in MONITOR and SLOWLOG.</summary>
    public bool IsSensitive(string name) => _params.TryGetValue(name, out var p) && p.Sensitive;

    private void Add(string name, Func<string> get, Func<string, string?> set, bool immutable = false, bool sensitive = false, bool isProtected = false, bool startOnly = false)
    {
        var p = new Param(name, get, set, immutable, sensitive, isProtected, startOnly);
        _params.Add(name, p);
        _ordered.Add(p);
    }

    private static string? SetInt(string v, long min, long max, Action<long> apply)
    {
        // .NET's parser would take trailing NULs; Redis's strtoll-based check wants the whole text.
        if (v.Contains('\0', StringComparison.Ordinal) || !long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long x))
        {
            return "argument couldn't be parsed into an integer";
        }
        if (x < min || x > max) return $"argument must be between {min} and {max} inclusive";
        apply(x);
        return null;
    }

    /// <summary>An OCTAL_CONFIG integer, as Redis's strtoll(value, 8) with the whole text read.</summary>
    private static string? SetOctal(string v, long min, long max, Action<long> apply)
    {
        long x = 0;
        if (v.Length == 0 || v.Length > 21 || v.Any(ch => ch is < '0' or > '7')) return "argument couldn't be parsed as an octal number";
        foreach (char ch in v) x = x * 8 + (ch - '0');
        if (x < min || x > max) return $"argument must be between {Convert.ToString(min, 8)} and {Convert.ToString(max, 8)} inclusive";
        apply(x);
        return null;
    }

    private static string? SetMemory(string v, long min, long max, Action<long> apply)
    {
        if (!OutputBufferLimits.TryParseMemory(v, out long x)) return "argument must be a memory value";
        if (x < min || x > max) return $"argument must be between {min} and {max} inclusive";
        apply(x);
        return null;
    }

    private static string? SetBool(string v, Action<bool> apply)
    {
        switch (v.ToLowerInvariant())
        {
            case "yes": apply(true); return null;
            case "no": apply(false); return null;
            default: return "argument must be 'yes' or 'no'";
        }
    }

    /// <summary>
    /// As setConfigSaveOption: "" or pairs of seconds (>= 1) and changes (>= 0), each token read by strtoll
    /// (leading blanks and a sign taken, nothing after the digits, saturating), changes kept as an int; the
    /// value is split at every single space, so doubled spaces make empty tokens.
    /// </summary>
    private static string? SetSaveParams(string v, Action<string> apply)
    {
        string[] tokens = v.Length == 0 ? [] : v.Split(' ');
        if ((tokens.Length & 1) == 1) return "Invalid save parameters";
        var values = new long[tokens.Length];
        for (int j = 0; j < tokens.Length; j++)
        {
            if (!Strtoll(tokens[j], out values[j]) || values[j] < ((j & 1) == 0 ? 1 : 0)) return "Invalid save parameters";
        }
        apply(string.Join(" ", Enumerable.Range(0, values.Length / 2).Select(i => $"{values[2 * i]} {(int)values[2 * i + 1]}")));
        return null;
    }

    /// <summary>C's strtoll over the whole token (no digits reads 0; a token of only a sign is refused as its end is not reached).</summary>
    private static bool Strtoll(string s, out long value)
    {
        value = 0;
        int i = 0;
        while (i < s.Length && s[i] < 128 && Protocol.CString.IsSpace((byte)s[i])) i++;
        bool negative = i < s.Length && s[i] == '-';
        if (i < s.Length && s[i] is '-' or '+') i++;
        int digitsAt = i;
        System.Numerics.BigInteger n = 0;
        while (i < s.Length && char.IsAsciiDigit(s[i])) n = n * 10 + (s[i++] - '0');
        if (i == digitsAt) return s.Length == 0; // strtoll("") is 0 with the end reached; otherwise its end is the token's start
        if (i != s.Length) return false;
        if (negative) n = -n;
        value = n > long.MaxValue ? long.MaxValue : n < long.MinValue ? long.MinValue : (long)n;
        return true;
    }

    private static string? SetEnum(string v, string[] allowed, Action<string> apply)
    {
        string lower = v.ToLowerInvariant();
        if (!allowed.Contains(lower)) return "argument(s) must be one of the following: " + string.Join(", ", allowed);
        apply(lower);
        return null;
    }

    private sealed record Param(string Name, Func<string> Get, Func<string, string?> Set, bool Immutable, bool Sensitive, bool Protected, bool StartOnly);
}
