using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace KeyspacePubSub.Server;

/// <summary>
/// A listening socket of .NET's socket engine (io-transport sockets, or where epoll is unavailable): accepts
/// on a task of its own and runs a <see cref="SocketConnection"/> per client. A class of its own so that a
/// server on the event loops never loads System.Net.Sockets.
/// </summary>
internal sealed class SocketListener
{
    private readonly Socket _socket;
    private readonly Engine.Engine _engine;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<IServerConnection, byte> _connections;
    private readonly CancellationToken _stopping;

    static SocketListener()
    {
        // Socket continuations run on the epoll thread instead of hopping to the thread pool: the receive
        // loop parses, executes and replies there. Measured: PING -P 1 from ~60k/s to ~75k/s on 2 cores.
        // Read once by System.Net.Sockets when its engine starts, so this must precede any async socket use.
        if (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
        {
            Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
        }
    }

    private SocketListener(Socket socket, Engine.Engine engine, ILogger logger,
        ConcurrentDictionary<IServerConnection, byte> connections, CancellationToken stopping)
    {
        _socket = socket;
        _engine = engine;
        _logger = logger;
        _connections = connections;
        _stopping = stopping;
    }

    public SocketListener(IPAddress address, int port, Engine.Engine engine, ILogger logger,
        ConcurrentDictionary<IServerConnection, byte> connections, CancellationToken stopping)
        : this(new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp), engine, logger, connections, stopping)
    {
        try
        {
            if (address.AddressFamily == AddressFamily.InterNetworkV6) _socket.DualMode = false;
            _socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            _socket.Bind(new IPEndPoint(address, port));
            _socket.Listen(engine.Config.TcpBacklog);
        }
        catch (SocketException ex)
        {
            _socket.Dispose();
            throw new IOException($"bind {address}:{port}: {ex.Message}", ex);
        }
        EndPoint = (IPEndPoint)_socket.LocalEndPoint!;
    }

    /// <summary>A listening Unix domain socket at <paramref name="path"/> (as NativeSocket.ListenUnix; see <see cref="UnixSocketFile"/>).</summary>
    public SocketListener(string path, int permissions, Engine.Engine engine, ILogger logger,
        ConcurrentDictionary<IServerConnection, byte> connections, CancellationToken stopping)
        : this(new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified), engine, logger, connections, stopping)
    {
        _unixSocket = path;
        try
        {
            UnixSocketFile.Remove(path);
            _socket.Bind(new UnixDomainSocketEndPoint(path));
            _socket.Listen(engine.Config.TcpBacklog);
            UnixSocketFile.SetPermissions(path, permissions);
        }
        catch (Exception ex) when (ex is SocketException or IOException)
        {
            _socket.Dispose();
            throw new IOException($"unixsocket {path}: {ex.Message}", ex);
        }
    }

    private readonly string? _unixSocket;

    /// <summary>The TCP endpoint bound (null for the Unix socket).</summary>
    public IPEndPoint? EndPoint { get; }

    public void Start() => _ = Task.Run(AcceptLoopAsync);

    public void Dispose() => _socket.Dispose();

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _socket.AcceptAsync(_stopping);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stopping.IsCancellationRequested) return;
                continue;
            }
            Accepted(socket);
        }
    }

    private void Accepted(Socket socket)
    {
        if (_stopping.IsCancellationRequested)
        {
            socket.Dispose();
            return;
        }
        if (_unixSocket == null) SetTcpOptions(socket); // they do not apply to a Unix socket
        var connection = new SocketConnection(socket, _engine, _logger, _unixSocket);
        _connections[connection] = 0;
        _ = Task.Run(async () =>
        {
            try
            {
                await connection.RunAsync();
            }
            finally
            {
                _connections.TryRemove(connection, out _);
            }
        });
    }

    private void SetTcpOptions(Socket socket)
    {
        try
        {
            socket.NoDelay = true;
            if (_engine.Config.TcpKeepalive is > 0 and int seconds)
            {
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
                socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, seconds);
                socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, Math.Max(1, seconds / 3));
                socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, 3);
            }
        }
        catch (SocketException)
        {
            // The peer already went away; the connection notices on its first read.
        }
    }
}
