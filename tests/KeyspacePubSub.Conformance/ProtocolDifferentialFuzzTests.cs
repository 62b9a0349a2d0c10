using System.Text;
using FluentAssertions;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Conformance;

/// <summary>
/// The request parser against Redis's, on random bytes: multibulk requests (binary, empty and long arguments,
/// unknown commands whose error quotes them, wrong arities), inline requests (blanks of every kind, double and
/// single quotes with their escapes, unbalanced quotes, a quote closed against a word), malformed headers
/// (counts and lengths with signs, blanks, letters, overflow), and any of these with a few bytes replaced,
/// inserted or deleted, pipelined and cut into pieces sent apart. The same bytes go to a real redis-server and
/// to ours; the bytes each sends back must be the same, and so must whether it closed the connection (after a
/// protocol error). A connection is opened again after a close and every 40 steps (a request that waits for a
/// large bulk would otherwise swallow the rest). Fixed seeds.
/// </summary>
public sealed class ProtocolDifferentialFuzzTests(ServersFixture servers) : IClassFixture<ServersFixture>
{
    /// <summary>Seeds 1 to 6, or others (<see cref="FuzzSeeds"/>).</summary>
    public static IEnumerable<object[]> Seeds() => FuzzSeeds.Range(6);

    [ConformanceTheory]
    [MemberData(nameof(Seeds))]
    public void RandomRequestBytes_GetTheSameRepliesAndTheSameClose(int seed)
    {
        var rng = new Random(seed);
        RawClient? redis = null, ours = null;
        var sent = new List<string>(); // this connection's steps, for a failure message
        try
        {
            for (int i = 0; i < 500; i++)
            {
                if (redis is null || ours is null || i % 40 == 0)
                {
                    redis?.Dispose();
                    ours?.Dispose();
                    redis = new RawClient(servers.Redis!.Port);
                    ours = new RawClient(servers.OursPort);
                    sent.Clear();
                }
                byte[] bytes = Step(rng);
                sent.Add(RespFrames.Escape(bytes));
                string step = $"seed {seed}, step #{i}, after this connection's {string.Join(" | ", sent)}";
                foreach (var piece in Pieces(rng, bytes))
                {
                    Send(redis, piece);
                    Send(ours, piece);
                    if (piece.Length < bytes.Length) Thread.Sleep(1);
                }
                var (expected, actual) = Twins.Read(redis, ours, 5, 300);
                actual.Should().Be(expected, step);
                if (redis.Closed || ours.Closed)
                {
                    redis.WaitClosed(1000);
                    ours.WaitClosed(1000);
                    ours.Closed.Should().Be(redis.Closed, $"whether the connection was closed, {step}");
                    redis.Dispose();
                    ours.Dispose();
                    redis = ours = null;
                }
            }
        }
        finally
        {
            redis?.Dispose();
            ours?.Dispose();
        }
    }

    private static void Send(RawClient client, byte[] bytes)
    {
        try
        {
            client.SendRaw(bytes);
        }
        catch (System.Net.Sockets.SocketException)
        {
            // Closed by the server while this step was on its way: the close is compared after the step.
        }
    }

    private static byte[] Step(Random rng)
    {
        int n = rng.Next(10) == 0 ? rng.Next(2, 5) : 1;
        var all = new List<byte>();
        for (int i = 0; i < n; i++)
        {
            byte[] one = rng.Next(12) switch
            {
                0 or 1 or 2 or 3 => Multibulk(Command(rng)),
                4 or 5 or 6 or 7 => Inline(rng),
                8 or 9 => Malformed(rng),
                _ => Mutate(rng, rng.Next(2) == 0 ? Multibulk(Command(rng)) : Inline(rng)),
            };
            all.AddRange(one);
        }
        return [.. all];
    }

    /// <summary>The request cut into one to three pieces.</summary>
    private static IEnumerable<byte[]> Pieces(Random rng, byte[] bytes)
    {
        int cuts = bytes.Length < 2 ? 0 : rng.Next(3);
        var at = Enumerable.Range(0, cuts).Select(_ => rng.Next(1, bytes.Length)).Distinct().Order().ToList();
        int from = 0;
        foreach (int cut in at)
        {
            yield return bytes[from..cut];
            from = cut;
        }
        yield return bytes[from..];
    }

    private static readonly string[] Names = ["ECHO", "echo", "PING", "ping", "GET", "SET", "EXISTS", "STRLEN", "ECHO"];

    private static string[] Command(Random rng)
    {
        string name = rng.Next(8) == 0 ? Arg(rng) : Names[rng.Next(Names.Length)];
        int argc = name.ToUpperInvariant() switch
        {
            "ECHO" or "GET" or "STRLEN" => rng.Next(6) == 0 ? rng.Next(3) : 1,
            "SET" => rng.Next(6) == 0 ? rng.Next(4) : 2,
            "PING" => rng.Next(3),
            _ => rng.Next(5),
        };
        var args = new List<string> { name };
        for (int i = 0; i < argc; i++) args.Add(name.ToUpperInvariant() is "SET" or "GET" or "STRLEN" && i == 0 ? "pk" : Arg(rng));
        return [.. args];
    }

    /// <summary>An argument: a word, blanks, quotes, backslashes, line ends, NUL, high bytes; now and then longer than the 128 bytes an error quotes.</summary>
    private static string Arg(Random rng)
    {
        switch (rng.Next(10))
        {
            case 0: return "";
            case 1: return new string((char)('a' + rng.Next(26)), rng.Next(120, 300));
            case 2 or 3: return Pick(rng, ["hi", "a b", "x", "helo", "42", "-1", "\"", "'", "\\", "\r\n", "\n", "\0", "a\0b", "\t", "é", "\u00ff\u0080", "*1", "$3", "+OK", "-ERR", ":1"]);
        }
        var sb = new StringBuilder();
        int length = rng.Next(1, 12);
        for (int i = 0; i < length; i++)
        {
            sb.Append(rng.Next(4) == 0 ? Pick(rng, [" ", "\t", "\"", "'", "\\", "\r", "\n", "\0", "x", "\u00e9", "\v", "\f"]) : ((char)('a' + rng.Next(26))).ToString());
        }
        return sb.ToString();
    }

    private static byte[] Multibulk(string[] args)
    {
        var sb = new StringBuilder($"*{args.Length}\r\n");
        foreach (var a in args) sb.Append($"${Encoding.Latin1.GetByteCount(a)}\r\n{a}\r\n");
        return Encoding.Latin1.GetBytes(sb.ToString());
    }

    /// <summary>An inline request as sdssplitargs reads one: words apart by any blanks, quoted or not, and the line's end.</summary>
    private static byte[] Inline(Random rng)
    {
        var sb = new StringBuilder();
        if (rng.Next(5) == 0) sb.Append(Blank(rng));
        string[] words = rng.Next(15) == 0 ? [] : Command(rng);
        for (int i = 0; i < words.Length; i++)
        {
            if (i > 0) sb.Append(Blank(rng));
            sb.Append(InlineWord(rng, words[i]));
        }
        if (rng.Next(5) == 0) sb.Append(Blank(rng));
        sb.Append(rng.Next(10) switch { 0 => "\n", 1 => "\r\r\n", 2 => "", _ => "\r\n" });
        return Encoding.Latin1.GetBytes(sb.ToString());
    }

    private static string Blank(Random rng) => rng.Next(4) switch
    {
        0 => Pick(rng, ["\t", "\v", "\f", "\r", " \t ", "   "]),
        _ => " ",
    };

    private static string InlineWord(Random rng, string word)
    {
        string clean = new(word.Where(ch => ch is not ('\n' or '\0')).ToArray()); // (a line ends at \n; Redis's strchr stops at NUL)
        string closing = rng.Next(15) == 0 ? Pick(rng, ["x", "\"", "'"]) : "";
        switch (rng.Next(5))
        {
            case 0:
            {
                // Double quotes: the escapes sdssplitargs knows, hex with and without two hex digits, others.
                var sb = new StringBuilder("\"");
                foreach (char ch in clean)
                {
                    sb.Append(ch switch
                    {
                        '"' => "\\\"",
                        '\\' => "\\\\",
                        '\r' => "\\r",
                        _ => rng.Next(8) == 0 ? $"\\x{(int)ch:x2}" : ch.ToString(),
                    });
                }
                if (rng.Next(4) == 0) sb.Append(Pick(rng, ["\\n", "\\t", "\\b", "\\a", "\\x4", "\\xg1", "\\x4G", "\\X41", "\\q", "\\", "\\x", "\\xff", "\\x00"]));
                return sb.Append(rng.Next(12) == 0 ? "" : "\"").Append(closing).ToString();
            }
            case 1:
            {
                var sb = new StringBuilder("'");
                foreach (char ch in clean) sb.Append(ch == '\'' ? "\\'" : ch.ToString());
                if (rng.Next(4) == 0) sb.Append(Pick(rng, ["\\n", "\\\\", "\\x41", "\\"]));
                return sb.Append(rng.Next(12) == 0 ? "" : "'").Append(closing).ToString();
            }
            default:
                // A quote in a bare word opens a quoted part (sdssplitargs), mostly left unbalanced: now and then.
                if (rng.Next(4) != 0) clean = new string(clean.Where(ch => ch is not ('"' or '\'')).ToArray());
                return clean.Length == 0 ? "x" : clean;
        }
    }

    private static readonly string[] Numbers =
    [
        "0", "1", "2", "3", "-1", "-5", "+1", " 1", "1 ", "01", "abc", "", "-0", "1a", "0x10", "2147483647",
        "2147483648", "9223372036854775807", "9223372036854775808", "99999999999999999999", "1048577",
        "536870912", "536870913", "4294967297", "\t2", "2\0",
    ];

    /// <summary>A multibulk request with a doubtful header: counts and lengths, the byte before each, a payload's end.</summary>
    private static byte[] Malformed(Random rng)
    {
        var sb = new StringBuilder();
        sb.Append(rng.Next(8) == 0 ? Pick(rng, ["*", "*\r", "*\n", "*\r\n"]) : $"*{(rng.Next(3) == 0 ? Pick(rng, Numbers) : rng.Next(4).ToString(System.Globalization.CultureInfo.InvariantCulture))}\r\n");
        int bulks = rng.Next(4);
        for (int i = 0; i < bulks; i++)
        {
            string payload = rng.Next(3) == 0 ? Arg(rng) : Pick(rng, ["ECHO", "PING", "x", "abc"]);
            string length = rng.Next(3) == 0 ? Pick(rng, Numbers) : Encoding.Latin1.GetByteCount(payload).ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (length.Length > 0 && length[0] != '-' && long.TryParse(length, out long big) && big > 4096) length = rng.Next(4) == 0 ? length : "4";
            sb.Append(rng.Next(10) == 0 ? Pick(rng, [":", "+", "*", "\r", "\n", "x", " "]) : "$").Append(length).Append("\r\n").Append(payload);
            sb.Append(rng.Next(8) == 0 ? Pick(rng, ["", "\r", "\n", "XY", "\r\r", "\n\n"]) : "\r\n");
        }
        return Encoding.Latin1.GetBytes(sb.ToString());
    }

    /// <summary>A few bytes replaced, inserted or deleted, mostly bytes the protocol gives a meaning to.</summary>
    private static byte[] Mutate(Random rng, byte[] bytes)
    {
        var list = bytes.ToList();
        int edits = rng.Next(1, 4);
        for (int i = 0; i < edits; i++)
        {
            byte b = rng.Next(3) == 0 ? (byte)rng.Next(256) : (byte)Pick(rng, ["\r", "\n", "*", "$", "\"", "'", "\\", " ", "\0", "0", "9", "-", "x"])[0];
            int at = rng.Next(list.Count + 1);
            switch (rng.Next(3))
            {
                case 0 when at < list.Count: list[at] = b; break;
                case 1 when at < list.Count: list.RemoveAt(at); break;
                default: list.Insert(at, b); break;
            }
        }
        return [.. list];
    }

    private static string Pick(Random rng, string[] from) => from[rng.Next(from.Length)];
}
