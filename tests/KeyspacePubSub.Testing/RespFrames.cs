using System.Text;

namespace KeyspacePubSub.Testing;

/// <summary>Splits a byte stream into complete top-level RESP2/RESP3 values (test side, independent of the server's code).</summary>
public static class RespFrames
{
    /// <summary>Length of the complete value at <paramref name="start"/>, or -1 if incomplete.</summary>
    public static int Measure(ReadOnlySpan<byte> data, int start = 0)
    {
        int pos = start;
        return Value(data, ref pos) ? pos - start : -1;
    }

    /// <summary>
    /// Length of the token at <paramref name="start"/>: one line, with a bulk string's payload; an aggregate's
    /// header alone (its elements are tokens of their own). For replies with pushes written in their middle.
    /// </summary>
    public static int TokenLength(ReadOnlySpan<byte> data, int start)
    {
        int length = data[start..].IndexOf((byte)'\n') + 1;
        if (data[start] == '$' && data[start + 1] != '-') length += int.Parse(data.Slice(start + 1, length - 3), provider: System.Globalization.CultureInfo.InvariantCulture) + 2;
        return length;
    }

    public static int Count(ReadOnlySpan<byte> data, out int consumed)
    {
        int count = 0;
        consumed = 0;
        while (consumed < data.Length)
        {
            int len = Measure(data, consumed);
            if (len < 0) break;
            consumed += len;
            count++;
        }
        return count;
    }

    private static bool Value(ReadOnlySpan<byte> d, ref int pos)
    {
        if (pos >= d.Length) return false;
        byte type = d[pos];
        int lineEnd = d[pos..].IndexOf("\r\n"u8);
        if (lineEnd < 0) return false;
        var line = Encoding.ASCII.GetString(d.Slice(pos + 1, lineEnd - 1));
        pos += lineEnd + 2;
        switch ((char)type)
        {
            case '+': case '-': case ':': case '_': case '#': case ',': case '(':
                return true;
            case '$': case '=': case '!':
            {
                long n = long.Parse(line);
                if (n < 0) return true;
                if (pos + n + 2 > d.Length) return false;
                pos += (int)n + 2;
                return true;
            }
            case '*': case '~': case '>': case '%': case '|':
            {
                long n = long.Parse(line);
                if (n < 0) return true;
                if (type is (byte)'%' or (byte)'|') n *= 2;
                for (long i = 0; i < n; i++)
                {
                    if (!Value(d, ref pos)) return false;
                }
                if (type == (byte)'|') return Value(d, ref pos); // an attribute precedes the real value
                return true;
            }
            default:
                // Not RESP (e.g. a server speaking garbage): treat the line as one frame.
                return true;
        }
    }

    /// <summary>Readable form of raw bytes for failure messages.</summary>
    public static string Escape(ReadOnlySpan<byte> bytes)
    {
        var sb = new StringBuilder();
        foreach (byte b in bytes)
        {
            sb.Append(b switch
            {
                (byte)'\r' => "\\r",
                (byte)'\n' => "\\n",
                (byte)'\\' => "\\\\",
                >= 32 and < 127 => ((char)b).ToString(),
                _ => $"\\x{b:x2}",
            });
        }
        return sb.ToString();
    }
}
