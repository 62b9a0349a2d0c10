using System.Buffers;

namespace KeyspacePubSub.Protocol;

/// <summary>Outcome of one <see cref="RequestParser.Parse"/> call.</summary>
public enum ParseStatus
{
    /// <summary>Everything complete has been parsed; more bytes are needed for the rest.</summary>
    NeedMore,
    /// <summary>The command limit for this call was reached; call again after executing.</summary>
    Full,
    /// <summary>The stream is malformed: reply the error and close the connection (Redis's setProtocolError).</summary>
    Error,
}

/// <summary>
/// Incremental RESP request parser following Redis 7.0's processMultibulkBuffer / processInlineBuffer:
/// the same limits, the same error texts, the same leniencies (the byte after '\r' is not checked).
/// Consumed bytes are copied into a <see cref="RequestBatch"/>; it never throws for incomplete input.
/// </summary>
public sealed class RequestParser
{
    public const int InlineMaxSize = 64 * 1024;   // PROTO_INLINE_MAX_SIZE
    private const int UnauthMaxArgs = 10;
    private const int UnauthMaxBulk = 16384;

    private long _argsRemaining;   // > 0 while inside a multibulk request

    /// <summary>proto-max-bulk-len (default 512 MiB).</summary>
    public long MaxBulkLength { get; set; } = 512L * 1024 * 1024;

    /// <summary>When true, the unauthenticated limits apply (10 arguments, 16 KiB per argument).</summary>
    public bool AuthRequired { get; set; }

    /// <summary>Error text for the last <see cref="ParseStatus.Error"/>.</summary>
    public string? Error { get; private set; }

    /// <summary>Parses from a sequence (copied when it has several segments); advances it past what was consumed.</summary>
    public ParseStatus Parse(ref ReadOnlySequence<byte> buffer, RequestBatch batch, int maxCommands)
    {
        ReadOnlySpan<byte> span = buffer.IsSingleSegment ? buffer.FirstSpan : buffer.ToArray();
        int consumed = 0;
        var status = Parse(span, ref consumed, batch, maxCommands);
        buffer = buffer.Slice(consumed);
        return status;
    }

    /// <summary>Parses <paramref name="data"/> from <paramref name="consumed"/>, advancing it past every byte used.</summary>
    public ParseStatus Parse(ReadOnlySpan<byte> data, ref int consumed, RequestBatch batch, int maxCommands)
    {
        while (true)
        {
            if (batch.CommandCount >= maxCommands) return ParseStatus.Full;
            var rest = data[consumed..];
            if (rest.IsEmpty) return ParseStatus.NeedMore;
            ParseStatus? status;
            int used;
            if (_argsRemaining > 0) status = ParseBulk(rest, batch, out used);
            else if (rest[0] == (byte)'*') status = ParseMultibulkHeader(rest, out used);
            else status = ParseInline(rest, batch, out used);
            consumed += used;
            if (status != null) return status.Value;
        }
    }

    private ParseStatus? ParseMultibulkHeader(ReadOnlySpan<byte> rest, out int used)
    {
        used = 0;
        int line = TryReadHeader(rest, out bool tooBig, out bool ok, out long count);
        if (line < 0) return tooBig ? Fail(Errors.ProtoTooBigMbulk) : ParseStatus.NeedMore;
        if (!ok || count > int.MaxValue) return Fail(Errors.ProtoInvalidMbulk);
        if (count > UnauthMaxArgs && AuthRequired) return Fail(Errors.ProtoUnauthMbulk);
        used = line;
        // As Redis: "Multibulk processing could see a <= 0 length" — nothing to execute.
        if (count > 0) _argsRemaining = count;
        return null;
    }

    private ParseStatus? ParseBulk(ReadOnlySpan<byte> rest, RequestBatch batch, out int used)
    {
        used = 0;
        int line = TryReadHeader(rest, out bool tooBig, out bool ok, out long length);
        if (line < 0) return tooBig ? Fail(Errors.ProtoTooBigBulk) : ParseStatus.NeedMore;
        if (rest[0] != (byte)'$') return Fail(Errors.ProtoExpectedDollar(rest[0]));
        if (!ok || length < 0 || length > MaxBulkLength) return Fail(Errors.ProtoInvalidBulk);
        if (length > UnauthMaxBulk && AuthRequired) return Fail(Errors.ProtoUnauthBulk);
        if (rest.Length < line + length + 2) return ParseStatus.NeedMore;
        rest.Slice(line, (int)length).CopyTo(batch.AddArg((int)length));
        used = line + (int)length + 2; // as Redis, the two bytes after the payload are not checked
        if (--_argsRemaining == 0) batch.CompleteCommand();
        return null;
    }

    /// <summary>
    /// Finds a header line ending in '\r' plus one more byte (as Redis, which does not check it is '\n').
    /// Returns its full length including both terminator bytes, or -1 when incomplete; parses the
    /// number after the type byte with string2ll's rules.
    /// </summary>
    private static int TryReadHeader(ReadOnlySpan<byte> rest, out bool tooBig, out bool numberOk, out long number)
    {
        numberOk = false;
        number = 0;
        int cr = LineEnd(rest, (byte)'\r');
        tooBig = cr < 0 && rest.Length > InlineMaxSize;
        if (cr < 0 || rest.Length < cr + 2) return -1;
        numberOk = cr >= 1 && cr - 1 <= 24 && Strict.TryParseInt64(rest[1..cr], out number); // cr 0: a '\r' where the type byte goes
        return cr + 2;
    }

    /// <summary>
    /// Where a line ends, as Redis's strchr on its query buffer finds it: strchr stops at a NUL, so a line with a
    /// NUL before its terminator is, to Redis, not complete yet (-1: it waits for more, until the line would pass
    /// 64 KiB). One scan that stops at the first of the two bytes, not a scan of the whole buffer per line.
    /// </summary>
    private static int LineEnd(ReadOnlySpan<byte> rest, byte terminator)
    {
        int at = rest.IndexOfAny(terminator, (byte)0);
        return at >= 0 && rest[at] == terminator ? at : -1;
    }

    private ParseStatus? ParseInline(ReadOnlySpan<byte> rest, RequestBatch batch, out int used)
    {
        used = 0;
        int nl = LineEnd(rest, (byte)'\n');
        if (nl < 0) return rest.Length > InlineMaxSize ? Fail(Errors.ProtoTooBigInline) : ParseStatus.NeedMore;
        var line = rest[..nl];
        if (line.Length > 0 && line[^1] == (byte)'\r') line = line[..^1];
        int argc = InlineSplitter.Split(line, batch);
        if (argc < 0)
        {
            batch.DiscardPartial();
            return Fail(Errors.ProtoUnbalancedQuotes);
        }
        used = nl + 1;
        if (argc > 0) batch.CompleteCommand();
        return null;
    }

    private ParseStatus Fail(string error)
    {
        Error = error;
        return ParseStatus.Error;
    }
}
