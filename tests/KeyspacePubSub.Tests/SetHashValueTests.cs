using System.Text;
using FluentAssertions;
using KeyspacePubSub.Engine.Keyspace;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// Sets and hashes against models while they grow past and shrink below the size where removal stops keeping
/// insertion order: membership, values and positions stay right, and small ones keep Redis's listpack order.
/// </summary>
public class SetHashValueTests
{
    private static byte[] B(string s) => Encoding.ASCII.GetBytes(s);

    [Theory]
    [InlineData(1, 400)] // never past 512 members: insertion order is checked too
    [InlineData(2, 3_000)] // grows to ~2,500 members, then shrinks to a few
    public void Set_RandomAddsAndRemoves_MatchAHashSet(int seed, int memberSpace)
    {
        var rng = new Random(seed);
        var set = new SetValue();
        var model = new HashSet<string>();
        var order = new List<string>(); // insertion order with order-keeping removal, while small
        int largest = 0;
        const int Steps = 60_000;
        for (int step = 0; step < Steps; step++)
        {
            string m = $"m{rng.Next(memberSpace)}";
            int addPercent = step < Steps / 2 ? 80 : 20; // grow, then shrink
            int roll = rng.Next(100);
            if (roll < addPercent)
            {
                bool added = set.Members.TryAdd(B(m), true);
                added.Should().Be(model.Add(m));
                if (added) order.Add(m);
            }
            else if (roll % 2 == 0 || set.Count == 0)
            {
                bool removed = set.Remove(B(m));
                removed.Should().Be(model.Remove(m));
                if (removed) order.Remove(m);
            }
            else
            {
                // SPOP's path: the member at a random position.
                int k = rng.Next(set.Count);
                string picked = Encoding.ASCII.GetString(set.At(k));
                model.Remove(picked).Should().BeTrue();
                order.Remove(picked);
                set.RemoveAt(k);
            }
            largest = Math.Max(largest, set.Count);
            if (step % 997 == 0 || set.Count < 3)
            {
                set.Count.Should().Be(model.Count);
                var members = Enumerable.Range(0, set.Count).Select(i => Encoding.ASCII.GetString(set.At(i))).ToList();
                members.Should().OnlyHaveUniqueItems().And.HaveCount(model.Count);
                model.SetEquals(members).Should().BeTrue("the positions hold exactly the members");
                if (largest <= 512) members.Should().Equal(order, "a set that never passed 512 members keeps insertion order");
                foreach (var x in model) set.Members.ContainsKey(B(x)).Should().BeTrue();
            }
        }
        largest.Should().BeGreaterThan(memberSpace > 1000 ? 2_000 : 300);
    }

    [Fact]
    public void Hash_KeepsInsertionOrderWhileSmall_AndItsValuesOnceLarge()
    {
        var hash = new HashValue();
        var order = new List<string>();
        for (int i = 0; i < 100; i++)
        {
            hash.Fields.Add(B($"f{i}"), B($"v{i}"));
            order.Add($"f{i}");
        }
        foreach (int i in new[] { 0, 50, 99, 7 })
        {
            hash.Remove(B($"f{i}")).Should().BeTrue();
            order.Remove($"f{i}");
        }
        hash.Remove(B("f50")).Should().BeFalse();
        hash.Fields.Keys.Select(Encoding.ASCII.GetString).Should().Equal(order, "a listpack hash keeps its order when a field goes");

        var rng = new Random(5);
        var model = new Dictionary<string, string>();
        var big = new HashValue();
        for (int i = 0; i < 5_000; i++)
        {
            big.Fields.Add(B($"f{i}"), B($"v{i}"));
            model[$"f{i}"] = $"v{i}";
        }
        while (model.Count > 100)
        {
            string f = $"f{rng.Next(5_000)}";
            big.Remove(B(f)).Should().Be(model.Remove(f));
        }
        big.Fields.Select(kv => (Encoding.ASCII.GetString(kv.Key), Encoding.ASCII.GetString(kv.Value)))
            .Should().BeEquivalentTo(model.Select(kv => (kv.Key, kv.Value)));
        for (int i = 0; i < big.Count; i++)
        {
            var (k, v) = big.At(i);
            model[Encoding.ASCII.GetString(k)].Should().Be(Encoding.ASCII.GetString(v));
        }
    }

    [Fact]
    public void EmptiedByRemovals_HashesSetsAndSortedSets_GiveTheirTablesBack()
    {
        var hash = new HashValue();
        var set = new SetValue();
        var zset = new SortedSetValue();
        for (int i = 0; i < 10_000; i++)
        {
            hash.Put(B($"f{i}"), B($"v{i}"));
            set.Add(B($"m{i}"));
            zset.Set(B($"z{i}"), i);
        }
        for (int i = 10; i < 10_000; i++)
        {
            hash.Remove(B($"f{i}")).Should().BeTrue();
            set.Remove(B($"m{i}")).Should().BeTrue();
            if (i >= 5_000) zset.Remove(B($"z{i}")).Should().BeTrue(); // ZREM, one by one
        }
        zset.DeleteRangeByRank(10, 4_999).Should().Be(4_990); // and a range
        hash.Fields.EnsureCapacity(0).Should().BeLessThan(100);
        set.Members.EnsureCapacity(0).Should().BeLessThan(100);
        zset.TableCapacity.Members.Should().BeLessThan(100);
        zset.TableCapacity.Slots.Should().BeLessThan(100);

        // What is left is whole, and in insertion order (a hash this small is a listpack in Redis).
        hash.Fields.Select(p => $"{Encoding.ASCII.GetString(p.Key)}={Encoding.ASCII.GetString(p.Value)}").Should()
            .Equal(Enumerable.Range(0, 10).Select(i => $"f{i}=v{i}"));
        set.Members.Keys.Select(Encoding.ASCII.GetString).Should().BeEquivalentTo(Enumerable.Range(0, 10).Select(i => $"m{i}"));
        zset.Count.Should().Be(10);
        for (int i = 0; i < 10; i++)
        {
            zset.TryGetScore(B($"z{i}"), out double score).Should().BeTrue();
            score.Should().Be(i);
            zset.Rank(B($"z{i}"), reverse: false).Should().Be(i);
            Encoding.ASCII.GetString(zset.MemberAt(i)).Should().StartWith("z");
        }
        zset.Remove(B("z5")).Should().BeTrue();
        zset.Rank(B("z9"), reverse: false).Should().Be(8);
    }
}
