using System.Buffers.Binary;

namespace KeyspacePubSub.Engine.Keyspace;

/// <summary>
/// PFSELFTEST (hyperloglog.c's pfselftestCommand): a self-test of this server's HLL code, which no client can
/// reach from outside. First, 1,000 rounds of random values written into all 16,384 dense registers and read
/// back, each checked (6-bit registers share bytes, so a write that spills into its neighbour shows). Then
/// 10,000,000 elements added to a dense HLL and to a sparse one side by side: at 1, 10, 100... elements the
/// sparse one must still be sparse while it is small, both must count the same, and the count must be within
/// six standard errors of the truth (within 1 at 10 elements), as Redis requires of its own.
/// </summary>
public static class HyperLogLogSelfTest
{
    private const int Cycles = 1000, Elements = 10_000_000;

    /// <summary>Null when every check passed, else Redis's TESTFAILED error text.</summary>
    public static string? Run(long sparseMaxBytes, Random random)
    {
        var registers = new byte[HyperLogLog.DenseSize - HyperLogLog.HeaderSize];
        var expected = new byte[HyperLogLog.Registers];
        for (int cycle = 0; cycle < Cycles; cycle++)
        {
            for (int i = 0; i < HyperLogLog.Registers; i++)
            {
                expected[i] = (byte)(random.Next() & 63);
                HyperLogLog.DenseSet(registers, i, expected[i]);
            }
            for (int i = 0; i < HyperLogLog.Registers; i++)
            {
                int value = HyperLogLog.DenseGet(registers, i);
                if (value != expected[i]) return $"TESTFAILED Register {i} should be {expected[i]} but is {value}";
            }
        }

        var dense = new byte[HyperLogLog.DenseSize];
        "HYLL"u8.CopyTo(dense);
        dense[4] = HyperLogLog.Dense;
        var denseHll = new HllString(dense, dense.Length);
        var sparse = HyperLogLog.Create();
        var sparseHll = new HllString(sparse, sparse.Length);
        double relativeError = 1.04 / Math.Sqrt(HyperLogLog.Registers);
        long checkpoint = 1;
        ulong seed = (ulong)random.NextInt64();
        Span<byte> element = stackalloc byte[8];
        for (long j = 1; j <= Elements; j++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(element, (ulong)j ^ seed);
            HyperLogLog.Add(denseHll, element, sparseMaxBytes);
            if (HyperLogLog.Add(sparseHll, element, sparseMaxBytes) < 0) return "TESTFAILED sparse encoding corrupted";
            if (j != checkpoint) continue;
            if (j < sparseMaxBytes / 2 && sparseHll.Bytes[4] != HyperLogLog.Sparse) return "TESTFAILED sparse encoding not used";
            ulong count = HyperLogLog.Count(denseHll.Bytes.AsSpan(0, denseHll.Length)) ?? 0;
            if (count != HyperLogLog.Count(sparseHll.Bytes.AsSpan(0, sparseHll.Length))) return "TESTFAILED dense/sparse disagree";
            long error = Math.Abs(checkpoint - (long)count);
            long maxError = j == 10 ? 1 : (long)Math.Ceiling(relativeError * 6 * checkpoint);
            if (error > maxError) return $"TESTFAILED Too big error. card:{checkpoint} abserr:{error}";
            checkpoint *= 10;
        }
        return null;
    }
}
