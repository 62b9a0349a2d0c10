using KeyspacePubSub.Lua;

namespace KeyspacePubSub.Engine.Scripting;

/// <summary>The <c>redis</c> table scripts see (luaRegisterRedisAPI and scriptingInit), and Redis's pcall.</summary>
internal static class RedisLuaApi
{
    private const int LogDebug = 0, LogVerbose = 1, LogNotice = 2, LogWarning = 3;

    /// <summary>The runtime <c>redis</c> table; EVAL's (<paramref name="eval"/>) also has its debugger's breakpoint and debug, and replicate_commands.</summary>
    public static void Register(LuaState L, LuaScripting scripting, bool eval)
    {
        var redis = new LuaTable();
        LuaState.Register(redis, "call", (L, a) => scripting.Call(L, a, raise: true));
        LuaState.Register(redis, "pcall", (L, a) => scripting.Call(L, a, raise: false));
        RegisterLogAndVersion(redis, scripting);
        LuaState.Register(redis, "setresp", (L, a) =>
        {
            if (!scripting.Running) throw Raise(L, "redis.setresp can only be called inside a script invocation");
            if (a.Length != 1) throw Raise(L, "redis.setresp() requires one argument.");
            int resp = (int)(LuaState.AsNumber(a[0]) ?? 0);
            if (resp != 2 && resp != 3) throw Raise(L, "RESP version must be 2 or 3.");
            scripting.SetResp(resp);
            return LuaState.None;
        });
        LuaState.Register(redis, "sha1hex", (L, a) =>
        {
            if (a.Length != 1) throw Raise(L, "wrong number of arguments");
            string s = LuaState.AsString(a[0]) ?? "";
            return [ScriptCache.Sha1Hex(System.Text.Encoding.Latin1.GetBytes(s))];
        });
        LuaState.Register(redis, "error_reply", (L, a) =>
        {
            if (a.Length != 1 || a[0] is not string err) return [ScriptReplies.ErrorTable("wrong number or type of arguments")];
            return [ScriptReplies.ErrorTable(err.StartsWith('-') ? err : "-" + err)];
        });
        LuaState.Register(redis, "status_reply", (L, a) =>
        {
            if (a.Length != 1 || a[0] is not string ok) return [ScriptReplies.ErrorTable("wrong number or type of arguments")];
            return [new LuaTable { ["ok"] = ok }];
        });
        LuaState.Register(redis, "set_repl", (L, a) =>
        {
            if (!scripting.Running) throw Raise(L, "redis.set_repl can only be called inside a script invocation");
            if (a.Length != 1) throw Raise(L, "redis.set_repl() requires two arguments.");
            int flags = (int)(LuaState.AsNumber(a[0]) ?? 0);
            if ((flags & ~3) != 0) throw Raise(L, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.");
            return LuaState.None; // nothing is propagated here
        });
        redis["REPL_NONE"] = 0.0;
        redis["REPL_AOF"] = 1.0;
        redis["REPL_SLAVE"] = 2.0;
        redis["REPL_REPLICA"] = 2.0;
        redis["REPL_ALL"] = 3.0;
        LuaState.Register(redis, "acl_check_cmd", (L, a) => scripting.AclCheck(L, a));
        if (eval)
        {
            LuaState.Register(redis, "replicate_commands", (L, a) => [LuaState.True]);
            LuaState.Register(redis, "breakpoint", (L, a) => [LuaState.False]); // no debugging session (SCRIPT DEBUG) here
            LuaState.Register(redis, "debug", (L, a) => LuaState.None);
        }
        L.Globals["redis"] = redis;
    }

    /// <summary>luaRegisterLogFunction and luaRegisterVersion: redis.log, its levels, and the server's version.</summary>
    public static void RegisterLogAndVersion(LuaTable redis, LuaScripting scripting)
    {
        LuaState.Register(redis, "log", (L, a) => Log(L, a, scripting));
        redis["LOG_DEBUG"] = (double)LogDebug;
        redis["LOG_VERBOSE"] = (double)LogVerbose;
        redis["LOG_NOTICE"] = (double)LogNotice;
        redis["LOG_WARNING"] = (double)LogWarning;
        redis["REDIS_VERSION_NUM"] = (double)0x07000f;
        redis["REDIS_VERSION"] = "7.0.15";
    }

    /// <summary>luaPushError then luaError: a Lua error whose value is an error table.</summary>
    public static LuaError Raise(LuaState L, string message) => new(ScriptReplies.ErrorTable(message), L.ErrorLine);

    private static object?[] Log(LuaState L, object?[] a, LuaScripting scripting)
    {
        if (a.Length < 2) throw Raise(L, "redis.log() requires two arguments or more.");
        if (LuaState.AsNumber(a[0]) is not double d) throw Raise(L, "First argument must be a number (log level).");
        int level = (int)d;
        if (level < LogDebug || level > LogWarning) throw Raise(L, "Invalid debug level.");
        var parts = new List<string>();
        for (int i = 1; i < a.Length; i++)
        {
            if (LuaState.AsString(a[i]) is { } s) parts.Add(s);
        }
        scripting.Log(level, string.Join(' ', parts));
        return LuaState.None;
    }
}
