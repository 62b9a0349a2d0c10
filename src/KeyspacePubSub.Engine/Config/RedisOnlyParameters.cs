namespace KeyspacePubSub.Engine.Config;

/// <summary>
/// Redis 7.0 configuration directives this server does not have (<see cref="ServerConfig"/> holds the ones it has).
/// At start, from a redis.conf or the command line, most are ignored with a warning, so a configuration written for
/// Redis (<c>protected-mode no</c>, <c>daemonize no</c>, <c>lazyfree-lazy-eviction yes</c>) starts the server. A few
/// stop the start instead, because ignoring them would leave a client relying on what is not there: TLS, replication,
/// ACL users, renamed commands, modules. A name that is neither ours nor Redis's is a typo, refused as
/// Redis refuses it ("Bad directive or wrong number of arguments"). CONFIG SET at run time answers every name that is
/// not ours with Redis's unknown-option error, as before.
/// </summary>
public static class RedisOnlyParameters
{
    // Redis 7.0.15's CONFIG GET * names that ServerConfig does not hold, less the refused ones below.
    private static readonly HashSet<string> s_ignored = new(StringComparer.OrdinalIgnoreCase)
    {
        "active-defrag-cycle-max", "active-defrag-cycle-min", "active-defrag-ignore-bytes", "active-defrag-max-scan-fields",
        "active-defrag-threshold-lower", "active-defrag-threshold-upper", "active-expire-effort", "activedefrag", "activerehashing", "always-show-logo",
        "aof-disable-auto-gc", "aof-load-truncated", "aof-rewrite-incremental-fsync", "aof-timestamp-enabled", "aof-use-rdb-preamble", "aof_rewrite_cpulist",
        "appenddirname", "appendfilename", "auto-aof-rewrite-min-size", "auto-aof-rewrite-percentage", "bgsave_cpulist", "bind-source-addr",
        "bio_cpulist", "client-query-buffer-limit", "cluster-allow-pubsubshard-when-down", "cluster-allow-reads-when-down", "cluster-allow-replica-migration",
        "cluster-announce-bus-port", "cluster-announce-hostname", "cluster-announce-ip", "cluster-announce-port", "cluster-announce-tls-port", "cluster-config-file",
        "cluster-link-sendbuf-limit", "cluster-migration-barrier", "cluster-node-timeout", "cluster-port", "cluster-preferred-endpoint-type", "cluster-replica-no-failover",
        "cluster-replica-validity-factor", "cluster-require-full-coverage", "cluster-slave-no-failover", "cluster-slave-validity-factor", "crash-log-enabled", "crash-memcheck-enabled",
        "daemonize", "disable-thp", "dynamic-hz", "enable-module-command", "enable-protected-configs", "hash-max-listpack-entries",
        "hash-max-listpack-value", "hash-max-ziplist-entries", "hash-max-ziplist-value", "ignore-warnings", "io-threads-do-reads", "jemalloc-bg-thread",
        "latency-tracking", "latency-tracking-info-percentiles", "lazyfree-lazy-eviction", "lazyfree-lazy-expire", "lazyfree-lazy-server-del", "lazyfree-lazy-user-del",
        "lazyfree-lazy-user-flush", "list-compress-depth", "list-max-listpack-size", "list-max-ziplist-size", "logfile",
        "masterauth", "masteruser", "maxmemory-clients", "min-replicas-max-lag", "min-replicas-to-write", "min-slaves-max-lag",
        "min-slaves-to-write", "no-appendfsync-on-rewrite", "oom-score-adj", "oom-score-adj-values", "pidfile", "proc-title-template",
        "propagation-error-behavior", "protected-mode", "rdb-del-sync-files", "rdb-save-incremental-fsync", "rdbchecksum", "rdbcompression",
        "repl-backlog-size", "repl-backlog-ttl", "repl-disable-tcp-nodelay", "repl-diskless-load", "repl-diskless-sync", "repl-diskless-sync-delay",
        "repl-diskless-sync-max-replicas", "repl-ping-replica-period", "repl-ping-slave-period", "repl-timeout", "replica-announce-ip", "replica-announce-port",
        "replica-announced", "replica-ignore-disk-write-errors", "replica-ignore-maxmemory", "replica-lazy-flush", "replica-priority", "replica-serve-stale-data",
        "sanitize-dump-payload", "server_cpulist", "set-max-intset-entries", "set-proc-title", "shutdown-on-sigint", "shutdown-on-sigterm",
        "shutdown-timeout", "slave-announce-ip", "slave-announce-port", "slave-ignore-maxmemory", "slave-lazy-flush", "slave-priority",
        "slave-serve-stale-data", "socket-mark-id", "stop-writes-on-bgsave-error", "supervised",
        "syslog-enabled", "syslog-facility", "syslog-ident", "tls-auth-clients", "tls-ca-cert-dir", "tls-ca-cert-file",
        "tls-cert-file", "tls-ciphers", "tls-ciphersuites", "tls-client-cert-file", "tls-client-key-file", "tls-client-key-file-pass",
        "tls-cluster", "tls-dh-params-file", "tls-key-file", "tls-key-file-pass", "tls-prefer-server-ciphers", "tls-protocols",
        "tls-replication", "tls-session-cache-size", "tls-session-cache-timeout", "tls-session-caching", "zset-max-listpack-entries",
        "zset-max-listpack-value", "zset-max-ziplist-entries", "zset-max-ziplist-value",
    };

    // Directives whose value would make a client rely on something absent here: refused unless the value turns them off.
    private static readonly Dictionary<string, string> s_refused = new(StringComparer.OrdinalIgnoreCase)
    {
        ["tls-port"] = "there is no TLS here",
        ["replicaof"] = "there is no replication here",
        ["slaveof"] = "there is no replication here",
        ["rename-command"] = "commands cannot be renamed or disabled here",
        ["loadmodule"] = "there are no modules here",
        ["sentinel"] = "this server is not a Sentinel",
    };

    /// <summary>A Redis 7.0 directive this server does not have, ignored at start (the caller logs a warning).</summary>
    public static bool IsIgnored(string name, string value) =>
        s_ignored.Contains(name) || (s_refused.ContainsKey(name) && TurnsOff(name, value));

    /// <summary>Why a Redis 7.0 directive with this value stops the start; null when it does not.</summary>
    public static string? Refusal(string name, string value) =>
        s_refused.TryGetValue(name, out string? reason) && !TurnsOff(name, value) ? reason : null;

    // As Redis reads them: tls-port 0, an empty aclfile, "replicaof no one".
    private static bool TurnsOff(string name, string value) => name.ToLowerInvariant() switch
    {
        "tls-port" => value.Trim() == "0",
        "aclfile" => value.Length == 0,
        "replicaof" or "slaveof" => value.Trim().Equals("no one", StringComparison.OrdinalIgnoreCase),
        _ => false,
    };
}
