using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using KeyspacePubSub.Engine;
using KeyspacePubSub.Engine.Persistence;
using KeyspacePubSub.Protocol;
using Microsoft.Extensions.Logging;

namespace KeyspacePubSub.Server;

/// <summary>
/// One TCP connection on .NET's socket engine (the transport where epoll is not available): a receive loop
/// that parses every complete command in the buffer and executes them under the engine gate in one go, then
/// sends the replies itself (no thread hand-off); pushes from other clients' commands wake a thread-pool
/// drain. Whatever is queued when a drain runs shares one write.
/// </summary>
internal sealed class SocketConnection : IClientTransport, IServerConnection
{
    private const int SmallBuffer = 1024;
    private const int LargeBuffer = 16 * 1024;

    private static readonly PipeOptions OutputOptions = new(
        pool: OutputBlockPool.Instance,
        pauseWriterThreshold: 0, // never block a writer: limits are enforced by the engine, per client class
        readerScheduler: PipeScheduler.ThreadPool,
        writerScheduler: PipeScheduler.Inline,
        useSynchronizationContext: false,
        minimumSegmentSize: OutputBlockPool.BlockSize);

    private readonly Socket _socket;
    private readonly Engine.Engine _engine;
    private readonly ILogger _logger;
    private readonly Pipe _output = new(OutputOptions);
    private readonly CoalescingPipeWriter _writer;
    private readonly RequestRunner _runner;
    private volatile bool _aborted;
    [ThreadStatic]
    private static List<SocketConnection>? t_drainsAfterBatch;

    private readonly List<SocketConnection> _othersToDrain = [];
    private readonly List<ArraySegment<byte>> _segments = [];
    private Client? _client;
    private long _flushSeq;
    private int _sending;
    private int _drainScheduled;
    private bool _inOwnBatch;
    private bool _outputDone;

    /// <param name="unixSocket">The path of the Unix socket it came through; null for TCP.</param>
    public SocketConnection(Socket socket, Engine.Engine engine, ILogger logger, string? unixSocket = null)
    {
        _socket = socket;
        _engine = engine;
        _logger = logger;
        IsUnixSocket = unixSocket != null;
        RemoteAddress = unixSocket != null ? unixSocket + ":0" : SocketAddresses.Format(socket.RemoteEndPoint);
        LocalAddress = unixSocket != null ? unixSocket + ":0" : SocketAddresses.Format(socket.LocalEndPoint);
        _runner = new RequestRunner(engine, logger, RemoteAddress);
        _writer = new CoalescingPipeWriter(_output.Writer);
    }

    public PipeWriter Output => _writer;
    public string RemoteAddress { get; }
    public string LocalAddress { get; }
    public bool IsUnixSocket { get; }

    public void Abort()
    {
        _aborted = true;
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>After the writer is completed: send what is left (unless aborted), then let the socket go.</summary>
    private async Task FinalDrainAsync()
    {
        var deadline = Environment.TickCount64 + 10_000;
        while (!_aborted && !_outputDone && Environment.TickCount64 < deadline)
        {
            await DrainAsync();
            if (!_outputDone) await Task.Delay(1);
        }
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Stops reading; what is already queued is still sent before the socket closes.</summary>
    public void CloseGracefully()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Receive);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }

    public async Task RunAsync()
    {
        var client = _engine.Connect(this);
        if (client is null)
        {
            await SendRawAsync("-ERR max number of clients reached\r\n"u8.ToArray());
            _socket.Dispose();
            return;
        }
        _client = client;
        try
        {
            await ReceiveLoopAsync(client);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "Connection {Addr} failed", RemoteAddress);
        }
        finally
        {
            _engine.Disconnect(client);
            lock (_engine.Gate) _writer.Complete();
            Interlocked.Increment(ref _flushSeq);
            await FinalDrainAsync();
            _socket.Dispose();
            await ReleaseOutputAsync();
        }
    }

    /// <summary>
    /// Completes the output pipe's reader once no drain is running (and none runs after: the drain flag stays
    /// taken), so the pipe returns the blocks of output never sent to the pool. Until 2026-12-07 the pipe was
    /// dropped with them: a subscriber gone with megabytes pending left its blocks to the GC, each still
    /// counted as made by <see cref="OutputBlockPool"/>, and once 64 MiB of them had gone that way the pool only
    /// made fresh arrays.
    /// </summary>
    private async Task ReleaseOutputAsync()
    {
        var deadline = Environment.TickCount64 + 10_000;
        while (Interlocked.CompareExchange(ref _sending, 1, 0) != 0)
        {
            if (Environment.TickCount64 > deadline) return; // a send the disposed socket never ended: the GC takes the blocks
            await Task.Delay(1);
        }
        _output.Reader.Complete();
    }

    private async Task ReceiveLoopAsync(Client client)
    {
        // Idle connections keep a small buffer (10,000 subscribers must not cost 16 KiB each); it doubles
        // while a large request arrives and shrinks back once everything in it has been executed.
        byte[] buffer = ArrayPool<byte>.Shared.Rent(SmallBuffer);
        int start = 0, end = 0;
        try
        {
            while (!_aborted)
            {
                if (end == buffer.Length)
                {
                    if (start > 0)
                    {
                        Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
                        end -= start;
                        start = 0;
                    }
                    else
                    {
                        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(buffer.Length * 2, LargeBuffer));
                        Buffer.BlockCopy(buffer, 0, bigger, 0, end);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = bigger;
                    }
                }
                int n = await _socket.ReceiveAsync(buffer.AsMemory(end), SocketFlags.None);
                if (n == 0) return;
                end += n;
                int executed = 0;
                Volatile.Write(ref _inOwnBatch, true);
                t_drainsAfterBatch = _othersToDrain;
                bool close;
                CommitTicket? commit = null;
                try
                {
                    close = _runner.Run(client, buffer.AsSpan(0, end), ref start, n, ref executed, ref commit);
                }
                finally
                {
                    t_drainsAfterBatch = null;
                }
                if (commit is { } ticket && !await Committed(ticket)) return;
                if (_othersToDrain.Count > 0) DrainOthers(executed);
                if (start == end)
                {
                    start = end = 0;
                    if (buffer.Length > SmallBuffer)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = ArrayPool<byte>.Shared.Rent(SmallBuffer);
                    }
                }
                Volatile.Write(ref _inOwnBatch, false);
                await DrainAsync(); // replies go out on this thread: no hand-off for request/response traffic
                if (close) return;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Sends the pushes this batch produced for other clients. A batch of one command is request/response
    /// traffic (a light publisher): its writes are done here and now, which keeps publish→receive latency
    /// low. A pipelined batch is bulk traffic: one work item does the writes on another core while this
    /// thread goes back to parsing, and queued messages coalesce into fewer, larger writes.
    /// </summary>
    private void DrainOthers(int commandsInBatch)
    {
        if (commandsInBatch <= 1)
        {
            foreach (var c in _othersToDrain)
            {
                Volatile.Write(ref c._drainScheduled, 0);
                _ = c.DrainAsync();
            }
            _othersToDrain.Clear();
            return;
        }
        var targets = _othersToDrain.ToArray();
        _othersToDrain.Clear();
        ThreadPool.UnsafeQueueUserWorkItem(static targets =>
        {
            foreach (var c in targets)
            {
                Volatile.Write(ref c._drainScheduled, 0);
                _ = c.DrainAsync();
            }
        }, targets, preferLocal: false);
    }

    /// <summary>
    /// Durable changes of the batch are committed before any of its replies or pushes leave: a client that
    /// saw its reply can count on the change. When the commit fails the client gets no reply at all: the
    /// connection is closed (the change stays queued for retry; further writes get MISCONF).
    /// </summary>
    private async ValueTask<bool> Committed(CommitTicket commit)
    {
        try
        {
            if (!commit.IsCompleted && _engine.Durable is { } durable)
            {
                // Off the socket thread first: it goes on to other clients' batches, whose units join this commit.
                await Task.Yield();
                durable.Store.Drive(commit);
            }
            if (!commit.IsCompleted || commit.IsFaulted) await commit.AsTask().ConfigureAwait(false);
            return true;
        }
        catch (IOException ex)
        {
            _logger.LogWarning("Closing client {Addr} without a reply: its durable changes were not committed ({Reason})", RemoteAddress, ex.Message);
            _othersToDrain.Clear();
            Volatile.Write(ref _inOwnBatch, false);
            Abort();
            return false;
        }
    }

    /// <inheritdoc />
    public void Resume() => ThreadPool.UnsafeQueueUserWorkItem(static c => _ = c.ResumeAsync(), this, preferLocal: false);

    /// <summary>
    /// The commands the client sent while it was blocked, beside the receive loop (the gate orders them: a
    /// read's batch runs what is held first). Replies, and pushes to others, leave once a durable commit is done.
    /// </summary>
    private async Task ResumeAsync()
    {
        if (_aborted || _client is not { } client) return;
        var drains = new List<SocketConnection>();
        int executed = 0;
        CommitTicket? commit = null;
        bool close;
        t_drainsAfterBatch = drains;
        try
        {
            close = _runner.RunHeld(client, ref executed, ref commit);
        }
        finally
        {
            t_drainsAfterBatch = null;
        }
        try
        {
            if (commit is { } ticket && !await Committed(ticket)) return;
            foreach (var c in drains)
            {
                Volatile.Write(ref c._drainScheduled, 0);
                await c.DrainAsync();
            }
            if (close) CloseGracefully();
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }

    /// <inheritdoc />
    public void OutputReady()
    {
        Interlocked.Increment(ref _flushSeq);
        // The receive loop drains its own output right after its batch.
        if (Volatile.Read(ref _inOwnBatch)) return;
        // Pushes caused by another connection's batch are collected and sent by one work item per batch.
        if (t_drainsAfterBatch != null)
        {
            if (Interlocked.Exchange(ref _drainScheduled, 1) == 0) t_drainsAfterBatch.Add(this);
            return;
        }
        if (Interlocked.Exchange(ref _drainScheduled, 1) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static c => _ = c.DrainScheduledAsync(), this, preferLocal: false);
        }
    }

    private async Task DrainScheduledAsync()
    {
        Volatile.Write(ref _drainScheduled, 0);
        await DrainAsync();
    }

    /// <summary>
    /// Sends everything flushed so far, one socket write per contiguous chunk. Only one thread drains at a
    /// time; a drain that overlaps new flushes (seen through _flushSeq) goes round again, so no wake-up
    /// is lost and everything queued meanwhile shares the next write.
    /// </summary>
    private async ValueTask DrainAsync()
    {
        var reader = _output.Reader;
        while (true)
        {
            if (Interlocked.CompareExchange(ref _sending, 1, 0) != 0) return;
            long seen;
            try
            {
                do
                {
                    seen = Volatile.Read(ref _flushSeq);
                    while (!_aborted && reader.TryRead(out var result))
                    {
                        var buffer = result.Buffer;
                        if (buffer.IsEmpty)
                        {
                            reader.AdvanceTo(buffer.End);
                            if (result.IsCompleted) _outputDone = true;
                            break;
                        }
                        // Counted before the send: a peer that has read the bytes must never see them in omem.
                        _client!.OnSent(buffer.Length);
                        await SendAsync(buffer);
                        reader.AdvanceTo(buffer.End);
                    }
                }
                while (!_aborted && seen != Volatile.Read(ref _flushSeq));
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException or InvalidOperationException)
            {
                Abort();
                return;
            }
            finally
            {
                Volatile.Write(ref _sending, 0);
            }
            if (_aborted || seen == Volatile.Read(ref _flushSeq)) return;
        }
    }

    private ValueTask<int> SendAsync(ReadOnlySequence<byte> buffer)
    {
        if (buffer.IsSingleSegment) return _socket.SendAsync(buffer.First, SocketFlags.None);
        _segments.Clear();
        foreach (var mem in buffer)
        {
            if (!MemoryMarshal.TryGetArray(mem, out var seg)) seg = new ArraySegment<byte>(mem.ToArray());
            _segments.Add(seg);
        }
        return new ValueTask<int>(_socket.SendAsync(_segments, SocketFlags.None));
    }

    private async Task SendRawAsync(byte[] bytes)
    {
        try
        {
            await _socket.SendAsync(bytes, SocketFlags.None);
        }
        catch (SocketException)
        {
        }
    }
}
