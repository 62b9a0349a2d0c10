namespace KeyspacePubSub.Benchmark;

public static class Stats
{
    /// <summary>The middle value (the upper of the two middle ones for an even count): rows of several runs report it.</summary>
    public static double Median(this IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
