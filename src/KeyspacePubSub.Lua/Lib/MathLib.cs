namespace KeyspacePubSub.Lua.Lib;

/// <summary>Lua 5.1's math library (lmathlib.c), with Redis's random and randomseed (rand48, seeded per script run).</summary>
internal static class MathLib
{
    public static void Open(LuaState L)
    {
        var m = new LuaTable();
        One(m, "abs", Math.Abs);
        One(m, "acos", Math.Acos);
        One(m, "asin", Math.Asin);
        One(m, "atan", Math.Atan);
        Two(m, "atan2", Math.Atan2);
        One(m, "ceil", Math.Ceiling);
        One(m, "cos", Math.Cos);
        One(m, "cosh", Math.Cosh);
        One(m, "deg", x => x * (180.0 / Math.PI));
        One(m, "exp", Math.Exp);
        One(m, "floor", Math.Floor);
        Two(m, "fmod", static (x, y) => x % y); // C's fmod
        m["mod"] = m["fmod"]; // LUA_COMPAT_MOD
        BaseLib.Reg(m, "frexp", (L, a) =>
        {
            // C's frexp, exactly: the exponent field read from the bits (subnormals scaled up first).
            double x = Args.Number(L, a, 0, "frexp");
            if (x == 0 || !double.IsFinite(x)) return [x, 0.0];
            int shift = 0;
            if (Math.Abs(x) < double.Epsilon * (1L << 52))
            {
                x *= 18014398509481984.0; // 2^54
                shift = 54;
            }
            long bits = BitConverter.DoubleToInt64Bits(x);
            int e = (int)((bits >> 52) & 0x7FF) - 1022 - shift;
            double mant = BitConverter.Int64BitsToDouble((bits & ~(0x7FFL << 52)) | (1022L << 52));
            return [mant, (double)e];
        });
        BaseLib.Reg(m, "ldexp", (L, a) =>
        {
            int e = Args.Int(L, a, 1, "ldexp"); // (the second argument is checked first, as GCC evaluates lmathlib's call)
            return [Args.Number(L, a, 0, "ldexp") * Math.Pow(2, e)];
        });
        BaseLib.Reg(m, "log", (L, a) =>
        {
            double x = Args.Number(L, a, 0, "log");
            return [x < 0 ? -LuaNumber.PositiveNaN : Math.Log(x)]; // glibc's log of a negative number is -nan
        });
        One(m, "log10", Math.Log10);
        BaseLib.Reg(m, "max", (L, a) => [MinMax(L, a, "max", true)]);
        BaseLib.Reg(m, "min", (L, a) => [MinMax(L, a, "min", false)]);
        BaseLib.Reg(m, "modf", (L, a) =>
        {
            double x = Args.Number(L, a, 0, "modf");
            double ip = x >= 0 ? Math.Floor(x) : Math.Ceiling(x);
            double fp = double.IsInfinity(x) ? 0.0 : x - ip;
            return [ip, double.IsNaN(fp) ? fp : double.CopySign(fp, x)]; // C's modf: the fraction has x's sign (-0 for -100)
        });
        Two(m, "pow", Math.Pow);
        One(m, "rad", x => x * (Math.PI / 180.0));
        One(m, "sin", Math.Sin);
        One(m, "sinh", Math.Sinh);
        One(m, "sqrt", Math.Sqrt);
        One(m, "tan", Math.Tan);
        One(m, "tanh", Math.Tanh);
        m["pi"] = Math.PI;
        m["huge"] = double.PositiveInfinity;
        BaseLib.Reg(m, "random", Random);
        BaseLib.Reg(m, "randomseed", (L, a) =>
        {
            L.Rand48.Seed(Args.Int(L, a, 0, "randomseed"));
            return LuaState.None;
        });
        L.Globals["math"] = m;
    }

    private static void One(LuaTable m, string name, Func<double, double> f) => BaseLib.Reg(m, name, (L, a) => [f(Args.Number(L, a, 0, name))]);

    /// <summary>
    /// A function of two numbers: lmathlib checks them inside one C call's arguments, which GCC evaluates right to
    /// left, so a bad second argument is reported before a bad first one.
    /// </summary>
    private static void Two(LuaTable m, string name, Func<double, double, double> f) => BaseLib.Reg(m, name, (L, a) =>
    {
        double y = Args.Number(L, a, 1, name);
        return [f(Args.Number(L, a, 0, name), y)];
    });

    private static double MinMax(LuaState L, object?[] a, string fn, bool max)
    {
        double r = Args.Number(L, a, 0, fn);
        for (int i = 1; i < a.Length; i++)
        {
            double d = Args.Number(L, a, i, fn);
            if (max ? d > r : d < r) r = d;
        }
        return r;
    }

    /// <summary>Redis's redis_math_random: Lua's own, over redisLrand48.</summary>
    private static object?[] Random(LuaState L, object?[] a)
    {
        const int Max = int.MaxValue; // REDIS_LRAND48_MAX
        double r = (double)(L.Rand48.Next() % Max) / Max;
        switch (a.Length)
        {
            case 0:
                return [r];
            case 1:
            {
                int u = Args.Int(L, a, 0, "random");
                if (u < 1) throw Args.Bad(L, 0, "random", "interval is empty");
                return [Math.Floor(r * u) + 1];
            }
            case 2:
            {
                int l = Args.Int(L, a, 0, "random"), u = Args.Int(L, a, 1, "random");
                if (l > u) throw Args.Bad(L, 1, "random", "interval is empty");
                return [Math.Floor(r * (u - l + 1)) + l];
            }
            default:
                throw L.Error("wrong number of arguments");
        }
    }
}
