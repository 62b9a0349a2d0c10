using System.Collections.Concurrent;
using FluentAssertions;
using KeyspacePubSub.Testing;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// StackExchange.Redis (3.4.35), the .NET client (the one ASP.NET Core's SignalR backplane and distributed
/// cache are built on), over RESP2 and RESP3: its connect handshake, SCAN paging, ordered pub/sub, a key-expiration
/// listener, a conditional transaction recording a backlog, and the distributed cache
/// (Microsoft.Extensions.Caching.StackExchangeRedis). Each scenario runs against our server and against real
/// redis-server, so what it expects is Redis's behaviour.
/// </summary>
public class StackExchangeRedisClientTests
{
    private static Task AgainstBoth(string protocol, Func<ConnectionMultiplexer, IServer, Task> scenario) =>
        BothServers.RunAsync((port, name) => Run(port, protocol, scenario, name));

    private static async Task Run(int port, string protocol, Func<ConnectionMultiplexer, IServer, Task> scenario, string name)
    {
        var log = new StringWriter();
        var options = ConfigurationOptions.Parse($"127.0.0.1:{port},protocol={protocol},abortConnect=true,connectTimeout=5000,allowAdmin=true");
        await using var mux = await ConnectionMultiplexer.ConnectAsync(options, log);
        mux.IsConnected.Should().BeTrue($"{name}: {log}");
        var server = mux.GetServer("127.0.0.1", port);
        try
        {
            await scenario(mux, server);
        }
        catch (Exception ex)
        {
            throw new Xunit.Sdk.XunitException($"against {name} ({protocol}): {ex.Message}\n{ex}");
        }
    }

    [Theory]
    [InlineData("resp2")]
    [InlineData("resp3")]
    public Task Handshake_SeesAStandaloneServerWithSixteenDatabases(string protocol) => AgainstBoth(protocol, async (mux, server) =>
    {
        server.ServerType.Should().Be(ServerType.Standalone);
        server.IsReplica.Should().BeFalse();
        server.DatabaseCount.Should().Be(16);
        server.Version.Should().BeGreaterThanOrEqualTo(new Version(7, 0));
        server.Protocol.Should().Be(protocol == "resp3" ? RedisProtocol.Resp3 : RedisProtocol.Resp2);
        var db = mux.GetDatabase(7);
        (await db.StringSetAsync("k", "v", TimeSpan.FromSeconds(60))).Should().BeTrue();
        (await db.StringGetAsync("k")).ToString().Should().Be("v");
        (await db.KeyTimeToLiveAsync("k")).Should().BeCloseTo(TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(2));
        (await server.DatabaseSizeAsync(7)).Should().Be(1);
        (await server.DatabaseSizeAsync(0)).Should().Be(0);
        await server.FlushAllDatabasesAsync();
    });

    [Theory]
    [InlineData("resp2")]
    [InlineData("resp3")]
    public Task Scans_VisitEveryKeyFieldAndMemberOnce(string protocol) => AgainstBoth(protocol, async (mux, server) =>
    {
        var db = mux.GetDatabase();
        for (int i = 0; i < 300; i++) await db.StringSetAsync($"user:{i}", i, flags: CommandFlags.FireAndForget);
        await db.StringSetAsync("other", 1);
        await db.HashSetAsync("h", Enumerable.Range(0, 200).Select(i => new HashEntry($"f{i}", i)).ToArray());
        await db.SortedSetAddAsync("z", Enumerable.Range(0, 200).Select(i => new SortedSetEntry($"m{i}", i)).ToArray());
        var keys = new List<string>();
        await foreach (var key in server.KeysAsync(pattern: "user:*", pageSize: 50)) keys.Add(key!);
        keys.Should().OnlyHaveUniqueItems().And.BeEquivalentTo(Enumerable.Range(0, 300).Select(i => $"user:{i}"));
        var fields = new List<string>();
        await foreach (var e in db.HashScanAsync("h", "f1*", pageSize: 20)) fields.Add($"{e.Name}={e.Value}");
        fields.Should().BeEquivalentTo(Enumerable.Range(0, 200).Where(i => $"f{i}".StartsWith("f1", StringComparison.Ordinal)).Select(i => $"f{i}={i}"));
        var members = new List<double>();
        await foreach (var e in db.SortedSetScanAsync("z", pageSize: 30)) members.Add(e.Score);
        members.Should().BeEquivalentTo(Enumerable.Range(0, 200).Select(i => (double)i));
        await server.FlushDatabaseAsync();
    });

    /// <summary>ASP.NET Core's distributed cache over Redis (hashes with a TTL): set, read, slide, remove.</summary>
    [Fact]
    public Task DistributedCache_StoresSlidesAndRemovesEntries() => AgainstBoth("resp2", async (mux, server) =>
    {
        using var cache = new RedisCache(Options.Create(new RedisCacheOptions
        {
            ConnectionMultiplexerFactory = () => Task.FromResult<IConnectionMultiplexer>(mux),
            InstanceName = "app:",
        }));
        var db = mux.GetDatabase();
        await cache.SetStringAsync("session:1", "cart=3", new DistributedCacheEntryOptions
        {
            SlidingExpiration = TimeSpan.FromSeconds(30),
            AbsoluteExpirationRelativeToNow = TimeSpan.FromMinutes(5),
        });
        (await cache.GetStringAsync("session:1")).Should().Be("cart=3");
        (await db.KeyTypeAsync("app:session:1")).Should().Be(RedisType.Hash);
        (await db.KeyTimeToLiveAsync("app:session:1")).Should().BeCloseTo(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(2));
        await db.KeyExpireAsync("app:session:1", TimeSpan.FromSeconds(5));
        await cache.RefreshAsync("session:1"); // slides the TTL back to 30 s
        (await db.KeyTimeToLiveAsync("app:session:1")).Should().BeCloseTo(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(2));
        await cache.SetAsync("blob", [0, 1, 255, 13, 10], new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(1) });
        (await cache.GetAsync("blob")).Should().Equal(0, 1, 255, 13, 10);
        Eventually.True(() => cache.Get("blob") is null, 5000).Should().BeTrue("the entry expires after its second");
        await cache.RemoveAsync("session:1");
        (await cache.GetStringAsync("session:1")).Should().BeNull();
        (await server.DatabaseSizeAsync()).Should().Be(0);
    });

    [Theory]
    [InlineData("resp2")]
    [InlineData("resp3")]
    public Task PubSub_DeliversInPublishOrder_ToChannelAndPatternSubscribers(string protocol) => AgainstBoth(protocol, async (mux, _) =>
    {
        var sub = mux.GetSubscriber();
        var exact = await sub.SubscribeAsync(RedisChannel.Literal("room:chatty"));
        var pattern = await sub.SubscribeAsync(RedisChannel.Pattern("room:*"));
        const int N = 500;
        for (int i = 0; i < N; i++)
        {
            (await sub.PublishAsync(RedisChannel.Literal("room:chatty"), $"message {i}")).Should().Be(2);
        }
        (await sub.PublishAsync(RedisChannel.Literal("elsewhere"), "nobody")).Should().Be(0);
        foreach (var (queue, kind) in new[] { (exact, "exact"), (pattern, "pattern") })
        {
            for (int i = 0; i < N; i++)
            {
                var m = await queue.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
                m.Channel.ToString().Should().Be("room:chatty", kind);
                m.Message.ToString().Should().Be($"message {i}", kind);
            }
        }
        await sub.UnsubscribeAllAsync();
        (await sub.PublishAsync(RedisChannel.Literal("room:chatty"), "gone")).Should().Be(0);
    });

    [Theory]
    [InlineData("resp2")]
    [InlineData("resp3")]
    public Task ExpirationListener_HearsEveryKeyOnce(string protocol) => AgainstBoth(protocol, async (mux, server) =>
    {
        await server.ConfigSetAsync("notify-keyspace-events", "Ex");
        var expired = new ConcurrentQueue<string>();
        var sub = mux.GetSubscriber();
        await sub.SubscribeAsync(RedisChannel.Literal("__keyevent@0__:expired"), (_, key) => expired.Enqueue(key!));
        var db = mux.GetDatabase();
        var keys = Enumerable.Range(0, 25).Select(i => $"session:{i}").ToList();
        for (int i = 0; i < keys.Count; i++) await db.StringSetAsync(keys[i], "token", TimeSpan.FromMilliseconds(20 + i * 9));
        Eventually.True(() => expired.Count >= keys.Count, 5000).Should().BeTrue("every key expires within 5 s");
        await Task.Delay(200);
        expired.Should().BeEquivalentTo(keys);
        (await server.DatabaseSizeAsync()).Should().Be(0);
        await server.ConfigSetAsync("notify-keyspace-events", "");
    });

    [Theory]
    [InlineData("resp2")]
    [InlineData("resp3")]
    public Task ConditionalTransaction_RecordsAndPublishes_OrAbortsWhenTheConditionFails(string protocol) => AgainstBoth(protocol, async (mux, server) =>
    {
        var db = mux.GetDatabase();
        var live = await mux.GetSubscriber().SubscribeAsync(RedisChannel.Literal("room:chatty"));
        var tx = db.CreateTransaction();
        tx.AddCondition(Condition.KeyNotExists("room:chatty:closed"));
        var pushed = tx.ListLeftPushAsync("room:chatty:backlog", "hello");
        var published = tx.PublishAsync(RedisChannel.Literal("room:chatty"), "hello");
        (await tx.ExecuteAsync()).Should().BeTrue();
        (await pushed).Should().Be(1);
        (await published).Should().Be(1);
        (await live.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5))).Message.ToString().Should().Be("hello");

        await db.StringSetAsync("room:chatty:closed", "1");
        var refused = db.CreateTransaction();
        refused.AddCondition(Condition.KeyNotExists("room:chatty:closed"));
        _ = refused.ListLeftPushAsync("room:chatty:backlog", "late");
        (await refused.ExecuteAsync()).Should().BeFalse();
        (await db.ListRangeAsync("room:chatty:backlog")).Select(v => v.ToString()).Should().Equal("hello");
        await server.FlushDatabaseAsync();
    });
}
