using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>
/// CLUSTER, READONLY, READWRITE and ASKING as Redis 7.0 answers them with cluster-enabled no: every subcommand, with
/// its own arity, answers "This instance has cluster support disabled" (clusterCommand, readonlyCommand). A client
/// that probes for a cluster (CLUSTER SLOTS, CLUSTER INFO) gets the answer it knows from Redis instead of an unknown
/// command; an unknown subcommand or a wrong arity gets Redis's error before that.
/// </summary>
internal static class ClusterCommands
{
    private const string Disabled = "ERR This instance has cluster support disabled";
    private const CommandFlags AdminStale = Admin | Stale, Changes = Admin | Stale | NoAsyncLoading;

    public static void Register(CommandTable t)
    {
        t.AddContainer(new() { Name = "cluster", Arity = -2, Group = "cluster", Since = "3.0.0", Summary = "A container for cluster commands" },
            Sub("info", 2, Stale), Sub("myid", 2, Stale), Sub("help", 2, Loading | Stale), Sub("slaves", 3, AdminStale),
            Sub("forget", 3, Changes), Sub("getkeysinslot", 4, Stale), Sub("replicas", 3, AdminStale), Sub("slots", 2, Stale),
            Sub("replicate", 3, Changes), Sub("flushslots", 2, Changes), Sub("keyslot", 3, Stale), Sub("set-config-epoch", 3, Changes),
            Sub("shards", 2, Stale), Sub("count-failure-reports", 3, AdminStale), Sub("meet", -4, Changes), Sub("nodes", 2, Stale),
            Sub("delslots", -3, Changes), Sub("saveconfig", 2, Changes), Sub("setslot", -4, Changes), Sub("countkeysinslot", 3, Stale),
            Sub("failover", -2, Changes), Sub("addslotsrange", -4, Changes), Sub("reset", -2, Admin | NoScript | Stale), Sub("addslots", -3, Changes),
            Sub("links", 2, Stale), Sub("delslotsrange", -4, Changes), Sub("bumpepoch", 2, Changes));
        t.Add(new() { Name = "readonly", Arity = 1, Flags = Loading | Stale | Fast, Handler = Reply, Group = "cluster", GroupAcl = AclCategory.Connection, Since = "3.0.0", Summary = "Enables read queries for a connection to a cluster replica node" });
        t.Add(new() { Name = "readwrite", Arity = 1, Flags = Loading | Stale | Fast, Handler = Reply, Group = "cluster", GroupAcl = AclCategory.Connection, Since = "3.0.0", Summary = "Disables read queries for a connection to a cluster replica node" });
        t.Add(new() { Name = "asking", Arity = 1, Flags = Fast, Handler = Reply, Group = "cluster", GroupAcl = AclCategory.Connection, Since = "3.0.0", Summary = "Sent by cluster clients after an -ASK redirect" });
    }

    private static CommandDef Sub(string name, int arity, CommandFlags flags) =>
        new() { Name = name, Arity = arity, Flags = flags, Handler = Reply, Group = "cluster", Since = "3.0.0" };

    private static void Reply(CommandContext x) => x.Reply.Error(Disabled);
}
