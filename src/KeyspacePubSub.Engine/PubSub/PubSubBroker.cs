using System.Buffers;
using KeyspacePubSub.Protocol;

namespace KeyspacePubSub.Engine.PubSub;

/// <summary>Where the broker hands a finished frame for one subscriber.</summary>
public interface IPushSink
{
    /// <summary>
    /// <paramref name="frame"/> is RESP2-encoded; the sink swaps the first byte for '>' on RESP3 clients. When
    /// <paramref name="shared"/> is given, an output that can refer to a frame takes its shared copy instead.
    /// </summary>
    void Deliver(Client client, ReadOnlySpan<byte> frame, SharedFrames? shared = null);
}

/// <summary>
/// Channels, patterns and shard channels → subscribers, and fan-out. Each message frame is encoded once
/// and the same bytes are appended to every subscriber's buffer (frames of 1 KiB or more: one shared,
/// reference-counted copy per protocol, where the output can refer to it); publishing never waits for a socket.
/// Empty channels and patterns are deleted, as in src/pubsub.c.
/// </summary>
public sealed class PubSubBroker
{
    private readonly Dictionary<byte[], SubscriberList> _channels = new(ByteKeyComparer.Instance);
    private readonly Dictionary<byte[], SubscriberList> _shardChannels = new(ByteKeyComparer.Instance);
    private readonly Dictionary<byte[], SubscriberList>.AlternateLookup<ReadOnlySpan<byte>> _channelLookup;
    private readonly Dictionary<byte[], SubscriberList>.AlternateLookup<ReadOnlySpan<byte>> _shardLookup;
    private readonly PatternIndex _patterns = new();
    private readonly IPushSink _sink;
    private readonly ArrayBufferWriter<byte> _frame = new(512);
    private readonly SharedFrames _shared;
    private readonly RespWriter _frameWriter;
    private readonly List<PatternEntry> _matches = [];

    public PubSubBroker(IPushSink sink)
    {
        _sink = sink;
        _frameWriter = new RespWriter(_frame, 2);
        _shared = new SharedFrames(_frame);
        _channelLookup = _channels.GetAlternateLookup<ReadOnlySpan<byte>>();
        _shardLookup = _shardChannels.GetAlternateLookup<ReadOnlySpan<byte>>();
    }

    public int ChannelCount => _channels.Count;
    public int PatternCount => _patterns.Count;
    public int ShardChannelCount => _shardChannels.Count;

    /// <summary>Adds a subscription; false when the client already had it (Redis still confirms it).</summary>
    public bool Subscribe(Client client, SubscriptionKind kind, ReadOnlySpan<byte> name)
    {
        var mine = client.Subs.OfOrCreate(kind);
        if (mine.GetAlternateLookup<ReadOnlySpan<byte>>().ContainsKey(name)) return false;
        SubscriberList list;
        if (kind == SubscriptionKind.Pattern)
        {
            list = _patterns.GetOrAdd(name);
        }
        else
        {
            var lookup = kind == SubscriptionKind.Channel ? _channelLookup : _shardLookup;
            if (!lookup.TryGetValue(name, out list!))
            {
                list = new SubscriberList(name.ToArray());
                lookup.Dictionary.Add(list.Name, list);
            }
        }
        mine.Add(list.Name, list.Add(client));
        return true;
    }

    /// <summary>Removes a subscription; false when the client did not have it.</summary>
    public bool Unsubscribe(Client client, SubscriptionKind kind, ReadOnlySpan<byte> name)
    {
        var table = client.Subs.Find(kind);
        if (table is null || !table.GetAlternateLookup<ReadOnlySpan<byte>>().Remove(name, out _, out var sub)) return false;
        client.Subs.DropIfEmpty(kind);
        var list = sub.Owner;
        list.Remove(sub);
        if (list.Count == 0)
        {
            switch (kind)
            {
                case SubscriptionKind.Pattern: _patterns.Remove((PatternEntry)list); break;
                case SubscriptionKind.Channel: _channels.Remove(list.Name); break;
                default: _shardChannels.Remove(list.Name); break;
            }
        }
        return true;
    }

    /// <summary>
    /// Gives back the channel tables' arrays when their channels fill under a tenth of them (over 4,096 slots), as
    /// Redis shrinks a dict under 10% full: a table stays at the most channels it ever held (200,000 channels
    /// subscribed to and left kept 9 MB). The cron, between commands.
    /// </summary>
    public void TrimIfSparse()
    {
        Trim(_channels);
        Trim(_shardChannels);

        static void Trim(Dictionary<byte[], SubscriberList> table)
        {
            if (table.EnsureCapacity(0) is > 4096 and var capacity && table.Count * 10L < capacity) table.TrimExcess();
        }
    }

    /// <summary>The channel tables' slots (tests).</summary>
    internal (int Channels, int ShardChannels) TableCapacity => (_channels.EnsureCapacity(0), _shardChannels.EnsureCapacity(0));

    /// <summary>The names a client holds of one kind, in a stable order (a copy, safe to unsubscribe from).</summary>
    public List<byte[]> NamesOf(Client client, SubscriptionKind kind) => client.Subs.Find(kind) is { } table ? [.. table.Keys] : [];

    /// <summary>Drops every subscription of a disconnecting client without writing anything.</summary>
    public void RemoveClient(Client client)
    {
        foreach (var kind in (ReadOnlySpan<SubscriptionKind>)[SubscriptionKind.Channel, SubscriptionKind.Pattern, SubscriptionKind.ShardChannel])
        {
            if (client.Subs.Find(kind) is null) continue; // (most clients: nothing to copy)
            foreach (var name in NamesOf(client, kind)) Unsubscribe(client, kind, name);
        }
    }

    public int NumSub(SubscriptionKind kind, ReadOnlySpan<byte> channel)
    {
        var lookup = kind == SubscriptionKind.ShardChannel ? _shardLookup : _channelLookup;
        return lookup.TryGetValue(channel, out var list) ? list.Count : 0;
    }

    public IEnumerable<byte[]> ChannelNames(SubscriptionKind kind) =>
        (kind == SubscriptionKind.ShardChannel ? _shardChannels : _channels).Keys;

    /// <summary>
    /// Delivers to exact subscribers, then (not for shard channels) to each unique matching pattern's
    /// subscribers; returns the number of deliveries, as PUBLISH replies.
    /// </summary>
    public int Publish(ReadOnlySpan<byte> channel, ReadOnlySpan<byte> message, bool shard)
    {
        int receivers = 0;
        var lookup = shard ? _shardLookup : _channelLookup;
        if (lookup.TryGetValue(channel, out var list))
        {
            _frame.ResetWrittenCount();
            _frameWriter.Array(3);
            _frameWriter.Raw(shard ? "$8\r\nsmessage\r\n"u8 : "$7\r\nmessage\r\n"u8);
            _frameWriter.Bulk(channel);
            _frameWriter.Bulk(message);
            receivers += DeliverAll(list);
        }
        if (shard || _patterns.Count == 0) return receivers;

        _matches.Clear();
        _patterns.CollectMatches(channel, _matches);
        foreach (var entry in _matches)
        {
            _frame.ResetWrittenCount();
            _frameWriter.Array(4);
            _frameWriter.Raw("$8\r\npmessage\r\n"u8);
            _frameWriter.Bulk(entry.Name);
            _frameWriter.Bulk(channel);
            _frameWriter.Bulk(message);
            receivers += DeliverAll(entry);
        }
        _matches.Clear();
        return receivers;
    }

    private int DeliverAll(SubscriberList list)
    {
        var frame = _frame.WrittenSpan;
        if (frame.Length < SharedFrame.MinLength || frame.Length > SharedFrame.MaxLength || list.Count < 2)
        {
            foreach (var sub in list.Items) _sink.Deliver(sub.Client, frame);
            return list.Count;
        }
        try
        {
            foreach (var sub in list.Items) _sink.Deliver(sub.Client, frame, _shared);
        }
        finally
        {
            _shared.Release();
        }
        return list.Count;
    }
}
