using System.Text;

namespace KeyspacePubSub.Lua.Lib;

/// <summary>
/// Roberto Ierusalimschy's struct library as Redis ships it (deps/lua/src/lua_struct.c): struct.pack, unpack and
/// size, built for x86-64 Linux as redis-server is: long and size_t of 8 bytes, int 4, short 2, little-endian by
/// default, alignment at most 8. Strings hold bytes as Latin-1 chars.
/// </summary>
internal static class StructLib
{
    private const int MaxIntSize = 32, MaxAlign = 8;

    public static void Open(LuaState L)
    {
        var t = new LuaTable();
        BaseLib.Reg(t, "pack", Pack);
        BaseLib.Reg(t, "unpack", Unpack);
        BaseLib.Reg(t, "size", Size);
        L.Globals["struct"] = t;
    }

    /// <summary>The format being read: the position in it, the byte order and the maximum alignment in force.</summary>
    private sealed class Format(string text)
    {
        public readonly string Text = text.IndexOf('\0') is var nul and >= 0 ? text[..nul] : text; // a C string
        public int Pos;
        public bool Little = true;
        public int Align = 1;

        public bool More => Pos < Text.Length;

        public char Next() => Text[Pos++];
    }

    /// <summary>getnum: the digits that follow, or the default.</summary>
    private static int GetNum(LuaState L, Format f, int def)
    {
        if (!f.More || !char.IsAsciiDigit(f.Text[f.Pos])) return def;
        int a = 0;
        do
        {
            int d = f.Text[f.Pos] - '0';
            if (a > int.MaxValue / 10 || a * 10 > int.MaxValue - d) throw L.Error("integral size overflow");
            a = a * 10 + d;
            f.Pos++;
        } while (f.More && char.IsAsciiDigit(f.Text[f.Pos]));
        return a;
    }

    /// <summary>optsize: the size of an option's value (0 for the ones that need no alignment).</summary>
    private static int OptSize(LuaState L, char opt, Format f)
    {
        switch (opt)
        {
            case 'B' or 'b': return 1;
            case 'H' or 'h': return 2;
            case 'L' or 'l' or 'T': return 8;
            case 'f': return 4;
            case 'd': return 8;
            case 'x': return 1;
            case 'c': return GetNum(L, f, 1);
            case 'i' or 'I':
            {
                int sz = GetNum(L, f, 4);
                if (sz > MaxIntSize) throw L.Error($"integral size {sz} is larger than limit of {MaxIntSize}");
                return sz;
            }
            default: return 0;
        }
    }

    /// <summary>gettoalign: the padding before a value of <paramref name="size"/> bytes at <paramref name="len"/>.</summary>
    private static int ToAlign(ulong len, Format f, char opt, int size)
    {
        if (size == 0 || opt == 'c') return 0;
        if (size > f.Align) size = f.Align;
        return (int)(((ulong)size - (len & (ulong)(size - 1))) & (ulong)(size - 1));
    }

    /// <summary>controloptions: spaces, byte order and alignment; anything else is an invalid option.</summary>
    private static void Control(LuaState L, object?[] a, char opt, Format f, string fn)
    {
        switch (opt)
        {
            case ' ':
                return;
            case '>':
                f.Little = false;
                return;
            case '<':
                f.Little = true;
                return;
            case '!':
            {
                int n = GetNum(L, f, MaxAlign);
                if (n <= 0 || (n & (n - 1)) != 0) throw L.Error($"alignment {n} is not a power of 2");
                f.Align = n;
                return;
            }
            default:
                throw Args.Bad(L, 0, fn, $"invalid format option '{opt}'");
        }
    }

    private static object?[] Pack(LuaState L, object?[] a)
    {
        var f = new Format(Args.String(L, a, 0, "pack"));
        a = [.. a, null]; // b_pack pushes a nil (a mark) after its arguments: a missing one just past them is that nil
        int arg = 1;
        var b = new StringBuilder();
        ulong total = 0;
        while (f.More)
        {
            char opt = f.Next();
            int size = OptSize(L, opt, f);
            int pad = ToAlign(total, f, opt, size);
            total += (ulong)pad;
            b.Append('\0', pad);
            switch (opt)
            {
                case 'b' or 'B' or 'h' or 'H' or 'l' or 'L' or 'T' or 'i' or 'I':
                    PutInteger(b, Args.Number(L, a, arg++, "pack"), f.Little, size);
                    break;
                case 'x':
                    b.Append('\0');
                    break;
                case 'f':
                {
                    var bytes = BitConverter.GetBytes((float)Args.Number(L, a, arg++, "pack"));
                    if (!f.Little) Array.Reverse(bytes);
                    foreach (byte x in bytes) b.Append((char)x);
                    break;
                }
                case 'd':
                {
                    var bytes = BitConverter.GetBytes(Args.Number(L, a, arg++, "pack"));
                    if (!f.Little) Array.Reverse(bytes);
                    foreach (byte x in bytes) b.Append((char)x);
                    break;
                }
                case 'c' or 's':
                {
                    string s = Args.String(L, a, arg++, "pack");
                    if (size == 0) size = s.Length;
                    // luaL_argcheck names the argument after the string (arg was moved past it).
                    if (s.Length < size) throw Args.Bad(L, arg, "pack", "string too short");
                    b.Append(s, 0, size);
                    if (opt == 's')
                    {
                        b.Append('\0');
                        size++;
                    }
                    break;
                }
                default:
                    Control(L, a, opt, f, "pack");
                    break;
            }
            total += (ulong)size;
            if (b.Length > LuaState.MaxStringLength) throw L.Error("string length overflow");
        }
        L.Charge(b.Length);
        return [b.ToString()];
    }

    /// <summary>putinteger: a number as a C long (negative) or unsigned long, in <paramref name="size"/> bytes.</summary>
    private static void PutInteger(StringBuilder b, double n, bool little, int size)
    {
        ulong value = n < 0 ? (ulong)LuaNumber.ToInteger(n) : ToUInt64(n);
        Span<char> buff = stackalloc char[MaxIntSize];
        for (int i = 0; i < size; i++)
        {
            buff[little ? i : size - 1 - i] = (char)(value & 0xff);
            value >>= 8; // (a long has 8 bytes: the ones past them are 0)
        }
        b.Append(buff[..size]);
    }

    /// <summary>C's (unsigned long) of a double on x86-64 as gcc compiles it (past 2^64 and NaN as that code gives).</summary>
    private static ulong ToUInt64(double n)
    {
        const double TwoTo63 = 9223372036854775808.0;
        if (n >= TwoTo63) return (ulong)LuaNumber.ToInteger(n - TwoTo63) ^ 0x8000000000000000UL;
        return (ulong)LuaNumber.ToInteger(n);
    }

    /// <summary>getinteger: <paramref name="size"/> bytes as an unsigned or a sign-extended C long.</summary>
    private static double GetInteger(string data, int pos, bool little, bool signed, int size)
    {
        ulong l = 0;
        for (int i = 0; i < size; i++)
        {
            l <<= 8;
            l |= (byte)data[pos + (little ? size - 1 - i : i)];
        }
        if (!signed) return l;
        ulong mask = ulong.MaxValue << (size * 8 - 1); // (C's shift on x86-64: the count taken mod 64)
        if ((l & mask) != 0) l |= mask;
        return (long)l;
    }

    private static object?[] Unpack(LuaState L, object?[] a)
    {
        var f = new Format(Args.String(L, a, 0, "unpack"));
        string data = Args.String(L, a, 1, "unpack");
        ulong ld = (ulong)data.Length;
        ulong pos = (ulong)Args.OptInteger(L, a, 2, "unpack", 1); // a size_t: a negative offset is a huge one
        if (pos == 0) throw Args.Bad(L, 2, "unpack", "offset must be 1 or greater");
        pos--;
        var results = new List<object?>();
        while (f.More)
        {
            char opt = f.Next();
            ulong size = (ulong)OptSize(L, opt, f);
            pos += (ulong)ToAlign(pos, f, opt, (int)size);
            if (!(size <= ld && pos <= ld - size)) throw Args.Bad(L, 1, "unpack", "data string too short");
            // luaL_checkstack(L, 2, ...): the arguments, the results so far and two more within LUAI_MAXCSTACK.
            if (a.Length + results.Count + 2 > 8000) throw L.Error("stack overflow (too many results)");
            switch (opt)
            {
                case 'b' or 'B' or 'h' or 'H' or 'l' or 'L' or 'T' or 'i' or 'I':
                    results.Add(GetInteger(data, (int)pos, f.Little, char.IsAsciiLetterLower(opt), (int)size));
                    break;
                case 'x':
                    break;
                case 'f':
                {
                    var bytes = new byte[4];
                    for (int i = 0; i < 4; i++) bytes[i] = (byte)data[(int)pos + i];
                    if (!f.Little) Array.Reverse(bytes);
                    results.Add((double)BitConverter.ToSingle(bytes));
                    break;
                }
                case 'd':
                {
                    var bytes = new byte[8];
                    for (int i = 0; i < 8; i++) bytes[i] = (byte)data[(int)pos + i];
                    if (!f.Little) Array.Reverse(bytes);
                    results.Add(BitConverter.ToDouble(bytes));
                    break;
                }
                case 'c':
                {
                    if (size == 0)
                    {
                        // The previous result, a number (or a string that is one), is the length.
                        if (results.Count == 0 || LuaState.AsNumber(results[^1]) is not double previous) throw L.Error("format 'c0' needs a previous size");
                        size = ToUInt64(previous); // lua_tonumber into a size_t
                        results.RemoveAt(results.Count - 1);
                        if (!(size <= ld && pos <= ld - size)) throw Args.Bad(L, 1, "unpack", "data string too short");
                    }
                    results.Add(data.Substring((int)pos, (int)size));
                    break;
                }
                case 's':
                {
                    int e = data.IndexOf('\0', (int)pos);
                    if (e < 0) throw L.Error("unfinished string in data");
                    size = (ulong)e - pos + 1;
                    results.Add(data.Substring((int)pos, (int)size - 1));
                    break;
                }
                default:
                    Control(L, a, opt, f, "unpack");
                    break;
            }
            pos += size;
        }
        results.Add((double)(long)(pos + 1)); // lua_pushinteger: a ptrdiff_t
        return results.ToArray();
    }

    private static object?[] Size(LuaState L, object?[] a)
    {
        var f = new Format(Args.String(L, a, 0, "size"));
        ulong pos = 0;
        while (f.More)
        {
            char opt = f.Next();
            int size = OptSize(L, opt, f);
            pos += (ulong)ToAlign(pos, f, opt, size);
            if (opt == 's') throw Args.Bad(L, 0, "size", "option 's' has no fixed size");
            if (opt == 'c' && size == 0) throw Args.Bad(L, 0, "size", "option 'c0' has no fixed size");
            if (!char.IsAsciiLetterOrDigit(opt)) Control(L, a, opt, f, "size");
            pos += (ulong)size;
        }
        return [(double)(long)pos];
    }
}
