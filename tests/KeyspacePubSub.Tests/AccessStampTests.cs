using System.Text;
using FluentAssertions;
using KeyspacePubSub.Engine.Keyspace;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// The keys' access stamps (OBJECT IDLETIME / FREQ, the LRU and LFU policies): what renews them, CLIENT
/// NO-TOUCH (Redis 7.2, so not in the conformance cases against 7.0), the LFU counter's arithmetic and the
/// key table's sampling for eviction.
/// </summary>
public sealed class AccessStampTests
{
    [Fact]
    public async Task IdleTime_CountsSecondsSinceTheLastAccess_AndNoTouchClientsLeaveItAlone()
    {
        await using var server = await InProcessServer.StartAsync();
        using var c = new RawClient(server.Port);
        using var quiet = new RawClient(server.Port);
        c.Call("SET", "k", "hello").Should().Be("+OK\r\n");
        quiet.Call("CLIENT", "NO-TOUCH", "ON").Should().Be("+OK\r\n");
        await Task.Delay(2100);
        IdleSeconds(c).Should().BeInRange(2, 3);
        quiet.Call("GET", "k").Should().Be("$5\r\nhello\r\n");
        quiet.Call("EXISTS", "k").Should().Be(":1\r\n");
        IdleSeconds(c).Should().BeInRange(2, 3, "a CLIENT NO-TOUCH client's reads do not renew the stamp");
        quiet.Call("TOUCH", "k").Should().Be(":1\r\n");
        IdleSeconds(c).Should().Be(0, "TOUCH renews it even for a NO-TOUCH client");
        await Task.Delay(1100);
        c.Call("EXISTS", "k").Should().Be(":1\r\n");
        c.Call("TYPE", "k").Should().Be("+string\r\n");
        IdleSeconds(c).Should().BeInRange(1, 2, "EXISTS and TYPE do not touch");
        c.Call("GET", "k").Should().Be("$5\r\nhello\r\n");
        IdleSeconds(c).Should().Be(0);
    }

    [Fact]
    public async Task Freq_UnderLfu_RisesWithEachAccessOfANormalClientOnly()
    {
        await using var server = await InProcessServer.StartAsync(("maxmemory-policy", "allkeys-lfu"), ("lfu-log-factor", "0"), ("lfu-decay-time", "0"));
        using var c = new RawClient(server.Port);
        using var quiet = new RawClient(server.Port);
        quiet.Call("CLIENT", "NO-TOUCH", "ON").Should().Be("+OK\r\n");
        c.Call("SET", "k", "hello").Should().Be("+OK\r\n");
        c.Call("OBJECT", "FREQ", "k").Should().Be(":5\r\n", "a new value starts at LFU_INIT_VAL");
        quiet.Call("GET", "k");
        c.Call("OBJECT", "FREQ", "k").Should().Be(":5\r\n");
        for (int i = 0; i < 3; i++) c.Call("GET", "k");
        c.Call("OBJECT", "FREQ", "k").Should().Be(":8\r\n");
        c.Call("MULTI").Should().Be("+OK\r\n");
        c.Call("GET", "k");
        c.Call("INCRBYFLOAT", "f", "1.5");
        c.Call("EXEC");
        c.Call("OBJECT", "FREQ", "k").Should().Be(":9\r\n", "commands inside EXEC touch as any other");
    }

    [Fact]
    public void LfuCounter_RisesLogarithmically_AndDecaysByMinutes()
    {
        var clock = new AccessClock { Lfu = true, LogFactor = 10, DecayMinutes = 1 };
        uint stamp = clock.Fresh();
        clock.Frequency(stamp).Should().Be(AccessClock.LfuInitValue);
        for (int i = 0; i < 1000; i++) clock.Touch(ref stamp);
        // From 5, counter c rises with probability 1 / ((c - 5) * 10 + 1): 1000 hits reach about 5 + sqrt(2 * 1000 / 10).
        clock.Frequency(stamp).Should().BeInRange(12, 30);
        uint old = (stamp & 0xFF) | (((stamp >> 8) - 3) & 0xFFFF) << 8; // the same counter, last decremented 3 minutes ago
        clock.Frequency(old).Should().Be(clock.Frequency(stamp) - 3);
        clock.DecayMinutes = 0;
        clock.Frequency(old).Should().Be(clock.Frequency(stamp), "lfu-decay-time 0 never decays");
        uint full = (stamp & ~0xFFu) | 255;
        clock.Touch(ref full);
        (full & 0xFF).Should().Be(255u, "the counter saturates");
    }

    [Fact]
    public void IdleTime_WrapsWithTheTwentyFourBitClock()
    {
        AccessClock.IdleMs(AccessClock.LruNow).Should().BeLessThanOrEqualTo(1000);
        uint ahead = (AccessClock.LruNow + 10) & AccessClock.LruMax; // a stamp "after" now: the clock wrapped since
        AccessClock.IdleMs(ahead).Should().BeGreaterThan((AccessClock.LruMax - 11) * 1000L);
    }

    [Fact]
    public void Sample_ReturnsLiveEntries_AndFindsTheOnlyKeyWithATtlAmongMany()
    {
        var db = new Database(0);
        for (int i = 0; i < 5000; i++) db.Set(Encoding.ASCII.GetBytes($"k{i}"), new byte[1]);
        for (int i = 0; i < 5000; i += 2) db.Remove(Encoding.ASCII.GetBytes($"k{i}"));
        Span<int> picks = stackalloc int[16];
        for (int round = 0; round < 100; round++)
        {
            int n = db.Sample(picks, volatileOnly: false);
            n.Should().BeGreaterThan(0);
            foreach (int i in picks[..n]) db.EntryAt(i).Key.Should().NotBeNull();
            picks[..n].ToArray().Should().OnlyHaveUniqueItems("a sample holds each entry once");
        }
        db.Sample(picks, volatileOnly: true).Should().Be(0, "no key has a TTL");
        var only = db.KeyOf("k4001"u8)!;
        db.SetExpire(only, long.MaxValue / 2);
        for (int round = 0; round < 20; round++)
        {
            int n = db.Sample(picks, volatileOnly: true);
            n.Should().BeGreaterThan(0, "the one key with a TTL is found, however sparse");
            foreach (int i in picks[..n]) db.EntryAt(i).Key.Should().BeSameAs(only);
        }
    }

    [Fact]
    public void Sample_OfNoMoreKeysThanAskedFor_ReturnsEachOfThemOnce()
    {
        var db = new Database(0);
        db.Set("keep"u8, new byte[1]);
        db.Set("a"u8, new byte[1]);
        db.Set("b"u8, new byte[1]);
        db.SetExpire(db.KeyOf("a"u8)!, long.MaxValue / 2);
        db.SetExpire(db.KeyOf("b"u8)!, long.MaxValue / 2);
        Span<int> picks = stackalloc int[5];
        for (int round = 0; round < 50; round++)
        {
            int n = db.Sample(picks, volatileOnly: true);
            var keys = picks[..n].ToArray().Select(i => Encoding.ASCII.GetString(db.EntryAt(i).Key!));
            keys.Should().BeEquivalentTo(new[] { "a", "b" }, "both keys with a TTL, each once, in every sample");
            n = db.Sample(picks, volatileOnly: false);
            keys = picks[..n].ToArray().Select(i => Encoding.ASCII.GetString(db.EntryAt(i).Key!));
            keys.Should().BeEquivalentTo(new[] { "keep", "a", "b" });
        }
    }

    private static int IdleSeconds(RawClient c)
    {
        string reply = c.Call("OBJECT", "IDLETIME", "k");
        reply.Should().StartWith(":");
        return int.Parse(reply.AsSpan(1).TrimEnd("\r\n"), System.Globalization.CultureInfo.InvariantCulture);
    }
}
