using System.Buffers.Binary;
using System.Text;

namespace KeyspacePubSub.Lua.Lib;

/// <summary>
/// lua-cmsgpack 0.4.0 as Redis ships it (deps/lua/src/lua_cmsgpack.c): pack, unpack, unpack_one, unpack_limit.
/// Whole numbers are packed as the smallest integer, others as a float when a float holds them exactly, else as
/// a double; a table whose keys are 1..n is an array, any other a map; tables nested past 16 levels pack as nil.
/// </summary>
internal static class CmsgpackLib
{
    private const int MaxNesting = 16;

    public static void Open(LuaState L)
    {
        var t = new LuaTable();
        BaseLib.Reg(t, "pack", Pack);
        BaseLib.Reg(t, "unpack", (L, a) => Unpack(L, a, 0, 0, "unpack"));
        BaseLib.Reg(t, "unpack_one", (L, a) => Unpack(L, a, 1, OptInteger(L, a, 1, "unpack_one"), "unpack_one"));
        BaseLib.Reg(t, "unpack_limit", (L, a) => Unpack(L, a, Args.ToInteger(Args.Number(L, a, 1, "unpack_limit")), OptInteger(L, a, 2, "unpack_limit"), "unpack_limit"));
        t["_NAME"] = "cmsgpack";
        t["_VERSION"] = "lua-cmsgpack 0.4.0";
        t["_COPYRIGHT"] = "Copyright (C) 2012, Salvatore Sanfilippo";
        t["_DESCRIPTION"] = "MessagePack C implementation for Lua";
        L.Globals["cmsgpack"] = t;
    }

    private static long OptInteger(LuaState L, object?[] a, int i, string fn) => Args.At(a, i) is null ? 0 : Args.ToInteger(Args.Number(L, a, i, fn));

    private static object?[] Pack(LuaState L, object?[] a)
    {
        if (a.Length == 0) throw L.Error("bad argument #0 to 'pack' (MessagePack pack needs input.)");
        var buf = new List<byte>();
        foreach (var v in a) Encode(L, buf, v, 0);
        L.Charge(buf.Count * 2L);
        var sb = new StringBuilder(buf.Count);
        foreach (byte b in buf) sb.Append((char)b);
        return [sb.ToString()];
    }

    private static void Encode(LuaState L, List<byte> buf, object? v, int level)
    {
        if (v is LuaTable && level == MaxNesting) v = null;
        switch (v)
        {
            case string s:
                EncodeBytes(buf, s);
                break;
            case bool b:
                buf.Add(b ? (byte)0xc3 : (byte)0xc2);
                break;
            case double d:
                if (!double.IsInfinity(d) && !double.IsNaN(d) && d >= -9.2233720368547758e18 && d < 9.2233720368547758e18 && (long)d == d) EncodeInt(buf, (long)d);
                else EncodeDouble(buf, d);
                break;
            case LuaTable t:
                L.Step();
                if (IsArray(t))
                {
                    int len = t.Length;
                    Header(buf, len, 0x90, 15, 0xdc, 0xdd);
                    for (int j = 1; j <= len; j++) Encode(L, buf, L.Index(t, (double)j), level + 1);
                }
                else
                {
                    var pairs = new List<(object K, object? V)>();
                    object? k = null;
                    while (t.Next(k, out k, out var value)) pairs.Add((k!, value));
                    Header(buf, pairs.Count, 0x80, 15, 0xde, 0xdf);
                    foreach (var (key, value) in pairs)
                    {
                        Encode(L, buf, key, level + 1);
                        Encode(L, buf, value, level + 1);
                    }
                }
                break;
            default:
                buf.Add(0xc0);
                break;
        }
        if (buf.Count > LuaState.MaxStringLength) throw L.Error("string length overflow");
    }

    /// <summary>table_is_an_array: every key a positive whole number fitting an int, as many as the largest.</summary>
    private static bool IsArray(LuaTable t)
    {
        long count = 0;
        double max = 0;
        object? k = null;
        while (t.Next(k, out k, out _))
        {
            if (k is not double n || n <= 0 || n > int.MaxValue || Math.Floor(n) != n) return false;
            if (n > max) max = n;
            count++;
        }
        return max == count;
    }

    private static void Header(List<byte> buf, int n, byte fix, int fixMax, byte b16, byte b32)
    {
        if (n <= fixMax) buf.Add((byte)(fix | n));
        else if (n <= 0xffff)
        {
            buf.Add(b16);
            buf.Add((byte)(n >> 8));
            buf.Add((byte)n);
        }
        else
        {
            buf.Add(b32);
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteInt32BigEndian(b, n);
            buf.AddRange(b.ToArray());
        }
    }

    private static void EncodeBytes(List<byte> buf, string s)
    {
        int len = s.Length;
        if (len < 32) buf.Add((byte)(0xa0 | len));
        else if (len <= 0xff)
        {
            buf.Add(0xd9);
            buf.Add((byte)len);
        }
        else Header(buf, len, 0, -1, 0xda, 0xdb);
        foreach (char c in s) buf.Add((byte)c);
    }

    private static void EncodeDouble(List<byte> buf, double d)
    {
        float f = (float)d;
        if (d == f)
        {
            buf.Add(0xca);
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteSingleBigEndian(b, f);
            buf.AddRange(b.ToArray());
        }
        else
        {
            buf.Add(0xcb);
            Span<byte> b = stackalloc byte[8];
            BinaryPrimitives.WriteDoubleBigEndian(b, d);
            buf.AddRange(b.ToArray());
        }
    }

    private static void EncodeInt(List<byte> buf, long n)
    {
        Span<byte> b = stackalloc byte[8];
        if (n >= 0)
        {
            if (n <= 127) buf.Add((byte)n);
            else if (n <= 0xff) { buf.Add(0xcc); buf.Add((byte)n); }
            else if (n <= 0xffff) { buf.Add(0xcd); BinaryPrimitives.WriteUInt16BigEndian(b, (ushort)n); buf.AddRange(b[..2].ToArray()); }
            else if (n <= 0xffffffffL) { buf.Add(0xce); BinaryPrimitives.WriteUInt32BigEndian(b, (uint)n); buf.AddRange(b[..4].ToArray()); }
            else { buf.Add(0xcf); BinaryPrimitives.WriteUInt64BigEndian(b, (ulong)n); buf.AddRange(b.ToArray()); }
        }
        else
        {
            if (n >= -32) buf.Add((byte)(sbyte)n);
            else if (n >= -128) { buf.Add(0xd0); buf.Add((byte)(sbyte)n); }
            else if (n >= -32768) { buf.Add(0xd1); BinaryPrimitives.WriteInt16BigEndian(b, (short)n); buf.AddRange(b[..2].ToArray()); }
            else if (n >= int.MinValue) { buf.Add(0xd2); BinaryPrimitives.WriteInt32BigEndian(b, (int)n); buf.AddRange(b[..4].ToArray()); }
            else { buf.Add(0xd3); BinaryPrimitives.WriteInt64BigEndian(b, n); buf.AddRange(b.ToArray()); }
        }
    }

    private sealed class BadFormat : Exception;

    private sealed class MissingBytes : Exception;

    /// <summary>mp_unpack_full: every value (limit 0 and offset 0), or up to <paramref name="limit"/> values from <paramref name="offset"/> with the next offset first (-1 at the end).</summary>
    private static object?[] Unpack(LuaState L, object?[] a, long limit, long offset, string fn)
    {
        string s = Args.String(L, a, 0, fn);
        bool all = limit == 0 && offset == 0;
        if (offset < 0 || limit < 0) throw L.Error($"Invalid request to unpack with offset of {(int)offset} and limit of {s.Length}.");
        if (offset > s.Length) throw L.Error($"Start offset {(int)offset} greater than input length {s.Length}.");
        if (all) limit = int.MaxValue;
        int pos = (int)offset;
        var values = new List<object?>();
        try
        {
            for (long n = 0; pos < s.Length && n < limit; n++) values.Add(Decode(L, s, ref pos));
        }
        catch (MissingBytes)
        {
            throw L.Error("Missing bytes in input.");
        }
        catch (BadFormat)
        {
            throw L.Error("Bad data format in input.");
        }
        if (!all) values.Insert(0, pos >= s.Length ? -1.0 : pos);
        return [.. values];
    }

    private static void Need(string s, int pos, long n)
    {
        if (s.Length - pos < n) throw new MissingBytes();
    }

    private static ulong BigEndian(string s, int at, int n)
    {
        ulong v = 0;
        for (int i = 0; i < n; i++) v = v << 8 | (byte)s[at + i];
        return v;
    }

    private static object? Decode(LuaState L, string s, ref int pos)
    {
        Need(s, pos, 1);
        L.Step();
        int c = (byte)s[pos];
        switch (c)
        {
            case 0xcc: Need(s, pos, 2); pos += 2; return (double)(byte)s[pos - 1];
            case 0xd0: Need(s, pos, 2); pos += 2; return (double)(sbyte)(byte)s[pos - 1];
            case 0xcd: Need(s, pos, 3); pos += 3; return (double)(ushort)BigEndian(s, pos - 2, 2);
            case 0xd1: Need(s, pos, 3); pos += 3; return (double)(short)BigEndian(s, pos - 2, 2);
            case 0xce: Need(s, pos, 5); pos += 5; return (double)(uint)BigEndian(s, pos - 4, 4);
            case 0xd2: Need(s, pos, 5); pos += 5; return (double)(int)BigEndian(s, pos - 4, 4);
            case 0xcf: Need(s, pos, 9); pos += 9; return (double)BigEndian(s, pos - 8, 8);
            case 0xd3: Need(s, pos, 9); pos += 9; return (double)(long)BigEndian(s, pos - 8, 8);
            case 0xc0: pos++; return null;
            case 0xc3: pos++; return LuaState.True;
            case 0xc2: pos++; return LuaState.False;
            case 0xca: Need(s, pos, 5); pos += 5; return (double)BitConverter.Int32BitsToSingle((int)BigEndian(s, pos - 4, 4));
            case 0xcb: Need(s, pos, 9); pos += 9; return BitConverter.Int64BitsToDouble((long)BigEndian(s, pos - 8, 8));
            case 0xd9: { Need(s, pos, 2); int l = (byte)s[pos + 1]; Need(s, pos, 2 + l); pos += 2 + l; return s.Substring(pos - l, l); }
            case 0xda: { Need(s, pos, 3); int l = (int)BigEndian(s, pos + 1, 2); Need(s, pos, 3 + l); pos += 3 + l; return s.Substring(pos - l, l); }
            case 0xdb: { Need(s, pos, 5); long l = (long)BigEndian(s, pos + 1, 4); Need(s, pos, 5 + l); pos += 5 + (int)l; return s.Substring(pos - (int)l, (int)l); }
            case 0xdc: { Need(s, pos, 3); int l = (int)BigEndian(s, pos + 1, 2); pos += 3; return DecodeArray(L, s, ref pos, l); }
            case 0xdd: { Need(s, pos, 5); long l = (long)BigEndian(s, pos + 1, 4); pos += 5; return DecodeArray(L, s, ref pos, l); }
            case 0xde: { Need(s, pos, 3); int l = (int)BigEndian(s, pos + 1, 2); pos += 3; return DecodeMap(L, s, ref pos, l); }
            case 0xdf: { Need(s, pos, 5); long l = (long)BigEndian(s, pos + 1, 4); pos += 5; return DecodeMap(L, s, ref pos, l); }
        }
        if ((c & 0x80) == 0) { pos++; return (double)c; }
        if ((c & 0xe0) == 0xe0) { pos++; return (double)(sbyte)(byte)c; }
        if ((c & 0xe0) == 0xa0) { int l = c & 0x1f; Need(s, pos, 1 + l); pos += 1 + l; return s.Substring(pos - l, l); }
        if ((c & 0xf0) == 0x90) { pos++; return DecodeArray(L, s, ref pos, c & 0xf); }
        if ((c & 0xf0) == 0x80) { pos++; return DecodeMap(L, s, ref pos, c & 0xf); }
        throw new BadFormat();
    }

    private static LuaTable DecodeArray(LuaState L, string s, ref int pos, long len)
    {
        L.CheckStack();
        var t = new LuaTable();
        for (long i = 1; i <= len; i++) t.Set((double)i, Decode(L, s, ref pos));
        return t;
    }

    private static LuaTable DecodeMap(LuaState L, string s, ref int pos, long len)
    {
        L.CheckStack();
        var t = new LuaTable();
        for (long i = 0; i < len; i++)
        {
            var k = Decode(L, s, ref pos);
            var v = Decode(L, s, ref pos);
            L.RawSet(t, k, v, LuaState.NoPosition);
        }
        return t;
    }
}
