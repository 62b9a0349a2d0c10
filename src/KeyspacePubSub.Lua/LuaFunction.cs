namespace KeyspacePubSub.Lua;

/// <summary>A Lua function value: a closure made from a script, or one written in C# (a library's).</summary>
public abstract class LuaFunction
{
    /// <summary>Calls the function; the results, of any number.</summary>
    public abstract object?[] Call(LuaState state, object?[] args);

    /// <summary>A function written in C# ("C" for debug.getinfo's what).</summary>
    public virtual bool IsBuiltin => true;
}

/// <summary>A library function.</summary>
public sealed class Builtin(string name, Func<LuaState, object?[], object?[]> body) : LuaFunction
{
    public string Name { get; } = name;

    /// <summary>
    /// Runs the body with what luaL_argerror and luaL_where would find on Lua's call stack: the name the call
    /// expression used for it (<see cref="LuaState.NextCallSite"/>), and whether another library function called it.
    /// </summary>
    public override object?[] Call(LuaState state, object?[] args)
    {
        string? site = state.CallSite;
        bool fromLibrary = state.CalledFromLibrary, running = state.RunningBuiltin;
        state.CallSite = state.NextCallSite;
        state.NextCallSite = null;
        state.CalledFromLibrary = running;
        state.RunningBuiltin = true;
        state.EnterBuiltin();
        try
        {
            return body(state, args);
        }
        finally
        {
            state.LeaveBuiltin();
            state.CallSite = site;
            state.CalledFromLibrary = fromLibrary;
            state.RunningBuiltin = running;
        }
    }
}

/// <summary>A captured local variable, shared by the closures that see it.</summary>
internal sealed class Box(object? value)
{
    public object? Value = value;
}
