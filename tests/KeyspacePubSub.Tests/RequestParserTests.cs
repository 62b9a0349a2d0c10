using System.Buffers;
using System.Text;
using FluentAssertions;
using KeyspacePubSub.Protocol;
using Xunit;

namespace KeyspacePubSub.Tests;

public class RequestParserTests
{
    private static List<string[]> ParseAll(byte[] input, out ParseStatus status, out string? error, params int[] splits)
    {
        var parser = new RequestParser();
        var batch = new RequestBatch();
        var commands = new List<string[]>();
        var buffer = new List<byte>();
        int fed = 0;
        status = ParseStatus.NeedMore;
        error = null;
        foreach (int end in splits.Append(input.Length))
        {
            buffer.AddRange(input[fed..end]);
            fed = end;
            var seq = new ReadOnlySequence<byte>(buffer.ToArray());
            status = parser.Parse(ref seq, batch, int.MaxValue);
            for (int i = 0; i < batch.CommandCount; i++)
            {
                var c = batch[i];
                commands.Add(Enumerable.Range(0, c.Count).Select(c.GetString).ToArray());
            }
            batch.Reset();
            buffer = [.. seq.ToArray()];
            if (status == ParseStatus.Error)
            {
                error = parser.Error;
                break;
            }
        }
        return commands;
    }

    public static TheoryData<string> Frames => new()
    {
        "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n",
        "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n*1\r\n$4\r\nPING\r\n",
        "PING\r\nECHO \"a b\\x41\" 'c\\'d'\r\n",
        "*0\r\n*1\r\n$4\r\nPING\r\n",
    };

    [Theory]
    [MemberData(nameof(Frames))]
    public void Parse_SplitAtEveryByte_GivesSameCommands(string frame)
    {
        var bytes = Encoding.Latin1.GetBytes(frame);
        var whole = ParseAll(bytes, out var s, out _);
        s.Should().Be(ParseStatus.NeedMore);
        whole.Should().NotBeEmpty();
        for (int split = 1; split < bytes.Length; split++)
        {
            ParseAll(bytes, out _, out _, split).Should().BeEquivalentTo(whole, o => o.WithStrictOrdering(), $"split at {split}");
        }
        for (int a = 1; a < bytes.Length; a += 3)
        {
            for (int b = a + 1; b < bytes.Length; b += 5)
            {
                ParseAll(bytes, out _, out _, a, b).Should().BeEquivalentTo(whole, o => o.WithStrictOrdering(), $"splits at {a},{b}");
            }
        }
    }

    [Fact]
    public void Parse_Inline_SplitsLikeSdssplitargs()
    {
        var cmds = ParseAll(Encoding.Latin1.GetBytes("SET \"a\\nb\" 'it\\'s' \"\\x41\\x4a\" plain\r\n"), out _, out _);
        cmds.Should().ContainSingle().Which.Should().Equal("SET", "a\nb", "it's", "AJ", "plain");
    }

    [Theory]
    [InlineData("*abc\r\n", Errors.ProtoInvalidMbulk)]
    [InlineData("*2147483648\r\n", Errors.ProtoInvalidMbulk)]
    [InlineData("*1\r\n:4\r\n", "ERR Protocol error: expected '$', got ':'")]
    [InlineData("*1\r\n$-1\r\n", Errors.ProtoInvalidBulk)]
    [InlineData("*1\r\n$536870913\r\n", Errors.ProtoInvalidBulk)]
    [InlineData("ECHO \"abc\r\n", Errors.ProtoUnbalancedQuotes)]
    [InlineData("ECHO 'abc'x\r\n", Errors.ProtoUnbalancedQuotes)]
    public void Parse_Malformed_ReportsRedisError(string input, string expected)
    {
        ParseAll(Encoding.Latin1.GetBytes(input), out var status, out var error);
        status.Should().Be(ParseStatus.Error);
        error.Should().Be(expected);
    }

    [Fact]
    public void Parse_GigabyteBulkHeader_IsRefusedBeforeAllocating()
    {
        var parser = new RequestParser();
        var batch = new RequestBatch();
        var seq = new ReadOnlySequence<byte>("*1\r\n$1073741824\r\n"u8.ToArray());
        parser.Parse(ref seq, batch, 10).Should().Be(ParseStatus.Error);
        batch.ArenaBytes.Should().BeLessThan(4096);
    }

    [Fact]
    public void Parse_LongLineWithoutNewline_IsTooBigInline()
    {
        ParseAll(Encoding.ASCII.GetBytes(new string('x', 70000)), out var status, out var error);
        status.Should().Be(ParseStatus.Error);
        error.Should().Be(Errors.ProtoTooBigInline);
    }

    [Fact]
    public void Parse_UnauthenticatedLimits_Apply()
    {
        var parser = new RequestParser { AuthRequired = true };
        var seq = new ReadOnlySequence<byte>("*11\r\n"u8.ToArray());
        parser.Parse(ref seq, new RequestBatch(), 10).Should().Be(ParseStatus.Error);
        parser.Error.Should().Be(Errors.ProtoUnauthMbulk);
    }

    [Fact]
    public void Parse_PartialCommand_SurvivesReset()
    {
        var parser = new RequestParser();
        var batch = new RequestBatch();
        var seq = new ReadOnlySequence<byte>("*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n"u8.ToArray());
        parser.Parse(ref seq, batch, 10).Should().Be(ParseStatus.NeedMore);
        batch.CommandCount.Should().Be(1);
        batch.Reset();
        var rest = new ReadOnlySequence<byte>("$2\r\nhi\r\n"u8.ToArray());
        parser.Parse(ref rest, batch, 10);
        batch.CommandCount.Should().Be(1);
        batch[0].GetString(0).Should().Be("ECHO");
        batch[0].GetString(1).Should().Be("hi");
    }

    [Theory]
    [InlineData("0", true, 0L)]
    [InlineData("-5", true, -5L)]
    [InlineData("9223372036854775807", true, long.MaxValue)]
    [InlineData("-9223372036854775808", true, long.MinValue)]
    [InlineData("9223372036854775808", false, 0L)]
    [InlineData("+1", false, 0L)]
    [InlineData("01", false, 0L)]
    [InlineData("-0", false, 0L)]
    [InlineData(" 1", false, 0L)]
    [InlineData("", false, 0L)]
    public void Strict_ParsesLikeString2ll(string text, bool ok, long value)
    {
        Strict.TryParseInt64(Encoding.ASCII.GetBytes(text), out long v).Should().Be(ok);
        if (ok) v.Should().Be(value);
    }
}
