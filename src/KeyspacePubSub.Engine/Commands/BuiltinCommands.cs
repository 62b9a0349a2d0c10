namespace KeyspacePubSub.Engine.Commands;

/// <summary>The complete command table, one registration call per command family.</summary>
public static class BuiltinCommands
{
    public static CommandTable Create()
    {
        var t = new CommandTable();
        ConnectionCommands.Register(t);
        ClientCommands.Register(t);
        ServerCommands.Register(t);
        LolwutCommand.Register(t);
        SaveCommands.Register(t);
        SlowlogCommand.Register(t);
        AclCommand.Register(t);
        LatencyCommand.Register(t);
        ConfigCommands.Register(t);
        InfoCommand.Register(t);
        CommandCommand.Register(t);
        PubSubCommands.Register(t);
        StringCommands.Register(t);
        BitRangeCommands.Register(t);
        BitSearchCommands.Register(t);
        BitFieldCommand.Register(t);
        HyperLogLogCommands.Register(t);
        LcsCommand.Register(t);
        KeyCommands.Register(t);
        KeyMoveCommands.Register(t);
        DumpRestoreCommands.Register(t);
        MigrateCommand.Register(t);
        ObjectCommand.Register(t);
        MemoryCommand.Register(t);
        ClusterCommands.Register(t);
        ListCommands.Register(t);
        BlockingCommands.Register(t);
        HashCommands.Register(t);
        SetCommands.Register(t);
        SortedSetCommands.Register(t);
        GeoCommands.Register(t);
        SortedSetRangeCommands.Register(t);
        SortedSetAlgebraCommands.Register(t);
        SortCommand.Register(t);
        StreamCommands.Register(t);
        ZRandMemberCommand.Register(t);
        TransactionCommands.Register(t);
        ScriptingCommands.Register(t);
        FunctionCommands.Register(t);
        return t;
    }
}
