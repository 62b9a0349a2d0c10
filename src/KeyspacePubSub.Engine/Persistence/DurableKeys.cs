using KeyspacePubSub.Engine.Commands;
using KeyspacePubSub.Engine.Keyspace;
using KeyspacePubSub.Engine.PubSub;
using KeyspacePubSub.Protocol;

namespace KeyspacePubSub.Engine.Persistence;

/// <summary>
/// Which keys are durable (glob patterns over key names) and what to write for them. Every change of a key
/// already passes through <see cref="Engine.Notify"/>; a durable key seen there is marked dirty, and at the end
/// of each batch (or EXEC, or expiry slice) the dirty keys' current state is turned into row-level ops, diffed
/// against what the store holds: appended list elements, changed zset members, whole small values. All ops of
/// one batch form one unit, which the store commits in a single transaction. Runs under the engine's gate.
/// </summary>
public sealed class DurableKeys(Engine engine, IDurableStore store, IReadOnlyList<string> patterns)
{
    private sealed class Entry(long id, object value, long expireAt)
    {
        public readonly long Id = id;
        public readonly object Value = value;
        public readonly long ExpireAt = expireAt;
    }

    private readonly byte[][] _patterns = patterns.Select(p => System.Text.Encoding.UTF8.GetBytes(p)).ToArray();
    private readonly Dictionary<byte[], Entry>[] _stored = NewCatalog(engine.Databases.Length);
    private readonly HashSet<byte[]>[] _dirty = Enumerable.Range(0, engine.Databases.Length).Select(_ => new HashSet<byte[]>(ByteKeyComparer.Instance)).ToArray();
    private readonly List<int> _dirtyDbs = []; // databases whose dirty set is not empty
    private List<DurableOp>? _ops; // this batch's ops so far (rented from the store on the first)
    private long _nextId = 1;
    private long _nextSeq = 1;

    public IDurableStore Store => store;

    private List<DurableOp> Ops => _ops ??= store.RentOps();

    public IReadOnlyList<string> Patterns => patterns;

    public int StoredKeys => _stored.Sum(d => d.Count);

    private static Dictionary<byte[], Entry>[] NewCatalog(int n) =>
        Enumerable.Range(0, n).Select(_ => new Dictionary<byte[], Entry>(ByteKeyComparer.Instance)).ToArray();

    public bool IsDurable(ReadOnlySpan<byte> key)
    {
        foreach (var p in _patterns)
        {
            if (GlobPattern.IsMatch(p, key)) return true;
        }
        return false;
    }

    /// <summary>From <see cref="Engine.SignalModifiedKey"/>: the key changed.</summary>
    public void MarkDirty(int db, ReadOnlySpan<byte> key)
    {
        if (!IsDurable(key)) return;
        var set = _dirty[db];
        var dirty = set.GetAlternateLookup<ReadOnlySpan<byte>>();
        if (dirty.Contains(key)) return;
        // A stored key's own array (no copy for each change of a busy backlog), else a copy.
        set.Add(_stored[db].GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(key, out byte[]? stored, out _) ? stored : key.ToArray());
        if (set.Count == 1) _dirtyDbs.Add(db);
    }

    /// <summary>
    /// MISCONF: while the store fails, commands that may write a durable key are refused (as Redis refuses
    /// writes when it cannot persist). Flushes and SWAPDB count as writing every key.
    /// </summary>
    public bool DeniesWrite(CommandDef cmd, CommandArgs args)
    {
        if (store.Failure is null || !cmd.Has(CommandFlags.Write)) return false;
        if (cmd.FirstKey <= 0 && !cmd.Has(CommandFlags.MovableKeys)) return true;
        foreach (int i in cmd.KeyPositions(args))
        {
            if (IsDurable(args[i])) return true;
        }
        return false;
    }

    public string MisconfError => $"MISCONF Errors writing durable keys to the SQLite database ({store.Failure}). Commands that may modify durable keys are disabled. Check the server log for details.";

    /// <summary>
    /// The unit of everything changed since the last call, handed to the store; null when nothing changed.
    /// With <paramref name="willDrive"/> the caller calls <see cref="IDurableStore.Drive(Task)"/> once out of the gate.
    /// </summary>
    public Task? Commit(bool willDrive = false)
    {
        BuildPending();
        var early = willDrive ? _committedEarly : null;
        if (willDrive) _committedEarly = null;
        Task? mine = early;
        if (_ops is { Count: > 0 } unit)
        {
            _ops = null; // the store's until committed; the next unit rents a list
            mine = store.Commit(unit, willDrive); // units commit in order: this one's completion covers the early one
        }
        if (willDrive && _backgroundSaveRequested)
        {
            // After the batch's unit is queued: the save takes it (and a whole EXEC that asked for it).
            _backgroundSaveRequested = false;
            store.StartBackgroundSave();
        }
        return mine;
    }

    private Task? _committedEarly; // the batch's unit SAVE committed before the batch ended
    private bool _backgroundSaveRequested; // BGSAVE in this batch: started at its end

    /// <summary>A background save requested or running.</summary>
    public bool BackgroundSaveRunning => _backgroundSaveRequested || store.BackgroundSaveRunning;

    /// <summary>BGSAVE: starts at the end of the batch (or EXEC), once that batch's changes are queued, so the save includes them.</summary>
    public void RequestBackgroundSave() => _backgroundSaveRequested = true;

    /// <summary>
    /// SAVE: the batch's changes so far become a unit, which the save commits first with every queued unit. The
    /// batch's replies still wait for that unit, as for a unit made at the batch's end (a failed one closes the
    /// connection without them).
    /// </summary>
    public bool Save()
    {
        if (Commit(willDrive: true) is { } unit) _committedEarly = unit;
        return store.Save();
    }

    public void BeforeFlush(int? db)
    {
        BuildPending();
        for (int i = 0; i < _stored.Length; i++)
        {
            if (db is { } d && d != i) continue;
            foreach (var e in _stored[i].Values) Untrack(e.Value);
            _stored[i].Clear();
        }
        Ops.Add(db is { } only ? new DurableOp(DurableOpKind.FlushDb, 0, only) : new DurableOp(DurableOpKind.FlushAll, 0));
    }

    public void BeforeSwap(int a, int b)
    {
        BuildPending();
        (_stored[a], _stored[b]) = (_stored[b], _stored[a]);
        Ops.Add(new DurableOp(DurableOpKind.SwapDb, 0, a, Pos: b));
    }

    /// <summary>Puts loaded keys back into the databases (no events) and remembers them as stored.</summary>
    public void Restore(List<DurableRecord> records)
    {
        foreach (var r in records)
        {
            var db = engine.Databases[r.Db];
            var stored = db.Set(r.Key, r.Value);
            if (r.ExpireAt >= 0) engine.SetExpire(db, stored, r.ExpireAt);
            switch (r.Value)
            {
                case ListValue l:
                    (l.Durability ??= new ListChanges { Renumbered = true }).Id = r.Id;
                    break;
                case SortedSetValue z:
                    z.Durability = new ZsetChanges(r.Id);
                    break;
            }
            _stored[r.Db][stored] = new Entry(r.Id, r.Value, r.ExpireAt);
            _nextId = Math.Max(_nextId, r.Id + 1);
        }
        _nextSeq = Math.Max(_nextSeq, store.NextListSeq);
    }

    private static void Untrack(object value)
    {
        if (value is ListValue l) l.Durability = null;
        else if (value is SortedSetValue z) z.Durability = null;
    }

    private static bool IsContainer(object? v) => v is ListValue or SortedSetValue;

    // BuildPending's scratch, reused per commit: each dirty key with what it holds now, and the lists and
    // sorted sets those keys hold.
    private readonly List<(int Db, byte[] Key, object? Value)> _dirtyNow = [];
    private readonly HashSet<object> _held = new(ReferenceEqualityComparer.Instance);

    private void BuildPending()
    {
        if (_dirtyDbs.Count == 0) return;
        var dirty = _dirtyNow;
        dirty.Clear(); // empty unless a previous call threw
        foreach (int d in _dirtyDbs)
        {
            var db = engine.Databases[d];
            // A grown string is left as it is: its op gets a copy (WriteWhole), and APPEND/SETBIT go on in place.
            foreach (var key in _dirty[d]) dirty.Add((d, key, db.GetWithExpire(key, out _, growable: true)));
            _dirty[d].Clear();
        }
        _dirtyDbs.Clear();
        // Lists and sorted sets that are (still, or now) held by a dirty durable key: their rows can be kept.
        var held = _held;
        held.Clear();
        foreach (var (_, _, v) in dirty)
        {
            if (IsContainer(v)) held.Add(v!);
        }
        // Phase 1: stored keys that no longer hold what the store has are deleted, or detached when their
        // list or set moved to another durable name (RENAME, MOVE), so the rows follow it.
        foreach (var (d, key, v) in dirty)
        {
            if (!_stored[d].TryGetValue(key, out var e)) continue;
            bool replaced = v is null || (IsContainer(e.Value) ? !ReferenceEquals(e.Value, v) : IsContainer(v));
            if (!replaced) continue;
            if (IsContainer(e.Value) && held.Contains(e.Value))
            {
                Ops.Add(new DurableOp(DurableOpKind.DetachKey, e.Id));
            }
            else
            {
                Ops.Add(new DurableOp(DurableOpKind.DeleteKey, e.Id));
                if (e.Value is ListValue { Durability: { } gone }) DeleteRows(gone);
                Untrack(e.Value);
            }
            _stored[d].Remove(key);
        }
        held.Clear(); // holds no value past this commit
        // Phase 2: write what each dirty key holds now.
        foreach (var (d, key, v) in dirty)
        {
            if (v is null) continue;
            long expire = engine.Databases[d].GetExpire(key);
            _stored[d].TryGetValue(key, out var e);
            long id = v switch
            {
                ListValue l => Write(l, d, key, expire, e),
                SortedSetValue z => Write(z, d, key, expire, e),
                _ => WriteWhole(v, d, key, expire, e),
            };
            if (e is null || e.Id != id || !ReferenceEquals(e.Value, v) || e.ExpireAt != expire) _stored[d][key] = new Entry(id, v, expire);
        }
        dirty.Clear(); // holds no key or value past this commit
    }

    private long WriteWhole(object v, int db, byte[] key, long expire, Entry? e)
    {
        long id = e?.Id ?? _nextId++;
        var (type, blob) = v switch
        {
            byte[] s => (DurableType.String, s),
            GrowableString g => (DurableType.String, g.ToArray()), // the op outlives this batch; the string does not wait
            HashValue h => (DurableType.Hash, DurableBlob.Encode(h)),
            SetValue s => (DurableType.Set, DurableBlob.Encode(s)),
            _ => throw new InvalidOperationException("unknown value type"),
        };
        Ops.Add(new DurableOp(DurableOpKind.PutKey, id, db, key, type, expire, blob));
        return id;
    }

    private long Write(ListValue l, int db, byte[] key, long expire, Entry? e)
    {
        long low = l.HeadPosition, high = l.HeadPosition + l.Count - 1;
        var c = l.Durability ??= new ListChanges { Id = _nextId++ }; // no rows yet: every element is new
        if (e is null || e.ExpireAt != expire || !ReferenceEquals(e.Value, l))
        {
            Ops.Add(new DurableOp(DurableOpKind.PutKey, c.Id, db, key, DurableType.List, expire));
        }
        if (c.Renumbered) DeleteRows(c);
        // Rows of positions that left the list (pops, trims) go.
        while (c.Seqs.Count > 0 && c.StoredLow < low)
        {
            DeleteRow(c.Seqs.PopFront());
            c.StoredLow++;
        }
        while (c.Seqs.Count > 0 && c.StoredHigh > high) DeleteRow(c.Seqs.PopBack());
        if (c.Seqs.Count == 0) c.StoredLow = low; // nothing kept: the list starts over
        // Kept positions whose element changed: popped and pushed again at an end, or set in place.
        for (long p = c.StoredLow; p <= Math.Min(c.HeadWrittenMax, c.StoredHigh); p++) Replace(l, c, p);
        for (long p = Math.Max(c.TailWrittenMin, c.StoredLow); p <= c.StoredHigh; p++) Replace(l, c, p);
        foreach (long p in c.Overwritten)
        {
            if (p >= c.StoredLow && p <= c.StoredHigh) Replace(l, c, p);
        }
        // New positions at either end.
        while (c.StoredLow > low)
        {
            c.StoredLow--;
            c.Seqs.PushFront(Insert(l, c.Id, c.StoredLow));
        }
        while (c.StoredHigh < high) c.Seqs.PushBack(Insert(l, c.Id, c.StoredHigh + 1));
        c.Reset();
        return c.Id;
    }

    private void DeleteRow(long seq) => Ops.Add(new DurableOp(DurableOpKind.ListDelete, 0, Seq: seq));

    /// <summary>Deletes every stored row of the list.</summary>
    private void DeleteRows(ListChanges c)
    {
        while (c.Seqs.Count > 0) DeleteRow(c.Seqs.PopFront());
    }

    private void Replace(ListValue l, ListChanges c, long pos)
    {
        int i = (int)(pos - c.StoredLow);
        DeleteRow(c.Seqs[i]);
        c.Seqs[i] = Insert(l, c.Id, pos);
    }

    private long Insert(ListValue l, long id, long pos)
    {
        long seq = _nextSeq++;
        Ops.Add(new DurableOp(DurableOpKind.ListPut, id, Pos: pos, Value: l[(int)(pos - l.HeadPosition)], Seq: seq));
        return seq;
    }

    private long Write(SortedSetValue z, int db, byte[] key, long expire, Entry? e)
    {
        var c = z.Durability;
        bool fresh = c is null;
        c ??= z.Durability = new ZsetChanges(_nextId++);
        if (fresh || e is null || e.ExpireAt != expire || !ReferenceEquals(e.Value, z))
        {
            Ops.Add(new DurableOp(DurableOpKind.PutKey, c.Id, db, key, DurableType.Zset, expire));
        }
        if (fresh)
        {
            Ops.Add(new DurableOp(DurableOpKind.ZsetDeleteAll, c.Id));
            for (var n = z.List.First; n != null; n = n.Next) Ops.Add(new DurableOp(DurableOpKind.ZsetPut, c.Id, Value: n.Member, Score: n.Score));
        }
        else
        {
            foreach (var m in c.Members)
            {
                Ops.Add(z.TryGetScore(m, out double score)
                    ? new DurableOp(DurableOpKind.ZsetPut, c.Id, Value: m, Score: score)
                    : new DurableOp(DurableOpKind.ZsetDelete, c.Id, Value: m));
            }
        }
        c.Members.Clear();
        return c.Id;
    }
}
