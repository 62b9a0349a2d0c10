
namespace KeyspacePubSub.Benchmark;

/// <summary>
/// Commands on one big value, whose cost must not grow with the value's size: building a string by APPEND and
/// SETRANGE, a 1 MiB bitmap's SETBIT/GETBIT and a growing string's APPEND/STRLEN interleaved, and SREM, HDEL,
/// SPOP and SRANDMEMBER on a set or hash of 100,000 members. Each is 20,000–50,000
/// commands, pipelined 1,000 at a time, after the value is built; the rate is commands per second.
/// </summary>
public static class BigValueBench
{
    public const int Members = 100_000;

    /// <summary>Rows (label → commands/s) for one server, on a fresh database.</summary>
    public static Dictionary<string, double> Run(ServerUnderTest server, bool quick)
    {
        int n = quick ? 10_000 : 20_000;
        using var c = new BenchConnection(server);
        c.Pipelined(1, _ => BenchConnection.Command("FLUSHALL"));
        var tail = new string('a', 100);
        var rows = new Dictionary<string, double>
        {
            [$"APPEND 100 B, {n * 5 / 2:N0} times to one string"] = c.Rate(n * 5 / 2, i => BenchConnection.Command("APPEND", "str", tail)),
            [$"SETRANGE 100 B past the end, {n:N0} times"] = c.Rate(n, i => BenchConnection.Command("SETRANGE", "rng", (i * 100).ToString(), tail)),
        };
        c.Pipelined(1, _ => BenchConnection.Command("SETBIT", "bitmap", (8 * 1024 * 1024 - 1).ToString(), "1"));
        rows[$"SETBIT then GETBIT on a 1 MiB bitmap, {n:N0} pairs"] = c.Rate(2 * n, i => i % 2 == 0
            ? BenchConnection.Command("SETBIT", "bitmap", (i * 4099 % (8 * 1024 * 1024)).ToString(), "1")
            : BenchConnection.Command("GETBIT", "bitmap", (i * 4099 % (8 * 1024 * 1024)).ToString()));
        rows[$"APPEND then STRLEN, {n:N0} pairs"] = c.Rate(2 * n, i => i % 2 == 0 ? BenchConnection.Command("APPEND", "log", tail) : BenchConnection.Command("STRLEN", "log"));
        c.Pipelined(Members / 1000, i => BenchConnection.Command(["SADD", "set", .. Enumerable.Range(i * 1000, 1000).Select(m => (object)$"member:{m}")]));
        c.Pipelined(Members / 1000, i => BenchConnection.Command(["HSET", "hash", .. Enumerable.Range(i * 1000, 1000).SelectMany(m => new object[] { $"field:{m}", "v" })]));
        rows[$"SREM, {n:N0} of {Members:N0} members"] = c.Rate(n, i => BenchConnection.Command("SREM", "set", $"member:{i}"));
        rows[$"HDEL, {n:N0} of {Members:N0} fields"] = c.Rate(n, i => BenchConnection.Command("HDEL", "hash", $"field:{i}"));
        rows[$"SRANDMEMBER, {n:N0} times"] = c.Rate(n, _ => BenchConnection.Command("SRANDMEMBER", "set"));
        rows[$"SPOP, {n:N0} times"] = c.Rate(n, _ => BenchConnection.Command("SPOP", "set"));
        c.Pipelined(1, _ => BenchConnection.Command("FLUSHALL"));
        return rows;
    }
}
