using System.Globalization;
using FluentAssertions;
using KeyspacePubSub.Engine;
using Xunit;

namespace KeyspacePubSub.Tests;

public unsafe class NativeBlocksTests
{
    private const int Size = 4096;

    [Fact]
    public void FreeBuffers_StayResidentForReuse_UntilTrimsGiveHalfOfTheUnusedOnesBack()
    {
        var pool = new NativeBlocks(Size, 64, guard: null, listed: false); // no in-process server's cron trims it meanwhile
        Resident(pool).Should().Be(0, "nothing is resident before it is used");
        var rented = Enumerable.Range(0, 40).Select(_ => (nint)pool.Rent()).ToList();
        rented.Should().OnlyHaveUniqueItems();
        foreach (var p in rented) new Span<byte>((byte*)p, Size).Fill(7);
        pool.RentedBytes.Should().Be(40 * Size);
        Resident(pool).Should().Be(40 * Size);
        foreach (var p in rented) pool.Return((byte*)p);
        pool.RentedBytes.Should().Be(0);
        pool.FreeBytes.Should().Be(40 * Size);

        pool.Trim().Should().Be(0, "all 40 were in use in this period: none stayed free through it");
        pool.Trim().Should().Be(20 * Size, "none was taken in this period: half of the 40 go");
        pool.FreeBytes.Should().Be(20 * Size);
        Resident(pool).Should().Be(20 * Size, "their pages went back to the system");

        var five = Enumerable.Range(0, 5).Select(_ => (nint)pool.Rent()).ToList();
        foreach (var p in five) pool.Return((byte*)p);
        pool.Trim().Should().Be(8 * Size, "15 stayed free through the period: half of them, rounded up, go");
        Resident(pool).Should().Be(12 * Size);

        // The resident ones are handed out first; then those given back, which read as zeros.
        var again = Enumerable.Range(0, 13).Select(_ => (nint)pool.Rent()).ToList();
        again.Take(12).Select(p => AllAre(p, 7)).Should().AllBeEquivalentTo(true, "a resident buffer keeps its bytes");
        AllAre(again[12], 0).Should().BeTrue("a buffer given back has fresh pages");
        rented.Should().Contain(again[12], "its address is reused");
        foreach (var p in again) pool.Return((byte*)p);
    }

    [Fact]
    public void AFullPool_HandsOutNothing_AndTakesBackOnlyItsOwnBuffers()
    {
        var pool = new NativeBlocks(Size, 2, guard: null, listed: false);
        nint a = (nint)pool.Rent(), b = (nint)pool.Rent();
        ((nint)pool.Rent()).Should().Be(0, "both buffers are in use");
        byte* foreign = stackalloc byte[16];
        pool.Invoking(p => p.Return(foreign)).Should().Throw<ArgumentException>();
        pool.Invoking(p => p.Return((byte*)a + 1)).Should().Throw<ArgumentException>("not the start of a buffer");
        pool.Return((byte*)a);
        ((nint)pool.Rent()).Should().Be(a);
        pool.Return((byte*)a);
        pool.Return((byte*)b);
        pool.Invoking(p => p.Return((byte*)b)).Should().Throw<InvalidOperationException>("more returned than rented");
        NativeBlocks.All.Should().NotContain(pool);
        // The pools the engine's cron trims: the event loops' output blocks (64 MiB) and the shared frames (16 MiB per size).
        _ = KeyspacePubSub.Server.Linux.OutputQueue.Block.ObjectBytes + KeyspacePubSub.Engine.PubSub.SharedFrame.ObjectBytes;
        NativeBlocks.All.Should().Contain(b => b.BufferSize == 4096 && b.Capacity == 16384);
        NativeBlocks.All.Should().Contain(b => b.BufferSize == 65536 && b.Capacity == 256);
    }

    private static bool AllAre(nint buffer, byte value) => new ReadOnlySpan<byte>((byte*)buffer, Size).IndexOfAnyExcept(value) < 0;

    /// <summary>The pool's mapping's resident bytes, from /proc/self/smaps.</summary>
    private static long Resident(NativeBlocks pool)
    {
        string start = pool.Address.ToString("x", CultureInfo.InvariantCulture);
        bool inside = false;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            if (line.Length > 0 && char.IsAsciiHexDigit(line[0]) && line.Contains('-', StringComparison.Ordinal))
            {
                inside = line.StartsWith(start + "-", StringComparison.Ordinal);
            }
            else if (inside && line.StartsWith("Rss:", StringComparison.Ordinal))
            {
                return long.Parse(line[4..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
            }
        }
        throw new InvalidOperationException("the pool's mapping is not in /proc/self/smaps");
    }
}
