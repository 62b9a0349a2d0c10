namespace KeyspacePubSub.Engine.PubSub;

/// <summary>The kinds of subscription Redis keeps apart (pubsubtype in src/pubsub.c).</summary>
public enum SubscriptionKind { Channel, Pattern, ShardChannel }

/// <summary>A client's side of its subscriptions (client → channels), the mirror of the broker's channel → clients.</summary>
public sealed class Subscriptions
{
    private readonly Dictionary<byte[], Subscription>[] _byKind =
    [
        new(ByteKeyComparer.Instance),
        new(ByteKeyComparer.Instance),
        new(ByteKeyComparer.Instance),
    ];

    public int Channels => _byKind[0].Count;
    public int Patterns => _byKind[1].Count;
    public int ShardChannels => _byKind[2].Count;

    /// <summary>Everything that keeps a client in pub/sub mode.</summary>
    public int Total => Channels + Patterns + ShardChannels;

    /// <summary>The count Redis reports in (un)subscribe confirmations of this kind.</summary>
    public int CountFor(SubscriptionKind kind) => kind == SubscriptionKind.ShardChannel ? ShardChannels : Channels + Patterns;

    internal Dictionary<byte[], Subscription> Of(SubscriptionKind kind) => _byKind[(int)kind];
}
