using System.Runtime.CompilerServices;

namespace KeyspacePubSub.Lua;

/// <summary>
/// Lua 5.1's grammar (lparser.c) into a tree the interpreter runs, resolving every name to a local's slot, an
/// upvalue or a global as it goes. Syntax errors carry lparser.c's texts.
/// </summary>
internal sealed class Parser
{
    private sealed class FuncState(FuncState? parent, Proto proto)
    {
        public readonly FuncState? Parent = parent;
        public readonly Proto Proto = proto;
        public readonly List<List<LocalInfo>> Scopes = [[]];
        public readonly List<(string Name, bool FromLocal, int Index)> Upvalues = [];
        public int LoopDepth;
    }

    private const int MaxLevels = 200; // LUAI_MAXCCALLS: "chunk has too many syntax levels"
    private readonly Lexer _lex;
    private FuncState _fs = null!;
    private int _levels;

    private Parser(string source, string chunk) => _lex = new Lexer(source, chunk);

    /// <summary>Compiles a chunk into a function of no parameters that takes "...".</summary>
    public static LuaClosure Compile(string source, string chunk)
    {
        var p = new Parser(source, chunk);
        var proto = new Proto { IsVararg = true };
        p._fs = new FuncState(null, proto);
        p._lex.Next();
        proto.Body = p.ParseBlock();
        if (p._lex.Token != (int)Tok.Eos) throw p._lex.SyntaxError("'<eof>' expected");
        proto.SlotCount = p._fs.Proto.SlotCount;
        return new LuaClosure(proto, []);
    }

    private int T => _lex.Token;

    private void Enter()
    {
        if (++_levels > MaxLevels || !RuntimeHelpers.TryEnsureSufficientExecutionStack()) throw _lex.Error("chunk has too many syntax levels", 0);
    }

    private void Exit() => _levels--;

    private bool TestNext(int token)
    {
        if (T != token) return false;
        _lex.Next();
        return true;
    }

    private void Check(int token)
    {
        if (T != token) throw _lex.SyntaxError($"'{Lexer.TokenText(token)}' expected");
    }

    private void CheckNext(int token)
    {
        Check(token);
        _lex.Next();
    }

    private void CheckMatch(int what, int who, int line)
    {
        if (TestNext(what)) return;
        if (line == _lex.Line) throw _lex.SyntaxError($"'{Lexer.TokenText(what)}' expected");
        throw _lex.SyntaxError($"'{Lexer.TokenText(what)}' expected (to close '{Lexer.TokenText(who)}' at line {line})");
    }

    private string CheckName()
    {
        Check((int)Tok.Name);
        string name = _lex.Text!;
        _lex.Next();
        return name;
    }

    private static bool BlockFollow(int token) => token is (int)Tok.Else or (int)Tok.ElseIf or (int)Tok.End or (int)Tok.Until or (int)Tok.Eos;

    // ---- scopes ----

    private LocalInfo NewLocal(string name) => new(name, _fs.Proto.SlotCount++);

    private void Activate(LocalInfo v) => _fs.Scopes[^1].Add(v);

    private void OpenScope() => _fs.Scopes.Add([]);

    private void CloseScope() => _fs.Scopes.RemoveAt(_fs.Scopes.Count - 1);

    private static LocalInfo? FindLocal(FuncState fs, string name)
    {
        for (int s = fs.Scopes.Count - 1; s >= 0; s--)
        {
            var scope = fs.Scopes[s];
            for (int i = scope.Count - 1; i >= 0; i--)
            {
                if (scope[i].Name == name) return scope[i];
            }
        }
        return null;
    }

    /// <summary>The upvalue index of <paramref name="name"/> in <paramref name="fs"/>, or -1 when it is a global.</summary>
    private static int FindUpvalue(FuncState fs, string name)
    {
        for (int i = 0; i < fs.Upvalues.Count; i++)
        {
            if (fs.Upvalues[i].Name == name) return i;
        }
        if (fs.Parent is null) return -1;
        if (FindLocal(fs.Parent, name) is { } local)
        {
            local.Captured = true;
            fs.Upvalues.Add((name, true, local.Slot));
            return fs.Upvalues.Count - 1;
        }
        int up = FindUpvalue(fs.Parent, name);
        if (up < 0) return -1;
        fs.Upvalues.Add((name, false, up));
        return fs.Upvalues.Count - 1;
    }

    private Expr Resolve(string name, int line)
    {
        if (FindLocal(_fs, name) is { } local) return new LocalExpr(local) { Line = line };
        int up = FindUpvalue(_fs, name);
        return up >= 0 ? new UpvalExpr(up, name) { Line = line } : new GlobalExpr(name) { Line = line };
    }

    // ---- statements ----

    private Block ParseBlock()
    {
        Enter();
        var body = new List<Stat>();
        while (!BlockFollow(T))
        {
            if (T == (int)Tok.Return)
            {
                body.Add(ReturnStatement());
                break;
            }
            if (T == (int)Tok.Break)
            {
                int line = _lex.Line;
                _lex.Next();
                if (_fs.LoopDepth == 0) throw _lex.Error("no loop to break", T);
                body.Add(new BreakStat { Line = line });
                TestNext(';');
                break;
            }
            body.Add(Statement());
            TestNext(';');
        }
        Exit();
        return new Block([.. body]);
    }

    private Block ScopedBlock()
    {
        OpenScope();
        var b = ParseBlock();
        CloseScope();
        return b;
    }

    private Block LoopBlock()
    {
        _fs.LoopDepth++;
        var b = ScopedBlock();
        _fs.LoopDepth--;
        return b;
    }

    private Stat ReturnStatement()
    {
        int line = _lex.Line;
        _lex.Next();
        Expr[] exprs = BlockFollow(T) || T == ';' ? [] : ExprListParse();
        TestNext(';');
        // `return f(x)` is a tail call (not `return (f(x))`): Lua replaces the caller's frame (see LuaState.LineAt).
        if (exprs is [CallExpr call]) call.IsTailCall = true;
        return new ReturnStat(exprs) { Line = line };
    }

    private Stat Statement()
    {
        int line = _lex.Line;
        switch (T)
        {
            case (int)Tok.If: return IfStatement(line);
            case (int)Tok.While:
            {
                _lex.Next();
                var cond = Expression();
                CheckNext((int)Tok.Do);
                var body = LoopBlock();
                CheckMatch((int)Tok.End, (int)Tok.While, line);
                return new WhileStat(cond, body) { Line = line };
            }
            case (int)Tok.Do:
            {
                _lex.Next();
                var body = ScopedBlock();
                CheckMatch((int)Tok.End, (int)Tok.Do, line);
                return new DoStat(body) { Line = line };
            }
            case (int)Tok.For: return ForStatement(line);
            case (int)Tok.Repeat:
            {
                _lex.Next();
                _fs.LoopDepth++;
                OpenScope();
                var body = ParseBlock();
                CheckMatch((int)Tok.Until, (int)Tok.Repeat, line);
                var cond = Expression(); // sees the block's locals
                CloseScope();
                _fs.LoopDepth--;
                return new RepeatStat(body, cond) { Line = line };
            }
            case (int)Tok.Function:
            {
                _lex.Next();
                int nameLine = _lex.Line;
                Expr target = Resolve(CheckName(), nameLine);
                bool method = false;
                while (T == '.' || T == ':')
                {
                    method = T == ':';
                    _lex.Next();
                    var key = new ConstExpr(CheckName());
                    target = new IndexExpr(target, key) { Line = _lex.Line };
                    if (method) break;
                }
                var fn = FunctionBody(method, line);
                return new AssignStat([target], [fn]) { Line = line };
            }
            case (int)Tok.Local:
                _lex.Next();
                if (TestNext((int)Tok.Function))
                {
                    var v = NewLocal(CheckName());
                    Activate(v);
                    return new LocalFunctionStat(v, FunctionBody(false, line)) { Line = line };
                }
                return LocalStatement(line);
            default:
                return ExprStatement(line);
        }
    }

    private Stat IfStatement(int line)
    {
        var conds = new List<Expr>();
        var blocks = new List<Block>();
        Block? otherwise = null;
        _lex.Next();
        conds.Add(Expression());
        CheckNext((int)Tok.Then);
        blocks.Add(ScopedBlock());
        while (T == (int)Tok.ElseIf)
        {
            _lex.Next();
            conds.Add(Expression());
            CheckNext((int)Tok.Then);
            blocks.Add(ScopedBlock());
        }
        if (TestNext((int)Tok.Else)) otherwise = ScopedBlock();
        CheckMatch((int)Tok.End, (int)Tok.If, line);
        return new IfStat([.. conds], [.. blocks], otherwise) { Line = line };
    }

    private Stat ForStatement(int line)
    {
        _lex.Next();
        string first = CheckName();
        if (T == '=')
        {
            _lex.Next();
            var start = Expression();
            CheckNext(',');
            var limit = Expression();
            Expr? step = TestNext(',') ? Expression() : null;
            CheckNext((int)Tok.Do);
            OpenScope();
            var v = NewLocal(first);
            Activate(v);
            var body = LoopBlock();
            CloseScope();
            CheckMatch((int)Tok.End, (int)Tok.For, line);
            return new NumForStat(v, start, limit, step, body) { Line = line };
        }
        if (T == ',' || T == (int)Tok.In)
        {
            var names = new List<string> { first };
            while (TestNext(',')) names.Add(CheckName());
            CheckNext((int)Tok.In);
            var exprs = ExprListParse();
            CheckNext((int)Tok.Do);
            OpenScope();
            var vars = names.Select(NewLocal).ToArray();
            foreach (var v in vars) Activate(v);
            var body = LoopBlock();
            CloseScope();
            CheckMatch((int)Tok.End, (int)Tok.For, line);
            return new GenForStat(vars, exprs, body) { Line = line };
        }
        throw _lex.SyntaxError("'=' or 'in' expected");
    }

    private Stat LocalStatement(int line)
    {
        var names = new List<string>();
        do names.Add(CheckName());
        while (TestNext(','));
        Expr[] exprs = TestNext('=') ? ExprListParse() : [];
        var vars = names.Select(NewLocal).ToArray();
        foreach (var v in vars) Activate(v); // after the values: "local x = x" reads the outer x
        return new LocalStat(vars, exprs) { Line = line };
    }

    private Stat ExprStatement(int line)
    {
        var e = SuffixedExpression();
        if (e is CallExpr call) return new CallStat(call) { Line = line };
        // As lparser.c's assignment: every target must be assignable, then ',' more or '='.
        var targets = new List<Expr> { e };
        while (true)
        {
            if (targets[^1] is not (LocalExpr or UpvalExpr or GlobalExpr or IndexExpr)) throw _lex.SyntaxError("syntax error");
            if (!TestNext(',')) break;
            targets.Add(SuffixedExpression());
        }
        CheckNext('=');
        var exprs = ExprListParse();
        // The store is coded once the values are read: its line is that of their last token (ls->lastline).
        return new AssignStat([.. targets], exprs) { Line = _lex.LastLine };
    }

    // ---- expressions ----

    private Expr[] ExprListParse()
    {
        var list = new List<Expr> { Expression() };
        while (TestNext(',')) list.Add(Expression());
        return [.. list];
    }

    private FunctionExpr FunctionBody(bool method, int line)
    {
        var proto = new Proto { LineDefined = line };
        var fs = new FuncState(_fs, proto);
        _fs = fs;
        var ps = new List<LocalInfo>();
        if (method) ps.Add(NewLocal("self"));
        CheckNext('(');
        if (T != ')')
        {
            do
            {
                if (T == (int)Tok.Name) ps.Add(NewLocal(CheckName()));
                else if (T == (int)Tok.Dots)
                {
                    _lex.Next();
                    proto.IsVararg = true;
                }
                else throw _lex.SyntaxError("<name> or '...' expected");
            }
            while (!proto.IsVararg && TestNext(','));
        }
        foreach (var p in ps) Activate(p);
        CheckNext(')');
        proto.Params = [.. ps];
        proto.Body = ParseBlock();
        CheckMatch((int)Tok.End, (int)Tok.Function, line);
        proto.Upvalues = fs.Upvalues.Select(u => (u.FromLocal, u.Index)).ToArray();
        _fs = fs.Parent!;
        return new FunctionExpr(proto) { Line = line };
    }

    private Expr PrimaryExpression()
    {
        int line = _lex.Line;
        switch (T)
        {
            case (int)Tok.Name:
                return Resolve(CheckName(), line);
            case '(':
            {
                _lex.Next();
                var e = Expression();
                CheckMatch(')', '(', line);
                // Parentheses only cut a call's or "..."'s values to one: a constant stays one (and folds).
                return e is ConstExpr ? e : new ParenExpr(e) { Line = line };
            }
            default:
                throw _lex.SyntaxError("unexpected symbol");
        }
    }

    private Expr SuffixedExpression()
    {
        int line = _lex.Line;
        var e = PrimaryExpression();
        while (true)
        {
            switch (T)
            {
                case '.':
                    _lex.Next();
                    e = new IndexExpr(e, new ConstExpr(CheckName())) { Line = _lex.Line };
                    break;
                case '[':
                {
                    _lex.Next();
                    var key = Expression();
                    CheckNext(']');
                    e = new IndexExpr(e, key) { Line = _lex.Line };
                    break;
                }
                case ':':
                {
                    _lex.Next();
                    string name = CheckName();
                    e = new CallExpr(e, name, CallArgs(line)) { Line = line };
                    break;
                }
                case '(':
                case (int)Tok.String:
                case '{':
                    e = new CallExpr(e, null, CallArgs(line)) { Line = line };
                    break;
                default:
                    return e;
            }
        }
    }

    private Expr[] CallArgs(int line)
    {
        switch (T)
        {
            case (int)Tok.String:
            {
                var s = new ConstExpr(_lex.Text) { Line = _lex.Line };
                _lex.Next();
                return [s];
            }
            case '{':
                return [TableConstructor()];
            case '(':
            {
                if (line != _lex.Line) throw _lex.SyntaxError("ambiguous syntax (function call x new statement)");
                _lex.Next();
                Expr[] args = T == ')' ? [] : ExprListParse();
                CheckMatch(')', '(', line);
                return args;
            }
            default:
                throw _lex.SyntaxError("function arguments expected");
        }
    }

    private Expr TableConstructor()
    {
        int line = _lex.Line;
        CheckNext('{');
        var fields = new List<(Expr? Key, Expr Value)>(); // in source order; a positional item has no key
        while (T != '}')
        {
            if (T == (int)Tok.Name && _lex.Lookahead() == '=')
            {
                var key = new ConstExpr(CheckName());
                CheckNext('=');
                fields.Add((key, Expression()));
            }
            else if (T == '[')
            {
                _lex.Next();
                var key = Expression();
                CheckNext(']');
                CheckNext('=');
                fields.Add((key, Expression()));
            }
            else fields.Add((null, Expression()));
            if (!TestNext(',') && !TestNext(';')) break;
        }
        CheckMatch('}', '{', line);
        return new TableExpr(fields) { Line = line };
    }

    private Expr SimpleExpression()
    {
        int line = _lex.Line;
        switch (T)
        {
            case (int)Tok.Number:
            {
                var e = new ConstExpr(_lex.Num) { Line = line };
                _lex.Next();
                return e;
            }
            case (int)Tok.String:
            {
                var e = new ConstExpr(_lex.Text) { Line = line };
                _lex.Next();
                return e;
            }
            case (int)Tok.Nil:
                _lex.Next();
                return new ConstExpr(null) { Line = line };
            case (int)Tok.True:
                _lex.Next();
                return new ConstExpr(LuaState.True) { Line = line };
            case (int)Tok.False:
                _lex.Next();
                return new ConstExpr(LuaState.False) { Line = line };
            case (int)Tok.Dots:
                if (!_fs.Proto.IsVararg) throw _lex.SyntaxError("cannot use '...' outside a vararg function");
                _lex.Next();
                return new VarargExpr { Line = line };
            case '{':
                return TableConstructor();
            case (int)Tok.Function:
                _lex.Next();
                return FunctionBody(false, line);
            default:
                return SuffixedExpression();
        }
    }

    private static (int Left, int Right) Priority(int op) => op switch
    {
        '+' or '-' => (6, 6),
        '*' or '/' or '%' => (7, 7),
        '^' => (10, 9),
        (int)Tok.Concat => (5, 4),
        (int)Tok.Eq or (int)Tok.Ne or '<' or (int)Tok.Le or '>' or (int)Tok.Ge => (3, 3),
        (int)Tok.And => (2, 2),
        (int)Tok.Or => (1, 1),
        _ => (-1, -1),
    };

    private const int UnaryPriority = 8;

    private Expr Expression() => SubExpression(0);

    private Expr SubExpression(int limit)
    {
        Enter();
        Expr e;
        int line = _lex.Line;
        if (T is (int)Tok.Not or '-' or '#')
        {
            int op = T;
            _lex.Next();
            var operand = SubExpression(UnaryPriority);
            e = op switch
            {
                (int)Tok.Not => new NotExpr(operand) { Line = line },
                '-' => operand is ConstExpr { Value: double d } ? new ConstExpr(-d) { Line = line } : new NegExpr(operand) { Line = line },
                _ => new LenExpr(operand) { Line = line },
            };
        }
        else e = SimpleExpression();
        while (true)
        {
            int op = T;
            var (left, right) = Priority(op);
            if (left <= limit) break;
            int opLine = _lex.Line;
            _lex.Next();
            var rhs = SubExpression(right);
            e = op switch
            {
                (int)Tok.And => new AndExpr(e, rhs),
                (int)Tok.Or => new OrExpr(e, rhs),
                (int)Tok.Concat => new ConcatExpr(e, rhs),
                '+' or '-' or '*' or '/' or '%' or '^' => Fold((char)op, e, rhs),
                _ => new CompareExpr(op, e, rhs),
            };
            e.Line = op is (int)Tok.And or (int)Tok.Or ? opLine : _lex.LastLine; // coded after the right operand
        }
        Exit();
        return e;
    }

    private static Expr Fold(char op, Expr a, Expr b)
    {
        // As lcode.c's constfolding: numbers known at compile time (not a division or modulo by 0).
        if (a is ConstExpr { Value: double x } && b is ConstExpr { Value: double y } && !((op == '/' || op == '%') && y == 0))
        {
            double r = LuaState.Arith(op, x, y);
            if (!double.IsNaN(r)) return new ConstExpr(r);
        }
        return new ArithExpr(op, a, b);
    }
}
