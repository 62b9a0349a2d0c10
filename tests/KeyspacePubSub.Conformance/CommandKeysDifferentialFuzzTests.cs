using FluentAssertions;
using Xunit;

namespace KeyspacePubSub.Conformance;

/// <summary>
/// COMMAND GETKEYS and GETKEYSANDFLAGS against Redis's, on random command lines: for every command and
/// subcommand this server has, lines of up to nine arguments drawn from key names, numbers that are and are not
/// key counts ("2x", " 2", "+2", a negative, an empty string) and the keywords that move keys or change their
/// flags (STORE, STREAMS, GET, KEYS, BY, LIMIT...). Both servers get the same lines in RESP2 and RESP3; the
/// replies must be the same bytes. Fixed seeds (<see cref="FuzzSeeds"/>).
/// </summary>
public sealed class CommandKeysDifferentialFuzzTests(ServersFixture servers) : IClassFixture<ServersFixture>
{
    private static readonly string[] Pool =
    [
        "k1", "k2", "k3", "0", "1", "2", "3", "-1", "2x", " 2", "+2", "", "4294967297", "STORE", "store", "STOREDIST",
        "STREAMS", "GET", "get", "SET", "INCRBY", "OVERFLOW", "BY", "LIMIT", "KEYS", "GROUP", "COUNT", "BLOCK",
        "NOACK", "WEIGHTS", "LEFT", "FROMMEMBER", "BYRADIUS", "km", "$", ">",
    ];

    public static IEnumerable<object[]> Seeds() => FuzzSeeds.Range(2);

    [ConformanceTheory]
    [MemberData(nameof(Seeds))]
    public void RandomCommandLines_GetRedissKeysAndFlags(int seed)
    {
        var rng = new Random(seed);
        using var clients = new BothProtocols(servers);
        // Every command and subcommand but those Redis 7.0 does not know (see CommandTableTests).
        var names = CommandTableTests.Names(clients.Resp2.Ours.Call("COMMAND", "LIST")).Except(CommandTableTests.Newer).ToList();
        names.Should().HaveCountGreaterThan(300);
        int keysFound = 0;
        foreach (string name in names)
        {
            for (int line = 0; line < 30; line++)
            {
                var args = new List<string> { "COMMAND", rng.Next(2) == 0 ? "GETKEYS" : "GETKEYSANDFLAGS" };
                args.AddRange(name.Split('|'));
                int count = rng.Next(10);
                for (int i = 0; i < count; i++) args.Add(Pool[rng.Next(Pool.Length)]);
                var (redis, ours) = rng.Next(2) == 0 ? clients.Resp2 : clients.Resp3;
                string expected = redis.Call([.. args]);
                ours.Call([.. args]).Should().Be(expected, $"seed {seed}: {string.Join(' ', args.Select(a => $"\"{a}\""))}");
                if (!expected.StartsWith('-')) keysFound++;
            }
        }
        keysFound.Should().BeGreaterThan(500, "lines that have keys are a good share of those drawn");
    }
}
