using FluentAssertions;
using KeyspacePubSub.Engine.PubSub;
using KeyspacePubSub.Server.Linux;
using Xunit;
using static KeyspacePubSub.Server.Linux.LinuxNative;

namespace KeyspacePubSub.Tests;

/// <summary>
/// The event loop's output queue: the engine writes and flushes under its gate, the loop or its write helper
/// sends from another thread. Bytes arrive whole and in order, only once flushed, and an idle queue holds no block.
/// </summary>
public unsafe class OutputQueueTests
{
    [Fact]
    public void OnlyFlushedBytesAreSent_InOrder_AndAnIdleQueueHoldsNoBlock()
    {
        var q = new OutputQueue();
        Write(q, Enumerable.Range(0, 100).Select(i => (byte)i).ToArray());
        q.UnflushedBytes.Should().Be(100);
        Drain(q, 7).Should().BeEmpty("nothing was flushed yet");
        q.FlushAsync().IsCompleted.Should().BeTrue();
        q.UnflushedBytes.Should().Be(0);
        Write(q, [200, 201]); // advanced, not flushed: stays back
        Drain(q, 7).Should().Equal(Enumerable.Range(0, 100).Select(i => (byte)i));
        q.HoldsBlocks.Should().BeTrue("the writer holds unflushed bytes in the last block");
        q.FlushAsync();
        Drain(q, 1).Should().Equal(200, 201);
        q.HoldsBlocks.Should().BeFalse("everything was sent");
    }

    [Fact]
    public void ASharedFrameIsSentInPlace_BetweenWrites_AndReleasedOnceSent()
    {
        var bytes = new byte[5000];
        new Random(3).NextBytes(bytes);
        var frame = SharedFrame.Rent(bytes, (byte)'>');
        var expected = new List<byte> { 1, 2 };
        var q = new OutputQueue();
        var other = new OutputQueue();
        Write(q, [1, 2]);
        q.AppendShared(frame);
        other.AppendShared(frame); // the first thing the other output holds
        Write(q, [3]);
        expected.Add((byte)'>');
        expected.AddRange(bytes[1..]);
        expected.Add(3);
        frame.References.Should().Be(3, "the caller's and each output's");
        q.UnflushedBytes.Should().Be(2 + 5000 + 1);
        q.FlushAsync();
        other.FlushAsync();
        Drain(q, 777).Should().Equal(expected);
        frame.References.Should().Be(2);
        q.HoldsBlocks.Should().BeFalse();
        other.Complete();
        other.ReleaseAll(); // a connection closed before it sent: its reference goes too
        frame.References.Should().Be(1);
        frame.Release();
    }

    [Fact]
    public void LargeWritesSpanBlocks_AndASpanLargerThanABlockIsOneBuffer()
    {
        var q = new OutputQueue();
        var expected = new List<byte>();
        var rng = new Random(5);
        foreach (int size in new[] { 1, 4095, 4096, 4097, 10_000, 3, 70_000 })
        {
            var bytes = new byte[size];
            rng.NextBytes(bytes);
            var span = q.GetSpan(size); // one span of the whole size, as RespWriter asks for
            span.Length.Should().BeGreaterThanOrEqualTo(size);
            bytes.CopyTo(span);
            q.Advance(size);
            expected.AddRange(bytes);
        }
        q.FlushAsync();
        Drain(q, 5000).Should().Equal(expected);
        q.HoldsBlocks.Should().BeFalse();
    }

    [Fact]
    public void AfterComplete_WhatWasAdvancedIsStillSent_AndWritingThrows()
    {
        var q = new OutputQueue();
        Write(q, [1, 2, 3]);
        q.Complete();
        q.WriterCompleted.Should().BeTrue();
        Drain(q, 2).Should().Equal(1, 2, 3);
        Action write = () => q.GetSpan(1);
        write.Should().Throw<InvalidOperationException>();
        q.ReleaseAll();
        q.HoldsBlocks.Should().BeFalse();
    }

    [Fact]
    public void AdvancingPastTheSpan_Throws()
    {
        var q = new OutputQueue();
        int length = q.GetSpan(10).Length;
        Action advance = () => q.Advance(length + 1);
        advance.Should().Throw<InvalidOperationException>();
    }

    [Fact]
    public void WriterAndSenderOnTwoThreads_EveryByteArrivesOnceInOrder()
    {
        // The writer writes a counting sequence in pieces of random sizes and flushes at random points; the
        // sender, concurrently, gathers and takes random parts of what it sees, and lets the last block go
        // whenever it ran dry. 8 MB through the queue.
        const long Total = 8_000_000;
        var q = new OutputQueue();
        var writer = new Thread(() =>
        {
            var rng = new Random(1);
            long next = 0;
            while (next < Total)
            {
                int size = (int)Math.Min(rng.Next(1, 6000), Total - next);
                var span = q.GetSpan(rng.Next(2) == 0 ? size : 1);
                size = Math.Min(size, span.Length);
                for (int i = 0; i < size; i++) span[i] = (byte)(next + i);
                q.Advance(size);
                next += size;
                if (rng.Next(3) == 0) q.FlushAsync();
                if (rng.Next(50) == 0) Thread.Yield();
            }
            q.Complete();
        });
        long received = 0;
        long mismatch = -1;
        var sender = new Thread(() =>
        {
            var rng = new Random(2);
            var iov = stackalloc IoVec[64];
            while (true)
            {
                bool completed = q.WriterCompleted; // read before gathering: if it was set, the gather sees everything
                int count = q.Gather(iov, rng.Next(1, 65), out long available);
                if (count == 0)
                {
                    if (completed) return;
                    Thread.Yield();
                    continue;
                }
                long take = rng.Next(4) == 0 ? available : rng.NextInt64(1, available + 1);
                long left = take;
                for (int i = 0; i < count && left > 0; i++)
                {
                    long n = Math.Min(left, iov[i].Length);
                    for (long k = 0; k < n; k++)
                    {
                        if (iov[i].Base[k] != (byte)(received + k) && mismatch < 0) mismatch = received + k;
                    }
                    received += n;
                    left -= n;
                }
                q.Consume(take);
            }
        });
        writer.Start();
        sender.Start();
        writer.Join();
        sender.Join();
        mismatch.Should().Be(-1);
        received.Should().Be(Total);
        q.HoldsBlocks.Should().BeFalse();
    }

    private static void Write(OutputQueue q, byte[] bytes)
    {
        bytes.CopyTo(q.GetSpan(bytes.Length));
        q.Advance(bytes.Length);
    }

    /// <summary>Sends everything flushed, at most <paramref name="chunk"/> bytes at a time, and returns it.</summary>
    private static List<byte> Drain(OutputQueue q, int chunk)
    {
        var got = new List<byte>();
        var iov = stackalloc IoVec[64];
        while (true)
        {
            int count = q.Gather(iov, 64, out long available);
            if (count == 0) return got;
            long take = Math.Min(chunk, available), left = take;
            for (int i = 0; i < count && left > 0; i++)
            {
                long n = Math.Min(left, iov[i].Length);
                got.AddRange(new ReadOnlySpan<byte>(iov[i].Base, (int)n).ToArray());
                left -= n;
            }
            q.Consume(take);
        }
    }
}
