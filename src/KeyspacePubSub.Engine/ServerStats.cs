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

    /// <summary>Milliseconds spent over maxmemory in finished periods (INFO total_eviction_exceeded_time).</summary>
    public long EvictionExceededMs;

    /// <summary>When the current period over maxmemory began (Environment.TickCount64), 0 when under it.</summary>
    public long EvictionExceededSince;
    public long KeyspaceHits;
    public long KeyspaceMisses;
    public long ErrorReplies;
    public long IoThreadedWrites;

    /// <summary>INFO errorstats: error replies by their first word (ERR, WRONGTYPE...), at most <see cref="MaxErrorCodes"/> of them.</summary>
    public Dictionary<string, long> ErrorCodes { get; } = new(StringComparer.Ordinal);

    public const int MaxErrorCodes = 128;

    /// <summary>Commands or connections that met a bug (each logged, its client closed); since start, never reset.</summary>
    public long InternalErrors;

    public void Reset()
    {
        ConnectionsReceived = CommandsProcessed = RejectedConnections = 0;
        NetInputBytes = NetOutputBytes = PubSubSlowDisconnects = 0;
        EvictionExceededMs = EvictionExceededSince = 0;
        ExpiredKeys = EvictedKeys = KeyspaceHits = KeyspaceMisses = ErrorReplies = IoThreadedWrites = 0;
        ErrorCodes.Clear();
    }

    /// <summary>
    /// One error reply, counted under its code: as afterErrorReply, the word before the first space within the
    /// first 32 characters, else ERR.
    /// </summary>
    public void CountError(string text)
    {
        ErrorReplies++;
        int space = text.AsSpan(0, Math.Min(text.Length, 32)).IndexOf(' ');
        var code = space > 0 ? text.AsSpan(0, space) : "ERR";
        ref long count = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrNullRef(ErrorCodes.GetAlternateLookup<ReadOnlySpan<char>>(), code);
        if (!System.Runtime.CompilerServices.Unsafe.IsNullRef(ref count)) count++;
        else if (ErrorCodes.Count < MaxErrorCodes) ErrorCodes[code.ToString()] = 1;
    }
}
