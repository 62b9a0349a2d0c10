namespace KeyspacePubSub.Server.Linux;

/// <summary>
/// A thread that shares an event loop's sends when one iteration has many connections to flush (a wide
/// fan-out), as Redis's I/O threads share the writes of <c>handleClientsWithPendingWritesUsingThreads</c>.
/// The loop and the helper take connections from one list, one at a time, so a helper that wakes late simply
/// takes fewer; a helper that has not woken by the time the list is done is called off, and the loop never
/// waits for it to wake. Nothing runs on the helper but sends: what only the loop thread may do (closing a
/// connection) is done by the loop once the helper is finished.
/// </summary>
internal sealed class WriteHelper : IDisposable
{
    private const int Posted = 0, Running = 1, CalledOff = 2, Idle = 3;

    private readonly Thread _thread;
    // Neither wait yields the CPU in a loop: SemaphoreSlim's and a long ManualResetEventSlim spin call
    // sched_yield dozens of times per round (measured: 32,000 a second at 1 → 100 subscribers with 4 KiB
    // messages, a sixth of a core taken from the subscribers' readers on a 2-core machine). The helper
    // blocks on a monitor between rounds; the loop spins briefly (no yields) for the helper's last send.
    private readonly object _gate = new();
    private bool _posted; // under _gate
    private readonly ManualResetEventSlim _done = new(false, spinCount: 10);
    private readonly KeyspacePubSub.Engine.ServerStats _stats;
    private LoopConnection[] _work = new LoopConnection[256];
    private int _count;
    private int _helped; // connections the helper sent to in the current round
    private int _next;
    private int _phase = Idle;
    private volatile bool _stopped;

    public WriteHelper(int loopIndex, KeyspacePubSub.Engine.ServerStats stats)
    {
        _stats = stats;
        _thread = new Thread(Run) { IsBackground = true, Name = $"event-loop-{loopIndex}-w" };
        _thread.Start();
    }

    /// <summary>
    /// Loop thread: flushes every connection of <paramref name="work"/> together with the helper, then closes
    /// what the helper's sends found must close. Returns when every one of them was flushed.
    /// </summary>
    public void FlushShared(List<LoopConnection> work)
    {
        // A copy of its own: flushing may queue more connections into the loop's list meanwhile.
        int count = work.Count;
        if (_work.Length < count) _work = new LoopConnection[Math.Max(count, _work.Length * 2)];
        for (int k = 0; k < count; k++) _work[k] = work[count - 1 - k]; // last queued first, as the loop alone
        // Cleared here, on the loop thread, not by whichever thread sends: a flush queued meanwhile is never lost.
        for (int k = 0; k < count; k++) _work[k].ClearFlushQueued();
        _count = count;
        _next = 0;
        _helped = 0;
        _done.Reset();
        Volatile.Write(ref _phase, Posted);
        lock (_gate) // a full fence: the helper sees the fields above
        {
            _posted = true;
            Monitor.Pulse(_gate);
        }

        int i;
        while ((i = Interlocked.Increment(ref _next) - 1) < count) _work[i].SendNow(); // (taken from the queue above)

        // Called off if it has not started; otherwise wait for the connection it is sending to.
        if (Interlocked.CompareExchange(ref _phase, CalledOff, Posted) != Posted) _done.Wait();
        for (int k = 0; k < count; k++)
        {
            _work[k].FinishHelperFlush(); // nothing to do for the ones the loop sent to itself
            _work[k] = null!;
        }
        if (_helped > 0) Interlocked.Add(ref _stats.IoThreadedWrites, _helped); // INFO io_threaded_writes_processed
    }

    private void Run()
    {
        while (true)
        {
            lock (_gate)
            {
                while (!_posted) Monitor.Wait(_gate);
                _posted = false;
            }
            if (_stopped) return;
            // A wake-up for a round the loop already called off (or finished with us) does nothing.
            if (Interlocked.CompareExchange(ref _phase, Running, Posted) != Posted) continue;
            int i;
            while ((i = Interlocked.Increment(ref _next) - 1) < _count)
            {
                _work[i].FlushOnHelper();
                _helped++;
            }
            Volatile.Write(ref _phase, Idle);
            _done.Set();
        }
    }

    public void Dispose()
    {
        _stopped = true;
        lock (_gate)
        {
            _posted = true;
            Monitor.Pulse(_gate);
        }
        _thread.Join(2000);
    }
}
