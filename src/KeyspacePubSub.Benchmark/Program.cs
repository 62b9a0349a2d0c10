using System.Globalization;
using KeyspacePubSub.Benchmark;

// Side-by-side benchmark: starts real redis-server and our server (each its own process, so CPU and
// RSS come from /proc), runs every scenario against both in alternation and prints ratios (ours / redis).
//   dotnet run -c Release --project src/KeyspacePubSub.Benchmark -- [--quick] [--only ping,fanout,lightmix,patterns,rss,kv,scripts,streams,groupwait,notify,keymem,zset,pipe,bigvalue,geo,backlog,expiry,eviction,burstmem]
//                                  (backlog includes the restart row; --only restart runs that row alone)
//   dotnet run -c Release --project src/KeyspacePubSub.Benchmark -- --target 127.0.0.1:6379   (one server, no ratios)
//   --ours-args "--io-threads 2"   extra arguments for every start of our server
//   --ours-bin path/keyspacepubsub-server   run this executable as our server (a native build from `dotnet publish`)
//   --shape 1000 --payload 64     fan-out: only the shapes whose name contains "1000", only 64-byte payloads
//   --clients 10                   backlog rows: only these numbers of clients
//   --each                         fan-out: print every run's figures (stderr), not only the medians
//   --light-only                   fan-out: the light-rate latency pass alone (to profile a server under it)
//   --only lightmix                light-rate latency with the servers interleaved every 100 messages (shapes as fan-out; --shape, --payload, --rounds)
//   --latency-dump /tmp/lat        fan-out: write each light pass's latencies in arrival order to /tmp/lat.<server>.<shape>...
//   --seconds 3                    length of each measured run of the fan-out, notify and backlog rows (default 1.5 with --quick, else 3)
//   --rounds 3                     redis-benchmark, fan-out, backlog and restart rows: median of this many runs (default 1 with --quick, else 3)
//   --only txlatency [--rate 10000] [--clients 10] [--fsync everysec]   backlog transactions at a fixed rate, open loop: latency percentiles
//   --only commitcost              CPU per durable commit: the server's store against SQLite alone, in this process (no servers)
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
bool quick = args.Contains("--quick");
string only = ArgValue("--only") ?? "ping,fanout,lightmix,patterns,rss,kv,scripts,streams,groupwait,notify,keymem,zset,pipe,bigvalue,geo,backlog,expiry,eviction,burstmem";
string? target = ArgValue("--target");
ServerUnderTest.OursArgs = (ArgValue("--ours-args") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
FanoutBench.LatencyDump = ArgValue("--latency-dump");
FanoutBench.LightOnly = args.Contains("--light-only");
bool eachRun = args.Contains("--each"); // fan-out: every run's figures on stderr, not only the medians
ServerUnderTest.OursBin = ArgValue("--ours-bin") is { } bin ? Path.GetFullPath(bin) : null;
int rounds = int.TryParse(ArgValue("--rounds"), out int r0) && r0 > 0 ? r0 : quick ? 1 : 3; // redis-benchmark, backlog and restart rows: median of this many alternating runs
var duration = TimeSpan.FromSeconds(double.TryParse(ArgValue("--seconds"), CultureInfo.InvariantCulture, out double secs) && secs > 0 ? secs : quick ? 1.5 : 3); // a measured run (after its warm-up)
int[] backlogClients = ArgValue("--clients") is { } bc ? [.. bc.Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture))] : [1, 10, 50];

if (only == "commitcost")
{
    // In this process alone: no server is started (see CommitCostBench).
    CommitCostBench.Run(quick ? 50_000 : 200_000, rounds);
    return;
}

var servers = new List<ServerUnderTest>();
try
{
    if (target != null) servers.Add(ServerUnderTest.External("target", target));
    else
    {
        servers.Add(ServerUnderTest.StartRedis());
        servers.Add(ServerUnderTest.StartOurs());
    }
    Console.WriteLine($"# KeyspacePubSub benchmark, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores{(quick ? ", quick" : "")}");
    Console.WriteLine();

    if (only.Contains("ping"))
    {
        Header($"redis-benchmark -t ping_inline,ping_mbulk -c 50 (median of {rounds})", "requests/s");
        foreach (int pipeline in new[] { 1, 16 })
        {
            int n = pipeline == 1 ? (quick ? 100_000 : 300_000) : (quick ? 1_000_000 : 3_000_000);
            var results = RedisBenchmarkRunner.Median(servers, "ping_inline,ping_mbulk", pipeline, n, rounds);
            foreach (var test in new[] { "PING_INLINE", "PING_MBULK" })
            {
                Row($"{test} -P {pipeline}", results.ToDictionary(kv => kv.Key, kv => kv.Value.GetValueOrDefault(test)), "N0");
            }
            if (target is null) Row($"-P {pipeline}: {RedisBenchmarkRunner.CpuKey}", results.ToDictionary(kv => kv.Key, kv => kv.Value.GetValueOrDefault(RedisBenchmarkRunner.CpuKey)), "N0");
        }
        Console.WriteLine();
    }

    var fanoutShapes = new[]
    {
        new FanoutShape("1 → 1", 1, 1, false),
        new FanoutShape("1 → 100", 100, 1, false),
        new FanoutShape("1000 subs / 10 channels", 1000, 10, false),
        new FanoutShape("100 pattern subs", 100, 1, true),
    };
    string? shapeFilter = ArgValue("--shape"); // e.g. --shape 1000 runs the shapes whose name contains "1000"
    int[] sizes = ArgValue("--payload") is { } payload ? [int.Parse(payload, CultureInfo.InvariantCulture)] : [64, 4096];
    var shapes = fanoutShapes.Where(x => shapeFilter is null || x.Name.Contains(shapeFilter, StringComparison.Ordinal)).ToList();

    if (only.Contains("fanout"))
    {
        Console.WriteLine("| shape | payload | server | deliveries/s | CPU µs/delivery | p50 µs | p99 µs | p99.9 µs | lost/reordered |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var shape in shapes)
        {
            foreach (int size in sizes)
            {
                // --rounds runs, alternating which server goes first; each figure is the median of its runs (the
                // light-rate p99 moves by tens of percent from run to run with the load generator on the same cores).
                var runs = servers.ToDictionary(s => s.Name, _ => new List<FanoutResult>());
                for (int round = 0; round < rounds; round++)
                {
                    foreach (var s in round % 2 == 0 ? servers : Enumerable.Reverse(servers))
                    {
                        var x = FanoutBench.Run(s, shape, size, duration);
                        runs[s.Name].Add(x);
                        if (eachRun) Console.Error.WriteLine($"  run {round + 1} {shape.Name} {size} B {s.Name}: {x.DeliveriesPerSec:N0}/s, {x.CpuMicrosPerDelivery:F3} µs CPU, p50/p99/p99.9 {x.P50Us:F0}/{x.P99Us:F0}/{x.P999Us:F0} µs, lost/reordered {x.Lost}");
                    }
                }
                var r = runs.ToDictionary(kv => kv.Key, kv => FanoutResult.Median(kv.Value));
                foreach (var s in servers)
                {
                    var x = r[s.Name];
                    Console.WriteLine($"| {shape.Name} | {size} B | {s.Name} | {x.DeliveriesPerSec:N0} | {x.CpuMicrosPerDelivery:F3} | {x.P50Us:F0} | {x.P99Us:F0} | {x.P999Us:F0} | {x.Lost} |");
                }
                if (r.Count == 2)
                {
                    var (a, b) = (r["ours"], r["redis"]);
                    Console.WriteLine($"| {shape.Name} | {size} B | **ratio** | **{a.DeliveriesPerSec / b.DeliveriesPerSec:F2}×** | {a.CpuMicrosPerDelivery / b.CpuMicrosPerDelivery:F2}× | {a.P50Us / b.P50Us:F2}× | {a.P99Us / b.P99Us:F2}× | {a.P999Us / b.P999Us:F2}× | |");
                }
            }
        }
        Console.WriteLine();
    }

    if (only.Contains("lightmix") && servers.Count == 2)
    {
        // The light-rate latency pass with both servers' subscribers connected at once and the publisher
        // switching server every 100 messages (FanoutBench.LightPass); each figure the median of --rounds runs.
        Console.WriteLine($"| light rate, servers interleaved every 100 messages (median of {rounds}) | payload | server | p50 µs | p99 µs | p99.9 µs | lost/reordered |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- |");
        int messages = (int)duration.TotalMilliseconds;
        foreach (var shape in shapes)
        {
            foreach (int size in sizes)
            {
                var runs = servers.ToDictionary(s => s.Name, _ => new List<FanoutResult>());
                for (int round = 0; round < rounds; round++)
                {
                    var order = round % 2 == 0 ? servers : [.. Enumerable.Reverse(servers)];
                    foreach (var (name, x) in FanoutBench.LightPass(order, shape, size, messages))
                    {
                        runs[name].Add(x);
                        if (eachRun) Console.Error.WriteLine($"  run {round + 1} {shape.Name} {size} B {name} (interleaved): p50/p99/p99.9 {x.P50Us:F0}/{x.P99Us:F0}/{x.P999Us:F0} µs, lost/reordered {x.Lost}");
                    }
                }
                var r = runs.ToDictionary(kv => kv.Key, kv => FanoutResult.Median(kv.Value));
                foreach (var s in servers)
                {
                    var x = r[s.Name];
                    Console.WriteLine($"| {shape.Name} | {size} B | {s.Name} | {x.P50Us:F0} | {x.P99Us:F0} | {x.P999Us:F0} | {x.Lost} |");
                }
                var (a, b) = (r["ours"], r["redis"]);
                Console.WriteLine($"| {shape.Name} | {size} B | **ratio** | {a.P50Us / b.P50Us:F2}× | **{a.P99Us / b.P99Us:F2}×** | {a.P999Us / b.P999Us:F2}× | |");
            }
        }
        Console.WriteLine();
    }

    if (only.Contains("patterns"))
    {
        Header("PUBLISH to a channel no pattern matches (pipeline 64)", "publishes/s");
        foreach (int patterns in new[] { 0, 1000, 10000 })
        {
            Row($"{patterns} patterns", servers.ToDictionary(s => s.Name, s => PatternScanBench.Run(s, patterns, duration)), "N0");
        }
        Console.WriteLine();
    }

    if (only.Contains("kv"))
    {
        Header($"redis-benchmark -t set,get -c 50 (median of {rounds})", "requests/s");
        foreach (int pipeline in new[] { 1, 16 })
        {
            int n = pipeline == 1 ? (quick ? 100_000 : 300_000) : (quick ? 1_000_000 : 2_000_000);
            var results = RedisBenchmarkRunner.Median(servers, "set,get", pipeline, n, rounds);
            foreach (var test in new[] { "SET", "GET" }) Row($"{test} -P {pipeline}", results.ToDictionary(kv => kv.Key, kv => kv.Value.GetValueOrDefault(test)), "N0");
            if (target is null) Row($"-P {pipeline}: {RedisBenchmarkRunner.CpuKey}", results.ToDictionary(kv => kv.Key, kv => kv.Value.GetValueOrDefault(RedisBenchmarkRunner.CpuKey)), "N0");
        }
        Console.WriteLine();
    }

    if (only.Contains("scripts"))
    {
        // Lua scripts by EVAL (the script cached after its first run): a counter, and a fixed-window rate limiter
        // (INCR, PEXPIRE on the first hit, a table returned), as a service calls them per request.
        Header($"redis-benchmark EVAL and FCALL -c 50 (median of {rounds})", "requests/s");
        var scripts = new (string Name, string[] Command)[]
        {
            ("EVAL incr", ["EVAL", "return redis.call('incr', KEYS[1])", "1", "bench:counter"]),
            ("EVAL rate limiter", ["EVAL", "local n = redis.call('incr', KEYS[1]) if n == 1 then redis.call('pexpire', KEYS[1], 60000) end if n > tonumber(ARGV[1]) then return {0, n} end return {1, n}", "1", "bench:rate", "1000000000"]),
        };
        int n = quick ? 50_000 : 200_000;
        // The same two as functions (FUNCTION LOAD once, then FCALL), as Redis 7 recommends scripts be kept.
        const string Library = "#!lua name=bench\n"
            + "redis.register_function('bench_incr', function(keys) return redis.call('incr', keys[1]) end)\n"
            + "redis.register_function('bench_rate', function(keys, args) local n = redis.call('incr', keys[1]) if n == 1 then redis.call('pexpire', keys[1], 60000) end if n > tonumber(args[1]) then return {0, n} end return {1, n} end)";
        foreach (var s in servers)
        {
            using var c = new BenchConnection(s);
            c.Send(BenchConnection.Command("FUNCTION", "LOAD", "REPLACE", Library));
            c.ReadFrames(1);
        }
        scripts = [.. scripts, ("FCALL incr", ["FCALL", "bench_incr", "1", "bench:counter"]), ("FCALL rate limiter", ["FCALL", "bench_rate", "1", "bench:rate2", "1000000000"])];
        foreach (var (name, command) in scripts)
        {
            var results = RedisBenchmarkRunner.Median(servers, "", 1, n, rounds, command);
            Row(name, results.ToDictionary(kv => kv.Key, kv => kv.Value.GetValueOrDefault("command")), "N0");
            if (target is null) Row($"{name}: {RedisBenchmarkRunner.CpuKey}", results.ToDictionary(kv => kv.Key, kv => kv.Value.GetValueOrDefault(RedisBenchmarkRunner.CpuKey)), "N0");
        }
        Console.WriteLine();
    }

    if (only.Contains("streams"))
    {
        // What Socket.IO's Redis Streams adapter sends for each broadcast (a 100-byte message), then reads of it.
        Header($"Streams: redis-benchmark -c 50 (median of {rounds})", "requests/s");
        string[] add = ["XADD", "bench:stream", "MAXLEN", "~", "10000", "*", "data", new string('x', 100)];
        string[] range = ["XRANGE", "bench:stream", "-", "+", "COUNT", "10"];
        foreach (int pipeline in new[] { 1, 16 })
        {
            int n = pipeline == 1 ? (quick ? 100_000 : 300_000) : (quick ? 500_000 : 1_000_000);
            foreach (var (label, command) in new[] { ("XADD MAXLEN ~ 10000, 100 B", add), ("XRANGE - + COUNT 10", range) })
            {
                var results = RedisBenchmarkRunner.Median(servers, "", pipeline, n, rounds, command);
                Row($"{label} -P {pipeline}", results.ToDictionary(kv => kv.Key, kv => kv.Value.GetValueOrDefault("command")), "N0");
                if (target is null) Row($"{label} -P {pipeline}: {RedisBenchmarkRunner.CpuKey}", results.ToDictionary(kv => kv.Key, kv => kv.Value.GetValueOrDefault(RedisBenchmarkRunner.CpuKey)), "N0");
            }
        }
        // Consumer groups: new entries read one at a time by a consumer (each becomes pending with it), then that
        // consumer's pending history read again 10 at a time, and XPENDING's range, over the pending entries left
        // (hundreds of thousands: the pending list's lookups are not those of a small one).
        int news = quick ? 100_000 : 300_000;
        foreach (var s in servers)
        {
            using (var conn = new BenchConnection(s))
            {
                conn.Send(BenchConnection.Command("DEL", "bench:groups"));
                conn.Send(BenchConnection.Command("XGROUP", "CREATE", "bench:groups", "g", "$", "MKSTREAM"));
                conn.ReadFrames(2);
            }
            // Enough entries for the warm-up and every round of the first row (Median runs a tenth first).
            RedisBenchmarkRunner.Run(s, "", 64, news / 10 + rounds * news + 1000, command: ["XADD", "bench:groups", "*", "data", new string('x', 100)]);
        }
        var groupRows = new (string Label, string[] Command, int Pipeline, int Requests)[]
        {
            ("XREADGROUP > COUNT 1, 100 B", ["XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "bench:groups", ">"], 1, news),
            ("XREADGROUP history COUNT 10", ["XREADGROUP", "GROUP", "g", "c", "COUNT", "10", "STREAMS", "bench:groups", "0"], 1, news),
            ("XPENDING - + 10", ["XPENDING", "bench:groups", "g", "-", "+", "10"], 1, news),
            ("XREADGROUP history COUNT 10", ["XREADGROUP", "GROUP", "g", "c", "COUNT", "10", "STREAMS", "bench:groups", "0"], 16, 3 * news),
            ("XPENDING - + 10", ["XPENDING", "bench:groups", "g", "-", "+", "10"], 16, 3 * news),
        };
        foreach (var (label, command, pipeline, requests) in groupRows)
        {
            var results = RedisBenchmarkRunner.Median(servers, "", pipeline, requests, rounds, command);
            Row($"{label} -P {pipeline}", results.ToDictionary(kv => kv.Key, kv => kv.Value.GetValueOrDefault("command")), "N0");
            if (target is null) Row($"{label} -P {pipeline}: {RedisBenchmarkRunner.CpuKey}", results.ToDictionary(kv => kv.Key, kv => kv.Value.GetValueOrDefault(RedisBenchmarkRunner.CpuKey)), "N0");
        }
        Console.WriteLine();
    }

    if (only.Contains("groupwait"))
    {
        Header($"A work queue on a stream: consumers of one group blocked in XREADGROUP COUNT 1, one XADD at a time (median of {rounds})", "entries/s");
        foreach (int waiters in new[] { 10, 200 })
        {
            int adds = quick ? 10_000 : 20_000;
            var runs = servers.ToDictionary(s => s.Name, _ => new List<(double PerSec, double Cpu, long Delivered)>());
            foreach (var s in servers) StreamGroupBench.Run(s, waiters, adds / 10); // warm-up, uncounted
            for (int round = 0; round < rounds; round++)
            {
                foreach (var s in servers) runs[s.Name].Add(StreamGroupBench.Run(s, waiters, adds));
            }
            foreach (var (name, list) in runs)
            {
                if (list.Any(r => r.Delivered != adds)) Console.Error.WriteLine($"{name}: {waiters} consumers received {string.Join('/', list.Select(r => r.Delivered))} of {adds} entries");
            }
            Row($"{waiters} consumers: entries delivered/s", runs.ToDictionary(kv => kv.Key, kv => kv.Value.Select(r => r.PerSec).Median()), "N0");
            if (target is null) Row($"{waiters} consumers: server CPU µs per entry (XADD and its delivery)", runs.ToDictionary(kv => kv.Key, kv => kv.Value.Select(r => r.Cpu).Median()), "F1");
        }
        int pendingEntries = quick ? 100_000 : 200_000;
        var pel = OnFreshServers(s => StreamGroupBench.PendingBytes(s, pendingEntries));
        Row($"RSS per pending entry ({pendingEntries:N0} read by one consumer, none acknowledged; fresh servers), bytes", pel, "F0");
        Console.WriteLine();
    }

    if (only.Contains("notify"))
    {
        Header($"SET with notify-keyspace-events KEA, subscribers on `__keyevent@0__:*` (redis-benchmark -c 50, median of {rounds})", "SET/s");
        // Fresh servers: Redis 7.0 keeps its pattern table at its largest size after patterns are gone, and every
        // PUBLISH then walks it (after the 10,000-pattern rows above: 92k -> 26k SET/s with keyspace events).
        var notifyServers = target is null ? [ServerUnderTest.StartRedis(), ServerUnderTest.StartOurs()] : servers;
        // One uncounted run each first: a fresh server's first seconds include compiling its hot paths.
        foreach (var s in notifyServers) NotifyBench.Run(s, 10, 1, 50_000);
        foreach (int subscribers in new[] { 1, 10 })
        {
            foreach (int pipeline in new[] { 1, 16 })
            {
                int n = pipeline == 1 ? (quick ? 100_000 : 300_000) : (quick ? 500_000 : 1_000_000);
                var runs = notifyServers.ToDictionary(s => s.Name, _ => new List<(double SetsPerSec, double Delivered, double Cpu)>());
                for (int round = 0; round < rounds; round++)
                {
                    foreach (var s in notifyServers) runs[s.Name].Add(NotifyBench.Run(s, subscribers, pipeline, n));
                }
                var r = runs.ToDictionary(kv => kv.Key, kv => (
                    SetsPerSec: kv.Value.Select(x => x.SetsPerSec).Median(),
                    Delivered: kv.Value.Min(x => x.Delivered),
                    Cpu: kv.Value.Select(x => x.Cpu).Median()));
                Row($"{subscribers} subscriber(s), -P {pipeline}", r.ToDictionary(kv => kv.Key, kv => kv.Value.SetsPerSec), "N0");
                Row($"{subscribers} subscriber(s), -P {pipeline}: server CPU µs per SET", r.ToDictionary(kv => kv.Key, kv => kv.Value.Cpu), "F2");
                foreach (var (name, v) in r.Where(kv => kv.Value.Delivered < 1)) Console.WriteLine($"|   {name}: only {v.Delivered:P1} of the events arrived | | | |");
            }
        }
        Console.WriteLine();
        if (target is null) notifyServers.ForEach(s => s.Dispose());
    }

    if (only.Contains("keymem"))
    {
        int keys = quick ? 200_000 : 1_000_000;
        Header($"Memory per key: {keys:N0} SETs (16-byte values), then EXPIRE on each", "bytes");
        var mem = OnFreshServers(s => KeyMemoryBench.Run(s, keys));
        Row("RSS per key", mem.ToDictionary(kv => kv.Key, kv => kv.Value.PerKey), "F0");
        Row("RSS per TTL added", mem.ToDictionary(kv => kv.Key, kv => kv.Value.PerTtl), "F0");
        Console.WriteLine();
    }

    if (only.Contains("zset"))
    {
        int members = quick ? 50_000 : 200_000;
        Header($"One sorted set of {members:N0} members (fresh servers), then {members:N0} ZADDs rescoring random members (median of {rounds})", "value");
        var z = Enumerable.Range(0, rounds).Select(_ => OnFreshServers(s => SortedSetBench.Run(s, members))).ToList();
        Dictionary<string, double> Median(Func<(double BytesPerMember, double RescoresPerSec, double CpuMicrosPerRescore), double> pick) =>
            servers.ToDictionary(s => s.Name, s => z.Select(run => pick(run[s.Name])).Median());
        Row("RSS per member (bytes)", Median(r => r.BytesPerMember), "F0");
        Row("rescoring ZADDs/s (pipelined 1,000)", Median(r => r.RescoresPerSec), "N0");
        Row("server CPU µs per rescoring ZADD", Median(r => r.CpuMicrosPerRescore), "F2");
        Console.WriteLine();
    }

    if (only.Contains("eviction"))
    {
        const int limitMb = 64;
        Header($"A cache at maxmemory {limitMb} MB, allkeys-lru, 1,000-byte values (fresh servers)", "value");
        var ev = OnFreshServers(s => EvictionBench.Run(s, limitMb));
        Row($"SETs/s, writing {4 * limitMb} MB of new keys", ev.ToDictionary(kv => kv.Key, kv => kv.Value.SetsPerSec), "N0");
        Row("server CPU µs per SET", ev.ToDictionary(kv => kv.Key, kv => kv.Value.CpuMicrosPerSet), "F2");
        Row("keys held at the limit", ev.ToDictionary(kv => kv.Key, kv => kv.Value.KeysHeld), "N0");
        Row("RSS at the limit (MB)", ev.ToDictionary(kv => kv.Key, kv => kv.Value.RssMb), "F1");
        Row("hot keys kept of 5,000 (10,000 new SETs/s for 12 s)", ev.ToDictionary(kv => kv.Key, kv => kv.Value.HotKept), "N0");
        Console.WriteLine();
    }

    if (only.Contains("pipe"))
    {
        // Mass insertion through redis-cli --pipe (see MassInsertBench); a fresh server per run, the servers
        // alternating which goes first.
        int n = quick ? 200_000 : 1_000_000;
        Header($"redis-cli --pipe of {n:N0} commands, fresh servers (median of {rounds}; lower is better)", "value");
        foreach (var (label, write) in new (string, Func<int, string>)[] { ("SET", MassInsertBench.WriteSets), ("XADD (one stream, 2 fields)", MassInsertBench.WriteXadds) })
        {
            string file = write(n); // each file made just before its rows, so a failed row leaves no other behind
            try
            {
                var runs = servers.ToDictionary(s => s.Name, _ => new List<MassInsertBench.Result>());
                for (int round = 0; round < rounds; round++)
                {
                    foreach (var s in round % 2 == 0 ? servers : Enumerable.Reverse(servers))
                    {
                        if (target != null)
                        {
                            runs[s.Name].Add(MassInsertBench.Run(s, file, n));
                            continue;
                        }
                        using var fresh = s.Name == "redis" ? ServerUnderTest.StartRedis() : ServerUnderTest.StartOurs();
                        runs[s.Name].Add(MassInsertBench.Run(fresh, file, n));
                    }
                }
                Row($"{label}: seconds", runs.ToDictionary(kv => kv.Key, kv => kv.Value.Select(x => x.Seconds).Median()), "F2");
                if (target is null) Row($"{label}: server CPU seconds", runs.ToDictionary(kv => kv.Key, kv => kv.Value.Select(x => x.ServerCpuSeconds).Median()), "F2");
            }
            finally
            {
                File.Delete(file);
            }
        }
        Console.WriteLine();
    }

    if (only.Contains("bigvalue"))
    {
        Header("Commands on one big value (pipelined 1,000 at a time)", "commands/s");
        var rates = servers.ToDictionary(s => s.Name, s => BigValueBench.Run(s, quick));
        foreach (var label in rates.Values.First().Keys) Row(label, rates.ToDictionary(kv => kv.Key, kv => kv.Value[label]), "N0");
        Console.WriteLine();
    }

    if (only.Contains("geo"))
    {
        Header("Geo: a presence index of 100,000 users (pipelined 1,000 at a time)", "commands/s");
        var rates = servers.ToDictionary(s => s.Name, s => GeoBench.Run(s, quick));
        foreach (var label in rates.Values.First().Keys) Row(label, rates.ToDictionary(kv => kv.Key, kv => kv.Value[label]), "N0");
        Console.WriteLine();
    }

    if (only.Contains("backlog") && target != null)
    {
        Header("Backlog EXECs/s (MULTI, LPUSH 200 B, PUBLISH, EXEC), as the target is configured", "EXEC/s");
        foreach (int clients in backlogClients) Row($"{clients} client(s)", new() { ["target"] = BacklogBench.TransactionsPerSec(servers[0], clients, duration) }, "N0");
        Console.WriteLine();
    }
    else if (only.Contains("backlog") || only.Contains("restart"))
    {
        // Each run on a freshly started server with an empty directory; the two servers alternate, which goes
        // first changing every round (run to run this row varies by ±15% on this machine).
        Header($"Backlog EXECs/s (MULTI, LPUSH 200 B, PUBLISH, EXEC); redis: appendonly yes (median of {rounds})", "EXEC/s");
        foreach (string fsync in only.Contains("backlog") ? (ArgValue("--fsync") ?? "always,everysec").Split(',') : [])
        {
            foreach (int clients in backlogClients)
            {
                var runs = new Dictionary<string, List<double>> { ["redis"] = [], ["ours"] = [] };
                for (int round = 0; round < rounds; round++)
                {
                    foreach (string name in round % 2 == 0 ? new[] { "redis", "ours" } : new[] { "ours", "redis" })
                    {
                        string dir = Directory.CreateTempSubdirectory("kps-backlog-").FullName;
                        using (var s = BacklogBench.Start(name, fsync, dir)) runs[name].Add(BacklogBench.TransactionsPerSec(s, clients, duration));
                        BacklogBench.DeleteDirectory(dir);
                    }
                }
                Row($"fsync {fsync}, {clients} client(s)", runs.ToDictionary(kv => kv.Key, kv => kv.Value.Median()), "N0");
            }
        }
        int entries = quick ? 200_000 : 1_000_000;
        Row($"restart with {entries:N0} backlog entries (s to first reply, median of {rounds})", new[] { "redis", "ours" }.ToDictionary(n => n, n => BacklogBench.RestartSeconds(n, entries, rounds)), "F2");
        Row($"restart with {entries:N0} sorted-set backlog entries (ZADD by time; s to first reply, median of {rounds})", new[] { "redis", "ours" }.ToDictionary(n => n, n => BacklogBench.RestartSeconds(n, entries, rounds, sortedSets: true)), "F2");
        Console.WriteLine();
    }

    if (only.Contains("txlatency"))
    {
        // Backlog transactions at a fixed rate, open loop (see BacklogLatencyBench): latency from each one's
        // scheduled send time, so stalls count for every transaction they delay. A warm-up run first, not counted.
        int rate = int.TryParse(ArgValue("--rate"), out int rt) && rt > 0 ? rt : 10_000;
        var latencyDuration = TimeSpan.FromSeconds(Math.Max(duration.TotalSeconds, 5));
        foreach (string fsync in (ArgValue("--fsync") ?? "everysec").Split(','))
        {
            foreach (int clients in ArgValue("--clients") is null ? [10] : backlogClients)
            {
                Header($"Backlog transactions at {rate:N0}/s over {clients} connection(s), open loop, fsync {fsync} (median of {rounds})", "ms");
                var runs = servers.ToDictionary(s => s.Name, _ => new List<BacklogLatencyBench.Result>());
                for (int round = 0; round < rounds; round++)
                {
                    foreach (var name in round % 2 == 0 ? runs.Keys.ToArray() : runs.Keys.Reverse().ToArray())
                    {
                        if (target != null)
                        {
                            BacklogLatencyBench.Run(servers[0], clients, rate, TimeSpan.FromSeconds(2));
                            runs[name].Add(BacklogLatencyBench.Run(servers[0], clients, rate, latencyDuration));
                            continue;
                        }
                        string dir = Directory.CreateTempSubdirectory("kps-txlat-").FullName;
                        using (var s = BacklogBench.Start(name, fsync, dir))
                        {
                            BacklogLatencyBench.Run(s, clients, rate, TimeSpan.FromSeconds(3));
                            runs[name].Add(BacklogLatencyBench.Run(s, clients, rate, latencyDuration));
                        }
                        BacklogBench.DeleteDirectory(dir);
                    }
                }
                Row("p50", runs.ToDictionary(kv => kv.Key, kv => kv.Value.Select(x => x.P50Ms).Median()), "F3");
                Row("p99", runs.ToDictionary(kv => kv.Key, kv => kv.Value.Select(x => x.P99Ms).Median()), "F3");
                Row("p99.9", runs.ToDictionary(kv => kv.Key, kv => kv.Value.Select(x => x.P999Ms).Median()), "F3");
                Row("max", runs.ToDictionary(kv => kv.Key, kv => kv.Value.Select(x => x.MaxMs).Median()), "F1");
                Console.WriteLine();
            }
        }
    }

    if (only.Contains("expiry"))
    {
        Console.WriteLine("| expiry lateness (probe deadline → `expired` event) | server | p50 ms | p99 ms | max ms | missing |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- |");
        foreach (int n in quick ? new[] { 10_000, 100_000 } : new[] { 10_000, 100_000, 1_000_000 })
        {
            foreach (var s in servers)
            {
                var r = ExpiryBench.Run(s, n);
                Console.WriteLine($"| {n:N0} keys with TTLs | {s.Name} | {r.P50Ms:F0} | {r.P99Ms:F0} | {r.MaxMs:F0} | {r.Missing} |");
            }
        }
        Console.WriteLine();
    }

    if (only.Contains("rss"))
    {
        Header("Memory: 10,000 subscribers × 10 channels (1,000 distinct)", "value");
        // Fresh server processes, so "idle" means just started.
        var rss = OnFreshServers(s => RssBench.Run(s, 10_000, 10));
        Row("idle RSS (MB)", rss.ToDictionary(kv => kv.Key, kv => kv.Value.IdleMb), "F1");
        Row("RSS per subscription (bytes)", rss.ToDictionary(kv => kv.Key, kv => kv.Value.BytesPerSubscription), "F0");
        Console.WriteLine();
    }

    if (only.Contains("burstmem"))
    {
        Header("Memory of a burst: 100 subscribers that read none of 3,000 publishes of 4 KB, then leave", "RSS MB");
        var burst = OnFreshServers(BurstMemoryBench.Run);
        Row("at start", burst.ToDictionary(kv => kv.Key, kv => kv.Value.StartMb), "F1");
        Row("after the publishes", burst.ToDictionary(kv => kv.Key, kv => kv.Value.DuringMb), "F1");
        Row("5 s after they left", burst.ToDictionary(kv => kv.Key, kv => kv.Value.After5sMb), "F1");
        Row("20 s after they left", burst.ToDictionary(kv => kv.Key, kv => kv.Value.After20sMb), "F1");
        Console.WriteLine();
    }
}
finally
{
    foreach (var s in servers) s.Dispose();
}

// Runs a scenario once per server, each on a freshly started process of its own (a --target is used as it is).
Dictionary<string, T> OnFreshServers<T>(Func<ServerUnderTest, T> run)
{
    var results = new Dictionary<string, T>();
    foreach (var s in servers)
    {
        if (target != null)
        {
            results[s.Name] = run(s);
            continue;
        }
        using var fresh = s.Name == "redis" ? ServerUnderTest.StartRedis() : ServerUnderTest.StartOurs();
        results[s.Name] = run(fresh);
    }
    return results;
}

string? ArgValue(string name)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

void Header(string title, string unit)
{
    Console.WriteLine($"| {title} | {string.Join(" | ", servers.Select(s => s.Name + " " + unit))} |{(servers.Count == 2 ? " ours/redis |" : "")}");
    Console.WriteLine($"| --- |{string.Concat(servers.Select(_ => " --- |"))}{(servers.Count == 2 ? " --- |" : "")}");
}

void Row(string label, Dictionary<string, double> values, string format)
{
    var cells = servers.Select(s => values[s.Name].ToString(format, CultureInfo.InvariantCulture));
    string ratio = values.Count == 2 ? $" **{values["ours"] / values["redis"]:F2}×** |" : "";
    Console.WriteLine($"| {label} | {string.Join(" | ", cells)} |{ratio}");
}
