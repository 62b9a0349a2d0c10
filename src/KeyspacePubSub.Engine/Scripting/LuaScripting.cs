using System.Diagnostics;
using System.Text;
using KeyspacePubSub.Engine.Acl;
using KeyspacePubSub.Engine.Commands;
using KeyspacePubSub.Lua;
using KeyspacePubSub.Protocol;
using Microsoft.Extensions.Logging;

namespace KeyspacePubSub.Engine.Scripting;

/// <summary>
/// EVAL and its family (Redis 7.0's eval.c and script.c): the scripts cache, the one Lua interpreter every script
/// runs in (its globals read-only, as Redis locks them), and the run of a script: KEYS and ARGV, redis.call and
/// redis.pcall through the script client, and the reply. A script runs to its end under the gate with time
/// frozen, as a transaction does; one that runs past busy-reply-threshold is stopped (see <see cref="Interrupted"/>).
/// </summary>
internal sealed partial class LuaScripting
{
    private readonly Engine _engine;
    private LuaState? _lua;
    private readonly Client _client;
    private readonly ScriptClientTransport _transport;
    private readonly RequestBatch _batch = new();
    private Run? _run;

    public ScriptCache Cache { get; } = new();

    /// <summary>math.random's generator: one per server, kept across SCRIPT FLUSH (as Redis's rand48 state is per process).</summary>
    private readonly Rand48 _rand = new();

    /// <summary>What one script run needs: who called, how (read-only, allow-oom), and whether it has written yet.</summary>
    private sealed class Run
    {
        public required Client Caller;
        public required string Name; // the script's SHA1, or the function's name
        public required string Source; // the chunk errors name: user_script or user_function
        public required CommandDef Command;
        public CommandArgs Args; // the EVAL's (valid while it runs)
        public bool ReadOnly, AllowOom, WriteDirty, PreCommandOom;
        public long StartTicks;
        public long StartHeap;
        public string? StopReason;
    }

    public LuaScripting(Engine engine)
    {
        _engine = engine;
        _transport = new ScriptClientTransport();
        _client = new Client(0, _transport, authenticated: true) { User = engine.Acl.Default, IsScriptClient = true };
        _client.Reply.OnError = engine.Stats.CountError;
    }

    /// <summary>INFO's used_memory_lua of an interpreter with no script, as Redis's (32 KB).</summary>
    public const long EmptyMemory = 32 * 1024;

    /// <summary>INFO's used_memory_lua: an estimate (the interpreter's globals and compiled scripts live in the GC heap).</summary>
    public long MemoryEstimate => EmptyMemory + Cache.Bytes * 4;

    private LuaState State => _lua ??= CreateState();

    private LuaState CreateState()
    {
        var L = LuaState.Create();
        L.Rand48 = _rand;
        L.PcallErrorValues = RedisPcallValues;
        RedisLuaApi.Register(L, this, eval: true);
        // scriptingInit's __redis__err__handler: a global here, the error function of every run.
        L.ErrorHandler = L.Globals["__redis__err__handler"] = ErrorHandler();
        // As scriptingInit: the globals are locked, and every table they reach (the libraries, redis); reading a
        // global that does not exist is an error.
        L.Globals.Metatable = ErrorMetatable();
        Protect(L.Globals);
        return L;
    }

    /// <summary>
    /// Redis's error handler (__redis__err__handler, and function_lua.c's): an error that is not a table becomes
    /// {err = "ERR " .. tostring(err)}; the table gets the source and the line of the Lua code that raised it.
    /// </summary>
    private static Builtin ErrorHandler() => new("error_handler", static (L, a) =>
    {
        var value = a.Length > 0 ? a[0] : null;
        var err = value as LuaTable ?? new LuaTable { ["err"] = "ERR " + L.ToStringMeta(value) };
        int line = L.CurrentLine;
        if (line > 0)
        {
            err["source"] = "@" + L.ChunkName;
            err["line"] = (double)line;
        }
        return [err];
    });

    /// <summary>
    /// luaRedisPcall's values after false: an error table's "err" when that is a string (or a number); a table
    /// without one stays, followed by the nil its lookup left on the stack (Redis 7.0.15 does not pop it).
    /// </summary>
    private static object?[] RedisPcallValues(object? value) => value is LuaTable t
        ? t.Get("err") is string or double ? [t.Get("err")] : [t, null]
        : [value];

    /// <summary>luaSetErrorMetatable: reading a field the table lacks is an error that names it.</summary>
    private static LuaTable ErrorMetatable()
    {
        var mt = new LuaTable();
        LuaState.Register(mt, "__index", static (L, a) =>
            throw L.Error($"Script attempted to access nonexistent global variable '{LuaState.AsString(Args(a, 1)) ?? L.ToStringMeta(Args(a, 1))}'"));
        return mt;
    }

    private static object? Args(object?[] a, int i) => i < a.Length ? a[i] : null;

    private static void Protect(LuaTable t)
    {
        if (t.ReadOnly) return;
        t.ReadOnly = true;
        object? k = null;
        while (t.Next(k, out k, out var v))
        {
            if (v is LuaTable inner) Protect(inner);
        }
        if (t.Metatable is { } mt) Protect(mt);
    }

    /// <summary>SCRIPT FLUSH: the cache and the interpreter are dropped; the next script starts a new one.</summary>
    public void Flush()
    {
        Cache.Clear();
        _lua = null;
    }

    /// <summary>luaCreateFunction: the script's SHA1, compiled and cached if it was not; null after an error reply.</summary>
    public CachedScript? Create(RespWriter reply, ReadOnlySpan<byte> body)
    {
        if (Cache.TryGetByBody(body, out var cached)) return cached;
        string sha = ScriptCache.Sha1Hex(body);
        if (ScriptCache.ParseShebang(body, out var flags, out int shebangLength) is { } error)
        {
            reply.Error("ERR " + error);
            return null;
        }
        // The shebang line is skipped but its line feed kept, so the user's line numbers stay.
        string source = Encoding.Latin1.GetString(body[shebangLength..]);
        LuaFunction fn;
        try
        {
            fn = State.Load(source);
        }
        catch (LuaError e)
        {
            reply.Error("ERR Error compiling script (new function): " + (e.Value as string ?? "syntax error"));
            return null;
        }
        var script = new CachedScript(sha, body.ToArray(), flags, fn);
        Cache.Add(script);
        return script;
    }

    /// <summary>EVAL, EVALSHA, EVAL_RO, EVALSHA_RO (evalGenericCommand).</summary>
    public void Eval(CommandContext x, bool evalsha, bool ro, bool preCommandOom)
    {
        var args = x.Args;
        if (evalsha && args[1].Length != 40)
        {
            x.Reply.Error("NOSCRIPT No matching script. Please use EVAL.");
            return;
        }
        if (!TryNumKeys(x, Errors.NotInteger, out int numkeys)) return;
        CachedScript? script;
        if (evalsha)
        {
            if (!Cache.TryGet(Encoding.ASCII.GetString(args[1]).ToLowerInvariant(), out script!))
            {
                x.Reply.Error("NOSCRIPT No matching script. Please use EVAL.");
                return;
            }
        }
        else if ((script = Create(x.Reply, args[1])) is null) return;

        var flags = script.Flags;
        if (!MayRun(x, flags, ro, preCommandOom)) return;
        Execute(x, State, script.Function, evalMode: true, numkeys, NewRun(x, script.Sha, "user_script", flags, ro, preCommandOom));
    }

    /// <summary>The number of keys (argument 2) of EVAL or FCALL, checked as both check it; false after an error reply.</summary>
    private static bool TryNumKeys(CommandContext x, string notInteger, out int numkeys)
    {
        numkeys = 0;
        if (!x.Args.TryGetInt64(2, out long n))
        {
            x.Reply.Error(notInteger);
            return false;
        }
        if (n > x.Args.Count - 3)
        {
            x.Reply.Error("ERR Number of keys can't be greater than number of args");
            return false;
        }
        if (n < 0)
        {
            x.Reply.Error("ERR Number of keys can't be negative");
            return false;
        }
        numkeys = (int)n;
        return true;
    }

    /// <summary>scriptPrepareForRun's run context: read-only on *_RO or with no-writes, allow-oom as flagged (not in compat mode).</summary>
    private static Run NewRun(CommandContext x, string name, string source, ScriptFlags flags, bool ro, bool preCommandOom)
    {
        bool compat = (flags & ScriptFlags.CompatMode) != 0;
        return new Run
        {
            Caller = x.Client,
            Name = name,
            Source = source,
            Command = x.Command,
            Args = x.Args,
            ReadOnly = ro || (!compat && (flags & ScriptFlags.NoWrites) != 0),
            AllowOom = !compat && (flags & ScriptFlags.AllowOom) != 0,
            PreCommandOom = preCommandOom,
        };
    }

    /// <summary>scriptPrepareForRun's checks of a script with flags (a shebang, or a function); false after an error reply.</summary>
    private bool MayRun(CommandContext x, ScriptFlags flags, bool ro, bool preCommandOom)
    {
        if ((flags & ScriptFlags.CompatMode) != 0) return true;
        if ((flags & ScriptFlags.NoWrites) == 0)
        {
            if (_engine.Durable is { } durable && durable.Failed)
            {
                x.Reply.Error("MISCONF " + durable.MisconfError["MISCONF ".Length..] + " Writable scripts are blocked. Use 'no-writes' flag for read only scripts.");
                return false;
            }
            if (ro)
            {
                x.Reply.Error("ERR Can not execute a script with write flag using *_ro command.");
                return false;
            }
        }
        if (preCommandOom && _engine.Config.MaxMemory > 0 && (flags & (ScriptFlags.AllowOom | ScriptFlags.NoWrites)) == 0 && !_engine.CollectedUnderLimit())
        {
            x.Reply.Error("OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'");
            return false;
        }
        return true;
    }

    /// <summary>
    /// luaCallFunction: a script (KEYS and ARGV as globals) or a function (keys and args as its two arguments) run
    /// as the script client, with time frozen, and its value or error as the reply.
    /// </summary>
    private void Execute(CommandContext x, LuaState L, LuaFunction function, bool evalMode, int numkeys, Run run)
    {
        var args = x.Args;
        var keys = new object?[numkeys];
        for (int i = 0; i < numkeys; i++) keys[i] = Encoding.Latin1.GetString(args[3 + i]);
        var argv = new object?[args.Count - 3 - numkeys];
        for (int i = 0; i < argv.Length; i++) argv[i] = Encoding.Latin1.GetString(args[3 + numkeys + i]);
        object?[] callArgs = LuaState.None;
        if (evalMode)
        {
            // KEYS and ARGV are set past the globals' lock, as luaCallFunction does.
            L.Globals.Set("KEYS", LuaTableOf(keys));
            L.Globals.Set("ARGV", LuaTableOf(argv));
        }
        else callArgs = [LuaTableOf(keys), LuaTableOf(argv)];

        _client.Db = x.Client.Db;
        _client.Protocol = 2; // scripts start in RESP2; redis.setresp changes it
        _client.User = x.Client.User;
        _client.ScriptCaller = x.Client;
        run.StartTicks = Stopwatch.GetTimestamp();
        run.StartHeap = -1; // read at the first check: most scripts end before one
        _run = run;
        L.Interrupt = Interrupted;
        bool freeze = !_engine.TimeFrozen;
        if (freeze) _engine.FreezeTime(true);
        try
        {
            L.BeginRun();
            object?[] result;
            try
            {
                result = function.Call(L, callArgs);
            }
            catch (LuaError e)
            {
                ReplyError(x.Reply, L, e.Value, e.Line, run, x.Command);
                return;
            }
            catch (LuaKilled killed)
            {
                _engine.Logger.LogWarning("Lua script {Name} stopped: {Reason}", run.Name, run.StopReason);
                x.Reply.Error($"ERR {run.StopReason} script: {run.Name}, on @{run.Source}:{killed.Line}.");
                return;
            }
            ScriptReplies.Write(x.Reply, result.Length > 0 ? result[0] : null, _client.Protocol, x.Command);
        }
        finally
        {
            if (freeze) _engine.FreezeTime(false);
            _run = null;
            _client.ScriptCaller = null;
            L.Interrupt = null;
            L.BeginRun();
        }
    }

    private static LuaTable LuaTableOf(object?[] items)
    {
        var t = new LuaTable();
        for (int i = 0; i < items.Length; i++) t.Set((double)(i + 1), items[i]);
        return t;
    }

    /// <summary>
    /// The reply to a script's error, as luaCallFunction builds it from what Redis's __redis__err__handler made:
    /// an error table keeps its "err", another value becomes "ERR " .. tostring(value); the script's SHA1 (or the
    /// function's name) and the line the error came from follow.
    /// </summary>
    private static void ReplyError(RespWriter reply, LuaState L, object? value, int line, Run run, CommandDef command)
    {
        string message;
        bool ignoreStats = false;
        if (value is LuaTable t)
        {
            // Redis 7.0.15 crashes on an error table without a string "err" (its message is NULL); this says so instead.
            message = t.Get("err") as string ?? "ERR unknown error";
            ignoreStats = LuaState.Truthy(t.Get("ignore_error_stats_update"));
        }
        else message = "ERR " + L.ToStringMeta(value);
        string text = line > 0 ? $"{message} script: {run.Name}, on @{run.Source}:{line}."
            : line == LuaState.CFunctionLine ? $"{message} script: {run.Name}, on =[C]:-1." // raised by a library function another one called
            : message;
        if (ignoreStats) ScriptReplies.WriteErrorUncounted(reply, text, command);
        else reply.Error(text);
    }

    /// <summary>Every few thousand steps: a script past busy-reply-threshold, or whose heap grew past 1 GB, is stopped.</summary>
    private bool Interrupted()
    {
        var run = _run;
        if (run is null) return false;
        long ms = (Stopwatch.GetTimestamp() - run.StartTicks) * 1000 / Stopwatch.Frequency;
        long limit = _engine.Config.BusyReplyThreshold;
        if (limit > 0 && ms > limit)
        {
            run.StopReason = $"Script ran longer than busy-reply-threshold ({limit} ms) and was stopped.";
            return true;
        }
        long heap = GC.GetTotalMemory(false);
        if (run.StartHeap < 0) run.StartHeap = heap;
        else if (heap - run.StartHeap > MaxScriptHeapGrowth)
        {
            run.StopReason = "Script was stopped: its memory grew past 1 GB.";
            return true;
        }
        return false;
    }

    private const long MaxScriptHeapGrowth = 1L << 30;

    /// <summary>redis.call (raise: true) and redis.pcall: one command run as the script client (scriptCall).</summary>
    public object?[] Call(LuaState L, object?[] a, bool raise)
    {
        var run = _run;
        if (run is null) throw new LuaError(ScriptReplies.ErrorTable("redis.call/pcall can only be called inside a script invocation"), L.ErrorLine);
        if (a.Length == 0) return Fail(L, ScriptReplies.ErrorTable("Please specify at least one argument for this redis lib call"), raise);
        if (!TryCommandLine(a, out var args)) return Fail(L, ScriptReplies.ErrorTable(NotStringsOrIntegers), raise);
        string? error = Check(run, args, out var cmd);
        if (error != null)
        {
            // afterErrorReply and incrCommandStatsOnError: counted here, not again when the script's reply carries it.
            var table = ScriptReplies.ErrorTable(error, ignoreStats: true);
            _engine.RejectedInScript(cmd, (string)table.Get("err")!);
            return Fail(L, table, raise);
        }
        if (cmd!.Has(CommandFlags.Write)) run.WriteDirty = true;
        _transport.Clear();
        _engine.CallFromScript(_client, cmd, args);
        // As call(): a read by the script makes a tracking caller remember the keys the script declared.
        if (cmd.Has(CommandFlags.ReadOnly) && run.Caller.Tracking is { Bcast: false }) _engine.RememberScriptKeys(run.Caller, run.Command, run.Args);
        var written = _transport.Written;
        int pos = 0;
        var value = written.Length == 0 ? null : ScriptReplies.ToLua(written, ref pos);
        _transport.Clear();
        if (raise && value is LuaTable t && t.Get("err") is string) throw new LuaError(t, L.ErrorLine);
        return [value];
    }

    private const string NotStringsOrIntegers = "Lua redis lib command arguments must be strings or integers";

    /// <summary>
    /// luaArgsToRedisArgv: the Lua values as a command line in the script's batch (strings as their bytes, numbers
    /// as "%.17g", not Lua's lossy %.14g); false when one is neither.
    /// </summary>
    private bool TryCommandLine(object?[] a, out CommandArgs args)
    {
        var bytes = new byte[a.Length][];
        for (int i = 0; i < a.Length; i++)
        {
            switch (a[i])
            {
                case string s:
                    bytes[i] = Encoding.Latin1.GetBytes(s);
                    break;
                case double d:
                    bytes[i] = Encoding.ASCII.GetBytes(double.IsNaN(d) ? (BitConverter.DoubleToInt64Bits(d) < 0 ? "-nan" : "nan") : RespWriter.FormatDouble(d));
                    break;
                default:
                    args = default;
                    return false;
            }
        }
        _batch.Reset();
        _batch.Append(bytes);
        args = _batch[0];
        return true;
    }

    private static object?[] Fail(LuaState L, LuaTable error, bool raise) => raise ? throw new LuaError(error, L.ErrorLine) : [error];

    /// <summary>scriptCall's checks, in its order; the error text (without its code when it is ERR), or null.</summary>
    private string? Check(Run run, CommandArgs args, out CommandDef? cmd)
    {
        cmd = _engine.Commands.Resolve(args, out _);
        if (cmd is null) return "Unknown Redis command called from script";
        if ((cmd.Arity > 0 && cmd.Arity != args.Count) || args.Count < -cmd.Arity) return "Wrong number of args calling Redis command from script";
        if (cmd.Has(CommandFlags.NoScript) && !_engine.ScriptsMayRunAnyCommand) return "This Redis command is not allowed from script";
        var user = run.Caller.User;
        if (!user.Unrestricted && _engine.Acl.Check(user, cmd, args, 0, out int position) is var denied && denied != AclDenied.Ok)
        {
            _engine.Acl.Log.AddDenied(run.Caller, denied, run.Caller.InMulti, cmd, args, position, inScript: true);
            return "The user executing the script " + denied switch
            {
                AclDenied.Command => "can't run this command or subcommand",
                AclDenied.Key => "can't access at least one of the keys mentioned in the command arguments",
                AclDenied.Channel => "can't publish to the channel mentioned in the command",
                _ => "lacking the permissions for the command",
            };
        }
        if (run.ReadOnly && (cmd.Has(CommandFlags.Write) || cmd.Has(CommandFlags.MayReplicate))) return "Write commands are not allowed from read-only scripts.";
        if (cmd.Has(CommandFlags.Write) && !run.WriteDirty && _engine.Durable is { } durable && durable.DeniesWrite(cmd, args)) return "-" + durable.MisconfError;
        if (!run.AllowOom && _engine.Config.MaxMemory > 0 && !run.WriteDirty && run.PreCommandOom && cmd.Has(CommandFlags.DenyOom) && !_engine.CollectedUnderLimit())
            return "-" + Errors.OutOfMemory;
        return null;
    }

    /// <summary>redis.setresp: the protocol the script's next commands reply in.</summary>
    public void SetResp(int resp) => _client.Protocol = resp;

    public bool Running => _run != null;

    /// <summary>redis.acl_check_cmd: whether the caller's user may run the command.</summary>
    public object?[] AclCheck(LuaState L, object?[] a)
    {
        var run = _run ?? throw new LuaError(ScriptReplies.ErrorTable("redis.acl_check_cmd can only be called inside a script invocation"), L.ErrorLine);
        if (a.Length == 0) throw new LuaError(ScriptReplies.ErrorTable("Please specify at least one argument for this redis lib call"), L.ErrorLine);
        if (!TryCommandLine(a, out var args)) throw new LuaError(ScriptReplies.ErrorTable(NotStringsOrIntegers), L.ErrorLine);
        // lookupCommand: the command is found by name (and subcommand), whatever its arity.
        var cmd = _engine.Commands.Resolve(args, out _);
        if (cmd is null)
            throw new LuaError(ScriptReplies.ErrorTable("Invalid command passed to redis.acl_check_cmd()"), L.ErrorLine);
        var user = run.Caller.User;
        return [LuaState.Bool(user.Unrestricted || _engine.Acl.Check(user, cmd, args, 0, out _) == AclDenied.Ok)];
    }

    public void Log(int level, string text)
    {
        var logLevel = level switch { 0 => LogLevel.Debug, 1 => LogLevel.Debug, 2 => LogLevel.Information, _ => LogLevel.Warning };
        _engine.Logger.Log(logLevel, "{Text}", text);
    }
}
