using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using KeyspacePubSub.Engine.Persistence;
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
    private const ulong ListenerTokenBase = ulong.MaxValue - 1024; // listener i has token base + i
    private const int MaxAcceptsPerEvent = 1000; // as Redis's MAX_ACCEPTS_PER_CALL

    /// <summary>An iteration flushing at least this many connections shares the sends with the write helper.</summary>
    public const int HelperFlushThreshold = 64;

    public const int ReadBufferSize = 64 * 1024;

    /// <summary>A longer idle gap (or busy stretch) counts as this much in its average, so either soon follows a change of load.</summary>
    private static readonly long MaxCountedGapTicks = Stopwatch.Frequency / 100; // 10 ms

    /// <summary>How long a window counting the connections that sent requests lasts (see <see cref="Wait"/>).</summary>
    private static readonly long RequesterWindowTicks = Stopwatch.Frequency / 1000; // 1 ms

    [ThreadStatic]
    private static EventLoop? t_current;

    private readonly int _epoll;
    private readonly int _wakeFd;
    private readonly ILogger _logger;
    private readonly Thread _thread;
    private readonly ConcurrentQueue<ILoopWork> _posted = new();
    private readonly Dictionary<ulong, LoopConnection> _connections = [];
    private List<LoopConnection> _toFlush = [];
    private List<LoopConnection> _deferred = [];
    private List<LoopConnection> _readLater = [], _readingNow = [];
    private readonly long _pushDelayTicks;
    private readonly List<LoopConnection> _closing = [];
    private readonly List<(SocketFd Listener, Action<SocketFd> Accepted)> _listeners = [];
    private List<(LoopConnection Connection, CommitTicket Commit)> _commits = [];
    private List<(LoopConnection Connection, CommitTicket Commit)> _drivenSpare = [];
    private IDurableStore? _commitStore;
    private readonly long _spinTicks;
    private long _averageGapTicks;
    private long _averageBusyTicks, _busySince; // time between two sleeps (every iteration in between), on average
    private int _wakePending;
    private volatile bool _stopped;
    private ulong _nextToken;
    private readonly WriteHelper? _writeHelper;
    private readonly bool _shareAlways; // event-loop-write-helper always: share every wide flush, saturated or not
    private int _lastFlushCount;
    private long _requesterWindow = 1, _requesterWindowStart; // connections that sent data: counted per window
    private int _requestersNow, _requestersBefore; // in this window, in the one before
    private Action? _cron;
    private long _cronPeriodTicks, _nextCronAt;

    /// <param name="writeHelperStats">Where the write helper counts its sends; null: no write helper.</param>
    /// <param name="pushDelayMicros">How long a busy loop may hold pushes back to send more of them at once (0: never).</param>
    /// <param name="shareAlways">The write helper shares every wide flush, not only while the loop is saturated.</param>
    public EventLoop(int index, int spinMicros, ILogger logger, KeyspacePubSub.Engine.ServerStats? writeHelperStats = null, int pushDelayMicros = 0,
        bool shareAlways = false)
    {
        _shareAlways = shareAlways;
        _pushDelayTicks = pushDelayMicros * Stopwatch.Frequency / 1_000_000;
        if (writeHelperStats != null) _writeHelper = new WriteHelper(index, writeHelperStats);
        _logger = logger;
        _spinTicks = spinMicros * Stopwatch.Frequency / 1_000_000;
        _epoll = EpollCreate();
        if (_epoll < 0) throw new IOException($"epoll_create1 failed: errno {Marshal.GetLastPInvokeError()}");
        _wakeFd = EventFdCreate();
        if (_wakeFd < 0) throw new IOException($"eventfd failed: errno {Marshal.GetLastPInvokeError()}");
        if (EpollAdd(_epoll, _wakeFd, EPOLLIN | EPOLLET, WakeToken) < 0)
        {
            throw new IOException($"epoll_ctl failed: errno {Marshal.GetLastPInvokeError()}");
        }
        ReadBuffer = GC.AllocateUninitializedArray<byte>(ReadBufferSize, pinned: true);
        // A large stack, reserved not committed: a Lua script may recurse as deep as Redis lets it (19,000 calls).
        _thread = new Thread(Run, ScriptStackBytes) { IsBackground = true, Name = $"event-loop-{index}" };
        _thread.Start();
    }

    private const int ScriptStackBytes = 256 << 20;

    /// <summary>Shared by every connection of this loop for reads that start a new request (pinned).</summary>
    public byte[] ReadBuffer { get; }

    public bool OnLoopThread => ReferenceEquals(t_current, this);

    /// <summary>Counts the loop's iterations (loop thread).</summary>
    public long Iteration { get; private set; }

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

    /// <summary>
    /// Runs <paramref name="cron"/> on this loop every <paramref name="periodMs"/>, between iterations, as Redis's
    /// serverCron is a time event of its loop: no timer thread wakes the thread pool ten times a second, and
    /// the periodic work never contends with the loop for the engine's lock. Any thread.
    /// </summary>
    public void SetCron(Action cron, int periodMs) => Post(() =>
    {
        _cronPeriodTicks = periodMs * Stopwatch.Frequency / 1000;
        _nextCronAt = Stopwatch.GetTimestamp() + _cronPeriodTicks;
        _cron = cron;
    });

    private void RunCronIfDue()
    {
        long now = Stopwatch.GetTimestamp();
        if (now < _nextCronAt) return;
        _nextCronAt = now + _cronPeriodTicks;
        try
        {
            _cron!();
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "Periodic work failed");
        }
    }

    /// <summary>Milliseconds epoll may sleep: until the cron is due (-1: no limit but <paramref name="timeout"/>).</summary>
    private int UntilCron(int timeout)
    {
        if (_cron is null) return timeout;
        long ms = Math.Max(0, (_nextCronAt - Stopwatch.GetTimestamp()) * 1000 / Stopwatch.Frequency + 1);
        return timeout < 0 ? (int)Math.Min(ms, int.MaxValue) : (int)Math.Min(ms, timeout);
    }

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

    /// <summary>Loop thread: the connection's socket may hold more requests; it is read again next iteration.</summary>
    public void ReadLater(LoopConnection connection) => _readLater.Add(connection);

    /// <summary>Loop thread: a closing connection whose output still drains; checked against its deadline.</summary>
    public void AddClosing(LoopConnection connection) => _closing.Add(connection);

    private void Run()
    {
        t_current = this;
        var events = (byte*)NativeMemory.Alloc((nuint)(MaxEvents * EventSize));
        try
        {
            while (!_stopped)
            {
                int n = Wait(events);
                if (n < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == EINTR) continue;
                    _logger.LogCritical("epoll_wait failed: errno {Errno}; the event loop stops", errno);
                    return;
                }
                bool requests = false; // data from clients: more may be on its way, so pushes may wait
                // Reads left over from the last iteration run after this one's events (each connection's own
                // flag drops a read that an event of this iteration already made); new ones wait for the next.
                var readNow = _readLater;
                _readLater = _readingNow;
                _readingNow = readNow;
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
                        uint mask = EventMask(events, i);
                        if ((mask & EPOLLIN) != 0)
                        {
                            requests = true;
                            if (connection.RequesterWindow != _requesterWindow)
                            {
                                connection.RequesterWindow = _requesterWindow;
                                _requestersNow++;
                            }
                        }
                        connection.OnEvents(mask);
                    }
                    else if (token >= ListenerTokenBase)
                    {
                        AcceptReady((int)(token - ListenerTokenBase));
                    }
                }
                if (readNow.Count > 0)
                {
                    requests = true;
                    foreach (var connection in readNow) connection.ReadLater();
                    readNow.Clear();
                }
                RunPosted();
                DriveCommits();
                // Send everything unless requests arrived: the write-space events that follow every send, and
                // wake-ups from other threads, do not make the loop busy.
                FlushQueued(idle: !requests);
                Iteration++;
                if (_closing.Count > 0) CheckClosing();
                if (_cron != null) RunCronIfDue();
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

    /// <summary>
    /// Waits for events. When requests have been arriving close together (the average idle gap is within the
    /// spin budget) the loop polls for up to the budget before it sleeps: a client whose next request finds the
    /// loop awake does not pay for waking it, which on a busy machine is what limits request/response
    /// throughput. When traffic is sparse the average gap is long and the loop sleeps at once, so an idle or
    /// lightly loaded server burns no CPU.
    /// </summary>
    private int Wait(byte* events)
    {
        if (_toFlush.Count > 0 || _commits.Count > 0 || _readLater.Count > 0 || !_posted.IsEmpty) return epoll_wait(_epoll, events, MaxEvents, 0);
        int timeout = UntilCron(_closing.Count > 0 ? 100 : -1);
        long idleSince = Stopwatch.GetTimestamp();
        _averageBusyTicks += (Math.Min(idleSince - _busySince, MaxCountedGapTicks) - _averageBusyTicks) / 8;
        int n = 0;
        if (idleSince - _requesterWindowStart > RequesterWindowTicks)
        {
            _requestersBefore = _requestersNow;
            _requestersNow = 0;
            _requesterWindow++;
            _requesterWindowStart = idleSince;
        }
        // No spin after a wide fan-out (an iteration that flushed many connections): its readers need the CPU
        // more than the loop needs to be awake for the next request. Nor while a single connection sends
        // requests: it cannot send the next one before it has read this iteration's reply, so the loop would
        // poll through that client's whole turn, on a core the client and whoever reads the pushes it caused
        // could use (one publisher and one subscriber on 2 cores: 237k-314k deliveries/s polling, 406k-467k
        // not). Many clients in flight are what makes a request likely to arrive within the budget.
        if (_spinTicks > 0 && _averageGapTicks <= _spinTicks && _lastFlushCount < HelperFlushThreshold
            && Math.Max(_requestersNow, _requestersBefore) >= 2)
        {
            long until = idleSince + _spinTicks;
            do
            {
                n = epoll_wait(_epoll, events, MaxEvents, 0);
            }
            while (n == 0 && Stopwatch.GetTimestamp() < until);
        }
        if (n == 0) n = epoll_wait(_epoll, events, MaxEvents, timeout);
        _busySince = Stopwatch.GetTimestamp();
        if (n > 0) _averageGapTicks += (Math.Min(_busySince - idleSince, MaxCountedGapTicks) - _averageGapTicks) / 8;
        return n;
    }

    /// <summary>
    /// Accepts the listener's connections on this loop (level-triggered) instead of on a thread of their own:
    /// each accepted socket (non-blocking) goes to <paramref name="accepted"/> on this loop's thread.
    /// </summary>
    public void AddListener(SocketFd listener, Action<SocketFd> accepted) => Post(() =>
    {
        _listeners.Add((listener, accepted));
        ulong token = ListenerTokenBase + (ulong)(_listeners.Count - 1);
        if (EpollAdd(_epoll, listener.Fd, EPOLLIN, token) < 0)
        {
            _logger.LogCritical("Cannot watch the listening socket with epoll: errno {Errno}", Marshal.GetLastPInvokeError());
        }
    });

    /// <summary>Stops accepting (before the listeners are closed, so no closed descriptor stays watched).</summary>
    public Task RemoveListeners()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(() =>
        {
            foreach (var (listener, _) in _listeners) EpollDelete(_epoll, listener.Fd);
            _listeners.Clear();
            done.TrySetResult();
        });
        return done.Task;
    }

    private void AcceptReady(int index)
    {
        if (index >= _listeners.Count) return;
        var (listener, accepted) = _listeners[index];
        for (int i = 0; i < MaxAcceptsPerEvent; i++)
        {
            int fd = NativeSocket.Accept(listener);
            if (fd < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == EAGAIN) return;
                if (errno is EINTR or ECONNABORTED) continue;
                if (errno is EMFILE or ENFILE or ENOBUFS or ENOMEM)
                {
                    // Out of descriptors or memory: the pending connection stays queued and the level-triggered
                    // listener would fire again at once, so stop watching it for 100 ms (Redis logs each failure).
                    _logger.LogWarning("Accepting client connection: errno {Errno}; accepting again in 100 ms", errno);
                    EpollDelete(_epoll, listener.Fd);
                    ulong token = ListenerTokenBase + (ulong)index;
                    _ = Task.Delay(100).ContinueWith(_ => Post(() =>
                    {
                        if (!_stopped && index < _listeners.Count) EpollAdd(_epoll, listener.Fd, EPOLLIN, token);
                    }), TaskScheduler.Default);
                    return;
                }
                _logger.LogWarning("Accepting client connection: errno {Errno}", errno);
                return;
            }
            accepted(new SocketFd(fd));
        }
    }

    private void RunPosted()
    {
        // Every iteration: IsEmpty is one read, Count walks the queue's segments (0.2% of the loop in perf).
        if (_posted.IsEmpty) return;
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

    /// <summary>
    /// Loop thread: a client's batch queued a durable commit; the loop commits it, with every other unit queued
    /// meanwhile, at the end of this iteration, before any reply is sent (under fsync always, and its fsync:
    /// as Redis's loop writes and syncs its AOF before it sleeps).
    /// </summary>
    public void DeferCommit(LoopConnection connection, IDurableStore store, CommitTicket commit)
    {
        _commits.Add((connection, commit));
        _commitStore = store;
    }

    private void DriveCommits()
    {
        if (_commits.Count == 0) return;
        try
        {
            // Units commit in queue order: driving the last one commits them all (or hands them to the writer).
            _commitStore!.Drive(_commits[^1].Commit);
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "Driving durable commits failed");
        }
        // Swapped out first: a connection whose commit is done reads on, and may defer its next commit.
        var driven = _commits;
        _commits = _drivenSpare;
        _drivenSpare = driven;
        foreach (var (connection, commit) in driven) connection.AfterDrivenCommit(commit);
        driven.Clear();
    }

    /// <summary>
    /// Sends what the iteration queued. While the loop is busy (this iteration read requests, and lately the loop
    /// has been busy more than asleep), a connection that only received pushes, no replies, may wait for the
    /// next iterations, up to the push delay, so that one send carries more messages; the first iteration that
    /// reads no request sends everything. Under a light load nothing waits: a publish's messages went out an
    /// iteration after the publisher's reply, which put the p50 of 1 → 1 at 1.16x Redis; now they go out in the
    /// same iteration. Connections are sent to in Redis's order: the one that got output last goes first
    /// (Redis links each client at the head of <c>clients_pending_write</c> and writes from the head), so
    /// the writer whose SET notified a subscriber gets its reply before the subscriber gets the event.
    /// </summary>
    private void FlushQueued(bool idle)
    {
        var now = _toFlush;
        bool busy = _averageGapTicks < _averageBusyTicks; // busy more than asleep, on average
        if (_pushDelayTicks > 0 && !idle && busy && now.Count > 0)
        {
            long ticks = Stopwatch.GetTimestamp();
            int kept = 0;
            for (int i = 0; i < now.Count; i++)
            {
                var c = now[i];
                if (c.MayDeferPushes(Iteration, ticks, _pushDelayTicks)) _deferred.Add(c);
                else now[kept++] = c;
            }
            now.RemoveRange(kept, now.Count - kept);
        }
        // Flushes queued while these are sent (a connection that closes releases others' pushes) join the
        // deferred ones: sent at the next iteration, which finds them queued and does not sleep.
        _toFlush = _deferred;
        _deferred = now;
        int count = now.Count;
        _lastFlushCount = count;
        // The helper shares a wide flush only while the loop is saturated: busy at least four fifths of the time,
        // so it cannot keep up alone. Otherwise the loop sends alone, and the second core stays with whoever
        // reads what it sends. A lone publish after an idle gap: waking the helper took that core from the
        // subscribers' readers just when they had 100 sockets to read (one epoll reader, about 900 publishes a
        // second to 100 subscribers: p50 1.30-1.49x Redis with the helper, 1.06-1.11x without). 4 KiB
        // messages at that rate to 100 of 1,000 subscribers keep the loop busy about half the time; with
        // "busy more than asleep" as the bar the helper joined now and then, and the light-rate p99 was
        // 9-26 ms against Redis's 4-9 (3 runs; 2.3-10 ms at four fifths, 3.2-6.3 without the helper). An
        // idle-gap threshold (100 µs) was tried first: under a throughput load the gaps between a publisher's
        // batches often passed it, and deliveries/s at 1 -> 100 fell by a quarter.
        bool saturated = _averageGapTicks * 4 < _averageBusyTicks;
        if (_writeHelper != null && count >= HelperFlushThreshold && (saturated || _shareAlways))
        {
            // The loop and its helper take the connections one at a time; the loop closes whatever the helper's
            // sends found must close once it is done.
            _writeHelper.FlushShared(now);
        }
        else
        {
            // Last queued first, as Redis (its pending-write list is pushed at the head). A connection whose
            // batch ran is queued after those it sent pushes to, so a publisher's reply leaves before its fan-out
            // (1 -> 100 at the light rate: p99 1.42x Redis with the reply last, 1.08x first) and a SET's reply
            // before the keyspace events it caused (KEA, one subscriber, redis-benchmark -P 1: each event before
            // its SET's reply gave 0.88-0.94x Redis's SET/s, 2026-12-01; 1.09-1.11x in this order).
            for (int i = count - 1; i >= 0; i--) now[i].Flush();
        }
        now.Clear();
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
        _writeHelper?.Dispose();
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
