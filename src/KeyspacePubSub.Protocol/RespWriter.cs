using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace KeyspacePubSub.Protocol;

/// <summary>
/// Writes RESP2 or RESP3 values to a buffer. The only place that knows the wire format of replies:
/// command code asks for "a null" or "a map of n pairs" and gets the right bytes for the connection.
/// </summary>
public sealed class RespWriter
{
    private static readonly byte[] Crlf = "\r\n"u8.ToArray();

    /// <summary>Values longer than this are written in pieces (<see cref="Raw"/>), not into one span.</summary>
    private const int LargeValue = WholeSpanMax - 32;

    public RespWriter(IBufferWriter<byte> output, int protocol = 2)
    {
        Output = output;
        Protocol = protocol;
    }

    public IBufferWriter<byte> Output { get; set; }

    /// <summary>2 or 3 (HELLO).</summary>
    public int Protocol { get; set; }

    public bool Resp3 => Protocol == 3;

    /// <summary>
    /// Longest write asked of the output as one span: a connection's pipe takes its buffers from a pool of 4 KiB
    /// blocks, and a larger span is an array of its own. Longer writes go into as many buffers as they take:
    /// one span per 4 KiB message made the pool allocate an array for every subscriber of every publish (2 GB in
    /// a 3-second fan-out to 100 subscribers). Shorter ones stay whole, in one buffer (fewer pieces to send).
    /// </summary>
    public const int WholeSpanMax = 4096;

    /// <summary>Bytes as they are (in pieces beyond <see cref="WholeSpanMax"/>).</summary>
    public void Raw(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > WholeSpanMax)
        {
            Output.Write(bytes);
            return;
        }
        var span = Output.GetSpan(bytes.Length);
        bytes.CopyTo(span);
        Output.Advance(bytes.Length);
    }

    public void Ok() => Raw("+OK\r\n"u8);

    public void SimpleString(string text)
    {
        var span = Output.GetSpan(text.Length * 3 + 3);
        span[0] = (byte)'+';
        int n = Encoding.UTF8.GetBytes(text, span[1..]);
        span[n + 1] = (byte)'\r';
        span[n + 2] = (byte)'\n';
        Output.Advance(n + 3);
    }

    /// <summary>Told of every error reply written (INFO's error counters).</summary>
    public Action<string>? OnError { get; set; }

    /// <summary>An error reply; <paramref name="text"/> carries its code ("ERR ...", "WRONGTYPE ...").</summary>
    public void Error(string text)
    {
        // Latin-1: texts that echo client bytes were decoded as Latin-1, so this restores them exactly.
        text = Errors.Sanitize(text);
        OnError?.Invoke(text);
        var span = Output.GetSpan(text.Length + 3);
        span[0] = (byte)'-';
        int n = Encoding.Latin1.GetBytes(text, span[1..]);
        span[n + 1] = (byte)'\r';
        span[n + 2] = (byte)'\n';
        Output.Advance(n + 3);
    }

    public void Integer(long value) => Header((byte)':', value);

    public void Bulk(ReadOnlySpan<byte> value)
    {
        if (value.Length > LargeValue)
        {
            Header((byte)'$', value.Length);
            Raw(value);
            Raw(Crlf);
            return;
        }
        var span = Output.GetSpan(value.Length + 24);
        span[0] = (byte)'$';
        Utf8Formatter.TryFormat(value.Length, span[1..], out int n);
        n++;
        span[n++] = (byte)'\r';
        span[n++] = (byte)'\n';
        value.CopyTo(span[n..]);
        n += value.Length;
        span[n++] = (byte)'\r';
        span[n++] = (byte)'\n';
        Output.Advance(n);
    }

    public void Bulk(string value)
    {
        int max = Encoding.UTF8.GetMaxByteCount(value.Length);
        if (max <= 256)
        {
            Span<byte> tmp = stackalloc byte[max];
            Bulk(tmp[..Encoding.UTF8.GetBytes(value, tmp)]);
        }
        else
        {
            Bulk(Encoding.UTF8.GetBytes(value));
        }
    }

    public void Bulk(long value)
    {
        Span<byte> tmp = stackalloc byte[24];
        Utf8Formatter.TryFormat(value, tmp, out int n);
        Bulk(tmp[..n]);
    }

    /// <summary>A null where Redis uses addReplyNull: <c>$-1</c> in RESP2.</summary>
    public void NullBulk() => Raw(Resp3 ? "_\r\n"u8 : "$-1\r\n"u8);

    /// <summary>A null where Redis uses shared.nullarray: <c>*-1</c> in RESP2.</summary>
    public void NullArray() => Raw(Resp3 ? "_\r\n"u8 : "*-1\r\n"u8);

    public void Array(int count) => Header((byte)'*', count);

    /// <summary>A map of <paramref name="pairs"/> pairs (a flat array of 2n in RESP2).</summary>
    public void Map(int pairs)
    {
        if (Resp3) Header((byte)'%', pairs);
        else Header((byte)'*', pairs * 2L);
    }

    public void Set(int count) => Header(Resp3 ? (byte)'~' : (byte)'*', count);

    /// <summary>An out-of-band push frame header (an array in RESP2).</summary>
    public void Push(int count) => Header(Resp3 ? (byte)'>' : (byte)'*', count);

    public void Double(double value) => DoubleText(FormatDouble(value));

    /// <summary>A double already written out (GEOPOS's "%.17Lf" coordinates): a RESP3 double, a RESP2 bulk string.</summary>
    public void DoubleText(string text)
    {
        if (Resp3)
        {
            SimpleLine((byte)',', text);
        }
        else
        {
            Bulk(text);
        }
    }

    /// <summary>Free text (INFO, CLIENT LIST): a verbatim string in RESP3, a bulk string in RESP2.</summary>
    public void Verbatim(string text)
    {
        if (!Resp3)
        {
            Bulk(text);
            return;
        }
        var bytes = Encoding.UTF8.GetBytes(text);
        Header((byte)'=', bytes.Length + 4);
        Raw("txt:"u8);
        Raw(bytes);
        Raw(Crlf);
    }

    /// <summary>As Redis 7.0's addReplyDouble: C's %.17g, with inf/-inf.</summary>
    public static string FormatDouble(double value)
    {
        if (double.IsPositiveInfinity(value)) return "inf";
        if (double.IsNegativeInfinity(value)) return "-inf";
        if (double.IsNaN(value)) return "nan";
        return value.ToString("G17", CultureInfo.InvariantCulture).Replace('E', 'e');
    }

    private void SimpleLine(byte type, string text)
    {
        var span = Output.GetSpan(text.Length + 3);
        span[0] = type;
        int n = Encoding.ASCII.GetBytes(text, span[1..]);
        span[n + 1] = (byte)'\r';
        span[n + 2] = (byte)'\n';
        Output.Advance(n + 3);
    }

    private void Header(byte type, long value)
    {
        var span = Output.GetSpan(24);
        span[0] = type;
        Utf8Formatter.TryFormat(value, span[1..], out int n);
        span[n + 1] = (byte)'\r';
        span[n + 2] = (byte)'\n';
        Output.Advance(n + 3);
    }
}
