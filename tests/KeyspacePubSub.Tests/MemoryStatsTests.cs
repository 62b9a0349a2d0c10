using System.Globalization;
using System.Text.RegularExpressions;
using FluentAssertions;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// MEMORY STATS and MEMORY DOCTOR. Used memory is the GC heap's, the whole test process's: these tests run alone
/// (the collection of <see cref="InfoPeakTests"/>). The field names and their order are checked against
/// redis-server by the conformance case "memory stats and doctor"; here, that the figures add up.
/// </summary>
[Collection(nameof(InfoPeakTests))]
public sealed class MemoryStatsTests
{
    private static Dictionary<string, long> Integers(string reply) =>
        Regex.Matches(reply, @"\$\d+\r\n([a-z.\-]+)\r\n:(-?\d+)\r\n").Where(m => !m.Groups[1].Value.StartsWith("overhead.hashtable.", StringComparison.Ordinal)).ToDictionary(m => m.Groups[1].Value, m => long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));

    private static Dictionary<int, (long Main, long Expires)> Databases(string reply) =>
        Regex.Matches(reply, @"\$\d+\r\ndb\.(\d+)\r\n\*6\r\n\$23\r\noverhead\.hashtable\.main\r\n:(\d+)\r\n\$26\r\noverhead\.hashtable\.expires\r\n:(\d+)\r\n\$31\r\noverhead\.hashtable\.slot-to-keys\r\n:0\r\n")
            .ToDictionary(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture),
                m => (long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), long.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture)));

    [Fact]
    public async Task MemoryStats_AddUp_AndTheDoctorReportsAPeak()
    {
        // The server's startup memory is the process's heap when it starts, garbage included: none is left.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        await using var s = await InProcessServer.StartAsync();
        using var c = new RawClient(s.Port);
        c.Call("MEMORY", "PURGE").Should().Be("+OK\r\n");
        c.Call("MEMORY", "DOCTOR").Should().Be("$268\r\nHi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. " +
            "Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n\r\n",
            "redis-server 7.0.15's reply, started afresh");

        string big = new('x', 100_000);
        for (int i = 0; i < 600; i++) c.Call("SET", $"k{i}", big).Should().Be("+OK\r\n"); // 60 MB
        c.Call("SELECT", "5").Should().Be("+OK\r\n");
        c.Call("SET", "t", "v").Should().Be("+OK\r\n");
        c.Call("EXPIRE", "t", "100").Should().Be(":1\r\n");
        c.Call("SELECT", "0").Should().Be("+OK\r\n");

        string reply = c.Call("MEMORY", "STATS");
        reply.Should().StartWith("*58\r\n", "27 fields and two databases with keys");
        var f = Integers(reply);
        var dbs = Databases(reply);
        dbs.Keys.Should().BeEquivalentTo([0, 5]);
        dbs[0].Main.Should().BeGreaterThan(600 * 32, "an entry a key at least");
        dbs[0].Expires.Should().Be(0);
        dbs[5].Expires.Should().BeGreaterThan(0);
        f["keys.count"].Should().Be(601);
        f["clients.normal"].Should().BeGreaterThanOrEqualTo(2048, "one client");
        f["total.allocated"].Should().BeGreaterThan(f["startup.allocated"] + 55_000_000);
        f["peak.allocated"].Should().BeGreaterThanOrEqualTo(f["total.allocated"]);
        f["overhead.total"].Should().Be(f["startup.allocated"] + f["clients.normal"] + dbs.Values.Sum(d => d.Main + d.Expires));
        f["dataset.bytes"].Should().Be(f["total.allocated"] - f["overhead.total"]);
        f["keys.bytes-per-key"].Should().Be((f["total.allocated"] - f["startup.allocated"]) / 601);
        foreach (var name in new[] { "replication.backlog", "clients.slaves", "cluster.links", "aof.buffer", "lua.caches", "functions.caches" })
        {
            f[name].Should().Be(0, $"{name}: nothing of the kind here");
        }
        Regex.IsMatch(reply, @"\$18\r\ndataset\.percentage\r\n\$\d+\r\n\d+(\.\d+)?\r\n").Should().BeTrue("a ratio is a double, a bulk string in RESP2");

        // INFO memory shows the same figures, as Redis's INFO and MEMORY STATS share theirs, but for the caller's own
        // request: it is in the caller's query buffer while it runs (CLIENT LIST qbuf), and counted, as in Redis.
        string info = c.Call("INFO", "memory");
        long Info(string field) => long.Parse(Regex.Match(info, $"\r\n{field}:(\\d+)\r\n").Groups[1].Value, CultureInfo.InvariantCulture);
        long requestLengthDifference = "*2\r\n$4\r\nINFO\r\n$6\r\nmemory\r\n".Length - "*2\r\n$6\r\nMEMORY\r\n$5\r\nSTATS\r\n".Length;
        Info("used_memory_overhead").Should().Be(f["overhead.total"] + requestLengthDifference);
        Info("used_memory_startup").Should().Be(f["startup.allocated"]);
        Info("mem_clients_normal").Should().Be(f["clients.normal"] + requestLengthDifference);
        Info("used_memory_dataset").Should().Be(Info("used_memory") - Info("used_memory_overhead"));
        long memTotalKb = long.Parse(File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        Info("total_system_memory").Should().Be(memTotalKb * 1024);

        // Two thirds freed (20 MB stay), the peak stays: the doctor reports it.
        for (int i = 0; i < 400; i++) c.Call("DEL", $"k{i}").Should().Be(":1\r\n");
        c.Call("MEMORY", "PURGE").Should().Be("+OK\r\n");
        string doctor = c.Call("MEMORY", "DOCTOR");
        doctor.Should().Be("$762\r\nSam, I detected a few issues in this Redis instance memory implants:\n\n * Peak memory: In the past this instance used more than 150% the memory that is currently using. " +
            "The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, " +
            "and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. " +
            "If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.\n\n" +
            "I'm here to keep you safe, Sam. I want to help you.\n\r\n", "redis-server 7.0.15's reply after its conformance cases had left a peak");

        c.Call("HELLO", "3").Should().StartWith("%7\r\n");
        reply = c.Call("MEMORY", "STATS");
        reply.Should().StartWith("%29\r\n");
        Regex.IsMatch(reply, @"\$18\r\ndataset\.percentage\r\n,\d+(\.\d+)?\r\n").Should().BeTrue("a double in RESP3");
        c.Call("MEMORY", "DOCTOR").Should().StartWith("=").And.Contain("txt:Sam, I detected");
    }
}
