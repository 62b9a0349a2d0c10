using FluentAssertions;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// HSCAN, SSCAN and ZSCAN paging through hash-table-encoded values. Redis's pages and cursors come from its
/// dict's internals, so instead of comparing with Redis these check its guarantee: a full iteration returns
/// every entry present from its start to its end, returns nothing that was never there, and ends at cursor 0,
/// while entries are added, removed and (sorted sets) rescored between the pages. (The compact encodings,
/// answered whole with cursor 0, are compared with Redis in cases/37-encodings-scan.txt.)
/// </summary>
public class ValueScanTests
{
    [Theory]
    [InlineData("hash", 2000, 300, 3, 20)]
    [InlineData("set", 2000, 300, 3, 20)]
    [InlineData("zset", 2000, 300, 3, 20)]
    // From 620 entries down past 512, where removal shifts the later entries to keep their order.
    [InlineData("hash", 520, 100, 10, 0)]
    [InlineData("set", 520, 100, 10, 0)]
    public async Task FullIteration_ReturnsEveryEntryPresentThroughout(string kind, int old, int gone, int removePerPage, int addPerPage)
    {
        await using var server = await InProcessServer.StartAsync();
        using var c = new RawClient(server.Port);
        for (int i = 0; i < old; i++) Add(c, kind, $"old:{i}", i);
        for (int i = 0; i < gone; i++) Add(c, kind, $"gone:{i}", i);
        c.Read(old + gone);
        c.Call("OBJECT", "ENCODING", "v").Should().Be(kind == "zset" ? "$8\r\nskiplist\r\n" : "$9\r\nhashtable\r\n");

        var seen = new HashSet<string>();
        string cursor = "0";
        int page = 0, removed = 0;
        do
        {
            var parts = c.Call(kind[0] + "SCAN", "v", cursor, "COUNT", "17").Split("\r\n");
            cursor = parts[2];
            int step = kind == "set" ? 2 : 4; // a set replies members; a hash or sorted set pairs them with values
            for (int i = 5; i < parts.Length - 1; i += step) seen.Add(parts[i]);
            for (int i = 0; i < removePerPage && removed < gone; i++, removed++) Remove(c, kind, $"gone:{removed}");
            for (int i = 0; i < addPerPage; i++) Add(c, kind, $"new:{page}:{i}", -i);
            c.Read(addPerPage);
            if (kind == "zset") c.Call("ZINCRBY", "v", "-5000", $"old:{page % old}"); // moves it to the front of the order
            if (kind == "hash") c.Call("HSET", "v", $"old:{page % old}", "changed");
            page++;
            page.Should().BeLessThan(5000, "an iteration ends (the cursor comes back to 0)");
        }
        while (cursor != "0");

        page.Should().BeGreaterThan((old + gone) / 17 - 1, "a hash table is answered in pages of about COUNT entries");
        Enumerable.Range(0, old).Select(i => $"old:{i}").Should().BeSubsetOf(seen);
        seen.Should().OnlyContain(m => m.StartsWith("old:") || m.StartsWith("gone:") || m.StartsWith("new:"));
    }

    [Fact]
    public async Task Pages_FilterWithMatchAfterTakingCountEntries()
    {
        await using var server = await InProcessServer.StartAsync();
        using var c = new RawClient(server.Port);
        for (int i = 0; i < 1000; i++) c.Send("SADD", "s", $"m{i}");
        c.Read(1000);
        var matched = new List<string>();
        string cursor = "0";
        int pages = 0, emptyPages = 0;
        do
        {
            var parts = c.Call("SSCAN", "s", cursor, "MATCH", "m1??", "COUNT", "50").Split("\r\n");
            cursor = parts[2];
            int n = int.Parse(parts[3][1..]);
            if (n == 0) emptyPages++;
            for (int i = 5; i < parts.Length - 1; i += 2) matched.Add(parts[i]);
            pages++;
        }
        while (cursor != "0");
        pages.Should().Be(20);
        emptyPages.Should().BeGreaterThan(0, "MATCH filters a page after its COUNT entries were taken, as Redis");
        matched.Should().BeEquivalentTo(Enumerable.Range(100, 900).Where(i => i < 200).Select(i => $"m{i}"));
    }

    [Fact]
    public async Task CursorPastTheEnd_ScansFromTheTop_AndAMissingKeyIsAnEmptyScan()
    {
        await using var server = await InProcessServer.StartAsync();
        using var c = new RawClient(server.Port);
        for (int i = 0; i < 600; i++) c.Send("HSET", "h", $"f{i}", "v");
        c.Read(600);
        c.Call("HSCAN", "h", "99999999", "COUNT", "5").Should().StartWith("*2\r\n$3\r\n595\r\n*10\r\n");
        c.Call("HSCAN", "h", "3", "COUNT", "5").Should().StartWith("*2\r\n$1\r\n0\r\n*6\r\n");
        c.Call("HSCAN", "nokey", "7").Should().Be("*2\r\n$1\r\n0\r\n*0\r\n");
    }

    private static void Add(RawClient c, string kind, string member, int score)
    {
        switch (kind)
        {
            case "hash": c.Send("HSET", "v", member, "x"); break;
            case "set": c.Send("SADD", "v", member); break;
            default: c.Send("ZADD", "v", score.ToString(), member); break;
        }
    }

    private static void Remove(RawClient c, string kind, string member)
    {
        string command = kind switch { "hash" => "HDEL", "set" => "SREM", _ => "ZREM" };
        c.Call(command, "v", member).Should().Be(":1\r\n");
    }
}
