using System.Numerics;
using System.Runtime.CompilerServices;

namespace KeyspacePubSub.Engine.Keyspace;

/// <summary>
/// A database's keys: a chained hash table whose entries (key, value, deadline, hash, next) live in chunks of
/// 2,048 that are never copied, with a power-of-two bucket array of at most one int per key.
/// It replaced <c>Dictionary&lt;byte[], Entry&gt;</c>, which at 1,000,000 keys held 1,403,641 entries and buckets
/// of 36 bytes (50 bytes a key), and left the previous, half-size arrays (another 25 bytes a key) to the
/// next full GC; here a key costs its 32-byte entry and 4–8 bytes of buckets, and growing leaves only the old
/// bucket array behind. Chunk 0 grows by doubling up to 2,048 entries, so a database with a few keys stays small.
/// Freed entries are reused, newest first. Enumeration follows entry order. Each entry's access stamp
/// (<see cref="AccessClock"/>) is kept in parallel chunks, 4 bytes a key, so the entries stay 32 bytes.
/// </summary>
public sealed class KeyTable
{
    private const int ChunkBits = 11, ChunkSize = 1 << ChunkBits, ChunkMask = ChunkSize - 1;

    public struct Entry
    {
        public byte[]? Key; // null: a free entry
        public object? Value;
        public long ExpireAt;
        internal int Hash;
        internal int Next; // the next entry of the bucket's chain (or of the free list), as index + 1; 0 ends it
    }

    private Entry[][] _chunks = [];
    private uint[][] _stamps = []; // each entry's access stamp, chunked as the entries
    private int[] _buckets = []; // entry index + 1; 0 is an empty bucket
    private int _used; // entries handed out so far (free or not)
    private int _free; // the free list's head, as index + 1; 0: empty
    private int _count;

    public int Count => _count;

    /// <summary>The table's own bytes (MEMORY STATS overhead.hashtable.main): its entries, their stamps and the buckets.</summary>
    public long OverheadBytes => (long)_chunks.Length * ChunkSize * (Unsafe.SizeOf<Entry>() + sizeof(uint)) + (long)_buckets.Length * sizeof(int);

    /// <summary>The entry at <paramref name="index"/> (from <see cref="Find"/> or <see cref="Add"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref Entry At(int index) => ref _chunks[index >> ChunkBits][index & ChunkMask];

    /// <summary>The access stamp of the entry at <paramref name="index"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref uint StampAt(int index) => ref _stamps[index >> ChunkBits][index & ChunkMask];

    /// <summary>The index of <paramref name="key"/>'s entry, or -1.</summary>
    public int Find(ReadOnlySpan<byte> key) => Find(key, out _);

    /// <summary>The index of <paramref name="key"/>'s entry, or -1; <paramref name="hash"/> is the key's, for <see cref="Add"/>.</summary>
    public int Find(ReadOnlySpan<byte> key, out int hash)
    {
        hash = ByteKeyComparer.Instance.GetHashCode(key);
        if (_count == 0) return -1;
        int link = _buckets[hash & (_buckets.Length - 1)];
        while (link > 0)
        {
            ref var e = ref At(link - 1);
            if (e.Hash == hash && key.SequenceEqual(e.Key)) return link - 1;
            link = e.Next;
        }
        return -1;
    }

    /// <summary>Adds a key that is not in the table, with its hash from <see cref="Find(ReadOnlySpan{byte}, out int)"/>; returns its entry's index.</summary>
    public int Add(byte[] key, object value, long expireAt, int hash, uint stamp = 0)
    {
        if (_count >= _buckets.Length) Grow();
        int index;
        if (_free > 0)
        {
            index = _free - 1;
            _free = At(index).Next;
        }
        else
        {
            index = _used++;
            EnsureChunk(index);
        }
        ref int bucket = ref _buckets[hash & (_buckets.Length - 1)];
        ref var e = ref At(index);
        e.Key = key;
        e.Value = value;
        e.ExpireAt = expireAt;
        e.Hash = hash;
        e.Next = bucket;
        bucket = index + 1;
        StampAt(index) = stamp;
        _count++;
        return index;
    }

    /// <summary>Removes <paramref name="key"/>; false when absent. <paramref name="expireAt"/> is the removed entry's deadline.</summary>
    public bool Remove(ReadOnlySpan<byte> key, out long expireAt, out object? value)
    {
        expireAt = -1;
        value = null;
        if (_count == 0) return false;
        int hash = ByteKeyComparer.Instance.GetHashCode(key);
        ref int link = ref _buckets[hash & (_buckets.Length - 1)];
        while (link > 0)
        {
            ref var e = ref At(link - 1);
            if (e.Hash == hash && key.SequenceEqual(e.Key))
            {
                int index = link - 1;
                link = e.Next; // unlinked
                expireAt = e.ExpireAt;
                value = e.Value;
                e = default;
                e.Next = _free;
                _free = index + 1;
                _count--;
                return true;
            }
            link = ref e.Next;
        }
        return false;
    }

    /// <summary>The keys, in entry order (the table must not change while this runs).</summary>
    public IEnumerable<byte[]> Keys => LiveKeys(-1);

    /// <summary>
    /// The keys whose deadline is not past at <paramref name="nowMs"/> (-1: every key), in entry order, each
    /// read once from its entry (the table must not change while this runs).
    /// </summary>
    public IEnumerable<byte[]> LiveKeys(long nowMs)
    {
        for (int i = 0; i < _used; i++)
        {
            ref var e = ref At(i);
            if (e.Key != null && (e.ExpireAt < 0 || e.ExpireAt > nowMs)) yield return e.Key;
        }
    }

    /// <summary>The keys with a deadline, each with it (the table must not change while this runs).</summary>
    public IEnumerable<(byte[] Key, long At)> Deadlines()
    {
        for (int i = 0; i < _used; i++)
        {
            ref var e = ref At(i);
            if (e.Key != null && e.ExpireAt >= 0) yield return (e.Key, e.ExpireAt);
        }
    }

    /// <summary>
    /// A key chosen uniformly at random, null when there is none: random entries until one is in use (64 tries;
    /// entries are in use but for the free ones a deletion leaves), else the n-th key in entry order.
    /// </summary>
    public byte[]? RandomKey()
    {
        if (_count == 0) return null;
        for (int tries = 0; tries < 64; tries++)
        {
            if (At(Random.Shared.Next(_used)).Key is { } key) return key;
        }
        int skip = Random.Shared.Next(_count);
        for (int i = 0; i < _used; i++)
        {
            if (At(i).Key is { } key && skip-- == 0) return key;
        }
        return null;
    }

    /// <summary>
    /// Up to <paramref name="indexes"/>.Length distinct entries in use, picked at random for eviction (as
    /// dictGetSomeKeys), with a deadline only if <paramref name="volatileOnly"/>; returns how many.
    /// <paramref name="qualifying"/> is how many entries qualify: when that is no more than asked for, all of them
    /// are returned, as dictGetSomeKeys returns a small dict whole (so the pool sees every candidate, and which
    /// key is evicted first does not depend on chance). Otherwise random probes (4 per wanted entry, a repeat
    /// skipped); if they found none, a walk from a random entry, so an entry that qualifies is found whenever one
    /// exists.
    /// </summary>
    public int Sample(Span<int> indexes, bool volatileOnly, int qualifying)
    {
        if (_count == 0 || indexes.Length == 0 || qualifying <= 0) return 0;
        int found = 0;
        if (qualifying > indexes.Length)
        {
            for (int tries = 0; tries < indexes.Length * 4 && found < indexes.Length; tries++)
            {
                int i = Random.Shared.Next(_used);
                if (Qualifies(ref At(i), volatileOnly) && !indexes[..found].Contains(i)) indexes[found++] = i;
            }
            if (found > 0) return found;
        }
        int start = Random.Shared.Next(_used);
        for (int n = 0; n < _used && found < indexes.Length; n++)
        {
            int i = (start + n) % _used;
            if (Qualifies(ref At(i), volatileOnly)) indexes[found++] = i;
        }
        return found;
    }

    private static bool Qualifies(ref Entry e, bool volatileOnly) => e.Key != null && (!volatileOnly || e.ExpireAt >= 0);

    /// <summary>
    /// One step of SCAN, as Redis's dictScan: adds the keys of bucket <paramref name="cursor"/> (masked to the
    /// bucket count) to <paramref name="keys"/> and returns the next cursor, 0 after the last bucket. The
    /// cursor counts with its bits reversed, so when the buckets double between calls the buckets already
    /// visited are exactly those whose low bits were visited: every key present for a whole iteration is
    /// returned at least once, and a call costs one bucket, not the table.
    /// </summary>
    public ulong Scan(ulong cursor, List<byte[]> keys)
    {
        if (_count == 0) return 0;
        ulong mask = (ulong)_buckets.Length - 1;
        for (int link = _buckets[(int)(cursor & mask)]; link > 0; link = At(link - 1).Next) keys.Add(At(link - 1).Key!);
        cursor |= ~mask; // the next bucket: increment the reversed cursor's masked bits
        return ReverseBits(ReverseBits(cursor) + 1);
    }

    private static ulong ReverseBits(ulong v)
    {
        v = ((v >> 1) & 0x5555555555555555UL) | ((v & 0x5555555555555555UL) << 1);
        v = ((v >> 2) & 0x3333333333333333UL) | ((v & 0x3333333333333333UL) << 2);
        v = ((v >> 4) & 0x0F0F0F0F0F0F0F0FUL) | ((v & 0x0F0F0F0F0F0F0F0FUL) << 4);
        return System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(v);
    }

    private void EnsureChunk(int index)
    {
        int c = index >> ChunkBits;
        if (c == 0)
        {
            if (_chunks.Length == 0)
            {
                _chunks = [new Entry[4]];
                _stamps = [new uint[4]];
            }
            else if (index >= _chunks[0].Length)
            {
                int size = Math.Min(ChunkSize, _chunks[0].Length * 2);
                Array.Resize(ref _chunks[0], size);
                Array.Resize(ref _stamps[0], size);
            }
            return;
        }
        if (c >= _chunks.Length)
        {
            Array.Resize(ref _chunks, Math.Max(4, _chunks.Length * 2));
            Array.Resize(ref _stamps, _chunks.Length);
        }
        _chunks[c] ??= new Entry[ChunkSize];
        _stamps[c] ??= new uint[ChunkSize];
    }

    /// <summary>
    /// Compacts a table whose keys hold under a tenth of its entries, as Redis's tryResizeHashTables shrinks a dict
    /// under 10% full (deletions and expirations leave a table at its largest: 200,000 keys set and deleted left
    /// 8.6 MB of entries and buckets; Redis's used memory came back to where it started). The keys' entries are
    /// copied, in order, with their access stamps, into chunks sized for them, and the buckets made anew for
    /// their count. A table of one chunk or less is left as it is. Entry indexes change: call it only between
    /// commands.
    /// </summary>
    public void ShrinkIfSparse()
    {
        if (_used <= ChunkSize || (long)_count * 10 >= _used) return;
        var chunks = _chunks;
        var stamps = _stamps;
        int used = _used;
        _chunks = [];
        _stamps = [];
        _used = _free = 0;
        _buckets = new int[BitOperations.RoundUpToPowerOf2((uint)Math.Max(4, _count + 1))];
        int mask = _buckets.Length - 1;
        for (int i = 0; i < used; i++)
        {
            ref var old = ref chunks[i >> ChunkBits][i & ChunkMask];
            if (old.Key is null) continue;
            int index = _used++;
            EnsureChunk(index);
            ref var e = ref At(index);
            e = old;
            ref int bucket = ref _buckets[e.Hash & mask];
            e.Next = bucket;
            bucket = index + 1;
            StampAt(index) = stamps[i >> ChunkBits][i & ChunkMask];
        }
    }

    /// <summary>Twice the buckets (at least 4); every entry is linked again.</summary>
    private void Grow()
    {
        var buckets = new int[Math.Max(4, _buckets.Length * 2)];
        int mask = buckets.Length - 1;
        for (int i = 0; i < _used; i++)
        {
            ref var e = ref At(i);
            if (e.Key is null) continue;
            ref int bucket = ref buckets[e.Hash & mask];
            e.Next = bucket;
            bucket = i + 1;
        }
        _buckets = buckets;
    }
}
