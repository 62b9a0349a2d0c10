using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.InteropServices;
using KeyspacePubSub.Engine;
using KeyspacePubSub.Engine.Persistence;
using Microsoft.Extensions.Logging;
using static KeyspacePubSub.Server.Linux.LinuxNative;

namespace KeyspacePubSub.Server.Linux;

/// <summary>
/// A client connection served by an <see cref="EventLoop"/>. Everything here runs on the loop thread except
/// <see cref="OutputReady"/>, <see cref="Abort"/> and <see cref="CloseGracefully"/>, which any thread may call.
/// Idle connections hold no receive buffer: reads land in the loop's shared buffer, and only the bytes of an
/// incomplete request are kept, in a buffer of the connection's own that goes back to the pool once used up.
/// </summary>
internal sealed unsafe class LoopConnection : IClientTransport, IServerConnection, ILoopWork
{
    private const int SmallBuffer = 1024;
    private const long CloseDeadlineMs = 10_000;
    private const int MaxGather = 64;

    /// <summary>How much one connection may read in one loop iteration (see <see cref="Receive"/>).</summary>
    private const int MaxReadPerIteration = 4 * EventLoop.ReadBufferSize;

    [ThreadStatic]
    private static LoopConnection? t_running;

    private readonly SocketFd _socket;
    private readonly int _fd;
    private readonly EventLoop _loop;
    private readonly Engine.Engine _engine;
    private readonly ILogger _logger;
    private readonly OutputQueue _output = new(); // never blocks a writer: limits are enforced by the engine, per client class
    private readonly RequestRunner _runner;
    private readonly Action<LoopConnection> _onClosed;
    private readonly List<LoopConnection> _held = [];
    private Client? _client;
    private ulong _token;

    /// <summary>The loop's requester-counting window this connection was last counted in (loop thread).</summary>
    public long RequesterWindow;
    private byte[]? _pending;
    private int _pendingStart;
    private int _pendingEnd;
    private volatile bool _aborted;
    private int _flushPosted;
    private bool _flushQueued;
    private bool _writeBlocked;
    private bool _commitPending;
    private bool _closeAfterCommit;
    private bool _readsDone;
    private bool _closing;
    private long _closeDeadline;
    private bool _closed;
    private bool _readAfterCommit;
    private bool _readLater; // a read filled the buffer: the loop reads again next iteration
    private long _readLaterIn; // the iteration of that read
    private bool _peerClosed; // epoll reported the peer's FIN (RDHUP/HUP): reads go on to the end of stream
    private bool _resumeAfterCommit; // the client was unblocked while a commit of its was pending: run what it holds after
    private long _executedIn = -1;
    private long _deferredSince;
    private long _batchSerial;
    private LoopConnection? _heldBy;
    private long _heldSerial;

    /// <param name="onClosed">Called once, on the loop thread, when the socket has closed (one delegate shared by every connection).</param>
    /// <param name="unixSocket">The path of the Unix socket it came through; null for TCP.</param>
    public LoopConnection(SocketFd socket, EventLoop loop, Engine.Engine engine, ILogger logger, Action<LoopConnection> onClosed, string? unixSocket = null)
    {
        _onClosed = onClosed;
        _socket = socket;
        _fd = socket.Fd;
        _loop = loop;
        _engine = engine;
        _logger = logger;
        if (unixSocket != null)
        {
            RemoteAddress = LocalAddress = unixSocket + ":0"; // as Redis prints both ends of a Unix socket client
            IsUnixSocket = true;
        }
        else
        {
            RemoteAddress = NativeSocket.PeerAddress(_fd);
            LocalAddress = NativeSocket.LocalAddress(_fd);
        }
        _runner = new RequestRunner(engine, logger, RemoteAddress);
    }

    public PipeWriter Output => _output;
    public string RemoteAddress { get; }
    public string LocalAddress { get; }
    public bool IsUnixSocket { get; }

    /// <summary>Loop thread: registers with epoll and with the engine.</summary>
    public void Start()
    {
        _token = _loop.Register(this);
        if (EpollAdd(_loop.Epoll, _fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, _token) < 0)
        {
            _logger.LogWarning("Cannot register client {Addr} with epoll: errno {Errno}", RemoteAddress, Marshal.GetLastPInvokeError());
            Close();
            return;
        }
        _client = _engine.Connect(this);
        if (_client is null)
        {
            ReadOnlySpan<byte> error = "-ERR max number of clients reached\r\n"u8;
            fixed (byte* p = error) Send(_fd, p, error.Length);
            Close();
        }
        // Data that arrived before registration is reported by the first epoll_wait (readiness on add).
    }

    /// <summary>Loop thread: what epoll reported for this socket.</summary>
    public void OnEvents(uint events)
    {
        if (_closed) return;
        try
        {
            if (_aborted)
            {
                Close();
                return;
            }
            if ((events & EPOLLOUT) != 0 && _writeBlocked)
            {
                _writeBlocked = false;
                SendNow();
                if (_closed) return;
            }
            if ((events & (EPOLLHUP | EPOLLRDHUP)) != 0) _peerClosed = true;
            if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) != 0) Receive();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A bug met while serving this connection (the parser, a batch's bookkeeping): this client is closed
            // and logged; the loop, and every other client of it, go on.
            Interlocked.Increment(ref _engine.Stats.InternalErrors);
            _logger.LogError(ex, "Internal error serving client {Addr}; closing it", RemoteAddress);
            Close();
        }
    }

    /// <summary>Loop thread: the read this connection gave up in an earlier iteration (see <see cref="Receive"/>).</summary>
    public void ReadLater()
    {
        // Not when this iteration already read it (an event) and gave up again: that read waits for the next.
        if (_readLater && _readLaterIn != _loop.Iteration) OnEvents(EPOLLIN);
    }

    /// <summary>
    /// Reads until the socket is drained (a read that does not fill the buffer), executing as it goes, but at
    /// most <see cref="MaxReadPerIteration"/> per loop iteration: the rest waits for the next iteration
    /// (<see cref="EventLoop.ReadLater"/>), as Redis reads once per event. Meanwhile this iteration's replies are
    /// sent, so a client streaming a long pipeline (<c>redis-cli --pipe</c>) gets replies while it still sends,
    /// not all of them once it stops, and other clients of the loop are served between its reads. (Four full
    /// buffers, not one: a publisher pipelining 4 KiB messages then fills each subscriber's send with as many
    /// messages as before; one buffer cost 30-40% more CPU per delivery.)
    /// While a durable commit is pending nothing is read; whether the socket may hold more is remembered, so
    /// the read after the commit is made only then (a read that finds nothing costs a system call per transaction).
    /// </summary>
    private void Receive()
    {
        _readLater = false;
        var buffer = _loop.ReadBuffer;
        int budget = MaxReadPerIteration;
        while (!_readsDone && !_closed)
        {
            if (_commitPending)
            {
                _readAfterCommit = true;
                return;
            }
            nint n;
            fixed (byte* p = buffer) n = read(_fd, p, buffer.Length);
            if (n < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == EINTR) continue;
                if (errno != EAGAIN) Close(); // reset by peer and the like: nothing more can be sent either
                return;
            }
            if (n == 0)
            {
                BeginClose();
                return;
            }
            Execute((int)n);
            budget -= (int)n;
            if (n == buffer.Length && budget <= 0)
            {
                // The socket may hold more: read it next iteration, after this one's replies are sent.
                if (!_closed && !_readsDone)
                {
                    _readLater = true;
                    _readLaterIn = _loop.Iteration;
                    _loop.ReadLater(this);
                }
                return;
            }
            // A short read drained the socket, unless the peer also closed: then read on to the end of stream (its
            // last requests and its FIN can come in one edge; a client blocked in BLPOP must not outlive it).
            if (n < buffer.Length && !_peerClosed) return;
        }
    }

    private void Execute(int received)
    {
        var client = _client!;
        int executed = 0;
        CommitTicket? commit = null;
        bool close;
        _batchSerial++;
        _executedIn = _loop.Iteration;
        t_running = this;
        try
        {
            if (_pending is null)
            {
                int consumed = 0;
                close = _runner.Run(client, _loop.ReadBuffer.AsSpan(0, received), ref consumed, received, ref executed, ref commit);
                if (consumed < received && !close) KeepPending(_loop.ReadBuffer.AsSpan(consumed, received - consumed));
            }
            else
            {
                AppendPending(_loop.ReadBuffer.AsSpan(0, received));
                close = _runner.Run(client, _pending.AsSpan(0, _pendingEnd), ref _pendingStart, received, ref executed, ref commit);
                if (_pendingStart == _pendingEnd) ReleasePending();
            }
        }
        finally
        {
            t_running = null;
        }
        if (_aborted)
        {
            Close();
            return;
        }
        if (commit is { IsCompleted: false } pending)
        {
            // Replies, and pushes this batch caused, leave once the durable change is committed.
            _commitPending = true;
            _closeAfterCommit = close;
            _loop.DeferCommit(this, _engine.Durable!.Store, pending);
            return;
        }
        if (commit is { IsFaulted: true } failed)
        {
            CommitFailed(failed.Failure);
            return;
        }
        ReleaseHeld();
        // Queued after the connections it held, so its replies leave first (see EventLoop.FlushQueued). Not for a
        // read that completed no command (part of a large request): queued then, it would stay ahead of those
        // that the rest of the request, read later in the same iteration, sends to.
        if (executed > 0) QueueFlush();
        if (close) BeginClose();
    }

    /// <summary>Loop thread, after the loop drove the iteration's commits: this one's outcome, or a wait for it.</summary>
    public void AfterDrivenCommit(CommitTicket commit)
    {
        if (commit.IsCompleted) OnCommitted(commit.Failure);
        else AwaitCommit(commit); // a long commit elsewhere (the once-a-second sync) took it over
    }

    /// <summary>The writer thread took the commit over: only here is a task made for it (see <see cref="CommitTicket"/>).</summary>
    private void AwaitCommit(CommitTicket commit)
    {
        commit.AsTask().ContinueWith(static (t, s) =>
        {
            var c = (LoopConnection)s!;
            string? failure = t.IsFaulted ? t.Exception?.InnerException?.Message ?? "the commit failed" : null;
            c._loop.Post(() => c.OnCommitted(failure));
        }, this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private void OnCommitted(string? failure)
    {
        _commitPending = false;
        _executedIn = _loop.Iteration; // its replies are released now: they never wait for the push delay
        if (_closed) return;
        if (failure != null)
        {
            CommitFailed(failure);
            return;
        }
        ReleaseHeld();
        QueueFlush();
        if (_closeAfterCommit)
        {
            BeginClose();
            return;
        }
        if (_resumeAfterCommit)
        {
            _resumeAfterCommit = false;
            Execute(0);
            if (_commitPending || _closed) return; // a read still due waits for this commit
        }
        if (_readAfterCommit)
        {
            _readAfterCommit = false;
            Receive(); // what arrived meanwhile raised no new edge
        }
    }

    /// <summary>When a commit fails the client gets no reply at all: the change stays queued for retry; further writes get MISCONF.</summary>
    private void CommitFailed(string? failure)
    {
        _logger.LogWarning("Closing client {Addr} without a reply: its durable changes were not committed ({Reason})", RemoteAddress, failure);
        _held.Clear();
        _aborted = true;
        Close();
    }

    private void KeepPending(ReadOnlySpan<byte> rest)
    {
        _pending = ArrayPool<byte>.Shared.Rent(Math.Max(SmallBuffer, rest.Length * 2));
        rest.CopyTo(_pending);
        _pendingStart = 0;
        _pendingEnd = rest.Length;
    }

    private void AppendPending(ReadOnlySpan<byte> data)
    {
        var buffer = _pending!;
        if (buffer.Length - _pendingEnd < data.Length)
        {
            int live = _pendingEnd - _pendingStart;
            if (buffer.Length - live < data.Length)
            {
                var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(buffer.Length * 2, live + data.Length));
                buffer.AsSpan(_pendingStart, live).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(buffer);
                _pending = buffer = bigger;
            }
            else
            {
                buffer.AsSpan(_pendingStart, live).CopyTo(buffer);
            }
            _pendingStart = 0;
            _pendingEnd = live;
        }
        data.CopyTo(buffer.AsSpan(_pendingEnd));
        _pendingEnd += data.Length;
    }

    private void ReleasePending()
    {
        if (_pending is null) return;
        ArrayPool<byte>.Shared.Return(_pending);
        _pending = null;
        _pendingStart = _pendingEnd = 0;
    }

    /// <inheritdoc />
    public void Resume() => _loop.Post(_runHeld ??= RunHeld);

    private Action? _runHeld;

    /// <summary>Loop thread: the commands the client sent while it was blocked (nothing new is read for them).</summary>
    private void RunHeld()
    {
        if (_closed || _closing || _client is null) return;
        if (_commitPending)
        {
            _resumeAfterCommit = true;
            return;
        }
        try
        {
            Execute(0);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Interlocked.Increment(ref _engine.Stats.InternalErrors);
            _logger.LogError(ex, "Internal error serving client {Addr}; closing it", RemoteAddress);
            Close();
        }
    }

    /// <inheritdoc />
    public void OutputReady()
    {
        // Pushes caused by a batch on a loop thread wait for that batch (and its durable commit, if any).
        var running = t_running;
        if (running == this) return; // queued by Execute after the connections it held, so it is sent first
        if (running != null)
        {
            // Once per batch (marked under the gate, which every OutputReady call holds).
            if (_heldBy != running || _heldSerial != running._batchSerial)
            {
                _heldBy = running;
                _heldSerial = running._batchSerial;
                running._held.Add(this);
            }
            return;
        }
        RequestFlush();
    }

    private void RequestFlush()
    {
        if (_loop.OnLoopThread) QueueFlush();
        else if (Interlocked.Exchange(ref _flushPosted, 1) == 0) _loop.Post(this);
    }

    /// <summary>Loop thread: a flush requested from another thread.</summary>
    void ILoopWork.Run()
    {
        Volatile.Write(ref _flushPosted, 0);
        QueueFlush();
    }

    private void ReleaseHeld()
    {
        if (_held.Count == 0) return;
        foreach (var c in _held) c.RequestFlush();
        _held.Clear();
    }

    private void QueueFlush()
    {
        if (_flushQueued || _closed) return;
        _flushQueued = true;
        _loop.QueueFlush(this);
    }

    /// <summary>
    /// Loop thread, for a connection queued for a flush: whether its send may wait for a later iteration. Only
    /// pushes may wait (the connection ran no command this iteration and no commit released its replies in
    /// it: no reply is held back), for at most <paramref name="maxTicks"/> in all and while less than 64 KiB
    /// are pending; it stays queued meanwhile.
    /// </summary>
    public bool MayDeferPushes(long iteration, long nowTicks, long maxTicks)
    {
        if (_executedIn == iteration || _closing || _closed || _writeBlocked || _client is not { } c || c.UnsentBytes >= 64 * 1024) return false;
        if (_deferredSince == 0)
        {
            _deferredSince = nowTicks;
            return true;
        }
        return nowTicks - _deferredSince < maxTicks;
    }

    /// <summary>
    /// Loop thread, for a connection taken from the loop's flush queue: sends everything queued so far, until
    /// done or the socket's buffer is full. Only here (and in <see cref="ClearFlushQueued"/>, for a shared
    /// flush) is the connection out of the queue, so only here may a later write queue it again.
    /// </summary>
    public void Flush()
    {
        _flushQueued = false;
        SendNow();
    }

    /// <summary>
    /// Loop thread, without touching the queued mark: sends now. For a send outside the flush queue (the socket
    /// became writable, the connection closes), and for the loop's share of a shared flush (whose connections
    /// <see cref="ClearFlushQueued"/> took from the queue before it began). A flush queued meanwhile stays
    /// queued and finds less to send. Clearing the mark here let the next write queue the connection a second
    /// time while it was still queued (kept for a later iteration as a deferred push, or queued again during
    /// the shared flush), and a shared flush then sent it from the loop and its write helper at once: both
    /// threads sent the same pending bytes (by the fan-out benchmark's count, once: a subscriber received a
    /// run of 32 messages twice at 1 -> 100 with 4 KiB messages).
    /// </summary>
    public void SendNow()
    {
        _deferredSince = 0;
        FinishFlush(SendQueued());
    }

    /// <summary>
    /// The loop's write helper, while the loop waits for it or flushes other connections: sends like
    /// <see cref="Flush"/> but leaves what only the loop thread may do (closing) to <see cref="FinishHelperFlush"/>.
    /// </summary>
    public void FlushOnHelper()
    {
        try
        {
            _helperOutcome = SendQueued();
        }
        catch (Exception ex) when (ex is InvalidOperationException or ObjectDisposedException or IOException)
        {
            _logger.LogWarning("Sending to client {Addr} failed: {Message}", RemoteAddress, ex.Message);
            _helperOutcome = FlushOutcome.Failed;
        }
    }

    /// <summary>Loop thread, before a shared flush: the connection may be queued again from here on.</summary>
    public void ClearFlushQueued()
    {
        _flushQueued = false;
        _deferredSince = 0;
    }

    /// <summary>Loop thread, after the helper is done: closes the connection if its flush found it must.</summary>
    public void FinishHelperFlush()
    {
        var outcome = _helperOutcome;
        _helperOutcome = FlushOutcome.Sent;
        FinishFlush(outcome);
    }

    private void FinishFlush(FlushOutcome outcome)
    {
        if (outcome == FlushOutcome.Failed)
        {
            _aborted = true;
            Close();
        }
        else if (outcome == FlushOutcome.Finished)
        {
            Close();
        }
    }

    private FlushOutcome _helperOutcome;

    private enum FlushOutcome
    {
        Sent,
        Finished, // everything sent and the output completed while closing
        Failed,
    }

    [System.Runtime.CompilerServices.SkipLocalsInit] // the iovec array is written before it is read (not zeroed: 1 KiB per flush)
    private FlushOutcome SendQueued()
    {
        if (_closed || _commitPending || _writeBlocked) return FlushOutcome.Sent;
        var iov = stackalloc IoVec[MaxGather];
        while (true)
        {
            int count = _output.Gather(iov, MaxGather, out long total);
            if (count == 0) return _output.WriterCompleted && _closing ? FlushOutcome.Finished : FlushOutcome.Sent;
            // Counted as sent before the call: a peer that has read the bytes must never see them in omem.
            _client?.OnSent(total);
            long sent = SendGathered(iov, count);
            if (sent < 0) return FlushOutcome.Failed;
            if (sent < total) _client?.OnSent(sent - total);
            _output.Consume(sent);
            if (sent == 0)
            {
                _writeBlocked = true; // the next EPOLLOUT edge resumes
                return FlushOutcome.Sent;
            }
        }
    }

    /// <summary>Bytes sent (0 when the socket buffer is full), or -1 when the connection failed.</summary>
    private long SendGathered(IoVec* iov, int count)
    {
        while (true)
        {
            nint n = count == 1 ? Send(_fd, iov[0].Base, iov[0].Length) : SendVector(_fd, iov, count);
            if (n >= 0) return n;
            int errno = Marshal.GetLastPInvokeError();
            if (errno == EINTR) continue;
            return errno == EAGAIN ? 0 : -1;
        }
    }

    /// <summary>Stops reading; what is already queued is still sent before the socket closes. Any thread.</summary>
    public void CloseGracefully() => _loop.Post(BeginClose);

    /// <summary>Ends the connection now, dropping unsent output. Any thread: the loop sees the shutdown and closes.</summary>
    public void Abort()
    {
        _aborted = true;
        bool added = false;
        try
        {
            _socket.DangerousAddRef(ref added); // throws once closed: the descriptor may belong to another socket by then
            NativeSocket.Shutdown(_fd);
        }
        catch (ObjectDisposedException)
        {
        }
        finally
        {
            if (added) _socket.DangerousRelease();
        }
    }

    /// <summary>Loop thread: no more requests; the output queued so far is sent (for up to 10 s), then the socket closes.</summary>
    private void BeginClose()
    {
        if (_closing || _closed) return;
        _closing = true;
        _readsDone = true;
        _closeDeadline = Environment.TickCount64 + CloseDeadlineMs;
        if (_client != null) _engine.Disconnect(_client);
        lock (_engine.Gate) _output.Complete();
        _loop.AddClosing(this);
        SendNow();
    }

    /// <summary>Loop thread, for closing connections: true once closed (closes it when past its deadline).</summary>
    public bool CheckClosing(long now)
    {
        if (!_closed && now >= _closeDeadline) Close();
        return _closed;
    }

    private void Close()
    {
        if (_closed) return;
        _closed = true;
        if (_client != null && !_closing) _engine.Disconnect(_client);
        if (!_closing)
        {
            lock (_engine.Gate) _output.Complete();
        }
        _output.ReleaseAll();
        if (_token != 0)
        {
            EpollDelete(_loop.Epoll, _fd);
            _loop.Unregister(_token);
        }
        NativeSocket.Shutdown(_fd);
        _socket.Dispose();
        ReleasePending();
        ReleaseHeld(); // other clients' pushes from this connection's last batch still go out
        _onClosed(this);
    }
}
