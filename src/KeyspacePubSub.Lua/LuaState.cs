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
    public int LineAt(int level)
    {
        int i = _frames.Count - level;
        return i >= 0 && i < _frames.Count ? _frames[i].Line : 0;
    }

    /// <summary>The running Lua function's current line (0 when none runs).</summary>
    public int CurrentLine => _frames.Count > 0 ? _frames[^1].Line : 0;

    internal int Depth => _frames.Count;

    /// <summary>
    /// "chunk:line: message", as luaG_runerror: <paramref name="line"/> 0 takes the innermost Lua function's line;
    /// <see cref="NoPosition"/> is an error raised inside a library function (luaG_runerror adds no position there).
    /// </summary>
    public LuaError RuntimeError(string message, int line = 0)
    {
        if (line == NoPosition) return new LuaError(message, CurrentLine);
        if (line == 0) line = CurrentLine;
        return new LuaError(line > 0 ? $"{ChunkName}:{line}: {message}" : message, line);
    }

    /// <summary>luaL_error from a library function: positioned at its Lua caller.</summary>
    public LuaError Error(string message) => RuntimeError(message);

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
        _cCalls = 0;
        _charged = 0;
        _budget = InterruptEvery;
    }

    internal Frame Enter(LuaClosure closure, int slots)
    {
        if (_frames.Count >= MaxCallDepth || !RuntimeHelpers.TryEnsureSufficientExecutionStack()) throw RuntimeError("stack overflow");
        Step();
        var f = new Frame(closure, new object?[slots]);
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
}

/// <summary>SCRIPT KILL (or a script past its time): unwinds the whole script; pcall does not catch it.</summary>
public sealed class LuaKilled(int line) : Exception("Script killed")
{
    /// <summary>The line the script was running when stopped.</summary>
    public int Line { get; } = line;
}
