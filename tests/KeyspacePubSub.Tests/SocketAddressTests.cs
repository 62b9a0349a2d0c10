using System.Net;
using System.Net.Sockets;
using FluentAssertions;
using KeyspacePubSub.Server.Linux;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// The "ip:port" texts of the event loops' connections (CLIENT LIST's addr and laddr), which are formatted
/// straight from the socket address, with the loop thread's last local address reused: each must be the
/// connection's own, whatever the listener, and the same as .NET's endpoint formatting gives.
/// </summary>
public class SocketAddressTests
{
    private static (Socket Client, SocketFd Server) Connect(SocketFd listener, IPEndPoint bound)
    {
        var client = new Socket(bound.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(bound);
        for (int attempt = 0; ; attempt++)
        {
            int fd = NativeSocket.Accept(listener);
            if (fd >= 0) return (client, new SocketFd(fd));
            if (attempt > 1000) throw new IOException("the connection was never accepted");
            Thread.Sleep(1);
        }
    }

    /// <summary>One connection: its peer and local texts are "address:port" as .NET prints the endpoints.</summary>
    private static void CheckOneConnection(SocketFd listener, IPEndPoint bound)
    {
        var (client, server) = Connect(listener, bound);
        using (client)
        using (server)
        {
            var peer = (IPEndPoint)client.LocalEndPoint!;
            NativeSocket.PeerAddress(server.Fd).Should().Be($"{peer.Address}:{peer.Port}");
            NativeSocket.LocalAddress(server.Fd).Should().Be($"{bound.Address}:{bound.Port}");
        }
    }

    [Fact]
    public void Ipv4_PeerAndLocal_AreEachConnectionsOwn_AcrossListeners()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var a = NativeSocket.Listen(IPAddress.Loopback, 0, 16, out var boundA);
        using var b = NativeSocket.Listen(IPAddress.Parse("127.0.0.2"), 0, 16, out var boundB);
        foreach (var (listener, bound) in new[] { (a, boundA), (b, boundB), (b, boundB), (a, boundA), (a, boundA) }) CheckOneConnection(listener, bound);
    }

    [Fact]
    public void Ipv6_IsFormattedAsDotNetFormatsIt()
    {
        if (!OperatingSystem.IsLinux() || !Socket.OSSupportsIPv6) return;
        SocketFd listener;
        IPEndPoint bound;
        try
        {
            listener = NativeSocket.Listen(IPAddress.IPv6Loopback, 0, 16, out bound);
        }
        catch (IOException)
        {
            return; // no IPv6 loopback on this machine
        }
        using (listener) CheckOneConnection(listener, bound); // "::1:port", as .NET prints the address
    }

    [Fact]
    public void ClosedSocket_IsUnknown()
    {
        if (!OperatingSystem.IsLinux()) return;
        NativeSocket.PeerAddress(-1).Should().Be("?:0");
        NativeSocket.LocalAddress(-1).Should().Be("?:0");
    }
}
