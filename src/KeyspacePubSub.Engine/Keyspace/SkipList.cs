namespace KeyspacePubSub.Engine.Keyspace;

/// <summary>
/// Redis's zskiplist (src/t_zset.c): members ordered by (score, member bytes), every forward link
/// carrying its span so that rank lookups and rank ranges are O(log n).
/// </summary>
public sealed class SkipList
{
    public const int MaxLevel = 32;
    private const double P = 0.25;

    /// <summary>One level of a node (zskiplistLevel): the next node at that level and how many ranks it skips.</summary>
    public struct Link
    {
        public Node? Forward;
        public long Span;
    }

    /// <summary>
    /// A member and its levels. Redis holds the levels inline in the node; here the first is a field and the
    /// others (a quarter of the nodes have any) an array: an array for every node cost 40 bytes or more per
    /// member, and one more object for the collector to trace.
    /// </summary>
    public sealed class Node(int level, double score, byte[]? member)
    {
        /// <summary>Changed only by <see cref="UpdateScore"/>, which moves the node to its new place.</summary>
        public double Score { get; internal set; } = score;
        public readonly byte[]? Member = member;
        public Node? Backward;
        private Link _first;
        private readonly Link[]? _upper = level > 1 ? new Link[level - 1] : null;

        /// <summary>How many levels the node is linked at (drawn once, when it was made).</summary>
        public int Levels => _upper is null ? 1 : _upper.Length + 1;

        /// <summary>Level <paramref name="i"/> (0 .. Levels-1).</summary>
        public ref Link Level(int i) => ref i == 0 ? ref _first : ref _upper![i - 1];

        // The sorted set's member table (SortedSetValue), chained through the nodes themselves: the next node in
        // this one's bucket, the member's hash, and its slot in the set's dense array (ZSCAN).
        internal Node? HashNext;
        internal int Hash;
        internal int Slot;

        public Node? Next => _first.Forward;
    }

    private readonly Node _header = new(MaxLevel, 0, null);
    private Node? _tail;
    private int _level = 1;

    public long Length { get; private set; }

    public Node? First => _header.Level(0).Forward;

    public Node? Last => _tail;

    /// <summary>sdscmp: unsigned bytes, then length.</summary>
    public static int Compare(double s1, byte[] m1, double s2, byte[] m2) =>
        s1 < s2 ? -1 : s1 > s2 ? 1 : m1.AsSpan().SequenceCompareTo(m2);

    private static bool Before(Node n, double score, byte[] member) =>
        n.Score < score || (n.Score == score && n.Member.AsSpan().SequenceCompareTo(member) < 0);

    // The path of nodes a change passes (zslInsert's update[]): one per thread, as a new 32-slot array for every
    // insert and delete was most of a ZADD's garbage. Changes do not nest, and each fills the slots it reads.
    [ThreadStatic]
    private static Node[]? t_update;

    private static Node[] Scratch() => t_update ??= new Node[MaxLevel];

    private static int RandomLevel()
    {
        int level = 1;
        while (level < MaxLevel && Random.Shared.NextDouble() < P) level++;
        return level;
    }

    /// <summary>Inserts a member that is not present.</summary>
    public Node Insert(double score, byte[] member) => LinkIn(new Node(RandomLevel(), score, member));

    /// <summary>Links a node that is in no list at the place of its score and member (zslInsert, its level already drawn).</summary>
    private Node LinkIn(Node node)
    {
        double score = node.Score;
        byte[] member = node.Member!;
        Span<long> rank = stackalloc long[MaxLevel];
        var update = Scratch();
        var x = _header;
        for (int i = _level - 1; i >= 0; i--)
        {
            rank[i] = i == _level - 1 ? 0 : rank[i + 1];
            while (x.Level(i).Forward is { } f && Before(f, score, member))
            {
                rank[i] += x.Level(i).Span;
                x = f;
            }
            update[i] = x;
        }
        int level = node.Levels;
        if (level > _level)
        {
            for (int i = _level; i < level; i++)
            {
                rank[i] = 0;
                update[i] = _header;
                update[i].Level(i).Span = Length;
            }
            _level = level;
        }
        for (int i = 0; i < level; i++)
        {
            node.Level(i).Forward = update[i].Level(i).Forward;
            update[i].Level(i).Forward = node;
            node.Level(i).Span = update[i].Level(i).Span - (rank[0] - rank[i]);
            update[i].Level(i).Span = (rank[0] - rank[i]) + 1;
        }
        for (int i = level; i < _level; i++) update[i].Level(i).Span++;
        node.Backward = update[0] == _header ? null : update[0];
        if (node.Level(0).Forward is { } next) next.Backward = node;
        else _tail = node;
        Length++;
        return node;
    }

    /// <summary>
    /// An empty list takes members already in order (ascending score, then member bytes; no two equal), each
    /// linked after the last: the links and spans zslInsert leaves, without its search (a sorted set loaded at
    /// start). A level's last link spans the nodes after it, as zslInsert keeps it.
    /// </summary>
    public void BuildInOrder(ReadOnlySpan<byte[]> members, ReadOnlySpan<double> scores)
    {
        if (Length != 0) throw new InvalidOperationException("only an empty skiplist is built in order");
        var last = Scratch();
        Span<long> lastRank = stackalloc long[MaxLevel];
        for (int i = 0; i < MaxLevel; i++) last[i] = _header;
        Node? previous = null;
        long rank = 0;
        for (int m = 0; m < members.Length; m++)
        {
            rank++;
            int level = RandomLevel();
            if (level > _level) _level = level;
            var node = new Node(level, scores[m], members[m]) { Backward = previous };
            for (int i = 0; i < level; i++)
            {
                last[i].Level(i).Forward = node;
                last[i].Level(i).Span = rank - lastRank[i];
                last[i] = node;
                lastRank[i] = rank;
            }
            previous = node;
        }
        for (int i = 0; i < _level; i++) last[i].Level(i).Span = rank - lastRank[i];
        _tail = previous;
        Length = rank;
    }

    private void Unlink(Node x, Node[] update)
    {
        for (int i = 0; i < _level; i++)
        {
            if (update[i].Level(i).Forward == x)
            {
                update[i].Level(i).Span += x.Level(i).Span - 1;
                update[i].Level(i).Forward = x.Level(i).Forward;
            }
            else
            {
                update[i].Level(i).Span--;
            }
        }
        if (x.Level(0).Forward is { } next) next.Backward = x.Backward;
        else _tail = x.Backward;
        while (_level > 1 && _header.Level(_level - 1).Forward == null) _level--;
        Length--;
    }

    /// <summary>Removes the member with this score; false when absent.</summary>
    public bool Delete(double score, byte[] member)
    {
        if (Find(score, member, Scratch()) is not { } target) return false;
        Unlink(target, Scratch());
        return true;
    }

    /// <summary>The member's node, with the path to it in <paramref name="update"/> (each level's last node before it); null when absent.</summary>
    private Node? Find(double score, byte[] member, Node[] update)
    {
        var x = _header;
        for (int i = _level - 1; i >= 0; i--)
        {
            while (x.Level(i).Forward is { } f && Before(f, score, member)) x = f;
            update[i] = x;
        }
        var target = x.Level(0).Forward;
        return target is not null && target.Score == score && target.Member.AsSpan().SequenceEqual(member) ? target : null;
    }

    /// <summary>
    /// Moves a present member from <paramref name="score"/> to <paramref name="newScore"/> (zslUpdateScore): in
    /// place when its neighbours still bracket the new score, else unlinked and linked again at its new place.
    /// Either way the node stays the same object (Redis frees it and allocates another), so a rescore makes no
    /// garbage and no young node for the collector to copy.
    /// </summary>
    public Node UpdateScore(double score, byte[] member, double newScore)
    {
        var update = Scratch();
        var x = Find(score, member, update) ?? throw new InvalidOperationException("the member to rescore is not in the list");
        if ((x.Backward is null || x.Backward.Score < newScore) && (x.Next is null || x.Next.Score > newScore))
        {
            x.Score = newScore;
            return x;
        }
        Unlink(x, update);
        x.Score = newScore;
        return LinkIn(x);
    }

    /// <summary>1-based rank of the member, 0 when absent.</summary>
    public long GetRank(double score, byte[] member)
    {
        long rank = 0;
        var x = _header;
        for (int i = _level - 1; i >= 0; i--)
        {
            while (x.Level(i).Forward is { } f && (Before(f, score, member) || (f.Score == score && f.Member.AsSpan().SequenceEqual(member))))
            {
                rank += x.Level(i).Span;
                x = f;
            }
            if (x.Member != null && x.Score == score && x.Member.AsSpan().SequenceEqual(member)) return rank;
        }
        return 0;
    }

    /// <summary>The node at a 1-based rank, or null.</summary>
    public Node? GetByRank(long rank)
    {
        long traversed = 0;
        var x = _header;
        for (int i = _level - 1; i >= 0; i--)
        {
            while (x.Level(i).Forward is { } f && traversed + x.Level(i).Span <= rank)
            {
                traversed += x.Level(i).Span;
                x = f;
            }
            if (traversed == rank) return x == _header ? null : x;
        }
        return null;
    }

    /// <summary>The first node inside the range, or null.</summary>
    public Node? FirstInRange(in ZRange range)
    {
        if (!range.IsNonEmpty()) return null;
        if (_tail is null || !range.AboveMin(_tail) || First is not { } first || !range.BelowMax(first)) return null;
        var x = _header;
        for (int i = _level - 1; i >= 0; i--)
        {
            while (x.Level(i).Forward is { } f && !range.AboveMin(f)) x = f;
        }
        var n = x.Level(0).Forward!;
        return range.BelowMax(n) ? n : null;
    }

    /// <summary>The last node inside the range, or null.</summary>
    public Node? LastInRange(in ZRange range)
    {
        if (!range.IsNonEmpty()) return null;
        if (_tail is null || !range.AboveMin(_tail) || First is not { } first || !range.BelowMax(first)) return null;
        var x = _header;
        for (int i = _level - 1; i >= 0; i--)
        {
            while (x.Level(i).Forward is { } f && range.BelowMax(f)) x = f;
        }
        return range.AboveMin(x) ? x : null;
    }

    /// <summary>Deletes every node in the range, calling <paramref name="removed"/> for each; returns the count.</summary>
    public long DeleteRange(in ZRange range, Action<Node> removed)
    {
        if (!range.IsNonEmpty()) return 0;
        var update = Scratch();
        var x = _header;
        for (int i = _level - 1; i >= 0; i--)
        {
            while (x.Level(i).Forward is { } f && !range.AboveMin(f)) x = f;
            update[i] = x;
        }
        long deleted = 0;
        var n = x.Level(0).Forward;
        while (n != null && range.BelowMax(n))
        {
            var next = n.Level(0).Forward;
            Unlink(n, update);
            removed(n);
            deleted++;
            n = next;
        }
        return deleted;
    }

    /// <summary>Deletes ranks start..end (1-based, inclusive).</summary>
    public long DeleteRangeByRank(long start, long end, Action<Node> removed)
    {
        var update = Scratch();
        long traversed = 0;
        var x = _header;
        for (int i = _level - 1; i >= 0; i--)
        {
            while (x.Level(i).Forward is { } f && traversed + x.Level(i).Span < start)
            {
                traversed += x.Level(i).Span;
                x = f;
            }
            update[i] = x;
        }
        traversed++;
        long deleted = 0;
        var n = x.Level(0).Forward;
        while (n != null && traversed <= end)
        {
            var next = n.Level(0).Forward;
            Unlink(n, update);
            removed(n);
            deleted++;
            traversed++;
            n = next;
        }
        return deleted;
    }
}
