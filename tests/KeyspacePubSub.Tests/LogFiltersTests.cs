using FluentAssertions;
using KeyspacePubSub.Server;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// The Logging section read by LogFilters against Microsoft.Extensions.Logging.Configuration reading it
/// (<c>LoggerFactory.Create</c> with <c>AddConfiguration</c>, as the server did until the fiftieth session): the
/// same entries pass for every category and level, through the same provider (alias Console).
/// </summary>
public sealed class LogFiltersTests
{
    private static readonly string[] Categories =
        ["KeyspacePubSub.Server.Program", "KeyspacePubSub.Server.KeyspaceServer", "Engine", "Microsoft.Extensions.Hosting", "Microsoft", "Other.Thing", "KeyspacePubSub"];

    public static TheoryData<Dictionary<string, string?>> Sections => new()
    {
        new Dictionary<string, string?>(), // no section: Information and above
        new Dictionary<string, string?> { ["Logging:LogLevel:Default"] = "Information", ["Logging:LogLevel:Microsoft"] = "Warning" }, // config/keyspacepubsub.json
        new Dictionary<string, string?> { ["Logging:LogLevel:Default"] = "warning" },
        new Dictionary<string, string?> { ["Logging:LogLevel:Default"] = "Trace", ["Logging:LogLevel:KeyspacePubSub.Server"] = "Error" },
        new Dictionary<string, string?> { ["Logging:LogLevel:Engine"] = "None", ["Logging:LogLevel:Empty"] = "" },
        new Dictionary<string, string?> { ["Logging:Console:LogLevel:Default"] = "Error", ["Logging:LogLevel:Default"] = "Debug" }, // the provider's own rule wins
        new Dictionary<string, string?> { ["Logging:Console:LogLevel:KeyspacePubSub"] = "Critical", ["Logging:OtherProvider:LogLevel:Default"] = "None" },
        new Dictionary<string, string?> { ["Logging:LogLevel:KeyspacePubSub.*"] = "Warning", ["Logging:LogLevel:Default"] = "Debug" }, // a wildcard category
        new Dictionary<string, string?> { ["Logging:KeyspacePubSub.Server.LineLoggerProvider:LogLevel:Default"] = "Warning" }, // the provider by its type's name
        new Dictionary<string, string?> { ["Logging:CaptureScopes"] = "true", ["Logging:LogLevel:Default"] = "Error" },
    };

    [Theory]
    [MemberData(nameof(Sections))]
    public void TheSection_PassesWhatAddConfigurationPasses(Dictionary<string, string?> settings)
    {
        var logging = new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection("Logging");
        string Passed(Func<ILoggerProvider, ILoggerFactory> make)
        {
            using var output = new MemoryStream();
            using (var factory = make(new LineLoggerProvider(output)))
            {
                foreach (string category in Categories)
                {
                    var logger = factory.CreateLogger(category);
                    foreach (var level in Enum.GetValues<LogLevel>().Where(l => l != LogLevel.None)) logger.Log(level, "{Category} {Level}", category, level);
                }
            }
            return string.Join('\n', System.Text.Encoding.UTF8.GetString(output.ToArray()).Split('\n').Select(line => line.Length > 24 ? line[24..] : line));
        }

        string expected = Passed(provider => LoggerFactory.Create(b => b.AddConfiguration(logging).AddProvider(provider)));
        string ours = Passed(provider => new LoggerFactory([provider], LogFilters.From(logging)));
        ours.Should().Be(expected);
        expected.Should().NotBeEmpty(settings.Count == 0 ? "Information and above pass by default" : "every section here lets something through");
    }

    [Fact]
    public void ALevelThatIsNotOne_IsRefused_AsAddConfigurationRefusesIt()
    {
        var logging = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Logging:LogLevel:Default"] = "Verbose" }).Build().GetSection("Logging");
        var act = () => LogFilters.From(logging);
        act.Should().Throw<InvalidOperationException>().WithMessage("*'Verbose'*");
    }
}
