namespace KeyspacePubSub.Lua;

/// <summary>
/// A Lua table: an array part for the keys 1..n, and a hash part that keeps its keys in insertion order
/// (a cleared key stays as a hole until the next new key, so <c>next</c> may go on while fields are cleared,
/// as Lua allows). Keys are compared as Lua compares them: numbers by value, strings by content, others by
/// reference. A read-only table refuses every change, as Redis's patched Lua does for its globals.
/// </summary>
public sealed class LuaTable
{
    private object?[] _array = [];
    private int _count; // array part: keys 1.._count, holes (nil) allowed, as Lua's sizearray
    private readonly Dictionary<object, int> _index = [];
    private readonly List<KeyValuePair<object, object?>> _entries = [];
    private int _holes;

    public LuaTable? Metatable { get; set; }

    /// <summary>Redis's readonly flag: every change raises "Attempt to modify a readonly table".</summary>
    public bool ReadOnly { get; set; }

    public object? this[object? key]
    {
        get => Get(key);
        set => Set(key, value);
    }

    public object? Get(object? key)
    {
        if (key is double d)
        {
            if (ArrayIndex(d) is int i and >= 0 && i < _count) return _array[i];
            if (d == 0) key = 0.0;
        }
        else if (key is null) return null;
        return _index.TryGetValue(key, out int at) ? _entries[at].Value : null;
    }

    public object? Get(string key) => _index.TryGetValue(key, out int at) ? _entries[at].Value : null;

    public object? Get(int key) => key >= 1 && key <= _count ? _array[key - 1] : Get((double)key);

    /// <summary>A raw set (no metamethods). The caller checked the key is neither nil nor NaN.</summary>
    public void Set(object? key, object? value)
    {
        if (key is double d)
        {
            if (ArrayIndex(d) is int i and >= 0)
            {
                if (i < _count)
                {
                    _array[i] = value;
                    return;
                }
                if (i == _count)
                {
                    if (value is null)
                    {
                        RemoveFromHash(d);
                        return;
                    }
                    Append(value);
                    RemoveFromHash(d);
                    MigrateFromHash();
                    return;
                }
            }
            if (d == 0) key = 0.0;
        }
        if (key is null) return;
        if (_index.TryGetValue(key, out int at))
        {
            if (_entries[at].Value is null && value is not null) _holes--;
            else if (_entries[at].Value is not null && value is null) _holes++;
            _entries[at] = new(key, value);
            return;
        }
        if (value is null) return;
        if (_holes > 8 && _holes * 2 > _entries.Count) Compact();
        _index[key] = _entries.Count;
        _entries.Add(new(key, value));
    }

    /// <summary>
    /// The length operator's border, as Lua 5.1's luaH_getn: a binary search in the array part when its last slot
    /// is nil (so a table with holes gives Lua's answer), else an unbound search of the keys after it.
    /// </summary>
    public int Length
    {
        get
        {
            int j = _count;
            if (j > 0 && _array[j - 1] is null)
            {
                int i = 0;
                while (j - i > 1)
                {
                    int m = (int)(((uint)i + (uint)j) / 2);
                    if (_array[m - 1] is null) j = m;
                    else i = m;
                }
                return i;
            }
            return _entries.Count == 0 ? j : UnboundSearch(j);
        }
    }

    private int UnboundSearch(int start)
    {
        long i = start, j = (long)start + 1;
        while (Get((double)j) is not null)
        {
            i = j;
            j *= 2;
            if (j > int.MaxValue)
            {
                int k = 1;
                while (Get((double)k) is not null) k++;
                return k - 1;
            }
        }
        while (j - i > 1)
        {
            long m = (i + j) / 2;
            if (Get((double)m) is null) j = m;
            else i = m;
        }
        return (int)i;
    }

    /// <summary>Lua's next: the pair after <paramref name="key"/> (nil: the first), or false at the end.</summary>
    public bool Next(object? key, out object? nextKey, out object? value)
    {
        int start; // position in the combined order: array slots, then hash entries
        if (key is null) start = 0;
        else if (key is double d && ArrayIndex(d) is int i and >= 0 && i < _count) start = i + 1;
        else
        {
            if (key is double z && z == 0) key = 0.0;
            if (!_index.TryGetValue(key, out int at)) throw new LuaError("invalid key to 'next'");
            start = _count + at + 1;
        }
        for (int p = start; p < _count; p++)
        {
            if (_array[p] is { } v)
            {
                nextKey = (double)(p + 1);
                value = v;
                return true;
            }
        }
        for (int p = Math.Max(0, start - _count); p < _entries.Count; p++)
        {
            if (_entries[p].Value is { } v)
            {
                nextKey = _entries[p].Key;
                value = v;
                return true;
            }
        }
        nextKey = value = null;
        return false;
    }

    /// <summary>A table whose array part is <paramref name="items"/> (a constructor's positional items, nils kept as holes).</summary>
    internal static LuaTable FromArray(object?[] items)
    {
        return new LuaTable { _array = items, _count = items.Length }; // Lua sizes a constructor's array part exactly
    }

    /// <summary>Appends at #t+1 (table.insert's common case).</summary>
    public void Append(object value)
    {
        if (_count == _array.Length) Array.Resize(ref _array, Math.Max(4, _count * 2));
        _array[_count++] = value;
    }

    private static int? ArrayIndex(double d)
    {
        if (d >= 1 && d <= int.MaxValue && d == Math.Floor(d)) return (int)d - 1;
        return null;
    }

    private void RemoveFromHash(double d)
    {
        if (_entries.Count == 0 || !_index.TryGetValue(d, out int at) || _entries[at].Value is null) return;
        _entries[at] = new(d, null);
        _holes++;
    }

    private void MigrateFromHash()
    {
        while (_entries.Count > 0 && _index.TryGetValue((double)(_count + 1), out int at) && _entries[at].Value is { } v)
        {
            _entries[at] = new(_entries[at].Key, null);
            _holes++;
            Append(v);
        }
    }

    private void Compact()
    {
        var kept = _entries.Where(e => e.Value is not null).ToList();
        _entries.Clear();
        _index.Clear();
        foreach (var e in kept)
        {
            _index[e.Key] = _entries.Count;
            _entries.Add(e);
        }
        _holes = 0;
    }
}
