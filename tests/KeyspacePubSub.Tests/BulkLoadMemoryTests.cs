using System.Runtime;
using FluentAssertions;
using KeyspacePubSub.Persistence;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// The heap mode of a large load (BulkLoadMemory): entered only for a large file, it holds collections off, and
/// leaving it restores them with one full collection. Alone: a no-GC region is the whole process's, and another
/// test allocating beside it ended the region before its assertions (CI, 2026-12-03: LatencyMode Batch where
/// NoGCRegion was expected, right after the region had started).
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
    public void LargeFile_HoldsCollectionsOff_AndRestoresThem()
    {
        var memory = BulkLoadMemory.Enter(100L << 20);
        memory.Should().NotBeNull();
        int before = GC.CollectionCount(2);
        try
        {
            memory!.NoGcRegion.Should().BeTrue();
            GCSettings.LatencyMode.Should().Be(GCLatencyMode.NoGCRegion);
        }
        finally
        {
            memory?.Dispose();
        }
        GCSettings.LatencyMode.Should().NotBe(GCLatencyMode.NoGCRegion);
        GC.CollectionCount(2).Should().BeGreaterThan(before, "leaving the mode makes what was loaded old generation at once");
    }
}

/// <summary>Runs <see cref="BulkLoadMemoryTests"/> with no other test class beside it.</summary>
[CollectionDefinition(nameof(BulkLoadMemoryTests), DisableParallelization = true)]
public sealed class BulkLoadMemoryCollection;
