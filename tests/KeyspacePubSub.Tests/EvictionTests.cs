using System.Globalization;
using System.Text.RegularExpressions;
using FluentAssertions;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// maxmemory with each eviction policy, in a server process of its own (its GC heap is what maxmemory measures):
/// memory stays at the limit, the policy picks the keys it should, every eviction is announced, and writes are
/// refused only when nothing is left to evict. The limits are set relative to the server's used memory, with
/// 10 KB values, so the heap's own noise (a few MB of young garbage) is small against what is evicted.
/// </summary>
public sealed class EvictionTests : IDisposable
{
    private const int ValueSize = 10_000;
    private static readonly string Value = new('v', ValueSize);

    private readonly int _port = RedisProcess.FreePort();
    private ServerProcess _server;
    private RawClient _c;

    public EvictionTests() => (_server, _c) = Start();

    private (ServerProcess, RawClient) Start(params string[] args)
    {
        var server = new ServerProcess(["--port", _port.ToString(CultureInfo.InvariantCulture), .. args]);
        server.WaitUntilServing(_port).Should().BeTrue(server.Stderr);
        return (server, new RawClient(_port));
    }

    public void Dispose()
    {
        _c.Dispose();
        _server.Dispose();
    }

    [Fact]
    public void AllkeysLru_EvictsKeysNotUsedLately_KeepsMemoryAtTheLimit_AndAnnouncesEveryEviction()
    {
        _c.Call("CONFIG", "SET", "notify-keyspace-events", "Ee").Should().Be("+OK\r\n");
        _c.Call("CONFIG", "SET", "maxmemory-samples", "10").Should().Be("+OK\r\n");
        using var sub = new RawClient(_port);
        sub.Call("SUBSCRIBE", "__keyevent@0__:evicted");
        Write("cold:", 2000);
        long limit = LiveBytes() + 14_000_000;
        _c.Call("CONFIG", "SET", "maxmemory-policy", "allkeys-lru").Should().Be("+OK\r\n");
        _c.Call("CONFIG", "SET", "maxmemory", limit.ToString(CultureInfo.InvariantCulture)).Should().Be("+OK\r\n");
        Thread.Sleep(2200); // the LRU clock counts seconds: the cold keys are now 2 s older than anything used next
        for (int i = 0; i < 200; i++) _c.Send("GET", $"cold:{i}");
        _c.Read(200);
        Write("new:", 2000);

        Info("used_memory").Should().BeLessThanOrEqualTo(limit + 1_000_000);
        _c.Call("INFO", "memory").Should().Contain("\r\nmaxmemory_policy:allkeys-lru\r\n");
        // 1,800 keys unused for 2 s against ~600 to evict: a sample of 10 keys almost always holds one of them.
        string evictedSoFar = $"{Info("evicted_keys")} keys were evicted";
        Count("cold:", 0, 200).Should().BeGreaterThanOrEqualTo(190, "the keys read after the pause were used lately ({0})", evictedSoFar);
        Count("new:", 1500, 2000).Should().BeGreaterThanOrEqualTo(490, "the last keys written were used lately ({0})", evictedSoFar);
        Freeze();
        long evicted = Info("evicted_keys");
        evicted.Should().BeGreaterThan(200, "20 MB were written over a limit 14 MB away");
        (Dbsize() + evicted).Should().Be(4000);
        EvictionEvents(sub, evicted).Should().Be(evicted);
    }

    [Fact]
    public void AllkeysLfu_EvictsKeysUsedLeast()
    {
        _c.Call("CONFIG", "SET", "lfu-log-factor", "0").Should().Be("+OK\r\n"); // every access counts (no dice)
        _c.Call("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu").Should().Be("+OK\r\n");
        _c.Call("CONFIG", "SET", "maxmemory-samples", "10").Should().Be("+OK\r\n");
        Write("k:", 2000);
        for (int round = 0; round < 5; round++)
        {
            for (int i = 0; i < 200; i++) _c.Send("GET", $"k:{i}");
            _c.Read(200);
        }
        SetLimit(LiveBytes() + 5_000_000);
        Write("more:", 1500);

        Count("k:", 0, 200).Should().BeGreaterThanOrEqualTo(190, "these keys were read five times");
        Freeze();
        Info("evicted_keys").Should().BeGreaterThan(400, "15 MB were written over a limit 5 MB away");
    }

    /// <summary>
    /// With fewer candidates than maxmemory-samples every one of them is sampled (dictGetSomeKeys returns a
    /// small dict whole), so the order of evictions is the policy's, not chance's: the key read twice goes last,
    /// every time. A sample drawn with repeats missed the idle key in ~3% of rounds (the conformance case
    /// "volatile-lfu evicts the least used key with a TTL first" failed that way in CI).
    /// </summary>
    [Fact]
    public void VolatileLfu_WithFewerKeysThanSamples_AlwaysEvictsTheLeastUsedFirst()
    {
        _c.Call("CONFIG", "SET", "lfu-log-factor", "0").Should().Be("+OK\r\n");
        _c.Call("CONFIG", "SET", "lfu-decay-time", "0").Should().Be("+OK\r\n");
        _c.Call("CONFIG", "SET", "notify-keyspace-events", "Ee").Should().Be("+OK\r\n");
        _c.Call("CONFIG", "SET", "maxmemory-policy", "volatile-lfu").Should().Be("+OK\r\n");
        using var sub = new RawClient(_port);
        sub.Call("SUBSCRIBE", "__keyevent@0__:evicted");
        for (int round = 0; round < 100; round++)
        {
            _c.Call("SET", "keep", "hello").Should().Be("+OK\r\n");
            _c.Call("SET", "used", "hello", "EX", "100").Should().Be("+OK\r\n");
            _c.Call("SET", "idle", "hello", "EX", "100").Should().Be("+OK\r\n");
            _c.Call("GET", "used");
            _c.Call("GET", "used");
            _c.Call("CONFIG", "SET", "maxmemory", "1").Should().Be("+OK\r\n");
            sub.Read(2).Should().Be(
                "*3\r\n$7\r\nmessage\r\n$22\r\n__keyevent@0__:evicted\r\n$4\r\nidle\r\n" +
                "*3\r\n$7\r\nmessage\r\n$22\r\n__keyevent@0__:evicted\r\n$4\r\nused\r\n", "round {0}", round);
            _c.Call("EXISTS", "keep", "used", "idle").Should().Be(":1\r\n");
            _c.Call("CONFIG", "SET", "maxmemory", "0").Should().Be("+OK\r\n");
        }
    }

    [Fact]
    public void VolatileLru_EvictsOnlyKeysWithATtl_ThenRefusesWrites_ButNotReads()
    {
        Write("keep:", 300);
        Write("vol:", 700, ttl: true);
        SetLimit(LiveBytes() + 2_000_000, "volatile-lru");
        int refused = 0, stored = 0;
        for (int i = 0; i < 2000; i++)
        {
            _c.Send("SET", $"plain:{i}", Value);
            if (i % 100 == 99) Tally(100, ref stored, ref refused);
        }
        refused.Should().BeGreaterThan(0, "once every key with a TTL is gone nothing can be evicted");
        Count("keep:", 0, 300).Should().Be(300, "keys without a TTL are never evicted by a volatile policy");
        Count("vol:", 0, 700).Should().Be(0);
        Info("evicted_keys").Should().Be(700);
        Dbsize().Should().Be(300 + stored);
        _c.Call("GET", "keep:0").Should().StartWith($"${ValueSize}\r\n", "reads are not refused");
        _c.Call("SET", "x", "y").Should().Be("-OOM command not allowed when used memory > 'maxmemory'.\r\n");
        _c.Call("DEL", "keep:0").Should().Be(":1\r\n", "deletes are not refused");
        Thread.Sleep(20);
        Info("current_eviction_exceeded_time").Should().BeGreaterThan(0, "memory is still over the limit");
        Freeze();
        Info("current_eviction_exceeded_time").Should().Be(0);
        Info("total_eviction_exceeded_time").Should().BeGreaterThan(0);
    }

    [Fact]
    public void VolatileTtl_EvictsTheNearestDeadlinesFirst()
    {
        for (int i = 0; i < 1000; i++) _c.Send("SET", $"t:{i}", Value, "EX", (10_000 + i).ToString(CultureInfo.InvariantCulture));
        _c.Read(1000);
        SetLimit(LiveBytes() + 1_000_000, "volatile-ttl");
        Write("x:", 400);

        Freeze();
        long evicted = Info("evicted_keys");
        evicted.Should().BeGreaterThan(200);
        // Exactly the keys with the nearest deadlines went: t:0 .. t:(evicted-1).
        Count("t:", 0, (int)evicted).Should().Be(0);
        Count("t:", (int)evicted, 1000).Should().Be(1000 - (int)evicted);
    }

    [Fact]
    public void VolatileTtl_FollowsDeadlinesThatWereExtended()
    {
        // t:i first expire in 100 s, nearer than any u:i, then are extended past every u:i: their heap entries at
        // 100 s stand for them until eviction (or expiry) reaches those and carries them to their deadlines.
        for (int i = 0; i < 300; i++) _c.Send("SET", $"t:{i}", Value, "EX", (100 + i).ToString(CultureInfo.InvariantCulture));
        for (int i = 0; i < 200; i++) _c.Send("SET", $"u:{i}", Value, "EX", (10_000 + i).ToString(CultureInfo.InvariantCulture));
        for (int i = 0; i < 300; i++) _c.Send("EXPIRE", $"t:{i}", (20_000 + i).ToString(CultureInfo.InvariantCulture));
        _c.Read(800);
        SetLimit(LiveBytes() + 1_000_000, "volatile-ttl");
        // ~3.5 MB over the limit: every u:i, then the t:i nearest their new deadlines. The written requests' garbage
        // counts as used memory until a collection, which may come in the middle (the server also collects when
        // its clients pause for a second): with 400 keys written, 182 were evicted in 2 of 20 runs beside a test
        // that loaded the machine, where the others evicted 306-312.
        Write("x:", 450);

        Freeze();
        long evicted = Info("evicted_keys");
        evicted.Should().BeInRange(220, 480);
        Count("u:", 0, 200).Should().Be(0, "the u:i had the nearest deadlines");
        int t = (int)evicted - 200;
        Count("t:", 0, t).Should().Be(0);
        Count("t:", t, 300).Should().Be(300 - t);
    }

    [Fact]
    public void AllkeysRandom_EvictsAcrossDatabases_UntilUnderTheLimit()
    {
        Write("a:", 500);
        _c.Call("SELECT", "1").Should().Be("+OK\r\n");
        Write("b:", 500);
        long limit = LiveBytes() + 2_000_000;
        SetLimit(limit, "allkeys-random");
        Write("c:", 1000);

        Info("used_memory").Should().BeLessThanOrEqualTo(limit + 1_000_000);
        string keyspace = _c.Call("INFO", "keyspace");
        // INFO leaves out an empty database: every key of db 0 may have gone (the policy alternates databases).
        var db0Line = Regex.Match(keyspace, @"db0:keys=(\d+)");
        long db0 = db0Line.Success ? long.Parse(db0Line.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        db0.Should().BeLessThan(500, "the random policy visits every database in turn");
        Info("evicted_keys").Should().BeGreaterThan(300, "10 MB were written over a limit 2 MB away");
    }

    [Fact]
    public async Task AfterFlushall_TheGarbageOfTheFlushedKeysDoesNotRefuseWrites()
    {
        Write("k:", 3000);
        SetLimit(LiveBytes() - 20_000_000, "noeviction");
        _c.Call("SET", "x", "y").Should().StartWith("-OOM");
        // The logger writes from a queue of its own and the test reads the pipe on another thread: wait for the line.
        (await _server.WaitForLine(l => l.Contains("is smaller than the current memory usage", StringComparison.Ordinal)))
            .Should().NotBeNull("Redis's warning is logged ({0})", _server.Stdout);
        _c.Call("FLUSHALL").Should().Be("+OK\r\n");
        Thread.Sleep(1100); // the refused SET's collection may have been less than a second ago
        _c.Call("SET", "x", "y").Should().Be("+OK\r\n", "the flushed values are garbage, not used memory");
    }

    [Theory]
    [InlineData("epoll")] // shared frames, and the event loop's output blocks
    [InlineData("sockets")] // the pipes' blocks (OutputBlockPool)
    public async Task OutputBuffersFreedAfterABurst_AreNotUsedMemory_AndEvictNothing(string transport)
    {
        _c.Dispose();
        _server.Signal(15);
        (await _server.ExitCode()).Should().Be(0);
        _server.Dispose();
        (_server, _c) = Start("--io-transport", transport);
        long before = LiveBytes();
        // Ten subscribers that never read take 3,000 messages of 4 KB each: output waiting for them is used memory.
        var stalled = Enumerable.Range(0, 10).Select(_ => new RawClient(_port, receiveBuffer: 4096)).ToList();
        foreach (var s in stalled) s.Call("SUBSCRIBE", "burst");
        string message = new('m', 4000);
        for (int i = 0; i < 3000; i++)
        {
            _c.Send("PUBLISH", "burst", message);
            if (i % 100 == 99) _c.Read(100).Should().NotContain("-");
        }
        Info("used_memory").Should().BeGreaterThan(before + 4_000_000, "the subscribers' pending output is in use");
        stalled.ForEach(s => s.Dispose());
        Eventually.True(() => Info("connected_clients") == 1).Should().BeTrue("the subscribers' connections close");

        // Their buffers go back to the pools (once each connection's last send has failed), which keep them for
        // the next burst: free, so not used memory.
        Eventually.True(() => LiveBytes() < before + 1_500_000).Should().BeTrue("used memory comes back down, as Redis's does");
        long after = LiveBytes();
        Info("mem_pooled_free").Should().BeGreaterThan(4_000_000, "the pools kept the burst's buffers");
        after.Should().BeInRange(before - 1_000_000, before + 1_500_000, "used memory comes back down, as Redis's does");

        // A cache of 8 MB under a limit 10 MB above that fits: no key is evicted for the pools' memory.
        SetLimit(after + 10_000_000, "allkeys-lru");
        Write("k:", 800);
        Info("evicted_keys").Should().Be(0);
        Dbsize().Should().Be(800);
    }

    /// <summary>
    /// maxmemory 0, so nothing more is evicted while the test counts: the GC heap the limit is measured on also
    /// holds the garbage of the test's own commands (INFO's text), which may evict a key more now and then.
    /// </summary>
    private void Freeze() => _c.Call("CONFIG", "SET", "maxmemory", "0").Should().Be("+OK\r\n");

    private void SetLimit(long bytes, string? policy = null)
    {
        if (policy != null) _c.Call("CONFIG", "SET", "maxmemory-policy", policy).Should().Be("+OK\r\n");
        _c.Call("CONFIG", "SET", "maxmemory", bytes.ToString(CultureInfo.InvariantCulture)).Should().Be("+OK\r\n");
    }

    private void Write(string prefix, int count, bool ttl = false)
    {
        for (int i = 0; i < count; i++)
        {
            if (ttl) _c.Send("SET", prefix + i, Value, "EX", "100000");
            else _c.Send("SET", prefix + i, Value);
            if (i % 100 == 99 || i == count - 1) _c.Read(i % 100 + 1).Should().NotContain("-", "no write is refused while something can be evicted");
        }
    }

    private void Tally(int replies, ref int stored, ref int refused)
    {
        foreach (var line in _c.Read(replies).Split("\r\n", StringSplitOptions.RemoveEmptyEntries))
        {
            if (line == "+OK") stored++;
            else if (line.StartsWith("-OOM", StringComparison.Ordinal)) refused++;
            else throw new InvalidOperationException("unexpected reply " + line);
        }
    }

    /// <summary>How many of prefix{from}..prefix{to - 1} exist (EXISTS does not touch them).</summary>
    private int Count(string prefix, int from, int to)
    {
        if (to <= from) return 0;
        var args = new List<string> { "EXISTS" };
        for (int i = from; i < to; i++) args.Add(prefix + i);
        return int.Parse(_c.Call([.. args]).AsSpan(1).TrimEnd("\r\n"), CultureInfo.InvariantCulture);
    }

    private long Dbsize() => long.Parse(_c.Call("DBSIZE").AsSpan(1).TrimEnd("\r\n"), CultureInfo.InvariantCulture);

    /// <summary>used_memory just after MEMORY PURGE's full collection: the live bytes, without young garbage.</summary>
    private long LiveBytes()
    {
        _c.Call("MEMORY", "PURGE").Should().Be("+OK\r\n");
        return Info("used_memory");
    }

    /// <summary>An INFO field as a number.</summary>
    private long Info(string field)
    {
        string info = _c.Call("INFO", "everything");
        var m = Regex.Match(info, $@"\r\n{field}:(\d+)\r\n");
        m.Success.Should().BeTrue($"INFO has {field}");
        return long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    /// <summary>The "evicted" events the subscriber has received, reading until <paramref name="expected"/> came or 5 s of silence.</summary>
    private static long EvictionEvents(RawClient sub, long expected)
    {
        long events = 0;
        while (events < expected)
        {
            string more = sub.ReadAvailable(quietMs: 5000);
            if (more.Length == 0) break;
            events += Regex.Matches(more, @"\*3\r\n\$7\r\nmessage\r\n").Count;
        }
        return events;
    }
}
