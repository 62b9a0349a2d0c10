using System.Diagnostics;
using KeyspacePubSub.Engine.Config;
using KeyspacePubSub.Engine.Keyspace;
using Microsoft.Extensions.Logging;

namespace KeyspacePubSub.Engine;

/// <summary>
/// maxmemory and its policies, as Redis's performEvictions (src/evict.c): before each command, while used memory
/// is over the limit, keys are evicted (event "evicted", class <c>e</c>; WATCH and tracking see a change) for at
/// most the tenacity's time; when there is nothing left to evict, commands that may grow memory get OOM.
/// LRU and LFU policies sample <c>maxmemory-samples</c> keys per database into a pool of the 16 best candidates
/// kept across calls; volatile-ttl takes the key whose deadline is nearest from the deadline heaps (exact, where
/// Redis samples); the random policies take a random key, visiting the databases in turn.
/// </summary>
public sealed partial class Engine
{
    internal enum EvictResult { Ok, Running, Fail }

    private const int EvictionPoolSize = 16;

    private readonly (ulong Score, byte[]? Key, int Db)[] _evictionPool = new (ulong, byte[]?, int)[EvictionPoolSize];
    private readonly UncollectedBytes _uncollected = new();
    private int[] _samples = new int[5];
    private int _nextRandomDb;
    private long _lastCollectRequest;
    private long _lastOutOfMemoryCollection = long.MinValue / 2;

    /// <summary>
    /// Used memory as maxmemory and INFO see it: the GC heap's allocated bytes less the evicted keys it has not
    /// reclaimed yet (see <see cref="UncollectedBytes"/>) and less what pools keep free for reuse in it, plus
    /// the output buffers rented outside it (<see cref="NativeBlocks"/>: output waiting for a client is used
    /// memory, as in Redis).
    /// </summary>
    public long UsedMemory()
    {
        _uncollected.Update();
        return Math.Max(0, GC.GetTotalMemory(false) - _uncollected.Total - PooledFreeHeapBytes + NativeBlocks.TotalRentedBytes);
    }

    /// <summary>
    /// Bytes of output buffers the process's pools keep free for reuse (INFO <c>mem_pooled_free</c>): the shared
    /// message frames' and the event loops' output blocks' (<see cref="NativeBlocks"/>, outside the GC heap), and
    /// in the heap, the objects kept to hold them and the sockets transport's blocks (<see cref="UseOutputPools"/>).
    /// None of it is used memory, as memory Redis's allocator keeps after a free is outside its used_memory.
    /// Counted, a burst of output to slow subscribers left up to 176 MiB counted as used for the life of the
    /// process (measured: 10 subscribers that read none of 2,000 messages of 4 KB, then disconnected, left
    /// used_memory 5.9 MB above where it started; Redis's came back), and a cache under maxmemory evicted keys
    /// for it. Buffers in use (a subscriber's pending output) still count, as in Redis.
    /// </summary>
    public long PooledFreeBytes => PooledFreeHeapBytes + NativeBlocks.TotalFreeBytes;

    /// <summary>The part of <see cref="PooledFreeBytes"/> in the GC heap.</summary>
    private long PooledFreeHeapBytes => PubSub.SharedFrame.FreeBytes + (_outputPoolFreeBytes?.Invoke() ?? 0);

    private Func<long>? _outputPoolFreeBytes;
    private Func<long>? _outputPoolTrim;
    private long _lastPoolTrim;

    /// <summary>
    /// The server that owns the connections tells how many bytes its output pools keep free in the heap and how
    /// to trim them (see <see cref="TrimPoolsEverySecond"/>). Used memory at startup is taken again, so that it
    /// leaves them out as used memory will (in a process that ran servers before, tests, they may hold tens of MB).
    /// </summary>
    public void UseOutputPools(Func<long> freeBytes, Func<long> trim)
    {
        _outputPoolFreeBytes = freeBytes;
        _outputPoolTrim = trim;
        StartupMemory = PeakMemory = UsedMemory();
    }

    /// <summary>
    /// Once a second (cron): every pool gives up half of the free buffers that stayed unused since the last trim
    /// (see <see cref="FreeListDecay"/>), so what a burst needed is given back within seconds of its end (16,384
    /// blocks in 15 trims). The event loops' blocks and the shared frames give their pages back to the system at
    /// once (<see cref="NativeBlocks.Trim"/>); what the pools in the heap let go of (the sockets transport's
    /// blocks, the objects that hold buffers) is freed by the GC's next collection.
    /// </summary>
    private void TrimPoolsEverySecond(long now)
    {
        if (now - _lastPoolTrim < 1000) return;
        _lastPoolTrim = now;
        NativeBlocks.TrimAll();
        _liveHeap = Math.Max(0, _liveHeap - (_outputPoolTrim?.Invoke() ?? 0)); // what the heap's pools let go of is garbage now
        CollectWhenQuiet();
    }

    private long _allocatedAtLastTick;
    private long _commandsAtLastTick;
    private long _liveHeap; // the GC heap's live bytes as last known: after the last collection made here, less what pools let go of since

    /// <summary>
    /// Once a second (cron): when the server ran under 100 commands and allocated under 1 MiB in the last second,
    /// and its GC heap holds 4 MiB (and an eighth of its live bytes) more than it had live after the last
    /// collection made here, collects it all. Objects that lived a while and then died (a burst's pending
    /// output once its subscribers left, buffers the pools let go of, deleted keys) stay in the heap until a
    /// full collection, which a quiet server never makes: after a burst of 3,000 messages of 4 KB to 100
    /// subscribers that read none, then left, RSS stayed at 28 MB (8 at start; native build), with the output
    /// buffers themselves given back. Only an aggressive collection gives the freed memory back to the system
    /// (background or blocking, compacting or not, left it committed: 23 MB against 10); its pause grows with
    /// the live heap (3 ms for 2 MB, 14-35 ms for 41 MB), so above <see cref="AggressiveCollectionHeap"/> the
    /// collection is a background one, which frees the memory for the heap to reuse. A busy server is left to
    /// the GC's own collections: with only allocation counted (1 → 100 subscribers, 4 KiB, the light pass of
    /// ~900 publishes a second allocates nothing), a collection after the throughput pass fell in the light
    /// pass, and its p99.9 went from 4 ms to 10-12 ms.
    /// </summary>
    private void CollectWhenQuiet()
    {
        long allocated = GC.GetTotalAllocatedBytes(false), commands = Stats.CommandsProcessed;
        bool quiet = allocated - _allocatedAtLastTick < 1 << 20 && (ulong)(commands - _commandsAtLastTick) < 100; // RESETSTAT: negative
        _allocatedAtLastTick = allocated;
        _commandsAtLastTick = commands;
        if (!quiet) return;
        long heap = GC.GetTotalMemory(false);
        if (heap - _liveHeap < Math.Max(4 << 20, _liveHeap / 8)) return;
        if (_liveHeap <= AggressiveCollectionHeap)
        {
            GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            _liveHeap = GC.GetTotalMemory(false);
        }
        else
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: false, compacting: false);
            _liveHeap = heap; // not known before the collection ends: the next one waits for an eighth more
        }
    }

    /// <summary>The largest heap collected aggressively when quiet (see <see cref="CollectWhenQuiet"/>).</summary>
    private const long AggressiveCollectionHeap = 64 << 20;

    /// <summary>
    /// The most used memory seen (INFO used_memory_peak), as Redis's stat_peak_memory: taken by the cron and by
    /// INFO, never reset (CONFIG RESETSTAT keeps it).
    /// </summary>
    public long PeakMemory { get; private set; }

    /// <summary>Used memory when the engine was made, before any key or client (INFO used_memory_startup).</summary>
    public long StartupMemory { get; private set; }

    internal void NotePeakMemory(long used)
    {
        if (used > PeakMemory) PeakMemory = used;
    }

    /// <summary>Estimated bytes of evicted keys the GC has not reclaimed yet (INFO memory).</summary>
    public long EvictedNotCollected => _uncollected.Total;

    /// <summary>
    /// As updateMaxmemory after CONFIG SET maxmemory: a warning when the new limit is under the memory in use, and
    /// eviction starts at once on the expiry thread (Redis's evictionTimeProc) rather than at the next command.
    /// </summary>
    internal void MaxMemoryChanged()
    {
        long max = Config.MaxMemory;
        if (max <= 0)
        {
            EndEvictionExceeded();
            return;
        }
        long used = UsedMemory();
        if (max < used)
        {
            Logger.LogWarning("WARNING: the new maxmemory value set via CONFIG SET ({Max}) is smaller than the current memory usage ({Used}). This will result in key eviction and/or the inability to accept new write commands depending on the maxmemory-policy.", max, used);
        }
        _expiryWake.Set();
    }

    /// <summary>Evicts until used memory is under maxmemory, the time limit passes, or nothing is left. Caller holds the gate.</summary>
    internal EvictResult PerformEvictions()
    {
        long max = Config.MaxMemory;
        if (max <= 0 || ExpiryPaused) return EvictResult.Ok; // a paused dataset stays as it is
        long used = UsedMemory();
        var result = used <= max ? EvictResult.Ok : EvictUntilUnder(max, used);
        if (result == EvictResult.Ok) EndEvictionExceeded();
        else if (Stats.EvictionExceededSince == 0) Stats.EvictionExceededSince = Environment.TickCount64;
        return result;
    }

    private EvictResult EvictUntilUnder(long max, long used)
    {
        var policy = Config.MaxMemoryPolicy;
        if (policy == EvictionPolicy.NoEviction) return EvictResult.Fail;
        long toFree = used - max, freed = 0, started = Stopwatch.GetTimestamp();
        long limitUs = EvictionTimeLimitUs(Config.MaxMemoryEvictionTenacity);
        int keysFreed = 0;
        var result = EvictResult.Ok;
        while (freed < toFree)
        {
            if (!NextEvictionVictim(policy, out var db, out var key))
            {
                result = EvictResult.Fail;
                break;
            }
            freed += Evict(db, key);
            if (++keysFreed % 16 == 0 && Stopwatch.GetElapsedTime(started).TotalMicroseconds > limitUs)
            {
                _expiryWake.Set(); // the expiry thread goes on evicting (Redis's evictionTimeProc)
                result = EvictResult.Running;
                break;
            }
        }
        RequestCollection(max);
        long ms = (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        if (Config.LatencyMonitorThreshold > 0 && ms >= Config.LatencyMonitorThreshold) Latency.Add("eviction-cycle", ms);
        return result;
    }

    /// <summary>INFO's total_eviction_exceeded_time: the time spent over maxmemory ends.</summary>
    private void EndEvictionExceeded()
    {
        if (Stats.EvictionExceededSince == 0) return;
        Stats.EvictionExceededMs += Environment.TickCount64 - Stats.EvictionExceededSince;
        Stats.EvictionExceededSince = 0;
    }

    /// <summary>evictionTimeLimitUs: 50 µs per step up to 10, then 15% more per step; 100: no limit.</summary>
    private static long EvictionTimeLimitUs(int tenacity) => tenacity switch
    {
        <= 10 => 50L * tenacity,
        < 100 => (long)(500.0 * Math.Pow(1.15, tenacity - 10.0)),
        _ => long.MaxValue,
    };

    /// <summary>
    /// Before a command is refused for memory with nothing left to evict: whether a full blocking collection
    /// brings used memory under maxmemory. The GC heap counts garbage until a collection (keys just deleted by
    /// FLUSHALL, say), where Redis's count falls at once. A blocking collection stops the server for a time that
    /// grows with the heap (28 ms for 70 MB here), so they are spaced by at least 1 s and by 10 ms per MB of heap
    /// (1 GB: 10 s), a few per cent of the time at most.
    /// </summary>
    internal bool CollectedUnderLimit()
    {
        long now = Environment.TickCount64;
        if (now - _lastOutOfMemoryCollection < Math.Max(1000, GC.GetTotalMemory(false) / 100_000)) return false;
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: false);
        _lastOutOfMemoryCollection = Environment.TickCount64;
        _uncollected.Update(now: true);
        bool under = UsedMemory() <= Config.MaxMemory;
        if (under) EndEvictionExceeded();
        return under;
    }

    /// <summary>
    /// When evicted keys the GC has not reclaimed pass a quarter of maxmemory, asks for a background full
    /// collection (at most every 100 ms), so the process does not hold garbage worth many evictions.
    /// </summary>
    private void RequestCollection(long max)
    {
        if (_uncollected.Total < max / 4) return;
        long now = Environment.TickCount64;
        if (now - _lastCollectRequest < 100) return;
        _lastCollectRequest = now;
        GC.Collect(2, GCCollectionMode.Forced, blocking: false, compacting: false);
    }

    /// <summary>Deletes an evicted key as Redis does (stat, signalModifiedKey, "evicted"); returns its estimated bytes.</summary>
    private long Evict(Database db, byte[] key)
    {
        var value = db.Get(key)!;
        long bytes = MemoryEstimate.Of(key, value, samples: 5);
        db.Remove(key);
        Stats.EvictedKeys++;
        Notify(NotifyFlags.Evicted, "evicted", key, db.Index);
        _uncollected.Add(bytes);
        return bytes;
    }

    /// <summary>The next key to evict under <paramref name="policy"/> (its stored key array); false when there is none.</summary>
    private bool NextEvictionVictim(EvictionPolicy policy, out Database db, out byte[] key)
    {
        switch (policy)
        {
            case EvictionPolicy.VolatileTtl:
                return NearestDeadline(out db, out key);
            case EvictionPolicy.AllkeysRandom:
            case EvictionPolicy.VolatileRandom:
                return RandomVictim(policy.AllKeys(), out db, out key);
            default:
                return PoolVictim(policy, out db, out key);
        }
    }

    /// <summary>The key with the nearest deadline in any database; stale heap entries on the way are dropped.</summary>
    private bool NearestDeadline(out Database db, out byte[] key)
    {
        db = null!;
        key = null!;
        long best = long.MaxValue;
        foreach (var d in Databases)
        {
            while (d.Deadlines.TryPeek(out var k, out long at))
            {
                if (d.GetExpire(k) != at)
                {
                    d.Deadlines.Pop(); // stale (PERSIST, another EXPIRE, overwrite or delete), as expiry finds it
                    d.Reindex(k, at);
                    continue;
                }
                if (at < best)
                {
                    best = at;
                    db = d;
                    key = k;
                }
                break;
            }
        }
        return db != null;
    }

    private bool RandomVictim(bool allKeys, out Database db, out byte[] key)
    {
        Span<int> one = stackalloc int[1];
        for (int i = 0; i < Databases.Length; i++)
        {
            db = Databases[_nextRandomDb = (_nextRandomDb + 1) % Databases.Length];
            var k = allKeys ? db.RandomKey() : db.Sample(one, volatileOnly: true) == 1 ? db.EntryAt(one[0]).Key : null;
            if (k != null)
            {
                key = k;
                return true;
            }
        }
        db = null!;
        key = null!;
        return false;
    }

    /// <summary>evictionPoolPopulate and the pick from its best end, for the LRU and LFU policies.</summary>
    private bool PoolVictim(EvictionPolicy policy, out Database db, out byte[] key)
    {
        bool allKeys = policy.AllKeys();
        while (true)
        {
            long total = 0;
            foreach (var d in Databases)
            {
                int keys = allKeys ? d.Count : d.ExpiresCount;
                if (keys == 0) continue;
                total += keys;
                PopulatePool(d, policy.IsLfu(), allKeys);
            }
            if (total == 0) break;
            for (int k = EvictionPoolSize - 1; k >= 0; k--)
            {
                var (_, candidate, dbIndex) = _evictionPool[k];
                if (candidate is null) continue;
                _evictionPool[k] = default;
                var d = Databases[dbIndex];
                // A key deleted (or, for volatile policies, persisted) since it was sampled is a ghost: try the next.
                if (d.KeyOf(candidate) is { } stored && (allKeys || d.GetExpire(stored) >= 0))
                {
                    db = d;
                    key = stored;
                    return true;
                }
            }
        }
        db = null!;
        key = null!;
        return false;
    }

    private void PopulatePool(Database db, bool lfu, bool allKeys)
    {
        int want = Config.MaxMemorySamples;
        if (_samples.Length < want) _samples = new int[want];
        int count = db.Sample(_samples.AsSpan(0, want), volatileOnly: !allKeys);
        var pool = _evictionPool;
        for (int j = 0; j < count; j++)
        {
            int index = _samples[j];
            var candidate = db.EntryAt(index).Key!;
            uint stamp = db.StampAt(index);
            ulong score = lfu ? 255UL - Config.Clock.Frequency(stamp) : (ulong)AccessClock.IdleMs(stamp);
            // Ascending scores, the best candidate on the right; a full pool drops its worst (leftmost) entry.
            int k = 0;
            while (k < EvictionPoolSize && pool[k].Key != null && pool[k].Score < score) k++;
            if (k == 0 && pool[EvictionPoolSize - 1].Key != null) continue; // worse than all of a full pool
            if (k < EvictionPoolSize && pool[k].Key == null)
            {
                // an empty slot: nothing to move
            }
            else if (pool[EvictionPoolSize - 1].Key == null)
            {
                Array.Copy(pool, k, pool, k + 1, EvictionPoolSize - k - 1); // room on the right: shift right
            }
            else
            {
                k--;
                Array.Copy(pool, 1, pool, 0, k); // full: shift the left part left, dropping the worst
            }
            pool[k] = (score, candidate, db.Index);
        }
    }
}
