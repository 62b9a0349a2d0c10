using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace KeyspacePubSub.Benchmark;

/// <summary>
/// A raw RESP connection for load generation. As a subscriber it parses pushed frames and checks each
/// payload's sequence number (per channel, so loss and reordering are caught) and its send timestamp.
/// </summary>
public sealed class BenchConnection : IDisposable
{
    private readonly Socket _socket = new(SocketType.Stream, ProtocolType.Tcp);
    private byte[] _buffer = new byte[256 * 1024];
    private int _start, _end;
    // Each channel's next sequence number, found by the channel's bytes: a subscriber sees one channel or a few
    // (a pattern's), and a lookup that allocates nothing keeps the reader free of the GC's pauses.
    private readonly List<(byte[] Channel, long Next)> _nextSeq = [];

    public BenchConnection(ServerUnderTest server)
    {
        _socket.NoDelay = true;
        _socket.Connect(server.Host, server.Port);
    }

    public long Received;
    public long Errors;
    public List<long>? LatencyTicks;

    /// <summary>Count every pushed frame without reading sequence numbers (payloads that are not ours, e.g. key names).</summary>
    public bool CountOnly;

    public void Send(ReadOnlySpan<byte> bytes) => _socket.Send(bytes);


    public static byte[] Command(params object[] args)
    {
        var ms = new MemoryStream();
        ms.Write(Encoding.ASCII.GetBytes($"*{args.Length}\r\n"));
        foreach (var a in args)
        {
            byte[] b = a as byte[] ?? Encoding.UTF8.GetBytes(a.ToString()!);
            ms.Write(Encoding.ASCII.GetBytes($"${b.Length}\r\n"));
            ms.Write(b);
            ms.Write("\r\n"u8);
        }
        return ms.ToArray();
    }

    /// <summary>Sends <paramref name="commands"/> commands (the i-th from <paramref name="command"/>) 1,000 at a time, reading each batch's replies.</summary>
    public void Pipelined(int commands, Func<int, byte[]> command)
    {
        for (int start = 0; start < commands; start += 1000)
        {
            int count = Math.Min(1000, commands - start);
            Send([.. Enumerable.Range(start, count).SelectMany(command)]);
            ReadFrames(count);
        }
    }

    /// <summary><see cref="Pipelined"/>, timed: commands per second.</summary>
    public double Rate(int commands, Func<int, byte[]> command)
    {
        var sw = Stopwatch.StartNew();
        Pipelined(commands, command);
        return commands / sw.Elapsed.TotalSeconds;
    }

    /// <summary>Reads complete frames until <paramref name="frames"/> have arrived (synchronously).</summary>
    public void ReadFrames(int frames)
    {
        int got = 0;
        while (got < frames)
        {
            got += ParseAvailable(countOnly: true, frames - got);
            if (got < frames) Fill();
        }
    }

    /// <summary>Reads one integer reply (":N\r\n"); anything else throws.</summary>
    public long ReadInteger() => TryReadInteger(out long number, out string? other) ? number : throw new IOException($"expected an integer reply, got {other}");

    /// <summary>The next reply if it is an integer; else false, with the reply's first line (an error such as -LOADING).</summary>
    public bool TryReadInteger(out long number, out string? other)
    {
        int pos = 0;
        byte type;
        while (!Line(_buffer.AsSpan(_start, _end - _start), ref pos, out type, out number)) Fill();
        other = type == (byte)':' ? null : Encoding.ASCII.GetString(_buffer, _start, pos).TrimEnd();
        _start += pos;
        return other is null;
    }

    /// <summary>The socket's descriptor, for <see cref="EpollReader"/>.</summary>
    public int Fd => (int)_socket.Handle;

    /// <summary>One read of a socket that is readable, then every complete frame; false once the server closed it.</summary>
    public bool ReceiveReady()
    {
        try
        {
            Fill();
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException)
        {
            Interlocked.Increment(ref Errors);
            return false;
        }
        ParseAvailable(countOnly: false, int.MaxValue);
        return true;
    }

    private void Fill()
    {
        Reuse();
        int n = _socket.Receive(_buffer, _end, _buffer.Length - _end, SocketFlags.None);
        if (n == 0) throw new IOException("server closed the connection");
        _end += n;
    }

    /// <summary>
    /// Reads go to the start of the buffer whenever everything read so far was parsed, so a subscriber keeps
    /// reusing the same few hot pages. It used to walk through all of its 256 KiB before wrapping: 1,000 fresh
    /// subscribers of 4 KiB messages first-touched 256 MB, and the page faults (costly in this VM) held the
    /// reader back for the first ~0.7 s of every light pass, of either server (TCP memory grew to 65 MB
    /// queued, and p99 reached 0.3–0.6 s).
    /// </summary>
    private void Reuse()
    {
        if (_start == _end) _start = _end = 0;
        else if (_end == _buffer.Length) Compact();
    }

    private void Compact()
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        else
        {
            Array.Resize(ref _buffer, _buffer.Length * 2);
        }
    }

    private int ParseAvailable(bool countOnly, int max)
    {
        int frames = 0;
        while (frames < max)
        {
            var span = _buffer.AsSpan(_start, _end - _start);
            int pos = 0;
            if (!TryFrame(span, ref pos, out var channel, out var payload)) break;
            _start += pos;
            frames++;
            if (!countOnly && CountOnly) Interlocked.Increment(ref Received);
            else if (!countOnly && payload.Length >= 16) OnMessage(channel, payload);
        }
        return frames;
    }

    private void OnMessage(ReadOnlySpan<byte> channel, ReadOnlySpan<byte> payload)
    {
        long now = Stopwatch.GetTimestamp();
        long seq = BinaryPrimitives.ReadInt64LittleEndian(payload);
        long sent = BinaryPrimitives.ReadInt64LittleEndian(payload[8..]);
        int i = 0;
        while (i < _nextSeq.Count && !channel.SequenceEqual(_nextSeq[i].Channel)) i++;
        if (i == _nextSeq.Count) _nextSeq.Add((channel.ToArray(), 0));
        if (seq != _nextSeq[i].Next) Interlocked.Increment(ref Errors);
        _nextSeq[i] = (_nextSeq[i].Channel, seq + 1);
        LatencyTicks?.Add(now - sent);
        Interlocked.Increment(ref Received);
    }

    /// <summary>One complete top-level frame; for message/pmessage pushes also its channel and payload.</summary>
    private static bool TryFrame(ReadOnlySpan<byte> s, ref int pos, out ReadOnlySpan<byte> channel, out ReadOnlySpan<byte> payload)
    {
        channel = payload = default;
        if (!Line(s, ref pos, out byte type, out long n)) return false;
        if (type is (byte)'+' or (byte)'-' or (byte)':' or (byte)'_') return true;
        if (type == (byte)'$')
        {
            if (n < 0) return true;
            if (pos + n + 2 > s.Length) return false;
            pos += (int)n + 2;
            return true;
        }
        // Array or push: read n bulk/integer elements; message = [kind, channel, payload], pmessage = [kind, pattern, channel, payload].
        ReadOnlySpan<byte> last = default, prev = default;
        for (long i = 0; i < n; i++)
        {
            if (!Line(s, ref pos, out byte t, out long len)) return false;
            if (t is (byte)'*' or (byte)'%' or (byte)'~')
            {
                // A nested reply (GEOSEARCH WITHDIST's pairs, RESP3 maps and sets): skipped whole.
                if (len > 0 && !SkipElements(s, ref pos, t == (byte)'%' ? 2 * len : len)) return false;
                continue;
            }
            if (t != (byte)'$') continue;
            if (len < 0) continue;
            if (pos + len + 2 > s.Length) return false;
            prev = last;
            last = s.Slice(pos, (int)len);
            pos += (int)len + 2;
        }
        channel = prev;
        payload = last;
        return true;
    }

    /// <summary>Moves past <paramref name="count"/> whole elements of any type.</summary>
    private static bool SkipElements(ReadOnlySpan<byte> s, ref int pos, long count)
    {
        for (long i = 0; i < count; i++)
        {
            if (!Line(s, ref pos, out byte t, out long len)) return false;
            if (t is (byte)'*' or (byte)'%' or (byte)'~')
            {
                if (len > 0 && !SkipElements(s, ref pos, t == (byte)'%' ? 2 * len : len)) return false;
            }
            else if (t == (byte)'$' && len >= 0)
            {
                if (pos + len + 2 > s.Length) return false;
                pos += (int)len + 2;
            }
        }
        return true;
    }

    private static bool Line(ReadOnlySpan<byte> s, ref int pos, out byte type, out long number)
    {
        type = 0;
        number = 0;
        int cr = s[pos..].IndexOf((byte)'\r');
        if (cr < 0 || pos + cr + 2 > s.Length) return false;
        type = s[pos];
        var digits = s.Slice(pos + 1, cr - 1);
        if (type is (byte)'$' or (byte)'*' or (byte)'>' or (byte)':' or (byte)'%' or (byte)'~')
        {
            // Parsed in place: a string per line was most of the reader's garbage, and its GC pauses stopped the reader.
            if (!System.Buffers.Text.Utf8Parser.TryParse(digits, out number, out int used) || used != digits.Length)
            {
                throw new IOException($"bad length line: {Encoding.ASCII.GetString(s.Slice(pos, cr))}");
            }
        }
        pos += cr + 2;
        return true;
    }

    public void Dispose() => _socket.Dispose();
}
