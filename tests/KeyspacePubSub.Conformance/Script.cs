using System.Text;
using System.Text.RegularExpressions;
using KeyspacePubSub.Protocol;

namespace KeyspacePubSub.Conformance;

/// <summary>How a step's replies are compared.</summary>
public enum CompareMode { Bytes, FrameCount }

/// <summary>One request of a script: which connection sends what, and how replies are compared.</summary>
public sealed record Step(int Line, string Connection, byte[]? Payload, string Text, CompareMode Mode, List<Regex> Masks, int SleepMs, bool Close);

/// <summary>A named sequence of steps.</summary>
public sealed record ConformanceCase(string File, string Name, List<Step> Steps, List<Regex> Masks)
{
    public override string ToString() => $"{File}: {Name}";
}

/// <summary>
/// The script format, one request per line:
/// <code>
/// === case name
/// # comment
/// PING                          (connection "c")
/// sub> SUBSCRIBE foo            (connection "sub", opened on first use)
/// c> RAW "*1\r\n$4\r\nPING\r\n"  (bytes sent as written, C escapes)
/// REPEAT 70000 x                (raw bytes: the string repeated)
/// CLIENT ID ## mask :\d+        (regex masked in both transcripts before comparing)
/// CLIENT LIST ## count          (only the number of frames is compared)
/// !sleep 50  /  !close sub  /  !mask regex (for the rest of the case)
/// </code>
/// Commands are split like redis-cli (quotes and escapes) and sent as multibulk requests.
/// </summary>
public static class ScriptParser
{
    public static List<ConformanceCase> Parse(string file, string text)
    {
        var cases = new List<ConformanceCase>();
        ConformanceCase? current = null;
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].TrimEnd('\r');
            if (line.Trim().Length == 0 || line.TrimStart().StartsWith('#')) continue;
            if (line.StartsWith("=== ", StringComparison.Ordinal))
            {
                current = new ConformanceCase(file, line[4..].Trim(), [], []);
                cases.Add(current);
                continue;
            }
            if (current is null) throw new FormatException($"{file}:{i + 1}: step before the first '=== name'");
            current.Steps.AddRange(ParseStep(file, i + 1, line, current));
        }
        return cases;
    }

    private static IEnumerable<Step> ParseStep(string file, int lineNo, string line, ConformanceCase owner)
    {
        var masks = new List<Regex>();
        var mode = CompareMode.Bytes;
        int note = line.IndexOf(" ## ", StringComparison.Ordinal);
        if (note >= 0)
        {
            string directive = line[(note + 4)..].Trim();
            line = line[..note];
            if (directive == "count") mode = CompareMode.FrameCount;
            else if (directive.StartsWith("mask ", StringComparison.Ordinal)) masks.Add(new Regex(directive[5..]));
            else throw new FormatException($"{file}:{lineNo}: unknown directive '{directive}'");
        }
        string conn = "c";
        var m = Regex.Match(line, @"^([A-Za-z0-9_]+)> ?(.*)$");
        if (m.Success)
        {
            conn = m.Groups[1].Value;
            line = m.Groups[2].Value;
        }
        if (line.StartsWith('!'))
        {
            var parts = line[1..].Split(' ', 2);
            switch (parts[0])
            {
                case "sleep":
                    yield return new Step(lineNo, conn, null, line, mode, masks, int.Parse(parts[1]), false);
                    break;
                case "close":
                    yield return new Step(lineNo, parts[1].Trim(), null, line, mode, masks, 0, true);
                    break;
                case "mask":
                    owner.Masks.Add(new Regex(parts[1]));
                    break;
                default:
                    throw new FormatException($"{file}:{lineNo}: unknown '!{parts[0]}'");
            }
            yield break;
        }
        var args = Split(line) ?? throw new FormatException($"{file}:{lineNo}: unbalanced quotes");
        byte[] payload;
        if (args.Count == 2 && Encoding.ASCII.GetString(args[0]) == "RAW")
        {
            payload = args[1];
        }
        else if (args.Count == 3 && Encoding.ASCII.GetString(args[0]) == "REPEAT")
        {
            int times = int.Parse(Encoding.ASCII.GetString(args[1]));
            payload = Enumerable.Repeat(args[2], times).SelectMany(b => b).ToArray();
        }
        else
        {
            var ms = new MemoryStream();
            ms.Write(Encoding.ASCII.GetBytes($"*{args.Count}\r\n"));
            foreach (var a in args)
            {
                ms.Write(Encoding.ASCII.GetBytes($"${a.Length}\r\n"));
                ms.Write(a);
                ms.Write("\r\n"u8);
            }
            payload = ms.ToArray();
        }
        yield return new Step(lineNo, conn, payload, line, mode, masks, 0, false);
    }

    /// <summary>Splits a line as redis-cli would (sdssplitargs), by parsing it as an inline request.</summary>
    private static List<byte[]>? Split(string line)
    {
        var parser = new RequestParser();
        var batch = new RequestBatch();
        var seq = new System.Buffers.ReadOnlySequence<byte>(Encoding.Latin1.GetBytes(line + "\n"));
        if (parser.Parse(ref seq, batch, 1) == ParseStatus.Error) return null;
        var result = new List<byte[]>();
        if (batch.CommandCount == 0) return result;
        var cmd = batch[0];
        for (int i = 0; i < cmd.Count; i++) result.Add(cmd.ToArray(i));
        return result;
    }
}
