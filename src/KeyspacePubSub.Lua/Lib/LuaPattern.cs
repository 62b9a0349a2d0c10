namespace KeyspacePubSub.Lua.Lib;

/// <summary>
/// Lua 5.1's pattern matcher (lstrlib.c's match machinery): character classes, sets, quantifiers (* + - ?),
/// anchors, captures (with position captures), %b and %f, with its error texts. Recursion is bounded: a pattern
/// that nests too deep is refused rather than allowed to exhaust the stack.
/// </summary>
internal sealed class LuaPattern
{
    private const int MaxCaptures = 32;
    private const int CapUnfinished = -1, CapPosition = -2;
    private const int MaxDepth = 200; // MAXCCALLS

    private readonly LuaState _L;
    private readonly string _src;
    private readonly string _pat;
    private int _level;
    private readonly int[] _capStart = new int[MaxCaptures];
    private readonly int[] _capLen = new int[MaxCaptures];
    private int _depth;

    public LuaPattern(LuaState L, string src, string pat)
    {
        _L = L;
        _src = src;
        _pat = pat;
    }

    public int Level => _level;

    /// <summary>Tries a match at <paramref name="start"/>; the end position, or -1.</summary>
    public int MatchAt(int start, int patStart)
    {
        _level = 0;
        _depth = 0;
        return Match(start, patStart);
    }

    private int ClassEnd(int p)
    {
        if (p >= _pat.Length) throw _L.Error("malformed pattern (ends with '%')");
        char c = _pat[p++];
        if (c == '%')
        {
            if (p >= _pat.Length) throw _L.Error("malformed pattern (ends with '%')");
            return p + 1;
        }
        if (c == '[')
        {
            if (p < _pat.Length && _pat[p] == '^') p++;
            do
            {
                if (p >= _pat.Length) throw _L.Error("malformed pattern (missing ']')");
                c = _pat[p++];
                if (c == '%')
                {
                    if (p >= _pat.Length) throw _L.Error("malformed pattern (missing ']')");
                    p++;
                }
            }
            while (p >= _pat.Length || _pat[p] != ']');
            return p + 1;
        }
        return p;
    }

    private static bool IsClass(int c, char cl)
    {
        bool res;
        char lower = char.ToLowerInvariant(cl);
        switch (lower)
        {
            case 'a': res = c < 128 && char.IsAsciiLetter((char)c); break;
            case 'c': res = c < 32 || c == 127; break;
            case 'd': res = c is >= '0' and <= '9'; break;
            case 'l': res = c is >= 'a' and <= 'z'; break;
            case 'p': res = c is >= 33 and <= 47 or >= 58 and <= 64 or >= 91 and <= 96 or >= 123 and <= 126; break;
            case 's': res = c is ' ' or >= 9 and <= 13; break;
            case 'u': res = c is >= 'A' and <= 'Z'; break;
            case 'w': res = c < 128 && char.IsAsciiLetterOrDigit((char)c); break;
            case 'x': res = char.IsAsciiHexDigit((char)c); break;
            case 'z': res = c == 0; break;
            default: return cl == c;
        }
        return char.IsAsciiLetterUpper(cl) ? !res : res;
    }

    private bool MatchClass(int c, int p, int ep)
    {
        bool sig = true;
        p++; // skip '['
        if (_pat[p] == '^')
        {
            sig = false;
            p++;
        }
        while (p < ep - 1)
        {
            if (_pat[p] == '%')
            {
                p++;
                if (IsClass(c, _pat[p])) return sig;
                p++;
            }
            else if (p + 2 < ep - 1 && _pat[p + 1] == '-')
            {
                if (_pat[p] <= c && c <= _pat[p + 2]) return sig;
                p += 3;
            }
            else
            {
                if (_pat[p] == c) return sig;
                p++;
            }
        }
        return !sig;
    }

    private bool SingleMatch(int s, int p, int ep)
    {
        if (s >= _src.Length) return false;
        int c = _src[s];
        return _pat[p] switch
        {
            '.' => true,
            '%' => IsClass(c, _pat[p + 1]),
            '[' => MatchClass(c, p, ep),
            _ => _pat[p] == c,
        };
    }

    private int Match(int s, int p)
    {
        if (++_depth > MaxDepth) throw _L.Error("pattern too complex");
        try
        {
            while (true)
            {
                if (p >= _pat.Length) return s;
                switch (_pat[p])
                {
                    case '(':
                        return p + 1 < _pat.Length && _pat[p + 1] == ')' ? StartCapture(s, p + 2, CapPosition) : StartCapture(s, p + 1, CapUnfinished);
                    case ')':
                        return EndCapture(s, p + 1);
                    case '%' when p + 1 < _pat.Length && _pat[p + 1] == 'b':
                        s = MatchBalance(s, p + 2);
                        if (s < 0) return -1;
                        p += 4;
                        continue;
                    case '%' when p + 1 < _pat.Length && _pat[p + 1] == 'f':
                    {
                        p += 2;
                        if (p >= _pat.Length || _pat[p] != '[') throw _L.Error("missing '[' after '%f' in pattern");
                        int ep = ClassEnd(p);
                        int prev = s == 0 ? 0 : _src[s - 1];
                        int cur = s < _src.Length ? _src[s] : 0;
                        if (MatchClass(prev, p, ep) || !MatchClass(cur, p, ep)) return -1;
                        p = ep;
                        continue;
                    }
                    case '%' when p + 1 < _pat.Length && char.IsAsciiDigit(_pat[p + 1]):
                        s = MatchCapture(s, _pat[p + 1]);
                        if (s < 0) return -1;
                        p += 2;
                        continue;
                    case '$' when p + 1 == _pat.Length:
                        return s == _src.Length ? s : -1;
                }
                int epos = ClassEnd(p);
                char q = epos < _pat.Length ? _pat[epos] : '\0';
                if (q == '?')
                {
                    if (SingleMatch(s, p, epos))
                    {
                        int r = Match(s + 1, epos + 1);
                        if (r >= 0) return r;
                    }
                    p = epos + 1;
                    continue;
                }
                if (q == '*') return MaxExpand(s, p, epos);
                if (q == '+') return SingleMatch(s, p, epos) ? MaxExpand(s + 1, p, epos) : -1;
                if (q == '-') return MinExpand(s, p, epos);
                if (!SingleMatch(s, p, epos)) return -1;
                s++;
                p = epos;
            }
        }
        finally
        {
            _depth--;
        }
    }

    private int MaxExpand(int s, int p, int ep)
    {
        int i = 0;
        while (SingleMatch(s + i, p, ep)) i++;
        while (i >= 0)
        {
            _L.Step();
            int r = Match(s + i, ep + 1);
            if (r >= 0) return r;
            i--;
        }
        return -1;
    }

    private int MinExpand(int s, int p, int ep)
    {
        while (true)
        {
            _L.Step();
            int r = Match(s, ep + 1);
            if (r >= 0) return r;
            if (SingleMatch(s, p, ep)) s++;
            else return -1;
        }
    }

    private int StartCapture(int s, int p, int what)
    {
        if (_level >= MaxCaptures) throw _L.Error("too many captures");
        _capStart[_level] = s;
        _capLen[_level] = what;
        _level++;
        int r = Match(s, p);
        if (r < 0) _level--;
        return r;
    }

    private int EndCapture(int s, int p)
    {
        int l = -1;
        for (int i = _level - 1; i >= 0; i--)
        {
            if (_capLen[i] == CapUnfinished)
            {
                l = i;
                break;
            }
        }
        if (l < 0) throw _L.Error("invalid pattern capture");
        _capLen[l] = s - _capStart[l];
        int r = Match(s, p);
        if (r < 0) _capLen[l] = CapUnfinished;
        return r;
    }

    private int MatchBalance(int s, int p)
    {
        if (p + 1 >= _pat.Length) throw _L.Error("unbalanced pattern");
        if (s >= _src.Length || _src[s] != _pat[p]) return -1;
        char b = _pat[p], e = _pat[p + 1];
        int cont = 1;
        while (++s < _src.Length)
        {
            if (_src[s] == e)
            {
                if (--cont == 0) return s + 1;
            }
            else if (_src[s] == b) cont++;
        }
        return -1;
    }

    private int MatchCapture(int s, char digit)
    {
        int l = digit - '1';
        if (l < 0 || l >= _level || _capLen[l] == CapUnfinished) throw _L.Error("invalid capture index");
        int len = _capLen[l];
        if (_src.Length - s >= len && string.CompareOrdinal(_src, _capStart[l], _src, s, len) == 0) return s + len;
        return -1;
    }

    /// <summary>Capture <paramref name="i"/> of a match from <paramref name="s"/> to <paramref name="e"/> (the whole match when there are none).</summary>
    public object? Capture(int i, int s, int e)
    {
        if (i >= _level)
        {
            if (i == 0) return _src[s..e];
            throw _L.Error("invalid capture index");
        }
        if (_capLen[i] == CapUnfinished) throw _L.Error("unfinished capture");
        if (_capLen[i] == CapPosition) return (double)(_capStart[i] + 1);
        return _src.Substring(_capStart[i], _capLen[i]);
    }

    /// <summary>Every capture (or the whole match), as str_find_aux and gmatch return them.</summary>
    public object?[] Captures(int s, int e, bool wholeIfNone)
    {
        int n = _level == 0 && wholeIfNone ? 1 : _level;
        var r = new object?[n];
        for (int i = 0; i < n; i++) r[i] = Capture(i, s, e);
        return r;
    }
}
