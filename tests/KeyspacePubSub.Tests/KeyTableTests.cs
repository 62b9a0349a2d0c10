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
        }
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
