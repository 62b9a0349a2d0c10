namespace KeyspacePubSub.Engine;

/// <summary>Counters reported by INFO stats; reset by CONFIG RESETSTAT.</summary>
public sealed class ServerStats
{
    public long StartedAt { get; } = Environment.TickCount64;
    public DateTimeOffset StartedUtc { get; } = DateTimeOffset.UtcNow;
    public long ConnectionsReceived;
    public long CommandsProcessed;
    public long RejectedConnections;
    public long NetInputBytes;
    public long NetOutputBytes;
    public long PubSubSlowDisconnects;
    public long ExpiredKeys;
    public long EvictedKeys;
    public long KeyspaceHits;
    public long KeyspaceMisses;
    public long ErrorReplies;
    public long IoThreadedWrites;

    /// <summary>Commands or connections that met a bug (each logged, its client closed); since start, never reset.</summary>
    public long InternalErrors;

    public void Reset()
    {
        ConnectionsReceived = CommandsProcessed = RejectedConnections = 0;
        NetInputBytes = NetOutputBytes = PubSubSlowDisconnects = 0;
        ExpiredKeys = EvictedKeys = KeyspaceHits = KeyspaceMisses = ErrorReplies = IoThreadedWrites = 0;
    }
}
