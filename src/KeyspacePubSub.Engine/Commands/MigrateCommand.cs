using System.Buffers;
using System.Net.Sockets;
using System.Text;
using KeyspacePubSub.Engine.Config;
using KeyspacePubSub.Engine.Rdb;
using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>
/// MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH password | AUTH2 username password]
/// [KEYS key ...], as Redis 7.0's migrateCommand: the keys are sent as RESTORE commands (after AUTH and SELECT)
/// over a connection to the target, and, unless COPY, each key the target answered +OK for is deleted here
/// ("del" event). Like Redis it waits for the target while it runs (every other client waits too), bounded by
/// the timeout. Redis keeps such a connection for 10 s and retries once on a cached one found closed; here each
/// MIGRATE opens its own, so there is nothing stale to retry.
/// </summary>
internal static class MigrateCommand
{
    public static void Register(CommandTable t)
    {
        t.Add(new() { Name = "migrate", Arity = -6, Flags = Write | MovableKeys, Handler = Migrate, FirstKey = 3, LastKey = 3, Step = 1, MovableKeyPositions = MigrateKeys, Group = "generic", ExtraAcl = AclCategory.Dangerous, Since = "2.6.0", Summary = "Atomically transfers a key from one Redis instance to another." });
    }

    /// <summary>migrateGetKeys: the key argument, or every argument after KEYS (options' own arguments skipped); none when both are given.</summary>
    private static IEnumerable<int> MigrateKeys(CommandArgs args, int start)
    {
        int argc = args.Count - start;
        for (int i = 6; i < argc; i++)
        {
            if (args.Is(start + i, "KEYS"))
            {
                if (args[start + 3].Length > 0) return [];
                return Enumerable.Range(i + 1, argc - i - 1);
            }
            if (args.Is(start + i, "AUTH")) i += 1;
            else if (args.Is(start + i, "AUTH2")) i += 2;
        }
        return [3];
    }

    private static void Migrate(CommandContext x)
    {
        bool copy = false, replace = false;
        byte[]? user = null, password = null;
        int firstKey = 3, keyCount = 1;
        for (int j = 6; j < x.Args.Count; j++)
        {
            int more = x.Args.Count - 1 - j;
            if (x.Args.Is(j, "COPY"))
            {
                copy = true;
            }
            else if (x.Args.Is(j, "REPLACE"))
            {
                replace = true;
            }
            else if (x.Args.Is(j, "AUTH"))
            {
                if (more < 1)
                {
                    x.Reply.Error(Errors.Syntax);
                    return;
                }
                password = x.Args.ToArray(++j);
                x.Engine.Redact(j);
            }
            else if (x.Args.Is(j, "AUTH2"))
            {
                if (more < 2)
                {
                    x.Reply.Error(Errors.Syntax);
                    return;
                }
                user = x.Args.ToArray(++j);
                x.Engine.Redact(j);
                password = x.Args.ToArray(++j);
                x.Engine.Redact(j);
            }
            else if (x.Args.Is(j, "KEYS"))
            {
                if (x.Args[3].Length != 0)
                {
                    x.Reply.Error("ERR When using MIGRATE KEYS option, the key argument must be set to the empty string");
                    return;
                }
                firstKey = j + 1;
                keyCount = x.Args.Count - j - 1;
                break;
            }
            else
            {
                x.Reply.Error(Errors.Syntax);
                return;
            }
        }
        if (!x.Args.TryGetInt64(5, out long timeout) || !x.Args.TryGetInt64(4, out long dbid))
        {
            x.Reply.Error(Errors.NotInteger);
            return;
        }
        if (timeout <= 0) timeout = 1000;
        var db = x.Engine.Databases[x.Client.Db];
        var keys = new List<byte[]>();
        var values = new List<object>();
        for (int j = 0; j < keyCount; j++)
        {
            if (x.Engine.LookupRead(db, x.Args[firstKey + j], growable: true) is { } value)
            {
                keys.Add(x.Args.ToArray(firstKey + j));
                values.Add(value);
            }
        }
        if (keys.Count == 0)
        {
            x.Reply.Raw("+NOKEY\r\n"u8);
            return;
        }

        // The request: AUTH, SELECT (a new connection has no database chosen yet), then a RESTORE per live key.
        var buffer = new ArrayBufferWriter<byte>();
        var request = new RespWriter(buffer);
        if (password != null)
        {
            request.Array(user != null ? 3 : 2);
            request.Bulk("AUTH"u8);
            if (user != null) request.Bulk(user);
            request.Bulk(password);
        }
        request.Array(2);
        request.Bulk("SELECT"u8);
        request.Bulk(dbid);
        long now = x.Engine.NowMs;
        var sent = new List<byte[]>();
        for (int j = 0; j < keys.Count; j++)
        {
            long ttl = 0, at = db.GetExpire(keys[j]);
            if (at != -1)
            {
                ttl = at - now;
                if (ttl < 0) continue;
                if (ttl < 1) ttl = 1;
            }
            sent.Add(keys[j]);
            byte[] payload = DumpPayload.Create(values[j]);
            request.Array(replace ? 5 : 4);
            request.Bulk("RESTORE"u8);
            request.Bulk(keys[j]);
            request.Bulk(ttl);
            request.Bulk(payload);
            if (replace) request.Bulk("REPLACE"u8);
        }

        // As anetTcpConnect: a host that does not resolve fails the connection at
        // once; a refused or unanswered connection shows when the request is written.
        int port = AtoI(x.Args[2]) & 0xFFFF; // getaddrinfo keeps a numeric service's low 16 bits
        System.Net.IPAddress[] addresses;
        try
        {
            string host = Encoding.UTF8.GetString(x.Args[1]);
            addresses = host.Length == 0 ? [] : System.Net.IPAddress.TryParse(host, out var ip) ? [ip] : System.Net.Dns.GetHostAddresses(host);
        }
        catch (Exception ex) when (ex is SocketException or ArgumentException)
        {
            addresses = [];
        }
        if (addresses.Length == 0)
        {
            x.Reply.Error("IOERR error or timeout connecting to the client");
            return;
        }
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, SendTimeout = (int)Math.Min(timeout, int.MaxValue), ReceiveTimeout = (int)Math.Min(timeout, int.MaxValue) };
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(Math.Min(timeout, int.MaxValue)));
            socket.ConnectAsync(addresses, port, cts.Token).AsTask().GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            x.Reply.Error("IOERR error or timeout writing to target instance");
            return;
        }
        try
        {
            socket.Send(buffer.WrittenSpan);
        }
        catch (SocketException)
        {
            x.Reply.Error("IOERR error or timeout writing to target instance");
            return;
        }
        var reader = new LineReader(socket);
        string? authReply = null, selectReply;
        if ((password != null && (authReply = reader.ReadLine()) is null) || (selectReply = reader.ReadLine()) is null)
        {
            x.Reply.Error("IOERR error or timeout reading to target instance");
            return;
        }
        string? targetError = null;
        bool socketError = false;
        foreach (var key in sent)
        {
            string? line = reader.ReadLine();
            if (line is null)
            {
                socketError = true;
                break;
            }
            if (authReply is ['-', ..] || selectReply is ['-', ..] || line is ['-', ..])
            {
                targetError ??= authReply is ['-', ..] ? authReply : selectReply is ['-', ..] ? selectReply : line;
            }
            else if (!copy)
            {
                var stored = db.KeyOf(key);
                if (stored is null) continue;
                db.Remove(stored);
                x.Engine.Notify(NotifyFlags.Generic, "del", stored, db.Index);
            }
        }
        if (targetError != null) x.Reply.Error("ERR Target instance replied with error: " + targetError[1..]);
        else if (socketError) x.Reply.Error("IOERR error or timeout reading to target instance");
        else x.Reply.Ok();
    }

    /// <summary>C's atoi: leading digits (after an optional sign), 0 when there are none; -1 past int's range.</summary>
    private static int AtoI(ReadOnlySpan<byte> s)
    {
        int i = 0;
        while (i < s.Length && s[i] is (byte)' ' or (byte)'\t') i++;
        bool negative = i < s.Length && s[i] == '-';
        if (i < s.Length && s[i] is (byte)'-' or (byte)'+') i++;
        long v = 0;
        for (; i < s.Length && s[i] is >= (byte)'0' and <= (byte)'9'; i++)
        {
            v = v * 10 + (s[i] - '0');
            if (v > int.MaxValue) return -1;
        }
        return negative ? (v == 0 ? 0 : -1) : (int)v;
    }

    /// <summary>connSyncReadLine: one reply line (without its CR LF), or null on a closed connection or a timeout.</summary>
    private sealed class LineReader(Socket socket)
    {
        private readonly byte[] _buffer = new byte[4096];
        private int _start, _end;

        public string? ReadLine()
        {
            var line = new List<byte>();
            while (true)
            {
                while (_start < _end)
                {
                    byte b = _buffer[_start++];
                    if (b == '\n')
                    {
                        if (line.Count > 0 && line[^1] == '\r') line.RemoveAt(line.Count - 1);
                        return Encoding.UTF8.GetString(line.ToArray());
                    }
                    if (line.Count < 1024) line.Add(b); // as Redis's 1 KiB line buffer: the rest is dropped
                }
                try
                {
                    _end = socket.Receive(_buffer);
                    _start = 0;
                }
                catch (SocketException)
                {
                    return null;
                }
                if (_end == 0) return null;
            }
        }
    }
}
