using System.Runtime.CompilerServices;

namespace KeyspacePubSub.Lua;

/// <summary>Lua 5.1's operations on values (lvm.c): indexing, calls, arithmetic, comparison, concatenation, with metamethods and its error texts.</summary>
public sealed partial class LuaState
{
    public static readonly object True = true, False = false;
    public static readonly object?[] None = [];

    public static object Bool(bool b) => b ? True : False;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Truthy(object? v) => v is not null && (v is not bool b || b);

    public static string TypeName(object? v) => v switch
    {
        null => "nil",
        bool => "boolean",
        double => "number",
        string => "string",
        LuaTable => "table",
        LuaFunction => "function",
        _ => "userdata",
    };

    public LuaTable? GetMetatable(object? v) => v switch
    {
        LuaTable t => t.Metatable,
        string => StringMetatable,
        _ => null,
    };

    private object? Metamethod(object? v, string name) => GetMetatable(v)?.Get(name);

    /// <summary>lua_tolstring: a string, or a number written as Lua writes it; null for other values.</summary>
    public static string? AsString(object? v) => v switch
    {
        string s => s,
        double d => LuaNumber.Format(d),
        _ => null,
    };

    /// <summary>lua_tonumber: a number, or a string that reads as one; null otherwise.</summary>
    public static double? AsNumber(object? v) => v switch
    {
        double d => d,
        string s => LuaNumber.Parse(s),
        _ => null,
    };

    /// <summary>tostring(): __tostring, else the value's text ("table: 0x...").</summary>
    public string ToStringMeta(object? v)
    {
        if (Metamethod(v, "__tostring") is { } tm)
        {
            var r = First(Call(tm, [v]));
            return r as string ?? throw Error("'__tostring' must return a string");
        }
        return v switch
        {
            null => "nil",
            bool b => b ? "true" : "false",
            double d => LuaNumber.Format(d),
            string s => s,
            LuaUserdata u => u.ToString(),
            _ => $"{TypeName(v)}: 0x{0x5500_0000_0000L | (long)(uint)RuntimeHelpers.GetHashCode(v) << 4:x12}", // 12 hex digits, as a heap address
        };
    }

    public static object? First(object?[] values) => values.Length > 0 ? values[0] : null;

    private LuaError TypeError(object? v, string op, string? what, int line)
    {
        string t = TypeName(v);
        return RuntimeError(what != null ? $"attempt to {op} {what} (a {t} value)" : $"attempt to {op} a {t} value", line);
    }

    public object? Index(object? obj, object? key, int line = 0, string? what = null)
    {
        for (int loop = 0; loop < 100; loop++)
        {
            object? tm;
            if (obj is LuaTable t)
            {
                var v = t.Get(key);
                if (v is not null) return v;
                tm = t.Metatable?.Get("__index");
                if (tm is null) return null;
            }
            else
            {
                tm = Metamethod(obj, "__index");
                if (tm is null) throw TypeError(obj, "index", what, line);
            }
            if (tm is LuaFunction) return First(Call(tm, [obj, key], line));
            obj = tm;
            what = null;
        }
        throw RuntimeError("loop in gettable", line);
    }

    public void SetIndex(object? obj, object? key, object? value, int line = 0, string? what = null)
    {
        for (int loop = 0; loop < 100; loop++)
        {
            object? tm;
            if (obj is LuaTable t)
            {
                if (t.ReadOnly) throw RuntimeError("Attempt to modify a readonly table", line);
                if (t.Get(key) is not null || (tm = t.Metatable?.Get("__newindex")) is null)
                {
                    RawSet(t, key, value, line);
                    return;
                }
            }
            else
            {
                tm = Metamethod(obj, "__newindex");
                if (tm is null) throw TypeError(obj, "index", what, line);
            }
            if (tm is LuaFunction)
            {
                Call(tm, [obj, key, value], line);
                return;
            }
            obj = tm;
            what = null;
        }
        throw RuntimeError("loop in settable", line);
    }

    public void RawSet(LuaTable t, object? key, object? value, int line = 0)
    {
        if (key is null) throw RuntimeError("table index is nil", line);
        if (key is double d && double.IsNaN(d)) throw RuntimeError("table index is NaN", line);
        t.Set(key, value);
    }

    /// <summary>A call made from library code or a metamethod (luaD_call): at most <see cref="MaxCCalls"/> deep ("C stack overflow").</summary>
    public object?[] Call(object? fn, object?[] args, int line = 0, string? what = null)
    {
        if (++_cCalls >= MaxCCalls)
        {
            _cCalls--;
            throw RuntimeError("C stack overflow", line);
        }
        try
        {
            if (fn is LuaFunction f) return f.Call(this, args);
            if (Metamethod(fn, "__call") is LuaFunction tm)
            {
                var withSelf = new object?[args.Length + 1];
                withSelf[0] = fn;
                args.CopyTo(withSelf, 1);
                return tm.Call(this, withSelf);
            }
            throw TypeError(fn, "call", what, line);
        }
        finally
        {
            _cCalls--;
        }
    }

    public object? Arith(char op, object? a, object? b, int line = 0, string? whatA = null, string? whatB = null)
    {
        if (AsNumber(a) is double x && AsNumber(b) is double y) return Arith(op, x, y);
        string ev = op switch { '+' => "__add", '-' => "__sub", '*' => "__mul", '/' => "__div", '%' => "__mod", '^' => "__pow", _ => "__unm" };
        var tm = Metamethod(a, ev) ?? Metamethod(b, ev);
        if (tm is not null) return First(Call(tm, [a, b], line));
        // luaG_aritherror: names the first operand that is not a number.
        if (AsNumber(a) is null) throw TypeError(a, "perform arithmetic on", whatA, line);
        throw TypeError(b, "perform arithmetic on", whatB, line);
    }

    public static double Arith(char op, double x, double y) => op switch
    {
        '+' => x + y,
        '-' => x - y,
        '*' => x * y,
        '/' => x / y,
        '%' => x - Math.Floor(x / y) * y,
        '^' => Math.Pow(x, y),
        _ => -x,
    };

    public object? Negate(object? a, int line = 0, string? what = null)
    {
        if (AsNumber(a) is double x) return -x;
        if (Metamethod(a, "__unm") is { } tm) return First(Call(tm, [a, a], line));
        throw TypeError(a, "perform arithmetic on", what, line);
    }

    public object? Length(object? v, int line = 0, string? what = null)
    {
        if (v is string s) return (double)s.Length;
        if (v is LuaTable t) return (double)t.Length;
        if (Metamethod(v, "__len") is { } tm) return First(Call(tm, [v], line));
        throw TypeError(v, "get length of", what, line);
    }

    public object? Concat(object? a, object? b, int line = 0, string? whatA = null, string? whatB = null)
    {
        if (AsString(a) is string x && AsString(b) is string y)
        {
            long length = (long)x.Length + y.Length;
            if (length > MaxStringLength) throw RuntimeError("string length overflow", line);
            Charge(length);
            return string.Concat(x, y);
        }
        var tm = Metamethod(a, "__concat") ?? Metamethod(b, "__concat");
        if (tm is not null) return First(Call(tm, [a, b], line));
        bool aOk = a is string or double;
        throw TypeError(aOk ? b : a, "concatenate", aOk ? whatB : whatA, line);
    }

    /// <summary>The longest string a script may build (Redis's proto-max-bulk-len default, 512 MB).</summary>
    public const int MaxStringLength = 512 * 1024 * 1024;

    public static bool RawEquals(object? a, object? b) => a switch
    {
        null => b is null,
        double x => b is double y && x == y,
        string s => b is string t && string.Equals(s, t, StringComparison.Ordinal),
        bool p => b is bool q && p == q,
        _ => ReferenceEquals(a, b),
    };

    public bool ValueEquals(object? a, object? b, int line = 0)
    {
        if (RawEquals(a, b)) return true;
        if (a is not LuaTable ta || b is not LuaTable tb) return false;
        var tm1 = ta.Metatable?.Get("__eq");
        if (tm1 is null) return false;
        var tm2 = tb.Metatable?.Get("__eq");
        if (!RawEquals(tm1, tm2)) return false;
        return Truthy(First(Call(tm1, [a, b], line)));
    }

    public bool LessThan(object? a, object? b, int line = 0)
    {
        if (a is double x && b is double y) return x < y;
        if (a is string s && b is string t) return string.CompareOrdinal(s, t) < 0;
        if (OrderMetamethod(a, b, "__lt") is { } tm) return Truthy(First(Call(tm, [a, b], line)));
        throw OrderError(a, b, line);
    }

    public bool LessEqual(object? a, object? b, int line = 0)
    {
        if (a is double x && b is double y) return x <= y;
        if (a is string s && b is string t) return string.CompareOrdinal(s, t) <= 0;
        if (OrderMetamethod(a, b, "__le") is { } le) return Truthy(First(Call(le, [a, b], line)));
        if (OrderMetamethod(b, a, "__lt") is { } lt) return !Truthy(First(Call(lt, [b, a], line)));
        throw OrderError(a, b, line);
    }

    private object? OrderMetamethod(object? a, object? b, string ev)
    {
        if (TypeName(a) != TypeName(b)) return null;
        var tm1 = Metamethod(a, ev);
        if (tm1 is null) return null;
        return RawEquals(tm1, Metamethod(b, ev)) ? tm1 : null;
    }

    private LuaError OrderError(object? a, object? b, int line)
    {
        string t1 = TypeName(a), t2 = TypeName(b);
        return RuntimeError(t1 == t2 ? $"attempt to compare two {t1} values" : $"attempt to compare {t1} with {t2}", line);
    }
}
