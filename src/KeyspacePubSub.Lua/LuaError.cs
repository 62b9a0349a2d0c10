namespace KeyspacePubSub.Lua;

/// <summary>
/// A Lua error on its way up: the value given to <c>error</c> (any Lua value), and where the innermost Lua
/// function was when it was raised (what Redis's error handler reads with <c>debug.getinfo</c>).
/// </summary>
public sealed class LuaError : Exception
{
    public LuaError(object? value, int line = 0) : base(value as string ?? "Lua error")
    {
        Value = value;
        Line = line;
    }

    /// <summary>The error value.</summary>
    public object? Value { get; }

    /// <summary>The current line of the innermost Lua function when raised (0: unknown).</summary>
    public int Line { get; internal set; }

    /// <summary>A syntax error met while compiling (Redis answers "Error compiling script").</summary>
    public bool Syntax { get; init; }
}
