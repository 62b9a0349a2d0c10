using System.Numerics;

namespace KeyspacePubSub.Engine;

/// <summary>
/// A command's latency distribution as Redis 7.0 keeps it (latency-tracking): an HDR histogram of 1 ns to 1 s
/// with two significant figures (hdr_histogram's layout: 23 buckets of 128 sub-buckets, each bucket twice the
/// resolution of the one before), fed with each call's duration in whole microseconds × 1000. Percentiles are
/// hdr_value_at_percentile's (the highest value equivalent to the sample reaching that count) and LATENCY
/// HISTOGRAM's buckets are hdr_iter_log's at powers of two from 1,024 ns, so the figures have Redis's steps.
/// </summary>
public sealed class LatencyHistogram
{
    private const long Lowest = 1, Highest = 1_000_000_000;
    private const int SubBucketHalfCountMagnitude = 7, SubBucketHalfCount = 1 << SubBucketHalfCountMagnitude;
    private const int SubBucketCount = SubBucketHalfCount * 2;
    private const long SubBucketMask = SubBucketCount - 1;
    private const int BucketCount = 23; // the smallest count with 256 << (count - 1) > Highest

    private readonly long[] _counts = new long[(BucketCount + 1) * SubBucketHalfCount];

    public long TotalCount { get; private set; }

    /// <summary>updateCommandLatencyHistogram: the value clamped to 1 ns .. 1 s, then counted.</summary>
    public void Record(long nanoseconds)
    {
        long value = Math.Clamp(nanoseconds, Lowest, Highest);
        _counts[CountsIndex(value)]++;
        TotalCount++;
    }

    private static int BucketIndex(long value) => 64 - BitOperations.LeadingZeroCount((ulong)(value | SubBucketMask)) - (SubBucketHalfCountMagnitude + 1);

    private static int SubBucketIndex(long value, int bucket) => (int)(value >> bucket);

    private static int CountsIndex(long value)
    {
        int bucket = BucketIndex(value);
        return ((bucket + 1) << SubBucketHalfCountMagnitude) + (SubBucketIndex(value, bucket) - SubBucketHalfCount);
    }

    /// <summary>hdr_value_at_index.</summary>
    private static long ValueAtIndex(int index)
    {
        int bucket = (index >> SubBucketHalfCountMagnitude) - 1;
        int sub = (index & (SubBucketHalfCount - 1)) + SubBucketHalfCount;
        if (bucket < 0)
        {
            sub -= SubBucketHalfCount;
            bucket = 0;
        }
        return (long)sub << bucket;
    }

    private static long LowestEquivalent(long value)
    {
        int bucket = BucketIndex(value);
        return (long)SubBucketIndex(value, bucket) << bucket;
    }

    private static long HighestEquivalent(long value)
    {
        int bucket = BucketIndex(value), sub = SubBucketIndex(value, bucket);
        int adjusted = sub >= SubBucketCount ? bucket + 1 : bucket;
        return ((long)sub << bucket) + (1L << adjusted) - 1;
    }

    /// <summary>hdr_value_at_percentile: the value below which <paramref name="percentile"/>% of the samples fall, at its bucket's top.</summary>
    public long ValueAtPercentile(double percentile)
    {
        double requested = percentile < 100.0 ? percentile : 100.0;
        long countAtPercentile = Math.Max(1, (long)(requested / 100 * TotalCount + 0.5));
        long value = 0, seen = 0;
        for (int i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen < countAtPercentile) continue;
            value = ValueAtIndex(i);
            break;
        }
        return percentile == 0.0 ? LowestEquivalent(value) : HighestEquivalent(value);
    }

    /// <summary>
    /// LATENCY HISTOGRAM's histogram_usec (fillCommandCDF over hdr_iter_log_init(1024, 2)): at each power of two
    /// from 1,024 ns, the top of the first counted bucket at or past it in microseconds and the samples up to
    /// there; levels that add nothing are left out. As hdr_histogram 0.11's log iterator, a level past the last
    /// bucket is reported once more with the last bucket's top (so a 1 s sample shows as 1073741).
    /// </summary>
    public List<(long Micros, long Cumulative)> Buckets()
    {
        var result = new List<(long, long)>();
        long level = 1024, levelLowest = LowestEquivalent(level), cumulative = 0, previous = 0, value = 0, highest = 0;
        int index = -1;
        // has_next, or next_value_greater_than_reporting_level_upper_bound (false once the counts are done)
        while (cumulative < TotalCount || (index < _counts.Length && ValueAtIndex(index + 1) > levelLowest))
        {
            bool ended = false;
            while (value < levelLowest)
            {
                if (++index >= _counts.Length)
                {
                    ended = true; // move_next failed: hdr reports what it has, the level unchanged
                    break;
                }
                cumulative += _counts[index];
                value = ValueAtIndex(index);
                highest = HighestEquivalent(value);
            }
            if (cumulative > previous) result.Add((highest / 1000, cumulative));
            previous = cumulative;
            if (ended) continue;
            level *= 2;
            levelLowest = LowestEquivalent(level);
        }
        return result;
    }
}
