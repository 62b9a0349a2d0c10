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
        BaseLib.Reg(m, "atan2", (L, a) => [Math.Atan2(Args.Number(L, a, 0, "atan2"), Args.Number(L, a, 1, "atan2"))]);
        One(m, "ceil", Math.Ceiling);
        One(m, "cos", Math.Cos);
        One(m, "cosh", Math.Cosh);
        One(m, "deg", x => x * (180.0 / Math.PI));
        One(m, "exp", Math.Exp);
        One(m, "floor", Math.Floor);
        BaseLib.Reg(m, "fmod", (L, a) => [Args.Number(L, a, 0, "fmod") % Args.Number(L, a, 1, "fmod")]); // C's fmod
        BaseLib.Reg(m, "frexp", (L, a) =>
        {
            double x = Args.Number(L, a, 0, "frexp");
            if (x == 0 || !double.IsFinite(x)) return [x, 0.0];
            int e = (int)Math.Floor(Math.Log2(Math.Abs(x))) + 1;
            double mant = x / Math.Pow(2, e);
            if (Math.Abs(mant) >= 1) { mant /= 2; e++; }
            if (Math.Abs(mant) < 0.5) { mant *= 2; e--; }
            return [mant, (double)e];
        });
        BaseLib.Reg(m, "ldexp", (L, a) => [Args.Number(L, a, 0, "ldexp") * Math.Pow(2, Args.Int(L, a, 1, "ldexp"))]);
        BaseLib.Reg(m, "log", (L, a) => [Math.Log(Args.Number(L, a, 0, "log"))]);
        One(m, "log10", Math.Log10);
        BaseLib.Reg(m, "max", (L, a) => [MinMax(L, a, "max", true)]);
        BaseLib.Reg(m, "min", (L, a) => [MinMax(L, a, "min", false)]);
        BaseLib.Reg(m, "modf", (L, a) =>
        {
            double x = Args.Number(L, a, 0, "modf");
            double ip = x >= 0 ? Math.Floor(x) : Math.Ceiling(x);
            return [ip, double.IsInfinity(x) ? 0.0 : x - ip];
        });
        BaseLib.Reg(m, "pow", (L, a) => [Math.Pow(Args.Number(L, a, 0, "pow"), Args.Number(L, a, 1, "pow"))]);
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
