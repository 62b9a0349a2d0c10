using System.Diagnostics;

namespace KeyspacePubSub.Benchmark;

/// <summary>
/// The chat backlog recipe at equal durability: MULTI / LPUSH room:X:backlog / PUBLISH room:X / EXEC with
/// 200-byte messages from N clients, against our server with the SQLite backlog and redis-server with the AOF,
/// both at fsync "always" or "everysec". Also the restart time with 1M backlog entries.
/// </summary>
public static class BacklogBench
{
    /// <summary>Starts a server with the given fsync policy; "off" runs both without persistence, as a baseline.</summary>
    public static ServerUnderTest Start(string name, string fsync, string dir) => (name, fsync) switch
    {
        ("redis", "off") => ServerUnderTest.StartRedis("--dir", dir),
        ("redis", _) => ServerUnderTest.StartRedis("--appendonly", "yes", "--appendfsync", fsync, "--dir", dir),
        (_, "off") => ServerUnderTest.StartOurs(),
        _ => ServerUnderTest.StartOurs("--Persistence:Enabled=true", $"--Persistence:Path={Path.Combine(dir, "backlog.db")}", $"--Persistence:Fsync={fsync}"),
    };

    /// <summary>
    /// EXECs per second over <paramref name="duration"/>, after three seconds of the same load that are not
    /// counted. Both servers get them; ours needs them, each row measuring a freshly started process: its JIT
    /// recompiles the hot paths with the profile it gathered (tiered compilation) on a thread of its own,
    /// which for the first seconds under load takes up to a quarter of the CPU of this 2-core machine
    /// (measured with perf: a 1-second warm-up left the 10-client row at half its steady rate).
    /// </summary>
    public static double TransactionsPerSec(ServerUnderTest server, int clients, TimeSpan duration)
    {
        Run(server, clients, TimeSpan.FromSeconds(3));
        return Run(server, clients, duration);
    }

    private static double Run(ServerUnderTest server, int clients, TimeSpan duration)
    {
        var message = new string('m', 200);
        long done = 0;
        var stop = DateTime.UtcNow + duration;
        var threads = Enumerable.Range(0, clients).Select(id => new Thread(() =>
        {
            using var c = new BenchConnection(server);
            var tx = BenchConnection.Command("MULTI")
                .Concat(BenchConnection.Command("LPUSH", $"room:r{id % 10}:backlog", message))
                .Concat(BenchConnection.Command("PUBLISH", $"room:r{id % 10}", message))
                .Concat(BenchConnection.Command("EXEC")).ToArray();
            while (DateTime.UtcNow < stop)
            {
                c.Send(tx);
                c.ReadFrames(4);
                Interlocked.Increment(ref done);
            }
        })).ToList();
        var sw = Stopwatch.StartNew();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        return done / sw.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// Removes a run's directory. A redis-server stopped while its AOF rewrite child still runs leaves that child
    /// writing a temporary file into it for a moment (a run of 50 clients under `always` crossed the 64 MB
    /// rewrite size, and the deletion failed with "Directory not empty"): retried, then left behind.
    /// </summary>
    public static void DeleteDirectory(string dir)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                Directory.Delete(dir, recursive: true);
                return;
            }
            catch (IOException) when (attempt < 20)
            {
                Thread.Sleep(250);
            }
            catch (IOException ex)
            {
                Console.Error.WriteLine($"left {dir} behind: {ex.Message}");
                return;
            }
        }
    }

    /// <summary>
    /// Loads <paramref name="entries"/> backlog entries, stops the server, and times <paramref name="rounds"/>
    /// restarts to the first reply that shows the data (the median); each restart ends with SHUTDOWN.
    /// </summary>
    public static double RestartSeconds(string name, int entries, int rounds, bool sortedSets = false)
    {
        const int RestartGapMs = 4000;
        string dir = Directory.CreateTempSubdirectory("kps-restart-").FullName;
        try
        {
            using (var s = Start(name, "everysec", dir))
            {
                using var c = new BenchConnection(s);
                const int perCommand = 1000;
                for (int i = 0; i < entries; i += perCommand)
                {
                    // A sorted set: a time-window backlog, each message scored by its time (ZRANGEBYSCORE reads a window).
                    var args = new List<object> { sortedSets ? "ZADD" : "LPUSH", $"room:big{i % 7}:backlog" };
                    for (int j = 0; j < perCommand; j++)
                    {
                        if (sortedSets) args.Add((1_700_000_000_000L + i + j).ToString(System.Globalization.CultureInfo.InvariantCulture));
                        args.Add($"message {i + j} {new string('x', 40)}");
                    }
                    c.Send(BenchConnection.Command([.. args]));
                    c.ReadFrames(1);
                }
                c.Send(BenchConnection.Command("SHUTDOWN"));
                Thread.Sleep(RestartGapMs);
            }
            var times = new List<double>();
            for (int round = 0; round < rounds; round++)
            {
                var sw = Stopwatch.StartNew();
                using var again = Start(name, "everysec", dir);
                using var c = new BenchConnection(again);
                // Redis accepts connections while it loads, answering -LOADING; ours listens once its keys are loaded.
                long length;
                string? other;
                while (true)
                {
                    c.Send(BenchConnection.Command(sortedSets ? "ZCARD" : "LLEN", "room:big0:backlog"));
                    if (c.TryReadInteger(out length, out other)) break;
                    if (!other!.StartsWith("-LOADING", StringComparison.Ordinal)) throw new IOException($"the length query answered {other}");
                    Thread.Sleep(1);
                }
                times.Add(sw.Elapsed.TotalSeconds);
                if (length < entries / 7) throw new InvalidOperationException($"{name} restarted without its backlog (length {length})");
                c.Send(BenchConnection.Command("SHUTDOWN"));
                // This machine is a VM whose kernel reports freed memory to the host after ~2 s (free page
                // reporting); memory the host took back is zeroed by the host when next touched, which made a load
                // of the same file take 100 or 260 ms depending on whether the previous process's memory had been
                // taken back yet. Waiting past that delay makes every restart start from the same, cold state.
                Thread.Sleep(RestartGapMs);
            }
            return times.Median();
        }
        finally
        {
            DeleteDirectory(dir);
        }
    }
}
