using System.Runtime.InteropServices;

namespace KeyspacePubSub.Benchmark;

/// <summary>
/// Reads many subscriber connections on one thread of its own with epoll, as redis-benchmark reads its
/// connections. The latency pass uses it: with the thread pool's asynchronous reads, a delivery's measured
/// latency included waking pool threads, their spinning and their GC, and the light-rate p99 of one server
/// moved by a factor of two from run to run; one reader thread that only blocks in epoll_wait adds a small,
/// steady cost instead (reading the sockets one after another).
/// </summary>
public sealed unsafe partial class EpollReader : IDisposable
{
    private const int EPOLLIN = 0x001, EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2;
    private readonly int _epoll;
    private readonly List<BenchConnection> _connections;
    private readonly Thread _thread;
    private volatile bool _stop;

    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    private struct EpollEvent
    {
        public uint Events;
        public ulong Data;
    }

    public EpollReader(List<BenchConnection> connections)
    {
        _connections = connections;
        _epoll = epoll_create1(0);
        if (_epoll < 0) throw new IOException($"epoll_create1 failed: errno {Marshal.GetLastPInvokeError()}");
        for (int i = 0; i < connections.Count; i++)
        {
            var ev = new EpollEvent { Events = EPOLLIN, Data = (ulong)i };
            if (epoll_ctl(_epoll, EPOLL_CTL_ADD, connections[i].Fd, &ev) != 0) throw new IOException($"epoll_ctl failed: errno {Marshal.GetLastPInvokeError()}");
        }
        _thread = new Thread(Run) { IsBackground = true, Name = "epoll-reader" };
        _thread.Start();
    }

    private void Run()
    {
        var events = new EpollEvent[256];
        fixed (EpollEvent* p = events)
        {
            while (!_stop)
            {
                int n = epoll_wait(_epoll, p, events.Length, 10);
                for (int i = 0; i < n; i++)
                {
                    var c = _connections[(int)p[i].Data];
                    if (!c.ReceiveReady()) epoll_ctl(_epoll, EPOLL_CTL_DEL, c.Fd, null);
                }
            }
        }
    }

    public void Dispose()
    {
        _stop = true;
        _thread.Join();
        close(_epoll);
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int epoll_create1(int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int epoll_ctl(int epfd, int op, int fd, EpollEvent* ev);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int epoll_wait(int epfd, EpollEvent* events, int maxevents, int timeout);

    [LibraryImport("libc")]
    private static partial int close(int fd);
}
