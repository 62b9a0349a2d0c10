using System.Text.RegularExpressions;
using FluentAssertions;
using KeyspacePubSub.Persistence;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// Checkpoints whose pages were written into the database file ahead of them (CheckpointAhead) while clients
/// kept committing: every commit is there, read back from the file after the WAL restarted over it and after a
/// restart, and SQLite finds the file intact.
/// </summary>
public sealed class CheckpointAheadTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kps-ahead-").FullName;

    private string DbPath => Path.Combine(_dir, "ahead.db");

    private PersistenceOptions Options() => new() { Enabled = true, Path = DbPath, KeyPatterns = ["room:*:backlog", "durable:*"], Fsync = FsyncPolicy.Everysec };

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>What client <paramref name="id"/>'s writes leave: its list (the last 500 pushes), its sorted set and its string.</summary>
    private sealed class Model(int id)
    {
        public readonly List<string> List = [];
        public readonly SortedDictionary<string, long> Zset = new(StringComparer.Ordinal);
        public string? Value;

        public string ListKey => $"room:w{id}:backlog";
        public string ZsetKey => $"durable:z{id}";
        public string StringKey => $"durable:s{id}";

        /// <summary>Write <paramref name="n"/>: a push (trimmed to 500 every 7th), a ZADD every 11th, a SET every 13th.</summary>
        public string[][] Write(int n)
        {
            var commands = new List<string[]> { new[] { "RPUSH", ListKey, $"m{id}-{n}-{new string('x', n % 300)}" } };
            List.Add(commands[0][2]);
            if (n % 7 == 0)
            {
                commands.Add(["LTRIM", ListKey, "-500", "-1"]);
                if (List.Count > 500) List.RemoveRange(0, List.Count - 500);
            }
            if (n % 11 == 0)
            {
                commands.Add(["ZADD", ZsetKey, n.ToString(), $"member{n % 300}"]);
                Zset[$"member{n % 300}"] = n;
            }
            if (n % 13 == 0)
            {
                commands.Add(["SET", StringKey, $"v{n}"]);
                Value = $"v{n}";
            }
            return [.. commands];
        }

        public void Check(RawClient c)
        {
            var list = c.Call("LRANGE", ListKey, "0", "-1").Split("\r\n").Where(l => l.StartsWith('m')).ToList();
            list.Should().Equal(List, $"{ListKey} holds every push since its last trim, in order");
            var zset = c.Call("ZRANGE", ZsetKey, "0", "-1", "WITHSCORES").Split("\r\n").Where(l => l.Length > 0 && l[0] != '*' && l[0] != '$').ToList();
            var expected = Zset.OrderBy(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).SelectMany(kv => new[] { kv.Key, kv.Value.ToString() }).ToList();
            zset.Should().Equal(expected, $"{ZsetKey} holds each member's last score");
            c.Call("GET", StringKey).Should().Be($"${Value!.Length}\r\n{Value}\r\n");
        }
    }

    [Fact]
    public async Task CommitsDuringCheckpointsWithPagesWrittenAhead_AreAllInAnIntactFile_BeforeAndAfterARestart()
    {
        const int clients = 4, writes = 9_000; // ~40,000 commits: four checkpoints of ~10,000 WAL frames
        var models = Enumerable.Range(0, clients).Select(id => new Model(id)).ToArray();
        await using (var s = await InProcessServer.StartAsync(Options()))
        {
            // Dedicated threads: blocking clients on pool threads would wait for the pool to grow.
            var workers = models.Select(m => Task.Factory.StartNew(() =>
            {
                using var c = new RawClient(s.Port);
                for (int n = 0; n < writes; n++)
                {
                    foreach (var command in m.Write(n)) c.Call(command).Should().NotStartWith("-");
                }
            }, TaskCreationOptions.LongRunning)).ToArray();
            await Task.WhenAll(workers);
            using var probe = new RawClient(s.Port);
            string info = probe.Call("INFO", "persistence");
            long Field(string name) => long.Parse(Regex.Match(info, name + @":(\d+)").Groups[1].Value);
            Field("durable_checkpoints").Should().BeGreaterThanOrEqualTo(2);
            Field("durable_failed_commits").Should().Be(0);
            // Pages went into the file ahead, and checkpoints skipped copying them (not every page: the last round
            // leaves the frames committed meanwhile to SQLite).
            Field("durable_checkpoint_pages_ahead").Should().BeGreaterThan(0);
            Field("durable_checkpoint_pages_skipped").Should().BeGreaterThan(0).And.BeLessThanOrEqualTo(Field("durable_checkpoint_pages_ahead"));
            // Read back after the checkpoints: pages no longer in the WAL come from the database file.
            foreach (var m in models) m.Check(probe);
        }
        SqliteFile.IntegrityCheck(DbPath).Should().Be("ok");
        await using (var s = await InProcessServer.StartAsync(Options()))
        {
            using var c = new RawClient(s.Port);
            foreach (var m in models) m.Check(c);
        }
    }
}
