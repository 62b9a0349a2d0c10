namespace KeyspacePubSub.Engine;

/// <summary>
/// The latency monitor (src/latency.c): with <c>latency-monitor-threshold</c> &gt; 0 ms, every command that takes
/// at least that long adds a sample to its event ("command", or "fast-command" for commands flagged fast): one
/// sample per second (the highest), the last 160 seconds with samples kept, and the highest ever. Runs under the gate.
/// </summary>
public sealed class LatencyMonitor
{
    public const int SeriesLength = 160;

    public sealed class Series
    {
        public readonly (long Time, long Latency)[] Samples = new (long, long)[SeriesLength];
        public int Next;
        public long Max;

        public (long Time, long Latency) Last => Samples[(Next + SeriesLength - 1) % SeriesLength];

        /// <summary>Oldest first, the slots never written left out.</summary>
        public IEnumerable<(long Time, long Latency)> History()
        {
            for (int j = 0; j < SeriesLength; j++)
            {
                var s = Samples[(Next + j) % SeriesLength];
                if (s.Time != 0) yield return s;
            }
        }
    }

    private readonly Dictionary<string, Series> _events = new(StringComparer.Ordinal);

    public IEnumerable<KeyValuePair<string, Series>> Events => _events;

    public Series? Find(string name) => _events.GetValueOrDefault(name);

    /// <summary>latencyAddSample: a sample in the same second as the last one only raises it.</summary>
    public void Add(string name, long latencyMs)
    {
        if (!_events.TryGetValue(name, out var ts)) _events[name] = ts = new Series();
        if (latencyMs > ts.Max) ts.Max = latencyMs;
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        int prev = (ts.Next + SeriesLength - 1) % SeriesLength;
        if (ts.Samples[prev].Time == now)
        {
            if (latencyMs > ts.Samples[prev].Latency) ts.Samples[prev].Latency = latencyMs;
            return;
        }
        ts.Samples[ts.Next] = (now, latencyMs);
        ts.Next = (ts.Next + 1) % SeriesLength;
    }

    /// <summary>Forgets one event (or all with null); how many were forgotten.</summary>
    public int Reset(string? name)
    {
        if (name is not null) return _events.Remove(name) ? 1 : 0;
        int n = _events.Count;
        _events.Clear();
        return n;
    }
}
