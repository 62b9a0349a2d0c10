using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>PING, ECHO, HELLO, AUTH, SELECT, QUIT, RESET (src/server.c, src/networking.c, src/acl.c).</summary>
internal static class ConnectionCommands
{
    public static void Register(CommandTable t)
    {
        t.Add(new() { Name = "ping", Arity = -1, Flags = Fast | Sentinel | SubscribedContext, Handler = Ping, Group = "connection", Summary = "Returns the server's liveliness response." });
        t.Add(new() { Name = "echo", Arity = 2, Flags = Fast | Loading | Stale, Handler = Echo, Group = "connection", Summary = "Returns the given string." });
        t.Add(new() { Name = "hello", Arity = -1, Flags = NoScript | Loading | Stale | Fast | NoAuth | Sentinel | AllowBusy, Handler = Hello, Group = "connection", Since = "6.0.0", Summary = "Handshakes with the Redis server." });
        t.Add(new() { Name = "auth", Arity = -2, Flags = NoScript | Loading | Stale | Fast | NoAuth | Sentinel | AllowBusy, Handler = Auth, Group = "connection", Summary = "Authenticates the connection." });
        t.Add(new() { Name = "select", Arity = 2, Flags = Loading | Stale | Fast, Handler = Select, Group = "connection", Summary = "Changes the selected database." });
        t.Add(new() { Name = "quit", Arity = -1, Flags = AllowBusy | NoScript | Loading | Stale | Fast | NoAuth | SubscribedContext | NotQueued, Handler = Quit, Group = "connection", Summary = "Closes the connection." });
        t.Add(new() { Name = "reset", Arity = 1, Flags = NoScript | Loading | Stale | Fast | NoAuth | AllowBusy | SubscribedContext | NotQueued, Handler = Reset, Group = "connection", Since = "6.2.0", Summary = "Resets the connection." });
    }

    private static void Ping(CommandContext x)
    {
        if (x.Args.Count > 2)
        {
            x.Reply.Error(Errors.WrongArity("ping"));
            return;
        }
        // As Redis: a RESP2 subscriber gets ["pong", arg-or-empty] so it can tell it apart from messages.
        if (x.Client.Protocol == 2 && x.Client.InPubSubMode)
        {
            x.Reply.Array(2);
            x.Reply.Bulk("pong"u8);
            x.Reply.Bulk(x.Args.Count == 2 ? x.Args[1] : default);
        }
        else if (x.Args.Count == 2)
        {
            x.Reply.Bulk(x.Args[1]);
        }
        else
        {
            x.Reply.Raw("+PONG\r\n"u8);
        }
    }

    private static void Echo(CommandContext x) => x.Reply.Bulk(x.Args[1]);

    /// <summary>As Redis 7.0: a command like any other (MONITOR and SLOWLOG see it), taking any arguments, never queued.</summary>
    private static void Quit(CommandContext x)
    {
        x.Reply.Ok();
        x.Client.CloseAfterReply = true;
    }

    private static void Hello(CommandContext x)
    {
        var c = x.Client;
        long version = 0;
        int next = 1;
        if (x.Args.Count >= 2)
        {
            if (!x.Args.TryGetInt64(1, out version))
            {
                x.Reply.Error(Errors.ProtoNotInteger);
                return;
            }
            next = 2;
            if (version < 2 || version > 3)
            {
                x.Reply.Error(Errors.NoProto);
                return;
            }
        }
        byte[]? user = null, pass = null, name = null;
        for (int j = next; j < x.Args.Count; j++)
        {
            int more = x.Args.Count - 1 - j;
            if (x.Args.Is(j, "AUTH") && more >= 2)
            {
                x.Engine.Redact(j + 1);
                x.Engine.Redact(j + 2);
                user = x.Args.ToArray(j + 1);
                pass = x.Args.ToArray(j + 2);
                j += 2;
            }
            else if (x.Args.Is(j, "SETNAME") && more >= 1)
            {
                name = x.Args.ToArray(j + 1);
                if (!ClientCommands.IsValidName(name))
                {
                    x.Reply.Error(Errors.ClientNameInvalid);
                    return;
                }
                j++;
            }
            else
            {
                x.Reply.Error(Errors.HelloOption(Errors.CText(x.Args[j])));
                return;
            }
        }
        if (user != null && !TryAuthenticate(x, user, pass!)) return;
        if (!c.Authenticated && x.Engine.Acl.AuthRequired)
        {
            x.Reply.Error(Errors.HelloNoAuth);
            return;
        }
        if (name != null) c.Name = name.Length == 0 ? null : CommandTable.Latin1(name);
        if (version != 0) c.Protocol = (int)version;

        var r = x.Reply;
        r.Map(7);
        r.Bulk("server"u8); r.Bulk("redis"u8);
        r.Bulk("version"u8); r.Bulk(Engine.RedisVersion);
        r.Bulk("proto"u8); r.Integer(c.Protocol);
        r.Bulk("id"u8); r.Integer(c.Id);
        r.Bulk("mode"u8); r.Bulk("standalone"u8);
        r.Bulk("role"u8); r.Bulk("master"u8);
        r.Bulk("modules"u8); r.Array(0);
    }

    private static void Auth(CommandContext x)
    {
        if (x.Args.Count > 3)
        {
            x.Reply.Error(Errors.Syntax);
            return;
        }
        // As Redis: always redacted (MONITOR, SLOWLOG), whatever happens next.
        x.Engine.Redact(1);
        if (x.Args.Count == 3) x.Engine.Redact(2);
        byte[] user, pass;
        if (x.Args.Count == 2)
        {
            // As Redis: the one-argument form is an error when no password is configured.
            if (x.Engine.Acl.Default.NoPass)
            {
                x.Reply.Error(Errors.AuthNotConfigured);
                return;
            }
            user = "default"u8.ToArray();
            pass = x.Args.ToArray(1);
        }
        else
        {
            user = x.Args.ToArray(1);
            pass = x.Args.ToArray(2);
        }
        if (TryAuthenticate(x, user, pass)) x.Reply.Ok();
    }

    /// <summary>As ACLAuthenticateUser: an enabled user whose password matches (any, for nopass); a failure is in ACL LOG.</summary>
    private static bool TryAuthenticate(CommandContext x, byte[] user, byte[] pass)
    {
        if (x.Engine.Acl.Authenticate(x.Client, user, pass, x.Args[0])) return true;
        x.Reply.Error(Errors.WrongPass);
        return false;
    }

    private static void Select(CommandContext x)
    {
        if (!x.Args.TryGetInt64(1, out long db))
        {
            x.Reply.Error(Errors.NotInteger);
            return;
        }
        if (db < 0 || db >= x.Engine.Databases.Length)
        {
            x.Reply.Error(Errors.DbIndexOutOfRange);
            return;
        }
        x.Client.Db = (int)db;
        x.Reply.Ok();
    }

    private static void Reset(CommandContext x)
    {
        var c = x.Client;
        var e = x.Engine;
        if (c.IsMonitor) e.RemoveMonitor(c);
        c.Db = 0;
        c.Protocol = 2;
        c.Name = null;
        e.Acl.SetDefaultAuth(c);
        e.ResetTransaction(c);
        e.Broker.RemoveClient(c);
        e.DisableTracking(c);
        c.ReplyMode &= ReplyMode.Skip; // OFF and SKIP_NEXT cleared; a SKIP in force still drops +RESET, as in Redis
        c.BeginCommand(); // RESET clears CLIENT REPLY OFF before replying, as Redis does
        c.NoEvict = false;
        c.NoTouch = false;
        x.Reply.Raw("+RESET\r\n"u8);
    }
}
