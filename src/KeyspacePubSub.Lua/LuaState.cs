using System.Runtime.CompilerServices;

namespace KeyspacePubSub.Lua;

/// <summary>
/// One Lua interpreter: its globals, the string metatable, the stack of running Lua functions (for error
/// positions and levels), and the limits that keep a script from stopping the server: a call depth, the
/// thread's stack, and an interrupt check every <see cref="InterruptEvery"/> steps (loop turns and calls).
/// </summary>
public sealed partial class LuaState
{
    public const int MaxCallDepth = 16000; // below Lua 5.1's LUAI_MAXCALLS (20,000): "stack overflow"
    public const int InterruptEvery = 100_000; // as Redis's count hook

    public LuaTable Globals { get; } = new();

    /// <summary>The metatable of every string (its __index is the string library).</summary>
    public LuaTable? StringMetatable { get; set; }

    /// <summary>The chunk name errors are prefixed with ("user_script", as Redis names a script "@user_script").</summary>
    public string ChunkName { get; set; } = "user_script";

    /// <summary>Asked every <see cref="InterruptEvery"/> steps; true stops the script (<see cref="LuaKilled"/>).</summary>
    public Func<bool>? Interrupt { get; set; }

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

    /// <summary>"chunk:line: message", as luaG_runerror (with the innermost Lua function's line when 0).</summary>
    public LuaError RuntimeError(string message, int line = 0)
    {
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

    private void CheckInterrupt()
    {
        _budget = InterruptEvery;
        if (Interrupt?.Invoke() == true) throw new LuaKilled();
    }

    /// <summary>Resets the step budget and the frames before a new top-level run.</summary>
    public void BeginRun()
    {
        _frames.Clear();
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
public sealed class LuaKilled : Exception
{
    public LuaKilled() : base("Script killed") { }
}
