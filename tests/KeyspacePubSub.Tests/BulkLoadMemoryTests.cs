using System.Globalization;
using System.Runtime;
using FluentAssertions;
using KeyspacePubSub.Persistence;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// The heap mode of a large load (BulkLoadMemory): entered only for a large file, it holds collections off and
/// advises the GC's own address range to use huge pages, and leaving it restores both. Alone: a no-GC region is
/// the whole process's, and another test allocating beside it ended the region before its assertions (CI,
/// 2026-12-03: LatencyMode Batch where NoGCRegion was expected, right after the region had started).
/// </summary>
[Collection(nameof(BulkLoadMemoryTests))]
public sealed class BulkLoadMemoryTests
{
    [Fact]
    public void SmallFile_LoadsAsBefore()
    {
        BulkLoadMemory.Enter(BulkLoadMemory.ThresholdBytes - 1).Should().BeNull();
    }

    [Fact]
    public unsafe void LargeFile_HoldsCollectionsOff_AdvisesTheHeapsRange_AndRestoresBoth()
    {
        var memory = BulkLoadMemory.Enter(100L << 20);
        memory.Should().NotBeNull();
        try
        {
            memory!.NoGcRegion.Should().BeTrue();
            GCSettings.LatencyMode.Should().Be(GCLatencyMode.NoGCRegion);
            if (!OperatingSystem.IsLinux()) return;
            var fresh = new byte[100];
            long at;
            fixed (byte* p = fresh) at = (long)p;
            var (lo, hi) = memory.HugePageRange;
            at.Should().BeInRange(lo, hi - 1, "the advised range is the GC's, where new objects are");
            Flags(at).Should().Contain("hg", "the mapping of new objects is advised to use huge pages");
        }
        finally
        {
            memory?.Dispose();
        }
        GCSettings.LatencyMode.Should().NotBe(GCLatencyMode.NoGCRegion);
        if (OperatingSystem.IsLinux())
        {
            var after = new byte[100];
            long at;
            fixed (byte* p = after) at = (long)p;
            Flags(at).Should().Contain("nh").And.NotContain("hg");
        }
    }

    /// <summary>The VmFlags of the mapping that holds <paramref name="address"/>, from /proc/self/smaps.</summary>
    private static string[] Flags(long address)
    {
        bool inside = false;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            int dash = line.IndexOf('-');
            int space = line.IndexOf(' ');
            if (dash > 0 && space > dash && long.TryParse(line.AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out long lo)
                && long.TryParse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out long hi))
            {
                inside = address >= lo && address < hi;
            }
            else if (inside && line.StartsWith("VmFlags:", StringComparison.Ordinal))
            {
                return line["VmFlags:".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            }
        }
        return [];
    }
}

/// <summary>Runs <see cref="BulkLoadMemoryTests"/> with no other test class beside it.</summary>
[CollectionDefinition(nameof(BulkLoadMemoryTests), DisableParallelization = true)]
public sealed class BulkLoadMemoryCollection;
