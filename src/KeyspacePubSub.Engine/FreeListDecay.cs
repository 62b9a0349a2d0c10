namespace KeyspacePubSub.Engine;

/// <summary>
/// How many of a pool's free buffers to give up at a trim: half of those that stayed free through the whole
/// period since the last trim (the fewest the pool held free in it), rounded up. A pool kept for a burst so
/// drains within seconds of the burst's end (16,384 blocks in 15 trims), while one in steady use keeps what
/// its busiest instant needed. Redis's allocator gives freed pages back the same way (jemalloc's decay, ~10 s);
/// without it a burst of output to slow subscribers left the process 29 MB above where it started, for good.
/// The pool calls <see cref="Taken"/> under its lock at each take and <see cref="Surplus"/> at each trim.
/// </summary>
public struct FreeListDecay
{
    private int _fewest; // the fewest buffers free since the last trim (none before the first: it gives up nothing)

    /// <summary>A buffer was taken and <paramref name="freeNow"/> are left.</summary>
    public void Taken(int freeNow)
    {
        if (freeNow < _fewest) _fewest = freeNow;
    }

    /// <summary>How many of the <paramref name="freeNow"/> free buffers to give up now.</summary>
    public int Surplus(int freeNow)
    {
        int surplus = (Math.Min(_fewest, freeNow) + 1) / 2;
        _fewest = freeNow - surplus;
        return surplus;
    }
}
