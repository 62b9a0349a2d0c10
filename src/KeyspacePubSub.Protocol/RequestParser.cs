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

    public ParseStatus Parse(ref ReadOnlySequence<byte> buffer, RequestBatch batch, int maxCommands)
    {
        var reader = new SequenceReader<byte>(buffer);
        try
        {
            while (true)
            {
                if (batch.CommandCount >= maxCommands) return ParseStatus.Full;
                if (_argsRemaining == 0)
                {
                    if (!reader.TryPeek(out byte first)) return ParseStatus.NeedMore;
                    var status = first == (byte)'*'
                        ? ParseMultibulkHeader(ref reader)
                        : ParseInline(ref reader, batch);
                    if (status != null) return status.Value;
                    continue;
                }
                var bulk = ParseBulk(ref reader, batch);
                if (bulk != null) return bulk.Value;
            }
        }
        finally
        {
            buffer = buffer.Slice(reader.Position);
        }
    }

    private ParseStatus? ParseMultibulkHeader(ref SequenceReader<byte> reader)
    {
        var line = TryReadHeader(ref reader, out bool tooBig, out bool ok, out long count);
        if (line < 0)
        {
            return tooBig ? Fail(Errors.ProtoTooBigMbulk) : ParseStatus.NeedMore;
        }
        if (!ok || count > int.MaxValue)
        {
            return Fail(Errors.ProtoInvalidMbulk);
        }
        if (count > UnauthMaxArgs && AuthRequired) return Fail(Errors.ProtoUnauthMbulk);
        reader.Advance(line);
        // As Redis: "Multibulk processing could see a <= 0 length" — nothing to execute.
        if (count > 0) _argsRemaining = count;
        return null;
    }

    private ParseStatus? ParseBulk(ref SequenceReader<byte> reader, RequestBatch batch)
    {
        var line = TryReadHeader(ref reader, out bool tooBig, out bool ok, out long length);
        if (line < 0)
        {
            return tooBig ? Fail(Errors.ProtoTooBigBulk) : ParseStatus.NeedMore;
        }
        reader.TryPeek(out byte kind);
        if (kind != (byte)'$') return Fail(Errors.ProtoExpectedDollar(kind));
        if (!ok || length < 0 || length > MaxBulkLength)
        {
            return Fail(Errors.ProtoInvalidBulk);
        }
        if (length > UnauthMaxBulk && AuthRequired) return Fail(Errors.ProtoUnauthBulk);
        if (reader.Remaining < line + length + 2)
        {
            return ParseStatus.NeedMore;
        }
        reader.Advance(line);
        var dest = batch.AddArg((int)length);
        reader.TryCopyTo(dest);
        reader.Advance(length + 2); // as Redis, the two bytes after the payload are not checked
        if (--_argsRemaining == 0) batch.CompleteCommand();
        return null;
    }

    /// <summary>
    /// Finds a header line ending in '\r' plus one more byte (as Redis, which does not check it is '\n').
    /// Returns its full length including both terminator bytes, or -1 when incomplete; parses the
    /// number after the type byte with string2ll's rules.
    /// </summary>
    private static long TryReadHeader(ref SequenceReader<byte> reader, out bool tooBig, out bool numberOk, out long number)
    {
        tooBig = false;
        numberOk = false;
        number = 0;
        var unread = reader.UnreadSequence;
        var pos = unread.PositionOf((byte)'\r');
        if (pos == null)
        {
            tooBig = reader.Remaining > InlineMaxSize;
            return -1;
        }
        long cr = unread.Slice(0, pos.Value).Length;
        if (reader.Remaining < cr + 2) return -1;
        if (cr - 1 <= 24)
        {
            Span<byte> scratch = stackalloc byte[24];
            int n = (int)Math.Max(cr - 1, 0);
            unread.Slice(1, n).CopyTo(scratch);
            numberOk = Strict.TryParseInt64(scratch[..n], out number);
        }
        return cr + 2;
    }

    private ParseStatus? ParseInline(ref SequenceReader<byte> reader, RequestBatch batch)
    {
        var unread = reader.UnreadSequence;
        var pos = unread.PositionOf((byte)'\n');
        if (pos == null)
        {
            return reader.Remaining > InlineMaxSize ? Fail(Errors.ProtoTooBigInline) : ParseStatus.NeedMore;
        }
        var lineSeq = unread.Slice(0, pos.Value);
        long consumed = lineSeq.Length + 1;
        int len = (int)lineSeq.Length;
        byte[]? rented = null;
        Span<byte> line = len <= 512 ? stackalloc byte[len] : (rented = ArrayPool<byte>.Shared.Rent(len)).AsSpan(0, len);
        try
        {
            lineSeq.CopyTo(line);
            if (len > 0 && line[len - 1] == (byte)'\r') line = line[..(len - 1)];
            int nul = line.IndexOf((byte)0); // sdssplitargs works on a C string
            if (nul >= 0) line = line[..nul];
            int argc = InlineSplitter.Split(line, batch);
            if (argc < 0)
            {
                batch.DiscardPartial();
                return Fail(Errors.ProtoUnbalancedQuotes);
            }
            reader.Advance(consumed);
            if (argc > 0) batch.CompleteCommand();
            return null;
        }
        finally
        {
            if (rented != null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private ParseStatus Fail(string error)
    {
        Error = error;
        return ParseStatus.Error;
    }
}
