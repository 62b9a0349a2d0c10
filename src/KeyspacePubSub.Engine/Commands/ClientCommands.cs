using System.Text;
using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>CLIENT and its subcommands (src/networking.c clientCommand).</summary>
internal static class ClientCommands
{
    public static void Register(CommandTable t)
    {
        const CommandFlags Conn = NoScript | Loading | Stale;
        t.AddContainer(new() { Name = "client", Arity = -2, Group = "connection", Summary = "A container for client connection commands." },
            new() { Name = "id", Arity = 2, Flags = Conn, Handler = static (CommandContext x) => x.Reply.Integer(x.Client.Id), Group = "connection", Since = "5.0.0" },
            new() { Name = "setname", Arity = 3, Flags = Conn, Handler = SetName, Group = "connection", Since = "2.6.9" },
            new() { Name = "getname", Arity = 2, Flags = Conn, Handler = GetName, Group = "connection", Since = "2.6.9" },
            new() { Name = "list", Arity = -2, Flags = Admin | Conn, Handler = List, Group = "connection", Since = "2.4.0" },
            new() { Name = "info", Arity = 2, Flags = Conn, Handler = static (CommandContext x) => x.Reply.Verbatim(Describe(x.Engine, x.Client)), Group = "connection", Since = "6.2.0" },
            new() { Name = "kill", Arity = -3, Flags = Admin | Conn, Handler = Kill, Group = "connection", Since = "2.4.0" },
            new() { Name = "setinfo", Arity = 4, Flags = Conn, Handler = SetInfo, Group = "connection", Since = "7.2.0" },
            new() { Name = "reply", Arity = 3, Flags = Conn, Handler = SetReplyMode, Group = "connection", Since = "3.2.0" },
            new() { Name = "no-evict", Arity = 3, Flags = Admin | Conn, Handler = static (CommandContext x) => OnOff(x, v => x.Client.NoEvict = v), Group = "connection", Since = "7.0.0" },
            new() { Name = "no-touch", Arity = 3, Flags = Conn, Handler = static (CommandContext x) => OnOff(x, v => x.Client.NoTouch = v), Group = "connection", Since = "7.2.0" },
            new() { Name = "tracking", Arity = -3, Flags = Conn, Handler = Tracking, Group = "connection", Since = "6.0.0" },
            new() { Name = "caching", Arity = 3, Flags = Conn, Handler = Caching, Group = "connection", Since = "6.0.0" },
            new() { Name = "getredir", Arity = 2, Flags = Conn, Handler = static (CommandContext x) => x.Reply.Integer(x.Client.RedirectShown), Group = "connection", Since = "6.0.0" },
            new() { Name = "trackinginfo", Arity = 2, Flags = Conn, Handler = TrackingInfo, Group = "connection", Since = "6.2.0" },
            new() { Name = "unblock", Arity = -3, Flags = Admin | Conn, Handler = Unblock, Group = "connection", Since = "5.0.0" },
            new() { Name = "pause", Arity = -3, Flags = Admin | Conn, Handler = Pause, Group = "connection", Since = "3.0.0" },
            new() { Name = "unpause", Arity = 2, Flags = Admin | Conn, Handler = static (CommandContext x) => { x.Engine.Unpause(expireNow: true); x.Reply.Ok(); }, Group = "connection", Since = "6.2.0" },
            new() { Name = "help", Arity = 2, Flags = Loading | Stale, Handler = HelpReply, Group = "connection", Since = "5.0.0" });
    }

    /// <summary>As validateClientName: printable ASCII from '!' to '~' only.</summary>
    public static bool IsValidName(ReadOnlySpan<byte> name)
    {
        foreach (byte b in name)
        {
            if (b < '!' || b > '~') return false;
        }
        return true;
    }

    private static void SetName(CommandContext x)
    {
        var name = x.Args[2];
        if (!IsValidName(name))
        {
            x.Reply.Error(Errors.ClientNameInvalid);
            return;
        }
        x.Client.Name = name.Length == 0 ? null : CommandTable.Latin1(name);
        x.Reply.Ok();
    }

    private static void GetName(CommandContext x)
    {
        if (x.Client.Name is null) x.Reply.NullBulk();
        else x.Reply.Bulk(Encoding.Latin1.GetBytes(x.Client.Name));
    }

    private static void SetInfo(CommandContext x)
    {
        var value = x.Args[3];
        bool isName = x.Args.Is(2, "LIB-NAME");
        if (!isName && !x.Args.Is(2, "LIB-VER"))
        {
            x.Reply.Error($"ERR Unrecognized option '{Errors.CText(x.Args[2])}'");
            return;
        }
        if (!IsValidName(value))
        {
            x.Reply.Error($"ERR {(isName ? "lib-name" : "lib-ver")} cannot contain spaces, newlines or special characters.");
            return;
        }
        string? text = value.Length == 0 ? null : CommandTable.Latin1(value);
        if (isName) x.Client.LibName = text;
        else x.Client.LibVersion = text;
        x.Reply.Ok();
    }

    private static void SetReplyMode(CommandContext x)
    {
        if (x.Args.Is(2, "ON"))
        {
            x.Client.ReplyMode &= ~(KeyspacePubSub.Engine.ReplyMode.Off | KeyspacePubSub.Engine.ReplyMode.Skip); // SKIP_NEXT stays, as in Redis
            x.Client.BeginCommand(); // the +OK of REPLY ON is sent, as in Redis
            x.Reply.Ok();
        }
        else if (x.Args.Is(2, "OFF"))
        {
            x.Client.ReplyMode |= KeyspacePubSub.Engine.ReplyMode.Off;
        }
        else if (x.Args.Is(2, "SKIP"))
        {
            if ((x.Client.ReplyMode & KeyspacePubSub.Engine.ReplyMode.Off) == 0) x.Client.ReplyMode |= KeyspacePubSub.Engine.ReplyMode.SkipNext;
        }
        else
        {
            x.Reply.Error(Errors.Syntax);
        }
    }

    private static void OnOff(CommandContext x, Action<bool> set)
    {
        if (x.Args.Is(2, "ON")) set(true);
        else if (x.Args.Is(2, "OFF")) set(false);
        else
        {
            x.Reply.Error(Errors.Syntax);
            return;
        }
        x.Reply.Ok();
    }

    private static void List(CommandContext x)
    {
        IEnumerable<Client> clients = x.Engine.Clients.Where(c => !c.Closed).OrderBy(c => c.Id);
        if (x.Args.Count == 4 && x.Args.Is(2, "TYPE"))
        {
            string? type = ParseType(x.Args[3]);
            if (type is null)
            {
                x.Reply.Error($"ERR Unknown client type '{Errors.CText(x.Args[3])}'");
                return;
            }
            clients = clients.Where(c => TypeOf(c) == type);
        }
        else if (x.Args.Count >= 4 && x.Args.Is(2, "ID"))
        {
            var ids = new HashSet<long>();
            for (int i = 3; i < x.Args.Count; i++)
            {
                if (!x.Args.TryGetInt64(i, out long id) || id <= 0)
                {
                    x.Reply.Error("ERR Invalid client ID");
                    return;
                }
                ids.Add(id);
            }
            clients = clients.Where(c => ids.Contains(c.Id));
        }
        else if (x.Args.Count != 2)
        {
            x.Reply.Error(Errors.Syntax);
            return;
        }
        var sb = new StringBuilder();
        foreach (var c in clients) sb.Append(Describe(x.Engine, c));
        x.Reply.Verbatim(sb.ToString());
    }

    private static string? ParseType(ReadOnlySpan<byte> t) =>
        CommandArgs.EqualsIgnoreCase(t, "NORMAL") ? "normal" :
        CommandArgs.EqualsIgnoreCase(t, "PUBSUB") ? "pubsub" :
        CommandArgs.EqualsIgnoreCase(t, "MASTER") ? "master" :
        CommandArgs.EqualsIgnoreCase(t, "REPLICA") || CommandArgs.EqualsIgnoreCase(t, "SLAVE") ? "replica" : null;

    private static string TypeOf(Client c) => c.InPubSubMode ? "pubsub" : "normal";

    private static void Kill(CommandContext x)
    {
        var e = x.Engine;
        if (x.Args.Count == 3)
        {
            // Old form: CLIENT KILL addr:port.
            string addr = CommandTable.Latin1(x.Args[2]);
            var target = e.Clients.FirstOrDefault(c => c.Transport.RemoteAddress == addr && !c.Closed);
            if (target is null)
            {
                x.Reply.Error(Errors.NoSuchClient);
                return;
            }
            x.Reply.Ok();
            KillOne(e, x.Client, target);
            return;
        }
        long? id = null;
        string? type = null, addrFilter = null, laddr = null;
        Acl.AclUser? user = null;
        bool skipMe = true;
        if (x.Args.Count % 2 != 0)
        {
            x.Reply.Error(Errors.Syntax);
            return;
        }
        for (int i = 2; i < x.Args.Count; i += 2)
        {
            var value = x.Args[i + 1];
            if (x.Args.Is(i, "ID"))
            {
                if (!Strict.TryParseInt64(value, out long v) || v <= 0)
                {
                    x.Reply.Error("ERR client-id should be greater than 0");
                    return;
                }
                id = v;
            }
            else if (x.Args.Is(i, "TYPE"))
            {
                type = ParseType(value);
                if (type is null)
                {
                    x.Reply.Error($"ERR Unknown client type '{Errors.CText(value)}'");
                    return;
                }
            }
            else if (x.Args.Is(i, "ADDR")) addrFilter = CommandTable.Latin1(value);
            else if (x.Args.Is(i, "LADDR")) laddr = CommandTable.Latin1(value);
            else if (x.Args.Is(i, "USER"))
            {
                user = e.Acl.Find(value);
                if (user is null)
                {
                    x.Reply.Error($"ERR No such user '{Errors.CText(value)}'");
                    return;
                }
            }
            else if (x.Args.Is(i, "SKIPME"))
            {
                if (CommandArgs.EqualsIgnoreCase(value, "YES")) skipMe = true;
                else if (CommandArgs.EqualsIgnoreCase(value, "NO")) skipMe = false;
                else
                {
                    x.Reply.Error(Errors.Syntax);
                    return;
                }
            }
            else
            {
                x.Reply.Error(Errors.Syntax);
                return;
            }
        }
        var victims = e.Clients.Where(c => !c.Closed
            && (id is null || c.Id == id)
            && (type is null || TypeOf(c) == type)
            && (addrFilter is null || c.Transport.RemoteAddress == addrFilter)
            && (laddr is null || c.Transport.LocalAddress == laddr)
            && (user is null || c.User == user)
            && !(skipMe && ReferenceEquals(c, x.Client))).ToList();
        x.Reply.Integer(victims.Count);
        foreach (var v in victims) KillOne(e, x.Client, v);
    }

    private static void KillOne(Engine e, Client self, Client victim)
    {
        // As Redis: killing yourself closes after the reply has been written.
        if (ReferenceEquals(self, victim)) self.CloseAfterReply = true;
        else e.Kill(victim);
    }

    /// <summary>
    /// CLIENT TRACKING on|off [REDIRECT id] [BCAST] [PREFIX p ...] [OPTIN] [OPTOUT] [NOLOOP], as Redis 7.0's
    /// clientCommand: every option parsed (the redirect client must exist now), then the checks for "on" in
    /// Redis's order. OFF forgets the settings and the prefixes.
    /// </summary>
    private static void Tracking(CommandContext x)
    {
        long redirect = 0;
        bool bcast = false, optIn = false, optOut = false, noLoop = false;
        var prefixes = new List<byte[]>();
        for (int j = 3; j < x.Args.Count; j++)
        {
            bool more = j + 1 < x.Args.Count;
            if (x.Args.Is(j, "REDIRECT") && more)
            {
                j++;
                if (redirect != 0)
                {
                    x.Reply.Error("ERR A client can only redirect to a single other client");
                    return;
                }
                if (!x.Args.TryGetInt64(j, out redirect))
                {
                    x.Reply.Error(Errors.NotInteger);
                    return;
                }
                if (!x.Engine.Clients.Any(c => c.Id == redirect && !c.Closed))
                {
                    x.Reply.Error("ERR The client ID you want redirect to does not exist");
                    return;
                }
            }
            else if (x.Args.Is(j, "BCAST")) bcast = true;
            else if (x.Args.Is(j, "OPTIN")) optIn = true;
            else if (x.Args.Is(j, "OPTOUT")) optOut = true;
            else if (x.Args.Is(j, "NOLOOP")) noLoop = true;
            else if (x.Args.Is(j, "PREFIX") && more) prefixes.Add(x.Args.ToArray(++j));
            else
            {
                x.Reply.Error(Errors.Syntax);
                return;
            }
        }
        var current = x.Client.Tracking;
        if (x.Args.Is(2, "ON"))
        {
            string? error = null;
            if (!bcast && prefixes.Count > 0) error = "ERR PREFIX option requires BCAST mode to be enabled";
            else if (current != null && current.Bcast != bcast) error = "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.";
            else if (bcast && (optIn || optOut)) error = "ERR OPTIN and OPTOUT are not compatible with BCAST";
            else if (optIn && optOut) error = "ERR You can't specify both OPTIN mode and OPTOUT mode";
            else if ((optIn && current is { OptOut: true }) || (optOut && current is { OptIn: true })) error = "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.";
            else if (bcast) error = Engine.PrefixCollision(x.Client, prefixes);
            if (error != null)
            {
                x.Reply.Error(error);
                return;
            }
            x.Engine.EnableTracking(x.Client, redirect, new TrackingState(bcast, optIn, optOut, noLoop, prefixes));
        }
        else if (x.Args.Is(2, "OFF"))
        {
            x.Engine.DisableTracking(x.Client);
        }
        else
        {
            x.Reply.Error(Errors.Syntax);
            return;
        }
        x.Reply.Ok();
    }

    /// <summary>CLIENT CACHING yes|no: in OPTIN mode YES, in OPTOUT mode NO, makes the next command an exception.</summary>
    private static void Caching(CommandContext x)
    {
        var state = x.Client.Tracking;
        if (state is null) // tracking on in another mode gets the YES or NO error below, as in Redis
        {
            x.Reply.Error("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled");
            return;
        }
        if (x.Args.Is(2, "YES"))
        {
            if (!state.OptIn)
            {
                x.Reply.Error("ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.");
                return;
            }
        }
        else if (x.Args.Is(2, "NO"))
        {
            if (!state.OptOut)
            {
                x.Reply.Error("ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.");
                return;
            }
        }
        else
        {
            x.Reply.Error(Errors.Syntax);
            return;
        }
        state.CachingGiven = true;
        x.Reply.Ok();
    }

    /// <summary>CLIENT TRACKINGINFO: a map of flags, redirect and prefixes, as Redis 7.0 lists them.</summary>
    private static void TrackingInfo(CommandContext x)
    {
        var state = x.Client.Tracking;
        var flags = new List<string>();
        if (state is null) flags.Add("off");
        else
        {
            flags.Add("on");
            if (state.Bcast) flags.Add("bcast");
            if (state.OptIn)
            {
                flags.Add("optin");
                if (state.CachingGiven) flags.Add("caching-yes");
            }
            if (state.OptOut)
            {
                flags.Add("optout");
                if (state.CachingGiven) flags.Add("caching-no");
            }
            if (state.NoLoop) flags.Add("noloop");
        }
        if (x.Client.TrackingBrokenRedirect) flags.Add("broken_redirect");
        x.Reply.Map(3);
        x.Reply.Bulk("flags"u8);
        x.Reply.Set(flags.Count);
        foreach (var f in flags) x.Reply.Bulk(f);
        x.Reply.Bulk("redirect"u8);
        x.Reply.Integer(x.Client.RedirectShown);
        x.Reply.Bulk("prefixes"u8);
        var prefixes = state?.Prefixes.Order(Engine.BinaryComparer.Instance).ToList() ?? [];
        x.Reply.Array(prefixes.Count);
        foreach (var p in prefixes) x.Reply.Bulk(p);
    }

    /// <summary>
    /// CLIENT UNBLOCK id [TIMEOUT|ERROR] (networking.c): a blocked client is answered as if it timed out, or with
    /// an UNBLOCKED error; 1 if it was blocked. The reason is checked before the id, as Redis does.
    /// </summary>
    private static void Unblock(CommandContext x)
    {
        if (x.Args.Count > 4)
        {
            x.Reply.Error($"ERR unknown subcommand or wrong number of arguments for '{Errors.CText(x.Args[1])}'. Try CLIENT HELP.");
            return;
        }
        bool error = false;
        if (x.Args.Count == 4)
        {
            if (x.Args.Is(3, "ERROR")) error = true;
            else if (!x.Args.Is(3, "TIMEOUT"))
            {
                x.Reply.Error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
                return;
            }
        }
        if (!x.Args.TryGetInt64(2, out long id))
        {
            x.Reply.Error("ERR value is not an integer or out of range");
            return;
        }
        var target = x.Engine.Clients.FirstOrDefault(c => c.Id == id && !c.Closed);
        if (target is not { IsBlocked: true } || target.Block!.Kind == BlockKind.Postponed) // CLIENT PAUSE's wait is not a block to end
        {
            x.Reply.Integer(0);
            return;
        }
        x.Engine.TimeOutBlocked(target, error ? "UNBLOCKED client unblocked via CLIENT UNBLOCK" : null, byClientUnblock: true);
        x.Reply.Integer(1);
    }

    /// <summary>
    /// CLIENT PAUSE timeout [WRITE|ALL] (networking.c): the mode is checked before the timeout, which is a strict
    /// integer of milliseconds, not negative, added to the clock as getTimeoutFromObjectOrReply adds it.
    /// </summary>
    private static void Pause(CommandContext x)
    {
        if (x.Args.Count > 4)
        {
            x.Reply.Error($"ERR unknown subcommand or wrong number of arguments for '{Errors.CText(x.Args[1])}'. Try CLIENT HELP.");
            return;
        }
        var mode = PauseMode.All;
        if (x.Args.Count == 4)
        {
            if (x.Args.Is(3, "WRITE")) mode = PauseMode.Write;
            else if (!x.Args.Is(3, "ALL"))
            {
                x.Reply.Error("ERR CLIENT PAUSE mode must be WRITE or ALL");
                return;
            }
        }
        if (!Strict.TryParseInt64(x.Args[2], out long timeout))
        {
            x.Reply.Error("ERR timeout is not an integer or out of range");
            return;
        }
        if (timeout < 0)
        {
            x.Reply.Error("ERR timeout is negative");
            return;
        }
        x.Engine.Pause(timeout > 0 ? unchecked(x.Engine.NowMs + timeout) : 0, mode);
        x.Reply.Ok();
    }

    private static void HelpReply(CommandContext x) => Help.Reply(x.Reply, "CLIENT",
        "CACHING (YES|NO)", "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
        "GETREDIR", "    Return the client ID we are redirecting to when tracking is enabled.",
        "GETNAME", "    Return the name of the current connection.",
        "ID", "    Return the ID of the current connection.",
        "INFO", "    Return information about the current client connection.",
        "KILL <ip:port>", "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]", "    Kill connections. Options are:",
        "    * ADDR (<ip:port>|<unixsocket>:0)", "      Kill connections made from the specified address",
        "    * LADDR (<ip:port>|<unixsocket>:0)", "      Kill connections made to specified local address",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)", "      Kill connections by type.",
        "    * USER <username>", "      Kill connections authenticated by <username>.",
        "    * SKIPME (YES|NO)", "      Skip killing current connection (default: yes).",
        "LIST [options ...]", "    Return information about client connections. Options:",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)", "      Return clients of specified type.",
        "UNPAUSE", "    Stop the current client pause, resuming traffic.",
        "PAUSE <timeout> [WRITE|ALL]", "    Suspend all, or just write, clients for <timeout> milliseconds.",
        "REPLY (ON|OFF|SKIP)", "    Control the replies sent to the current connection.",
        "SETNAME <name>", "    Assign the name <name> to the current connection.",
        "UNBLOCK <clientid> [TIMEOUT|ERROR]", "    Unblock the specified blocked client.",
        "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]", "         [OPTIN] [OPTOUT] [NOLOOP]",
        "    Control server assisted client side caching.",
        "TRACKINGINFO", "    Report tracking status for the current connection.",
        "SETINFO <option> <value>", "    Set client meta attr. Options are:",
        "    * LIB-NAME: the client lib name.", "    * LIB-VER: the client lib version.",
        "NO-EVICT (ON|OFF)", "    Protect current client connection from eviction.",
        "NO-TOUCH (ON|OFF)", "    Will not touch LRU/LFU stats when this mode is on.");

    /// <summary>One CLIENT LIST line, in Redis 7's field order (plus 7.2's lib-name/lib-ver); text written as UTF-8, so the user name is its bytes read as UTF-8.</summary>
    public static string Describe(Engine e, Client c)
    {
        long now = Environment.TickCount64;
        var flags = new StringBuilder();
        if (c.IsMonitor) flags.Append('O');
        if (c.InPubSubMode) flags.Append('P');
        if (c.InMulti) flags.Append('x');
        if (c.IsBlocked) flags.Append('b');
        if (c.Tracking != null) flags.Append('t');
        if (c.TrackingBrokenRedirect) flags.Append('R');
        if (c.Tracking is { Bcast: true }) flags.Append('B');
        if (c.WatchDirty) flags.Append('d');
        if (c.CloseAfterReply) flags.Append('c');
        if (c.Transport.IsUnixSocket) flags.Append('U');
        if (c.NoEvict) flags.Append('e');
        if (c.NoTouch) flags.Append('T');
        if (flags.Length == 0) flags.Append('N');
        long omem = c.UnsentBytes;
        return $"id={c.Id} addr={c.Transport.RemoteAddress} laddr={c.Transport.LocalAddress} fd={c.Id + 7} name={c.Name} " +
               $"age={(now - c.CreatedAt) / 1000} idle={(now - c.LastInteraction) / 1000} flags={flags} db={c.Db} " +
               $"sub={c.Subs.Channels} psub={c.Subs.Patterns} ssub={c.Subs.ShardChannels} multi={(c.InMulti ? c.Queue.Count : -1)} " +
               $"qbuf={c.QueryBufferBytes} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem={omem} tot-mem={c.TotalMemory} " +
               $"events=r cmd={c.LastCommand} user={System.Text.Encoding.UTF8.GetString(c.User.Name)} redir={c.RedirectShown} resp={c.Protocol} " +
               $"lib-name={c.LibName} lib-ver={c.LibVersion}\n";
    }
}
