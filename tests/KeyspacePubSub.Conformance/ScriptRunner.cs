using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using KeyspacePubSub.Testing;

namespace KeyspacePubSub.Conformance;

/// <summary>What one connection received after one step.</summary>
public sealed record Received(byte[] Bytes, int Frames, bool Closed);

/// <summary>
/// Replays a case against real Redis first — reading every connection until it has been quiet for a
/// while — then against our server, reading on each connection exactly as many RESP frames as Redis
/// sent (and expecting a close where Redis closed). Transcripts are compared byte for byte.
/// </summary>
public sealed class ScriptRunner
{
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(5);

    public static List<Dictionary<string, Received>> RunReference(ConformanceCase c, int port)
    {
        var conns = new Dictionary<string, Conn>();
        var transcript = new List<Dictionary<string, Received>>();
        try
        {
            foreach (var step in c.Steps)
            {
                Apply(step, conns, port);
                var got = new Dictionary<string, Received>();
                var deadline = DateTime.UtcNow + ReplyTimeout;
                // Wait until every connection has been silent for the quiet period.
                // The step ends only after a poll round that found nothing once the quiet period has passed,
                // so a stall of this process between polls cannot cut a reply off into the next step.
                var lastData = DateTime.UtcNow;
                while (DateTime.UtcNow < deadline)
                {
                    bool quietLongEnough = DateTime.UtcNow - lastData >= Quiet;
                    bool any = false;
                    foreach (var (name, conn) in conns) any |= conn.Poll(TimeSpan.FromMilliseconds(5));
                    if (any) lastData = DateTime.UtcNow;
                    else if (quietLongEnough) break;
                }
                foreach (var (name, conn) in conns) got[name] = conn.Take(-1);
                transcript.Add(got);
            }
        }
        finally
        {
            foreach (var conn in conns.Values) conn.Dispose();
        }
        return transcript;
    }

    public static List<Dictionary<string, Received>> RunOurs(ConformanceCase c, int port, List<Dictionary<string, Received>> reference)
    {
        var conns = new Dictionary<string, Conn>();
        var transcript = new List<Dictionary<string, Received>>();
        try
        {
            for (int s = 0; s < c.Steps.Count; s++)
            {
                Apply(c.Steps[s], conns, port);
                var got = new Dictionary<string, Received>();
                foreach (var (name, conn) in conns)
                {
                    var expected = reference[s].GetValueOrDefault(name) ?? new Received([], 0, false);
                    var deadline = DateTime.UtcNow + ReplyTimeout;
                    while (conn.Frames < expected.Frames && !conn.Closed && DateTime.UtcNow < deadline) conn.Poll(TimeSpan.FromMilliseconds(20));
                    if (expected.Closed)
                    {
                        while (!conn.Closed && DateTime.UtcNow < deadline) conn.Poll(TimeSpan.FromMilliseconds(20));
                    }
                    got[name] = conn.Take(expected.Frames);
                }
                transcript.Add(got);
            }
            // Anything extra our server sent after the last step is a difference too.
            var end = DateTime.UtcNow + Quiet * 2;
            while (DateTime.UtcNow < end)
            {
                foreach (var conn in conns.Values) conn.Poll(TimeSpan.FromMilliseconds(5));
            }
            var tail = new Dictionary<string, Received>();
            foreach (var (name, conn) in conns) tail[name] = conn.Take(-1);
            transcript.Add(tail);
        }
        finally
        {
            foreach (var conn in conns.Values) conn.Dispose();
        }
        return transcript;
    }

    private static void Apply(Step step, Dictionary<string, Conn> conns, int port)
    {
        if (step.SleepMs > 0)
        {
            Thread.Sleep(step.SleepMs);
            return;
        }
        if (!conns.TryGetValue(step.Connection, out var conn))
        {
            conn = new Conn(port);
            conns[step.Connection] = conn;
        }
        if (step.Close)
        {
            conn.Dispose();
            conns.Remove(step.Connection);
            return;
        }
        conn.Send(step.Payload!);
    }

    /// <summary>Compares transcripts; returns a readable description of every difference.</summary>
    public static string? Compare(ConformanceCase c, List<Dictionary<string, Received>> redis, List<Dictionary<string, Received>> ours)
    {
        var sb = new StringBuilder();
        for (int s = 0; s < c.Steps.Count; s++)
        {
            var step = c.Steps[s];
            foreach (var name in redis[s].Keys.Union(ours[s].Keys))
            {
                var r = redis[s].GetValueOrDefault(name) ?? new Received([], 0, false);
                var o = ours[s].GetValueOrDefault(name) ?? new Received([], 0, false);
                string rt = Normalize(r.Bytes, c.Masks, step.Masks), ot = Normalize(o.Bytes, c.Masks, step.Masks);
                bool same = step.Mode == CompareMode.FrameCount ? r.Frames == o.Frames : rt == ot;
                same &= r.Closed == o.Closed;
                if (same) continue;
                sb.AppendLine($"line {step.Line} `{step.Connection}> {step.Text}` — connection '{name}':");
                sb.AppendLine($"  redis: {rt}{(r.Closed ? " <closed>" : "")}");
                sb.AppendLine($"  ours:  {ot}{(o.Closed ? " <closed>" : "")}");
            }
        }
        foreach (var (name, extra) in ours[^1])
        {
            if (extra.Bytes.Length > 0) sb.AppendLine($"after the last step our server sent more on '{name}': {RespFrames.Escape(extra.Bytes)}");
        }
        return sb.Length == 0 ? null : sb.ToString();
    }

    private static string Normalize(byte[] bytes, List<Regex> caseMasks, List<Regex> stepMasks)
    {
        string text = RespFrames.Escape(bytes);
        foreach (var m in caseMasks.Concat(stepMasks)) text = m.Replace(text, "<masked>");
        return text;
    }

    /// <summary>A raw socket that accumulates what it receives and counts complete RESP frames.</summary>
    private sealed class Conn : IDisposable
    {
        private readonly Socket _socket = new(SocketType.Stream, ProtocolType.Tcp);
        private readonly MemoryStream _pending = new();
        private readonly byte[] _buffer = new byte[64 * 1024];

        public Conn(int port)
        {
            _socket.NoDelay = true;
            _socket.Connect("127.0.0.1", port);
        }

        public bool Closed { get; private set; }

        public int Frames => RespFrames.Count(_pending.GetBuffer().AsSpan(0, (int)_pending.Length), out _);

        public void Send(byte[] payload)
        {
            if (Closed) return;
            try
            {
                _socket.Send(payload);
            }
            catch (SocketException)
            {
                Closed = true;
            }
        }

        /// <summary>Reads whatever arrives within the timeout; true if anything did.</summary>
        public bool Poll(TimeSpan timeout)
        {
            if (Closed) return false;
            try
            {
                if (!_socket.Poll((int)timeout.TotalMicroseconds, SelectMode.SelectRead)) return false;
                int n = _socket.Receive(_buffer);
                if (n == 0)
                {
                    Closed = true;
                    return true;
                }
                _pending.Write(_buffer, 0, n);
                return true;
            }
            catch (SocketException)
            {
                Closed = true;
                return true;
            }
        }

        /// <summary>Takes the first <paramref name="frames"/> complete frames (all bytes when -1).</summary>
        public Received Take(int frames)
        {
            var all = _pending.ToArray();
            int cut = all.Length;
            int count;
            if (frames >= 0)
            {
                int pos = 0;
                count = 0;
                while (count < frames && pos < all.Length)
                {
                    int len = RespFrames.Measure(all, pos);
                    if (len < 0) break;
                    pos += len;
                    count++;
                }
                cut = pos;
            }
            else
            {
                count = RespFrames.Count(all, out _);
            }
            _pending.SetLength(0);
            _pending.Write(all, cut, all.Length - cut);
            return new Received(all[..cut], count, Closed && _pending.Length == 0);
        }

        public void Dispose() => _socket.Dispose();
    }
}
