using System.Text;
using FluentAssertions;
using KeyspacePubSub.Engine;
using KeyspacePubSub.Engine.Keyspace;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// The skiplist against a plain sorted model, over enough members to use many levels (conformance cases only
/// reach small sets): ranks, rank lookups, range bounds and range deletes must agree after every step.
/// </summary>
public class SortedSetTests
{
    private static byte[] B(string s) => Encoding.ASCII.GetBytes(s);

    private static List<(double Score, string Member)> Model(SortedSetValue z)
    {
        var list = new List<(double, string)>();
        for (var n = z.List.First; n != null; n = n.Next) list.Add((n.Score, Encoding.ASCII.GetString(n.Member!)));
        return list;
    }

    /// <summary>Each member's score bits, in order (-0 and 0 differ here, as ZSCORE shows them).</summary>
    private static List<(long Bits, string Member)> Bits(SortedSetValue z) =>
        Model(z).Select(p => (BitConverter.DoubleToInt64Bits(p.Score), p.Member)).ToList();

    private static int Cmp((double S, string M) a, (double S, string M) b) =>
        a.S != b.S ? a.S.CompareTo(b.S) : string.CompareOrdinal(a.M, b.M);

    [Fact]
    public void RandomOperations_AgreeWithASortedModel() => RandomOperations(new Random(1234), new SortedSetValue(), new Dictionary<string, double>());

    /// <summary>
    /// ZADD and ZINCRBY of a present member keep its node (Redis's zslUpdateScore allocates a new one): a rescore,
    /// in place or to a new position, allocates nothing, so a set whose scores churn (a leaderboard, GEOADD
    /// position updates) makes no young nodes for the collector to copy.
    /// </summary>
    [Fact]
    public void Rescoring_KeepsTheNode_AndAllocatesNothing()
    {
        var z = new SortedSetValue();
        var members = Enumerable.Range(0, 5000).Select(i => B("m" + i)).ToArray();
        for (int i = 0; i < members.Length; i++) z.Set(members[i], i);
        var rng = new Random(7);
        var before = members.Select(m => NodeOf(z, m)).ToArray();
        z.Set(members[0], 0.5); // warms the path (the thread's scratch path array)
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        for (int step = 0; step < 20000; step++)
        {
            int i = rng.Next(members.Length);
            z.TryGetScore(members[i], out double score);
            z.Set(members[i], step % 2 == 0 ? score + 0.25 : rng.Next(5000) + 0.5);
        }
        (GC.GetAllocatedBytesForCurrentThread() - allocated).Should().Be(0);
        members.Select(m => NodeOf(z, m)).Should().Equal(before, (a, b) => ReferenceEquals(a, b));
        var expected = members.Select(m => (z.TryGetScore(m, out double s) ? s : double.NaN, Encoding.ASCII.GetString(m))).ToList();
        expected.Sort(Cmp);
        Model(z).Should().Equal(expected);
    }

    /// <summary>The member table compares members, not only their hashes: two members with the same 32-bit hash are two members.</summary>
    [Fact]
    public void MembersWhoseHashesCollide_AreToldApart()
    {
        var seen = new Dictionary<int, string>();
        (string A, string B) pair = (null!, null!);
        for (int i = 0; pair.A is null; i++)
        {
            string m = "c" + i;
            if (!seen.TryAdd(ByteKeyComparer.Hash(B(m)), m)) pair = (seen[ByteKeyComparer.Hash(B(m))], m);
        }
        var z = new SortedSetValue();
        z.Set(B(pair.A), 1);
        z.TryGetScore(B(pair.B), out _).Should().BeFalse();
        z.Set(B(pair.B), 2);
        z.Count.Should().Be(2);
        z.TryGetScore(B(pair.A), out double a).Should().BeTrue();
        z.TryGetScore(B(pair.B), out double b).Should().BeTrue();
        (a, b).Should().Be((1, 2));
        z.Remove(B(pair.A)).Should().BeTrue();
        z.TryGetScore(B(pair.A), out _).Should().BeFalse();
        z.Rank(B(pair.B), reverse: false).Should().Be(0);
    }

    private static SkipList.Node NodeOf(SortedSetValue z, byte[] member)
    {
        for (var n = z.List.First; n != null; n = n.Next)
        {
            if (n.Member.AsSpan().SequenceEqual(member)) return n;
        }
        throw new InvalidOperationException("member not found");
    }

    /// <summary>
    /// A set adopted whole (as a load does: members in any order, many scores equal, 0 and -0) is the set that
    /// adding them one by one makes, and stays right under the random operations after it.
    /// </summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(128)] // still a listpack in Redis
    [InlineData(129)]
    [InlineData(5000)]
    public void AdoptedMembers_MakeTheSameSet_AndAgreeWithTheModelAfterwards(int count)
    {
        var rng = new Random(count);
        var model = new Dictionary<string, double>();
        while (model.Count < count) model["m" + rng.Next(3000 + count)] = rng.Next(4) == 0 ? -0.0 : rng.Next(200);
        var members = model.Keys.Select(B).ToArray();
        var scores = model.Values.ToArray();
        var adopted = new SortedSetValue();
        adopted.Adopt(members, scores);
        var added = new SortedSetValue();
        foreach (var (m, sc) in model) added.Set(B(m), sc);
        Model(adopted).Should().Equal(Model(added));
        Bits(adopted).Should().Equal(Bits(added), "each member keeps its own score, -0 and 0 alike");
        adopted.IsSkiplistEncoded.Should().Be(added.IsSkiplistEncoded).And.Be(count > 128);
        Check(adopted, model, rng);
        RandomOperations(rng, adopted, model);

        var longMember = new SortedSetValue();
        longMember.Adopt([B(new string('x', 65)), B("a")], [1, 2]);
        longMember.IsSkiplistEncoded.Should().BeTrue("a member longer than 64 bytes makes Redis convert");
        var twice = new SortedSetValue();
        twice.Invoking(t => t.Adopt([B("a"), B("a")], [1, 2])).Should().Throw<InvalidDataException>();
    }

    private static void RandomOperations(Random rng, SortedSetValue z, Dictionary<string, double> model)
    {
        for (int step = 0; step < 20000; step++)
        {
            string member = "m" + rng.Next(3000);
            double score = rng.Next(200);
            // A member moved a little often stays between its neighbours (rescored in place), one moved to a
            // random whole score seldom does (unlinked and linked again).
            if (rng.Next(2) == 0 && model.TryGetValue(member, out double current)) score = current + (rng.NextDouble() - 0.5) / 8;
            switch (rng.Next(10))
            {
                case < 6:
                    z.Set(B(member), score);
                    model[member] = score;
                    break;
                case < 8:
                    z.Remove(B(member)).Should().Be(model.Remove(member));
                    break;
                case 8:
                    double lo = rng.Next(200), hi = lo + rng.Next(5);
                    ZRange.TryParseScore(B("(" + lo), B(hi.ToString()), out var range).Should().BeTrue();
                    long removed = z.DeleteRange(range);
                    var gone = model.Where(p => p.Value > lo && p.Value <= hi).Select(p => p.Key).ToList();
                    removed.Should().Be(gone.Count);
                    gone.ForEach(g => model.Remove(g));
                    break;
                default:
                    if (z.Count > 10)
                    {
                        long start = rng.Next(z.Count), end = start + rng.Next(5);
                        var sorted = model.Select(p => (p.Value, p.Key)).ToList();
                        sorted.Sort(Cmp);
                        long n = z.DeleteRangeByRank(start, Math.Min(end, z.Count - 1));
                        n.Should().Be(Math.Min(end, sorted.Count - 1) - start + 1);
                        for (long i = start; i <= Math.Min(end, sorted.Count - 1); i++) model.Remove(sorted[(int)i].Key);
                    }
                    break;
            }
            if (step % 500 == 0) Check(z, model, rng);
        }
        Check(z, model, rng);
    }

    private static void Check(SortedSetValue z, Dictionary<string, double> model, Random rng)
    {
        var expected = model.Select(p => (p.Value, p.Key)).ToList();
        expected.Sort(Cmp);
        Model(z).Should().Equal(expected);
        var backward = new List<(double, string)>();
        for (var n = z.List.Last; n != null; n = n.Backward) backward.Add((n.Score, Encoding.ASCII.GetString(n.Member!)));
        backward.Reverse();
        backward.Should().Equal(expected, "each node's backward link is the node before it");
        z.Count.Should().Be(expected.Count);
        z.List.Length.Should().Be(expected.Count);
        // The member table and the slots: every member found with its score, each in exactly one slot, and
        // members not in the set not found.
        foreach (var (score, member) in expected)
        {
            z.TryGetScore(B(member), out double found).Should().BeTrue();
            BitConverter.DoubleToInt64Bits(found).Should().Be(BitConverter.DoubleToInt64Bits(score));
        }
        Enumerable.Range(0, z.Count).Select(i => Encoding.ASCII.GetString(z.MemberAt(i))).Order(StringComparer.Ordinal).Should().Equal(expected.Select(e => e.Key).Order(StringComparer.Ordinal));
        for (int i = 0; i < 20; i++)
        {
            string absent = "m" + rng.Next(3000);
            if (!expected.Any(e => e.Key == absent)) z.TryGetScore(B(absent), out _).Should().BeFalse();
        }
        for (int i = 0; i < expected.Count; i += 1 + rng.Next(20))
        {
            z.Rank(B(expected[i].Key), reverse: false).Should().Be(i);
            z.Rank(B(expected[i].Key), reverse: true).Should().Be(expected.Count - 1 - i);
            z.List.GetByRank(i + 1)!.Member.Should().Equal(B(expected[i].Key));
        }
        if (expected.Count == 0) return;
        z.List.Last!.Member.Should().Equal(B(expected[^1].Key));
        double lo = rng.Next(200), hi = lo + rng.Next(50);
        ZRange.TryParseScore(B(lo.ToString()), B("(" + hi), out var range).Should().BeTrue();
        var inRange = expected.Where(e => e.Value >= lo && e.Value < hi).ToList();
        z.CountInRange(range).Should().Be(inRange.Count);
        if (inRange.Count > 0)
        {
            z.List.FirstInRange(range)!.Member.Should().Equal(B(inRange[0].Key));
            z.List.LastInRange(range)!.Member.Should().Equal(B(inRange[^1].Key));
        }
        else
        {
            z.List.FirstInRange(range).Should().BeNull();
        }
    }

    [Theory]
    [InlineData("1.5", true, 1.5)]
    [InlineData("(2", true, 2)]
    [InlineData("-inf", true, double.NegativeInfinity)]
    [InlineData("+inf", true, double.PositiveInfinity)]
    [InlineData(" 3", true, 3)]
    [InlineData("", true, 0)]
    [InlineData("0x10", true, 16)]
    [InlineData("1e400", true, double.PositiveInfinity)]
    [InlineData("3 ", false, 0)]
    [InlineData("nan", false, 0)]
    [InlineData("abc", false, 0)]
    public void ScoreBounds_ParseAsStrtod(string text, bool ok, double expected)
    {
        ZRange.TryParseScore(B(text), B("+inf"), out var range).Should().Be(ok);
        if (!ok) return;
        bool exclusive = text.StartsWith('(');
        range.AboveMin(expected, B("x")).Should().Be(!exclusive);
        if (!double.IsInfinity(expected)) range.AboveMin(expected + 1, B("x")).Should().BeTrue();
    }
}
