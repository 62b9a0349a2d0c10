using FluentAssertions;
using KeyspacePubSub.Engine.Keyspace;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>A grown string against a List&lt;byte&gt; model: appends, zero-filled growth and writes in place, across many reallocations.</summary>
public class GrowableStringTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void RandomAppendsGrowthAndWrites_MatchAByteList(int seed)
    {
        var rng = new Random(seed);
        var model = new List<byte> { 1, 2, 3 };
        var g = GrowableString.From(new byte[] { 1, 2, 3 }, 3);
        for (int step = 0; step < 3_000; step++)
        {
            switch (rng.Next(3))
            {
                case 0:
                    var tail = new byte[rng.Next(0, 300)];
                    rng.NextBytes(tail);
                    g.Append(tail);
                    model.AddRange(tail);
                    break;
                case 1:
                    int length = model.Count + rng.Next(-50, 2_000);
                    g.EnsureLength(length);
                    while (model.Count < length) model.Add(0);
                    break;
                default:
                    int at = rng.Next(model.Count);
                    byte b = (byte)rng.Next(256);
                    g.Span[at] = b;
                    model[at] = b;
                    break;
            }
            g.Length.Should().Be(model.Count);
        }
        g.ToArray().Should().Equal(model);
    }
}
