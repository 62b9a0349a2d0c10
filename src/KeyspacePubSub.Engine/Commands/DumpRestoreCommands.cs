using KeyspacePubSub.Engine.Config;
using KeyspacePubSub.Engine.Keyspace;
using KeyspacePubSub.Engine.Rdb;
using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>DUMP and RESTORE (Redis 7.0's cluster.c): a value as an RDB payload, and back.</summary>
internal static class DumpRestoreCommands
{
    public static void Register(CommandTable t)
    {
        t.Add(new() { Name = "dump", Arity = 2, Flags = ReadOnly, Handler = Dump, FirstKey = 1, LastKey = 1, Step = 1, Group = "generic", Since = "2.6.0", Summary = "Returns a serialized representation of the value stored at a key." });
        t.Add(new() { Name = "restore", Arity = -4, Flags = Write | DenyOom, Handler = Restore, FirstKey = 1, LastKey = 1, Step = 1, Group = "generic", ExtraAcl = AclCategory.Dangerous, Since = "2.6.0", Summary = "Creates a key from the serialized representation of a value." });
        // Cluster-internal in Redis (MIGRATE sends it to a node importing the slot); without cluster mode it is RESTORE.
        t.Add(new() { Name = "restore-asking", Arity = -4, Flags = Write | DenyOom | Asking, Handler = Restore, FirstKey = 1, LastKey = 1, Step = 1, Group = "server", GroupAcl = AclCategory.Keyspace, ExtraAcl = AclCategory.Dangerous, Since = "3.0.0", Summary = "An internal command for migrating keys in a cluster." });
    }

    private static Database Db(CommandContext x) => x.Engine.Databases[x.Client.Db];

    private static void Dump(CommandContext x)
    {
        var value = x.Engine.LookupRead(Db(x), x.Args[1], growable: true);
        if (value is null)
        {
            x.Reply.NullBulk();
            return;
        }
        x.Reply.Bulk(DumpPayload.Create(value));
    }

    /// <summary>RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency], checked in restoreCommand's order.</summary>
    private static void Restore(CommandContext x)
    {
        bool replace = false, absolute = false;
        long frequency = -1, idle = -1;
        for (int j = 4; j < x.Args.Count; j++)
        {
            int additional = x.Args.Count - j - 1;
            if (x.Args.Is(j, "REPLACE"))
            {
                replace = true;
            }
            else if (x.Args.Is(j, "ABSTTL"))
            {
                absolute = true;
            }
            else if (x.Args.Is(j, "IDLETIME") && additional >= 1 && frequency == -1)
            {
                if (!x.Args.TryGetInt64(j + 1, out idle))
                {
                    x.Reply.Error(Errors.NotInteger);
                    return;
                }
                if (idle < 0)
                {
                    x.Reply.Error("ERR Invalid IDLETIME value, must be >= 0");
                    return;
                }
                j++;
            }
            else if (x.Args.Is(j, "FREQ") && additional >= 1 && idle == -1)
            {
                if (!x.Args.TryGetInt64(j + 1, out frequency))
                {
                    x.Reply.Error(Errors.NotInteger);
                    return;
                }
                if (frequency is < 0 or > 255)
                {
                    x.Reply.Error("ERR Invalid FREQ value, must be >= 0 and <= 255");
                    return;
                }
                j++;
            }
            else
            {
                x.Reply.Error(Errors.Syntax);
                return;
            }
        }
        var db = Db(x);
        var e = x.Engine;
        if (!replace && e.LookupWrite(db, x.Args[1]) != null)
        {
            x.Reply.Error("BUSYKEY Target key name already exists.");
            return;
        }
        if (!x.Args.TryGetInt64(2, out long ttl))
        {
            x.Reply.Error(Errors.NotInteger);
            return;
        }
        if (ttl < 0)
        {
            x.Reply.Error("ERR Invalid TTL value, must be >= 0");
            return;
        }
        var payload = x.Args[3];
        if (!RestorePayload.Verify(payload, e.SkipChecksumValidation))
        {
            x.Reply.Error("ERR DUMP payload version or checksum are wrong");
            return;
        }
        var value = RestorePayload.Load(payload);
        if (value is null)
        {
            x.Reply.Error("ERR Bad data format");
            return;
        }
        bool deleted = false;
        if (replace && e.LookupWrite(db, x.Args[1]) != null) deleted = db.Remove(x.Args[1]);
        if (ttl != 0 && !absolute) ttl += e.NowMs;
        if (ttl != 0 && ttl <= e.NowMs)
        {
            // checkAlreadyExpired: the key is not created; one it replaced is deleted.
            if (deleted) e.Notify(NotifyFlags.Generic, "del", x.Args[1], db.Index);
            x.Reply.Ok();
            return;
        }
        var stored = e.SetLiveKey(db, x.Args[1], value);
        if (ttl != 0) e.SetExpire(db, stored, ttl);
        if (db.Clock.Restored(frequency, idle) is { } stamp) db.SetStamp(stored, stamp);
        e.Notify(NotifyFlags.Generic, "restore", stored, db.Index);
        x.Reply.Ok();
    }
}
