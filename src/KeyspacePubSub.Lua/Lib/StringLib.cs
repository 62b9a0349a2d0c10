using System.Text;

namespace KeyspacePubSub.Lua.Lib;

/// <summary>Lua 5.1's string library (lstrlib.c). Strings hold one byte per char (0-255).</summary>
internal static class StringLib
{
    public static void Open(LuaState L)
    {
        var s = new LuaTable();
        BaseLib.Reg(s, "byte", Byte);
        BaseLib.Reg(s, "char", Char);
        BaseLib.Reg(s, "dump", (L, a) =>
        {
            // Lua 5.1's header of a binary chunk only: no binary chunk loads (Redis's loadstring parses text only).
            if (Args.At(a, 0) is not LuaFunction f) throw Args.TypeError(L, a, 0, "dump", "function");
            if (f.IsBuiltin) throw L.Error("unable to dump given function");
            return ["\x1bLuaQ\0\x01\x04\x08\x04\x08\0"];
        });
        BaseLib.Reg(s, "find", (L, a) => Find(L, a, true));
        BaseLib.Reg(s, "format", (L, a) => [StringFormat.Format(L, a)]);
        BaseLib.Reg(s, "gmatch", Gmatch);
        s["gfind"] = s["gmatch"]; // LUA_COMPAT_GFIND
        BaseLib.Reg(s, "gsub", Gsub);
        BaseLib.Reg(s, "len", (L, a) => [(double)Args.String(L, a, 0, "len").Length]);
        BaseLib.Reg(s, "lower", (L, a) => [MapAscii(Args.String(L, a, 0, "lower"), false)]);
        BaseLib.Reg(s, "upper", (L, a) => [MapAscii(Args.String(L, a, 0, "upper"), true)]);
        BaseLib.Reg(s, "match", (L, a) => Find(L, a, false));
        BaseLib.Reg(s, "rep", Rep);
        BaseLib.Reg(s, "reverse", (L, a) =>
        {
            var chars = Args.String(L, a, 0, "reverse").ToCharArray();
            Array.Reverse(chars);
            return [new string(chars)];
        });
        BaseLib.Reg(s, "sub", Sub);
        L.Globals["string"] = s;
        L.StringMetatable = new LuaTable { ["__index"] = s };
    }

    private static string MapAscii(string s, bool upper)
    {
        var chars = s.ToCharArray();
        for (int i = 0; i < chars.Length; i++)
        {
            char c = chars[i];
            if (upper && c is >= 'a' and <= 'z') chars[i] = (char)(c - 32);
            else if (!upper && c is >= 'A' and <= 'Z') chars[i] = (char)(c + 32);
        }
        return new string(chars);
    }

    /// <summary>posrelat: a negative position counts from the end.</summary>
    private static long Relative(long pos, int len) => pos >= 0 ? pos : Math.Max(0, len + pos + 1);

    private static object?[] Sub(LuaState L, object?[] a)
    {
        string s = Args.String(L, a, 0, "sub");
        long start = Relative(Args.Integer(L, a, 1, "sub"), s.Length);
        long end = Relative(Args.OptInteger(L, a, 2, "sub", -1), s.Length);
        if (start < 1) start = 1;
        if (end > s.Length) end = s.Length;
        return [start <= end ? s.Substring((int)start - 1, (int)(end - start + 1)) : ""];
    }

    private static object?[] Byte(LuaState L, object?[] a)
    {
        string s = Args.String(L, a, 0, "byte");
        long i = Relative(Args.OptInteger(L, a, 1, "byte", 1), s.Length);
        long j = Relative(Args.OptInteger(L, a, 2, "byte", i), s.Length);
        if (i <= 0) i = 1;
        if (j > s.Length) j = s.Length;
        if (i > j) return LuaState.None;
        var r = new object?[j - i + 1];
        for (long k = 0; k < r.Length; k++) r[k] = (double)s[(int)(i - 1 + k)];
        return r;
    }

    private static object?[] Char(LuaState L, object?[] a)
    {
        var sb = new StringBuilder(a.Length);
        for (int i = 0; i < a.Length; i++)
        {
            int c = Args.Int(L, a, i, "char");
            if (c is < 0 or > 255) throw Args.Bad(L, i, "char", "invalid value");
            sb.Append((char)c);
        }
        return [sb.ToString()];
    }

    private static object?[] Rep(LuaState L, object?[] a)
    {
        string s = Args.String(L, a, 0, "rep");
        int n = Args.Int(L, a, 1, "rep");
        if (n <= 0 || s.Length == 0) return [""];
        long length = (long)s.Length * n;
        if (length > LuaState.MaxStringLength) throw L.Error("string length overflow");
        L.Charge(length);
        return [string.Create((int)length, s, static (span, piece) =>
        {
            // The piece, then the filled part doubled until the end.
            piece.AsSpan().CopyTo(span);
            for (int filled = piece.Length; filled < span.Length; filled *= 2)
                span[..Math.Min(filled, span.Length - filled)].CopyTo(span[filled..]);
        })];
    }

    /// <summary>lstrlib.c's SPECIALS ("^$*+?.([%-"): a pattern without them is found as plain text.</summary>
    private static bool NoSpecials(string p) => p.IndexOfAny(['^', '$', '*', '+', '?', '.', '(', '[', '%', '-']) < 0;

    private static object?[] Find(LuaState L, object?[] a, bool find)
    {
        string fn = find ? "find" : "match";
        string s = Args.String(L, a, 0, fn);
        string p = Args.String(L, a, 1, fn);
        long init = Relative(Args.OptInteger(L, a, 2, fn, 1), s.Length) - 1;
        if (init < 0) init = 0;
        else if (init > s.Length) init = s.Length;
        if (find && (LuaState.Truthy(Args.At(a, 3)) || NoSpecials(p)))
        {
            int at = s.IndexOf(p, (int)init, StringComparison.Ordinal);
            return at >= 0 ? [(double)(at + 1), (double)(at + p.Length)] : [null];
        }
        var m = new LuaPattern(L, s, p);
        bool anchor = p.Length > 0 && p[0] == '^';
        int pstart = anchor ? 1 : 0;
        int s1 = (int)init;
        do
        {
            L.Step();
            int e = m.MatchAt(s1, pstart);
            if (e >= 0)
            {
                if (!find) return m.Captures(s1, e, true);
                var caps = m.Captures(s1, e, false);
                var r = new object?[2 + caps.Length];
                r[0] = (double)(s1 + 1);
                r[1] = (double)e;
                caps.CopyTo(r, 2);
                return r;
            }
        }
        while (s1++ < s.Length && !anchor);
        return [null];
    }

    private static object?[] Gmatch(LuaState L, object?[] a)
    {
        string s = Args.String(L, a, 0, "gmatch");
        string p = Args.String(L, a, 1, "gmatch");
        int pos = 0;
        var iterator = new Builtin("gmatch_aux", (L2, _) =>
        {
            var m = new LuaPattern(L2, s, p);
            for (int src = pos; src <= s.Length; src++)
            {
                L2.Step();
                int e = m.MatchAt(src, 0);
                if (e >= 0)
                {
                    pos = e == src ? e + 1 : e; // an empty match moves on one
                    return m.Captures(src, e, true);
                }
            }
            pos = s.Length + 1;
            return [null];
        });
        return [iterator];
    }

    private static object?[] Gsub(LuaState L, object?[] a)
    {
        string src = Args.String(L, a, 0, "gsub");
        string p = Args.String(L, a, 1, "gsub");
        var repl = Args.At(a, 2);
        if (repl is not (double or string or LuaTable or LuaFunction)) throw Args.TypeError(L, a, 2, "gsub", "string/function/table");
        int maxN = Args.OptInt(L, a, 3, "gsub", src.Length + 1);
        bool anchor = p.Length > 0 && p[0] == '^';
        int pstart = anchor ? 1 : 0;
        var m = new LuaPattern(L, src, p);
        var b = new StringBuilder();
        int s = 0, n = 0;
        while (n < maxN)
        {
            L.Step();
            int e = m.MatchAt(s, pstart);
            if (e >= 0)
            {
                n++;
                AddValue(L, m, b, src, s, e, repl);
            }
            if (e >= 0 && e > s) s = e;
            else if (s < src.Length) b.Append(src[s++]);
            else break;
            if (anchor) break;
        }
        b.Append(src, s, src.Length - s);
        L.Charge(b.Length);
        return [b.ToString(), (double)n];
    }

    private static void AddValue(LuaState L, LuaPattern m, StringBuilder b, string src, int s, int e, object? repl)
    {
        object? value;
        switch (repl)
        {
            case LuaFunction f:
                value = LuaState.First(L.Call(f, m.Captures(s, e, true)));
                break;
            case LuaTable t:
                value = L.Index(t, m.Capture(0, s, e));
                break;
            default:
            {
                string r = LuaState.AsString(repl)!;
                for (int i = 0; i < r.Length; i++)
                {
                    if (b.Length > LuaState.MaxStringLength) throw L.Error("string length overflow");
                    if (r[i] != '%') b.Append(r[i]);
                    else if (++i < r.Length && char.IsAsciiDigit(r[i]))
                    {
                        if (r[i] == '0') b.Append(src, s, e - s);
                        else b.Append(LuaState.AsString(m.Capture(r[i] - '1', s, e)));
                    }
                    else if (i < r.Length) b.Append(r[i]);
                }
                return;
            }
        }
        if (!LuaState.Truthy(value))
        {
            b.Append(src, s, e - s); // false or nil: the original text
            return;
        }
        b.Append(LuaState.AsString(value) ?? throw L.Error($"invalid replacement value (a {LuaState.TypeName(value)})"));
    }
}
