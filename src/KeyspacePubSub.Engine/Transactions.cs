using KeyspacePubSub.Engine.Acl;
using KeyspacePubSub.Engine.Commands;
using KeyspacePubSub.Protocol;

namespace KeyspacePubSub.Engine;

/// <summary>
/// The commands queued since MULTI: their definitions, and copies of their arguments in one arena that the
/// client keeps from one transaction to the next, so queueing allocates nothing in the steady state.
/// </summary>
public sealed class TransactionQueue
{
    private readonly List<CommandDef> _commands = [];
    private readonly RequestBatch _args = new();

    public int Count => _commands.Count;

    public void Add(CommandDef command, CommandArgs args)
    {
        _args.Append(args);
        _commands.Add(command);
    }

    public CommandDef Command(int index) => _commands[index];

    /// <summary>The arguments of a queued command, valid until <see cref="Clear"/>.</summary>
    public CommandArgs Args(int index) => _args[index];

    public void Clear()
    {
        _commands.Clear();
        _args.Reset();
    }
}

/// <summary>
/// MULTI / EXEC / DISCARD / WATCH / UNWATCH (src/multi.c). Queued commands run back to back under the gate
/// with time frozen; pushes they address to the client itself follow the EXEC reply.
/// </summary>
public sealed partial class Engine
{
    // db → key → clients watching it (client → keys is kept on the client).
    private readonly Dictionary<int, Dictionary<byte[], List<Client>>> _watchers = [];

    /// <summary>As signalModifiedKey → touchWatchedKey: every client watching the key will fail its EXEC.</summary>
    public void SignalModifiedKey(int db, ReadOnlySpan<byte> key)
    {
        Durable?.MarkDirty(db, key);
        if (_trackedKeys.Count > 0 || _prefixes.Count > 0) InvalidateTrackedKey(key);
        if (_watchers.Count == 0 || !_watchers.TryGetValue(db, out var keys)) return;
        if (!keys.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(key, out var clients)) return;
        foreach (var c in clients) c.WatchDirty = true;
    }

    /// <summary>FLUSHDB/FLUSHALL/SWAPDB: watched keys that exist in (or move into) the database are touched.</summary>
    public void SignalFlushedDb(int db, int? otherDb = null)
    {
        if (!_watchers.TryGetValue(db, out var keys)) return;
        foreach (var (key, clients) in keys)
        {
            bool exists = Databases[db].Get(key) != null || (otherDb is { } o && Databases[o].Get(key) != null);
            if (!exists) continue;
            foreach (var c in clients) c.WatchDirty = true;
        }
    }

    internal void WatchKey(Client c, ReadOnlySpan<byte> key)
    {
        foreach (var (db, k) in c.Watched)
        {
            if (db == c.Db && k.AsSpan().SequenceEqual(key)) return;
        }
        if (!_watchers.TryGetValue(c.Db, out var keys)) _watchers[c.Db] = keys = new(ByteKeyComparer.Instance);
        var lookup = keys.GetAlternateLookup<ReadOnlySpan<byte>>();
        if (!lookup.TryGetValue(key, out var stored, out var clients))
        {
            stored = key.ToArray();
            clients = [];
            keys.Add(stored, clients);
        }
        clients.Add(c);
        c.Watched.Add((c.Db, stored));
    }

    internal void ResetWatch(Client c)
    {
        foreach (var (db, key) in c.Watched)
        {
            var keys = _watchers[db];
            var clients = keys[key];
            clients.Remove(c);
            if (clients.Count == 0) keys.Remove(key);
            if (keys.Count == 0) _watchers.Remove(db);
        }
        c.Watched.Clear();
        c.WatchDirty = false;
    }

    /// <summary>As discardTransaction: forget the queue and the watched keys.</summary>
    public void ResetTransaction(Client c)
    {
        c.EndMulti();
        c.MultiError = false;
        ResetWatch(c);
    }

    /// <summary>
    /// As execCommand: the permissions are checked again when the queue runs, in case the user's rules changed
    /// since the command was queued; a denied command gets an error in its place (and an ACL LOG entry).
    /// </summary>
    private bool DeniedInExec(Client c, CommandDef cmd, CommandArgs args)
    {
        var denied = Acl.Check(c.User, cmd, args, 0, out int position);
        if (denied == AclDenied.Ok) return false;
        Acl.Log.AddDenied(c, denied, inMulti: true, cmd, args, position);
        string reason = denied switch
        {
            AclDenied.Command => "no permission to execute the command or subcommand",
            AclDenied.Key => "no permission to touch the specified keys",
            _ => "no permission to access one of the channels used as arguments",
        };
        c.Reply.Error("NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: " + reason);
        return true;
    }

    internal void Exec(Client c)
    {
        var queue = c.Queue;
        // As Redis: a watched key that has logically expired counts as modified.
        bool expiredWatch = false;
        foreach (var (db, key) in c.Watched) expiredWatch |= Databases[db].IsExpired(key, ExpiryClockMs);
        if (c.MultiError)
        {
            c.Reply.Error("EXECABORT Transaction discarded because of previous errors.");
            ResetTransaction(c);
            return;
        }
        if (c.WatchDirty || expiredWatch)
        {
            c.Reply.NullArray();
            ResetTransaction(c);
            return;
        }
        // As execCommand: unwatch first; the client stays flagged MULTI while its queue runs.
        ResetWatch(c);
        c.Reply.Array(queue.Count);
        FreezeTime(true);
        try
        {
            // Nothing run here can queue or clear: MULTI, EXEC, DISCARD and RESET are never queued.
            for (int i = 0; i < queue.Count; i++)
            {
                var cmd = queue.Command(i);
                var args = queue.Args(i);
                if (!c.User.Unrestricted && DeniedInExec(c, cmd, args)) continue;
                Call(c, cmd, args);
            }
        }
        finally
        {
            FreezeTime(false);
            c.EndMulti();
            c.MultiError = false;
        }
    }
}
