namespace KeyspacePubSub.Lua;

internal enum Signal { Normal, Break, Return }

internal abstract class Stat
{
    public int Line;

    public abstract Signal Exec(LuaState L, Frame f);
}

internal sealed class Block(Stat[] body)
{
    public readonly Stat[] Body = body;

    public Signal Exec(LuaState L, Frame f)
    {
        foreach (var s in Body)
        {
            f.Line = s.Line;
            var sig = s.Exec(L, f);
            if (sig != Signal.Normal) return sig;
        }
        return Signal.Normal;
    }
}

internal static class ExprList
{
    /// <summary>The values of an expression list, the last one expanded when it is a call or "...".</summary>
    public static object?[] Values(LuaState L, Frame f, Expr[] exprs)
    {
        if (exprs.Length == 0) return LuaState.None;
        if (exprs.Length == 1) return exprs[0].IsMulti ? exprs[0].EvalMulti(L, f) : [exprs[0].Eval(L, f)];
        var last = exprs[^1];
        if (!last.IsMulti)
        {
            var r = new object?[exprs.Length];
            for (int i = 0; i < exprs.Length; i++) r[i] = exprs[i].Eval(L, f);
            return r;
        }
        var head = new object?[exprs.Length - 1];
        for (int i = 0; i < head.Length; i++) head[i] = exprs[i].Eval(L, f);
        var tail = last.EvalMulti(L, f);
        var all = new object?[head.Length + tail.Length];
        head.CopyTo(all, 0);
        tail.CopyTo(all, head.Length);
        return all;
    }
}

internal sealed class LocalStat(LocalInfo[] vars, Expr[] exprs) : Stat
{
    public override Signal Exec(LuaState L, Frame f)
    {
        if (vars.Length == 1 && exprs.Length == 1 && !exprs[0].IsMulti)
        {
            Declare(f, vars[0], exprs[0].Eval(L, f));
            return Signal.Normal;
        }
        var values = ExprList.Values(L, f, exprs);
        for (int i = 0; i < vars.Length; i++) Declare(f, vars[i], i < values.Length ? values[i] : null);
        return Signal.Normal;
    }

    public static void Declare(Frame f, LocalInfo v, object? value) => f.Slots[v.Slot] = v.Captured ? new Box(value) : value;
}

internal sealed class LocalFunctionStat(LocalInfo v, FunctionExpr fn) : Stat
{
    public override Signal Exec(LuaState L, Frame f)
    {
        LocalStat.Declare(f, v, null); // declared first: the function sees itself
        var closure = fn.Eval(L, f);
        if (v.Captured) ((Box)f.Slots[v.Slot]!).Value = closure;
        else f.Slots[v.Slot] = closure;
        return Signal.Normal;
    }
}

internal sealed class AssignStat(Expr[] targets, Expr[] exprs) : Stat
{
    public override Signal Exec(LuaState L, Frame f)
    {
        if (targets.Length == 1 && exprs.Length == 1)
        {
            var t = targets[0];
            if (t is IndexExpr ix)
            {
                var o = ix.Obj.Eval(L, f);
                var k = ix.Key.Eval(L, f);
                Store(L, f, t, o, k, exprs[0].Eval(L, f));
            }
            else Store(L, f, t, null, null, exprs[0].Eval(L, f));
            return Signal.Normal;
        }
        // Lua evaluates the targets' tables and keys, then the values, then assigns.
        var objs = new object?[targets.Length];
        var keys = new object?[targets.Length];
        for (int i = 0; i < targets.Length; i++)
        {
            if (targets[i] is IndexExpr ix)
            {
                objs[i] = ix.Obj.Eval(L, f);
                keys[i] = ix.Key.Eval(L, f);
            }
        }
        var values = ExprList.Values(L, f, exprs);
        for (int i = targets.Length - 1; i >= 0; i--) Store(L, f, targets[i], objs[i], keys[i], i < values.Length ? values[i] : null);
        return Signal.Normal;
    }

    private void Store(LuaState L, Frame f, Expr target, object? obj, object? key, object? value)
    {
        switch (target)
        {
            case LocalExpr local:
                local.Assign(f, value);
                break;
            case UpvalExpr up:
                f.Closure.Upvalues[up.Index].Value = value;
                break;
            case GlobalExpr g:
                L.SetIndex(L.Globals, g.Name, value, Line);
                break;
            case IndexExpr ix:
                L.SetIndex(obj, key, value, Line, ix.Obj.What);
                break;
        }
    }
}

internal sealed class CallStat(CallExpr call) : Stat
{
    public override Signal Exec(LuaState L, Frame f)
    {
        call.EvalMulti(L, f);
        return Signal.Normal;
    }
}

internal sealed class DoStat(Block body) : Stat
{
    public override Signal Exec(LuaState L, Frame f) => body.Exec(L, f);
}

internal sealed class WhileStat(Expr cond, Block body) : Stat
{
    public override Signal Exec(LuaState L, Frame f)
    {
        while (LuaState.Truthy(cond.Eval(L, f)))
        {
            L.Step();
            var sig = body.Exec(L, f);
            if (sig == Signal.Break) break;
            if (sig == Signal.Return) return sig;
        }
        return Signal.Normal;
    }
}

internal sealed class RepeatStat(Block body, Expr cond) : Stat
{
    public override Signal Exec(LuaState L, Frame f)
    {
        while (true)
        {
            L.Step();
            var sig = body.Exec(L, f);
            if (sig == Signal.Break) break;
            if (sig == Signal.Return) return sig;
            if (LuaState.Truthy(cond.Eval(L, f))) break;
        }
        return Signal.Normal;
    }
}

internal sealed class IfStat(Expr[] conds, Block[] blocks, Block? otherwise) : Stat
{
    public override Signal Exec(LuaState L, Frame f)
    {
        for (int i = 0; i < conds.Length; i++)
        {
            if (LuaState.Truthy(conds[i].Eval(L, f))) return blocks[i].Exec(L, f);
        }
        return otherwise?.Exec(L, f) ?? Signal.Normal;
    }
}

internal sealed class NumForStat(LocalInfo v, Expr start, Expr limit, Expr? step, Block body) : Stat
{
    public override Signal Exec(LuaState L, Frame f)
    {
        double i = ForNumber(L, start.Eval(L, f), "initial value");
        double end = ForNumber(L, limit.Eval(L, f), "limit");
        double by = step is null ? 1 : ForNumber(L, step.Eval(L, f), "step");
        for (; by > 0 ? i <= end : i >= end; i += by)
        {
            L.Step();
            LocalStat.Declare(f, v, i);
            var sig = body.Exec(L, f);
            if (sig == Signal.Break) break;
            if (sig == Signal.Return) return sig;
        }
        return Signal.Normal;
    }

    private double ForNumber(LuaState L, object? v, string what) =>
        LuaState.AsNumber(v) ?? throw L.RuntimeError($"'for' {what} must be a number", Line);
}

internal sealed class GenForStat(LocalInfo[] vars, Expr[] exprs, Block body) : Stat
{
    public override Signal Exec(LuaState L, Frame f)
    {
        var init = ExprList.Values(L, f, exprs);
        object? fn = init.Length > 0 ? init[0] : null, state = init.Length > 1 ? init[1] : null, control = init.Length > 2 ? init[2] : null;
        while (true)
        {
            L.Step();
            if (fn is Builtin) L.NextCallSite = "local '(for generator)'"; // getobjname: the loop's hidden local
            var r = fn is LuaFunction lf ? lf.Call(L, [state, control]) : L.Call(fn, [state, control], Line);
            var first = r.Length > 0 ? r[0] : null;
            if (first is null) break;
            control = first;
            for (int i = 0; i < vars.Length; i++) LocalStat.Declare(f, vars[i], i < r.Length ? r[i] : null);
            f.Line = Line;
            var sig = body.Exec(L, f);
            if (sig == Signal.Break) break;
            if (sig == Signal.Return) return sig;
        }
        return Signal.Normal;
    }
}

internal sealed class ReturnStat(Expr[] exprs) : Stat
{
    public override Signal Exec(LuaState L, Frame f)
    {
        f.Returned = ExprList.Values(L, f, exprs);
        return Signal.Return;
    }
}

internal sealed class BreakStat : Stat
{
    public override Signal Exec(LuaState L, Frame f) => Signal.Break;
}

/// <summary>A compiled function: its parameters, locals' count, upvalues and body.</summary>
internal sealed class Proto
{
    public LocalInfo[] Params = [];
    public bool IsVararg;
    public int SlotCount;
    public (bool FromLocal, int Index)[] Upvalues = [];
    public Block Body = new([]);
    public int LineDefined;
}

/// <summary>A Lua function with its upvalues.</summary>
internal sealed class LuaClosure(Proto proto, Box[] upvalues) : LuaFunction
{
    public readonly Proto Proto = proto;
    public readonly Box[] Upvalues = upvalues;

    public override bool IsBuiltin => false;

    public override object?[] Call(LuaState state, object?[] args)
    {
        var f = state.Enter(this, Proto.SlotCount);
        bool running = state.RunningBuiltin;
        state.RunningBuiltin = false;
        try
        {
            var ps = Proto.Params;
            for (int i = 0; i < ps.Length; i++) LocalStat.Declare(f, ps[i], i < args.Length ? args[i] : null);
            if (Proto.IsVararg && args.Length > ps.Length) f.Varargs = args[ps.Length..];
            Proto.Body.Exec(state, f);
            return f.Returned ?? LuaState.None;
        }
        finally
        {
            state.RunningBuiltin = running;
            state.Leave();
        }
    }
}
