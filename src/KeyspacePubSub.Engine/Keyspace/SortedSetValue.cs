namespace KeyspacePubSub.Engine.Keyspace;

/// <summary>
/// A Redis sorted set: member → score for O(1) lookups, and a <see cref="SkipList"/> for order and rank,
/// as Redis's skiplist encoding. Replies are the same for small sets (Redis's listpack keeps the same order).
/// Members also sit in a dense array of slots (a removed member's slot takes the last one), which ZSCAN
/// pages through as Redis's dictScan pages its hash table.
/// </summary>
public sealed class SortedSetValue
{
    /// <summary>Redis 7.0's zset-max-listpack-entries / zset-max-listpack-value defaults.</summary>
    public const int ListpackMaxEntries = 128, ListpackMaxValue = 64;

    private readonly Dictionary<byte[], Entry> _members = new(ByteKeyComparer.Instance);
    private readonly List<byte[]> _slots = [];

    private readonly record struct Entry(double Score, int Slot);

    public SkipList List { get; } = new();

    public int Count => _members.Count;

    /// <summary>Every member with its score, in no particular order.</summary>
    public IEnumerable<(byte[] Member, double Score)> Pairs => _members.Select(p => (p.Key, p.Value.Score));

    /// <summary>The member in a slot (0 .. Count-1). Slots only move down: a removal moves the last member into the freed slot.</summary>
    public byte[] MemberAt(int slot) => _slots[slot];

    /// <summary>Change tracking since the last durable commit; null when the set is not durable.</summary>
    public ZsetChanges? Durability { get; set; }

    /// <summary>Redis converts to a skiplist once a limit is passed and never back; OBJECT ENCODING reports it.</summary>
    public bool IsSkiplistEncoded { get; private set; }

    /// <summary>The skiplist encoding from now on, whatever the size: Redis's SORT converts a sorted set so before sorting it.</summary>
    public void ConvertToSkiplist() => IsSkiplistEncoded = true;

    public bool TryGetScore(ReadOnlySpan<byte> member, out double score)
    {
        bool found = _members.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(member, out var entry);
        score = entry.Score;
        return found;
    }

    /// <summary>Adds a new member or moves an existing one to a new score.</summary>
    public void Set(ReadOnlySpan<byte> member, double score)
    {
        var lookup = _members.GetAlternateLookup<ReadOnlySpan<byte>>();
        if (lookup.TryGetValue(member, out var stored, out var old))
        {
            if (old.Score == score) return;
            List.UpdateScore(old.Score, stored, score);
            _members[stored] = old with { Score = score };
            Durability?.Members.Add(stored);
            return;
        }
        var key = member.ToArray();
        _members.Add(key, new Entry(score, _slots.Count));
        _slots.Add(key);
        List.Insert(score, key);
        Durability?.Members.Add(key);
        if (_members.Count > ListpackMaxEntries || key.Length > ListpackMaxValue) IsSkiplistEncoded = true;
    }

    /// <summary>
    /// An empty set takes these members (distinct) with their scores, in any order: they are sorted once (the
    /// spans are reordered in place) and linked in order (<see cref="SkipList.BuildInOrder"/>) rather than each
    /// searched for its place. A sorted set loaded at start.
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
        _members.EnsureCapacity(members.Length);
        _slots.EnsureCapacity(members.Length);
        bool longMember = false;
        for (int i = 0; i < members.Length; i++)
        {
            if (!_members.TryAdd(members[i], new Entry(scores[i], i))) throw new InvalidDataException("a sorted set member given twice");
            _slots.Add(members[i]);
            longMember |= members[i].Length > ListpackMaxValue;
        }
        List.BuildInOrder(members, scores);
        if (members.Length > ListpackMaxEntries || longMember) IsSkiplistEncoded = true;
    }

    public bool Remove(ReadOnlySpan<byte> member)
    {
        var lookup = _members.GetAlternateLookup<ReadOnlySpan<byte>>();
        if (!lookup.Remove(member, out var stored, out var entry)) return false;
        FreeSlot(entry.Slot);
        List.Delete(entry.Score, stored);
        Durability?.Members.Add(stored);
        TrimIfSparse();
        return true;
    }

    /// <summary>The member table's and the slots' capacity (tests).</summary>
    internal (int Members, int Slots) TableCapacity => (_members.EnsureCapacity(0), _slots.Capacity);

    /// <summary>After removals: the member table and the slots give their memory back when mostly empty (see <see cref="SparseTable"/>).</summary>
    private void TrimIfSparse()
    {
        if (SparseTable.IsSparse(_members.Count, _members.EnsureCapacity(0))) _members.TrimExcess();
        if (SparseTable.IsSparse(_slots.Count, _slots.Capacity)) _slots.TrimExcess();
    }

    /// <summary>The last slot's member moves into the freed one, so no member ever moves to a higher slot.</summary>
    private void FreeSlot(int slot)
    {
        int last = _slots.Count - 1;
        if (slot != last)
        {
            var moved = _slots[last];
            _slots[slot] = moved;
            _members[moved] = _members[moved] with { Slot = slot };
        }
        _slots.RemoveAt(last);
    }

    /// <summary>0-based rank from the lowest (or highest when <paramref name="reverse"/>), or -1.</summary>
    public long Rank(ReadOnlySpan<byte> member, bool reverse)
    {
        var lookup = _members.GetAlternateLookup<ReadOnlySpan<byte>>();
        if (!lookup.TryGetValue(member, out var stored, out var entry)) return -1;
        long rank = List.GetRank(entry.Score, stored);
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
        _members.Remove(n.Member!, out var entry);
        FreeSlot(entry.Slot);
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
