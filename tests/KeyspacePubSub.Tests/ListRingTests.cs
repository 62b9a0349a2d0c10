using FluentAssertions;
using KeyspacePubSub.Engine.Keyspace;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// A list's ring buffer (and the durable positions' ring beside it) against a plain List doing the same pushes
/// and pops at both ends: the same elements in the same order after every step, through growths that find
/// the ring's head at every offset.
/// </summary>
public sealed class ListRingTests
{
    [Theory]
    [InlineData(1, 3_000)]
    [InlineData(2, 20_000)]
    public void PushesAndPops_AtBothEnds_KeepTheOrder(int seed, int steps)
    {
        var rng = new Random(seed);
        var list = new ListValue();
        var deque = new LongDeque();
        var model = new List<long>();
        long next = 0, headPosition = 0;
        for (int step = 0; step < steps; step++)
        {
            int op = rng.Next(10);
            if (op < 3 && model.Count > 0)
            {
                bool head = rng.Next(2) == 0;
                long expected = head ? model[0] : model[^1];
                long popped = head ? deque.PopFront() : deque.PopBack();
                byte[] item = head ? list.PopHead() : list.PopTail();
                popped.Should().Be(expected);
                BitConverter.ToInt64(item).Should().Be(expected);
                if (head) { model.RemoveAt(0); headPosition++; }
                else model.RemoveAt(model.Count - 1);
            }
            else if (op < 6)
            {
                long v = next++;
                model.Insert(0, v);
                deque.PushFront(v);
                list.PushHead(BitConverter.GetBytes(v));
                headPosition--;
            }
            else
            {
                long v = next++;
                model.Add(v);
                deque.PushBack(v);
                list.PushTail(BitConverter.GetBytes(v));
            }
            list.Count.Should().Be(model.Count);
            deque.Count.Should().Be(model.Count);
            list.HeadPosition.Should().Be(headPosition);
            if (step % 97 == 0 || list.Count == list.Capacity)
            {
                for (int i = 0; i < model.Count; i++)
                {
                    deque[i].Should().Be(model[i]);
                    BitConverter.ToInt64(list[i]).Should().Be(model[i]);
                }
            }
        }
        list.Capacity.Should().BeGreaterThan(64, "the steps grew the ring several times");
    }

    [Fact]
    public void AFullRing_WhoseHeadWrapped_GrowsInOrder()
    {
        var list = new ListValue();
        var deque = new LongDeque();
        // Two at the tail, two at the head: the ring of 4 is full and its head is at slot 2.
        foreach (long v in new long[] { 3, 4 }) { list.PushTail(BitConverter.GetBytes(v)); deque.PushBack(v); }
        foreach (long v in new long[] { 2, 1 }) { list.PushHead(BitConverter.GetBytes(v)); deque.PushFront(v); }
        list.PushTail(BitConverter.GetBytes(5L));
        deque.PushBack(5);
        list.PushHead(BitConverter.GetBytes(0L));
        deque.PushFront(0);
        Enumerable.Range(0, list.Count).Select(i => BitConverter.ToInt64(list[i])).Should().Equal(0, 1, 2, 3, 4, 5);
        Enumerable.Range(0, deque.Count).Select(i => deque[i]).Should().Equal(0, 1, 2, 3, 4, 5);
        list.Capacity.Should().Be(8);
    }

    [Fact]
    public void PoppedDownToAFew_TheRingShrinks_KeepingTheOrder()
    {
        var list = new ListValue();
        var deque = new LongDeque();
        var model = new List<long>();
        for (long v = 0; v < 3_000; v++)
        {
            if (v % 2 == 0) { list.PushTail(BitConverter.GetBytes(v)); deque.PushBack(v); model.Add(v); }
            else { list.PushHead(BitConverter.GetBytes(v)); deque.PushFront(v); model.Insert(0, v); } // the head wraps
        }
        list.Capacity.Should().Be(4096);
        var rng = new Random(7);
        var capacities = new List<int>();
        while (model.Count > 10)
        {
            int before = list.Capacity;
            bool head = rng.Next(2) == 0;
            long expected = head ? model[0] : model[^1];
            BitConverter.ToInt64(head ? list.PopHead() : list.PopTail()).Should().Be(expected);
            (head ? deque.PopFront() : deque.PopBack()).Should().Be(expected);
            model.RemoveAt(head ? 0 : model.Count - 1);
            if (list.Capacity == before) continue;
            capacities.Add(list.Capacity);
            deque.Capacity.Should().Be(list.Capacity);
            Enumerable.Range(0, list.Count).Select(i => BitConverter.ToInt64(list[i])).Should().Equal(model);
            Enumerable.Range(0, deque.Count).Select(i => deque[i]).Should().Equal(model);
        }
        capacities.Should().Equal(1024, 256, 64); // under a tenth full (409, 102, 25 left): twice the elements, a power of two
        for (long v = 0; v < 100; v++) { list.PushHead(BitConverter.GetBytes(-v)); deque.PushFront(-v); model.Insert(0, -v); }
        Enumerable.Range(0, list.Count).Select(i => BitConverter.ToInt64(list[i])).Should().Equal(model);
        Enumerable.Range(0, deque.Count).Select(i => deque[i]).Should().Equal(model);
    }
}
