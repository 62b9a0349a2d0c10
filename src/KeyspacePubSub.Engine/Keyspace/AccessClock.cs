namespace KeyspacePubSub.Engine.Keyspace;

/// <summary>
/// Each key's 24-bit access stamp, as Redis's robj.lru (src/evict.c): under an LFU policy 16 bits of "last
/// decrement time" in minutes and an 8-bit logarithmic access counter; under any other policy the access time
/// in seconds. The same bits are read either way, so after CONFIG SET switches between LRU and LFU the old
/// stamps mean little until keys are touched again, as Redis warns. Time comes from the monotonic tick count
/// (cheap enough for every lookup), offset to Unix time once.
/// </summary>
public sealed class AccessClock
{
    public const uint LruMax = (1 << 24) - 1;
    public const int LfuInitValue = 5;

    private static readonly long UnixMsAtTick0 = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - Environment.TickCount64;

    /// <summary>Whether an LFU policy is selected (stamps are minutes and counters).</summary>
    public bool Lfu { get; set; }

    /// <summary>lfu-log-factor: how many hits it takes to raise a counter (Redis's default 10).</summary>
    public long LogFactor { get; set; } = 10;

    /// <summary>lfu-decay-time: minutes per decrement of an idle key's counter (0: never).</summary>
    public long DecayMinutes { get; set; } = 1;

    private static long UnixMs => UnixMsAtTick0 + Environment.TickCount64;

    /// <summary>LRU_CLOCK: seconds, 24 bits.</summary>
    public static uint LruNow => (uint)(UnixMs / 1000) & LruMax;

    private static uint MinutesNow => (uint)(UnixMs / 60_000) & 0xFFFF;

    /// <summary>A new value's stamp (createObject): now, or an LFU counter at its initial value.</summary>
    public uint Fresh() => Lfu ? (MinutesNow << 8) | LfuInitValue : LruNow;

    /// <summary>
    /// RESTORE's IDLETIME or FREQ (objectSetLRUOrLFU): under an LFU policy the given counter, otherwise a stamp
    /// the given seconds ago (half the clock ahead when that would fall before its start); null when the option
    /// that applies to the policy was not given, and the value keeps a fresh stamp.
    /// </summary>
    public uint? Restored(long lfuFrequency, long lruIdleSeconds)
    {
        if (Lfu) return lfuFrequency >= 0 ? (MinutesNow << 8) | (uint)lfuFrequency : null;
        if (lruIdleSeconds < 0) return null;
        long clock = LruNow, absolute = clock - lruIdleSeconds;
        if (absolute < 0) absolute = (clock + LruMax / 2) % LruMax;
        return (uint)absolute;
    }

    /// <summary>An access (lookupKey without LOOKUP_NOTOUCH): now, or the counter decayed then raised (updateLFU).</summary>
    public void Touch(ref uint stamp)
    {
        if (!Lfu)
        {
            stamp = LruNow;
            return;
        }
        uint counter = LogIncrement(Frequency(stamp));
        stamp = (MinutesNow << 8) | counter;
    }

    /// <summary>estimateObjectIdleTime: milliseconds since the stamp, the 24-bit clock wrapping at most once.</summary>
    public static long IdleMs(uint stamp)
    {
        uint now = LruNow;
        return now >= stamp ? (now - stamp) * 1000L : (now + (LruMax - stamp)) * 1000L;
    }

    /// <summary>LFUDecrAndReturn: the counter less one per <see cref="DecayMinutes"/> since its last decrement.</summary>
    public uint Frequency(uint stamp)
    {
        uint ldt = stamp >> 8, counter = stamp & 255;
        uint now = MinutesNow;
        long elapsed = now >= ldt ? now - ldt : 65535 - ldt + now;
        long periods = DecayMinutes > 0 ? elapsed / DecayMinutes : 0;
        if (periods > 0) counter = periods > counter ? 0 : counter - (uint)periods;
        return counter;
    }

    /// <summary>LFULogIncr: one more hit raises the counter with probability 1 / ((counter - 5) · factor + 1).</summary>
    private uint LogIncrement(uint counter)
    {
        if (counter == 255) return 255;
        double baseValue = Math.Max(0, (double)counter - LfuInitValue);
        double p = 1.0 / (baseValue * LogFactor + 1);
        return Random.Shared.NextDouble() < p ? counter + 1 : counter;
    }
}
