using System.Runtime.CompilerServices;

namespace KeyspacePubSub.Lua;

/// <summary>
/// One Lua interpreter: its globals, the string metatable, the stack of running Lua functions (for error
/// positions and levels), and the limits that keep a script from stopping the server: a call depth, the
/// thread's stack, and an interrupt check every <see cref="InterruptEvery"/> steps (loop turns and calls).
/// </summary>
public sealed partial class LuaState
{
    public const int MaxCallDepth = 19001; // as deep as Redis 7.0.15 lets a script recurse (Lua 5.1, LUAI_MAXCALLS 20,000): "stack overflow"
    public const int InterruptEvery = 100_000; // as Redis's count hook

    public LuaTable Globals { get; } = new();

    /// <summary>The metatable of every string (its __index is the string library).</summary>
    public LuaTable? StringMetatable { get; set; }

    /// <summary>The chunk name errors are prefixed with ("user_script", as Redis names a script "@user_script").</summary>
    public string ChunkName { get; set; } = "user_script";

    /// <summary>What a call expression names the library function it is about to call ("field 'rep'"; "" for no name).</summary>
    internal string? NextCallSite;

    /// <summary>How the running library function's caller named it (as <see cref="NextCallSite"/>); null when not named (a metamethod, or called by a library function).</summary>
    internal string? CallSite;

    /// <summary>The running library function was called by another (pcall, sort, gsub): luaL_where gives no position then.</summary>
    internal bool CalledFromLibrary;

    /// <summary>A library function, not Lua code, is running.</summary>
    internal bool RunningBuiltin;

    /// <summary>
    /// luaL_argerror's name for the running library function: the name its call used, '?' when it has none; and
    /// whether it was called as a method (the self argument is then not counted).
    /// </summary>
    internal (string Name, bool Method) CallName()
    {
        string? site = CallSite;
        if (string.IsNullOrEmpty(site)) return ("?", false);
        int quote = site.IndexOf('\'');
        string name = quote >= 0 ? site[(quote + 1)..^1] : site;
        return (name, site.StartsWith("method ", StringComparison.Ordinal));
    }

    /// <summary>The error function a top-level run has (Redis's error handler, as lua_pcall's errfunc).</summary>
    public object? ErrorHandler { get; set; }

    /// <summary>The error function in force: <see cref="ErrorHandler"/> at the top, none inside pcall, xpcall's own inside it.</summary>
    public object? ErrorFunction { get; set; }

    /// <summary>Asked every <see cref="InterruptEvery"/> steps; true stops the script (<see cref="LuaKilled"/>).</summary>
    public Func<bool>? Interrupt { get; set; }

    /// <summary>The line to give <see cref="RuntimeError"/> for an error a library function raises through the VM (no position).</summary>
    public const int NoPosition = -1;

    /// <summary>LUAI_MAXCCALLS: calls made from library code (metamethods, pcall, sort's comparator) nest at most this deep.</summary>
    public const int MaxCCalls = 200;

    private int _cCalls;
    private readonly List<Frame> _frames = [];
    private int _budget = InterruptEvery;

    /// <summary>The current line of the Lua function <paramref name="level"/> levels up (1: the innermost), or 0.</summary>
    /// <remarks>
    /// Counted from the running library function (level 0) as lua_getstack counts: library functions (C frames)
    /// are levels too, and have no line. Without one running, level 1 is the innermost Lua function.
    /// </remarks>
    public int LineAt(int level)
    {
        int lua = _frames.Count - 1, c = _cFrames.Count - 1;
        if (c < 0)
        {
            int i = _frames.Count - level;
            return i >= 0 && i < _frames.Count ? FrameLine(i) : 0;
        }
        c--; // level 0: the running library function
        for (int k = 1; ; k++)
        {
            bool isC = c >= 0 && _cFrames[c] > lua; // called while Lua frame `lua` was the innermost: above it
            if (k >= level) return isC || lua < 0 ? 0 : FrameLine(lua);
            if (isC) c--;
            else lua--;
        }
    }

    /// <summary>The Lua function about to be called is called by a tail call (see <see cref="Frame.TailCalled"/>).</summary>
    internal bool NextCallIsTail;

    /// <summary>
    /// A Lua frame's current line as lua_getstack sees it: 0 for one that made a tail call (in Lua that frame is
    /// gone, and its level is a "(tail call)" without a line).
    /// </summary>
    private int FrameLine(int i) => i + 1 < _frames.Count && _frames[i + 1].TailCalled ? 0 : _frames[i].Line;

    /// <summary>For each running library function, innermost last: how many Lua frames were running below it.</summary>
    private readonly List<int> _cFrames = [];

    internal void EnterBuiltin() => _cFrames.Add(_frames.Count);

    internal void LeaveBuiltin() => _cFrames.RemoveAt(_cFrames.Count - 1);

    /// <summary>
    /// The line Redis's error handler gives an error raised here (debug.getinfo of the function that raised it, or
    /// of its caller when that function is C): <see cref="CFunctionLine"/> when a library function called by another
    /// one raised it, else the running Lua function's current line.
    /// </summary>
    public int ErrorLine => RunningBuiltin && CalledFromLibrary ? CFunctionLine : CurrentLine;

    /// <summary>A C function's currentline (-1): Redis names its place "=[C]:-1".</summary>
    public const int CFunctionLine = -1;

    /// <summary>The running Lua function's current line (0 when none runs).</summary>
    public int CurrentLine => _frames.Count > 0 ? _frames[^1].Line : 0;

    internal int Depth => _frames.Count;

    /// <summary>
    /// "chunk:line: message", as luaG_runerror: <paramref name="line"/> 0 takes the innermost Lua function's line;
    /// <see cref="NoPosition"/> is an error raised inside a library function (luaG_runerror adds no position there).
    /// </summary>
    public LuaError RuntimeError(string message, int line = 0)
    {
        if (line == NoPosition) return new LuaError(message, ErrorLine);
        if (line == 0) line = CurrentLine;
        return new LuaError(line > 0 ? $"{ChunkName}:{line}: {message}" : message, line);
    }

    /// <summary>luaL_error from a library function: positioned at its Lua caller (none when another library function called it).</summary>
    public LuaError Error(string message) => RuntimeError(message, RunningBuiltin && CalledFromLibrary ? NoPosition : 0);

    /// <summary>A loop turn or a call: the interrupt is asked now and then.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Step()
    {
        if (--_budget <= 0) CheckInterrupt();
    }

    /// <summary>
    /// A string (or other buffer) of <paramref name="chars"/> chars was made: every 32 M chars made the interrupt
    /// is asked at once (it watches the heap), so a script that builds big strings cannot outgrow its limit between
    /// two step checks.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Charge(long chars)
    {
        _charged += chars;
        if (_charged >= ChargeEvery) ChargeCheck();
    }

    private const long ChargeEvery = 32L << 20;
    private long _charged;

    private void ChargeCheck()
    {
        _charged = 0;
        CheckInterrupt();
    }

    private void CheckInterrupt()
    {
        _budget = InterruptEvery;
        if (Interrupt?.Invoke() == true) throw new LuaKilled(CurrentLine);
    }

    /// <summary>Resets the step budget and the frames before a new top-level run.</summary>
    public void BeginRun()
    {
        _frames.Clear();
        _cFrames.Clear();
        _cCalls = 0;
        ErrorFunction = ErrorHandler;
        _charged = 0;
        _budget = InterruptEvery;
    }

    internal Frame Enter(LuaClosure closure, int slots)
    {
        if (_frames.Count >= MaxCallDepth || !RuntimeHelpers.TryEnsureSufficientExecutionStack()) throw RuntimeError("stack overflow");
        Step();
        var f = new Frame(closure, new object?[slots]) { TailCalled = NextCallIsTail };
        NextCallIsTail = false;
        _frames.Add(f);
        return f;
    }

    internal void Leave() => _frames.RemoveAt(_frames.Count - 1);

    /// <summary>Guards the C# stack for calls made by library functions (pcall, sort's comparator, metamethods).</summary>
    internal void CheckStack()
    {
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack()) throw RuntimeError("C stack overflow");
    }

    /// <summary>Restores the frame stack after an error caught at <paramref name="depth"/> (pcall).</summary>
    internal void UnwindTo(int depth)
    {
        if (_frames.Count > depth) _frames.RemoveRange(depth, _frames.Count - depth);
    }
}

/// <summary>A running Lua function's locals, varargs and current line.</summary>
internal sealed class Frame(LuaClosure closure, object?[] slots)
{
    public readonly LuaClosure Closure = closure;
    public readonly object?[] Slots = slots;
    public object?[] Varargs = [];
    public int Line;
    public object?[]? Returned; // set by a return statement
    public bool TailCalled; // entered by a tail call: in Lua, the caller's frame is gone
}

/// <summary>SCRIPT KILL (or a script past its time): unwinds the whole script; pcall does not catch it.</summary>
public sealed class LuaKilled(int line) : Exception("Script killed")
{
    /// <summary>The line the script was running when stopped.</summary>
    public int Line { get; } = line;
}
