using System.Text.RegularExpressions;
using FluentAssertions;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Conformance;

/// <summary>
/// The command table as COMMAND shows it, for every command and subcommand we have, against real Redis: the
/// flags and ACL categories of COMMAND INFO, the group of COMMAND DOCS, and the names COMMAND LIST gives with
/// and without its filters. (Key specs and tips are not modelled: COMMAND INFO answers them empty.)
/// </summary>
public sealed partial class CommandTableTests(ServersFixture servers) : IClassFixture<ServersFixture>
{
    // Subcommands Redis 7.2 added that clients send on connecting (node-redis, redis-py): Redis 7.0 lacks them.
    private static readonly string[] Newer = ["client|setinfo", "client|no-touch"];

    private static List<string> Names(string reply) => BulkRegex().Matches(reply).Select(m => m.Groups[1].Value).ToList();

    [GeneratedRegex(@"\$\d+\r\n([^\r]*)\r\n")]
    private static partial Regex BulkRegex();

    // *1, *10, name, arity, *n flags (+flag...), first, last, step, *n categories (+@cat...).
    [GeneratedRegex(@"^\*1\r\n\*10\r\n\$\d+\r\n[^\r]*\r\n:-?\d+\r\n\*\d+\r\n((?:\+[^\r]*\r\n)*):-?\d+\r\n:-?\d+\r\n:-?\d+\r\n\*\d+\r\n((?:\+@[^\r]*\r\n)*)")]
    private static partial Regex InfoRegex();

    private static (string Flags, string Categories) Info(RawClient c, string name)
    {
        var m = InfoRegex().Match(c.Call("COMMAND", "INFO", name));
        m.Success.Should().BeTrue($"COMMAND INFO {name} has the shape of one entry");
        return (m.Groups[1].Value, m.Groups[2].Value);
    }

    [ConformanceFact]
    public void EveryCommand_HasRedissFlagsAclCategoriesAndGroup()
    {
        using var redis = new RawClient(servers.Redis!.Port);
        using var ours = new RawClient(servers.OursPort);
        var names = Names(ours.Call("COMMAND", "LIST"));
        names.Should().Contain(["get", "client", "client|kill", "zrandmember"]);
        names.Except(Newer).Should().BeSubsetOf(Names(redis.Call("COMMAND", "LIST")));
        foreach (string name in names.Except(Newer))
        {
            // Flags in Redis's order, categories in its category table's order.
            Info(ours, name).Should().Be(Info(redis, name), $"COMMAND INFO {name}");
            if (name.Contains('|')) continue;
            string group = Regex.Match(redis.Call("COMMAND", "DOCS", name), @"\$5\r\ngroup\r\n\$\d+\r\n([^\r]*)\r\n").Groups[1].Value;
            ours.Call("COMMAND", "DOCS", name).Should().Contain($"$5\r\ngroup\r\n${group.Length}\r\n{group}\r\n", $"COMMAND DOCS {name}");
        }
    }

    [ConformanceTheory]
    [InlineData("PATTERN", "CLIENT*")]
    [InlineData("PATTERN", "*kill*")]
    [InlineData("PATTERN", "z[a-r]*")]
    [InlineData("ACLCAT", "Dangerous")]
    [InlineData("ACLCAT", "sortedset")]
    [InlineData("ACLCAT", "keyspace")]
    [InlineData("ACLCAT", "nosuch")]
    public void CommandListFilters_NameWhatRedisNames(string filter, string value)
    {
        using var redis = new RawClient(servers.Redis!.Port);
        using var ours = new RawClient(servers.OursPort);
        var all = Names(ours.Call("COMMAND", "LIST"));
        var expected = Names(redis.Call("COMMAND", "LIST", "FILTERBY", filter, value)).Intersect(all);
        Names(ours.Call("COMMAND", "LIST", "FILTERBY", filter, value)).Except(Newer).Should().BeEquivalentTo(expected);
    }
}
