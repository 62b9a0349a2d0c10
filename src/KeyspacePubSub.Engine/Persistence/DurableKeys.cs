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
    /// <summary>
    /// A durable key's place in the catalog: what the store holds for it (when <see cref="Stored"/>), and
    /// whether it changed since the last commit. One lookup of the key's name finds both; a slot that is not
    /// stored lives only while it is dirty.
    /// </summary>
    private sealed class Slot(byte[] key)
    {
        public readonly byte[] Key = key;
        public bool Stored;
        public bool Dirty;
        public long Id;
        public object? Value;
        public long ExpireAt;
    }

    /// <summary>A dirty key, with what it holds now (BuildPending's scratch).</summary>
    private struct DirtyKey(int db, Slot slot)
    {
        public readonly int Db = db;
        public readonly Slot Slot = slot;
        public object? Value;
        public long ExpireAt;
    }

    private readonly byte[][] _patterns = patterns.Select(p => System.Text.Encoding.UTF8.GetBytes(p)).ToArray();
    private readonly Dictionary<byte[], Slot>[] _catalog = NewCatalog(engine.Databases.Length);
    private readonly List<DirtyKey> _dirty = []; // in the order the keys first changed
    private int _storedKeys;
    private List<DurableOp>? _ops; // this batch's ops so far (rented from the store on the first)
    private long _nextId = 1;
    private long _nextSeq = 1;

    public IDurableStore Store => store;

    private List<DurableOp> Ops => _ops ??= store.RentOps();

    public IReadOnlyList<string> Patterns => patterns;

    public int StoredKeys => _storedKeys;

    private static Dictionary<byte[], Slot>[] NewCatalog(int n) =>
        Enumerable.Range(0, n).Select(_ => new Dictionary<byte[], Slot>(ByteKeyComparer.Instance)).ToArray();

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
        var catalog = _catalog[db];
        if (!catalog.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(key, out var slot))
        {
            slot = new Slot(key.ToArray());
            catalog.Add(slot.Key, slot);
        }
        if (slot.Dirty) return;
        slot.Dirty = true;
        _dirty.Add(new DirtyKey(db, slot));
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

    /// <summary>The store fails: writes of durable keys are refused (MISCONF).</summary>
    public bool Failed => store.Failure is not null;

    public string MisconfError => $"MISCONF Errors writing durable keys to the SQLite database ({store.Failure}). Commands that may modify durable keys are disabled. Check the server log for details.";

    /// <summary>
    /// The unit of everything changed since the last call, handed to the store; null when nothing changed.
    /// With <paramref name="willDrive"/> the caller calls <see cref="IDurableStore.Drive(CommitTicket)"/> once out of the gate.
    /// </summary>
    public CommitTicket? Commit(bool willDrive = false)
    {
        BuildPending();
        var early = willDrive ? _committedEarly : null;
        if (willDrive) _committedEarly = null;
        CommitTicket? mine = early;
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

    private CommitTicket? _committedEarly; // the batch's unit SAVE committed before the batch ended
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
        for (int i = 0; i < _catalog.Length; i++)
        {
            if (db is { } d && d != i) continue;
            foreach (var slot in _catalog[i].Values)
            {
                if (!slot.Stored) continue;
                Untrack(slot.Value!);
                _storedKeys--;
            }
            _catalog[i].Clear();
        }
        Ops.Add(db is { } only ? new DurableOp(DurableOpKind.FlushDb, 0, only) : new DurableOp(DurableOpKind.FlushAll, 0));
    }

    /// <summary>FUNCTION LOAD or RESTORE made (or replaced) the library <paramref name="name"/>: its code is stored.</summary>
    public void FunctionStored(string name, byte[] code)
    {
        BuildPending();
        Ops.Add(new DurableOp(DurableOpKind.FunctionPut, 0, Key: System.Text.Encoding.Latin1.GetBytes(name), Value: code));
    }

    /// <summary>FUNCTION DELETE: the library's row goes.</summary>
    public void FunctionDeleted(string name)
    {
        BuildPending();
        Ops.Add(new DurableOp(DurableOpKind.FunctionDelete, 0, Key: System.Text.Encoding.Latin1.GetBytes(name)));
    }

    /// <summary>FUNCTION FLUSH (or RESTORE FLUSH): every library's row goes.</summary>
    public void FunctionsFlushed()
    {
        BuildPending();
        Ops.Add(new DurableOp(DurableOpKind.FunctionFlush, 0));
    }

    public void BeforeSwap(int a, int b)
    {
        BuildPending();
        (_catalog[a], _catalog[b]) = (_catalog[b], _catalog[a]);
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
                case Streams.StreamValue st:
                    st.Durability = new Streams.StreamChanges(r.Id) { Full = st.NodesFromKeyRow }; // an older layout is stored anew
                    break;
            }
            var catalog = _catalog[r.Db];
            if (!catalog.TryGetValue(stored, out var slot))
            {
                catalog.Add(stored, slot = new Slot(stored) { Stored = true });
                _storedKeys++;
            }
            (slot.Id, slot.Value, slot.ExpireAt) = (r.Id, r.Value, r.ExpireAt);
            _nextId = Math.Max(_nextId, r.Id + 1);
        }
        _nextSeq = Math.Max(_nextSeq, store.NextListSeq);
    }

    /// <summary>
    /// At a clean stop, once every batch has been turned into ops: each stored list of at least
    /// <paramref name="minRows"/> rows with its lowest and highest stored position (what its rows hold, as the
    /// last unit wrote them). A list whose rows have gaps (loaded so, and not written since) has none. Empty
    /// while a key is still dirty.
    /// </summary>
    public List<(long Id, long Low, long High)> StoredListBounds(int minRows)
    {
        var bounds = new List<(long Id, long Low, long High)>();
        if (_dirty.Count > 0) return bounds;
        foreach (var catalog in _catalog)
        {
            foreach (var slot in catalog.Values)
            {
                if (slot.Stored && slot.Value is ListValue { Durability: { Renumbered: false } c } && c.Seqs.Count >= minRows) bounds.Add((slot.Id, c.StoredLow, c.StoredHigh));
            }
        }
        return bounds;
    }

    private static void Untrack(object value)
    {
        if (value is ListValue l) l.Durability = null;
        else if (value is SortedSetValue z) z.Durability = null;
        else if (value is Streams.StreamValue st) st.Durability = null;
    }

    private static bool IsContainer(object? v) => v is ListValue or SortedSetValue or Streams.StreamValue;

    private readonly HashSet<object> _held = new(ReferenceEqualityComparer.Instance); // BuildPending's scratch

    private void BuildPending()
    {
        if (_dirty.Count == 0) return;
        try
        {
            BuildPending(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_dirty));
        }
        finally
        {
            foreach (var k in _dirty) k.Slot.Dirty = false;
            _dirty.Clear(); // holds no key or value past this commit
        }
    }

    private void BuildPending(Span<DirtyKey> dirty)
    {
        // What each dirty key holds now. A grown string is left as it is: its op gets a copy (WriteWhole), and
        // APPEND/SETBIT go on in place.
        foreach (ref var k in dirty) k.Value = engine.Databases[k.Db].GetWithExpire(k.Slot.Key, out k.ExpireAt, growable: true);
        // Lists and sorted sets that are (still, or now) held by a dirty durable key: their rows can be kept.
        var held = _held;
        held.Clear();
        foreach (ref var k in dirty)
        {
            if (IsContainer(k.Value)) held.Add(k.Value!);
        }
        // Phase 1: stored keys that no longer hold what the store has are deleted, or detached when their
        // list or set moved to another durable name (RENAME, MOVE), so the rows follow it.
        foreach (ref var k in dirty)
        {
            var s = k.Slot;
            if (!s.Stored) continue;
            var v = k.Value;
            bool replaced = v is null || (IsContainer(s.Value) ? !ReferenceEquals(s.Value, v) : IsContainer(v));
            if (!replaced) continue;
            if (IsContainer(s.Value) && held.Contains(s.Value!))
            {
                Ops.Add(new DurableOp(DurableOpKind.DetachKey, s.Id));
            }
            else
            {
                Ops.Add(new DurableOp(DurableOpKind.DeleteKey, s.Id));
                if (s.Value is ListValue { Durability: { } gone }) DeleteRows(gone);
                Untrack(s.Value!);
            }
            s.Stored = false;
            s.Value = null;
            _storedKeys--;
        }
        held.Clear(); // holds no value past this commit
        // Phase 2: write what each dirty key holds now.
        foreach (ref var k in dirty)
        {
            var (s, v) = (k.Slot, k.Value);
            if (v is null)
            {
                if (!s.Stored) _catalog[k.Db].Remove(s.Key);
                continue;
            }
            long id = v switch
            {
                ListValue l => Write(l, k.Db, s, k.ExpireAt),
                SortedSetValue z => Write(z, k.Db, s, k.ExpireAt),
                Streams.StreamValue st => Write(st, k.Db, s, k.ExpireAt),
                _ => WriteWhole(v, k.Db, s, k.ExpireAt),
            };
            if (!s.Stored)
            {
                s.Stored = true;
                _storedKeys++;
            }
            (s.Id, s.Value, s.ExpireAt) = (id, v, k.ExpireAt);
        }
    }

    private long WriteWhole(object v, int db, Slot slot, long expire)
    {
        long id = slot.Stored ? slot.Id : _nextId++;
        var (type, blob) = v switch
        {
            byte[] s => (DurableType.String, s),
            GrowableString g => (DurableType.String, g.ToArray()), // the op outlives this batch; the string does not wait
            HashValue h => (DurableType.Hash, DurableBlob.Encode(h)),
            SetValue s => (DurableType.Set, DurableBlob.Encode(s)),
            _ => throw new InvalidOperationException("unknown value type"),
        };
        Ops.Add(new DurableOp(DurableOpKind.PutKey, id, db, slot.Key, type, expire, blob));
        return id;
    }

    private long Write(ListValue l, int db, Slot s, long expire)
    {
        long low = l.HeadPosition, high = l.HeadPosition + l.Count - 1;
        var c = l.Durability ??= new ListChanges { Id = _nextId++ }; // no rows yet: every element is new
        if (!s.Stored || s.ExpireAt != expire || !ReferenceEquals(s.Value, l))
        {
            Ops.Add(new DurableOp(DurableOpKind.PutKey, c.Id, db, s.Key, DurableType.List, expire));
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

    private long Write(SortedSetValue z, int db, Slot s, long expire)
    {
        var c = z.Durability;
        bool fresh = c is null;
        c ??= z.Durability = new ZsetChanges(_nextId++);
        if (fresh || !s.Stored || s.ExpireAt != expire || !ReferenceEquals(s.Value, z))
        {
            Ops.Add(new DurableOp(DurableOpKind.PutKey, c.Id, db, s.Key, DurableType.Zset, expire));
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

    /// <summary>
    /// A stream: its key row (counters and groups, small) at every change; its entry rows and its groups' pending
    /// rows, all of them when it is new to the store (or stored in an older layout), else those that changed
    /// since the last write.
    /// </summary>
    private long Write(Streams.StreamValue st, int db, Slot s, long expire)
    {
        var c = st.Durability;
        bool all = c is null || c.Full;
        c ??= st.Durability = new Streams.StreamChanges(_nextId++);
        Ops.Add(new DurableOp(DurableOpKind.PutKey, c.KeyId, db, s.Key, DurableType.Stream, expire, Streams.StreamBlob.EncodeMeta(st)));
        if (all)
        {
            Ops.Add(new DurableOp(DurableOpKind.StreamDeleteAll, c.KeyId));
            foreach (var e in st.Range(Streams.StreamId.Min, Streams.StreamId.Max, reverse: false, tombstones: true)) Ops.Add(EntryPut(c.KeyId, st, e));
            foreach (var cg in st.Groups?.Values ?? Enumerable.Empty<Streams.ConsumerGroup>())
            {
                foreach (var p in cg.Pending) Ops.Add(PendingPut(c.KeyId, cg.Name, p));
            }
        }
        else
        {
            // Written first: an entry added and then trimmed away in the same batch ends deleted.
            foreach (var e in c.Written) Ops.Add(EntryPut(c.KeyId, st, e));
            foreach (var e in c.Removed) Ops.Add(new DurableOp(DurableOpKind.StreamDelete, c.KeyId, Pos: unchecked((long)e.Id.Ms), Seq: unchecked((long)e.Id.Seq)));
            foreach (var name in c.DroppedGroups) Ops.Add(new DurableOp(DurableOpKind.PendingDeleteGroup, c.KeyId, Key: name));
            foreach (var (name, id) in c.Pending)
            {
                Ops.Add(st.FindGroup(name)?.Pending.Find(id) is { } p
                    ? PendingPut(c.KeyId, name, p)
                    : new DurableOp(DurableOpKind.PendingDelete, c.KeyId, Key: name, Pos: unchecked((long)id.Ms), Seq: unchecked((long)id.Seq)));
            }
        }
        c.Reset();
        return c.KeyId;
    }

    private static DurableOp EntryPut(long keyId, Streams.StreamValue st, Streams.StreamEntry e) =>
        new(DurableOpKind.StreamPut, keyId, Value: Streams.StreamBlob.EncodeEntry(e, st.StartsNode(e.Id)), Pos: unchecked((long)e.Id.Ms), Seq: unchecked((long)e.Id.Seq));

    private static DurableOp PendingPut(long keyId, byte[] group, Streams.PendingEntry p) =>
        new(DurableOpKind.PendingPut, keyId, Key: group, ExpireAt: p.DeliveryTime, Value: p.Consumer.Name, Pos: unchecked((long)p.Id.Ms), Seq: unchecked((long)p.Id.Seq), Count: p.DeliveryCount);
}
