using System.Text;
using FluentAssertions;
using KeyspacePubSub.Engine.Keyspace;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>A database's key table against a Dictionary model: adds, overwrites, removes, TTLs, growth and reuse of freed entries.</summary>
public class KeyTableTests
{
    [Theory]
    [InlineData(1, 50)]
    [InlineData(2, 5_000)]
    [InlineData(3, 60_000)]
    public void RandomOperations_MatchADictionary(int seed, int keySpace)
    {
        var rng = new Random(seed);
        var db = new Database(0);
        var model = new Dictionary<string, (string Value, long ExpireAt)>();
        for (int step = 0; step < 200_000; step++)
        {
            string key = $"k{rng.Next(keySpace)}";
            byte[] k = Encoding.ASCII.GetBytes(key);
            switch (rng.Next(10))
            {
                case < 4:
                    string value = $"v{step}";
                    bool keepTtl = rng.Next(2) == 0;
                    db.Set(k, Encoding.ASCII.GetBytes(value), keepTtl, out bool existed);
                    existed.Should().Be(model.ContainsKey(key));
                    model[key] = (value, existed && keepTtl ? model[key].ExpireAt : -1);
                    break;
                case < 7:
                    db.Remove(k).Should().Be(model.Remove(key));
                    break;
                case 7:
                    if (db.KeyOf(k) is { } stored)
                    {
                        db.SetExpire(stored, step);
                        model[key] = (model[key].Value, step);
                    }
                    break;
                case 8:
                    bool hadTtl = model.TryGetValue(key, out var m) && m.ExpireAt >= 0;
                    db.RemoveExpire(k).Should().Be(hadTtl);
                    if (hadTtl) model[key] = (m.Value, -1);
                    break;
                default:
                    var got = db.GetWithExpire(k, out long expireAt);
                    if (model.TryGetValue(key, out var want))
                    {
                        Encoding.ASCII.GetString((byte[])got!).Should().Be(want.Value);
                        expireAt.Should().Be(want.ExpireAt);
                    }
                    else
                    {
                        got.Should().BeNull();
                        expireAt.Should().Be(-1);
                    }
                    break;
            }
            if (step % 20_000 == 0) Check(db, model);
            if (step % 5_000 == 0) db.ShrinkIfSparse(); // as the cron: compaction keeps every key, value and deadline
        }
        Check(db, model);
        // Every key with a TTL comes due once, at its deadline, however its deadline moved.
        var due = DueKeys(db);
        due.Should().BeEquivalentTo(model.Where(p => p.Value.ExpireAt >= 0).ToDictionary(p => p.Key, p => p.Value.ExpireAt));
        foreach (var key in due.Keys) model.Remove(key);
        Check(db, model);
        // Emptied and filled again: freed entries are reused, and every key is still found.
        foreach (var key in model.Keys.ToList()) db.Remove(Encoding.ASCII.GetBytes(key)).Should().BeTrue();
        db.Count.Should().Be(0);
        db.Keys.Should().BeEmpty();
        for (int i = 0; i < keySpace; i++) db.Set(Encoding.ASCII.GetBytes($"n{i}"), Array.Empty<byte>());
        db.Count.Should().Be(keySpace);
        for (int i = 0; i < keySpace; i += 7) db.KeyOf(Encoding.ASCII.GetBytes($"n{i}")).Should().NotBeNull();
        db.KeyOf("k0"u8).Should().BeNull();
    }

    /// <summary>
    /// Takes every deadline off the heap as expiry does (an entry that is not its key's deadline is dropped or
    /// carried to the key's later one) and deletes each key that comes due; the keys and their deadlines.
    /// </summary>
    private static Dictionary<string, long> DueKeys(Database db)
    {
        var due = new Dictionary<string, long>();
        while (db.Deadlines.TryPopDue(long.MaxValue, out var key, out long at))
        {
            if (db.GetExpire(key) != at)
            {
                db.Reindex(key, at);
                continue;
            }
            due.Add(Encoding.ASCII.GetString(key), at);
            db.Remove(key).Should().BeTrue();
        }
        return due;
    }

    /// <summary>As Redis's keyIsExpired (now &gt; when): a key lives through its deadline's own millisecond, for lookups and the expiry loop alike.</summary>
    [Fact]
    public void AKey_ExpiresOnlyOnceTheTimeIsPastItsDeadline()
    {
        var db = new Database(0);
        db.SetExpire(db.Set("k"u8, new byte[] { 1 }), 1_000);
        db.IsExpired("k"u8, 999).Should().BeFalse();
        db.IsExpired("k"u8, 1_000).Should().BeFalse("PTTL answers 0 in that millisecond, and the key is still there");
        db.IsExpired("k"u8, 1_001).Should().BeTrue();
        db.Deadlines.TryPopDue(1_000, out _, out _).Should().BeFalse();
        db.Deadlines.TryPopDue(1_001, out var key, out long at).Should().BeTrue();
        (Encoding.ASCII.GetString(key), at).Should().Be(("k", 1_000L));
    }

    [Fact]
    public void ExtendingATtl_AddsNoDeadlineEntry_AndTheKeyComesDueAtItsLastDeadline()
    {
        var db = new Database(0);
        var key = db.Set("presence"u8, new byte[] { 1 });
        for (int i = 0; i < 100_000; i++) db.SetExpire(key, 1_000 + i);
        db.Deadlines.Count.Should().Be(1, "only the first deadline was indexed");
        db.SetExpire(key, 500); // earlier: indexed
        db.SetExpire(key, 200_000);
        db.Deadlines.Count.Should().Be(2);
        DueKeys(db).Should().BeEquivalentTo(new Dictionary<string, long> { ["presence"] = 200_000 });
        db.Deadlines.Count.Should().Be(0);
    }

    [Fact]
    public void KeysDeletedAndSetAgain_LeaveStaleEntries_UntilTheHeapIsMadeAnew()
    {
        var db = new Database(0);
        for (int i = 0; i < 20_000; i++)
        {
            db.Remove("k"u8);
            db.SetExpire(db.Set("k"u8, new byte[] { 1 }), 1_000_000 - i); // each deadline earlier: each indexed
        }
        db.Set("other"u8, new byte[] { 2 });
        db.Deadlines.Count.Should().Be(20_000);
        db.ShrinkIfSparse();
        db.Deadlines.Count.Should().Be(1, "made anew from the one key with a TTL");
        DueKeys(db).Should().BeEquivalentTo(new Dictionary<string, long> { ["k"] = 1_000_000 - 19_999 });
    }

    [Fact]
    public void ATableEmptiedByDeletions_IsCompacted_KeepingKeysDeadlinesAndStamps()
    {
        var db = new Database(0);
        for (int i = 0; i < 100_000; i++) db.Set(Encoding.ASCII.GetBytes($"k{i}"), new byte[] { (byte)i });
        long full = db.TableOverhead;
        for (int i = 0; i < 100_000; i++)
        {
            if (i % 20 != 0) db.Remove(Encoding.ASCII.GetBytes($"k{i}")).Should().BeTrue();
        }
        db.SetExpire(db.KeyOf("k20"u8)!, 12_345);
        db.SetStamp("k40"u8, 777);
        db.ShrinkIfSparse();
        db.TableOverhead.Should().BeLessThan(full / 10, "5,000 keys of 100,000 are left");
        db.Count.Should().Be(5_000);
        for (int i = 0; i < 100_000; i += 20) ((byte[])db.Get(Encoding.ASCII.GetBytes($"k{i}"))!)[0].Should().Be((byte)i);
        db.Get("k1"u8).Should().BeNull();
        db.GetExpire("k20"u8).Should().Be(12_345);
        db.StampOf("k40"u8).Should().Be(777);
        db.Keys.Should().HaveCount(5_000);
        for (int i = 0; i < 1_000; i++) db.Set(Encoding.ASCII.GetBytes($"n{i}"), new byte[] { 3 });
        db.Count.Should().Be(6_000);
        db.Get("n999"u8).Should().NotBeNull();
    }

    private static void Check(Database db, Dictionary<string, (string Value, long ExpireAt)> model)
    {
        db.Count.Should().Be(model.Count);
        db.ExpiresCount.Should().Be(model.Values.Count(v => v.ExpireAt >= 0));
        db.Keys.Select(k => Encoding.ASCII.GetString(k)).Should().BeEquivalentTo(model.Keys);
        // Deadlines are step numbers: at 100,000 some are past (in the later checks), others not.
        db.LiveKeys(100_000).Select(k => Encoding.ASCII.GetString(k)).Should()
            .BeEquivalentTo(model.Where(p => p.Value.ExpireAt < 0 || p.Value.ExpireAt > 100_000).Select(p => p.Key));
        foreach (var (key, (value, expireAt)) in model)
        {
            Encoding.ASCII.GetString((byte[])db.Get(Encoding.ASCII.GetBytes(key))!).Should().Be(value);
            db.GetExpire(Encoding.ASCII.GetBytes(key)).Should().Be(expireAt);
        }
    }

    [Fact]
    public void SwapAndClear_MoveWholeTables()
    {
        var a = new Database(0);
        var b = new Database(1);
        for (int i = 0; i < 3000; i++) a.Set(Encoding.ASCII.GetBytes($"a{i}"), new byte[] { 1 });
        b.Set("b"u8, new byte[] { 2 });
        Database.Swap(a, b);
        a.Count.Should().Be(1);
        b.Count.Should().Be(3000);
        b.Get("a2999"u8).Should().NotBeNull();
        a.Get("a0"u8).Should().BeNull();
        b.Clear();
        b.Count.Should().Be(0);
        b.Get("a1"u8).Should().BeNull();
        b.Set("x"u8, new byte[] { 3 });
        b.Keys.Should().HaveCount(1);
    }
}
