using System.Text;
using FluentAssertions;
using KeyspacePubSub.Engine.Commands;
using KeyspacePubSub.Persistence;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// A server never crashes or hangs on what a client sends: every command of the command table, with random
/// argument counts and arguments (numbers at the edges of their ranges, option words, glob and range syntax,
/// binary strings), pipelined in bursts, in and out of MULTI, in both protocols, on one or two event loops, with
/// keyspace events going to a pattern subscriber and durable keys committed to SQLite. Each command must get
/// exactly one complete reply, the server must keep answering other clients, and no command may meet a bug
/// (INFO internal_errors). Fixed seeds, so a failure replays. Mangled requests must never stop the server.
/// </summary>
public sealed class FuzzTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kps-fuzz-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // Commands whose reply is not one frame (subscriptions, MONITOR, CLIENT REPLY), that end the connection or
    // the server, or that sleep or wait (WAIT for replicas; the blocking pops are left out below).
    private static readonly HashSet<string> Excluded = new(StringComparer.OrdinalIgnoreCase)
    {
        "SHUTDOWN", "DEBUG", "MONITOR", "QUIT", "SUBSCRIBE", "UNSUBSCRIBE", "PSUBSCRIBE", "PUNSUBSCRIBE", "SSUBSCRIBE",
        "SUNSUBSCRIBE", "SAVE", "BGSAVE", "BGREWRITEAOF", "WAIT",
    };

    // Of the container commands, subcommands that leave the connection and the server as they are.
    private static readonly Dictionary<string, string[]> AllowedSubcommands = new(StringComparer.OrdinalIgnoreCase)
    {
        ["CLIENT"] = ["ID", "GETNAME", "SETNAME", "LIST", "INFO", "NO-EVICT", "NO-TOUCH", "HELP", "SETINFO"],
        ["CONFIG"] = ["GET", "RESETSTAT", "HELP"],
    };

    private static readonly string[] Words =
    [
        "0", "1", "-1", "2", "3", "10", "-10", "100", "abc", "1.5", "-2.5", "inf", "-inf", "+inf", "nan", "1e3", "0x10",
        "9223372036854775807", "-9223372036854775808", "9223372036854775808", "99999999999999999999", "",
        "(1", "[a", "(a", "-", "+", "*", "?", "[", "\\", "[^a-", "a*b?c",
        "NX", "XX", "GT", "LT", "CH", "INCR", "EX", "PX", "EXAT", "PXAT", "KEEPTTL", "GET", "WITHSCORES", "LIMIT",
        "BYSCORE", "BYLEX", "REV", "MATCH", "COUNT", "TYPE", "BEFORE", "AFTER", "LEFT", "RIGHT", "RANK", "MAXLEN",
        "IDX", "LEN", "MINMATCHLEN", "WITHMATCHLEN", "REPLACE", "DB", "ABSTTL", "BYTE", "BIT", "string", "list", "zset",
    ];

    private static readonly string[] Keys = ["k1", "k2", "k3", "room:a:backlog", "room:b:backlog", "__keyspace@0__:k1"];

    private static string RandomArg(Random rng)
    {
        switch (rng.Next(10))
        {
            case < 4:
                return Keys[rng.Next(Keys.Length)];
            case < 9:
                return Words[rng.Next(Words.Length)];
            default:
                var bytes = new byte[rng.Next(0, 24)];
                rng.NextBytes(bytes);
                return Encoding.Latin1.GetString(bytes);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task RandomCommands_EachGetOneReply_AndTheServerKeepsServing(int seed)
    {
        var persistence = new PersistenceOptions { Enabled = true, Path = Path.Combine(_dir, "f.db"), Fsync = FsyncPolicy.No };
        await using var server = await InProcessServer.StartAsync(persistence, ("notify-keyspace-events", "KEA"), ("io-threads", (seed % 2 + 1).ToString())); // 1 or 2 event loops
        var commands = server.Engine.Commands.All
            .Where(d => !Excluded.Contains(d.Name) && !d.Has(CommandFlags.Blocking)) // BLPOP... wait for a push: no reply to count on
            .SelectMany(d => d.Subcommands is null ? [(Name: new[] { d.Name }, d.Arity)]
                : d.Subcommands.Values
                    .Where(sub => !AllowedSubcommands.TryGetValue(d.Name, out var allowed) || allowed.Contains(sub.Name, StringComparer.OrdinalIgnoreCase))
                    .Select(sub => (Name: new[] { d.Name, sub.Name }, sub.Arity)))
            .OrderBy(n => string.Join(' ', n.Name), StringComparer.Ordinal)
            .ToArray();
        commands.Length.Should().BeGreaterThan(150);

        using var events = new RawClient(server.Port);
        events.Call("PSUBSCRIBE", "*").Should().Be("*3\r\n$10\r\npsubscribe\r\n$1\r\n*\r\n:1\r\n");
        using var observer = new RawClient(server.Port);
        var rng = new Random(seed);
        var clients = Enumerable.Range(0, 3).Select(_ => new RawClient(server.Port)).ToList();
        clients[0].Send("HELLO", "3"); // one client speaks RESP3 from the start (any may switch later)
        clients[0].Read();
        int errors = 0, answered = 0;
        try
        {
            for (int i = 0; i < 1500; i++)
            {
                var c = clients[rng.Next(clients.Count)];
                int burst = rng.Next(1, 12);
                string[] args = [];
                for (int b = 0; b < burst; b++)
                {
                    var (name, arity) = commands[rng.Next(commands.Length)];
                    int minimum = Math.Max(0, Math.Abs(arity) - name.Length);
                    int count = rng.Next(4) == 0 ? rng.Next(0, 7) : arity > 0 ? minimum : minimum + rng.Next(0, 5);
                    args = name.Concat(Enumerable.Range(0, count).Select(_ => RandomArg(rng))).ToArray();
                    c.Send(args);
                }
                string reply;
                try
                {
                    reply = c.Read(burst, timeoutMs: 10_000);
                }
                catch (TimeoutException ex)
                {
                    throw new Xunit.Sdk.XunitException($"no reply to burst #{i} ending {Describe(args)}: {ex.Message}");
                }
                var frames = Encoding.Latin1.GetBytes(reply);
                for (int at = 0; at < frames.Length; at += RespFrames.Measure(frames, at))
                {
                    if (frames[at] == '-') errors++;
                    else if (!frames.AsSpan(at).StartsWith("+QUEUED"u8)) answered++;
                }
                if (i % 500 == 499)
                {
                    observer.Call("PING").Should().Be("+PONG\r\n", $"the server answers others after burst #{i}");
                    events.IsSilent(0); // drains what arrived
                }
            }
            answered.Should().BeGreaterThan(1000, $"random arguments still make commands run ({errors} errors)");
            observer.Call("PING").Should().Be("+PONG\r\n");
            using var fresh = new RawClient(server.Port);
            fresh.Call("SET", "after", "fuzz").Should().Be("+OK\r\n");
            fresh.Call("GET", "after").Should().Be("$4\r\nfuzz\r\n");
            fresh.Call("INFO", "stats").Should().Contain("internal_errors:0\r\n");
        }
        finally
        {
            foreach (var c in clients) c.Dispose();
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task MangledRequests_NeverStopTheServer(int seed)
    {
        await using var server = await InProcessServer.StartAsync(("notify-keyspace-events", "KEA"));
        using var observer = new RawClient(server.Port);
        var rng = new Random(seed);
        string[] valid =
        [
            "*3\r\n$3\r\nSET\r\n$2\r\nk1\r\n$1\r\nv\r\n", "*2\r\n$4\r\nLLEN\r\n$2\r\nk2\r\n", "PING\r\n",
            "*4\r\n$4\r\nZADD\r\n$1\r\nz\r\n$1\r\n1\r\n$1\r\nm\r\n", "*1\r\n$5\r\nMULTI\r\n", "HELLO 3\r\n",
            "*2\r\n$9\r\nSUBSCRIBE\r\n$1\r\nc\r\n", "*3\r\n$7\r\nPUBLISH\r\n$1\r\nc\r\n$1\r\nm\r\n",
        ];
        for (int i = 0; i < 300; i++)
        {
            // Valid requests, then one mangled: bytes flipped, inserted, dropped, or a random tail.
            var bytes = new List<byte>();
            for (int k = rng.Next(1, 4); k > 0; k--) bytes.AddRange(Encoding.Latin1.GetBytes(valid[rng.Next(valid.Length)]));
            var mangled = Encoding.Latin1.GetBytes(valid[rng.Next(valid.Length)]).ToList();
            for (int m = rng.Next(1, 4); m > 0; m--)
            {
                int at = rng.Next(mangled.Count + 1);
                switch (rng.Next(4))
                {
                    case 0 when at < mangled.Count: mangled[at] = (byte)rng.Next(256); break;
                    case 1: mangled.Insert(at, (byte)"*$:\r\n-+0123456789\"'"[rng.Next(19)]); break;
                    case 2 when at < mangled.Count: mangled.RemoveAt(at); break;
                    default: mangled.AddRange(Enumerable.Range(0, rng.Next(1, 40)).Select(_ => (byte)rng.Next(256))); break;
                }
            }
            bytes.AddRange(mangled);
            using (var c = new RawClient(server.Port))
            {
                c.SendRaw([.. bytes]);
                c.IsSilent(rng.Next(2) == 0 ? 0 : 20); // reads what comes; the request may wait for more bytes
            }
            if (i % 30 == 29) observer.Call("PING").Should().Be("+PONG\r\n", $"after mangled request #{i}");
        }
        observer.Call("DBSIZE").Should().StartWith(":");
        observer.Call("INFO", "stats").Should().Contain("internal_errors:0\r\n", "a mangled request is a client's error, never the server's");
    }

    private static string Describe(string[] args) => string.Join(' ', args.Select(a => a.All(ch => ch is >= ' ' and <= '~') ? a : $"<{Convert.ToHexString(Encoding.Latin1.GetBytes(a))}>"));
}
