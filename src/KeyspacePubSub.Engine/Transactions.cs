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
    // db → key → the watches of it, in WATCH order (each client's are also kept on the client).
    private readonly Dictionary<int, Dictionary<byte[], List<WatchedKey>>> _watchers = [];

    /// <summary>
    /// As signalModifiedKey → touchWatchedKey: every client watching the key will fail its EXEC. A watch of a key
    /// that had already expired when WATCH ran is not failed by that key's deletion (no logical change: the watch
    /// becomes one of a missing key); Redis 7.0.15 then stops at such a watch while the key is still stored, and
    /// the watches after it are not touched either.
    /// </summary>
    public void SignalModifiedKey(int db, ReadOnlySpan<byte> key)
    {
        Durable?.MarkDirty(db, key);
        if (_trackedKeys.Count > 0 || _prefixes.Count > 0) InvalidateTrackedKey(key);
        if (_watchers.Count == 0 || !_watchers.TryGetValue(db, out var keys)) return;
        if (!keys.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(key, out var watches)) return;
        List<Client>? dirtied = null;
        foreach (var wk in watches)
        {
            if (wk.Expired)
            {
                if (Databases[db].KeyOf(key) != null) break;
                wk.Expired = false;
                continue;
            }
            wk.Client.WatchDirty = true;
            (dirtied ??= []).Add(wk.Client);
        }
        // As Redis, a client whose EXEC will fail stops watching (its watches no longer stop a later touch's walk).
        if (dirtied != null) foreach (var c in dirtied) Unwatch(c);
    }

    /// <summary>
    /// FLUSHDB/FLUSHALL/SWAPDB, as touchAllWatchedKeysInDb: watches of keys that exist in the database (or in
    /// <paramref name="otherDb"/>, which SWAPDB moves into it) are touched, except where nothing changes
    /// logically: an already expired key deleted, an expired key replaced by another expired one, or a missing key
    /// replaced by an expired one (the watch then counts as one of an expired key).
    /// </summary>
    public void SignalFlushedDb(int db, int? otherDb = null)
    {
        if (!_watchers.TryGetValue(db, out var keys)) return;
        var replacement = otherDb is { } o ? Databases[o] : null;
        foreach (var (key, watches) in keys)
        {
            bool existsHere = Databases[db].KeyOf(key) != null;
            bool replaced = replacement?.KeyOf(key) != null;
            if (!existsHere && !replaced) continue;
            bool replacementExpired = replaced && replacement!.IsExpired(key, ExpiryClockMs);
            foreach (var wk in watches)
            {
                if (wk.Expired)
                {
                    if (!replaced)
                    {
                        wk.Expired = false;
                        continue;
                    }
                    if (replacementExpired) continue;
                }
                else if (!existsHere && replacementExpired)
                {
                    wk.Expired = true;
                    continue;
                }
                wk.Client.WatchDirty = true;
            }
        }
    }

    /// <summary>As watchForKey: a key watched twice in one database is watched once; whether it had expired is noted.</summary>
    internal void WatchKey(Client c, ReadOnlySpan<byte> key)
    {
        foreach (var wk in c.Watched)
        {
            if (wk.Db == c.Db && wk.Key.AsSpan().SequenceEqual(key)) return;
        }
        if (!_watchers.TryGetValue(c.Db, out var keys)) _watchers[c.Db] = keys = new(ByteKeyComparer.Instance);
        var lookup = keys.GetAlternateLookup<ReadOnlySpan<byte>>();
        if (!lookup.TryGetValue(key, out var stored, out var watches))
        {
            stored = key.ToArray();
            watches = [];
            keys.Add(stored, watches);
        }
        var watch = new WatchedKey(c, c.Db, stored, Databases[c.Db].IsExpired(key, ExpiryClockMs));
        watches.Add(watch);
        c.Watched.Add(watch);
    }

    internal void ResetWatch(Client c)
    {
        Unwatch(c);
        c.WatchDirty = false;
    }

    /// <summary>As unwatchAllKeys: the client's watches end; whether its EXEC will fail is left as it is.</summary>
    private void Unwatch(Client c)
    {
        foreach (var wk in c.Watched)
        {
            var keys = _watchers[wk.Db];
            var watches = keys[wk.Key];
            watches.Remove(wk);
            if (watches.Count == 0) keys.Remove(wk.Key);
            if (keys.Count == 0) _watchers.Remove(wk.Db);
        }
        c.Watched.Clear();
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
        // As isWatchedKeyExpired: a watched key that has expired since it was watched counts as modified.
        bool expiredWatch = false;
        foreach (var wk in c.Watched) expiredWatch |= !wk.Expired && Databases[wk.Db].IsExpired(wk.Key, ExpiryClockMs);
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

/// <summary>One client's watch of one key (Redis's watchedKey).</summary>
internal sealed class WatchedKey(Client client, int db, byte[] key, bool expired)
{
    public Client Client { get; } = client;
    public int Db { get; } = db;
    public byte[] Key { get; } = key;

    /// <summary>The key had already expired (but was still stored) when WATCH ran, or a SWAPDB brought in an expired one.</summary>
    public bool Expired { get; set; } = expired;
}
