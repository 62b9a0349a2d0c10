using System.Text;
using KeyspacePubSub.Engine.Commands;
using KeyspacePubSub.Lua;
using KeyspacePubSub.Protocol;

namespace KeyspacePubSub.Engine.Scripting;

/// <summary>
/// The two conversions of Redis's script_lua.c: a command's RESP reply into Lua values
/// (redisProtocolToLuaType) and a script's return value into the caller's reply (luaReplyToRedisReply).
/// Lua strings hold one byte per char, so bytes pass through Latin-1 both ways.
/// </summary>
internal static class ScriptReplies
{
    /// <summary>Reads one RESP2/RESP3 reply from <paramref name="reply"/> at <paramref name="pos"/> as Lua values.</summary>
    public static object? ToLua(ReadOnlySpan<byte> reply, ref int pos)
    {
        byte type = reply[pos++];
        int eol = reply[pos..].IndexOf("\r\n"u8) + pos;
        var line = reply[pos..eol];
        pos = eol + 2;
        switch (type)
        {
            case (byte)':':
                return (double)long.Parse(line);
            case (byte)'$':
            {
                long len = long.Parse(line);
                if (len < 0) return LuaState.False;
                string s = Encoding.Latin1.GetString(reply.Slice(pos, (int)len));
                pos += (int)len + 2;
                return s;
            }
            case (byte)'+':
                return new LuaTable { ["ok"] = Encoding.Latin1.GetString(line) };
            case (byte)'-':
                return ErrorTable("-" + Encoding.Latin1.GetString(line), ignoreStats: true);
            case (byte)'*':
            {
                long n = long.Parse(line);
                if (n < 0) return LuaState.False;
                var t = new LuaTable();
                for (int i = 1; i <= n; i++)
                {
                    var v = ToLua(reply, ref pos);
                    if (v is not null) t.Set((double)i, v);
                }
                return t;
            }
            case (byte)'%':
            {
                long n = long.Parse(line);
                var map = new LuaTable();
                for (int i = 0; i < n; i++)
                {
                    var k = ToLua(reply, ref pos);
                    var v = ToLua(reply, ref pos);
                    if (k is not null) map.Set(k, v);
                }
                return new LuaTable { ["map"] = map };
            }
            case (byte)'~':
            {
                long n = long.Parse(line);
                var set = new LuaTable();
                for (int i = 0; i < n; i++)
                {
                    var k = ToLua(reply, ref pos);
                    if (k is not null) set.Set(k, LuaState.True);
                }
                return new LuaTable { ["set"] = set };
            }
            case (byte)'_':
                return null;
            case (byte)'#':
                return LuaState.Bool(line.Length > 0 && line[0] == 't');
            case (byte)',':
                return new LuaTable { ["double"] = CStrtod.Parse(line, out _, out _) };
            case (byte)'(':
                return new LuaTable { ["big_number"] = Encoding.Latin1.GetString(line) };
            case (byte)'=':
            {
                int len = int.Parse(line);
                var body = reply.Slice(pos, len);
                pos += len + 2;
                var inner = new LuaTable
                {
                    ["string"] = Encoding.Latin1.GetString(body[4..]),
                    ["format"] = Encoding.Latin1.GetString(body[..3]),
                };
                return new LuaTable { ["verbatim_string"] = inner };
            }
            case (byte)'|':
            {
                // An attribute is not shown to the script (redisProtocolToLuaType_Attribute): its pairs are read past.
                long n = long.Parse(line);
                for (int i = 0; i < 2 * n; i++) ToLua(reply, ref pos);
                return ToLua(reply, ref pos);
            }
            default:
                throw new InvalidOperationException($"RESP type '{(char)type}' in a script's reply");
        }
    }

    /// <summary>luaPushErrorBuff: "-CODE msg" keeps its code, a text without one gets "ERR"; trailing CR/LF trimmed.</summary>
    public static LuaTable ErrorTable(string error, bool ignoreStats = false)
    {
        string code, msg;
        if (error.StartsWith('-'))
        {
            int space = error.IndexOf(' ');
            if (space < 0)
            {
                code = "ERR";
                msg = error[1..];
            }
            else
            {
                code = error[1..space];
                msg = error[(space + 1)..];
            }
        }
        else
        {
            code = "ERR";
            msg = error;
        }
        msg = msg.Trim('\r', '\n');
        var t = new LuaTable { ["err"] = code + " " + msg };
        if (ignoreStats) t["ignore_error_stats_update"] = LuaState.True;
        return t;
    }

    /// <summary>
    /// luaReplyToRedisReply: <paramref name="scriptResp"/> is the protocol the script asked for with redis.setresp
    /// (it decides how a boolean is written); the writer has the caller's.
    /// </summary>
    public static void Write(RespWriter r, object? v, int scriptResp, CommandDef command, int depth = 0)
    {
        if (depth > 1000)
        {
            r.Error("ERR reached lua stack limit");
            return;
        }
        switch (v)
        {
            case string s:
                r.Bulk(Encoding.Latin1.GetBytes(s));
                return;
            case bool b:
                if (scriptResp == 2)
                {
                    if (b) r.Integer(1);
                    else r.NullBulk();
                }
                else if (r.Resp3) r.Raw(b ? "#t\r\n"u8 : "#f\r\n"u8);
                else r.Integer(b ? 1 : 0);
                return;
            case double d:
                r.Integer(LuaNumber.ToInteger(d));
                return;
            case LuaTable t:
                WriteTable(r, t, scriptResp, command, depth);
                return;
            default:
                r.NullBulk();
                return;
        }
    }


    private static void WriteTable(RespWriter r, LuaTable t, int scriptResp, CommandDef command, int depth)
    {
        if (t.Get("err") is string err)
        {
            if (LuaState.Truthy(t.Get("ignore_error_stats_update"))) WriteErrorUncounted(r, err, command);
            else r.Error(err);
            return;
        }
        if (t.Get("ok") is string ok)
        {
            r.Raw("+"u8);
            r.Raw(Encoding.Latin1.GetBytes(ok.Replace('\r', ' ').Replace('\n', ' ')));
            r.Raw("\r\n"u8);
            return;
        }
        if (t.Get("double") is double d)
        {
            r.Double(d);
            return;
        }
        if (t.Get("big_number") is string big)
        {
            var bytes = Encoding.Latin1.GetBytes(big.Replace('\r', ' ').Replace('\n', ' '));
            if (r.Resp3)
            {
                r.Raw("("u8);
                r.Raw(bytes);
                r.Raw("\r\n"u8);
            }
            else r.Bulk(bytes);
            return;
        }
        if (t.Get("verbatim_string") is LuaTable vt && vt.Get("format") is string format && vt.Get("string") is string str)
        {
            var body = Encoding.Latin1.GetBytes(str);
            if (r.Resp3)
            {
                // addReplyVerbatim: the format's first three bytes (padded), then ':'.
                var f = Encoding.Latin1.GetBytes((format + "   ")[..3]);
                r.Raw(Encoding.ASCII.GetBytes($"={body.Length + 4}\r\n"));
                r.Raw(f);
                r.Raw(":"u8);
                r.Raw(body);
                r.Raw("\r\n"u8);
            }
            else r.Bulk(body);
            return;
        }
        if (t.Get("map") is LuaTable map)
        {
            var pairs = new List<(object K, object? V)>();
            object? k = null;
            while (map.Next(k, out k, out var value)) pairs.Add((k!, value));
            r.Map(pairs.Count);
            foreach (var (key, value) in pairs)
            {
                Write(r, key, scriptResp, command, depth + 1);
                Write(r, value, scriptResp, command, depth + 1);
            }
            return;
        }
        if (t.Get("set") is LuaTable set)
        {
            var keys = new List<object>();
            object? k = null;
            while (set.Next(k, out k, out _)) keys.Add(k!);
            r.Set(keys.Count);
            foreach (var key in keys) Write(r, key, scriptResp, command, depth + 1);
            return;
        }
        int n = 0;
        while (t.Get((double)(n + 1)) is not null) n++;
        r.Array(n);
        for (int i = 1; i <= n; i++) Write(r, t.Get((double)i), scriptResp, command, depth + 1);
    }

    /// <summary>
    /// An error reply that INFO errorstats does not count again (ERR_REPLY_FLAG_NO_STATS_UPDATE): the command that
    /// produced it was counted. As afterErrorReply then, the running command (EVAL) is counted failed here.
    /// </summary>
    public static void WriteErrorUncounted(RespWriter r, string text, CommandDef command)
    {
        command.FailedCalls++;
        var counter = r.OnError;
        r.OnError = null;
        try
        {
            r.Error(text);
        }
        finally
        {
            r.OnError = counter;
        }
    }
}
