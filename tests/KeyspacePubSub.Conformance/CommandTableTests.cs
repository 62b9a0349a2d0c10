using System.Text;
using System.Text.RegularExpressions;
using FluentAssertions;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Conformance;

/// <summary>
/// The command table as COMMAND shows it, for every command and subcommand we have, against real Redis: the
/// flags and ACL categories of COMMAND INFO, the group of COMMAND DOCS, and the names COMMAND LIST gives with
/// and without its filters; and every command's whole COMMAND INFO (tips and key specs included) and COMMAND
/// DOCS, in both protocols.
/// </summary>
public sealed partial class CommandTableTests(ServersFixture servers) : IClassFixture<ServersFixture>
{
    // Subcommands Redis 7.2 added that clients send on connecting (node-redis, redis-py): Redis 7.0 lacks them.
    internal static readonly string[] Newer = ["client|setinfo", "client|no-touch"];

    /// <summary>The names in a COMMAND LIST reply.</summary>
    internal static List<string> Names(string reply) => BulkRegex().Matches(reply).Select(m => m.Groups[1].Value).ToList();

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

    /// <summary>The elements of the aggregate that <paramref name="text"/> starts with (a map's keys and values alternate), each as its text.</summary>
    private static List<string> Elements(string text)
    {
        var bytes = Encoding.Latin1.GetBytes(text);
        int header = text.IndexOf('\n') + 1;
        int count = int.Parse(text[1..(header - 2)], System.Globalization.CultureInfo.InvariantCulture) * (text[0] == '%' ? 2 : 1);
        var items = new List<string>();
        for (int i = 0, pos = header; i < count; i++)
        {
            int length = RespFrames.Measure(bytes, pos);
            items.Add(text.Substring(pos, length));
            pos += length;
        }
        return items;
    }

    /// <summary>
    /// Subcommand entries as a set: Redis lists them in its dict's order, which differs from run to run. This
    /// server has some of a container's subcommands (FUNCTION FLUSH alone of FUNCTION's); those of Redis 7.2 are left out.
    /// </summary>
    private static IEnumerable<string> Entries(IEnumerable<string> items) => items.Where(e => !Newer.Any(n => e.Contains($"\r\n{n}\r\n", StringComparison.Ordinal)));

    [ConformanceFact]
    public void EveryCommand_HasRedissWholeInfoAndDocs_InBothProtocols()
    {
        using var clients = new BothProtocols(servers);
        var names = Names(clients.Resp2.Ours.Call("COMMAND", "LIST")).Except(Newer).ToList();
        names.Should().HaveCountGreaterThan(300);
        foreach (var (redis, ours) in clients.Both)
        {
            foreach (string name in names)
            {
                // COMMAND INFO: name, arity, flags, key positions, categories, tips, key specs, then subcommands.
                var expected = Elements(Elements(redis.Call("COMMAND", "INFO", name))[0]);
                var actual = Elements(Elements(ours.Call("COMMAND", "INFO", name))[0]);
                actual.Take(9).Should().Equal(expected.Take(9), $"COMMAND INFO {name}");
                actual[9][0].Should().Be(expected[9][0], $"the type of COMMAND INFO {name}'s subcommands");
                Entries(Elements(actual[9])).Should().BeSubsetOf(Entries(Elements(expected[9])), $"COMMAND INFO {name}'s subcommands (those this server has)");

                // COMMAND DOCS: the name, then its documentation, with its subcommands' own.
                var docs = Elements(Elements(ours.Call("COMMAND", "DOCS", name))[1]);
                var redisDocs = Elements(Elements(redis.Call("COMMAND", "DOCS", name))[1]);
                docs.Where((_, i) => i % 2 == 0).Should().Equal(redisDocs.Where((_, i) => i % 2 == 0), $"COMMAND DOCS {name}'s fields");
                for (int i = 1; i < docs.Count; i += 2)
                {
                    if (docs[i - 1].EndsWith("\r\nsubcommands\r\n", StringComparison.Ordinal))
                    {
                        var pairs = Elements(docs[i]).Chunk(2).Select(p => p[0] + p[1]);
                        var redisPairs = Elements(redisDocs[i]).Chunk(2).Select(p => p[0] + p[1]);
                        Entries(pairs).Should().NotBeEmpty().And.BeSubsetOf(Entries(redisPairs), $"COMMAND DOCS {name}'s subcommands (those this server has)");
                    }
                    else
                    {
                        docs[i].Should().Be(redisDocs[i], $"COMMAND DOCS {name}: {docs[i - 1].Trim()}");
                    }
                }
            }
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
