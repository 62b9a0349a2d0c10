using System.Net.Sockets;
using System.Text;

namespace KeyspacePubSub.Benchmark;

/// <summary>
/// Memory a burst of output to slow subscribers takes, and gives back: 100 subscribers that never read (4 KiB
/// receive buffers) take 3,000 publishes of 4 KB, then disconnect. RSS at start, just after the publishes,
/// and 5 s and 20 s after the subscribers left. Redis holds a copy of every message per subscriber and its
/// allocator gives the pages back within about 10 s.
/// </summary>
public static class BurstMemoryBench
{
    public static (double StartMb, double DuringMb, double After5sMb, double After20sMb) Run(ServerUnderTest server)
    {
        double start = RssBench.IdleBytes(server);
        var stalled = new List<Socket>();
        byte[] subscribe = Encoding.ASCII.GetBytes("SUBSCRIBE burst\r\n");
        for (int i = 0; i < 100; i++)
        {
            var s = new Socket(SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
            s.Connect(server.Host, server.Port);
            s.Send(subscribe);
            stalled.Add(s);
        }
        Thread.Sleep(300);
        using (var pub = new BenchConnection(server))
        {
            byte[] publish = BenchConnection.Command("PUBLISH", "burst", new string('m', 4000));
            pub.Pipelined(3000, _ => publish);
        }
        Thread.Sleep(500);
        double during = server.RssBytes();
        foreach (var s in stalled) s.Dispose();
        Thread.Sleep(5000);
        double after5 = server.RssBytes();
        Thread.Sleep(15000);
        double after20 = server.RssBytes();
        const double Mb = 1 << 20;
        return (start / Mb, during / Mb, after5 / Mb, after20 / Mb);
    }
}
