using FluentAssertions;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>Keyspace behaviour Redis 7.0 does not show deterministically: active expiry on time, own pushes after replies.</summary>
public class KeyspaceTests
{
    /// <summary>A server with expired events on, a client subscribed to them, and a client to write with; disposed together.</summary>
    private sealed class ExpiredListening(InProcessServer server, RawClient listener, RawClient writer) : IAsyncDisposable
    {
        public InProcessServer Server => server;
        public RawClient Listener => listener;
        public RawClient Writer => writer;

        public static async Task<ExpiredListening> StartAsync()
        {
            var server = await InProcessServer.StartAsync(("notify-keyspace-events", "Ex"));
            var listener = new RawClient(server.Port);
            listener.Send("SUBSCRIBE", "__keyevent@0__:expired");
            listener.Read();
            return new ExpiredListening(server, listener, new RawClient(server.Port));
        }

        public async ValueTask DisposeAsync()
        {
            writer.Dispose();
            listener.Dispose();
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task KeyWithTtl_ExpiresByItselfAndEmitsExpired()
    {
        await using var t = await ExpiredListening.StartAsync();
        var (server, listener, writer) = (t.Server, t.Listener, t.Writer);
        writer.Call("SET", "session:1", "x", "PX", "50").Should().Be("+OK\r\n");
        // Nobody touches the key: the expiry index deletes it when its time comes.
        listener.Read(timeoutMs: 2000).Should().Be("*3\r\n$7\r\nmessage\r\n$22\r\n__keyevent@0__:expired\r\n$9\r\nsession:1\r\n");
        writer.Call("EXISTS", "session:1").Should().Be(":0\r\n");
        writer.Call("INFO", "stats").Should().Contain("expired_keys:1\r\n");
    }

    [Fact]
    public async Task KeyWhoseTtlWasExtended_ExpiresByItselfAtItsNewDeadline()
    {
        await using var t = await ExpiredListening.StartAsync();
        var (server, listener, writer) = (t.Server, t.Listener, t.Writer);
        var started = System.Diagnostics.Stopwatch.StartNew();
        writer.Call("SET", "presence:1", "x", "PX", "100").Should().Be("+OK\r\n");
        // Refreshed, as a presence key is: the deadline moves later each time (no heap entry is added for it).
        for (int i = 0; i < 5; i++) writer.Call("PEXPIRE", "presence:1", (300 + 100 * i).ToString(System.Globalization.CultureInfo.InvariantCulture)).Should().Be(":1\r\n");
        for (int i = 0; i < 5; i++) writer.Call("SET", "presence:1", "x", "PX", (750 + 10 * i).ToString(System.Globalization.CultureInfo.InvariantCulture)).Should().Be("+OK\r\n");
        lock (server.Engine.Gate) server.Engine.Databases[0].Deadlines.Count.Should().Be(1, "ten refreshes, each a later deadline, add no heap entry");
        // Nobody touches the key: it expires by itself, not at its first deadline but at its last.
        listener.Read(timeoutMs: 3000).Should().Be("*3\r\n$7\r\nmessage\r\n$22\r\n__keyevent@0__:expired\r\n$10\r\npresence:1\r\n");
        started.ElapsedMilliseconds.Should().BeGreaterThanOrEqualTo(790);
        writer.Call("INFO", "stats").Should().Contain("expired_keys:1\r\n");
    }

    [Fact]
    public async Task ManyKeysExpiringTogether_AllExpireAndEachEmitsOneEvent()
    {
        await using var t = await ExpiredListening.StartAsync();
        var (server, listener, writer) = (t.Server, t.Listener, t.Writer);
        const int n = 20000;
        for (int i = 0; i < n; i += 500)
        {
            for (int j = i; j < i + 500; j++) writer.Send("SET", $"k{j}", "v", "PX", "200");
            writer.Read(500);
        }
        var events = listener.Read(n, timeoutMs: 20000);
        for (int i = 0; i < n; i += 997) events.Should().Contain($"\r\nk{i}\r\n");
        writer.Call("DBSIZE").Should().Be(":0\r\n");
        listener.IsSilent().Should().BeTrue();
    }

    [Fact]
    public async Task ExpiredKey_ReadsAsMissingAndIsDeletedOnAccess()
    {
        await using var server = await InProcessServer.StartAsync();
        server.Engine.StopExpiry(); // only lazy expiry can remove it now
        using var c = new RawClient(server.Port);
        c.Call("SET", "k", "v", "PX", "1").Should().Be("+OK\r\n");
        await Task.Delay(20);
        c.Call("DBSIZE").Should().Be(":1\r\n");
        c.Call("GET", "k").Should().Be("$-1\r\n");
        c.Call("DBSIZE").Should().Be(":0\r\n");
    }

    [Fact]
    public async Task SwapDb_KeysWithTtlStillExpireInTheirNewDatabase()
    {
        await using var server = await InProcessServer.StartAsync(("notify-keyspace-events", "Ex"));
        using var listener = new RawClient(server.Port);
        using var c = new RawClient(server.Port);
        listener.Send("PSUBSCRIBE", "__keyevent@*__:expired");
        listener.Read();
        c.Call("SET", "k", "v", "PX", "100").Should().Be("+OK\r\n");
        c.Call("SWAPDB", "0", "1").Should().Be("+OK\r\n");
        listener.Read(timeoutMs: 2000).Should().Contain("__keyevent@1__:expired");
    }

    [Fact]
    public async Task KeysInSeveralDatabases_ExpireInDeadlineOrder()
    {
        await using var server = await InProcessServer.StartAsync(("notify-keyspace-events", "Ex"));
        server.Engine.StopExpiry(); // deadlines pass while nobody expires: then one sweep takes them all
        using var listener = new RawClient(server.Port);
        using var c = new RawClient(server.Port);
        listener.Send("PSUBSCRIBE", "__keyevent@*__:expired");
        listener.Read();
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var plan = new[] { (Db: 2, Key: "c", At: now + 30), (Db: 0, Key: "a", At: now + 10), (Db: 1, Key: "b", At: now + 20), (Db: 0, Key: "d", At: now + 40) };
        foreach (var p in plan)
        {
            c.Call("SELECT", p.Db.ToString()).Should().Be("+OK\r\n");
            c.Call("SET", p.Key, "v", "PXAT", p.At.ToString()).Should().Be("+OK\r\n");
        }
        await Task.Delay(100);
        lock (server.Engine.Gate)
        {
            server.Engine.ExpireDue(100).Should().Be(4);
            server.Engine.FlushDirty();
        }
        var events = listener.Read(4);
        var order = plan.OrderBy(p => p.At).Select(p => $"__keyevent@{p.Db}__:expired\r\n$1\r\n{p.Key}\r\n").ToList();
        for (int i = 1; i < order.Count; i++) events.IndexOf(order[i - 1]).Should().BeLessThan(events.IndexOf(order[i]));
    }

    [Fact]
    public async Task ExpiresCount_FollowsTtlChanges()
    {
        await using var server = await InProcessServer.StartAsync();
        using var c = new RawClient(server.Port);
        c.Call("SET", "a", "1", "EX", "100");
        c.Call("SET", "b", "1", "EX", "100");
        c.Call("SET", "c", "1");
        c.Call("EXPIRE", "c", "100").Should().Be(":1\r\n");
        c.Call("EXPIRE", "c", "200").Should().Be(":1\r\n"); // a new deadline, still one key with a TTL
        c.Call("INFO", "keyspace").Should().Contain("db0:keys=3,expires=3,");
        c.Call("PERSIST", "a").Should().Be(":1\r\n");
        c.Call("SET", "b", "2").Should().Be("+OK\r\n"); // overwrite drops the TTL
        c.Call("DEL", "c").Should().Be(":1\r\n");
        c.Call("INFO", "keyspace").Should().Contain("db0:keys=2,expires=0,");
        c.Call("SET", "k", "v", "EX", "100");
        c.Call("SWAPDB", "0", "5").Should().Be("+OK\r\n");
        c.Call("INFO", "keyspace").Should().Contain("db5:keys=3,expires=1,").And.NotContain("db0:");
        c.Call("TTL", "b").Should().Be(":-2\r\n");
    }

    [Fact]
    public async Task Resp3_OwnWriteNotification_FollowsTheReply()
    {
        await using var server = await InProcessServer.StartAsync(("notify-keyspace-events", "K$"));
        using var c = new RawClient(server.Port);
        c.Send("HELLO", "3");
        c.Read();
        c.Call("SUBSCRIBE", "__keyspace@0__:mykey").Should().StartWith(">3\r\n");
        c.Send("SET", "mykey", "1");
        c.Read(2).Should().Be("+OK\r\n>3\r\n$7\r\nmessage\r\n$20\r\n__keyspace@0__:mykey\r\n$3\r\nset\r\n");
    }

    [Fact]
    public async Task Scan_VisitsEveryKeyOnceAcrossPages()
    {
        await using var server = await InProcessServer.StartAsync();
        using var c = new RawClient(server.Port);
        for (int i = 0; i < 1000; i++) c.Send("SET", $"key:{i}", "v");
        c.Read(1000);
        var seen = new List<string>();
        string cursor = "0";
        int pages = 0;
        do
        {
            var reply = c.Call("SCAN", cursor, "COUNT", "37");
            var parts = reply.Split("\r\n");
            cursor = parts[2];
            for (int i = 4; i + 1 < parts.Length; i += 2) seen.Add(parts[i + 1]);
            pages++;
        }
        while (cursor != "0");
        pages.Should().BeGreaterThan(20);
        seen.Should().OnlyHaveUniqueItems().And.HaveCount(1000);
    }

    [Fact]
    public async Task Scan_ReturnsEveryKeyPresentThroughout_WhileTheTableGrowsUnderIt()
    {
        await using var server = await InProcessServer.StartAsync();
        using var c = new RawClient(server.Port);
        for (int i = 0; i < 1000; i++) c.Send("SET", $"old:{i}", "v");
        for (int i = 0; i < 100; i++) c.Send("SET", $"gone:{i}", "v");
        c.Read(1100);
        var seen = new HashSet<string>();
        string cursor = "0";
        int page = 0;
        do
        {
            var parts = c.Call("SCAN", cursor, "COUNT", "30").Split("\r\n");
            cursor = parts[2];
            for (int i = 4; i + 1 < parts.Length; i += 2) seen.Add(parts[i + 1]);
            // Between pages: 30 new keys (the buckets double from 2,048 to 4,096 on the way), and a "gone" key deleted.
            for (int i = 0; i < 30; i++) c.Send("SET", $"new:{page}:{i}", "v");
            c.Read(30);
            if (page < 100) c.Call("DEL", $"gone:{page}").Should().Be(":1\r\n");
            page++;
            page.Should().BeLessThan(1000, "an iteration ends (the cursor comes back to 0)");
        }
        while (cursor != "0");
        Enumerable.Range(0, 1000).Select(i => $"old:{i}").Should().BeSubsetOf(seen);
        (1100 + 30 * page).Should().BeGreaterThan(2048, "the table grew during the iteration");
        c.Call("DBSIZE").Should().Be($":{1100 + 30 * page - Math.Min(page, 100)}\r\n");
    }

    [Fact]
    public void KeyTableScan_VisitsEveryBucketOnce_AndEndsAtZero()
    {
        var table = new KeyspacePubSub.Engine.Keyspace.KeyTable();
        for (int i = 0; i < 5000; i++)
        {
            var key = System.Text.Encoding.ASCII.GetBytes($"k{i}");
            table.Find(key, out int hash).Should().Be(-1);
            table.Add(key, "v", -1, hash);
        }
        var keys = new List<byte[]>();
        ulong cursor = 0;
        int steps = 0;
        do
        {
            cursor = table.Scan(cursor, keys);
            steps++;
            steps.Should().BeLessThanOrEqualTo(8192, "each bucket is visited once, then the cursor is 0");
        }
        while (cursor != 0);
        keys.Select(k => System.Text.Encoding.ASCII.GetString(k)).Should().OnlyHaveUniqueItems().And.HaveCount(5000);
        steps.Should().Be(8192); // one step per bucket: 5,000 keys have 8,192 buckets
    }

    [Fact]
    public async Task RandomKey_PicksAmongLiveKeys_AfterMostKeysWereDeleted()
    {
        await using var server = await InProcessServer.StartAsync();
        using var c = new RawClient(server.Port);
        c.Call("RANDOMKEY").Should().Be("$-1\r\n");
        for (int i = 0; i < 10_000; i++) c.Send("SET", $"k{i}", "v");
        c.Read(10_000);
        var many = new HashSet<string>();
        for (int i = 0; i < 500; i++) many.Add(c.Call("RANDOMKEY"));
        many.Count.Should().BeGreaterThan(400, "500 picks among 10,000 keys rarely repeat");
        // 9,997 deleted: most entries of the table are free, and picks still find the three left, each of them.
        for (int i = 3; i < 10_000; i++) c.Send("DEL", $"k{i}");
        c.Read(9_997);
        var few = new Dictionary<string, int>();
        for (int i = 0; i < 300; i++)
        {
            string key = c.Call("RANDOMKEY");
            few[key] = few.GetValueOrDefault(key) + 1;
        }
        few.Keys.Should().BeEquivalentTo("$2\r\nk0\r\n", "$2\r\nk1\r\n", "$2\r\nk2\r\n");
    }

    [Fact]
    public async Task RandomKey_NeverAnswersAnExpiredKey()
    {
        await using var server = await InProcessServer.StartAsync();
        using var c = new RawClient(server.Port);
        for (int i = 0; i < 50; i++) c.Send("SET", $"short{i}", "v", "PX", "1");
        c.Read(50);
        c.Call("SET", "live", "v").Should().Be("+OK\r\n");
        Thread.Sleep(20); // past every deadline, whether the expiry cycle or RANDOMKEY deletes them
        for (int i = 0; i < 20; i++) c.Call("RANDOMKEY").Should().Be("$4\r\nlive\r\n");
        c.Call("DBSIZE").Should().Be(":1\r\n");
    }
}
