using System.Text;
using FluentAssertions;
using KeyspacePubSub.Engine;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>LATENCY GRAPH's sparkline, against graphs redis-server 7.0.15 drew.</summary>
public sealed class SparklineTests
{
    private static string Render(params (double, string?)[] samples)
    {
        var sb = new StringBuilder();
        Sparkline.Render(sb, samples, 80, 4, fill: true);
        return sb.ToString();
    }

    [Fact]
    public void Samples_AreDrawnInFourRowsOfThreeLevels_WithTheirLabelsBelow()
    {
        // redis-server: DEBUG SLEEP 0.11, 0.3, 0.2, 0.15, 0.25, 0.5 a second apart (latency-monitor-threshold
        // 100), then LATENCY GRAPH command, whose lines after the header and the rule were these.
        Render((110, "7s"), (300, "6s"), (200, "5s"), (150, "4s"), (250, "2s"), (500, "1s")).Should().Be(
            "     #\n" +
            "     |\n" +
            " #  o|\n" +
            "_|#o||\n" +
            "      \n" +
            "765421\n" +
            "ssssss\n");
        Render((200, "2s"), (100, "0s")).Should().Be("# \n| \n| \n|_\n  \n20\nss\n");
        Render((120, "0s")).Should().Be(" \n \n \n_\n \n0\ns\n", "one sample: no range, the lowest level");
    }

    [Fact]
    public void MoreSamplesThanColumns_ContinueBelow_OnTheSameScale()
    {
        var samples = Enumerable.Range(0, 81).Select(i => ((double)i, (string?)"1s")).ToArray();
        var sb = new StringBuilder();
        Sparkline.Render(sb, samples, 80, 4, fill: true);
        var blocks = sb.ToString().Split("\n\n");
        blocks.Should().HaveCount(2);
        blocks[0].Split('\n').Should().AllSatisfy(line => line.Length.Should().Be(80));
        blocks[0].Split('\n')[3][0].Should().Be('_', "the lowest sample");
        blocks[1].Should().Be("#\n|\n|\n|\n \n1\ns\n", "the 81st, the highest of all, alone in a second block");
    }
}
