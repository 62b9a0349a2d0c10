using System.Globalization;
using FluentAssertions;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// Crash safety under each fsync policy: clients run backlog transactions against a server process that is
/// killed with SIGKILL at a random moment. After a restart every acknowledged EXEC is present, and no EXEC is
/// partly present (each writes the same message to two lists, which must hold the same messages). A kill of
/// the process, not of the machine: under everysec and no, an acknowledged EXEC is committed to the WAL in
/// the page cache, which outlives the process (what the fsync policy decides is what a power cut keeps).
/// </summary>
public sealed class CrashTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kps-crash-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private ServerProcess StartServer(int port, string fsync)
    {
        var server = new ServerProcess("--port", port.ToString(CultureInfo.InvariantCulture), "--Persistence:Enabled=true",
            $"--Persistence:Path={Path.Combine(_dir, "crash.db")}", $"--Persistence:Fsync={fsync}");
        if (server.WaitUntilServing(port)) return server;
        server.Dispose();
        throw new InvalidOperationException("server did not start");
    }

    private static List<string> Range(RawClient c, string key)
    {
        string reply = c.Call("LRANGE", key, "0", "-1");
        return reply.Split("\r\n").Where(l => l.StartsWith("c", StringComparison.Ordinal)).ToList();
    }

    [Theory]
    [InlineData(1, 300, "always")]
    [InlineData(2, 700, "always")]
    [InlineData(3, 1200, "always")]
    [InlineData(4, 300, "everysec")]
    [InlineData(5, 900, "everysec")]
    [InlineData(6, 700, "no")]
    // Later kills: several checkpoints first, whose pages were written into the file ahead of them (CheckpointAhead).
    [InlineData(7, 2500, "everysec")]
    [InlineData(8, 4000, "everysec")]
    public async Task KillDuringBacklogTransactions_KeepsEveryAcknowledgedExecAndNoPartialOne(int seed, int killAfterMs, string fsync)
    {
        const int clients = 4;
        int port = RedisProcess.FreePort();
        var acked = Enumerable.Repeat(-1, clients).ToArray();
        using (var server = StartServer(port, fsync))
        {
            using var stop = new CancellationTokenSource();
            // Dedicated threads: blocking clients on pool threads would wait for the pool to grow.
            var workers = Enumerable.Range(0, clients).Select(id => Task.Factory.StartNew(() =>
            {
                using var c = new RawClient(port);
                for (int i = 0; !stop.IsCancellationRequested; i++)
                {
                    string msg = $"c{id}-{i}";
                    try
                    {
                        c.Send("MULTI");
                        c.Send("LPUSH", "room:crash:backlog", msg);
                        c.Send("RPUSH", "room:crash2:backlog", msg);
                        c.Send("PUBLISH", "room:crash", msg);
                        c.Send("EXEC");
                        string reply = c.Read(5, timeoutMs: 10000);
                        if (!reply.Contains("*3\r\n:")) throw new InvalidOperationException("unexpected reply " + reply);
                        acked[id] = i;
                    }
                    catch (Exception ex) when (ex is TimeoutException or System.Net.Sockets.SocketException)
                    {
                        return; // the server died mid-transaction: not acknowledged
                    }
                }
            }, TaskCreationOptions.LongRunning)).ToArray();
            var started = DateTime.UtcNow.AddSeconds(15);
            while (acked.Any(a => a < 0) && DateTime.UtcNow < started) await Task.Delay(10);
            await Task.Delay(killAfterMs + new Random(seed).Next(200));
            using (var probe = new RawClient(port))
            {
                // The kill hits a WAL written ahead with zeros (WalFill): recovery must stop at the last commit.
                probe.Call("INFO", "persistence").Should().MatchRegex("durable_wal_prefilled_bytes:[1-9]");
            }
            server.Kill(); // SIGKILL
            stop.Cancel();
            await Task.WhenAll(workers);
        }
        acked.Should().OnlyContain(a => a >= 0, "every client completed transactions before the kill");
        using var restarted = StartServer(port, fsync);
        try
        {
            using var c = new RawClient(port);
            var newestFirst = Range(c, "room:crash:backlog");
            var oldestFirst = Range(c, "room:crash2:backlog");
            newestFirst.AsEnumerable().Reverse().Should().Equal(oldestFirst, "both lists were written by the same EXECs, so neither can hold a message the other lacks");
            for (int id = 0; id < clients; id++)
            {
                var mine = oldestFirst.Where(m => m.StartsWith($"c{id}-", StringComparison.Ordinal)).Select(m => int.Parse(m.Split('-')[1], CultureInfo.InvariantCulture)).ToList();
                mine.Should().Equal(Enumerable.Range(0, mine.Count), "a client's transactions are stored in order, without gaps");
                (mine.Count - 1).Should().BeGreaterThanOrEqualTo(acked[id], $"client {id}'s acknowledged EXEC {acked[id]} must survive the crash");
                (mine.Count - 1).Should().BeLessThanOrEqualTo(acked[id] + 1, "at most the one EXEC in flight at the kill can be present unacknowledged");
            }
        }
        finally
        {
            restarted.Kill();
        }
        SqliteFile.IntegrityCheck(Path.Combine(_dir, "crash.db")).Should().Be("ok", "SQLite finds the file intact after the crash and the restart");
    }
}
