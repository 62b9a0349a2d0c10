using System.Text;

namespace KeyspacePubSub.Lua.Lib;

/// <summary>Lua 5.1's table library (ltablib.c): concat, insert, remove, sort, getn, maxn, and the deprecated foreach, foreachi and setn.</summary>
internal static class TableLib
{
    public static void Open(LuaState L)
    {
        var t = new LuaTable();
        BaseLib.Reg(t, "concat", Concat);
        BaseLib.Reg(t, "insert", Insert);
        BaseLib.Reg(t, "remove", Remove);
        BaseLib.Reg(t, "sort", Sort);
        BaseLib.Reg(t, "getn", (L, a) => [(double)Args.Table(L, a, 0, "getn").Length]);
        BaseLib.Reg(t, "maxn", MaxN);
        BaseLib.Reg(t, "foreach", ForEach);
        BaseLib.Reg(t, "foreachi", ForEachI);
        BaseLib.Reg(t, "setn", (L, a) =>
        {
            Args.Table(L, a, 0, "setn");
            throw L.Error("'setn' is obsolete");
        });
        L.Globals["table"] = t;
    }

    private static object?[] Concat(LuaState L, object?[] a)
    {
        string sep = Args.At(a, 1) is null ? "" : Args.String(L, a, 1, "concat"); // (checked before the table, as tconcat)
        var t = Args.Table(L, a, 0, "concat");
        int i = Args.OptInt(L, a, 2, "concat", 1);
        int last = Args.At(a, 3) is null ? t.Length : Args.Int(L, a, 3, "concat");
        var b = new StringBuilder();
        for (long k = i; k <= last; k++)
        {
            var v = t.Get((double)k);
            string s = v is string or double ? LuaState.AsString(v)! : throw L.Error($"invalid value ({LuaState.TypeName(v)}) at index {k} in table for 'concat'");
            b.Append(s);
            if (k != last) b.Append(sep);
            if (b.Length > LuaState.MaxStringLength) throw L.Error("string length overflow");
        }
        L.Charge(b.Length);
        return [b.ToString()];
    }

    private static void CheckWritable(LuaState L, LuaTable t)
    {
        if (t.ReadOnly) throw L.RuntimeError("Attempt to modify a readonly table", LuaState.NoPosition);
    }

    private static object?[] Insert(LuaState L, object?[] a)
    {
        var t = Args.Table(L, a, 0, "insert");
        CheckWritable(L, t);
        int e = t.Length + 1;
        int pos;
        switch (a.Length)
        {
            case 2:
                pos = e;
                break;
            case 3:
                pos = Args.Int(L, a, 1, "insert");
                if (pos > e) e = pos;
                for (int i = e; i > pos; i--) t.Set((double)i, t.Get((double)(i - 1)));
                break;
            default:
                throw L.Error("wrong number of arguments to 'insert'");
        }
        L.RawSet(t, (double)pos, a[^1]);
        return LuaState.None;
    }

    private static object?[] Remove(LuaState L, object?[] a)
    {
        var t = Args.Table(L, a, 0, "remove");
        int e = t.Length;
        int pos = Args.OptInt(L, a, 1, "remove", e);
        if (e == 0) return LuaState.None;
        CheckWritable(L, t);
        var v = t.Get((double)pos);
        for (; pos < e; pos++) t.Set((double)pos, t.Get((double)(pos + 1)));
        t.Set((double)e, null);
        return [v];
    }

    /// <summary>foreach(t, f): f(k, v) for each pair until one returns a value other than nil, which is returned.</summary>
    private static object?[] ForEach(LuaState L, object?[] a)
    {
        var t = Args.Table(L, a, 0, "foreach");
        if (Args.At(a, 1) is not LuaFunction) throw Args.TypeError(L, a, 1, "foreach", "function");
        object? k = null;
        while (t.Next(k, out k, out var v))
        {
            var r = LuaState.First(L.Call(a[1], [k, v]));
            if (r is not null) return [r];
        }
        return LuaState.None;
    }

    /// <summary>foreachi(t, f): f(i, t[i]) for i = 1, #t until one returns a value other than nil, which is returned.</summary>
    private static object?[] ForEachI(LuaState L, object?[] a)
    {
        var t = Args.Table(L, a, 0, "foreachi");
        int n = t.Length;
        if (Args.At(a, 1) is not LuaFunction) throw Args.TypeError(L, a, 1, "foreachi", "function");
        for (int i = 1; i <= n; i++)
        {
            var r = LuaState.First(L.Call(a[1], [(double)i, t.Get((double)i)]));
            if (r is not null) return [r];
        }
        return LuaState.None;
    }

    private static object?[] MaxN(LuaState L, object?[] a)
    {
        var t = Args.Table(L, a, 0, "maxn");
        double max = 0;
        object? k = null;
        while (t.Next(k, out k, out _))
        {
            if (k is double d && d > max) max = d;
        }
        return [max];
    }

    private static object?[] Sort(LuaState L, object?[] a)
    {
        var t = Args.Table(L, a, 0, "sort");
        int n = t.Length;
        var cmp = Args.At(a, 1);
        if (cmp is not null and not LuaFunction) throw Args.TypeError(L, a, 1, "sort", "function");
        CheckWritable(L, t);
        var items = new object?[n];
        for (int i = 0; i < n; i++) items[i] = t.Get((double)(i + 1));
        Comparison<object?> less = cmp is LuaFunction f
            ? (x, y) => LuaState.Truthy(LuaState.First(L.Call(f, [x, y]))) ? -1 : LuaState.Truthy(LuaState.First(L.Call(f, [y, x]))) ? 1 : 0
            : (x, y) => L.LessThan(x, y, LuaState.NoPosition) ? -1 : L.LessThan(y, x, LuaState.NoPosition) ? 1 : 0;
        MergeSort(items, less, L);
        for (int i = 0; i < n; i++) t.Set((double)(i + 1), items[i]);
        return LuaState.None;
    }

    /// <summary>A stable merge sort: an inconsistent comparator cannot make it fail (Lua's quicksort raises "invalid order function for sorting").</summary>
    private static void MergeSort(object?[] items, Comparison<object?> less, LuaState L)
    {
        var tmp = new object?[items.Length];
        for (int width = 1; width < items.Length; width *= 2)
        {
            for (int lo = 0; lo < items.Length - width; lo += 2 * width)
            {
                int mid = lo + width, hi = Math.Min(lo + 2 * width, items.Length);
                int i = lo, j = mid, k = lo;
                while (i < mid && j < hi)
                {
                    L.Step();
                    tmp[k++] = less(items[j], items[i]) < 0 ? items[j++] : items[i++];
                }
                while (i < mid) tmp[k++] = items[i++];
                while (j < hi) tmp[k++] = items[j++];
                Array.Copy(tmp, lo, items, lo, hi - lo);
            }
        }
    }
}
