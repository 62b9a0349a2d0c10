using System.Diagnostics;
using System.Text;

namespace KeyspacePubSub.Benchmark;

/// <summary>
/// Expiry lateness: N background keys with long TTLs plus probe keys with short, staggered absolute
/// deadlines (PXAT); a listener on __keyevent@0__:expired records how late each probe's event arrives.
/// </summary>
public static class ExpiryBench
{
    public static (double P50Ms, double P99Ms, double MaxMs, int Missing) Run(ServerUnderTest server, int backgroundKeys, int probes = 200)
    {
        using var admin = new BenchConnection(server);
        admin.Send(BenchConnection.Command("FLUSHALL"));
        admin.Send(BenchConnection.Command("CONFIG", "SET", "notify-keyspace-events", "Ex"));
        admin.ReadFrames(2);
        for (int i = 0; i < backgroundKeys; i += 1000)
        {
            var batch = new MemoryStream();
            int n = Math.Min(1000, backgroundKeys - i);
            for (int j = i; j < i + n; j++) batch.Write(BenchConnection.Command("SET", $"bg:{j}", "v", "EX", "3600"));
            admin.Send(batch.ToArray());
            admin.ReadFrames(n);
        }
        var listener = new ExpiredListener(server);
        listener.Start();
        long start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 500;
        var deadlines = new Dictionary<string, long>();
        var probeBatch = new MemoryStream();
        for (int p = 0; p < probes; p++)
        {
            long at = start + p * 10; // one probe every 10 ms over 2 s
            deadlines[$"probe:{p}"] = at;
            probeBatch.Write(BenchConnection.Command("SET", $"probe:{p}", "v", "PXAT", at.ToString()));
        }
        admin.Send(probeBatch.ToArray());
        admin.ReadFrames(probes);
        var wait = Stopwatch.StartNew();
        while (listener.Count(deadlines.Keys) < probes && wait.Elapsed < TimeSpan.FromSeconds(60)) Thread.Sleep(20);
        listener.Stop();
        var late = deadlines.Where(d => listener.Seen.ContainsKey(d.Key)).Select(d => (double)(listener.Seen[d.Key] - d.Value)).Order().ToArray();
        admin.Send(BenchConnection.Command("CONFIG", "SET", "notify-keyspace-events", ""));
        admin.Send(BenchConnection.Command("FLUSHALL"));
        admin.ReadFrames(2);
        double Pct(double p) => late.Length == 0 ? double.NaN : late[Math.Min(late.Length - 1, (int)(p * late.Length))];
        return (Pct(0.5), Pct(0.99), late.Length == 0 ? double.NaN : late[^1], probes - late.Length);
    }

    /// <summary>Subscribes to expired events and records the wall-clock arrival time of each key.</summary>
    private sealed class ExpiredListener(ServerUnderTest server)
    {
        private readonly System.Net.Sockets.Socket _socket = new(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        private Thread? _thread;
        private volatile bool _stop;
        public readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> Seen = new();

        public void Start()
        {
            _socket.Connect(server.Host, server.Port);
            _socket.Send(BenchConnection.Command("SUBSCRIBE", "__keyevent@0__:expired"));
            _thread = new Thread(Loop) { IsBackground = true };
            _thread.Start();
        }

        public int Count(IEnumerable<string> keys) => keys.Count(Seen.ContainsKey);

        public void Stop()
        {
            _stop = true;
            _socket.Dispose();
        }

        private void Loop()
        {
            var buffer = new byte[1 << 20];
            var pending = new StringBuilder();
            try
            {
                while (!_stop)
                {
                    int n = _socket.Receive(buffer);
                    if (n == 0) return;
                    long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                    pending.Append(Encoding.Latin1.GetString(buffer, 0, n));
                    // Frames are *3 $7 message $22 __keyevent@0__:expired $<n> <key>: take every complete key.
                    var text = pending.ToString();
                    int consumed = 0;
                    const string marker = "__keyevent@0__:expired\r\n$";
                    while (true)
                    {
                        int m = text.IndexOf(marker, consumed, StringComparison.Ordinal);
                        if (m < 0) break;
                        int lenStart = m + marker.Length;
                        int crlf = text.IndexOf("\r\n", lenStart, StringComparison.Ordinal);
                        if (crlf < 0) break;
                        int len = int.Parse(text.AsSpan(lenStart, crlf - lenStart));
                        if (crlf + 2 + len + 2 > text.Length) break;
                        Seen.TryAdd(text.Substring(crlf + 2, len), now);
                        consumed = crlf + 2 + len + 2;
                    }
                    pending.Remove(0, consumed);
                }
            }
            catch (Exception ex) when (ex is System.Net.Sockets.SocketException or ObjectDisposedException)
            {
            }
        }
    }
}
