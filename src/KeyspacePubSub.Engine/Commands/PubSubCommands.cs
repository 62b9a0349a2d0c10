using KeyspacePubSub.Engine.PubSub;
using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>(P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, (S)PUBLISH, PUBSUB (src/pubsub.c).</summary>
internal static class PubSubCommands
{
    private static readonly byte[][] SubscribeKinds = ["subscribe"u8.ToArray(), "psubscribe"u8.ToArray(), "ssubscribe"u8.ToArray()];
    private static readonly byte[][] UnsubscribeKinds = ["unsubscribe"u8.ToArray(), "punsubscribe"u8.ToArray(), "sunsubscribe"u8.ToArray()];

    public static void Register(CommandTable t)
    {
        const CommandFlags Sub = CommandFlags.PubSub | NoScript | Loading | Stale | SubscribedContext;
        t.Add(new() { Name = "subscribe", Arity = -2, Flags = Sub, Handler = static (CommandContext x) => Subscribe(x, SubscriptionKind.Channel), Group = "pubsub", Since = "2.0.0", Summary = "Listens for messages published to channels." });
        t.Add(new() { Name = "psubscribe", Arity = -2, Flags = Sub, Handler = static (CommandContext x) => Subscribe(x, SubscriptionKind.Pattern), Group = "pubsub", Since = "2.0.0", Summary = "Listens for messages published to channels that match one or more patterns." });
        t.Add(new() { Name = "ssubscribe", Arity = -2, Flags = Sub, Handler = static (CommandContext x) => Subscribe(x, SubscriptionKind.ShardChannel), Group = "pubsub", Since = "7.0.0", FirstKey = 1, LastKey = -1, Step = 1, Summary = "Listens for messages published to shard channels." });
        t.Add(new() { Name = "unsubscribe", Arity = -1, Flags = Sub, Handler = static (CommandContext x) => Unsubscribe(x, SubscriptionKind.Channel), Group = "pubsub", Since = "2.0.0", Summary = "Stops listening to messages posted to channels." });
        t.Add(new() { Name = "punsubscribe", Arity = -1, Flags = Sub, Handler = static (CommandContext x) => Unsubscribe(x, SubscriptionKind.Pattern), Group = "pubsub", Since = "2.0.0", Summary = "Stops listening to messages published to channels that match one or more patterns." });
        t.Add(new() { Name = "sunsubscribe", Arity = -1, Flags = Sub, Handler = static (CommandContext x) => Unsubscribe(x, SubscriptionKind.ShardChannel), Group = "pubsub", Since = "7.0.0", FirstKey = 1, LastKey = -1, Step = 1, Summary = "Stops listening to messages posted to shard channels." });
        t.Add(new() { Name = "publish", Arity = 3, Flags = CommandFlags.PubSub | Loading | Stale | Fast | MayReplicate, Handler = static (CommandContext x) => x.Reply.Integer(x.Engine.Broker.Publish(x.Args[1], x.Args[2], shard: false)), Group = "pubsub", Since = "2.0.0", Summary = "Posts a message to a channel." });
        t.Add(new() { Name = "spublish", Arity = 3, Flags = CommandFlags.PubSub | Loading | Stale | Fast | MayReplicate, Handler = static (CommandContext x) => x.Reply.Integer(x.Engine.Broker.Publish(x.Args[1], x.Args[2], shard: true)), Group = "pubsub", Since = "7.0.0", FirstKey = 1, LastKey = 1, Step = 1, Summary = "Post a message to a shard channel" });
        const CommandFlags Intro = CommandFlags.PubSub | Loading | Stale;
        t.AddContainer(new() { Name = "pubsub", Arity = -2, Group = "pubsub", Since = "2.8.0", Summary = "A container for Pub/Sub commands." },
            new() { Name = "channels", Arity = -2, Flags = Intro, Handler = static (CommandContext x) => Channels(x, SubscriptionKind.Channel), Group = "pubsub", Since = "2.8.0" },
            new() { Name = "numsub", Arity = -2, Flags = Intro, Handler = static (CommandContext x) => NumSub(x, SubscriptionKind.Channel), Group = "pubsub", Since = "2.8.0" },
            new() { Name = "numpat", Arity = 2, Flags = Intro, Handler = static (CommandContext x) => x.Reply.Integer(x.Engine.Broker.PatternCount), Group = "pubsub", Since = "2.8.0" },
            new() { Name = "shardchannels", Arity = -2, Flags = Intro, Handler = static (CommandContext x) => Channels(x, SubscriptionKind.ShardChannel), Group = "pubsub", Since = "7.0.0" },
            new() { Name = "shardnumsub", Arity = -2, Flags = Intro, Handler = static (CommandContext x) => NumSub(x, SubscriptionKind.ShardChannel), Group = "pubsub", Since = "7.0.0" },
            new() { Name = "help", Arity = 2, Flags = Loading | Stale, Handler = HelpReply, Group = "pubsub", Since = "6.2.0" });
    }

    private static void Subscribe(CommandContext x, SubscriptionKind kind)
    {
        var c = x.Client;
        if (kind == SubscriptionKind.ShardChannel && c.InMulti)
        {
            // As ssubscribeCommand: inside EXEC the client is CLIENT_DENY_BLOCKING; (P)SUBSCRIBE are let through
            // there for backward compatibility, SSUBSCRIBE is not.
            x.Reply.Error("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client");
            return;
        }
        for (int i = 1; i < x.Args.Count; i++)
        {
            x.Engine.Broker.Subscribe(c, kind, x.Args[i]);
            // As Redis: one confirmation per argument, even for a repeated name.
            Confirm(c, SubscribeKinds[(int)kind], x.Args[i], c.Subs.CountFor(kind));
        }
    }

    private static void Unsubscribe(CommandContext x, SubscriptionKind kind)
    {
        var c = x.Client;
        var broker = x.Engine.Broker;
        var frameKind = UnsubscribeKinds[(int)kind];
        if (x.Args.Count > 1)
        {
            for (int i = 1; i < x.Args.Count; i++)
            {
                broker.Unsubscribe(c, kind, x.Args[i]);
                Confirm(c, frameKind, x.Args[i], c.Subs.CountFor(kind));
            }
            return;
        }
        var names = broker.NamesOf(c, kind);
        foreach (var name in names)
        {
            broker.Unsubscribe(c, kind, name);
            Confirm(c, frameKind, name, c.Subs.CountFor(kind));
        }
        // As Redis: with nothing of this kind subscribed, still one frame with a null name.
        if (names.Count == 0) Confirm(c, frameKind, null, c.Subs.CountFor(kind));
    }

    private static void Confirm(Client c, byte[] kind, ReadOnlySpan<byte> name, int count) => Confirm(c, kind, name, count, nullName: false);

    private static void Confirm(Client c, byte[] kind, byte[]? name, int count) => Confirm(c, kind, name, count, name is null);

    private static void Confirm(Client c, byte[] kind, ReadOnlySpan<byte> name, int count, bool nullName)
    {
        var w = c.Pushes;
        w.Push(3);
        w.Bulk(kind);
        if (nullName) w.NullBulk();
        else w.Bulk(name);
        w.Integer(count);
    }

    private static void Channels(CommandContext x, SubscriptionKind kind)
    {
        if (x.Args.Count > 3)
        {
            SubcommandSyntaxError(x);
            return;
        }
        var names = x.Engine.Broker.ChannelNames(kind);
        if (x.Args.Count == 3)
        {
            var pattern = x.Args.ToArray(2);
            names = names.Where(n => GlobPattern.IsMatch(pattern, n));
        }
        var list = names.ToList();
        x.Reply.Array(list.Count);
        foreach (var n in list) x.Reply.Bulk(n);
    }

    private static void NumSub(CommandContext x, SubscriptionKind kind)
    {
        // A flat array even in RESP3, as Redis 7.0.
        x.Reply.Array((x.Args.Count - 2) * 2);
        for (int i = 2; i < x.Args.Count; i++)
        {
            x.Reply.Bulk(x.Args[i]);
            x.Reply.Integer(x.Engine.Broker.NumSub(kind, x.Args[i]));
        }
    }

    internal static void SubcommandSyntaxError(CommandContext x) =>
        x.Reply.Error($"ERR unknown subcommand or wrong number of arguments for '{Errors.Truncate(Errors.CText(x.Args[1]), 128)}'. Try {CommandTable.Latin1(x.Args[0]).ToUpperInvariant()} HELP.");

    private static void HelpReply(CommandContext x) => Help.Reply(x.Reply, "PUBSUB",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)");
}
