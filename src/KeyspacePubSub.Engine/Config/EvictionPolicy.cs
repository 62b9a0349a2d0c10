namespace KeyspacePubSub.Engine.Config;

/// <summary>maxmemory-policy: which keys make room when used memory passes maxmemory (src/evict.c).</summary>
public enum EvictionPolicy
{
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
    AllkeysLru,
    AllkeysLfu,
    AllkeysRandom,
    NoEviction,
}

public static class EvictionPolicyText
{
    /// <summary>The names, in Redis 7.0's order (its CONFIG SET error lists them so), indexed by the enum.</summary>
    public static readonly string[] Names =
        ["volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction"];

    public static string Name(this EvictionPolicy p) => Names[(int)p];

    public static bool IsLfu(this EvictionPolicy p) => p is EvictionPolicy.VolatileLfu or EvictionPolicy.AllkeysLfu;

    public static bool IsLru(this EvictionPolicy p) => p is EvictionPolicy.VolatileLru or EvictionPolicy.AllkeysLru;

    /// <summary>Whether every key may be evicted (else only keys with a TTL).</summary>
    public static bool AllKeys(this EvictionPolicy p) => p is EvictionPolicy.AllkeysLru or EvictionPolicy.AllkeysLfu or EvictionPolicy.AllkeysRandom;
}
