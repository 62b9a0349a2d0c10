using System.Net.Sockets;
using System.Text;

namespace KeyspacePubSub.Testing;

/// <summary>A raw RESP connection for byte-exact assertions.</summary>
public sealed class RawClient : IDisposable
{
    private readonly Socket _socket = new(SocketType.Stream, ProtocolType.Tcp);
    private readonly MemoryStream _pending = new();
    private readonly byte[] _buffer = new byte[64 * 1024];

    public RawClient(int port, int receiveBuffer = 0, int sendBuffer = 0)
    {
        _socket.NoDelay = true;
        if (receiveBuffer > 0) _socket.ReceiveBufferSize = receiveBuffer;
        if (sendBuffer > 0) _socket.SendBufferSize = sendBuffer;
        _socket.Connect("127.0.0.1", port);
    }

    public bool Closed { get; private set; }

    public void SendRaw(string text) => SendRaw(Encoding.Latin1.GetBytes(text));

    public void SendRaw(byte[] bytes) => _socket.Send(bytes);

    /// <summary>This end's address (its port names the connection in the server's CLIENT LIST, or in ss).</summary>
    public System.Net.EndPoint LocalEndPoint => _socket.LocalEndPoint!;

    /// <summary>Bytes that arrived and are not read yet (in this client or still in the socket).</summary>
    public long UnreadBytes => _pending.Length + _socket.Available;

    /// <summary>Sends one command as a multibulk request.</summary>
    public void Send(params string[] args)
    {
        var sb = new StringBuilder($"*{args.Length}\r\n");
        foreach (var a in args) sb.Append($"${Encoding.Latin1.GetByteCount(a)}\r\n{a}\r\n");
        SendRaw(sb.ToString());
    }

    /// <summary>Reads exactly <paramref name="frames"/> complete RESP values and returns their bytes as Latin-1 text.</summary>
    public string Read(int frames = 1, int timeoutMs = 5000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (true)
        {
            var data = _pending.GetBuffer().AsSpan(0, (int)_pending.Length);
            int pos = 0, count = 0;
            while (count < frames)
            {
                int len = RespFrames.Measure(data, pos);
                if (len < 0) break;
                pos += len;
                count++;
            }
            if (count == frames)
            {
                string text = Encoding.Latin1.GetString(data[..pos]);
                var rest = data[pos..].ToArray();
                _pending.SetLength(0);
                _pending.Write(rest);
                return text;
            }
            if (DateTime.UtcNow > deadline || Closed)
            {
                throw new TimeoutException($"expected {frames} frames, have: {RespFrames.Escape(data)}{(Closed ? " <closed>" : "")}");
            }
            Fill(50);
        }
    }

    /// <summary>Sends a command and reads one reply.</summary>
    public string Call(params string[] args)
    {
        Send(args);
        return Read();
    }

    /// <summary>True when nothing (more) arrives within the wait.</summary>
    public bool IsSilent(int waitMs = 100)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(waitMs);
        while (DateTime.UtcNow < deadline && !Closed) Fill(10);
        return _pending.Length == 0;
    }

    /// <summary>Every complete frame that arrives until nothing more comes for <paramref name="quietMs"/>, as text.</summary>
    public string ReadAvailable(int quietMs)
    {
        long before;
        do
        {
            before = _pending.Length;
            Fill(quietMs);
        }
        while (_pending.Length > before && !Closed);
        int frames = RespFrames.Count(_pending.GetBuffer().AsSpan(0, (int)_pending.Length), out _);
        return frames == 0 ? "" : Read(frames);
    }

    /// <summary>Waits for the server to close the connection.</summary>
    public bool WaitClosed(int timeoutMs = 5000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (!Closed && DateTime.UtcNow < deadline) Fill(20);
        return Closed;
    }

    private void Fill(int waitMs)
    {
        try
        {
            if (!_socket.Poll(waitMs * 1000, SelectMode.SelectRead)) return;
            int n = _socket.Receive(_buffer);
            if (n == 0) Closed = true;
            else _pending.Write(_buffer, 0, n);
        }
        catch (SocketException)
        {
            Closed = true;
        }
    }

    public void Dispose() => _socket.Dispose();
}
