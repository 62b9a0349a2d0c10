using FluentAssertions;
using KeyspacePubSub.Server;
using Xunit;

namespace KeyspacePubSub.Tests;

public class OutputBlockPoolTests
{
    [Fact]
    public void ReturnedBlocks_AreReused_AndLargeRequestsGetArraysOfTheirOwn()
    {
        var pool = new OutputBlockPool();
        var first = pool.Rent(100);
        first.Memory.Length.Should().Be(OutputBlockPool.BlockSize);
        first.Memory.Span[0] = 42;
        var memory = first.Memory;
        first.Dispose();
        pool.Retained.Should().Be(1);
        var again = pool.Rent();
        again.Memory.Equals(memory).Should().BeTrue("the same block comes back");
        pool.Retained.Should().Be(0);

        var big = pool.Rent(OutputBlockPool.BlockSize * 3);
        big.Memory.Length.Should().Be(OutputBlockPool.BlockSize * 3);
        big.Dispose();
        pool.Retained.Should().Be(0, "large arrays are left to the GC");
        again.Dispose();
    }

    [Fact]
    public unsafe void PinningAPooledBlock_IsItsAddress_WithoutAGCHandle()
    {
        var pool = new OutputBlockPool();
        var block = pool.Rent();
        // Backed by the pool's own memory manager, so Memory.Pin() asks it (an array-backed Memory would
        // allocate a pinned GCHandle at every send that gathers the block).
        System.Runtime.InteropServices.MemoryMarshal.TryGetMemoryManager<byte, System.Buffers.MemoryManager<byte>>(block.Memory, out System.Buffers.MemoryManager<byte>? manager).Should().BeTrue();
        manager.Should().NotBeNull();
        block.Memory.Span[5] = 77;
        using (var pin = block.Memory.Slice(5).Pin())
        {
            ((byte*)pin.Pointer)[0].Should().Be(77);
            ((byte*)pin.Pointer)[0] = 78;
        }
        block.Memory.Span[5].Should().Be(78);
        using var first = block.Memory.Pin();
        using var second = block.Memory.Pin();
        ((nint)first.Pointer).Should().Be((nint)second.Pointer);
        // A large block is an ordinary array: the runtime pins it.
        var big = pool.Rent(OutputBlockPool.BlockSize * 2);
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray<byte>(big.Memory, out _).Should().BeTrue();
        System.Runtime.InteropServices.MemoryMarshal.TryGetMemoryManager<byte, System.Buffers.MemoryManager<byte>>(big.Memory, out System.Buffers.MemoryManager<byte>? none).Should().BeFalse();
        block.Dispose();
        big.Dispose();
    }

    [Fact]
    public void ABlockReturnedTwice_IsRefused()
    {
        var pool = new OutputBlockPool();
        var block = pool.Rent();
        block.Dispose();
        var act = () => block.Dispose();
        act.Should().Throw<InvalidOperationException>();
        pool.Retained.Should().Be(1);
    }

    [Fact]
    public void AtMostMaxRetainedBlocksAreMade_BeyondThemBlocksAreLeftToTheGC()
    {
        var pool = new OutputBlockPool();
        var blocks = Enumerable.Range(0, OutputBlockPool.MaxRetained + 10).Select(_ => pool.Rent()).ToList();
        blocks.Should().OnlyContain(b => b.Memory.Length == OutputBlockPool.BlockSize);
        foreach (var b in blocks) b.Dispose();
        pool.Retained.Should().Be(OutputBlockPool.MaxRetained);
        // The ones kept are the pooled ones: renting them all again reuses them, and the next is new.
        var again = Enumerable.Range(0, OutputBlockPool.MaxRetained).Select(_ => pool.Rent()).ToList();
        pool.Retained.Should().Be(0);
        again.Select(b => b.Memory).Should().OnlyContain(m => blocks.Take(OutputBlockPool.MaxRetained).Any(b => b.Memory.Equals(m)));
        var extra = pool.Rent();
        blocks.Should().NotContain(b => b.Memory.Equals(extra.Memory));
        extra.Dispose();
        pool.Retained.Should().Be(0, "a block beyond the pooled ones is not kept");
    }

    [Fact]
    public void Trims_GiveUpHalfOfTheBlocksUnusedSinceTheLast_AndABurstAfterThemIsPooledAgain()
    {
        var pool = new OutputBlockPool(maxRetained: 4);
        var blocks = Enumerable.Range(0, 4).Select(_ => pool.Rent()).ToList();
        blocks.ForEach(b => b.Dispose());
        pool.Trim().Should().Be(0, "all four were in use in this period");
        pool.Trim().Should().Be(2 * OutputBlockPool.BlockBytes, "none was taken in this period: half go");
        pool.Trim().Should().Be(OutputBlockPool.BlockBytes);
        pool.Trim().Should().Be(OutputBlockPool.BlockBytes, "the last one goes too (half, rounded up)");
        pool.Retained.Should().Be(0);

        // The blocks given up no longer count against the pool's cap: a new burst gets pooled blocks again.
        var again = Enumerable.Range(0, 4).Select(_ => pool.Rent()).ToList();
        again.Select(b => System.Runtime.InteropServices.MemoryMarshal.TryGetMemoryManager<byte, System.Buffers.MemoryManager<byte>>(b.Memory, out _))
            .Should().AllBeEquivalentTo(true, "pooled blocks are the pool's own memory managers, not arrays");
        again.ForEach(b => b.Dispose());
        pool.Retained.Should().Be(4);
    }

    [Fact]
    public void FreeBuffers_AreCountedAsTheirBytesInTheHeap()
    {
        // Measured once per process: a buffer's bytes, its array's header and its object (a few dozen bytes), nothing more.
        OutputBlockPool.BlockBytes.Should().BeInRange(OutputBlockPool.BlockSize + 24, OutputBlockPool.BlockSize + 200);
        // The event loops' blocks and the shared frames keep their bytes outside the heap: only their objects are in it.
        KeyspacePubSub.Server.Linux.OutputQueue.Block.ObjectBytes.Should().BeInRange(24, 200);
        KeyspacePubSub.Engine.PubSub.SharedFrame.ObjectBytes.Should().BeInRange(24, 200);

        var pool = new OutputBlockPool();
        var blocks = Enumerable.Range(0, 3).Select(_ => pool.Rent()).ToList();
        pool.FreeBytes.Should().Be(0, "rented blocks are in use");
        blocks.ForEach(b => b.Dispose());
        pool.FreeBytes.Should().Be(3 * OutputBlockPool.BlockBytes);
    }
}
