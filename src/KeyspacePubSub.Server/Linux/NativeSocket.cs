using System.Net;
using System.Runtime.InteropServices;

namespace KeyspacePubSub.Server.Linux;

/// <summary>
/// TCP and Unix domain sockets for the event loops, made with libc directly: listening, accepting, addresses,
/// TCP_NODELAY, shutdown. The loops never need .NET's <c>Socket</c>, whose first use starts the socket engine (two epoll
/// threads the loops do not use) and loads System.Net.Sockets: together about 1 MB of idle RSS.
/// </summary>
internal static unsafe partial class NativeSocket
{
    private const int AF_UNIX = 1;
    private const int AF_INET = 2;
    private const int AF_INET6 = 10;
    private const int SOCK_STREAM = 1;
    private const int SOCK_NONBLOCK = 0x800;
    private const int SOCK_CLOEXEC = 0x80000;
    private const int SOL_SOCKET = 1;
    private const int SO_REUSEADDR = 2;
    private const int IPPROTO_TCP = 6;
    private const int TCP_NODELAY = 1;
    private const int SO_KEEPALIVE = 9, TCP_KEEPIDLE = 4, TCP_KEEPINTVL = 5, TCP_KEEPCNT = 6;
    private const int IPPROTO_IPV6 = 41;
    private const int IPV6_V6ONLY = 26;
    private const int SHUT_RDWR = 2;
    private const int SockaddrSize = 28; // sockaddr_in6, the larger of the two

    /// <summary>A non-blocking listening socket bound to <paramref name="address"/>:<paramref name="port"/>.</summary>
    public static SocketFd Listen(IPAddress address, int port, int backlog, out IPEndPoint bound)
    {
        bool v6 = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
        int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) throw Failure("socket", address, port);
        var handle = new SocketFd(fd);
        try
        {
            SetOption(fd, SOL_SOCKET, SO_REUSEADDR, 1);
            if (v6) SetOption(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
            byte* sa = stackalloc byte[SockaddrSize];
            int length = Write(sa, address, port);
            if (bind(fd, sa, length) < 0) throw Failure("bind", address, port);
            if (listen(fd, backlog) < 0) throw Failure("listen", address, port);
            bound = Read(sa, &getsockname, fd) ?? new IPEndPoint(address, port);
            return handle;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A non-blocking listening Unix domain socket at <paramref name="path"/>, as Redis's anetUnixServer: a file left
    /// there by an earlier run is removed first, and <paramref name="permissions"/> (unless 0) are set on the new one.
    /// </summary>
    public static SocketFd ListenUnix(string path, int permissions, int backlog)
    {
        const int SunPathSize = 108;
        byte[] name = System.Text.Encoding.UTF8.GetBytes(path);
        if (name.Length == 0 || name.Length >= SunPathSize) throw new IOException($"unixsocket {path}: the path must be 1 to {SunPathSize - 1} bytes");
        UnixSocketFile.Remove(path); // as Redis: whether it existed does not matter
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) throw UnixFailure("socket", path);
        var handle = new SocketFd(fd);
        try
        {
            byte* sa = stackalloc byte[2 + SunPathSize];
            new Span<byte>(sa, 2 + SunPathSize).Clear();
            *(ushort*)sa = AF_UNIX;
            name.CopyTo(new Span<byte>(sa + 2, SunPathSize));
            if (bind(fd, sa, 2 + name.Length + 1) < 0) throw UnixFailure("bind", path);
            if (listen(fd, backlog) < 0) throw UnixFailure("listen", path);
            UnixSocketFile.SetPermissions(path, permissions);
            return handle;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Accepts a pending connection (non-blocking, close-on-exec), or -1 with errno set.</summary>
    public static int Accept(SocketFd listener) => accept4(listener.Fd, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC);

    public static void SetNoDelay(int fd)
    {
        int on = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(int));
    }

    /// <summary>As Redis's anetKeepAlive: probes after <paramref name="seconds"/> idle, every third of it, 3 of them.</summary>
    public static void SetKeepAlive(int fd, int seconds)
    {
        int on = 1, idle = seconds, interval = Math.Max(1, seconds / 3), count = 3;
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(int));
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(int));
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof(int));
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof(int));
    }

    /// <summary>"ip:port" of the peer or of the local end, as Redis prints addresses.</summary>
    /// <remarks>
    /// An IPv4 address (or an IPv4-mapped IPv6 one) is formatted straight from the socket address into its one
    /// string, with no <see cref="IPEndPoint"/> and <see cref="IPAddress"/> on the way (those, and the address's
    /// own cached text, were ~350 bytes of every connection). The local end of most connections is the same
    /// listening address: the loop thread's last one is reused.
    /// </remarks>
    public static string PeerAddress(int fd) => FormatQueried(&getpeername, fd, reuseLast: false);

    public static string LocalAddress(int fd) => FormatQueried(&getsockname, fd, reuseLast: true);

    public static void Shutdown(int fd) => shutdown(fd, SHUT_RDWR);

    [ThreadStatic] private static ulong t_lastLocalKey;
    [ThreadStatic] private static string? t_lastLocal;

    private static string FormatQueried(delegate*<int, byte*, int*, int> query, int fd, bool reuseLast)
    {
        byte* sa = stackalloc byte[SockaddrSize];
        int length = SockaddrSize;
        if (query(fd, sa, &length) < 0) return "?:0";
        int family = *(ushort*)sa;
        int port = (sa[2] << 8) | sa[3];
        byte* v4 = family == AF_INET ? sa + 4 : family == AF_INET6 && IsV4Mapped(sa + 8) ? sa + 20 : null;
        if (v4 == null) return Parse(sa) is { } ep ? SocketAddresses.Format(ep) : "?:0";
        ulong key = (1UL << 48) | ((ulong)(uint)port << 32) | *(uint*)v4; // never 0, the empty cache
        if (reuseLast && key == t_lastLocalKey && t_lastLocal != null) return t_lastLocal;
        Span<char> text = stackalloc char[21]; // "255.255.255.255:65535"
        int n = 0;
        for (int i = 0; i < 4; i++)
        {
            if (i > 0) text[n++] = '.';
            v4[i].TryFormat(text[n..], out int w, provider: System.Globalization.CultureInfo.InvariantCulture);
            n += w;
        }
        text[n++] = ':';
        port.TryFormat(text[n..], out int pw, provider: System.Globalization.CultureInfo.InvariantCulture);
        var result = new string(text[..(n + pw)]);
        if (reuseLast)
        {
            t_lastLocalKey = key;
            t_lastLocal = result;
        }
        return result;
    }

    /// <summary>::ffff:a.b.c.d, printed as a.b.c.d (as <see cref="SocketAddresses.Format"/> does).</summary>
    private static bool IsV4Mapped(byte* a) =>
        *(ulong*)a == 0 && *(ushort*)(a + 8) == 0 && a[10] == 0xff && a[11] == 0xff;

    private static IPEndPoint? Read(byte* sa, delegate*<int, byte*, int*, int> query, int fd)
    {
        int length = SockaddrSize;
        return query(fd, sa, &length) < 0 ? null : Parse(sa);
    }

    private static IPEndPoint? Parse(byte* sa)
    {
        int family = *(ushort*)sa;
        int port = (sa[2] << 8) | sa[3];
        return family switch
        {
            AF_INET => new IPEndPoint(new IPAddress(new ReadOnlySpan<byte>(sa + 4, 4)), port),
            AF_INET6 => new IPEndPoint(new IPAddress(new ReadOnlySpan<byte>(sa + 8, 16), *(uint*)(sa + 24)), port),
            _ => null,
        };
    }

    private static int Write(byte* sa, IPAddress address, int port)
    {
        new Span<byte>(sa, SockaddrSize).Clear();
        sa[2] = (byte)(port >> 8);
        sa[3] = (byte)port;
        if (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            *(ushort*)sa = AF_INET6;
            address.TryWriteBytes(new Span<byte>(sa + 8, 16), out _);
            *(uint*)(sa + 24) = (uint)address.ScopeId;
            return 28;
        }
        *(ushort*)sa = AF_INET;
        address.TryWriteBytes(new Span<byte>(sa + 4, 4), out _);
        return 16;
    }

    private static void SetOption(int fd, int level, int name, int value)
    {
        if (setsockopt(fd, level, name, &value, sizeof(int)) < 0)
        {
            throw new IOException($"setsockopt({level}, {name}) failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
    }

    private static IOException Failure(string call, IPAddress address, int port)
    {
        int errno = Marshal.GetLastPInvokeError();
        return new IOException($"{call} {address}:{port}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
    }

    private static IOException UnixFailure(string call, string path)
    {
        int errno = Marshal.GetLastPInvokeError();
        return new IOException($"{call} {path}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setsockopt(int fd, int level, int name, void* value, int length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int bind(int fd, byte* addr, int length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int listen(int fd, int backlog);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int accept4(int fd, byte* addr, int* length, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int getsockname(int fd, byte* addr, int* length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int getpeername(int fd, byte* addr, int* length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int shutdown(int fd, int how);
}

/// <summary>
/// A socket descriptor closed exactly once, when its last user is done: another thread's shutdown (Abort)
/// cannot reach a descriptor number the kernel has already given to a new connection.
/// </summary>
internal sealed class SocketFd : SafeHandle
{
    public SocketFd(int fd) : base(-1, ownsHandle: true) => SetHandle(fd);

    public override bool IsInvalid => handle == -1;

    public int Fd => (int)handle;

    protected override bool ReleaseHandle() => LinuxNative.close((int)handle) == 0;
}
