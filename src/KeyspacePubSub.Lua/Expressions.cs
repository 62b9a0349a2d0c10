namespace KeyspacePubSub.Lua;

/// <summary>A local variable as the parser resolved it: its slot in the frame, and whether a closure captures it (then the slot holds a <see cref="Box"/>).</summary>
internal sealed class LocalInfo(string name, int slot)
{
    public readonly string Name = name;
    public readonly int Slot = slot;
    public bool Captured;
}

/// <summary>An expression; <see cref="EvalMulti"/> gives every value of a call or "..." (one value otherwise).</summary>
internal abstract class Expr
{
    public int Line;

    public abstract object? Eval(LuaState L, Frame f);

    public virtual object?[] EvalMulti(LuaState L, Frame f) => [Eval(L, f)];

    /// <summary>Whether the expression can give several values (a call or "...").</summary>
    public virtual bool IsMulti => false;

    /// <summary>How an error names the value ("global 'x'", "local 'x'", "field 'x'"), as getobjname; null: unnamed.</summary>
    public virtual string? What => null;

    /// <summary>
    /// lcode.c compiles the expression to a constant that is always true (a number, a string, true), with at most
    /// jumps pending: `and` after it tests nothing (luaK_goiftrue), so its right operand's load is what names it.
    /// </summary>
    public virtual bool CompilesTrueConstant => false;

    /// <summary>As <see cref="CompilesTrueConstant"/>, for a constant that is always false (nil, false) before `or`.</summary>
    public virtual bool CompilesFalseConstant => false;
}

internal sealed class ConstExpr(object? value) : Expr
{
    public readonly object? Value = value;

    public override bool CompilesTrueConstant => Value is double or string or true;

    public override bool CompilesFalseConstant => Value is null or false;

    public override object? Eval(LuaState L, Frame f) => Value;
}

internal sealed class VarargExpr : Expr
{
    public override object? Eval(LuaState L, Frame f) => f.Varargs.Length > 0 ? f.Varargs[0] : null;

    public override object?[] EvalMulti(LuaState L, Frame f) => f.Varargs;

    public override bool IsMulti => true;
}

internal sealed class LocalExpr(LocalInfo info) : Expr
{
    public readonly LocalInfo Info = info;

    public override object? Eval(LuaState L, Frame f)
    {
        var v = f.Slots[Info.Slot];
        return Info.Captured ? ((Box)v!).Value : v;
    }

    public void Assign(Frame f, object? value)
    {
        if (Info.Captured) ((Box)f.Slots[Info.Slot]!).Value = value;
        else f.Slots[Info.Slot] = value;
    }

    public override string What => $"local '{Info.Name}'";
}

internal sealed class UpvalExpr(int index, string name) : Expr
{
    public readonly int Index = index;

    public override object? Eval(LuaState L, Frame f) => f.Closure.Upvalues[Index].Value;

    public override string What => $"upvalue '{name}'";
}

internal sealed class GlobalExpr(string name) : Expr
{
    public readonly string Name = name;

    public override object? Eval(LuaState L, Frame f)
    {
        var v = L.Globals.Get(Name);
        return v is not null || L.Globals.Metatable is null ? v : L.Index(L.Globals, Name, Line);
    }

    public override string What => $"global '{Name}'";
}

internal sealed class IndexExpr(Expr obj, Expr key) : Expr
{
    public readonly Expr Obj = obj, Key = key;

    public override object? Eval(LuaState L, Frame f)
    {
        var o = Obj.Eval(L, f);
        var k = Key.Eval(L, f);
        if (o is LuaTable t && t.Get(k) is { } v) return v;
        return L.Index(o, k, Line, Obj.What);
    }

    /// <summary>As getobjname's OP_GETTABLE: the key's name when it is a string constant, else '?'.</summary>
    public override string? What => Key is ConstExpr { Value: string s } ? $"field '{s}'" : "field '?'";
}

internal sealed class ParenExpr(Expr inner) : Expr
{
    public override object? Eval(LuaState L, Frame f) => inner.Eval(L, f);

    /// <summary>Parentheses make no code: the value is still in the register its expression loaded.</summary>
    public override string? What => inner.What;

    public override bool CompilesTrueConstant => inner.CompilesTrueConstant;

    public override bool CompilesFalseConstant => inner.CompilesFalseConstant;
}

internal sealed class AndExpr(Expr a, Expr b) : Expr
{
    /// <summary>
    /// After a constant that is always true (lcode.c's luaK_goiftrue does nothing for it), the value is the right
    /// operand's, in the register it loaded (getobjname names it); otherwise a test set it, and nothing is named.
    /// </summary>
    public override string? What => a.CompilesTrueConstant ? b.What : null;

    /// <summary>luaK_posfix's `and`: the expression becomes its right operand (with the left's false jumps).</summary>
    public override bool CompilesFalseConstant => b.CompilesFalseConstant;

    public override object? Eval(LuaState L, Frame f)
    {
        var x = a.Eval(L, f);
        return LuaState.Truthy(x) ? b.Eval(L, f) : x;
    }
}

internal sealed class OrExpr(Expr a, Expr b) : Expr
{
    /// <summary>As <see cref="AndExpr.What"/>, after a constant that is always false.</summary>
    public override string? What => a.CompilesFalseConstant ? b.What : null;

    /// <summary>luaK_posfix's `or`: the expression becomes its right operand (with the left's true jumps).</summary>
    public override bool CompilesTrueConstant => b.CompilesTrueConstant;

    public override object? Eval(LuaState L, Frame f)
    {
        var x = a.Eval(L, f);
        return LuaState.Truthy(x) ? x : b.Eval(L, f);
    }
}

internal sealed class NotExpr(Expr a) : Expr
{
    public override object? Eval(LuaState L, Frame f) => LuaState.Bool(!LuaState.Truthy(a.Eval(L, f)));
}

internal sealed class NegExpr(Expr a) : Expr
{
    public override object? Eval(LuaState L, Frame f)
    {
        var v = a.Eval(L, f);
        return v is double d ? -d : L.Negate(v, Line, a.What);
    }
}

internal sealed class LenExpr(Expr a) : Expr
{
    public override object? Eval(LuaState L, Frame f) => L.Length(a.Eval(L, f), Line, a.What);
}

internal sealed class ArithExpr(char op, Expr a, Expr b) : Expr
{
    public override object? Eval(LuaState L, Frame f)
    {
        var x = a.Eval(L, f);
        var y = b.Eval(L, f);
        if (x is double p && y is double q) return LuaState.Arith(op, p, q);
        return L.Arith(op, x, y, Line, a.What, b.What);
    }
}

internal sealed class ConcatExpr(Expr a, Expr b) : Expr
{
    public override object? Eval(LuaState L, Frame f)
    {
        var x = a.Eval(L, f);
        var y = b.Eval(L, f);
        return L.Concat(x, y, Line, a.What, b.What);
    }
}

internal sealed class CompareExpr(int op, Expr a, Expr b) : Expr
{
    public override object? Eval(LuaState L, Frame f)
    {
        var x = a.Eval(L, f);
        var y = b.Eval(L, f);
        bool r = op switch
        {
            (int)Tok.Eq => L.ValueEquals(x, y, Line),
            (int)Tok.Ne => !L.ValueEquals(x, y, Line),
            '<' => L.LessThan(x, y, Line),
            (int)Tok.Le => L.LessEqual(x, y, Line),
            '>' => L.LessThan(y, x, Line),
            _ => L.LessEqual(y, x, Line),
        };
        return LuaState.Bool(r);
    }
}

internal sealed class FunctionExpr(Proto proto) : Expr
{
    public readonly Proto Proto = proto;

    public override object? Eval(LuaState L, Frame f)
    {
        var ups = new Box[Proto.Upvalues.Length];
        for (int i = 0; i < ups.Length; i++)
        {
            var u = Proto.Upvalues[i];
            ups[i] = u.FromLocal ? (Box)f.Slots[u.Index]! : f.Closure.Upvalues[u.Index];
        }
        return new LuaClosure(Proto, ups);
    }
}

internal sealed class TableExpr : Expr
{
    private const int FieldsPerFlush = 50; // LFIELDS_PER_FLUSH

    private readonly (Expr? Key, Expr Value)[] _fields;
    private readonly int _arraySize, _hashSize; // OP_NEWTABLE's sizes, as the "floating point bytes" it encodes them in
    private readonly bool _multiLast; // the last field is a positional call or ...: all its values are stored

    public TableExpr(List<(Expr? Key, Expr Value)> fields)
    {
        _fields = [.. fields];
        int positional = fields.Count(x => x.Key is null), keyed = fields.Count - positional;
        _multiLast = fields.Count > 0 && fields[^1].Key is null && fields[^1].Value.IsMulti;
        if (_multiLast) positional--;
        _arraySize = FloatingByte(positional);
        _hashSize = FloatingByte(keyed);
    }

    /// <summary>luaO_fb2int(luaO_int2fb(x)): x rounded up to what a "floating point byte" holds.</summary>
    private static int FloatingByte(int x)
    {
        int e = 0;
        uint u = (uint)x;
        while (u >= 16)
        {
            u = (u + 1) >> 1;
            e++;
        }
        return (int)(u << e); // (below 16 exactly x; above, the rounded mantissa shifted back)
    }

    public override object? Eval(LuaState L, Frame f)
    {
        // As the code Lua 5.1 compiles a constructor into: OP_NEWTABLE presized, the fields in source order, a keyed
        // one set at once, the positional ones stored by OP_SETLIST every 50 and at the end (from the last down).
        var t = new LuaTable(_arraySize, _hashSize);
        var pending = new List<object?>();
        int stored = 0; // positional items stored so far
        for (int i = 0; i < _fields.Length; i++)
        {
            var (key, value) = _fields[i];
            if (pending.Count == FieldsPerFlush) Flush(t, pending, ref stored);
            if (key is null)
            {
                if (i == _fields.Length - 1 && _multiLast) pending.AddRange(value.EvalMulti(L, f));
                else pending.Add(value.Eval(L, f));
                continue;
            }
            var k = key.Eval(L, f);
            var v = value.Eval(L, f);
            L.RawSet(t, k, v, Line);
        }
        if (pending.Count > 0) Flush(t, pending, ref stored);
        return t;
    }

    /// <summary>OP_SETLIST: the array part grown to hold the items if it must, then the items stored from the last.</summary>
    private static void Flush(LuaTable t, List<object?> items, ref int stored)
    {
        int last = stored + items.Count;
        if (last > t.ArraySize) t.ResizeArray(last);
        for (int n = items.Count - 1; n >= 0; n--) t.Set((double)(stored + n + 1), items[n]);
        stored = last;
        items.Clear();
    }
}

/// <summary>A call; <c>obj:name(args)</c> when <see cref="Method"/> is set.</summary>
internal sealed class CallExpr(Expr fn, string? method, Expr[] args) : Expr
{
    public readonly Expr Fn = fn;
    public readonly string? Method = method;
    public readonly Expr[] Args = args;

    /// <summary>The whole expression of a return statement: a Lua function it calls replaces the caller's frame.</summary>
    public bool IsTailCall;

    public override object? Eval(LuaState L, Frame f)
    {
        var r = EvalMulti(L, f);
        return r.Length > 0 ? r[0] : null;
    }

    public override bool IsMulti => true;

    public override object?[] EvalMulti(LuaState L, Frame f)
    {
        object? fn;
        object?[] args;
        string? what;
        if (Method != null)
        {
            var self = Fn.Eval(L, f);
            fn = self is LuaTable t && t.Get(Method) is { } m ? m : L.Index(self, Method, Line, Fn.What);
            args = Evaluate(L, f, self);
            what = $"method '{Method}'";
        }
        else
        {
            fn = Fn.Eval(L, f);
            args = Evaluate(L, f, null);
            what = Fn.What;
        }
        f.Line = Line;
        if (fn is Builtin b)
        {
            L.NextCallSite = what ?? "";
            return b.Call(L, args);
        }
        if (IsTailCall && fn is LuaClosure) L.NextCallIsTail = true;
        return fn is LuaFunction lf ? lf.Call(L, args) : L.Call(fn, args, Line, what);
    }

    private object?[] Evaluate(LuaState L, Frame f, object? self)
    {
        int extra = Method != null ? 1 : 0;
        if (Args.Length == 0) return extra == 0 ? LuaState.None : [self];
        var last = Args[^1];
        if (!last.IsMulti)
        {
            var a = new object?[Args.Length + extra];
            if (extra == 1) a[0] = self;
            for (int i = 0; i < Args.Length; i++) a[i + extra] = Args[i].Eval(L, f);
            return a;
        }
        var first = new object?[Args.Length - 1 + extra];
        if (extra == 1) first[0] = self;
        for (int i = 0; i < Args.Length - 1; i++) first[i + extra] = Args[i].Eval(L, f);
        var rest = last.EvalMulti(L, f);
        if (first.Length == 0) return rest;
        var all = new object?[first.Length + rest.Length];
        first.CopyTo(all, 0);
        rest.CopyTo(all, first.Length);
        return all;
    }
}
