using System.Text;
using FluentAssertions;
using KeyspacePubSub.Engine.PubSub;
using Xunit;

namespace KeyspacePubSub.Tests;

public class GlobPatternTests
{
    private static bool M(string pattern, string text) => GlobPattern.IsMatch(Encoding.Latin1.GetBytes(pattern), Encoding.Latin1.GetBytes(text));

    [Theory]
    [InlineData("*", "", false)] // as Redis: the loop never runs for an empty string, and "*" is left over
    [InlineData("*", "anything", true)]
    [InlineData("h?llo", "hello", true)]
    [InlineData("h?llo", "hllo", false)]
    [InlineData("h*llo", "heeeello", true)]
    [InlineData("h[ae]llo", "hallo", true)]
    [InlineData("h[ae]llo", "hillo", false)]
    [InlineData("h[^e]llo", "hallo", true)]
    [InlineData("h[^e]llo", "hello", false)]
    [InlineData("h[a-b]llo", "hbllo", true)]
    [InlineData("h[b-a]llo", "hbllo", true)]
    [InlineData("h\\*llo", "h*llo", true)]
    [InlineData("h\\*llo", "hallo", false)]
    [InlineData("a[\\]]b", "a]b", true)]
    [InlineData("a[b", "ab", true)]
    [InlineData("news.*", "news.art.figurative", true)]
    [InlineData("news.*", "news", false)]
    [InlineData("f*", "foo", true)]
    [InlineData("abc", "abc", true)]
    [InlineData("abc", "abcd", false)]
    [InlineData("a**b", "axxb", true)]
    [InlineData("a*", "a", true)]
    [InlineData("\\", "\\", true)]
    public void IsMatch_FollowsStringmatchlen(string pattern, string text, bool expected) => M(pattern, text).Should().Be(expected);

    [Fact]
    public void IsMatch_HostilePattern_ReturnsNoMatchWithoutBacktrackingExplosion()
    {
        // Without skipLongerMatches this takes exponential time; with it, it is immediate.
        M("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", new string('a', 5000)).Should().BeFalse();
    }

    [Fact]
    public void IsMatch_DeepNesting_StopsAtTheLimit()
    {
        M(string.Concat(Enumerable.Repeat("*a", 2000)), new string('a', 4000)).Should().BeFalse();
    }

    [Theory]
    [InlineData("room:*", 5)]
    [InlineData("*x", 0)]
    [InlineData("ab?c", 2)]
    [InlineData("ab\\*", 2)]
    [InlineData("plain", 5)]
    public void LiteralPrefixLength_StopsAtFirstSpecialByte(string pattern, int expected) =>
        GlobPattern.LiteralPrefixLength(Encoding.ASCII.GetBytes(pattern)).Should().Be(expected);

    [Fact]
    public void PatternIndex_FindsExactlyWhatALinearScanFinds()
    {
        var rng = new Random(42);
        string[] alphabet = ["a", "b", ":", "*", "?", "[ab]", "x"];
        var index = new PatternIndex();
        var patterns = new List<byte[]>();
        for (int i = 0; i < 500; i++)
        {
            var p = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, rng.Next(1, 6)).Select(_ => alphabet[rng.Next(alphabet.Length)])));
            if (index.Find(p) is null) patterns.Add(p);
            index.GetOrAdd(p);
        }
        foreach (var p in patterns.Where((_, i) => i % 3 == 0)) index.Remove(index.Find(p)!);
        var live = patterns.Where(p => index.Find(p) != null).ToList();
        var matches = new List<PatternEntry>();
        for (int i = 0; i < 2000; i++)
        {
            var channel = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, rng.Next(0, 6)).Select(_ => "ab:x"[rng.Next(4)])));
            matches.Clear();
            index.CollectMatches(channel, matches);
            var expected = live.Where(p => GlobPattern.IsMatch(p, channel)).Select(Encoding.ASCII.GetString).Order();
            matches.Select(m => Encoding.ASCII.GetString(m.Name)).Order().Should().Equal(expected);
        }
    }
}
