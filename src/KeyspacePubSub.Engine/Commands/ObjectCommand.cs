using KeyspacePubSub.Engine.Config;
using KeyspacePubSub.Engine.Keyspace;
using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>OBJECT ENCODING / REFCOUNT / IDLETIME / FREQ / HELP (src/object.c), with Redis 7.0's encoding names.</summary>
internal static class ObjectCommand
{
    public static void Register(CommandTable t)
    {
        t.AddContainer(new() { Name = "object", Arity = -2, Group = "generic", Since = "2.2.3", Summary = "A container for object introspection commands." },
            new() { Name = "encoding", Arity = 3, Flags = ReadOnly, Handler = static x => WithValue(x, v => x.Reply.Bulk(Encoding(v))), FirstKey = 2, LastKey = 2, Step = 1, Group = "generic", Since = "2.2.3" },
            new() { Name = "refcount", Arity = 3, Flags = ReadOnly, Handler = static x => WithValue(x, v => x.Reply.Integer(IsSharedInteger(v) ? int.MaxValue : 1)), FirstKey = 2, LastKey = 2, Step = 1, Group = "generic", Since = "2.2.3" },
            new() { Name = "idletime", Arity = 3, Flags = ReadOnly, Handler = IdleTime, FirstKey = 2, LastKey = 2, Step = 1, Group = "generic", Since = "2.2.3" },
            new() { Name = "freq", Arity = 3, Flags = ReadOnly, Handler = Freq, FirstKey = 2, LastKey = 2, Step = 1, Group = "generic", Since = "4.0.0" },
            new() { Name = "help", Arity = 2, Flags = Loading | Stale, Handler = static x => Help.Reply(x.Reply, "OBJECT",
                "ENCODING <key>", "    Return the kind of internal representation used in order to store the value",
                "    associated with a <key>.",
                "FREQ <key>", "    Return the access frequency index of the <key>. The returned integer is",
                "    proportional to the logarithm of the recent access frequency of the key.",
                "IDLETIME <key>", "    Return the idle time of the <key>, that is the approximated number of",
                "    seconds elapsed since the last access to the key.",
                "REFCOUNT <key>", "    Return the number of references of the value associated with the specified",
                "    <key>."), Group = "generic", Since = "6.2.0" });
    }

    private const string Adjust = " Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";

    /// <summary>Seconds since the key's last access (estimateObjectIdleTime); an error under an LFU policy.</summary>
    private static void IdleTime(CommandContext x) => WithValue(x, _ =>
    {
        if (x.Engine.Config.MaxMemoryPolicy.IsLfu()) x.Reply.Error("ERR An LFU maxmemory policy is selected, idle time not tracked." + Adjust);
        else x.Reply.Integer(AccessClock.IdleMs(Stamp(x)) / 1000);
    });

    /// <summary>The key's decayed LFU counter (LFUDecrAndReturn); an error unless an LFU policy is selected.</summary>
    private static void Freq(CommandContext x) => WithValue(x, _ =>
    {
        if (!x.Engine.Config.MaxMemoryPolicy.IsLfu()) x.Reply.Error("ERR An LFU maxmemory policy is not selected, access frequency not tracked." + Adjust);
        else x.Reply.Integer(x.Engine.Config.Clock.Frequency(Stamp(x)));
    });

    private static uint Stamp(CommandContext x) => x.Engine.Databases[x.Client.Db].StampOf(x.Args[2])!.Value;

    private static void WithValue(CommandContext x, Action<object> reply)
    {
        var db = x.Engine.Databases[x.Client.Db];
        // As objectCommandLookup: lookupKeyReadWithFlags(LOOKUP_NOTOUCH|LOOKUP_NONOTIFY), a hit or a miss but no "keymiss".
        // A string APPEND/SETRANGE/SETBIT grew stays "raw".
        var value = x.Engine.LookupRead(db, x.Args[2], growable: true, notify: false, touch: false);
        if (value is null) x.Reply.NullBulk();
        else reply(value);
    }

    private static bool IsInteger(byte[] s, out long v) => Strict.TryParseInt64(s, out v);

    internal static bool IsSharedInteger(object value) => value is byte[] s && IsInteger(s, out long v) && v >= 0 && v < 10000;

    internal static string Encoding(object value) => value switch
    {
        byte[] s when s.Length <= 20 && IsInteger(s, out _) => "int",
        byte[] s => s.Length <= 44 ? "embstr" : "raw",
        GrowableString => "raw",
        ListValue => "quicklist",
        HashValue h => h.IsHashtableEncoded ? "hashtable" : "listpack",
        SortedSetValue z => z.IsSkiplistEncoded ? "skiplist" : "listpack",
        SetValue s => s.IsHashtableEncoded ? "hashtable" : "intset",
        Streams.StreamValue => "stream",
        _ => "unknown",
    };
}
