using System.Net;
using System.Net.Sockets;

namespace KeyspacePubSub.Server;

/// <summary>What the server needs of a connection, whichever transport serves it.</summary>
internal interface IServerConnection
{
    /// <summary>Stops reading; what is already queued is still sent before the socket closes.</summary>
    void CloseGracefully();

    /// <summary>Ends the connection now, dropping unsent output.</summary>
    void Abort();
}

internal static class SocketAddresses
{
    /// <summary>"ip:port" as Redis prints addresses (IPv4-mapped addresses as IPv4).</summary>
    public static string Format(EndPoint? ep) => ep switch
    {
        IPEndPoint ip when ip.Address.IsIPv4MappedToIPv6 => $"{ip.Address.MapToIPv4()}:{ip.Port}",
        IPEndPoint ip when ip.AddressFamily == AddressFamily.InterNetworkV6 => $"{ip.Address}:{ip.Port}",
        IPEndPoint ip => $"{ip.Address}:{ip.Port}",
        _ => "?:0",
    };
}
