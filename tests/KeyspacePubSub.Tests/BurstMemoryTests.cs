using System.Globalization;
using System.Text.RegularExpressions;
using FluentAssertions;
using KeyspacePubSub.Testing;
using Xunit;
using Xunit.Abstractions;

namespace KeyspacePubSub.Tests;

/// <summary>
/// The memory a burst of output to slow subscribers took is given back to the system within seconds of the
/// burst's end, as Redis's allocator gives it back: in a server process of its own (the pools and the GC heap
/// are the process's).
/// </summary>
public sealed class BurstMemoryTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("epoll")]
    [InlineData("sockets")]
    public void OutputBuffersOfABurst_AreGivenBackToTheSystem_SecondsAfterItEnds(string transport)
    {
        int port = RedisProcess.FreePort();
        using var server = new ServerProcess("--port", port.ToString(CultureInfo.InvariantCulture), "--io-transport", transport);
        server.WaitUntilServing(port).Should().BeTrue(server.Stderr);
        using var c = new RawClient(port);

        // A first burst, so the JIT (if the server runs on one) has compiled what the second runs.
        Burst(messages: 300, measured: false);
        Burst(messages: 3000, measured: true);

        // Ten subscribers that never read take messages of 4 KB each, then leave; the memory comes back within 30 s.
        void Burst(int messages, bool measured)
        {
            long start = server.ResidentBytes();
            var stalled = Enumerable.Range(0, 10).Select(_ => new RawClient(port, receiveBuffer: 4096)).ToList();
            foreach (var s in stalled) s.Call("SUBSCRIBE", "burst");
            string message = new('m', 4000);
            for (int i = 0; i < messages; i++)
            {
                c.Send("PUBLISH", "burst", message);
                if (i % 100 == 99) c.Read(100).Should().NotContain("-");
            }
            long peak = server.ResidentBytes();
            stalled.ForEach(s => s.Dispose());
            Eventually.True(() => Info(c, "clients", "connected_clients") == 1).Should().BeTrue("the subscribers' connections close");

            // Each second the pools give up half of what stayed free, and a quiet server collects what died.
            // Looked at twice a second: a busy server (1 MiB allocated a second) is left to the GC's own collections.
            var seen = new List<string> { $"{messages} messages: RSS at start {start:N0}, after the burst {peak:N0}" };
            bool drained = Slowly(() =>
            {
                long pooled = Info(c, "memory", "mem_pooled_free");
                seen.Add($"{pooled:N0} pooled, RSS {server.ResidentBytes():N0}");
                return pooled < 1_000_000;
            });
            output.WriteLine(string.Join("\n", seen));
            drained.Should().BeTrue("the pools give up what no output used for seconds");

            // RSS is the point, but a JIT's own compiled code grows it by megabytes meanwhile: measured on the
            // native build (.ci/run runs this class again against it).
            if (measured && ServerProcess.NativeExecutable != null)
            {
                Slowly(() => server.ResidentBytes() < start + ((peak - start) / 3)).Should().BeTrue(
                    "the burst's memory goes back to the system: RSS at start {0:N0}, after the burst {1:N0}, now {2:N0}", start, peak, server.ResidentBytes());
            }
        }
    }

    /// <summary>Whether <paramref name="condition"/> holds within 30 s, looked at every 500 ms.</summary>
    private static bool Slowly(Func<bool> condition)
    {
        for (int i = 0; i < 60; i++)
        {
            if (condition()) return true;
            Thread.Sleep(500);
        }
        return condition();
    }

    private static long Info(RawClient c, string section, string field)
    {
        var m = Regex.Match(c.Call("INFO", section), $@"\r\n{field}:(\d+)\r\n");
        m.Success.Should().BeTrue($"INFO has {field}");
        return long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
    }
}
