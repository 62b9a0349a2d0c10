using System.IO.Pipelines;

namespace KeyspacePubSub.Engine;

/// <summary>What the engine needs from a connection: somewhere to write, and a way to end it.</summary>
public interface IClientTransport
{
    /// <summary>The outbound buffer. Written only under <see cref="Engine.Gate"/>; never blocks the writer.</summary>
    PipeWriter Output { get; }

    /// <summary>Peer address as "ip:port".</summary>
    string RemoteAddress { get; }

    /// <summary>Local address as "ip:port".</summary>
    string LocalAddress { get; }

    /// <summary>
    /// A client of the <c>unixsocket</c>: both addresses are then "path:0", as Redis prints them; CLIENT LIST shows
    /// flag U, and DEBUG's and CONFIG's "local" protection lets it in (islocalClient).
    /// </summary>
    bool IsUnixSocket => false;

    /// <summary>
    /// Called under the gate after new output was flushed into <see cref="Output"/>: the transport sends it
    /// soon (inline after the client's own batch, or from the thread pool for pushes from others).
    /// </summary>
    void OutputReady();

    /// <summary>
    /// Called under the gate when the client stopped waiting in a blocking command and holds commands sent
    /// meanwhile: the transport runs them soon on its own thread (<see cref="Engine.RunHeld"/>), as it runs a read.
    /// </summary>
    void Resume();

    /// <summary>Ends the connection now, dropping unsent output (CLIENT KILL, output buffer limits, SHUTDOWN).</summary>
    void Abort();
}
