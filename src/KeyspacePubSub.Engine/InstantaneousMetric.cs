namespace KeyspacePubSub.Engine;

/// <summary>
/// One of INFO's instantaneous figures (ops per second, input and output kbps), as Redis's
/// trackInstantaneousMetric / getInstantaneousMetric: ten times a second the cron takes a counter's rate per
/// second since the previous sample, and the figure is the mean of the last 16 samples (about 1.6 s).
/// </summary>
public sealed class InstantaneousMetric
{
    private const int Samples = 16; // STATS_METRIC_SAMPLES

    private readonly long[] _samples = new long[Samples];
    private int _next;
    private long _lastTime = Environment.TickCount64;
    private long _lastCount;

    /// <summary>Takes a sample: the counter's rate per second since the last one (0 when no time passed).</summary>
    public void Track(long nowMs, long count)
    {
        long elapsed = nowMs - _lastTime;
        _samples[_next] = elapsed > 0 ? (count - _lastCount) * 1000 / elapsed : 0;
        _next = (_next + 1) % Samples;
        _lastTime = nowMs;
        _lastCount = count;
    }

    /// <summary>The mean of the samples, per second (integer division, as Redis).</summary>
    public long PerSecond
    {
        get
        {
            long sum = 0;
            foreach (long s in _samples) sum += s;
            return sum / Samples;
        }
    }

    /// <summary>As resetServerStats: no samples, and the counter counted from 0 from now on.</summary>
    public void Reset(long nowMs)
    {
        Array.Clear(_samples);
        _next = 0;
        _lastTime = nowMs;
        _lastCount = 0;
    }
}
