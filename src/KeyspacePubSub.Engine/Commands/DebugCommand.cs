using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using KeyspacePubSub.Engine.Keyspace;
using KeyspacePubSub.Engine.Rdb;
using KeyspacePubSub.Protocol;
using Microsoft.Extensions.Logging;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>
/// DEBUG (src/debug.c), the subcommands that mean something here: SLEEP, LOG, ERROR, PROTOCOL, POPULATE, DIGEST,
/// DIGEST-VALUE, OBJECT, SET-ACTIVE-EXPIRE, SET-SKIP-CHECKSUM-VALIDATION, SET-DISABLE-DENY-SCRIPTS and PAUSE-CRON. As in Redis 7.0 it is refused unless
/// <c>enable-debug-command</c> is <c>yes</c>, or <c>local</c> and the client is on the loopback address.
/// </summary>
internal static class DebugCommand
{
    public static readonly CommandHandler Handler = Run;

    private static void Run(CommandContext x)
    {
        int n = x.Args.Count;
        if (n == 2 && x.Args.Is(1, "HELP")) ReplyHelp(x);
        else if (x.Args.Is(1, "SLEEP") && n == 3) Sleep(x);
        else if (x.Args.Is(1, "LOG") && n == 3)
        {
            x.Engine.Logger.LogWarning("DEBUG LOG: {Message}", x.Args.GetString(2));
            x.Reply.Ok();
        }
        else if (x.Args.Is(1, "ERROR") && n == 3) Error(x);
        else if (x.Args.Is(1, "PROTOCOL") && n == 3) Protocol(x);
        else if (x.Args.Is(1, "POPULATE") && n >= 3 && n <= 5) Populate(x);
        else if (x.Args.Is(1, "DIGEST") && n == 2)
        {
            Span<byte> digest = stackalloc byte[Digest.Size];
            Digest.Dataset(x.Engine.Databases, digest);
            x.Reply.SimpleString(Digest.Hex(digest));
        }
        else if (x.Args.Is(1, "DIGEST-VALUE"))
        {
            var db = x.Engine.Databases[x.Client.Db];
            Span<byte> digest = stackalloc byte[Digest.Size];
            x.Reply.Array(n - 2);
            for (int j = 2; j < n; j++)
            {
                digest.Clear();
                Digest.Value(db, x.Args.ToArray(j), digest);
                x.Reply.SimpleString(Digest.Hex(digest));
            }
        }
        else if (x.Args.Is(1, "OBJECT") && n == 3) Object(x);
        else if (x.Args.Is(1, "SET-ACTIVE-EXPIRE") && n == 3)
        {
            x.Engine.ActiveExpireEnabled = CString.Atoi(x.Args[2]) != 0;
            x.Reply.Ok();
        }
        else if (x.Args.Is(1, "SET-SKIP-CHECKSUM-VALIDATION") && n == 3)
        {
            x.Engine.SkipChecksumValidation = CString.Atoi(x.Args[2]) != 0;
            x.Reply.Ok();
        }
        else if (x.Args.Is(1, "SET-DISABLE-DENY-SCRIPTS") && n == 3)
        {
            x.Engine.ScriptsMayRunAnyCommand = CString.Atoi(x.Args[2]) != 0;
            x.Reply.Ok();
        }
        else if (x.Args.Is(1, "PAUSE-CRON") && n == 3)
        {
            x.Engine.CronPaused = CString.Atoi(x.Args[2]) != 0;
            x.Reply.Ok();
        }
        else PubSubCommands.SubcommandSyntaxError(x);
    }

    private static void ReplyHelp(CommandContext x) => Help.Reply(x.Reply, "DEBUG",
        "DIGEST", "    Output a hex signature representing the current DB content.",
        "DIGEST-VALUE <key> [<key> ...]", "    Output a hex signature of the values of all the specified keys.",
        "ERROR <string>", "    Return a Redis protocol error with <string> as message. Useful for clients",
        "    unit tests to simulate Redis errors.",
        "LOG <message>", "    Write <message> to the server log.",
        "OBJECT <key>", "    Show low level info about `key` and associated value.",
        "POPULATE <count> [<prefix>] [<size>]", "    Create <count> string keys named key:<num>. If <prefix> is specified then",
        "    it is used instead of the 'key' prefix.",
        "PROTOCOL <type>", "    Reply with a test value of the specified type. <type> can be: string,",
        "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,", "    true, false.",
        "SET-ACTIVE-EXPIRE <0|1>", "    Setting it to 0 disables expiring keys in background when they are not",
        "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the", "    default.",
        "SET-SKIP-CHECKSUM-VALIDATION <0|1>", "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
        "SLEEP <seconds>", "    Stop the server for <seconds>. Decimals allowed.",
        "PAUSE-CRON <0|1>", "    Stop periodic cron job processing.");

    private static void Sleep(CommandContext x)
    {
        // As debug.c: strtod of whatever is there, no check (not a number sleeps 0); a negative time does not sleep.
        double seconds = CStrtod.Parse(x.Args[2], out _, out _);
        if (!(seconds > 0)) seconds = 0;
        // As Redis: the whole server sleeps (the gate is held), capped so a typo cannot hang it for long.
        Thread.Sleep(TimeSpan.FromSeconds(Math.Min(seconds, 60)));
        x.Reply.Ok();
    }

    /// <summary>
    /// The argument as the error line, newlines made spaces. Redis writes it with addReplySds, not addReplyError,
    /// so INFO's error counters do not count it.
    /// </summary>
    private static void Error(CommandContext x)
    {
        var text = x.Args[2];
        var line = new byte[text.Length + 3];
        line[0] = (byte)'-';
        for (int i = 0; i < text.Length; i++) line[i + 1] = text[i] is (byte)'\r' or (byte)'\n' ? (byte)' ' : text[i];
        line[^2] = (byte)'\r';
        line[^1] = (byte)'\n';
        x.Reply.Raw(line);
    }

    /// <summary>A test value of each RESP type, as RESP2 downgrades it where RESP2 lacks the type.</summary>
    private static void Protocol(CommandContext x)
    {
        var r = x.Reply;
        if (x.Args.Is(2, "STRING")) r.Bulk("Hello World"u8);
        else if (x.Args.Is(2, "INTEGER")) r.Integer(12345);
        else if (x.Args.Is(2, "DOUBLE")) r.Double(3.141);
        else if (x.Args.Is(2, "BIGNUM"))
        {
            if (r.Resp3) r.Raw("(1234567999999999999999999999999999999\r\n"u8);
            else r.Bulk("1234567999999999999999999999999999999"u8);
        }
        else if (x.Args.Is(2, "NULL")) r.NullBulk();
        else if (x.Args.Is(2, "ARRAY") || x.Args.Is(2, "SET"))
        {
            if (x.Args.Is(2, "SET")) r.Set(3);
            else r.Array(3);
            for (int j = 0; j < 3; j++) r.Integer(j);
        }
        else if (x.Args.Is(2, "MAP"))
        {
            r.Map(3);
            for (int j = 0; j < 3; j++)
            {
                r.Integer(j);
                Bool(r, j == 1);
            }
        }
        else if (x.Args.Is(2, "ATTRIB"))
        {
            if (r.Resp3)
            {
                r.Raw("|1\r\n"u8);
                r.Bulk("key-popularity"u8);
                r.Array(2);
                r.Bulk("key:123"u8);
                r.Integer(90);
            }
            r.Bulk("Some real reply following the attribute"u8);
        }
        else if (x.Args.Is(2, "PUSH"))
        {
            if (!r.Resp3)
            {
                r.Error("ERR RESP2 is not supported by this command");
                return;
            }
            r.Push(2);
            r.Bulk("server-cpu-usage"u8);
            r.Integer(42);
            r.Bulk("Some real reply following the push reply"u8);
        }
        else if (x.Args.Is(2, "TRUE")) Bool(r, true);
        else if (x.Args.Is(2, "FALSE")) Bool(r, false);
        else if (x.Args.Is(2, "VERBATIM")) r.Verbatim("This is a verbatim\nstring");
        else r.Error("ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false");
    }

    /// <summary>addReplyBool: #t / #f in RESP3, the integers 1 / 0 in RESP2.</summary>
    private static void Bool(RespWriter r, bool value)
    {
        if (r.Resp3) r.Raw(value ? "#t\r\n"u8 : "#f\r\n"u8);
        else r.Integer(value ? 1 : 0);
    }

    /// <summary>
    /// DEBUG POPULATE count [prefix] [size]: keys "prefix:N" (the C string of the prefix, cut at 127 bytes as
    /// Redis's 128-byte buffer cuts it) set to "value:N", or to <c>size</c> bytes beginning with it and padded
    /// with zeros. A key that exists is left alone. Each added key is a "new" event and touches WATCH and
    /// client tracking, as dbAdd and signalModifiedKey do; nothing else is announced.
    /// </summary>
    private static void Populate(CommandContext x)
    {
        const string Positive = "ERR value is out of range, must be positive";
        if (!x.Args.TryGetInt64(2, out long count) || count < 0)
        {
            x.Reply.Error(Positive);
            return;
        }
        long size = 0;
        if (x.Args.Count == 5 && (!x.Args.TryGetInt64(4, out size) || size < 0))
        {
            x.Reply.Error(Positive);
            return;
        }
        // Redis allocates whatever it is asked for; here a size beyond a bulk string's limit is refused rather than
        // taking the server down.
        if (size > BitRangeCommands.MaxLength(x))
        {
            x.Reply.Error("ERR size is larger than proto-max-bulk-len");
            return;
        }
        ReadOnlySpan<byte> prefix = x.Args.Count == 3 ? "key"u8 : CString.Of(x.Args[3]);
        if (prefix.Length > 127) prefix = prefix[..127]; // no more of it fits in the name
        var db = x.Engine.Databases[x.Client.Db];
        // snprintf(buf, 128, "%s:%lu"): the name cut to 127 bytes.
        Span<byte> name = stackalloc byte[prefix.Length + 1 + 20];
        prefix.CopyTo(name);
        name[prefix.Length] = (byte)':';
        for (long j = 0; j < count; j++)
        {
            j.TryFormat(name[(prefix.Length + 1)..], out int digits, provider: CultureInfo.InvariantCulture);
            var key = name[..Math.Min(prefix.Length + 1 + digits, 127)];
            if (x.Engine.LookupWrite(db, key) != null) continue;
            var text = Encoding.ASCII.GetBytes("value:" + j.ToString(CultureInfo.InvariantCulture));
            byte[] value = size == 0 ? text : new byte[size];
            if (size != 0) text.AsSpan(0, (int)Math.Min(size, text.Length)).CopyTo(value);
            x.Engine.SetLiveKey(db, key, value);
            x.Engine.SignalModifiedKey(db.Index, key);
        }
        x.Reply.Ok();
    }

    /// <summary>
    /// DEBUG OBJECT key: "Value at:&lt;address&gt; refcount encoding serializedlength lru lru_seconds_idle", and for
    /// a list its quicklist's shape. The key is found as dictFind finds it: no expiry, no access. The address is
    /// an identity of the value object (there are no pointers to print); serializedlength is the length of the
    /// value's RDB serialisation (DUMP's payload without its type byte and footer); a list's nodes are those
    /// DUMP writes.
    /// </summary>
    private static void Object(CommandContext x)
    {
        var db = x.Engine.Databases[x.Client.Db];
        var value = db.GetWithExpire(x.Args[2], out _, growable: true);
        if (value is null)
        {
            x.Reply.Error(Errors.NoSuchKey);
            return;
        }
        uint stamp = db.StampOf(x.Args[2])!.Value;
        long serialized = DumpPayload.Create(value).Length - 1 - 10;
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"Value at:0x{(uint)RuntimeHelpers.GetHashCode(value):x} refcount:{(ObjectCommand.IsSharedInteger(value) ? int.MaxValue : 1)} ");
        sb.Append(CultureInfo.InvariantCulture, $"encoding:{ObjectCommand.Encoding(value)} serializedlength:{serialized} ");
        sb.Append(CultureInfo.InvariantCulture, $"lru:{stamp} lru_seconds_idle:{AccessClock.IdleMs(stamp) / 1000}");
        if (value is ListValue list)
        {
            var nodes = DumpPayload.QuicklistNodes(list);
            long bytes = 0;
            foreach (var node in nodes) bytes += node.Length;
            double average = (double)list.Count / nodes.Count; // a list is never empty
            sb.Append(CultureInfo.InvariantCulture, $" ql_nodes:{nodes.Count} ql_avg_node:{average:0.00} ql_listpack_max:-2 ql_compressed:0 ql_uncompressed_size:{bytes}");
        }
        x.Reply.SimpleString(sb.ToString());
    }
}
