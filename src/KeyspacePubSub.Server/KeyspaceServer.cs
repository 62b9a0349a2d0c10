using KeyspacePubSub.Persistence;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Logging;

namespace KeyspacePubSub.Server;

/// <summary>
/// The network front end: listens on the configured addresses (and the Unix socket, if one is configured), runs
/// one <see cref="Connection"/> per client, drives the engine's 10 Hz cron, and on stop closes every connection
/// after its pending output is sent. Program.cs runs it; tests start it in-process on port 0.
/// </summary>
public sealed class KeyspaceServer : IAsyncDisposable
{
    private readonly List<SocketListener> _listeners = []; // io-transport sockets
    private readonly List<Linux.SocketFd> _nativeListeners = []; // the event loops' (epoll)
    private Linux.SocketFd? _unixListener; // the event loops' Unix socket (unixsocket)
    // The open connections (a set: each removes itself when it has closed; StopAsync waits for it to empty).
    private readonly ConcurrentDictionary<IServerConnection, byte> _connections = new();
    private readonly List<Linux.EventLoop> _loops = [];
    private int _nextLoop;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ILogger _logger;
    private Timer? _cron;

    public KeyspaceServer(Engine.Engine engine, ILogger<KeyspaceServer>? logger = null, PersistenceOptions? persistence = null)
    {
        Engine = engine;
        // Free pooled output blocks are not used memory (see Engine.PooledFreeBytes); both pools are the process's.
        engine.UseOutputPools(
            static () => Linux.OutputQueue.Block.FreeBytes + OutputBlockPool.Instance.FreeBytes,
            static () => Linux.OutputQueue.Block.Trim() + OutputBlockPool.Instance.Trim());
        _loopConnectionClosed = c => _connections.TryRemove(c, out _);
        _logger = (ILogger?)logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        _persistence = persistence;
    }

    private readonly Action<Linux.LoopConnection> _loopConnectionClosed; // one delegate for every event-loop connection
    private readonly PersistenceOptions? _persistence;
    private SqliteStore? _store;

    public Engine.Engine Engine { get; }

    /// <summary>The endpoints actually bound (port 0 resolved).</summary>
    public List<IPEndPoint> EndPoints { get; } = [];

    public int Port => EndPoints.Count > 0 ? EndPoints[0].Port : 0;

    /// <summary>As Redis's checkTcpBacklogSettings: the kernel silently caps the listen queue at somaxconn.</summary>
    private void WarnIfBacklogCapped()
    {
        try
        {
            const string path = "/proc/sys/net/core/somaxconn";
            if (!File.Exists(path) || !int.TryParse(File.ReadAllText(path).Trim(), out int somaxconn)) return;
            if (somaxconn < Engine.Config.TcpBacklog)
            {
                _logger.LogWarning("WARNING: The TCP backlog setting of {Backlog} cannot be enforced because /proc/sys/net/core/somaxconn is set to the lower value of {Max}.",
                    Engine.Config.TcpBacklog, somaxconn);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Not readable here: nothing to say.
        }
    }

    public Task StartAsync()
    {
        // Durable keys are loaded before the first client can connect.
        if (_persistence is { Enabled: true } p)
        {
            _store = p.Attach(Engine, _logger);
        }
        int port = Engine.Config.Port;
        WarnIfBacklogCapped();
        bool epoll = Engine.Config.IoTransport == "epoll" && Linux.LinuxNative.Supported;
        string unixSocket = Engine.Config.UnixSocket;
        // As Redis: with a Unix socket, port 0 is no TCP listener. Without one, port 0 is any free port (tests).
        var addresses = port == 0 && unixSocket.Length > 0 ? [] : ParseBind(Engine.Config.Bind);
        foreach (var address in addresses)
        {
            int bindPort = port == 0 && EndPoints.Count > 0 ? EndPoints[0].Port : port;
            if (epoll)
            {
                _nativeListeners.Add(Linux.NativeSocket.Listen(address, bindPort, Engine.Config.TcpBacklog, out var bound));
                EndPoints.Add(bound);
                continue;
            }
            var listener = new SocketListener(address, bindPort, Engine, _logger, _connections, _stopping.Token);
            _listeners.Add(listener);
            EndPoints.Add(listener.EndPoint!);
        }
        if (unixSocket.Length > 0)
        {
            if (epoll) _unixListener = Linux.NativeSocket.ListenUnix(unixSocket, Engine.Config.UnixSocketPerm, Engine.Config.TcpBacklog);
            else _listeners.Add(new SocketListener(unixSocket, Engine.Config.UnixSocketPerm, Engine, _logger, _connections, _stopping.Token));
        }
        Engine.ListeningPort = Port;
        if (epoll)
        {
            for (int i = 0; i < Engine.Config.IoThreads; i++) _loops.Add(new Linux.EventLoop(i, Engine.Config.EventLoopSpinMicros, _logger,
                Engine.Config.EventLoopWriteHelper != "no" ? Engine.Stats : null, Engine.Config.EventLoopPushDelayMicros,
                shareAlways: Engine.Config.EventLoopWriteHelper == "always"));
            foreach (var l in _nativeListeners) _loops[0].AddListener(l, AcceptedOnLoop);
            if (_unixListener != null) _loops[0].AddListener(_unixListener, AcceptedOnLoopUnix);
        }
        foreach (var l in _listeners) l.Start();
        // Periodic work, 10 times a second: on event loop 0 when there are loops (as Redis's serverCron), else a timer.
        if (_loops.Count > 0) _loops[0].SetCron(Engine.Cron, 100);
        else _cron = new Timer(_ => Engine.Cron(), null, 100, 100);
        Engine.StartExpiry();
        string transport = _loops.Count > 0 ? $"{_loops.Count} epoll event loop(s)" : ".NET sockets";
        if (EndPoints.Count > 0) _logger.LogInformation("Ready to accept connections tcp on {EndPoints} ({Transport})", string.Join(", ", EndPoints), transport);
        if (unixSocket.Length > 0) _logger.LogInformation("Ready to accept connections unix on {Path} ({Transport})", unixSocket, transport);
        return Task.CompletedTask;
    }

    /// <summary>"127.0.0.1", "0.0.0.0 ::1", "*" (any IPv4), "-::*" style optional markers stripped.</summary>
    private static IEnumerable<IPAddress> ParseBind(string bind)
    {
        foreach (var raw in bind.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var item = raw.TrimStart('-');
            yield return item switch
            {
                "*" => IPAddress.Any,
                "::*" => IPAddress.IPv6Any,
                "localhost" => IPAddress.Loopback,
                _ => IPAddress.Parse(item),
            };
        }
    }

    /// <summary>A new TCP client of the event loops (accepted on loop 0): to the next loop, round-robin.</summary>
    private void AcceptedOnLoop(Linux.SocketFd socket)
    {
        Linux.NativeSocket.SetNoDelay(socket.Fd);
        if (Engine.Config.TcpKeepalive > 0) Linux.NativeSocket.SetKeepAlive(socket.Fd, Engine.Config.TcpKeepalive);
        StartOnLoop(socket, unixSocket: null);
    }

    /// <summary>A new client of the Unix socket: as a TCP one, without the TCP options.</summary>
    private void AcceptedOnLoopUnix(Linux.SocketFd socket) => StartOnLoop(socket, Engine.Config.UnixSocket);

    private void StartOnLoop(Linux.SocketFd socket, string? unixSocket)
    {
        if (_stopping.IsCancellationRequested)
        {
            socket.Dispose();
            return;
        }
        var loop = _loops[_nextLoop++ % _loops.Count];
        var connection = new Linux.LoopConnection(socket, loop, Engine, _logger, _loopConnectionClosed, unixSocket);
        _connections[connection] = 0;
        // On the accepting loop's own thread the client starts here, as Redis's accept handler registers it:
        // posted, a burst's starts all ran in the next iteration, and accepts waited behind them.
        if (loop.OnLoopThread) connection.Start();
        else loop.Post(connection.Start);
    }

    /// <summary>Stops accepting, lets each connection send what it has queued, then closes it.</summary>
    public async Task StopAsync()
    {
        if (_stopping.IsCancellationRequested) return;
        _stopping.Cancel();
        if (_loops.Count > 0) await Task.WhenAny(_loops[0].RemoveListeners(), Task.Delay(2000)).ConfigureAwait(false);
        foreach (var l in _listeners) l.Dispose();
        foreach (var l in _nativeListeners) l.Dispose();
        if (Engine.Config.UnixSocket.Length > 0)
        {
            _unixListener?.Dispose();
            if (UnixSocketFile.Remove(Engine.Config.UnixSocket) is { } failure) // as Redis at shutdown
            {
                _logger.LogWarning("Could not remove the Unix socket {Path}: {Message}", Engine.Config.UnixSocket, failure);
            }
        }
        _cron?.Dispose();
        Engine.StopExpiry();
        foreach (var c in _connections.Keys) c.CloseGracefully();
        if (!await AllClosed(TimeSpan.FromSeconds(5)))
        {
            foreach (var c in _connections.Keys) c.Abort();
            await AllClosed(TimeSpan.FromSeconds(2));
        }
        foreach (var loop in _loops) loop.Dispose();
        if (_store != null)
        {
            // After the connections: every queued commit is written first, then the large lists' bounds for the next load.
            List<(long Id, long Low, long High)> bounds;
            lock (Engine.Gate) bounds = Engine.Durable?.StoredListBounds(SqliteStore.ListBoundsMinRows) ?? [];
            _store.Close(bounds);
        }
        _logger.LogInformation("Server stopped; all connections closed");
    }

    /// <summary>Waits until every connection has closed (each removes itself), or the time is up.</summary>
    private async Task<bool> AllClosed(TimeSpan limit)
    {
        var waited = Stopwatch.StartNew();
        while (!_connections.IsEmpty)
        {
            if (waited.Elapsed >= limit) return false;
            await Task.Delay(5).ConfigureAwait(false);
        }
        return true;
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
