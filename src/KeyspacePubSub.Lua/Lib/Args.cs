namespace KeyspacePubSub.Lua.Lib;

/// <summary>lauxlib's argument checks for library functions, with its error texts ("bad argument #1 to 'rep' (number expected, got nil)").</summary>
internal static class Args
{
    public static object? At(object?[] a, int i) => i < a.Length ? a[i] : null;

    private static string Got(object?[] a, int i) => i < a.Length ? LuaState.TypeName(a[i]) : "no value";

    /// <summary>
    /// luaL_argerror: named as the call named the function (<paramref name="fn"/> is what a direct call by its own
    /// name gives; '?' when unnamed); a method call does not count its self argument.
    /// </summary>
    public static LuaError Bad(LuaState L, int i, string fn, string message)
    {
        var (name, method) = L.RunningBuiltin ? L.CallName() : (fn, false);
        int narg = i + 1;
        if (method && --narg == 0) return L.Error($"calling '{name}' on bad self ({message})");
        return L.Error($"bad argument #{narg} to '{name}' ({message})");
    }

    public static LuaError TypeError(LuaState L, object?[] a, int i, string fn, string expected) => Bad(L, i, fn, $"{expected} expected, got {Got(a, i)}");

    public static double Number(LuaState L, object?[] a, int i, string fn) =>
        LuaState.AsNumber(At(a, i)) ?? throw TypeError(L, a, i, fn, "number");

    /// <summary>luaL_checkint: the number truncated toward zero, as C's cast.</summary>
    public static int Int(LuaState L, object?[] a, int i, string fn) => ToInt(Number(L, a, i, fn));

    /// <summary>
    /// luaL_checkint's two C casts on x86-64: to a 64-bit lua_Integer (NaN, infinities and values out of range
    /// become its minimum), then to int (the low 32 bits): 2^32 + 5 is 5, 123456789012345 is negative, inf is 0.
    /// </summary>
    public static int ToInt(double d) => unchecked((int)ToInteger(d));

    public static long ToInteger(double d) => LuaNumber.ToInteger(d);

    public static int OptInt(LuaState L, object?[] a, int i, string fn, int def) => At(a, i) is null ? def : Int(L, a, i, fn);

    /// <summary>luaL_checkinteger: 64 bits (string positions are ptrdiff_t in Lua 5.1).</summary>
    public static long Integer(LuaState L, object?[] a, int i, string fn) => ToInteger(Number(L, a, i, fn));

    public static long OptInteger(LuaState L, object?[] a, int i, string fn, long def) => At(a, i) is null ? def : Integer(L, a, i, fn);

    public static string String(LuaState L, object?[] a, int i, string fn) =>
        LuaState.AsString(At(a, i)) ?? throw TypeError(L, a, i, fn, "string");

    public static LuaTable Table(LuaState L, object?[] a, int i, string fn) =>
        At(a, i) as LuaTable ?? throw TypeError(L, a, i, fn, "table");

    public static void Any(LuaState L, object?[] a, int i, string fn)
    {
        if (i >= a.Length) throw Bad(L, i, fn, "value expected");
    }

    public static object?[] One(object? v) => [v];
}
