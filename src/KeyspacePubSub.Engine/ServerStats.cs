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

    /// <summary>Reads of requests from clients (INFO total_reads_processed), and outputs handed to clients' connections (total_writes_processed).</summary>
    public long ReadsProcessed;
    public long WritesProcessed;

    /// <summary>INFO instantaneous_ops_per_sec, instantaneous_input_kbps and instantaneous_output_kbps, sampled by <see cref="Sample"/>.</summary>
    public InstantaneousMetric Commands { get; } = new();
    public InstantaneousMetric NetInput { get; } = new();
    public InstantaneousMetric NetOutput { get; } = new();

    /// <summary>A read of <paramref name="bytes"/> from a client (from any event loop).</summary>
    public void NoteRead(long bytes)
    {
        if (bytes <= 0) return;
        Interlocked.Add(ref NetInputBytes, bytes);
        Interlocked.Increment(ref ReadsProcessed);
    }

    /// <summary>The cron's sample of the instantaneous figures (ten times a second, as Redis's run_with_period(100)).</summary>
    public void Sample(long nowMs)
    {
        Commands.Track(nowMs, CommandsProcessed);
        NetInput.Track(nowMs, Interlocked.Read(ref NetInputBytes));
        NetOutput.Track(nowMs, NetOutputBytes);
    }

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
        ReadsProcessed = WritesProcessed = 0;
        ErrorCodes.Clear();
        long now = Environment.TickCount64;
        foreach (var metric in new[] { Commands, NetInput, NetOutput }) metric.Reset(now);
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
