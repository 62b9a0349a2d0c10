using KeyspacePubSub.Lua.Lib;

namespace KeyspacePubSub.Lua;

public sealed partial class LuaState
{
    /// <summary>math.random's generator.</summary>
    public Rand48 Rand48 { get; set; } = new();

    /// <summary>What pcall returns after false in place of an error value (Redis: an error table's "err" text); null: the value itself.</summary>
    public Func<object?, object?[]>? PcallErrorValues { get; set; }

    /// <summary>A state with Lua 5.1's base, string, table and math libraries.</summary>
    public static LuaState Create()
    {
        var L = new LuaState();
        BaseLib.Open(L);
        StringLib.Open(L);
        TableLib.Open(L);
        MathLib.Open(L);
        BitLib.Open(L);
        CjsonLib.Open(L);
        CmsgpackLib.Open(L);
        StructLib.Open(L);
        return L;
    }

    /// <summary>Compiles a chunk; a syntax error is a <see cref="LuaError"/> with <see cref="LuaError.Syntax"/> set.</summary>
    public LuaFunction Load(string source) => Parser.Compile(source, ChunkName);

    /// <summary>Registers a C# function in a table.</summary>
    public static void Register(LuaTable table, string name, Func<LuaState, object?[], object?[]> body) => BaseLib.Reg(table, name, body);
}
