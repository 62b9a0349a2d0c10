using System.Globalization;
using System.Text;
using FluentAssertions;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Conformance;

/// <summary>
/// The Lua interpreter against Redis 7.0.15's Lua 5.1: random scripts sent to real redis-server and to ours by
/// EVAL, every reply byte for byte the same. Each script evaluates random expressions (operators on numbers,
/// numeric strings, booleans, nil and tables; the string, table, math, bit, cjson, cmsgpack and struct functions,
/// with random Lua patterns and format specifications; library functions called by other names or by pcall, whose
/// argument errors name them as the call did; tables built and changed, whose keys pairs, cjson and cmsgpack give
/// in Lua's order), each inside pcall, and returns each value's type and text or
/// its error message; others are random token soup, for the parser's error messages. Odd seeds also run the
/// expressions as a statement list with locals and upvalues.
/// </summary>
public sealed class LuaDifferentialFuzzTests(ServersFixture servers) : IClassFixture<ServersFixture>
{
    public static IEnumerable<object[]> Seeds() => FuzzSeeds.Range(4);

    [ConformanceTheory]
    [MemberData(nameof(Seeds))]
    public void RandomScripts_GetTheSameReplies(int seed)
    {
        using var redis = new RawClient(servers.Redis!.Port);
        using var ours = new RawClient(servers.OursPort);
        var rng = new Random(seed);
        foreach (var c in new[] { redis, ours }) c.Call("EVAL", "math.randomseed(" + seed + ")", "0");
        for (int i = 0; i < 400; i++)
        {
            string script = i % 5 == 4 ? TokenSoup(rng) : Expressions(rng, statements: seed % 2 == 1);
            string[] args = ["EVAL", script, "2", "k1", "k2", Arg(rng), Arg(rng)];
            string expected, actual;
            try
            {
                expected = redis.Call(args);
            }
            catch (TimeoutException)
            {
                // A script that never ends (token soup can make `repeat until ...`): Redis runs it until SCRIPT KILL,
                // ours stops it at busy-reply-threshold (README, Deliberate differences). Neither reply is compared.
                using (var killer = new RawClient(servers.Redis!.Port)) killer.Call("SCRIPT", "KILL").Should().Be("+OK\r\n");
                redis.Read().Should().StartWith("-ERR Script killed by user with SCRIPT KILL", $"seed {seed}, script #{i}: {script}");
                ours.Send(args);
                ours.Read(1, 30_000).Should().StartWith("-ERR Script ran longer than busy-reply-threshold", $"seed {seed}, script #{i}: {script}");
                continue;
            }
            try
            {
                actual = ours.Call(args);
            }
            catch (TimeoutException e)
            {
                throw new TimeoutException($"seed {seed}, script #{i} got no reply from ours: {script}", e);
            }
            actual.Should().Be(expected, $"seed {seed}, script #{i}: {script}");
        }
    }

    private static string Arg(Random rng) => rng.Next(5) switch
    {
        0 => rng.Next(-1000, 1000).ToString(CultureInfo.InvariantCulture),
        1 => "3.25",
        2 => " 0x1A ",
        3 => "hello world",
        _ => "",
    };

    private static readonly string[] Atoms =
    [
        "0", "1", "-1", "2", "3", "7", "10", "255", "1e15", "1e14", "0.1", "2.5", "-0.5", "1/3", "2^53", "1e308", "123456789012345",
        "'10'", "'0x10'", "' 3 '", "'1e2'", "'abc'", "''", "'a b c'", "'hello world'", "'%d'", "'x.y-z'", "'[a]'", "'\\0'",
        "'A\\255'", "'12abc'", "'nan'", "'inf'", "true", "false", "nil", "{}", "{1, 2, 3}", "{a = 1}", "{1, nil, 3}",
        "KEYS[1]", "ARGV[1]", "ARGV[2]", "#ARGV", "s", "n", "t",
    ];

    private const int ScalarAtoms = 36; // the atoms before the first table

    private static readonly string[] BinaryOps = ["+", "-", "*", "/", "%", "^", "..", "==", "~=", "<", "<=", ">", ">=", "and", "or"];

    private static readonly string[] Patterns =
    [
        "'%d+'", "'%a+'", "'(%w+)=(%w+)'", "'^%s*(.-)%s*$'", "'[%a-]'", "'[^a-c]+'", "'%bxy'", "'%f[%w]%w+'", "'()a()'",
        "'.-'", "'a*'", "'a?b'", "'%.'", "'[]]'", "'%'", "'(a'", "'a)'", "'[a'", "'%1'", "'(a)%1'", "'$'", "'^'", "'.'",
        "'%s'", "'%S+'", "'%x%x'", "'[%d%.]+'", "'(%d)(%d)'", "'[a-z]*'", "'%z'", "'%u%l*'", "'%p'",
    ];

    private static readonly string[] Formats =
    [
        "'%d'", "'%5d'", "'%-5d|'", "'%05d'", "'%+d'", "'% d'", "'%x'", "'%X'", "'%#x'", "'%o'", "'%c'", "'%e'", "'%.3e'",
        "'%E'", "'%f'", "'%.2f'", "'%10.4f'", "'%g'", "'%.3g'", "'%G'", "'%#g'", "'%s'", "'%10s'", "'%-10s|'", "'%.2s'",
        "'%q'", "'%%'", "'%i'", "'%u'", "'%5.1s'", "'%y'", "'%'", "'%123d'", "'%.14g'", "'%.17g'",
    ];

    private static readonly string[] StructFormats =
    [
        "'>I2'", "'<i4'", "'b'", "'B'", "'h'", "'H'", "'l'", "'L'", "'T'", "'f'", "'d'", "'>d'", "'c3'", "'c0'", "'s'", "'x'",
        "'!4 b i'", "'!3'", "'i16'", "'i33'", "'z'", "'bhb'", "'>!8 b d'", "'i3'", "''", "'c1c0'", "'b c0'",
    ];

    private static readonly string[] LocalNames = ["f", "rep", "insert", "my_fn"];

    /// <summary>A library function called through a local of another name (or of its own): its errors use that name.</summary>
    private static string LocalCall(Random rng, string arg)
    {
        string name = LocalNames[rng.Next(LocalNames.Length)];
        return $"(function() local {name} = {LibraryFunctions[rng.Next(LibraryFunctions.Length)]} return {name}({arg}) end)()";
    }

    private static readonly string[] LibraryFunctions =
    [
        "string.rep", "string.sub", "string.byte", "string.format", "string.char", "table.concat", "table.insert", "math.floor",
        "math.max", "tonumber", "tostring", "setmetatable", "unpack", "select", "error", "bit.band", "struct.pack", "cjson.encode",
        "string.gfind", "table.foreach",
    ];

    private static readonly string[] Keys =
    [
        "a", "b", "c", "name", "id", "x_y", "key1", "key2", "room:1", "with space", "", "1", "2", "10", "k" , "zz", "nick",
    ];

    private static string Key(Random rng) => rng.Next(3) switch
    {
        0 => $"[{rng.Next(-2, 40)}]",
        1 => $"[{new[] { "2.5", "-0.5", "1e3", "true", "false", "2^31", "0" }[rng.Next(7)]}]",
        _ => $"['{Keys[rng.Next(Keys.Length)]}']",
    };

    /// <summary>A constructor of positional, named and bracketed fields, some nil.</summary>
    private static string TableLiteral(Random rng)
    {
        var fields = new List<string>();
        int n = rng.Next(0, 14);
        for (int i = 0; i < n; i++)
        {
            string value = rng.Next(6) == 0 ? "nil" : rng.Next(2) == 0 ? rng.Next(100).ToString(CultureInfo.InvariantCulture) : $"'v{i}'";
            fields.Add(rng.Next(3) == 0 ? value : $"{Key(rng)} = {value}");
        }
        return "{" + string.Join(", ", fields) + "}";
    }

    /// <summary>A table built, changed (keys set, cleared, appended, in loops) and then walked with pairs: its keys in order.</summary>
    private static string KeyOrder(Random rng)
    {
        var sb = new StringBuilder($"(function() local t = {TableLiteral(rng)} ");
        int steps = rng.Next(0, 6);
        for (int i = 0; i < steps; i++)
        {
            sb.Append(rng.Next(5) switch
            {
                0 => $"t{Key(rng)} = nil ",
                1 => $"t[#t + 1] = {i} ",
                2 => $"for i = 1, {rng.Next(1, 70)} do t[{(rng.Next(2) == 0 ? "i" : "'f' .. i")}] = i end ",
                3 => $"for i = {rng.Next(1, 30)}, 1, -1 do t[i] = nil end ",
                _ => $"t{Key(rng)} = {i} ",
            });
        }
        sb.Append("local r = {} for k, v in pairs(t) do r[#r + 1] = tostring(k) end return table.concat(r, ',') .. '#' .. #t end)()");
        return sb.ToString();
    }

    private static string Expr(Random rng, int depth)
    {
        if (depth > 3 || rng.Next(10) < 3) return Atoms[rng.Next(Atoms.Length)];
        string a() => Expr(rng, depth + 1);
        return rng.Next(44) switch
        {
            < 8 => $"({a()} {BinaryOps[rng.Next(BinaryOps.Length)]} {a()})",
            8 => $"(-{a()})",
            9 => $"(not {a()})",
            10 => $"(#{a()})",
            11 => $"string.format({Formats[rng.Next(Formats.Length)]}, {a()})",
            12 => $"string.sub({a()}, {a()}, {a()})",
            13 => $"string.find({a()}, {Patterns[rng.Next(Patterns.Length)]}{(rng.Next(3) == 0 ? $", {a()}" : "")}{(rng.Next(4) == 0 ? ", true" : "")})",
            14 => $"string.match({a()}, {Patterns[rng.Next(Patterns.Length)]})",
            15 => $"(string.gsub({a()}, {Patterns[rng.Next(Patterns.Length)]}, {(rng.Next(3) switch { 0 => "'<%0>'", 1 => "'%1'", _ => "string.upper" })}))",
            16 => $"string.rep({a()}, {rng.Next(-1, 4)})",
            17 => $"string.byte({a()}, {a()})",
            18 => $"string.char({rng.Next(0, 300)})",
            19 => $"string.upper({a()})",
            20 => $"tonumber({a()}{(rng.Next(3) == 0 ? $", {rng.Next(1, 40)}" : "")})",
            21 => $"tostring({Atoms[rng.Next(ScalarAtoms)]})", // (a table's text is its address, which differs)
            22 => $"math.{new[] { "floor", "ceil", "abs", "sqrt", "fmod", "max", "min", "pow", "modf", "exp", "log", "log10", "frexp" }[rng.Next(13)]}({a()}, {a()})",
            23 => $"table.concat({{{a()}, {a()}, {a()}}}, {a()})",
            24 => $"select({a()}, {a()}, {a()}, {a()})",
            25 => $"bit.{new[] { "band", "bor", "bxor", "lshift", "rshift", "arshift", "tohex", "tobit", "bnot", "rol" }[rng.Next(10)]}({a()}, {a()})",
            26 => $"cjson.encode({a()})",
            27 => $"cjson.decode({new[] { "'[1,2]'", "'{}'", "'\"x\"'", "'1e5'", "'[1,'", "'nul'", "'-0'", "'[true,null]'", "'\"\\\\u0041\"'" }[rng.Next(9)]})",
            28 => $"cmsgpack.pack({a()})",
            29 => $"type({a()})",
            30 => $"(function(...) return select('#', ...) end)({a()}, {a()})",
            31 => $"string.len({a()})",
            32 => $"unpack({{{a()}, {a()}}})",
            33 => $"struct.pack({StructFormats[rng.Next(StructFormats.Length)]}, {a()}, {a()})",
            34 => $"struct.unpack({StructFormats[rng.Next(StructFormats.Length)]}, {a()}{(rng.Next(3) == 0 ? $", {a()}" : "")})",
            35 => $"struct.size({StructFormats[rng.Next(StructFormats.Length)]})",
            // A library function called by another name, or by pcall (from C): its argument errors name it so.
            36 => LocalCall(rng, a()),
            37 => $"select(2, pcall({LibraryFunctions[rng.Next(LibraryFunctions.Length)]}, {a()}))",
            // (Not string.rep: rep(1, 1e14) would run for hours in Redis.)
            38 => $"table.foreachi({{{a()}, {a()}}}, {(rng.Next(2) == 0 ? "function(i, v) return v end" : LibraryFunctions[rng.Next(1, LibraryFunctions.Length)])})",
            39 => $"math.mod({a()}, {a()})",
            // The order pairs, cjson and cmsgpack give a table's keys: Lua 5.1's own layout of its hash part.
            40 => $"cjson.encode({TableLiteral(rng)})",
            41 => KeyOrder(rng),
            42 => $"cmsgpack.pack({TableLiteral(rng)})",
            43 => $"#{TableLiteral(rng)}",
            _ => $"string.reverse({a()})",
        };
    }

    /// <summary>A script that evaluates a few expressions, each in pcall, and returns what each gave as text.</summary>
    private static string Expressions(Random rng, bool statements)
    {
        var sb = new StringBuilder();
        sb.Append("local t = {1, 'two', 3} local s = 'str' local n = 42\n");
        // A table's or function's address differs from one server to the other: it is shown as "addr".
        sb.Append("local function show(ok, v) local text = ok and (type(v) == 'table' and 'table' or type(v) .. ':' .. tostring(v)) or 'E:' .. tostring(v) ");
        sb.Append("return (string.gsub(string.gsub(text, '(%a+): 0[xX]%x+', '%1: addr'), '%x+[xX]0 :', 'rdda ')) end\n");
        sb.Append("local r = {}\n");
        int count = rng.Next(1, 6);
        for (int i = 0; i < count; i++)
        {
            string e = Expr(rng, 0);
            if (statements && rng.Next(2) == 0)
            {
                sb.Append($"do local x = {Atoms[rng.Next(Atoms.Length)]} local f = function() x = {e} return x end r[#r + 1] = show(pcall(f)) end\n");
            }
            else sb.Append($"r[#r + 1] = show(pcall(function() return {e} end))\n");
        }
        sb.Append("return r");
        return sb.ToString();
    }

    private static readonly string[] Tokens =
    [
        "local", "function", "end", "if", "then", "else", "elseif", "for", "in", "do", "while", "repeat", "until", "return",
        "break", "and", "or", "not", "nil", "true", "false", "x", "y", "t", "=", "==", "~=", "<=", ">=", "<", ">", "+", "-",
        "*", "/", "%", "^", "#", "..", "...", "(", ")", "{", "}", "[", "]", ";", ":", ",", ".", "1", "2.5", "0x1f", "'s'",
        "\"q\"", "[[long]]", "--c", "1e", "$", "@", "!", "'open", "[=[", "]]",
    ];

    /// <summary>
    /// Tokens in random order, on one line: nearly always a syntax error, whose text must be Lua's. (One line: the
    /// line of a runtime error inside an expression that spans lines may differ, see README.)
    /// </summary>
    private static string TokenSoup(Random rng)
    {
        var sb = new StringBuilder();
        int n = rng.Next(1, 12);
        for (int i = 0; i < n; i++) sb.Append(Tokens[rng.Next(Tokens.Length)]).Append(rng.Next(4) == 0 ? "" : " ");
        return sb.ToString();
    }
}
