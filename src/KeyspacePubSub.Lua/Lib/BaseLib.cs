using System.Text;

namespace KeyspacePubSub.Lua.Lib;

/// <summary>Lua 5.1's base library (lbaselib.c), as far as Redis scripts are given it.</summary>
internal static class BaseLib
{
    public static void Open(LuaState L)
    {
        var g = L.Globals;
        g["_G"] = g;
        g["_VERSION"] = "Lua 5.1";
        Reg(g, "assert", Assert);
        Reg(g, "error", Error);
        Reg(g, "getmetatable", GetMetatable);
        Reg(g, "setmetatable", SetMetatable);
        Reg(g, "ipairs", Ipairs);
        Reg(g, "pairs", Pairs);
        Reg(g, "next", Next);
        Reg(g, "pcall", Pcall);
        Reg(g, "xpcall", Xpcall);
        Reg(g, "rawequal", (L, a) => [LuaState.Bool(LuaState.RawEquals(Args.At(a, 0), Args.At(a, 1)))]);
        Reg(g, "rawget", (L, a) => [Args.Table(L, a, 0, "rawget").Get(Args.At(a, 1))]);
        Reg(g, "rawset", RawSet);
        Reg(g, "select", Select);
        Reg(g, "tonumber", ToNumber);
        Reg(g, "tostring", (L, a) =>
        {
            Args.Any(L, a, 0, "tostring");
            return [L.ToStringMeta(a[0])];
        });
        Reg(g, "type", (L, a) =>
        {
            Args.Any(L, a, 0, "type");
            return [LuaState.TypeName(a[0])];
        });
        Reg(g, "unpack", Unpack);
        Reg(g, "gcinfo", (L, a) => [(double)(GC.GetTotalMemory(false) / 1024)]);
        Reg(g, "collectgarbage", (L, a) => [0.0]);
        Reg(g, "loadstring", LoadString);
        Reg(g, "load", Load);
    }

    public static void Reg(LuaTable t, string name, Func<LuaState, object?[], object?[]> body) => t[name] = new Builtin(name, body);

    private static object?[] Assert(LuaState L, object?[] a)
    {
        if (LuaState.Truthy(Args.At(a, 0))) return a;
        if (a.Length == 0) throw Args.Bad(L, 0, "assert", "value expected");
        throw L.Error(a.Length > 1 ? LuaState.AsString(a[1]) ?? throw Args.TypeError(L, a, 1, "assert", "string") : "assertion failed!");
    }

    private static object?[] Error(LuaState L, object?[] a)
    {
        var v = Args.At(a, 0);
        int level = Args.OptInt(L, a, 1, "error", 1);
        if (v is string or double && level > 0)
        {
            // luaB_error: a string (or a number, which lua_isstring takes for one) is concatenated after the position
            // of the level asked, an empty one when that level has no Lua line (level 1 is error's caller: none when
            // that is a library function), so a number becomes a string either way.
            int line = level == 1 && L.CalledFromLibrary ? 0 : L.LineAt(level);
            v = line > 0 ? $"{L.ChunkName}:{line}: {LuaState.AsString(v)}" : LuaState.AsString(v);
        }
        throw new LuaError(v, L.ErrorLine);
    }

    private static object?[] GetMetatable(LuaState L, object?[] a)
    {
        Args.Any(L, a, 0, "getmetatable");
        var mt = L.GetMetatable(a[0]);
        if (mt is null) return [null];
        return [mt.Get("__metatable") ?? mt];
    }

    private static object?[] SetMetatable(LuaState L, object?[] a)
    {
        var t = Args.Table(L, a, 0, "setmetatable");
        var mt = Args.At(a, 1);
        // luaL_argcheck(t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table expected"): no value is neither.
        if (a.Length < 2 || mt is not null and not LuaTable) throw Args.Bad(L, 1, "setmetatable", "nil or table expected");
        if (t.Metatable?.Get("__metatable") is not null) throw L.Error("cannot change a protected metatable");
        if (t.ReadOnly) throw L.RuntimeError("Attempt to modify a readonly table", LuaState.NoPosition);
        t.Metatable = mt as LuaTable;
        return [t];
    }

    private static readonly Builtin IpairsStep = new("ipairs_aux", (L, a) =>
    {
        double i = Args.Number(L, a, 1, "ipairs") + 1;
        var v = Args.Table(L, a, 0, "ipairs").Get(i);
        return v is null ? LuaState.None : [i, v];
    });

    private static object?[] Ipairs(LuaState L, object?[] a) => [IpairsStep, Args.Table(L, a, 0, "ipairs"), 0.0];

    private static readonly Builtin NextFn = new("next", Next);

    private static object?[] Pairs(LuaState L, object?[] a) => [NextFn, Args.Table(L, a, 0, "pairs"), null];

    private static object?[] Next(LuaState L, object?[] a)
    {
        var t = Args.Table(L, a, 0, "next");
        try
        {
            return t.Next(Args.At(a, 1), out var k, out var v) ? [k, v] : [null];
        }
        catch (LuaError e) when (e.Value is "invalid key to 'next'")
        {
            throw L.RuntimeError("invalid key to 'next'", LuaState.NoPosition); // luaG_runerror inside next, a C function: no position
        }
    }

    private static object?[] Pcall(LuaState L, object?[] a)
    {
        // Redis's pcall (luaRedisPcall) calls its placeholder result when given nothing to call.
        if (a.Length == 0) return [LuaState.False, "attempt to call a boolean value"];
        int depth = L.Depth;
        L.CheckStack();
        var errorFunction = L.ErrorFunction;
        L.ErrorFunction = null; // lua_pcall(..., 0): no error function inside
        try
        {
            var r = L.Call(a[0], a[1..]);
            var all = new object?[r.Length + 1];
            all[0] = LuaState.True;
            r.CopyTo(all, 1);
            return all;
        }
        catch (LuaError e)
        {
            L.UnwindTo(depth);
            return [LuaState.False, .. PcallValues(L, e)];
        }
        finally
        {
            L.ErrorFunction = errorFunction;
        }
    }

    /// <summary>What pcall gives after false for an error: its value (the scripting layer may override, see <see cref="LuaState.PcallErrorValues"/>).</summary>
    private static object?[] PcallValues(LuaState L, LuaError e) => L.PcallErrorValues?.Invoke(e.Value) ?? [e.Value];

    private static object?[] Xpcall(LuaState L, object?[] a)
    {
        Args.Any(L, a, 1, "xpcall");
        int depth = L.Depth;
        L.CheckStack();
        var errorFunction = L.ErrorFunction;
        L.ErrorFunction = a[1];
        try
        {
            var r = L.Call(a[0], []);
            var all = new object?[r.Length + 1];
            all[0] = LuaState.True;
            r.CopyTo(all, 1);
            return all;
        }
        catch (LuaError e)
        {
            L.ErrorFunction = errorFunction;
            var handled = L.Call(a[1], [e.Value]);
            L.UnwindTo(depth);
            return [LuaState.False, LuaState.First(handled)];
        }
        finally
        {
            L.ErrorFunction = errorFunction;
        }
    }

    private static object?[] RawSet(LuaState L, object?[] a)
    {
        var t = Args.Table(L, a, 0, "rawset");
        Args.Any(L, a, 1, "rawset");
        Args.Any(L, a, 2, "rawset");
        if (t.ReadOnly) throw L.RuntimeError("Attempt to modify a readonly table", LuaState.NoPosition);
        L.RawSet(t, a[1], a[2], LuaState.NoPosition);
        return [t];
    }

    private static object?[] Select(LuaState L, object?[] a)
    {
        if (Args.At(a, 0) is string s && s.StartsWith('#')) return [(double)(a.Length - 1)]; // (any string whose first char is '#')
        // luaB_select: n counts the index itself; the values after position i are returned.
        int n = a.Length;
        int i = Args.Int(L, a, 0, "select");
        if (i < 0) i = n + i;
        else if (i > n) i = n;
        if (i < 1) throw Args.Bad(L, 0, "select", "index out of range");
        return i >= n ? LuaState.None : a[i..];
    }

    private static object?[] ToNumber(LuaState L, object?[] a)
    {
        int b = Args.OptInt(L, a, 1, "tonumber", 10);
        var v = Args.At(a, 0);
        if (b == 10)
        {
            Args.Any(L, a, 0, "tonumber");
            return [LuaState.AsNumber(v) is double d ? d : null];
        }
        string s = Args.String(L, a, 0, "tonumber");
        if (b < 2 || b > 36) throw Args.Bad(L, 1, "tonumber", "base out of range");
        // strtoul (unsigned long, 64 bits): white space, a sign, "0x" for base 16, digits; past the maximum it is the
        // maximum, and a '-' negates it unsigned (-1 is 2^64 - 1). The rest must be white space, up to a NUL.
        int nul = s.IndexOf('\0');
        if (nul >= 0) s = s[..nul];
        int p = 0;
        while (p < s.Length && IsSpace(s[p])) p++;
        bool negative = p < s.Length && s[p] == '-';
        if (p < s.Length && s[p] is '-' or '+') p++;
        if (b == 16 && p + 1 < s.Length && s[p] == '0' && (s[p + 1] | 0x20) == 'x' && p + 2 < s.Length && Digit(s[p + 2]) < 16) p += 2;
        int start = p;
        ulong n = 0;
        bool overflow = false;
        for (; p < s.Length; p++)
        {
            int digit = Digit(s[p]);
            if (digit >= b) break;
            ulong next = unchecked(n * (ulong)b + (ulong)digit);
            if (n > (ulong.MaxValue - (ulong)digit) / (ulong)b) overflow = true;
            n = next;
        }
        if (p == start) return [null];
        while (p < s.Length && IsSpace(s[p])) p++;
        if (p < s.Length) return [null];
        if (overflow) n = ulong.MaxValue;
        else if (negative) n = unchecked(0UL - n);
        return [(double)n];
    }

    private static bool IsSpace(char c) => c is ' ' or (>= '\t' and <= '\r');

    private static int Digit(char c) => c is >= '0' and <= '9' ? c - '0' : char.IsAsciiLetter(c) ? (c | 0x20) - 'a' + 10 : 99;

    private static object?[] Unpack(LuaState L, object?[] a)
    {
        var t = Args.Table(L, a, 0, "unpack");
        int i = Args.OptInt(L, a, 1, "unpack", 1);
        int e = Args.At(a, 2) is null ? t.Length : Args.Int(L, a, 2, "unpack");
        if (i > e) return LuaState.None;
        long n = (long)e - i + 1;
        if (n >= 8000) throw L.Error("too many results to unpack");
        var r = new object?[n];
        for (int k = 0; k < n; k++) r[k] = t.Get((double)(i + k));
        return r;
    }

    /// <summary>
    /// load(reader [, chunkname]): the chunk the reader's pieces make (until it gives nil or an empty string),
    /// compiled; nil and the message for a syntax error, or for an error in the reader (which, as lua_load runs
    /// it, goes through the error function in force: Redis's error handler outside any pcall). Unlike Lua, the
    /// pieces are all read before the chunk is compiled.
    /// </summary>
    private static object?[] Load(LuaState L, object?[] a)
    {
        string chunk = Args.At(a, 1) is null ? "=(load)" : Args.String(L, a, 1, "load");
        if (Args.At(a, 0) is not LuaFunction reader) throw Args.TypeError(L, a, 0, "load", "function");
        var code = new StringBuilder();
        while (true)
        {
            object? piece;
            try
            {
                piece = LuaState.First(L.Call(reader, []));
                if (piece is not null and not string and not double) throw L.Error("reader function must return a string");
            }
            catch (LuaError e)
            {
                return [null, L.ErrorFunction is { } handler ? LuaState.First(L.Call(handler, [e.Value])) : e.Value];
            }
            string? text = LuaState.AsString(piece);
            if (string.IsNullOrEmpty(text)) break;
            code.Append(text);
            if (code.Length > LuaState.MaxStringLength) throw L.Error("string length overflow");
            L.Charge(text.Length);
        }
        try
        {
            return [Parser.Compile(code.ToString(), ChunkId(chunk))];
        }
        catch (LuaError e)
        {
            return [null, e.Value];
        }
    }

    private static object?[] LoadString(LuaState L, object?[] a)
    {
        string code = Args.String(L, a, 0, "loadstring");
        string chunk = Args.At(a, 1) is string name ? name : code;
        try
        {
            return [Parser.Compile(code, ChunkId(chunk))];
        }
        catch (LuaError e)
        {
            return [null, e.Value];
        }
    }

    /// <summary>luaO_chunkid for a string chunk: [string "first line..."].</summary>
    private static string ChunkId(string source)
    {
        if (source.StartsWith('=')) return source[1..];
        if (source.StartsWith('@')) return source[1..];
        int nl = source.IndexOfAny(['\n', '\r']);
        string first = nl >= 0 ? source[..nl] : source;
        const int max = 80 - 15;
        bool cut = nl >= 0 || first.Length > max;
        if (first.Length > max) first = first[..max];
        return cut ? $"[string \"{first}...\"]" : $"[string \"{first}\"]";
    }
}
