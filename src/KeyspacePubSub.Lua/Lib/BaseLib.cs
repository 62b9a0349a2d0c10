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
            // luaB_error: a string (or a number, which lua_isstring takes for one) gets the position of the level asked.
            int line = L.LineAt(level);
            if (line > 0) v = $"{L.ChunkName}:{line}: {LuaState.AsString(v)}";
        }
        throw new LuaError(v, L.CurrentLine);
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
        if (mt is not null and not LuaTable) throw Args.TypeError(L, a, 1, "setmetatable", "nil or table");
        if (a.Length < 2) throw Args.TypeError(L, a, 1, "setmetatable", "nil or table");
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
            throw L.Error("invalid key to 'next'");
        }
    }

    private static object?[] Pcall(LuaState L, object?[] a)
    {
        Args.Any(L, a, 0, "pcall");
        int depth = L.Depth;
        L.CheckStack();
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
            return [LuaState.False, PcallValue(L, e)];
        }
    }

    /// <summary>What pcall gives for an error: its value (the scripting layer may override, see <see cref="LuaState.PcallErrorValue"/>).</summary>
    private static object? PcallValue(LuaState L, LuaError e) => L.PcallErrorValue?.Invoke(e.Value) ?? e.Value;

    private static object?[] Xpcall(LuaState L, object?[] a)
    {
        Args.Any(L, a, 1, "xpcall");
        int depth = L.Depth;
        L.CheckStack();
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
            var handled = L.Call(a[1], [e.Value]);
            L.UnwindTo(depth);
            return [LuaState.False, LuaState.First(handled)];
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
        if (Args.At(a, 0) is "#") return [(double)(a.Length - 1)];
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
