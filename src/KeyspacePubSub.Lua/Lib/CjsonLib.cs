using System.Text;

namespace KeyspacePubSub.Lua.Lib;

/// <summary>
/// lua-cjson 2.1.0 as Redis ships it (deps/lua/src/lua_cjson.c): encode and decode with its defaults (numbers with
/// 14 significant digits, '/' escaped, sparse arrays refused, NaN and Inf refused when encoding, accepted when
/// decoding, 1000 levels of nesting), its options, and its error texts. JSON text is bytes: a string's chars are
/// its bytes, and a \u escape decodes to UTF-8.
/// </summary>
internal static class CjsonLib
{
    private sealed class Config
    {
        public int EncodeMaxDepth = 1000, DecodeMaxDepth = 1000, Precision = 14;
        public bool SparseConvert;
        public int SparseRatio = 2, SparseSafe = 10;
        public int EncodeInvalidNumbers; // 0 off, 1 on, 2 "null"
        public bool DecodeInvalidNumbers = true, KeepBuffer = true;
    }

    public static void Open(LuaState L)
    {
        var cfg = new Config();
        var t = new LuaTable();
        BaseLib.Reg(t, "encode", (L, a) =>
        {
            if (a.Length != 1) throw Args.Bad(L, 0, "encode", "expected 1 argument");
            var sb = new StringBuilder();
            Encode(L, cfg, sb, a[0], 0);
            L.Charge(sb.Length);
            return [sb.ToString()];
        });
        BaseLib.Reg(t, "decode", (L, a) =>
        {
            if (a.Length != 1) throw Args.Bad(L, 0, "decode", "expected 1 argument");
            return [new Decoder(L, cfg, Args.String(L, a, 0, "decode")).Run()];
        });
        BaseLib.Reg(t, "encode_max_depth", (L, a) => [(double)IntOption(L, a, "encode_max_depth", ref cfg.EncodeMaxDepth, 1, int.MaxValue)]);
        BaseLib.Reg(t, "decode_max_depth", (L, a) => [(double)IntOption(L, a, "decode_max_depth", ref cfg.DecodeMaxDepth, 1, int.MaxValue)]);
        BaseLib.Reg(t, "encode_number_precision", (L, a) => [(double)IntOption(L, a, "encode_number_precision", ref cfg.Precision, 1, 14)]);
        BaseLib.Reg(t, "encode_keep_buffer", (L, a) => [LuaState.Bool(BoolOption(L, a, 0, "encode_keep_buffer", ref cfg.KeepBuffer))]);
        BaseLib.Reg(t, "decode_invalid_numbers", (L, a) => [LuaState.Bool(BoolOption(L, a, 0, "decode_invalid_numbers", ref cfg.DecodeInvalidNumbers))]);
        BaseLib.Reg(t, "encode_invalid_numbers", (L, a) =>
        {
            if (a.Length > 0)
            {
                cfg.EncodeInvalidNumbers = a[0] switch
                {
                    bool b => b ? 1 : 0,
                    "on" => 1,
                    "off" => 0,
                    "null" => 2,
                    _ => throw Args.Bad(L, 0, "encode_invalid_numbers", "invalid option '" + LuaState.AsString(a[0]) + "'"),
                };
            }
            return [cfg.EncodeInvalidNumbers == 2 ? "null" : LuaState.Bool(cfg.EncodeInvalidNumbers == 1)];
        });
        BaseLib.Reg(t, "encode_sparse_array", (L, a) =>
        {
            BoolOption(L, a, 0, "encode_sparse_array", ref cfg.SparseConvert);
            if (a.Length > 1 && a[1] is not null) cfg.SparseRatio = CheckInt(L, a, 1, "encode_sparse_array", 0, int.MaxValue);
            if (a.Length > 2 && a[2] is not null) cfg.SparseSafe = CheckInt(L, a, 2, "encode_sparse_array", 0, int.MaxValue);
            return [LuaState.Bool(cfg.SparseConvert), (double)cfg.SparseRatio, (double)cfg.SparseSafe];
        });
        t["null"] = LuaUserdata.Null;
        t["_NAME"] = "cjson";
        t["_VERSION"] = "2.1.0";
        L.Globals["cjson"] = t;
    }

    private static int CheckInt(LuaState L, object?[] a, int i, string fn, int min, int max)
    {
        int v = Args.Int(L, a, i, fn);
        if (v < min || v > max) throw Args.Bad(L, i, fn, $"expected integer between {min} and {max}");
        return v;
    }

    private static int IntOption(LuaState L, object?[] a, string fn, ref int option, int min, int max)
    {
        if (a.Length > 0 && a[0] is not null) option = CheckInt(L, a, 0, fn, min, max);
        return option;
    }

    private static bool BoolOption(LuaState L, object?[] a, int i, string fn, ref bool option)
    {
        if (a.Length > i && a[i] is not null)
        {
            option = a[i] switch
            {
                bool b => b,
                "on" => true,
                "off" => false,
                _ => throw Args.Bad(L, i, fn, "invalid option '" + LuaState.AsString(a[i]) + "'"),
            };
        }
        return option;
    }

    private static readonly string?[] Escapes = MakeEscapes();

    private static string?[] MakeEscapes()
    {
        var e = new string?[256];
        for (int c = 0; c < 32; c++) e[c] = $"\\u{c:x4}";
        e['\b'] = "\\b";
        e['\t'] = "\\t";
        e['\n'] = "\\n";
        e['\f'] = "\\f";
        e['\r'] = "\\r";
        e['"'] = "\\\"";
        e['/'] = "\\/";
        e['\\'] = "\\\\";
        e[127] = "\\u007f";
        return e;
    }

    private static LuaError Cannot(LuaState L, object? v, string reason) => L.Error($"Cannot serialise {LuaState.TypeName(v)}: {reason}");

    private static void Encode(LuaState L, Config cfg, StringBuilder sb, object? v, int depth)
    {
        switch (v)
        {
            case string s:
                AppendString(sb, s);
                break;
            case double d:
                AppendNumber(L, cfg, sb, d);
                break;
            case bool b:
                sb.Append(b ? "true" : "false");
                break;
            case null:
                sb.Append("null");
                break;
            case LuaUserdata:
                sb.Append("null");
                break;
            case LuaTable t:
            {
                depth++;
                if (depth > cfg.EncodeMaxDepth) throw L.Error($"Cannot serialise, excessive nesting ({depth})");
                L.CheckStack();
                L.Step();
                int len = ArrayLength(L, cfg, t);
                if (len > 0)
                {
                    sb.Append('[');
                    for (int i = 1; i <= len; i++)
                    {
                        if (i > 1) sb.Append(',');
                        Encode(L, cfg, sb, t.Get((double)i), depth);
                    }
                    sb.Append(']');
                }
                else
                {
                    sb.Append('{');
                    bool comma = false;
                    object? k = null;
                    while (t.Next(k, out k, out var value))
                    {
                        if (comma) sb.Append(',');
                        comma = true;
                        if (k is double dk)
                        {
                            sb.Append('"');
                            AppendNumber(L, cfg, sb, dk);
                            sb.Append("\":");
                        }
                        else if (k is string sk)
                        {
                            AppendString(sb, sk);
                            sb.Append(':');
                        }
                        else throw Cannot(L, k, "table key must be a number or string");
                        Encode(L, cfg, sb, value, depth);
                    }
                    sb.Append('}');
                }
                if (sb.Length > LuaState.MaxStringLength) throw L.Error("string length overflow");
                break;
            }
            default:
                throw Cannot(L, v, "type not supported");
        }
    }

    /// <summary>lua_array_length: the largest key if every key is an integer >= 1 (and the array is not too sparse), else -1.</summary>
    /// <remarks>
    /// As the C: the largest key is kept in an int (a key past 2^31 - 1 becomes int.MinValue, as x86-64's conversion
    /// gives, and the table is then an object), and the sparse test is int arithmetic.
    /// </remarks>
    private static int ArrayLength(LuaState L, Config cfg, LuaTable t)
    {
        int max = 0;
        int items = 0;
        object? k = null;
        while (t.Next(k, out k, out _))
        {
            if (k is double d && d >= 1 && Math.Floor(d) == d)
            {
                if (d > max) max = LuaNumber.ToInt32(d);
                items++;
                continue;
            }
            return -1;
        }
        if (cfg.SparseRatio > 0 && max > unchecked(items * cfg.SparseRatio) && max > cfg.SparseSafe)
        {
            if (!cfg.SparseConvert) throw Cannot(L, t, "excessively sparse array");
            return -1;
        }
        return max;
    }

    private static void AppendString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            if (Escapes[c & 0xFF] is { } esc) sb.Append(esc);
            else sb.Append(c);
        }
        sb.Append('"');
    }

    private static void AppendNumber(LuaState L, Config cfg, StringBuilder sb, double d)
    {
        if (!double.IsFinite(d))
        {
            if (cfg.EncodeInvalidNumbers == 0) throw Cannot(L, d, "must not be NaN or Inf");
            if (cfg.EncodeInvalidNumbers == 2)
            {
                sb.Append("null");
                return;
            }
            if (double.IsNaN(d))
            {
                sb.Append("nan");
                return;
            }
        }
        sb.Append(cfg.Precision == 14 ? LuaNumber.Format(d) : StringFormat.Float(d, 'g', "", cfg.Precision));
    }

    private sealed class Decoder(LuaState L, Config cfg, string json)
    {
        private int _pos, _depth;

        private enum T { ObjBegin, ObjEnd, ArrBegin, ArrEnd, String, Number, Boolean, Null, Colon, Comma, End, Error }

        private static readonly string[] TypeNames =
            ["T_OBJ_BEGIN", "T_OBJ_END", "T_ARR_BEGIN", "T_ARR_END", "T_STRING", "T_NUMBER", "T_BOOLEAN", "T_NULL", "T_COLON", "T_COMMA", "T_END", "T_ERROR"];

        private T _type;
        private int _index;
        private object? _value;
        private string? _error;

        public object? Run()
        {
            if (json.Length >= 2 && (json[0] == 0 || json[1] == 0)) throw L.Error("JSON parser does not support UTF-16 or UTF-32");
            Next();
            var v = Value();
            Next();
            if (_type != T.End) throw Expected("the end");
            return v;
        }

        private char At(int i) => i < json.Length ? json[i] : '\0';

        private LuaError Expected(string what) =>
            L.Error($"Expected {what} but found {(_type == T.Error ? _error : TypeNames[(int)_type])} at character {_index + 1}");

        private void Descend()
        {
            if (++_depth > cfg.DecodeMaxDepth) throw L.Error($"Found too many nested data structures ({_depth}) at character {_pos}");
            L.CheckStack();
        }

        private object? Value()
        {
            switch (_type)
            {
                case T.String:
                case T.Number:
                case T.Boolean:
                    return _value;
                case T.Null:
                    return LuaUserdata.Null;
                case T.ObjBegin:
                {
                    Descend();
                    var t = new LuaTable();
                    Next();
                    if (_type == T.ObjEnd)
                    {
                        _depth--;
                        return t;
                    }
                    while (true)
                    {
                        if (_type != T.String) throw Expected("object key string");
                        var key = (string)_value!;
                        Next();
                        if (_type != T.Colon) throw Expected("colon");
                        Next();
                        t.Set(key, Value());
                        Next();
                        if (_type == T.ObjEnd)
                        {
                            _depth--;
                            return t;
                        }
                        if (_type != T.Comma) throw Expected("comma or object end");
                        Next();
                    }
                }
                case T.ArrBegin:
                {
                    Descend();
                    var t = new LuaTable();
                    Next();
                    if (_type == T.ArrEnd)
                    {
                        _depth--;
                        return t;
                    }
                    for (int i = 1; ; i++)
                    {
                        t.Set((double)i, Value());
                        Next();
                        if (_type == T.ArrEnd)
                        {
                            _depth--;
                            return t;
                        }
                        if (_type != T.Comma) throw Expected("comma or array end");
                        Next();
                    }
                }
                default:
                    throw Expected("value");
            }
        }

        private void Fail(string error)
        {
            _type = T.Error;
            _index = _pos;
            _error = error;
        }

        private void Next()
        {
            L.Step();
            char c = At(_pos);
            while (c is ' ' or '\t' or '\n' or '\r') c = At(++_pos);
            _index = _pos;
            switch (c)
            {
                case '{': _type = T.ObjBegin; _pos++; return;
                case '}': _type = T.ObjEnd; _pos++; return;
                case '[': _type = T.ArrBegin; _pos++; return;
                case ']': _type = T.ArrEnd; _pos++; return;
                case ',': _type = T.Comma; _pos++; return;
                case ':': _type = T.Colon; _pos++; return;
                case '\0': _type = T.End; return; // a NUL ends the text, as the C string does
                case '"': ReadString(); return;
            }
            if (c is '-' or (>= '0' and <= '9'))
            {
                if (!cfg.DecodeInvalidNumbers && InvalidNumber()) Fail("invalid number");
                else ReadNumber();
                return;
            }
            if (string.CompareOrdinal(json, _pos, "true", 0, 4) == 0) { _type = T.Boolean; _value = LuaState.True; _pos += 4; return; }
            if (string.CompareOrdinal(json, _pos, "false", 0, 5) == 0) { _type = T.Boolean; _value = LuaState.False; _pos += 5; return; }
            if (string.CompareOrdinal(json, _pos, "null", 0, 4) == 0) { _type = T.Null; _pos += 4; return; }
            if (c is 'i' or 'I' or 'n' or 'N' or '+' && cfg.DecodeInvalidNumbers && InvalidNumber())
            {
                ReadNumber();
                return;
            }
            Fail("invalid token");
        }

        private bool InvalidNumber()
        {
            int p = _pos;
            if (At(p) == '+') return true;
            if (At(p) == '-') p++;
            if (At(p) == '0')
            {
                char c2 = At(p + 1);
                return (c2 | 0x20) == 'x' || c2 is >= '0' and <= '9';
            }
            if (At(p) <= '9') return false;
            return string.Compare(json, p, "inf", 0, 3, StringComparison.OrdinalIgnoreCase) == 0
                || string.Compare(json, p, "nan", 0, 3, StringComparison.OrdinalIgnoreCase) == 0;
        }

        private void ReadNumber()
        {
            int end = _pos;
            while (end < json.Length && json[end] > ' ' && json[end] is not (',' or ']' or '}' or ':')) end++;
            var bytes = new byte[end - _pos];
            for (int i = 0; i < bytes.Length; i++) bytes[i] = (byte)json[_pos + i];
            double d = KeyspacePubSub.Protocol.CStrtod.Parse(bytes, out int consumed, out _);
            if (consumed == 0)
            {
                Fail("invalid number");
                return;
            }
            _type = T.Number;
            _value = d;
            _pos += consumed;
        }

        private void ReadString()
        {
            _pos++;
            var sb = new StringBuilder();
            while (true)
            {
                char c = At(_pos);
                if (c == '"') break;
                if (c == '\0' && _pos >= json.Length)
                {
                    Fail("unexpected end of string");
                    return;
                }
                if (c == '\\')
                {
                    char e = At(_pos + 1);
                    char? plain = e switch { '"' => '"', '\\' => '\\', '/' => '/', 'b' => '\b', 't' => '\t', 'n' => '\n', 'f' => '\f', 'r' => '\r', _ => null };
                    if (e == 'u')
                    {
                        if (!UnicodeEscape(sb))
                        {
                            Fail("invalid unicode escape code");
                            return;
                        }
                        continue;
                    }
                    if (plain is null)
                    {
                        Fail("invalid escape code");
                        return;
                    }
                    sb.Append(plain.Value);
                    _pos += 2;
                    continue;
                }
                sb.Append(c);
                _pos++;
            }
            _pos++;
            _type = T.String;
            _value = sb.ToString();
        }

        private int Hex4(int at)
        {
            int v = 0;
            for (int i = 0; i < 4; i++)
            {
                char c = At(at + i);
                int d = c is >= '0' and <= '9' ? c - '0' : (c | 0x20) is >= 'a' and <= 'f' ? (c | 0x20) - 'a' + 10 : -1;
                if (d < 0) return -1;
                v = v << 4 | d;
            }
            return v;
        }

        private bool UnicodeEscape(StringBuilder sb)
        {
            int cp = Hex4(_pos + 2);
            if (cp < 0) return false;
            int len = 6;
            if ((cp & 0xF800) == 0xD800)
            {
                if ((cp & 0x400) != 0 || At(_pos + 6) != '\\' || At(_pos + 7) != 'u') return false;
                int low = Hex4(_pos + 8);
                if (low < 0 || (low & 0xFC00) != 0xDC00) return false;
                cp = (((cp & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000;
                len = 12;
            }
            // The code point as UTF-8 bytes, one char per byte.
            Span<byte> utf8 = stackalloc byte[4];
            int n = new Rune(cp).EncodeToUtf8(utf8);
            foreach (byte b in utf8[..n]) sb.Append((char)b);
            _pos += len;
            return true;
        }
    }
}
