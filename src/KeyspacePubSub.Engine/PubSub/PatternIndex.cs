namespace KeyspacePubSub.Engine.PubSub;

/// <summary>A unique pattern and the clients subscribed to it.</summary>
public sealed class PatternEntry(byte[] pattern) : SubscriberList(pattern)
{
    public int PrefixLength { get; } = GlobPattern.LiteralPrefixLength(pattern);
}

/// <summary>
/// Unique patterns indexed by their literal prefix, so a publish only runs the matcher on patterns whose
/// prefix is a prefix of the channel (plus those starting with a wildcard). Redis scans every pattern.
/// </summary>
public sealed class PatternIndex
{
    private readonly Dictionary<byte[], PatternEntry> _all = new(ByteKeyComparer.Instance);
    private readonly Dictionary<byte[], List<PatternEntry>> _byPrefix = new(ByteKeyComparer.Instance);
    private readonly Dictionary<byte[], List<PatternEntry>>.AlternateLookup<ReadOnlySpan<byte>> _prefixLookup;
    private readonly Dictionary<byte[], PatternEntry>.AlternateLookup<ReadOnlySpan<byte>> _allLookup;
    private readonly List<PatternEntry> _unprefixed = [];
    private readonly SortedDictionary<int, int> _prefixLengths = [];
    private int[] _lengths = [];

    public PatternIndex()
    {
        _prefixLookup = _byPrefix.GetAlternateLookup<ReadOnlySpan<byte>>();
        _allLookup = _all.GetAlternateLookup<ReadOnlySpan<byte>>();
    }

    public int Count => _all.Count;

    public IEnumerable<PatternEntry> All => _all.Values;

    public PatternEntry? Find(ReadOnlySpan<byte> pattern) => _allLookup.TryGetValue(pattern, out var e) ? e : null;

    public PatternEntry GetOrAdd(ReadOnlySpan<byte> pattern)
    {
        if (_allLookup.TryGetValue(pattern, out var existing)) return existing;
        var entry = new PatternEntry(pattern.ToArray());
        _all.Add(entry.Name, entry);
        if (entry.PrefixLength == 0)
        {
            _unprefixed.Add(entry);
            return entry;
        }
        var prefix = entry.Name.AsSpan(0, entry.PrefixLength);
        if (!_prefixLookup.TryGetValue(prefix, out var list))
        {
            list = [];
            _byPrefix.Add(prefix.ToArray(), list);
        }
        list.Add(entry);
        _prefixLengths[entry.PrefixLength] = _prefixLengths.GetValueOrDefault(entry.PrefixLength) + 1;
        if (_prefixLengths[entry.PrefixLength] == 1) _lengths = [.. _prefixLengths.Keys];
        return entry;
    }

    /// <summary>Drops a pattern nobody subscribes to any more.</summary>
    public void Remove(PatternEntry entry)
    {
        _all.Remove(entry.Name);
        if (entry.PrefixLength == 0)
        {
            _unprefixed.Remove(entry);
            return;
        }
        var prefix = entry.Name.AsSpan(0, entry.PrefixLength);
        var list = _prefixLookup[prefix];
        list.Remove(entry);
        if (list.Count == 0) _prefixLookup.Remove(prefix);
        if (--_prefixLengths[entry.PrefixLength] == 0)
        {
            _prefixLengths.Remove(entry.PrefixLength);
            _lengths = [.. _prefixLengths.Keys];
        }
    }

    /// <summary>Adds every unique pattern matching <paramref name="channel"/> to <paramref name="matches"/>.</summary>
    public void CollectMatches(ReadOnlySpan<byte> channel, List<PatternEntry> matches)
    {
        foreach (int len in _lengths)
        {
            if (len > channel.Length) break;
            if (!_prefixLookup.TryGetValue(channel[..len], out var list)) continue;
            foreach (var entry in list)
            {
                if (GlobPattern.IsMatch(entry.Name, channel)) matches.Add(entry);
            }
        }
        foreach (var entry in _unprefixed)
        {
            if (GlobPattern.IsMatch(entry.Name, channel)) matches.Add(entry);
        }
    }
}
