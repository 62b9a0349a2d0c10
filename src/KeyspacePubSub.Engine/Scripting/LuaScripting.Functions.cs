using System.Diagnostics;
using System.Text;
using KeyspacePubSub.Engine.Commands;
using KeyspacePubSub.Lua;

namespace KeyspacePubSub.Engine.Scripting;

/// <summary>
/// Redis 7.0's functions (functions.c, function_lua.c): libraries loaded by FUNCTION LOAD into an interpreter of
/// their own, and FCALL. Its globals table is empty and locked; its metatable's __index is, while a library loads,
/// the load API (only <c>redis.register_function</c>, <c>redis.log</c> and the version), and otherwise the whole
/// runtime API (the libraries and <c>redis</c>), itself locked. A function reads but never writes a global.
/// </summary>
internal sealed partial class LuaScripting
{
    /// <summary>LOAD_TIMEOUT_MS: a library's code must have registered its functions within this.</summary>
    public const int LoadTimeoutMs = 500;

    public FunctionLibraries Functions { get; } = new();

    private LuaState? _functionsLua;
    private LuaTable? _globalsIndex; // the globals' metatable: its __index switches between the two APIs
    private LuaTable? _loadApi, _runtimeApi;
    private LoadContext? _load;

    /// <summary>What a library's load needs: the library its functions join, when it started, its limit.</summary>
    private sealed class LoadContext(FunctionLibrary library, long timeoutMs)
    {
        public FunctionLibrary Library { get; } = library;
        public long StartTicks { get; } = Stopwatch.GetTimestamp();
        public long TimeoutMs { get; } = timeoutMs;
        public long StartHeap = -1;
    }

    private LuaState FunctionsState => _functionsLua ??= CreateFunctionsState();

    /// <summary>INFO's used_memory_vm_functions: an estimate, as for EVAL's interpreter.</summary>
    public long FunctionsMemoryEstimate => EmptyFunctionsMemory + Functions.Bytes * 4;

    /// <summary>used_memory_vm_functions of Redis's functions interpreter with no library (33 KB).</summary>
    public const long EmptyFunctionsMemory = 33792;

    /// <summary>luaEngineInitEngine: the interpreter, its two APIs, and its locked, empty globals.</summary>
    private LuaState CreateFunctionsState()
    {
        var L = LuaState.Create();
        L.ChunkName = "user_function";
        L.Rand48 = _rand;
        L.PcallErrorValues = RedisPcallValues;
        RedisLuaApi.Register(L, this, eval: false);
        L.ErrorHandler = ErrorHandler(); // in the registry: not a global here

        // The runtime API: what a function's code reads as globals (the libraries and redis), _G itself.
        var runtime = new LuaTable();
        var names = new List<object>();
        object? k = null;
        while (L.Globals.Next(k, out k, out var v))
        {
            runtime.Set(k, v);
            names.Add(k!);
        }
        foreach (var name in names) L.Globals.Set(name, null);
        runtime.Set("_G", runtime);
        runtime.Metatable = ErrorMetatable();
        Protect(runtime);

        // The load API: redis.register_function, redis.log and its levels, the version; nothing else.
        var redis = new LuaTable();
        LuaState.Register(redis, "register_function", RegisterFunction);
        RedisLuaApi.RegisterLogAndVersion(redis, this);
        redis.Metatable = ErrorMetatable();
        var load = new LuaTable { ["redis"] = redis };
        load.Metatable = ErrorMetatable();
        Protect(load);

        var index = new LuaTable { ["__index"] = runtime };
        index.ReadOnly = true;
        L.Globals.Metatable = index;
        L.Globals.ReadOnly = true;
        _globalsIndex = index;
        _loadApi = load;
        _runtimeApi = runtime;
        return L;
    }

    /// <summary>
    /// functionsCreateWithLibraryCtx: the library in <paramref name="code"/> ("#!lua name=..." then Lua) compiled,
    /// run so it registers its functions, and linked into <paramref name="into"/> (replacing one of its name only
    /// with <paramref name="replace"/>). Its name, or null with the error (without its "ERR ").
    /// </summary>
    public string? CreateLibrary(byte[] code, bool replace, FunctionLibraries into, out string error)
    {
        if (ParseLibraryShebang(code, out string engine, out string name, out int shebangLength) is { } bad)
        {
            error = bad;
            return null;
        }
        if (!IsValidName(name))
        {
            error = InvalidName;
            return null;
        }
        if (!engine.Equals(FunctionLibrary.EngineName, StringComparison.OrdinalIgnoreCase))
        {
            error = $"Engine '{engine}' not found";
            return null;
        }
        var old = into.Library(name);
        if (old != null && !replace)
        {
            error = $"Library '{name}' already exists";
            return null;
        }
        if (old != null) into.Unlink(old);
        var library = new FunctionLibrary(name, code);
        // The shebang line is left out but its line feed kept, so the user's line numbers stay.
        error = Compile(library, Encoding.Latin1.GetString(code.AsSpan(shebangLength)))!;
        if (error is null && library.Functions.Count == 0) error = "No functions registered";
        if (error is null && library.Functions.Find(f => into.HasFunction(f.Name)) is { } taken) error = $"Function {taken.Name} already exists";
        if (error != null)
        {
            if (old != null) into.Link(old);
            return null;
        }
        into.Link(library);
        return name;
    }

    /// <summary>functionExtractLibMetaData: the engine and name of "#!&lt;engine&gt; name=&lt;name&gt;"; null, or the error.</summary>
    private static string? ParseLibraryShebang(ReadOnlySpan<byte> code, out string engine, out string name, out int shebangLength)
    {
        engine = name = "";
        shebangLength = 0;
        if (!code.StartsWith("#!"u8)) return "Missing library metadata";
        // The code is a C string to strchr: a NUL before the first line feed ends it.
        int nl = code.IndexOfAny((byte)'\n', (byte)0);
        if (nl < 0 || code[nl] == 0) return "Invalid library metadata";
        shebangLength = nl;
        var parts = Protocol.InlineSplitter.SplitArgs(code[..nl]);
        if (parts is null || parts.Count == 0) return "Invalid library metadata";
        engine = Encoding.Latin1.GetString(parts[0].AsSpan(2));
        string? found = null;
        foreach (var part in parts.Skip(1))
        {
            string text = Encoding.Latin1.GetString(part);
            if (text.StartsWith("name=", StringComparison.OrdinalIgnoreCase))
            {
                if (found != null) return "Invalid metadata value, name argument was given multiple times";
                found = text[5..];
                continue;
            }
            return $"Invalid metadata value given: {text}";
        }
        if (found is null) return "Library name was not given";
        name = found;
        return null;
    }

    private const string InvalidName = "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

    /// <summary>functionsVerifyName: [a-zA-Z0-9_]+.</summary>
    private static bool IsValidName(string name) => name.Length > 0 && name.All(c => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_');

    /// <summary>luaEngineCreate: compile, then run with the load API as globals; null, or the error.</summary>
    private string? Compile(FunctionLibrary library, string source)
    {
        var L = FunctionsState;
        LuaFunction chunk;
        try
        {
            chunk = L.Load(source);
        }
        catch (LuaError e)
        {
            return "Error compiling function: " + (e.Value as string ?? "syntax error");
        }
        // The load API is in place only while the library's code runs (a FUNCTION LOAD never runs inside a script).
        _globalsIndex!.Set("__index", _loadApi);
        _load = new LoadContext(library, LoadTimeoutMs);
        L.Interrupt = LoadInterrupted;
        L.BeginRun();
        L.ErrorFunction = null; // luaEngineCreate's lua_pcall has no error function
        try
        {
            chunk.Call(L, LuaState.None);
            return null;
        }
        catch (LuaError e)
        {
            return "Error registering functions: " + ErrorInformation(e.Value);
        }
        catch (LuaKilled)
        {
            return "Error registering functions: ERR FUNCTION LOAD timeout";
        }
        finally
        {
            _globalsIndex.Set("__index", _runtimeApi);
            _load = null;
            L.Interrupt = null;
            L.BeginRun();
        }
    }

    /// <summary>luaExtractErrorInformation's message: "ERR " and a string, or an error table's "err".</summary>
    private static string ErrorInformation(object? value)
    {
        string? message = value is string or double ? "ERR " + LuaState.AsString(value) : null;
        if (value is LuaTable t && LuaState.AsString(t.Get("err")) is { } err) message = err;
        return message ?? "(null)"; // Redis formats a NULL message with %s
    }

    /// <summary>luaEngineLoadHook: a library's code that runs past the load timeout (or grows the heap past 1 GB) is stopped.</summary>
    private bool LoadInterrupted()
    {
        var load = _load;
        if (load is null) return false;
        long ms = (Stopwatch.GetTimestamp() - load.StartTicks) * 1000 / Stopwatch.Frequency;
        if (ms > load.TimeoutMs) return true;
        long heap = GC.GetTotalMemory(false);
        if (load.StartHeap < 0) load.StartHeap = heap;
        return heap - load.StartHeap > MaxScriptHeapGrowth;
    }

    /// <summary>redis.register_function(name, callback) or redis.register_function{function_name=..., callback=..., flags=..., description=...}.</summary>
    private object?[] RegisterFunction(LuaState L, object?[] a)
    {
        var load = _load ?? throw RedisLuaApi.Raise(L, "redis.register_function can only be called on FUNCTION LOAD command");
        if (a.Length is < 1 or > 2) throw RedisLuaApi.Raise(L, "wrong number of arguments to redis.register_function");
        string? name, description = null;
        LuaFunction? callback;
        var flags = ScriptFlags.None;
        if (a.Length == 2)
        {
            if ((name = StringOf(a[0])) is null) throw RedisLuaApi.Raise(L, "first argument to redis.register_function must be a string");
            callback = a[1] as LuaFunction ?? throw RedisLuaApi.Raise(L, "second argument to redis.register_function must be a function");
        }
        else
        {
            if (a[0] is not LuaTable named) throw RedisLuaApi.Raise(L, "calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).");
            name = null;
            callback = null;
            object? k = null;
            while (named.Next(k, out k, out var v))
            {
                string key = StringOf(k) ?? throw RedisLuaApi.Raise(L, "named argument key given to redis.register_function is not a string");
                if (key.Equals("function_name", StringComparison.OrdinalIgnoreCase))
                    name = StringOf(v) ?? throw RedisLuaApi.Raise(L, "function_name argument given to redis.register_function must be a string");
                else if (key.Equals("description", StringComparison.OrdinalIgnoreCase))
                    description = StringOf(v) ?? throw RedisLuaApi.Raise(L, "description argument given to redis.register_function must be a string");
                else if (key.Equals("callback", StringComparison.OrdinalIgnoreCase))
                    callback = v as LuaFunction ?? throw RedisLuaApi.Raise(L, "callback argument given to redis.register_function must be a function");
                else if (key.Equals("flags", StringComparison.OrdinalIgnoreCase))
                {
                    if (v is not LuaTable list) throw RedisLuaApi.Raise(L, "flags argument to redis.register_function must be a table representing function flags");
                    flags = FlagsOf(list) ?? throw RedisLuaApi.Raise(L, "unknown flag given");
                }
                else throw RedisLuaApi.Raise(L, "unknown argument given to redis.register_function");
            }
            if (name is null) throw RedisLuaApi.Raise(L, "redis.register_function must get a function name argument");
            if (callback is null) throw RedisLuaApi.Raise(L, "redis.register_function must get a callback argument");
        }
        // functionLibCreateFunction
        if (!IsValidName(name)) throw RedisLuaApi.Raise(L, InvalidName);
        if (load.Library.Find(name) != null) throw RedisLuaApi.Raise(L, "Function already exists in the library");
        load.Library.Functions.Add(new FunctionInfo(name, description, flags, callback, load.Library));
        return LuaState.None;
    }

    /// <summary>luaGetStringSds: a string, or a number as Lua writes it; null for anything else.</summary>
    private static string? StringOf(object? v) => v is string or double ? LuaState.AsString(v) : null;

    /// <summary>luaRegisterFunctionReadFlags: the list's flags (matched without regard to case), or null for one unknown.</summary>
    private static ScriptFlags? FlagsOf(LuaTable list)
    {
        var flags = ScriptFlags.None;
        for (int j = 1; list.Get(j) is { } v; j++)
        {
            var flag = ScriptCache.FlagNamed(StringOf(v)?.ToLowerInvariant()); // (strcasecmp)
            if (flag == ScriptFlags.None) return null;
            flags |= flag;
        }
        return flags;
    }

    /// <summary>FCALL and FCALL_RO (fcallCommandGeneric).</summary>
    public void FCall(CommandContext x, bool ro, bool preCommandOom)
    {
        var args = x.Args;
        if (Functions.Function(Encoding.Latin1.GetString(args[1])) is not { } function)
        {
            x.Reply.Error("ERR Function not found");
            return;
        }
        if (!TryNumKeys(x, "ERR Bad number of keys provided", out int numkeys)) return;
        if (!MayRun(x, function.Flags, ro, preCommandOom)) return;
        Execute(x, FunctionsState, function.Callback, evalMode: false, numkeys, NewRun(x, function.Name, "user_function", function.Flags, ro, preCommandOom));
    }
}
