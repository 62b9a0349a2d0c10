using System.Text;

namespace KeyspacePubSub.Lua;

internal enum Tok
{
    // single characters are their own char value below 256
    And = 257, Break, Do, Else, ElseIf, End, False, For, Function, If, In, Local, Nil, Not, Or, Repeat, Return,
    Then, True, Until, While, Concat, Dots, Eq, Ge, Le, Ne, Number, Name, String, Eos,
}

/// <summary>Lua 5.1's lexer (llex.c): its tokens, escapes, long brackets, numbers and error texts.</summary>
internal sealed class Lexer
{
    private static readonly string[] Reserved =
    [
        "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "if", "in", "local", "nil", "not",
        "or", "repeat", "return", "then", "true", "until", "while", "..", "...", "==", ">=", "<=", "~=",
        "<number>", "<name>", "<string>", "<eof>",
    ];

    private static readonly Dictionary<string, int> Keywords = Enumerable.Range(0, 21).ToDictionary(i => Reserved[i], i => 257 + i);

    private readonly string _src;
    private readonly string _chunk;
    private int _pos;
    private int _current;
    private readonly StringBuilder _buf = new();

    public int Line = 1;
    public int LastLine = 1;
    public int Token;
    public string? Text; // a name's or string's text
    public double Num;
    private int _aheadToken = (int)Tok.Eos;
    private bool _hasAhead;
    private string? _aheadText;
    private double _aheadNum;

    public Lexer(string src, string chunk)
    {
        _src = src;
        _chunk = chunk;
        _pos = 0;
        Advance(); // (luaL_loadbuffer skips no '#' line: only luaL_loadfile does)
    }

    private void Advance() => _current = _pos < _src.Length ? _src[_pos++] : -1;

    public void Next()
    {
        LastLine = Line;
        if (_hasAhead)
        {
            _hasAhead = false;
            Token = _aheadToken;
            Text = _aheadText;
            Num = _aheadNum;
            return;
        }
        Token = Lex(out Text, out Num);
    }

    public int Lookahead()
    {
        if (!_hasAhead)
        {
            _aheadToken = Lex(out _aheadText, out _aheadNum);
            _hasAhead = true;
        }
        return _aheadToken;
    }

    public static string TokenText(int token) =>
        token < 257 ? (char.IsControl((char)token) ? $"char({token})" : ((char)token).ToString()) : Reserved[token - 257];

    /// <summary>luaX_lexerror: "chunk:line: msg near 'token'".</summary>
    public LuaError Error(string msg, int token)
    {
        string text = $"{_chunk}:{Line}: {msg}";
        if (token != 0) text += $" near '{NearText(token)}'";
        return new LuaError(text, Line) { Syntax = true };
    }

    public LuaError SyntaxError(string msg) => Error(msg, Token);

    private string NearText(int token) => token switch
    {
        (int)Tok.Name or (int)Tok.String or (int)Tok.Number => _buf.ToString(),
        _ => TokenText(token),
    };

    private void IncLine()
    {
        int old = _current;
        Advance();
        if ((_current == '\n' || _current == '\r') && _current != old) Advance();
        Line++;
    }

    private void SaveAndNext()
    {
        _buf.Append((char)_current);
        Advance();
    }

    private bool CheckNext(string set)
    {
        if (_current < 0 || !set.Contains((char)_current)) return false;
        SaveAndNext();
        return true;
    }

    private int Lex(out string? text, out double num)
    {
        text = null;
        num = 0;
        _buf.Clear();
        while (true)
        {
            switch (_current)
            {
                case '\n':
                case '\r':
                    IncLine();
                    continue;
                case '-':
                    Advance();
                    if (_current != '-') return '-';
                    Advance();
                    if (_current == '[')
                    {
                        int sep = SkipSep();
                        _buf.Clear();
                        if (sep >= 0)
                        {
                            ReadLongString(sep, false);
                            _buf.Clear();
                            continue;
                        }
                    }
                    while (_current != '\n' && _current != '\r' && _current != -1) Advance();
                    continue;
                case '[':
                {
                    int sep = SkipSep();
                    if (sep >= 0)
                    {
                        text = ReadLongString(sep, true);
                        return (int)Tok.String;
                    }
                    if (sep == -1) return '[';
                    throw Error("invalid long string delimiter", (int)Tok.String);
                }
                case '=':
                    Advance();
                    if (_current != '=') return '=';
                    Advance();
                    return (int)Tok.Eq;
                case '<':
                    Advance();
                    if (_current != '=') return '<';
                    Advance();
                    return (int)Tok.Le;
                case '>':
                    Advance();
                    if (_current != '=') return '>';
                    Advance();
                    return (int)Tok.Ge;
                case '~':
                    Advance();
                    if (_current != '=') return '~';
                    Advance();
                    return (int)Tok.Ne;
                case '"':
                case '\'':
                    text = ReadString(_current);
                    return (int)Tok.String;
                case '.':
                    SaveAndNext();
                    if (CheckNext("."))
                    {
                        return CheckNext(".") ? (int)Tok.Dots : (int)Tok.Concat;
                    }
                    if (_current < '0' || _current > '9') return '.';
                    num = ReadNumeral();
                    return (int)Tok.Number;
                case -1:
                    return (int)Tok.Eos;
                default:
                    if (_current is ' ' or '\t' or '\v' or '\f')
                    {
                        Advance();
                        continue;
                    }
                    if (_current is >= '0' and <= '9')
                    {
                        num = ReadNumeral();
                        return (int)Tok.Number;
                    }
                    if (char.IsAsciiLetter((char)_current) || _current == '_')
                    {
                        do SaveAndNext();
                        while (_current >= 0 && (char.IsAsciiLetterOrDigit((char)_current) || _current == '_'));
                        string word = _buf.ToString();
                        if (Keywords.TryGetValue(word, out int kw)) return kw;
                        text = word;
                        return (int)Tok.Name;
                    }
                    int c = _current;
                    Advance();
                    return c;
            }
        }
    }

    private double ReadNumeral()
    {
        do SaveAndNext();
        while (_current is >= '0' and <= '9' or '.');
        if (CheckNext("Ee")) CheckNext("+-");
        while (_current >= 0 && (char.IsAsciiLetterOrDigit((char)_current) || _current == '_')) SaveAndNext();
        return LuaNumber.Parse(_buf.ToString()) ?? throw Error("malformed number", (int)Tok.Number);
    }

    /// <summary>At '[' or ']': the count of '=' between two brackets, or -1 - count when the second is missing.</summary>
    private int SkipSep()
    {
        int count = 0;
        int s = _current;
        SaveAndNext();
        while (_current == '=')
        {
            SaveAndNext();
            count++;
        }
        return _current == s ? count : -count - 1;
    }

    private string ReadLongString(int sep, bool isString)
    {
        SaveAndNext(); // the second '['
        if (_current is '\n' or '\r') IncLine();
        while (true)
        {
            switch (_current)
            {
                case -1:
                    throw Error(isString ? "unfinished long string" : "unfinished long comment", (int)Tok.Eos);
                // (A '[[' inside is plain text: redis-server 7.0.15's Lua is built without LUA_COMPAT_LSTR.)
                case ']':
                    if (SkipSep() == sep)
                    {
                        SaveAndNext();
                        string all = _buf.ToString();
                        return all.Substring(2 + sep, all.Length - 2 * (2 + sep));
                    }
                    break;
                case '\n':
                case '\r':
                    _buf.Append('\n');
                    IncLine();
                    break;
                default:
                    SaveAndNext();
                    break;
            }
        }
    }

    private string ReadString(int delimiter)
    {
        SaveAndNext();
        while (_current != delimiter)
        {
            switch (_current)
            {
                case -1:
                    throw Error("unfinished string", (int)Tok.Eos);
                case '\n':
                case '\r':
                    throw Error("unfinished string", (int)Tok.String);
                case '\\':
                {
                    Advance();
                    int c;
                    switch (_current)
                    {
                        case 'a': c = '\a'; break;
                        case 'b': c = '\b'; break;
                        case 'f': c = '\f'; break;
                        case 'n': c = '\n'; break;
                        case 'r': c = '\r'; break;
                        case 't': c = '\t'; break;
                        case 'v': c = '\v'; break;
                        case '\n':
                        case '\r':
                            _buf.Append('\n');
                            IncLine();
                            continue;
                        case -1:
                            continue;
                        default:
                            if (_current is < '0' or > '9')
                            {
                                SaveAndNext();
                                continue;
                            }
                            int i = 0;
                            c = 0;
                            do
                            {
                                c = 10 * c + (_current - '0');
                                Advance();
                            }
                            while (++i < 3 && _current is >= '0' and <= '9');
                            if (c > 255) throw Error("escape sequence too large", (int)Tok.String);
                            _buf.Append((char)c);
                            continue;
                    }
                    _buf.Append((char)c);
                    Advance();
                    continue;
                }
                default:
                    SaveAndNext();
                    break;
            }
        }
        SaveAndNext();
        return _buf.ToString(1, _buf.Length - 2);
    }
}
