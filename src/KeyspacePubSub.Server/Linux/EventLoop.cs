using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using static KeyspacePubSub.Server.Linux.LinuxNative;

namespace KeyspacePubSub.Server.Linux;

/// <summary>
/// One thread running an epoll loop, as Redis's ae: each ready connection is read once, its complete commands
/// run, and after every ready connection was served, each connection with new output gets one write carrying
/// everything queued for it (its own replies and any pushes). Connections are registered edge-triggered for
/// both directions once, so a request costs one read and one write and no epoll_ctl: a read that does not fill
/// the buffer drained the socket, and a write that could not finish waits for the next EPOLLOUT edge.
/// Other threads reach the loop through <see cref="Post"/> (an eventfd wakes it).
/// </summary>
internal sealed unsafe class EventLoop : IDisposable
{
    private const int MaxEvents = 256;
    private const ulong WakeToken = ulong.MaxValue;
    public const int ReadBufferSize = 64 * 1024;

    [ThreadStatic]
    private static EventLoop? t_current;

    private readonly int _epoll;
    private readonly int _wakeFd;
    private readonly ILogger _logger;
    private readonly Thread _thread;
    private readonly ConcurrentQueue<ILoopWork> _posted = new();
    private readonly Dictionary<ulong, LoopConnection> _connections = [];
    private readonly List<LoopConnection> _toFlush = [];
    private readonly List<LoopConnection> _closing = [];
    private int _wakePending;
    private volatile bool _stopped;
    private ulong _nextToken;

    public EventLoop(int index, ILogger logger)
    {
        _logger = logger;
        _epoll = EpollCreate();
        if (_epoll < 0) throw new IOException($"epoll_create1 failed: errno {Marshal.GetLastPInvokeError()}");
        _wakeFd = EventFdCreate();
        if (_wakeFd < 0) throw new IOException($"eventfd failed: errno {Marshal.GetLastPInvokeError()}");
        if (EpollAdd(_epoll, _wakeFd, EPOLLIN | EPOLLET, WakeToken) < 0)
        {
            throw new IOException($"epoll_ctl failed: errno {Marshal.GetLastPInvokeError()}");
        }
        ReadBuffer = GC.AllocateUninitializedArray<byte>(ReadBufferSize, pinned: true);
        _thread = new Thread(Run) { IsBackground = true, Name = $"event-loop-{index}" };
        _thread.Start();
    }

    /// <summary>Pins for gathering a connection's output segments into one sendmsg (loop thread only).</summary>
    public System.Buffers.MemoryHandle[] PinHandles { get; } = new System.Buffers.MemoryHandle[64];

    /// <summary>Shared by every connection of this loop for reads that start a new request (pinned).</summary>
    public byte[] ReadBuffer { get; }

    public bool OnLoopThread => ReferenceEquals(t_current, this);

    public int Epoll => _epoll;

    /// <summary>Runs <paramref name="work"/> on the loop thread soon. Any thread.</summary>
    public void Post(ILoopWork work)
    {
        _posted.Enqueue(work);
        if (Interlocked.Exchange(ref _wakePending, 1) == 0)
        {
            ulong one = 1;
            write(_wakeFd, (byte*)&one, sizeof(ulong));
        }
    }

    public void Post(Action action) => Post(new ActionWork(action));

    /// <summary>Loop thread: registers a new connection with epoll under a fresh token.</summary>
    public ulong Register(LoopConnection connection)
    {
        ulong token = ++_nextToken;
        _connections.Add(token, connection);
        return token;
    }

    public void Unregister(ulong token) => _connections.Remove(token);

    /// <summary>Loop thread: the connection gets its write at the end of this iteration.</summary>
    public void QueueFlush(LoopConnection connection) => _toFlush.Add(connection);

    /// <summary>Loop thread: a closing connection whose output still drains; checked against its deadline.</summary>
    public void AddClosing(LoopConnection connection) => _closing.Add(connection);

    private static readonly int SpinMicros = int.TryParse(Environment.GetEnvironmentVariable("KPS_SPIN"), out var v) ? v : 0;
    private static readonly long SpinTicks = SpinMicros * System.Diagnostics.Stopwatch.Frequency / 1_000_000;

    private void Run()
    {
        t_current = this;
        var events = (byte*)NativeMemory.Alloc((nuint)(MaxEvents * EventSize));
        try
        {
            while (!_stopped)
            {
                int timeout = _toFlush.Count > 0 || !_posted.IsEmpty ? 0 : _closing.Count > 0 ? 100 : -1;
                int n = epoll_wait(_epoll, events, MaxEvents, 0);
                if (n == 0 && timeout != 0 && SpinMicros > 0)
                {
                    long until = System.Diagnostics.Stopwatch.GetTimestamp() + SpinTicks;
                    while (n == 0 && System.Diagnostics.Stopwatch.GetTimestamp() < until) n = epoll_wait(_epoll, events, MaxEvents, 0);
                }
                if (n == 0 && timeout != 0) n = epoll_wait(_epoll, events, MaxEvents, timeout);
                if (n < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == EINTR) continue;
                    _logger.LogCritical("epoll_wait failed: errno {Errno}; the event loop stops", errno);
                    return;
                }
                for (int i = 0; i < n; i++)
                {
                    ulong token = EventData(events, i);
                    if (token == WakeToken)
                    {
                        ulong value;
                        read(_wakeFd, (byte*)&value, sizeof(ulong));
                        Interlocked.Exchange(ref _wakePending, 0);
                    }
                    else if (_connections.TryGetValue(token, out var connection))
                    {
                        connection.OnEvents(EventMask(events, i));
                    }
                }
                RunPosted();
                FlushQueued();
                if (_closing.Count > 0) CheckClosing();
            }
        }
        catch (Exception ex)
        {
            _logger.LogCritical(ex, "Event loop failed");
        }
        finally
        {
            NativeMemory.Free(events);
        }
    }

    private void RunPosted()
    {
        // Bounded: work posted while this runs waits for the next iteration, so I/O is never starved.
        int count = _posted.Count;
        while (count-- > 0 && _posted.TryDequeue(out var work))
        {
            try
            {
                work.Run();
            }
            catch (Exception ex)
            {
                _logger.LogError(ex, "Event loop work item failed");
            }
        }
    }

    private void FlushQueued()
    {
        // A flush may queue further flushes (a connection that closes, output produced meanwhile): by index.
        for (int i = 0; i < _toFlush.Count; i++) _toFlush[i].Flush();
        _toFlush.Clear();
    }

    private void CheckClosing()
    {
        long now = Environment.TickCount64;
        for (int i = _closing.Count - 1; i >= 0; i--)
        {
            if (_closing[i].CheckClosing(now)) _closing.RemoveAt(i);
        }
    }

    public void Dispose()
    {
        _stopped = true;
        Post(static () => { });
        if (_thread.Join(2000))
        {
            close(_epoll);
            close(_wakeFd);
        }
    }

    private sealed class ActionWork(Action action) : ILoopWork
    {
        public void Run() => action();
    }
}

/// <summary>Something to run on a loop thread.</summary>
internal interface ILoopWork
{
    void Run();
}
