using FluentAssertions;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Conformance;

/// <summary>
/// HyperLogLogs too big for a script: tens of thousands of elements added in batches to both servers, the
/// value's bytes (sparse, then dense) and every count compared after each batch, then merges and unions of them.
/// </summary>
public sealed class HyperLogLogTests(ServersFixture servers) : IClassFixture<ServersFixture>
{
    [ConformanceFact]
    public void ManyElements_GiveRedisBytesAndCounts_SparseDenseAndMerged()
    {
        using var redis = new RawClient(servers.Redis!.Port);
        using var ours = new RawClient(servers.OursPort);
        var random = new Random(22);
        string[] keys = ["hll:a", "hll:b", "hll:c"];
        foreach (var c in new[] { redis, ours }) c.Call(["DEL", .. keys, "hll:m"]);
        int batch = 1;
        for (int round = 0; round < 40; round++)
        {
            string key = keys[round % keys.Length];
            var args = new List<string> { "PFADD", key };
            for (int i = 0; i < batch; i++) args.Add(random.Next(0, 1 << 20).ToString(System.Globalization.CultureInfo.InvariantCulture));
            batch = Math.Min(batch * 2, 3000);
            Same(redis, ours, [.. args]);
            Same(redis, ours, "GET", key);
            Same(redis, ours, "PFCOUNT", key);
            Same(redis, ours, "GET", key); // the cached cardinality written into the header
            Same(redis, ours, "PFCOUNT", key);
        }
        Same(redis, ours, ["PFCOUNT", .. keys]);
        Same(redis, ours, "PFMERGE", "hll:m", "hll:a", "hll:b");
        Same(redis, ours, "GET", "hll:m");
        Same(redis, ours, "PFCOUNT", "hll:m");
        Same(redis, ours, ["PFMERGE", "hll:m", .. keys]);
        Same(redis, ours, "GET", "hll:m");
        Same(redis, ours, "PFCOUNT", "hll:m");
        ours.Call("STRLEN", "hll:m").Should().Be(":12304\r\n", "so many elements make it dense");
        foreach (var c in new[] { redis, ours }) c.Call(["DEL", .. keys, "hll:m"]);
    }

    private static void Same(RawClient redis, RawClient ours, params string[] command)
    {
        string expected = redis.Call(command);
        ours.Call(command).Should().Be(expected, string.Join(' ', command.Take(3)));
    }
}
