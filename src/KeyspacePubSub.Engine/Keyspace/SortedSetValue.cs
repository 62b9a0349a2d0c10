namespace KeyspacePubSub.Engine.Keyspace;

/// <summary>
/// A Redis sorted set: member → node for O(1) lookups, and a <see cref="SkipList"/> for order and rank, as
/// Redis's skiplist encoding. Replies are the same for small sets (Redis's listpack keeps the same order).
/// The member table is a hash table of our own chained through the skiplist nodes (a node holds its bucket's
/// next node, its hash and its slot): a .NET Dictionary beside the list cost an entry of 32 bytes per member,
/// with up to twice as many entries and buckets allocated, where a node now carries 16 bytes more and the
/// table 8 bytes per bucket. Members also sit in a dense array of slots (a removed member's slot takes the last
/// one), which ZSCAN pages through as Redis's dictScan pages its hash table.
/// </summary>
public sealed class SortedSetValue
{
    /// <summary>Redis 7.0's zset-max-listpack-entries / zset-max-listpack-value defaults.</summary>
    public const int ListpackMaxEntries = 128, ListpackMaxValue = 64;

    private const int MinBuckets = 4;

    private SkipList.Node?[] _buckets = new SkipList.Node?[MinBuckets]; // a power of two, at least one per member
    private readonly List<SkipList.Node> _slots = [];

    public SkipList List { get; } = new();

    public int Count => _slots.Count;

    /// <summary>Every member with its score, in no particular order.</summary>
    public IEnumerable<(byte[] Member, double Score)> Pairs => _slots.Select(n => (n.Member!, n.Score));

    /// <summary>The member in a slot (0 .. Count-1). Slots only move down: a removal moves the last member into the freed slot.</summary>
    public byte[] MemberAt(int slot) => _slots[slot].Member!;

    /// <summary>Change tracking since the last durable commit; null when the set is not durable.</summary>
    public ZsetChanges? Durability { get; set; }

    /// <summary>Redis converts to a skiplist once a limit is passed and never back; OBJECT ENCODING reports it.</summary>
    public bool IsSkiplistEncoded { get; private set; }

    /// <summary>The skiplist encoding from now on, whatever the size: Redis's SORT converts a sorted set so before sorting it.</summary>
    public void ConvertToSkiplist() => IsSkiplistEncoded = true;

    private SkipList.Node? Find(ReadOnlySpan<byte> member, int hash)
    {
        for (var n = _buckets[hash & (_buckets.Length - 1)]; n != null; n = n.HashNext)
        {
            if (n.Hash == hash && member.SequenceEqual(n.Member)) return n;
        }
        return null;
    }

    private SkipList.Node? Find(ReadOnlySpan<byte> member) => Find(member, ByteKeyComparer.Hash(member));

    public bool TryGetScore(ReadOnlySpan<byte> member, out double score)
    {
        var n = Find(member);
        score = n?.Score ?? 0;
        return n != null;
    }

    /// <summary>Adds a new member or moves an existing one to a new score.</summary>
    public void Set(ReadOnlySpan<byte> member, double score)
    {
        int hash = ByteKeyComparer.Hash(member);
        if (Find(member, hash) is { } present)
        {
            if (present.Score == score) return;
            List.UpdateScore(present.Score, present.Member!, score);
            Durability?.Members.Add(present.Member!);
            return;
        }
        var key = member.ToArray();
        Index(List.Insert(score, key), hash);
        Durability?.Members.Add(key);
        if (Count > ListpackMaxEntries || key.Length > ListpackMaxValue) IsSkiplistEncoded = true;
    }

    /// <summary>A node new to the list goes into the member table and the last slot.</summary>
    private void Index(SkipList.Node node, int hash)
    {
        node.Hash = hash;
        node.Slot = _slots.Count;
        _slots.Add(node);
        if (_slots.Count > _buckets.Length) Rehash(_buckets.Length * 2);
        else Chain(node);
    }

    private void Chain(SkipList.Node node)
    {
        ref var head = ref _buckets[node.Hash & (_buckets.Length - 1)];
        node.HashNext = head;
        head = node;
    }

    /// <summary>A table of this many buckets (a power of two), every member chained again from its slot.</summary>
    private void Rehash(int buckets)
    {
        _buckets = new SkipList.Node?[buckets];
        foreach (var n in _slots) Chain(n);
    }

    private void Unchain(SkipList.Node node)
    {
        ref var link = ref _buckets[node.Hash & (_buckets.Length - 1)];
        while (link != node) link = ref link!.HashNext;
        link = node.HashNext;
        node.HashNext = null;
    }

    /// <summary>
    /// An empty set takes these members (distinct) with their scores, in any order: they are sorted once (the
    /// spans are reordered in place) and linked in order (<see cref="SkipList.BuildInOrder"/>) rather than each
    /// searched for its place. A sorted set loaded at start; one that names a member twice is refused (and the
    /// set, half built, is to be dropped).
    /// </summary>
    public void Adopt(Span<byte[]> members, Span<double> scores)
    {
        if (Count != 0 || members.Length != scores.Length) throw new ArgumentException("an empty set adopts one score per member", nameof(members));
        scores.Sort(members);
        for (int start = 0; start < scores.Length;)
        {
            int end = start + 1;
            while (end < scores.Length && scores[end] == scores[start]) end++;
            // Equal scores by member bytes, each score moving with its member (0 and -0 are equal here, not alike).
            if (end - start > 1) members[start..end].Sort(scores[start..end], static (a, b) => a.AsSpan().SequenceCompareTo(b));
            start = end;
        }
        List.BuildInOrder(members, scores);
        _slots.EnsureCapacity(members.Length);
        Rehash((int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(MinBuckets, members.Length)));
        bool longMember = false;
        for (var n = List.First; n != null; n = n.Next)
        {
            int hash = ByteKeyComparer.Hash(n.Member);
            if (Find(n.Member, hash) != null) throw new InvalidDataException("a sorted set member given twice");
            n.Hash = hash;
            n.Slot = _slots.Count;
            _slots.Add(n);
            Chain(n);
            longMember |= n.Member!.Length > ListpackMaxValue;
        }
        if (members.Length > ListpackMaxEntries || longMember) IsSkiplistEncoded = true;
    }

    public bool Remove(ReadOnlySpan<byte> member)
    {
        if (Find(member) is not { } n) return false;
        Forget(n);
        List.Delete(n.Score, n.Member!);
        Durability?.Members.Add(n.Member!);
        TrimIfSparse();
        return true;
    }

    /// <summary>The member table's and the slots' capacity (tests).</summary>
    internal (int Members, int Slots) TableCapacity => (_buckets.Length, _slots.Capacity);

    /// <summary>After removals: the member table and the slots give their memory back when mostly empty (see <see cref="SparseTable"/>).</summary>
    private void TrimIfSparse()
    {
        if (SparseTable.IsSparse(Count, _buckets.Length)) Rehash((int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(MinBuckets, Count)));
        if (SparseTable.IsSparse(Count, _slots.Capacity)) _slots.TrimExcess();
    }

    /// <summary>
    /// A member leaves the table and its slot; the last slot's member moves into the freed one, so no member
    /// ever moves to a higher slot.
    /// </summary>
    private void Forget(SkipList.Node n)
    {
        Unchain(n);
        int last = _slots.Count - 1;
        if (n.Slot != last)
        {
            var moved = _slots[last];
            _slots[n.Slot] = moved;
            moved.Slot = n.Slot;
        }
        _slots.RemoveAt(last);
    }

    /// <summary>0-based rank from the lowest (or highest when <paramref name="reverse"/>), or -1.</summary>
    public long Rank(ReadOnlySpan<byte> member, bool reverse)
    {
        if (Find(member) is not { } n) return -1;
        long rank = List.GetRank(n.Score, n.Member!);
        return reverse ? List.Length - rank : rank - 1;
    }

    /// <summary>
    /// Deletes the members inside the range. A small (listpack) set first checks its ends against the range as
    /// zzlFirstInLexRange does; it only matters for lex ranges over mixed scores, where Redis's two encodings differ.
    /// </summary>
    public long DeleteRange(in ZRange range)
    {
        if (!IsSkiplistEncoded && List.FirstInRange(range) is null) return 0;
        long deleted = List.DeleteRange(range, Removed);
        TrimIfSparse();
        return deleted;
    }

    /// <summary>Deletes 0-based ranks start..end inclusive.</summary>
    public long DeleteRangeByRank(long start, long end)
    {
        long deleted = List.DeleteRangeByRank(start + 1, end + 1, Removed);
        TrimIfSparse();
        return deleted;
    }

    private void Removed(SkipList.Node n)
    {
        Forget(n);
        Durability?.Members.Add(n.Member!);
    }

    /// <summary>Number of members inside the range (zsetRank arithmetic, no walk).</summary>
    public long CountInRange(in ZRange range)
    {
        var first = List.FirstInRange(range);
        if (first is null) return 0;
        var last = List.LastInRange(range)!;
        return List.GetRank(last.Score, last.Member!) - List.GetRank(first.Score, first.Member!) + 1;
    }

    public SortedSetValue Clone()
    {
        var copy = new SortedSetValue();
        for (var n = List.First; n != null; n = n.Next) copy.Set(n.Member, n.Score);
        copy.IsSkiplistEncoded = IsSkiplistEncoded;
        return copy;
    }
}

/// <summary>Members added, rescored or removed since a durable sorted set's last commit.</summary>
public sealed class ZsetChanges(long id)
{
    public long Id { get; } = id;

    public HashSet<byte[]> Members { get; } = new(ByteKeyComparer.Instance);
}
