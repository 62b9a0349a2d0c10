namespace KeyspacePubSub.Protocol;

/// <summary>Splits an inline request line exactly as Redis's sdssplitargs.</summary>
public static class InlineSplitter
{
    /// <summary>
    /// The arguments of one line of text (a redis.conf line: Redis splits those with sdssplitargs too), or null for
    /// unbalanced quotes.
    /// </summary>
    public static string[]? SplitArgs(string line) =>
        SplitArgs(System.Text.Encoding.UTF8.GetBytes(line))?.Select(a => System.Text.Encoding.UTF8.GetString(a)).ToArray();

    /// <summary>The arguments of a line of bytes, as sdssplitargs splits it; null for unbalanced quotes.</summary>
    public static List<byte[]>? SplitArgs(ReadOnlySpan<byte> line)
    {
        var batch = new RequestBatch();
        int count = Split(line, batch);
        if (count < 0) return null;
        var result = new List<byte[]>(count);
        if (count == 0) return result;
        batch.CompleteCommand();
        var args = batch[0];
        for (int i = 0; i < args.Count; i++) result.Add(args.ToArray(i));
        return result;
    }

    /// <summary>
    /// Appends the arguments of <paramref name="line"/> to the batch as one partial command and returns
    /// their count, or -1 for unbalanced quotes (a closing quote not followed by a space also counts).
    /// </summary>
    public static int Split(ReadOnlySpan<byte> line, RequestBatch batch)
    {
        Span<byte> token = line.Length <= 1024 ? stackalloc byte[line.Length] : new byte[line.Length];
        int p = 0, argc = 0;
        while (true)
        {
            while (p < line.Length && CString.IsSpace(line[p])) p++;
            if (p >= line.Length) return argc;
            bool inq = false, insq = false, done = false;
            int t = 0;
            while (!done)
            {
                byte c = p < line.Length ? line[p] : (byte)0;
                byte next = p + 1 < line.Length ? line[p + 1] : (byte)0;
                if (inq)
                {
                    if (c == '\\' && next == 'x' && p + 3 < line.Length && IsHex(line[p + 2]) && IsHex(line[p + 3]))
                    {
                        token[t++] = (byte)(HexValue(line[p + 2]) * 16 + HexValue(line[p + 3]));
                        p += 3;
                    }
                    else if (c == '\\' && next != 0)
                    {
                        p++;
                        token[t++] = line[p] switch
                        {
                            (byte)'n' => (byte)'\n',
                            (byte)'r' => (byte)'\r',
                            (byte)'t' => (byte)'\t',
                            (byte)'b' => (byte)'\b',
                            (byte)'a' => (byte)'\a',
                            var other => other,
                        };
                    }
                    else if (c == '"')
                    {
                        // Closing quote must be followed by a space or nothing at all.
                        if (next != 0 && !CString.IsSpace(next)) return -1;
                        done = true;
                    }
                    else if (c == 0)
                    {
                        return -1;
                    }
                    else
                    {
                        token[t++] = c;
                    }
                }
                else if (insq)
                {
                    if (c == '\\' && next == '\'')
                    {
                        p++;
                        token[t++] = (byte)'\'';
                    }
                    else if (c == '\'')
                    {
                        if (next != 0 && !CString.IsSpace(next)) return -1;
                        done = true;
                    }
                    else if (c == 0)
                    {
                        return -1;
                    }
                    else
                    {
                        token[t++] = c;
                    }
                }
                else
                {
                    switch (c)
                    {
                        case (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t' or 0:
                            done = true;
                            break;
                        case (byte)'"':
                            inq = true;
                            break;
                        case (byte)'\'':
                            insq = true;
                            break;
                        default:
                            token[t++] = c;
                            break;
                    }
                }
                if (p < line.Length) p++;
            }
            token[..t].CopyTo(batch.AddArg(t));
            argc++;
        }
    }

    private static bool IsHex(byte b) => b is >= (byte)'0' and <= (byte)'9' or >= (byte)'a' and <= (byte)'f' or >= (byte)'A' and <= (byte)'F';

    private static int HexValue(byte b) => b <= '9' ? b - '0' : (b | 0x20) - 'a' + 10;
}
