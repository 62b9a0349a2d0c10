using FluentAssertions;
using KeyspacePubSub.Engine.Streams;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// The pending list's chunks (appends, inserts that split a full chunk, removals that empty or merge chunks)
/// against a SortedDictionary doing the same: the same entries, in the same order, for every operation.
/// </summary>
public sealed class PendingListTests
{
    private static readonly Consumer Someone = new("c"u8.ToArray(), 0);

    [Theory]
    [InlineData(1, 300, 2_000)] // few IDs: many duplicates and removals of absent IDs
    [InlineData(2, 5_000, 20_000)] // many chunks, splits everywhere
    [InlineData(3, 100_000, 20_000)] // mostly distinct
    public void RandomOperations_MatchASortedModel(int seed, int idRange, int steps)
    {
        var rng = new Random(seed);
        var list = new PendingList();
        var model = new SortedDictionary<StreamId, PendingEntry>();
        StreamId RandomId() => new((ulong)rng.Next(idRange / 4), (ulong)rng.Next(4));
        long appended = idRange;
        for (int step = 0; step < steps; step++)
        {
            int op = rng.Next(10);
            if (op < 3)
            {
                // Appended after everything, as XREADGROUP delivers new entries.
                var e = new PendingEntry(new StreamId((ulong)appended++, 0), Someone, 0, 1);
                list.Add(e).Should().BeTrue();
                model.Add(e.Id, e);
            }
            else if (op < 6)
            {
                var e = new PendingEntry(RandomId(), Someone, 0, 1);
                list.Add(e).Should().Be(model.TryAdd(e.Id, e), $"step {step}: add {e.Id}");
            }
            else if (op < 9)
            {
                // Removal by ID, of a present entry more often than not.
                var id = model.Count > 0 && rng.Next(3) > 0 ? model.Keys.ElementAt(rng.Next(model.Count)) : RandomId();
                list.Remove(new PendingEntry(id, Someone, 0, 0)).Should().Be(model.Remove(id), $"step {step}: remove {id}");
            }
            else
            {
                var a = RandomId();
                var b = RandomId();
                list.Range(a, b).Should().Equal(model.Where(kv => kv.Key >= a && kv.Key <= b).Select(kv => kv.Value), $"step {step}: range {a}..{b}");
            }
            var probe = RandomId();
            list.Find(probe).Should().BeSameAs(model.GetValueOrDefault(probe));
            list.Count.Should().Be(model.Count);
            if (step % 97 == 0 || step == steps - 1)
            {
                list.Should().Equal(model.Values, $"step {step}");
                list.First.Should().BeSameAs(model.Count == 0 ? null : model.First().Value);
                list.Last.Should().BeSameAs(model.Count == 0 ? null : model.Last().Value);
            }
        }
    }

    [Fact]
    public void ModifyingTheListWhileEnumerating_Throws_AsASortedSetDoes()
    {
        var list = new PendingList();
        for (ulong i = 1; i <= 10; i++) list.Add(new PendingEntry(new StreamId(i, 0), Someone, 0, 1));
        var act = () =>
        {
            foreach (var e in list.Range(StreamId.Min, StreamId.Max)) list.Remove(e);
        };
        act.Should().Throw<InvalidOperationException>();
    }
}
