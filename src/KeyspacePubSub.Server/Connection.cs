using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using KeyspacePubSub.Engine;
using KeyspacePubSub.Protocol;
using Microsoft.Extensions.Logging;

namespace KeyspacePubSub.Server;

/// <summary>
/// One TCP connection: a receive loop that parses every complete command in the buffer and executes
/// them under the engine gate in one go, and a send loop that drains the output pipe with one socket
/// write per wake-up, so everything queued since the last write (replies and pushes) shares one syscall.
/// </summary>
internal sealed class Connection : IClientTransport
{
    private const int MaxCommandsPerBatch = 512;
    private const long OwnOutputHighWater = 4L << 20;
    private const long QueryBufferLimit = 1L << 30; // client-query-buffer-limit

    private static readonly PipeOptions OutputOptions = new(
        pauseWriterThreshold: 0, // never block a writer: limits are enforced by the engine, per client class
        readerScheduler: PipeScheduler.ThreadPool,
        writerScheduler: PipeScheduler.Inline,
        useSynchronizationContext: false,
        minimumSegmentSize: 16 * 1024);

    private readonly Socket _socket;
    private readonly Engine.Engine _engine;
    private readonly ILogger _logger;
    private readonly Pipe _output = new(OutputOptions);
    private readonly RequestParser _parser = new();
    private readonly RequestBatch _batch = new();
    private volatile bool _aborted;
    private TaskCompletionSource? _drained;
    private Client? _client;

    public Connection(Socket socket, Engine.Engine engine, ILogger logger)
    {
        _socket = socket;
        _engine = engine;
        _logger = logger;
        RemoteAddress = Format(socket.RemoteEndPoint);
        LocalAddress = Format(socket.LocalEndPoint);
    }

    public PipeWriter Output => _output.Writer;
    public string RemoteAddress { get; }
    public string LocalAddress { get; }

    public void Abort()
    {
        _aborted = true;
        _output.Reader.CancelPendingRead();
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
        var sending = Task.Run(SendLoopAsync);
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
            lock (_engine.Gate) _output.Writer.Complete();
            await sending;
            _socket.Dispose();
        }
    }

    private async Task ReceiveLoopAsync(Client client)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
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
                        var bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                        Buffer.BlockCopy(buffer, 0, bigger, 0, end);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = bigger;
                    }
                }
                int n = await _socket.ReceiveAsync(buffer.AsMemory(end), SocketFlags.None);
                if (n == 0) return;
                end += n;
                var pending = new ReadOnlySequence<byte>(buffer, start, end - start);
                bool close = Process(client, ref pending, n);
                start = end - (int)pending.Length;
                if (start == end)
                {
                    start = end = 0;
                    if (buffer.Length > 1 << 20)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
                    }
                }
                if (close) return;
                if (client.UnsentBytes > OwnOutputHighWater) await WaitForDrainAsync(client);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Parses and executes everything complete; returns true when the connection must close.</summary>
    private bool Process(Client client, ref ReadOnlySequence<byte> pending, int received)
    {
        bool first = true;
        while (true)
        {
            _parser.AuthRequired = !client.Authenticated && _engine.Config.AuthEnabled;
            _parser.MaxBulkLength = _engine.Config.ProtoMaxBulkLen;
            // While authentication is pending, one command at a time: AUTH changes the limits that apply.
            var status = _parser.Parse(ref pending, _batch, _parser.AuthRequired ? 1 : MaxCommandsPerBatch);
            if (_batch.ArenaBytes > QueryBufferLimit)
            {
                _logger.LogWarning("Closing client {Addr}: query buffer over limit", RemoteAddress);
                return true;
            }
            if (_batch.CommandCount == 0 && status != ParseStatus.Error)
            {
                if (first)
                {
                    lock (_engine.Gate) _engine.Stats.NetInputBytes += received;
                }
                return false;
            }
            lock (_engine.Gate)
            {
                if (first) _engine.Stats.NetInputBytes += received;
                for (int i = 0; i < _batch.CommandCount && !client.CloseAfterReply && !client.Closed; i++)
                {
                    _engine.Execute(client, _batch[i]);
                }
                if (status == ParseStatus.Error && !client.CloseAfterReply && !client.Closed)
                {
                    client.Reply.Error(_parser.Error!);
                    client.CloseAfterReply = true;
                    _engine.MarkForFlush(client);
                }
                _engine.FlushDirty();
            }
            first = false;
            _batch.Reset();
            if (client.CloseAfterReply || client.Closed) return true;
            if (status != ParseStatus.Full) return false;
        }
    }

    private async Task WaitForDrainAsync(Client client)
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _drained, tcs);
        if (client.UnsentBytes > OwnOutputHighWater / 2 && !_aborted) await tcs.Task;
        Volatile.Write(ref _drained, null);
    }

    private async Task SendLoopAsync()
    {
        var reader = _output.Reader;
        var segments = new List<ArraySegment<byte>>();
        var client = _client!;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync();
                if (result.IsCanceled || _aborted) break;
                var buffer = result.Buffer;
                if (!buffer.IsEmpty)
                {
                    if (buffer.IsSingleSegment)
                    {
                        await _socket.SendAsync(buffer.First, SocketFlags.None);
                    }
                    else
                    {
                        segments.Clear();
                        foreach (var mem in buffer)
                        {
                            if (!MemoryMarshal.TryGetArray(mem, out var seg)) seg = new ArraySegment<byte>(mem.ToArray());
                            segments.Add(seg);
                        }
                        await _socket.SendAsync(segments, SocketFlags.None);
                    }
                    client.OnSent(buffer.Length);
                    if (client.UnsentBytes <= OwnOutputHighWater / 2) Volatile.Read(ref _drained)?.TrySetResult();
                }
                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted) break;
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or InvalidOperationException)
        {
            Abort();
        }
        finally
        {
            Volatile.Read(ref _drained)?.TrySetResult();
            await reader.CompleteAsync();
            try
            {
                _socket.Shutdown(SocketShutdown.Both);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
            }
        }
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

    private static string Format(EndPoint? ep) => ep switch
    {
        IPEndPoint ip when ip.Address.IsIPv4MappedToIPv6 => $"{ip.Address.MapToIPv4()}:{ip.Port}",
        IPEndPoint ip when ip.AddressFamily == AddressFamily.InterNetworkV6 => $"{ip.Address}:{ip.Port}",
        IPEndPoint ip => $"{ip.Address}:{ip.Port}",
        _ => "?:0",
    };
}
