namespace KeyspacePubSub.Engine.PubSub;

/// <summary>The kinds of subscription Redis keeps apart (pubsubtype in src/pubsub.c).</summary>
public enum SubscriptionKind { Channel, Pattern, ShardChannel }

/// <summary>
/// A client's side of its subscriptions (client → channels), the mirror of the broker's channel → clients.
/// A kind's table exists only while the client holds a subscription of that kind: most connections never
/// subscribe, a subscriber rarely uses all three kinds, and a client that unsubscribed from everything keeps
/// nothing of the (possibly large) table it had.
/// </summary>
public sealed class Subscriptions
{
    private Dictionary<byte[], Subscription>? _channels, _patterns, _shardChannels;

    public int Channels => _channels?.Count ?? 0;
    public int Patterns => _patterns?.Count ?? 0;
    public int ShardChannels => _shardChannels?.Count ?? 0;

    /// <summary>Everything that keeps a client in pub/sub mode.</summary>
    public int Total => Channels + Patterns + ShardChannels;

    /// <summary>The count Redis reports in (un)subscribe confirmations of this kind.</summary>
    public int CountFor(SubscriptionKind kind) => kind == SubscriptionKind.ShardChannel ? ShardChannels : Channels + Patterns;

    /// <summary>The kind's table, or null while the client holds none of that kind.</summary>
    internal Dictionary<byte[], Subscription>? Find(SubscriptionKind kind) => Slot(kind);

    /// <summary>The kind's table, made on the client's first subscription of that kind.</summary>
    internal Dictionary<byte[], Subscription> OfOrCreate(SubscriptionKind kind) => Slot(kind) ??= new(ByteKeyComparer.Instance);

    /// <summary>After a removal: drops the kind's table once it is empty.</summary>
    internal void DropIfEmpty(SubscriptionKind kind)
    {
        ref var table = ref Slot(kind);
        if (table is { Count: 0 }) table = null;
    }

    private ref Dictionary<byte[], Subscription>? Slot(SubscriptionKind kind)
    {
        switch (kind)
        {
            case SubscriptionKind.Channel: return ref _channels;
            case SubscriptionKind.Pattern: return ref _patterns;
            default: return ref _shardChannels;
        }
    }
}
