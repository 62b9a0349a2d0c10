using KeyspacePubSub.Engine;
using KeyspacePubSub.Engine.Persistence;
using KeyspacePubSub.Protocol;
using Microsoft.Extensions.Logging;

namespace KeyspacePubSub.Server;

/// <summary>
/// Parses every complete command in a connection's received bytes and executes them under the engine
/// gate in one go (one lock per read, not per command). Commands behind a blocking one are held in the client
/// and run, first, once it is answered. Shared by both transports.
/// </summary>
internal sealed class RequestRunner(Engine.Engine engine, ILogger logger, string remoteAddress)
{
    private const int MaxCommandsPerBatch = 512;
    private const long QueryBufferLimit = 1L << 30; // client-query-buffer-limit

    private readonly RequestParser _parser = new();
    private readonly RequestBatch _batch = new();

    /// <summary>
    /// Runs the commands a client sent while it was blocked, until they are done or one blocks again. Uses no
    /// parser state, so a transport may call it beside its reads. Returns true when the connection must close.
    /// </summary>
    public bool RunHeld(Client client, ref int executed, ref CommitTicket? commit)
    {
        lock (engine.Gate)
        {
            engine.RunHeld(client, ref executed);
            engine.FlushDirty();
            commit = engine.CommitDurable() ?? commit;
        }
        return client.CloseAfterReply || client.Closed;
    }

    /// <summary>
    /// Executes what is complete in <paramref name="data"/> from <paramref name="consumed"/> on, advancing it.
    /// Returns true when the connection must close (QUIT, protocol error, killed). A durable commit the
    /// batch needs is returned in <paramref name="commit"/>: its replies may leave only once it completed.
    /// </summary>
    public bool Run(Client client, ReadOnlySpan<byte> data, ref int consumed, int received, ref int executed, ref CommitTicket? commit)
    {
        client.QueryBufferBytes = data.Length - consumed; // the whole read while its commands run (CLIENT LIST qbuf)
        bool close = RunRead(client, data, ref consumed, received, ref executed, ref commit);
        client.QueryBufferBytes = close ? 0 : data.Length - consumed; // what is left: the start of a command
        return close;
    }

    private bool RunRead(Client client, ReadOnlySpan<byte> data, ref int consumed, int received, ref int executed, ref CommitTicket? commit)
    {
        // Commands sent while the client was blocked go first (see IClientTransport.Resume).
        if ((client.HeldCount > 0 || client.HeldProtocolError != null) && !client.IsBlocked && RunHeld(client, ref executed, ref commit)) return true;
        bool first = true;
        while (true)
        {
            if (client.HeldProtocolError != null) return false; // nothing after a protocol error is read (see below)
            _parser.AuthRequired = !client.Authenticated && engine.Acl.AuthRequired;
            _parser.MaxBulkLength = engine.Config.ProtoMaxBulkLen;
            // While authentication is pending, one command at a time: AUTH changes the limits that apply.
            var status = _parser.Parse(data, ref consumed, _batch, _parser.AuthRequired ? 1 : MaxCommandsPerBatch);
            if (_batch.ArenaBytes > QueryBufferLimit)
            {
                logger.LogWarning("Closing client {Addr}: query buffer over limit", remoteAddress);
                return true;
            }
            if (_batch.CommandCount == 0 && status != ParseStatus.Error)
            {
                if (first) engine.Stats.NoteRead(received);
                return false;
            }
            lock (engine.Gate)
            {
                if (first) engine.Stats.NoteRead(received);
                for (int i = 0; i < _batch.CommandCount && !client.CloseAfterReply && !client.Closed; i++)
                {
                    // Behind a blocking command the rest wait, in order, until it is answered.
                    if (client.IsBlocked) client.Hold(_batch[i]);
                    else engine.Execute(client, _batch[i]);
                    executed++;
                }
                if (client.HeldBytes > QueryBufferLimit)
                {
                    logger.LogWarning("Closing client {Addr}: query buffer over limit", remoteAddress);
                    return true;
                }
                if (status == ParseStatus.Error && !client.CloseAfterReply && !client.Closed)
                {
                    // A blocked client's error waits behind what it holds, as Redis parses nothing while blocked.
                    if (client.IsBlocked) client.HeldProtocolError = _parser.Error!;
                    else
                    {
                        client.Reply.Error(_parser.Error!);
                        client.CloseAfterReply = true;
                        engine.MarkForFlush(client);
                    }
                }
                engine.FlushDirty();
                commit = engine.CommitDurable() ?? commit;
            }
            first = false;
            _batch.Reset();
            if (client.CloseAfterReply || client.Closed) return true;
            if (status != ParseStatus.Full) return false;
        }
    }
}
