using KeyspacePubSub.Engine.Config;
using KeyspacePubSub.Engine.Keyspace;
using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>
/// PFADD, PFCOUNT and PFMERGE (src/hyperloglog.c, Redis 7.0) over <see cref="HyperLogLog"/>: the values are
/// ordinary strings holding Redis's exact bytes, so an HLL read with GET from one server and written with SET
/// to the other counts the same. A changed HLL is stored as a new array (stored arrays are never changed in
/// place: another key or a reply may share one). PFDEBUG (GETREG, DECODE, ENCODING, TODENSE) too; PFSELFTEST
/// (Redis's test of its own register code) is not provided.
/// </summary>
internal static class HyperLogLogCommands
{
    private const string NotHll = "WRONGTYPE Key is not a valid HyperLogLog string value.";
    private const string Corrupt = "INVALIDOBJ Corrupted HLL object detected";

    public static void Register(CommandTable t)
    {
        t.Add(new() { Name = "pfadd", Arity = -2, Flags = Write | DenyOom | Fast, Handler = PfAdd, FirstKey = 1, LastKey = 1, Step = 1, Group = "hyperloglog", Since = "2.8.9", Summary = "Adds the specified elements to the specified HyperLogLog." });
        t.Add(new() { Name = "pfcount", Arity = -2, Flags = ReadOnly | MayReplicate, Handler = PfCount, FirstKey = 1, LastKey = -1, Step = 1, Group = "hyperloglog", Since = "2.8.9", Summary = "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s)." });
        t.Add(new() { Name = "pfdebug", Arity = 3, Flags = Write | DenyOom | Admin, Handler = PfDebug, FirstKey = 2, LastKey = 2, Step = 1, Group = "hyperloglog", Since = "2.8.9", Summary = "Internal commands for debugging HyperLogLog values" });
        t.Add(new() { Name = "pfselftest", Arity = 1, Flags = Admin, Handler = PfSelfTest, Group = "hyperloglog", Since = "2.8.9", Summary = "An internal command for testing HyperLogLog values" });
        t.Add(new() { Name = "pfmerge", Arity = -2, Flags = Write | DenyOom, Handler = PfMerge, FirstKey = 1, LastKey = -1, Step = 1, Group = "hyperloglog", Since = "2.8.9", Summary = "Merge N different HyperLogLogs into a single one." });
    }

    /// <summary>PFSELFTEST: OK, or the check that failed (<see cref="HyperLogLogSelfTest"/>; about a second, during which nothing else runs, as in Redis).</summary>
    private static void PfSelfTest(CommandContext x)
    {
        if (HyperLogLogSelfTest.Run(x.Engine.Config.HllSparseMaxBytes, Random.Shared) is { } failure) x.Reply.Error(failure);
        else x.Reply.Ok();
    }

    private static Database Db(CommandContext x) => x.Engine.Databases[x.Client.Db];

    /// <summary>The HLL bytes of a string value, or false with the error written (WRONGTYPE either way).</summary>
    private static bool TryHll(CommandContext x, object value, out ReadOnlySpan<byte> bytes)
    {
        if (GrowableString.TryBytes(value, out bytes) && HyperLogLog.IsValid(bytes)) return true;
        x.Reply.Error(value is byte[] or GrowableString ? NotHll : Errors.WrongType);
        return false;
    }

    /// <summary>A copy of the stored HLL to change, or a new empty one for a missing key (createHLLObject).</summary>
    private static HllString Open(object? stored)
    {
        if (stored is null)
        {
            var created = HyperLogLog.Create();
            return new HllString(created, created.Length);
        }
        GrowableString.TryBytes(stored, out var bytes);
        return new HllString(bytes.ToArray(), bytes.Length);
    }

    /// <summary>The changed HLL in place of the old value (its TTL kept), or as a new key ("new" event).</summary>
    private static void Store(CommandContext x, Database db, object? stored, HllString h)
    {
        if (stored is null) x.Engine.SetLiveKey(db, x.Args[1], h.ToArray());
        else db.Set(x.Args[1], h.ToArray());
    }

    private static void PfAdd(CommandContext x)
    {
        var db = Db(x);
        var value = x.Engine.LookupWrite(db, x.Args[1], growable: true);
        if (value != null && !TryHll(x, value, out _)) return;
        var h = Open(value);
        int updated = value is null ? 1 : 0;
        long sparseMax = x.Engine.Config.HllSparseMaxBytes;
        for (int j = 2; j < x.Args.Count; j++)
        {
            switch (HyperLogLog.Add(h, x.Args[j], sparseMax))
            {
                case 1:
                    updated++;
                    break;
                case -1:
                    // Redis changed the value in place for the elements before this one: they stay, unsignalled.
                    if (value != null && updated > 0) db.Set(x.Args[1], h.ToArray());
                    x.Reply.Error(Corrupt);
                    return;
            }
        }
        if (updated > 0)
        {
            HyperLogLog.InvalidateCache(h.Bytes);
            Store(x, db, value, h);
            x.Engine.Notify(NotifyFlags.String, "pfadd", x.Args[1], x.Client.Db);
        }
        x.Reply.Integer(updated > 0 ? 1 : 0);
    }

    private static void PfCount(CommandContext x)
    {
        var db = Db(x);
        if (x.Args.Count > 2)
        {
            // The cardinality of the union; missing keys count as empty HLLs.
            Span<byte> max = stackalloc byte[HyperLogLog.Registers];
            max.Clear();
            for (int j = 1; j < x.Args.Count; j++)
            {
                var o = x.Engine.LookupRead(db, x.Args[j], growable: true);
                if (o is null) continue;
                if (!TryHll(x, o, out var bytes)) return;
                if (!HyperLogLog.Merge(max, bytes))
                {
                    x.Reply.Error(Corrupt);
                    return;
                }
            }
            x.Reply.Integer((long)HyperLogLog.CountRaw(max));
            return;
        }
        var value = x.Engine.LookupRead(db, x.Args[1], growable: true);
        if (value is null)
        {
            x.Reply.Integer(0);
            return;
        }
        if (!TryHll(x, value, out var s)) return;
        if (HyperLogLog.CacheValid(s))
        {
            x.Reply.Integer((long)HyperLogLog.CachedCardinality(s));
            return;
        }
        if (HyperLogLog.Count(s) is not { } card)
        {
            x.Reply.Error(Corrupt);
            return;
        }
        // The cache is written into the value: a change of the key without an event, as in Redis.
        var updated = s.ToArray();
        HyperLogLog.SetCachedCardinality(updated, card);
        db.Set(x.Args[1], updated);
        x.Engine.SignalModifiedKey(x.Client.Db, x.Args[1]);
        x.Reply.Integer((long)card);
    }

    private static void PfMerge(CommandContext x)
    {
        var db = Db(x);
        Span<byte> max = stackalloc byte[HyperLogLog.Registers];
        max.Clear();
        bool useDense = false;
        for (int j = 1; j < x.Args.Count; j++)
        {
            var o = x.Engine.LookupRead(db, x.Args[j], growable: true);
            if (o is null) continue;
            if (!TryHll(x, o, out var bytes)) return;
            if (bytes[4] == HyperLogLog.Dense) useDense = true;
            if (!HyperLogLog.Merge(max, bytes))
            {
                x.Reply.Error(Corrupt);
                return;
            }
        }
        var value = x.Engine.LookupWrite(db, x.Args[1], growable: true); // checked above as a source
        var h = Open(value);
        if (useDense && h.Bytes[4] == HyperLogLog.Sparse)
        {
            if (HyperLogLog.SparseToDense(h.Bytes.AsSpan(0, h.Length)) is not { } dense)
            {
                x.Reply.Error(Corrupt);
                return;
            }
            h.Replace(dense);
        }
        long sparseMax = x.Engine.Config.HllSparseMaxBytes;
        for (int j = 0; j < HyperLogLog.Registers; j++)
        {
            if (max[j] != 0) HyperLogLog.Set(h, j, max[j], sparseMax);
        }
        HyperLogLog.InvalidateCache(h.Bytes);
        Store(x, db, value, h);
        // A PFADD event: a merge is in effect a mass add.
        x.Engine.Notify(NotifyFlags.String, "pfadd", x.Args[1], x.Client.Db);
        x.Reply.Ok();
    }

    /// <summary>
    /// As pfdebugCommand: the key must exist and be an HLL before the subcommand is looked at. GETREG and TODENSE
    /// turn a sparse HLL dense in place, with no event and no touch of watchers (the registers are the same);
    /// the durable store is told, as Redis propagates the new bytes.
    /// </summary>
    private static void PfDebug(CommandContext x)
    {
        var db = Db(x);
        var key = x.Args[2];
        var value = x.Engine.LookupWrite(db, key, growable: true);
        if (value is null)
        {
            x.Reply.Error("ERR The specified key does not exist");
            return;
        }
        if (!TryHll(x, value, out var s)) return;
        bool sparse = s[4] == HyperLogLog.Sparse;
        if (x.Args.Is(1, "GETREG") || x.Args.Is(1, "TODENSE"))
        {
            byte[]? dense = null;
            if (sparse)
            {
                dense = HyperLogLog.SparseToDense(s);
                if (dense is null)
                {
                    x.Reply.Error(Corrupt);
                    return;
                }
                db.Set(key, dense);
                x.Engine.Durable?.MarkDirty(x.Client.Db, key);
            }
            if (x.Args.Is(1, "TODENSE"))
            {
                x.Reply.Integer(sparse ? 1 : 0);
                return;
            }
            ReadOnlySpan<byte> registers = (dense ?? s)[HyperLogLog.HeaderSize..];
            x.Reply.Array(HyperLogLog.Registers);
            for (int j = 0; j < HyperLogLog.Registers; j++) x.Reply.Integer(HyperLogLog.DenseGet(registers, j));
        }
        else if (x.Args.Is(1, "DECODE"))
        {
            if (!sparse) x.Reply.Error("ERR HLL encoding is not sparse");
            else x.Reply.Bulk(HyperLogLog.Decode(s));
        }
        else if (x.Args.Is(1, "ENCODING"))
        {
            x.Reply.SimpleString(sparse ? "sparse" : "dense");
        }
        else
        {
            x.Reply.Error($"ERR Unknown PFDEBUG subcommand '{Errors.CText(x.Args[1])}'"); // the bytes as given, as Redis's %s
        }
    }
}
