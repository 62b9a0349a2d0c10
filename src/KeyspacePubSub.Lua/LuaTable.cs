using System.Runtime.CompilerServices;

namespace KeyspacePubSub.Lua;

/// <summary>
/// A Lua table laid out as Lua 5.1's ltable.c lays it out, so that <c>next</c> (pairs, cjson.encode, cmsgpack.pack,
/// a map reply) visits keys in the order Redis's Lua does: an array part for keys 1..n, and a hash part of 2^k nodes
/// where a key sits at its main position (Lua's own hashes: Redis's luaS_hash of every byte, the two halves of a
/// number's bits, a boolean as 0 or 1) or, on a collision, in the last free node, chained; a full hash part is
/// rehashed, the array part sized to the integer keys that fill more than half of it. Setting a key to nil leaves
/// it in its node (so <c>next</c> may go on while fields are cleared), and even assigning nil to a key not there
/// makes a node, as luaV_settable does. Keys compare as Lua compares them: numbers by value, strings by content,
/// others by reference (whose hash, their address in Lua, differs from Redis's anyway). A read-only table refuses
/// every change, as Redis's patched Lua does for its globals (checked by the callers).
/// </summary>
public sealed class LuaTable
{
    private const int MaxBits = 26; // MAXBITS: at most 2^26 slots in the array part

    private static readonly object?[] NoNodes = [];
    private static readonly int[] NoChain = [];

    private object?[] _array;       // sizearray slots, nils allowed
    private object?[] _keys = NoNodes; // the hash part (no nodes: Lua's dummy node)
    private object?[] _vals = NoNodes;
    private int[] _next = NoChain;  // each node's successor in its chain, -1 for none
    private int _lastFree;          // getfreepos looks below this

    public LuaTable() : this(0, 0)
    {
    }

    /// <summary>luaH_new: an array part of <paramref name="narray"/> slots and a hash part for <paramref name="nhash"/> keys.</summary>
    public LuaTable(int narray, int nhash)
    {
        _array = narray == 0 ? [] : new object?[narray];
        SetNodeVector(nhash);
    }

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
            int k = ArrayIndex(d);
            if ((uint)(k - 1) < (uint)_array.Length) return _array[k - 1];
        }
        else if (key is null) return null;
        int n = FindNode(key);
        return n < 0 ? null : _vals[n];
    }

    public object? Get(string key)
    {
        int n = FindNode(key);
        return n < 0 ? null : _vals[n];
    }

    public object? Get(int key) => (uint)(key - 1) < (uint)_array.Length ? _array[key - 1] : Get((double)key);

    /// <summary>
    /// A raw set (luaH_set, then the value stored): the key's slot, made if it is not there, even for a nil value.
    /// The caller checked the key is neither nil nor NaN.
    /// </summary>
    public void Set(object? key, object? value)
    {
        if (key is double d)
        {
            int k = ArrayIndex(d);
            if ((uint)(k - 1) < (uint)_array.Length)
            {
                _array[k - 1] = value;
                return;
            }
        }
        else if (key is null) return;
        int n = FindNode(key);
        if (n >= 0) _vals[n] = value;
        else NewKey(key, value);
    }

    /// <summary>arrayindex: a number's integer value (as C's cast to int), or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ArrayIndex(double d)
    {
        int k = LuaNumber.ToInt32(d);
        return k == d ? k : -1;
    }

    private int FindNode(object key)
    {
        if (_keys.Length == 0) return -1;
        int n = MainPosition(key);
        do
        {
            if (KeyEquals(_keys[n], key)) return n;
            n = _next[n];
        } while (n >= 0);
        return -1;
    }

    private static bool KeyEquals(object? stored, object key) => stored switch
    {
        null => false,
        double x => key is double y && x == y,
        string s => key is string t && string.Equals(s, t),
        bool p => key is bool q && p == q,
        _ => ReferenceEquals(stored, key),
    };

    /// <summary>mainposition: the node a key hashes to.</summary>
    private int MainPosition(object key)
    {
        int size = _keys.Length;
        switch (key)
        {
            case double d:
            {
                if (d == 0) return 0; // (-0 and 0 alike)
                ulong bits = (ulong)BitConverter.DoubleToInt64Bits(d);
                return HashMod((uint)bits + (uint)(bits >> 32), size);
            }
            case string s:
                return (int)(StringHash(s) & (uint)(size - 1));
            case bool b:
                return (b ? 1 : 0) & (size - 1);
            default:
                return HashMod((uint)RuntimeHelpers.GetHashCode(key), size); // (Lua: the address)
        }
    }

    private static int HashMod(uint n, int size) => (int)(n % (uint)((size - 1) | 1));

    /// <summary>luaS_hash as Redis builds Lua (every byte hashed, from the last).</summary>
    private static uint StringHash(string s)
    {
        uint h = (uint)s.Length;
        for (int i = s.Length; i >= 1; i--) h ^= (h << 5) + (h >> 2) + (byte)s[i - 1];
        return h;
    }

    /// <summary>newkey: the key placed at its main position, or in a free node; a full hash part is rehashed first.</summary>
    private void NewKey(object key, object? value)
    {
        if (_keys.Length == 0)
        {
            Rehash(key);
            Set(key, value);
            return;
        }
        int mp = MainPosition(key);
        if (_vals[mp] is not null)
        {
            int free = FreePosition();
            if (free < 0)
            {
                Rehash(key);
                Set(key, value);
                return;
            }
            int other = MainPosition(_keys[mp]!);
            if (other != mp)
            {
                // The node there is out of its main position: it moves to the free node, the new key takes its place.
                while (_next[other] != mp) other = _next[other];
                _next[other] = free;
                _keys[free] = _keys[mp];
                _vals[free] = _vals[mp];
                _next[free] = _next[mp];
                _next[mp] = -1;
                _vals[mp] = null;
            }
            else
            {
                // The node there is in its own main position: the new key goes to the free node, chained after it.
                _next[free] = _next[mp];
                _next[mp] = free;
                mp = free;
            }
        }
        _keys[mp] = key;
        _vals[mp] = value;
    }

    /// <summary>getfreepos: the next node below the last one given whose key was never set.</summary>
    private int FreePosition()
    {
        while (_lastFree-- > 0)
        {
            if (_keys[_lastFree] is null) return _lastFree;
        }
        return -1;
    }

    private void SetNodeVector(int size)
    {
        if (size == 0)
        {
            _keys = _vals = NoNodes;
            _next = NoChain;
            _lastFree = 0;
            return;
        }
        int lsize = CeilLog2(size);
        if (lsize > MaxBits) throw new LuaError("table overflow");
        size = 1 << lsize;
        _keys = new object?[size];
        _vals = new object?[size];
        _next = new int[size];
        Array.Fill(_next, -1);
        _lastFree = size;
    }

    private static int CeilLog2(int x) => x <= 1 ? 0 : 32 - System.Numerics.BitOperations.LeadingZeroCount((uint)(x - 1));

    /// <summary>rehash: the parts sized for the keys there and <paramref name="extra"/>, every key placed again.</summary>
    private void Rehash(object extra)
    {
        Span<int> nums = stackalloc int[MaxBits + 1];
        int nasize = NumUseArray(nums);
        int totaluse = nasize;
        totaluse += NumUseHash(nums, ref nasize);
        nasize += CountInt(extra, nums);
        totaluse++;
        int na = ComputeSizes(nums, ref nasize);
        Resize(nasize, totaluse - na);
    }

    private static int CountInt(object? key, Span<int> nums)
    {
        if (key is not double d) return 0;
        int k = ArrayIndex(d);
        if (k <= 0 || k > 1 << MaxBits) return 0;
        nums[CeilLog2(k)]++;
        return 1;
    }

    private int NumUseArray(Span<int> nums)
    {
        int ause = 0, i = 1;
        for (int lg = 0, ttlg = 1; lg <= MaxBits; lg++, ttlg *= 2)
        {
            int lc = 0, lim = ttlg;
            if (lim > _array.Length)
            {
                lim = _array.Length;
                if (i > lim) break;
            }
            for (; i <= lim; i++)
            {
                if (_array[i - 1] is not null) lc++;
            }
            nums[lg] += lc;
            ause += lc;
        }
        return ause;
    }

    private int NumUseHash(Span<int> nums, ref int nasize)
    {
        int totaluse = 0, ause = 0;
        for (int i = _keys.Length - 1; i >= 0; i--)
        {
            if (_vals[i] is null) continue;
            ause += CountInt(_keys[i], nums);
            totaluse++;
        }
        nasize += ause;
        return totaluse;
    }

    private static int ComputeSizes(Span<int> nums, ref int narray)
    {
        int a = 0, na = 0, n = 0;
        for (int i = 0, twotoi = 1; twotoi / 2 < narray; i++, twotoi *= 2)
        {
            if (nums[i] > 0)
            {
                a += nums[i];
                if (a > twotoi / 2)
                {
                    n = twotoi;
                    na = a;
                }
            }
            if (a == narray) break;
        }
        narray = n;
        return na;
    }

    /// <summary>resize: the array part grown or shrunk to <paramref name="nasize"/>, a new hash part, and the keys placed again.</summary>
    private void Resize(int nasize, int nhsize)
    {
        var oldArray = _array;
        var oldKeys = _keys;
        var oldVals = _vals;
        if (nasize > oldArray.Length) Array.Resize(ref _array, nasize);
        SetNodeVector(nhsize);
        if (nasize < oldArray.Length)
        {
            _array = oldArray[..nasize];
            for (int i = nasize; i < oldArray.Length; i++)
            {
                if (oldArray[i] is { } v) Set((double)(i + 1), v);
            }
        }
        for (int i = oldKeys.Length - 1; i >= 0; i--)
        {
            if (oldVals[i] is { } v) Set(oldKeys[i], v);
        }
    }

    /// <summary>luaH_resizearray: the array part made <paramref name="nasize"/> slots (a constructor's SETLIST).</summary>
    internal void ResizeArray(int nasize) => Resize(nasize, _keys.Length);

    internal int ArraySize => _array.Length;

    /// <summary>
    /// The length operator's border, as Lua 5.1's luaH_getn: a binary search in the array part when its last slot
    /// is nil (so a table with holes gives Lua's answer), else an unbound search of the keys after it.
    /// </summary>
    public int Length
    {
        get
        {
            int j = _array.Length;
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
            return _keys.Length == 0 ? j : UnboundSearch(j);
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
        int i = FindIndex(key);
        for (i++; i < _array.Length; i++)
        {
            if (_array[i] is { } v)
            {
                nextKey = (double)(i + 1);
                value = v;
                return true;
            }
        }
        for (i -= _array.Length; i < _keys.Length; i++)
        {
            if (_vals[i] is { } v)
            {
                nextKey = _keys[i];
                value = v;
                return true;
            }
        }
        nextKey = value = null;
        return false;
    }

    /// <summary>findindex: where <paramref name="key"/> is in the traversal (-1 for nil): array slots first, then nodes.</summary>
    private int FindIndex(object? key)
    {
        if (key is null) return -1;
        if (key is double d)
        {
            int k = ArrayIndex(d);
            if ((uint)(k - 1) < (uint)_array.Length) return k - 1;
        }
        int n = FindNode(key); // (a key set to nil is still in its node: next goes on from it)
        if (n < 0) throw new LuaError("invalid key to 'next'");
        return n + _array.Length;
    }
}
