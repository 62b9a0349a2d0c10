using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace KeyspacePubSub.Benchmark;

/// <summary>
/// A work queue on a stream: <c>waiters</c> consumers of one group wait in XREADGROUP COUNT 1 BLOCK 0; a producer
/// sends XADDs one at a time; each entry goes to one consumer, which asks again at once. What an entry costs the
/// server when many consumers wait (Redis compares each waiter's IDs; a server that ran every waiter's command
/// again would pay per waiter), and whether every entry reached a consumer. The rate is the entries delivered
/// per second, from the first XADD to the last delivery.
/// </summary>
public static class StreamGroupBench
{
    private static readonly byte[] Marker = "$4\r\ndone\r\n"u8.ToArray();

    public static (double EntriesPerSec, double CpuMicrosPerEntry, long Delivered) Run(ServerUnderTest server, int waiters, int adds)
    {
        using var admin = Connect(server);
        Call(admin, "DEL", "bench:wq");
        Call(admin, "XGROUP", "CREATE", "bench:wq", "g", "$", "MKSTREAM");
        var sockets = new List<Socket>();
        var requests = new Dictionary<Socket, byte[]>();
        var pending = new Dictionary<Socket, List<byte>>();
        try
        {
            for (int i = 0; i < waiters; i++)
            {
                var s = Connect(server);
                requests[s] = Command("XREADGROUP", "GROUP", "g", $"w{i}", "COUNT", "1", "BLOCK", "0", "STREAMS", "bench:wq", ">");
                pending[s] = [];
                s.Send(requests[s]);
                sockets.Add(s);
            }
            Thread.Sleep(300);
            long delivered = 0;
            double cpu0 = server.CpuSeconds();
            var clock = Stopwatch.StartNew();
            var producer = new Thread(() =>
            {
                using var p = Connect(server);
                var add = Command("XADD", "bench:wq", "*", "f", "done");
                var buffer = new byte[256];
                for (int i = 0; i < adds; i++)
                {
                    p.Send(add);
                    ReadReply(p, buffer); // "$n\r\n<id>\r\n"
                }
            });
            producer.Start();
            var buf = new byte[64 * 1024];
            long idleSince = Environment.TickCount64;
            while (delivered < adds && Environment.TickCount64 - idleSince < 5000)
            {
                var readable = new List<Socket>(sockets);
                Socket.Select(readable, null, null, 100_000);
                if (readable.Count > 0) idleSince = Environment.TickCount64;
                foreach (var s in readable)
                {
                    int n = s.Receive(buf);
                    if (n == 0) throw new IOException("a consumer's connection closed");
                    var got = pending[s];
                    got.AddRange(buf.AsSpan(0, n));
                    if (got.Count < Marker.Length || !got.ToArray().AsSpan().EndsWith(Marker)) continue;
                    got.Clear();
                    delivered++;
                    s.Send(requests[s]);
                }
            }
            double seconds = clock.Elapsed.TotalSeconds;
            producer.Join();
            double cpu = server.CpuSeconds() - cpu0;
            return (adds / seconds, cpu / adds * 1e6, delivered);
        }
        finally
        {
            foreach (var s in sockets) s.Dispose();
        }
    }

    /// <summary>
    /// RSS per pending entry: <paramref name="entries"/> entries of 20 bytes added, then all read by one consumer of
    /// a group and none acknowledged; the RSS grown by the reads, per entry.
    /// </summary>
    public static double PendingBytes(ServerUnderTest server, int entries)
    {
        using var c = new BenchConnection(server);
        var value = new string('x', 20);
        const int batch = 1000;
        for (int i = 0; i < entries; i += batch)
        {
            int n = Math.Min(batch, entries - i);
            var buffer = new MemoryStream();
            for (int j = 0; j < n; j++) buffer.Write(BenchConnection.Command("XADD", "bench:pel", "*", "data", value));
            c.Send(buffer.ToArray());
            c.ReadFrames(n);
        }
        c.Send(BenchConnection.Command("XGROUP", "CREATE", "bench:pel", "g", "0"));
        c.ReadFrames(1);
        Thread.Sleep(1000);
        double before = server.RssBytes();
        for (int i = 0; i < entries; i += batch)
        {
            c.Send(BenchConnection.Command("XREADGROUP", "GROUP", "g", "c", "COUNT", batch, "STREAMS", "bench:pel", ">"));
            c.ReadFrames(1);
        }
        Thread.Sleep(1000);
        return (server.RssBytes() - before) / entries;
    }

    private static Socket Connect(ServerUnderTest server)
    {
        var s = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        s.Connect(server.Host, server.Port);
        return s;
    }

    private static byte[] Command(params string[] args) => BenchConnection.Command(args);

    private static void Call(Socket s, params string[] args)
    {
        s.Send(Command(args));
        ReadReply(s, new byte[256]);
    }

    /// <summary>Reads a short reply: a line, or a bulk string's two lines.</summary>
    private static void ReadReply(Socket s, byte[] buffer)
    {
        int have = 0;
        while (true)
        {
            int n = s.Receive(buffer, have, buffer.Length - have, SocketFlags.None);
            if (n == 0) throw new IOException("server closed the connection");
            have += n;
            string text = Encoding.ASCII.GetString(buffer, 0, have);
            int lines = text.Split("\r\n").Length - 1;
            if (text[0] == '-') throw new IOException(text.Trim());
            if (lines >= (text[0] == '$' ? 2 : 1)) return;
        }
    }
}
