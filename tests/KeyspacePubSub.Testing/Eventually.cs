using System.Diagnostics;

namespace KeyspacePubSub.Testing;

/// <summary>
/// Waits for something the server does in the background (cron, expiry, a close) instead of sleeping a fixed time:
/// a loaded 2-core CI machine can stall a test thread longer than any fixed sleep.
/// </summary>
public static class Eventually
{
    /// <summary>Polls <paramref name="condition"/> every 20 ms until it holds or <paramref name="timeoutMs"/> passes; returns the last result.</summary>
    public static bool True(Func<bool> condition, int timeoutMs = 10_000)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            if (condition()) return true;
            if (sw.ElapsedMilliseconds > timeoutMs) return false;
            Thread.Sleep(20);
        }
    }
}
