namespace KeyspacePubSub.Lua.Lib;

/// <summary>LuaBitOp 1.0 (lua_bit.c), as Redis ships it: 32-bit operations on numbers.</summary>
internal static class BitLib
{
    public static void Open(LuaState L)
    {
        var b = new LuaTable();
        BaseLib.Reg(b, "tobit", (L, a) => [(double)Bit(L, a, 0, "tobit")]);
        BaseLib.Reg(b, "bnot", (L, a) => [(double)~Bit(L, a, 0, "bnot")]);
        Fold(b, "band", (x, y) => x & y);
        Fold(b, "bor", (x, y) => x | y);
        Fold(b, "bxor", (x, y) => x ^ y);
        Shift(b, "lshift", (x, n) => x << n);
        Shift(b, "rshift", (x, n) => (int)((uint)x >> n));
        Shift(b, "arshift", (x, n) => x >> n);
        Shift(b, "rol", (x, n) => (int)(((uint)x << n) | ((uint)x >> (32 - n))));
        Shift(b, "ror", (x, n) => (int)(((uint)x >> n) | ((uint)x << (32 - n))));
        BaseLib.Reg(b, "bswap", (L, a) =>
        {
            uint x = (uint)Bit(L, a, 0, "bswap");
            return [(double)(int)System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(x)];
        });
        BaseLib.Reg(b, "tohex", ToHex);
        L.Globals["bit"] = b;
    }

    /// <summary>barg: the number's low 32 bits, through the 2^52+2^51 trick (rounding to the nearest integer).</summary>
    private static int Bit(LuaState L, object?[] a, int i, string fn)
    {
        double d = Args.Number(L, a, i, fn) + 6755399441055744.0;
        return (int)(uint)(ulong)BitConverter.DoubleToInt64Bits(d);
    }

    private static void Fold(LuaTable b, string name, Func<int, int, int> op) =>
        BaseLib.Reg(b, name, (L, a) =>
        {
            // As lua_bit.c: the first argument, then the others from the last one down.
            int r = Bit(L, a, 0, name);
            for (int i = a.Length - 1; i >= 1; i--) r = op(r, Bit(L, a, i, name));
            return [(double)r];
        });

    private static void Shift(LuaTable b, string name, Func<int, int, int> op) =>
        BaseLib.Reg(b, name, (L, a) => [(double)op(Bit(L, a, 0, name), Bit(L, a, 1, name) & 31)]);

    private static object?[] ToHex(LuaState L, object?[] a)
    {
        uint x = (uint)Bit(L, a, 0, "tohex");
        int n = a.Length < 2 ? 8 : Bit(L, a, 1, "tohex"); // lua_isnone: an explicit nil is a bad argument
        bool upper = n < 0;
        if (upper) n = -n;
        if (n > 8) n = 8;
        var chars = new char[n];
        for (int i = n - 1; i >= 0; i--)
        {
            int d = (int)(x & 15);
            chars[i] = (char)(d < 10 ? '0' + d : (upper ? 'A' : 'a') + d - 10);
            x >>= 4;
        }
        return [new string(chars)];
    }
}
