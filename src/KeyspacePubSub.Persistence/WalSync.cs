using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace KeyspacePubSub.Persistence;

/// <summary>
/// The WAL as a file, beside SQLite's own use of it. Automatic checkpoints are off: SQLite would run them
/// inside a commit, on whichever thread commits (an event loop), and under synchronous=NORMAL each one
/// fsyncs the WAL and the database (measured in isolation: one-row commits took 16.7 µs of wall time
/// each for 7.6 µs of CPU; the difference is those fsyncs, paid by whichever commit triggers a checkpoint).
/// Instead:
/// <list type="bullet">
/// <item>under always the committing thread fdatasyncs the WAL after each commit (SQLite itself runs at
/// synchronous=NORMAL, which syncs only around checkpoints);</item>
/// <item>under everysec a thread of its own fsyncs the WAL file once a second, as Redis's background fsync
/// of its AOF, without taking the connection (committed frames are in the WAL already; fsync makes them
/// survive a power failure), so commits never wait for the disk;</item>
/// <item>the writer thread checkpoints (WAL pages into the database, synced as the policy says) after about
/// <see cref="CheckpointFrames"/> frames (the WAL file's length says nothing: after a checkpoint SQLite
/// writes it again from the start).</item>
/// </list>
/// The handle stays open until the store closes: closing a descriptor of a file drops the process's POSIX
/// locks on it, so it is never closed while SQLite works.
/// </summary>
internal sealed partial class WalSync : IDisposable
{
    /// <summary>As SQLite's default automatic checkpoint (1000 pages) would, but 10× rarer: each costs two fsyncs.</summary>
    public const long CheckpointFrames = 10_000;

    private readonly SafeFileHandle _wal;
    private readonly Thread? _thread;
    private readonly Func<bool> _takeUnsynced;
    private readonly Action<Exception> _failed;
    private readonly ManualResetEventSlim _stop = new();
    private long _syncs;

    private WalSync(SafeFileHandle wal, bool syncEverySecond, Func<bool> takeUnsynced, Action<Exception> failed)
    {
        _wal = wal;
        _takeUnsynced = takeUnsynced;
        _failed = failed;
        if (!syncEverySecond) return;
        _thread = new Thread(SyncLoop) { IsBackground = true, Name = "sqlite-wal-fsync" };
        _thread.Start();
    }

    /// <summary>Opens the WAL of <paramref name="dbPath"/>; null when it cannot (the caller keeps SQLite's own checkpoints).</summary>
    public static WalSync? Open(string dbPath, bool syncEverySecond, Func<bool> takeUnsynced, Action<Exception> failed)
    {
        try
        {
            var handle = File.OpenHandle(dbPath + "-wal", FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            return new WalSync(handle, syncEverySecond, takeUnsynced, failed);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The WAL file, open for as long as the store.</summary>
    public SafeFileHandle Handle => _wal;

    /// <summary>fsyncs of the WAL so far.</summary>
    public long Syncs => Interlocked.Read(ref _syncs);

    /// <summary>
    /// Makes every commit so far durable: fdatasync, as Redis syncs its AOF. (SQLite's own sync in this build
    /// is a full fsync, which also writes the file's timestamps: measured 213 µs per commit here.)
    /// </summary>
    public void Sync()
    {
        SyncData(_wal, "the WAL");
        Interlocked.Increment(ref _syncs);
    }

    private static bool s_noFdatasync;

    /// <summary>fdatasync of <paramref name="file"/> (the portable full sync where there is none); an error is an <see cref="IOException"/>.</summary>
    internal static void SyncData(SafeFileHandle file, string what)
    {
        if (!s_noFdatasync)
        {
            try
            {
                if (fdatasync((int)file.DangerousGetHandle()) != 0)
                {
                    throw new IOException($"fdatasync of {what} failed: errno {Marshal.GetLastPInvokeError()}");
                }
                return;
            }
            catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
            {
                s_noFdatasync = true; // not Linux: the portable call
            }
        }
        RandomAccess.FlushToDisk(file);
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fdatasync(int fd);

    private void SyncLoop()
    {
        var last = Stopwatch.StartNew();
        while (!_stop.Wait(TimeSpan.FromMilliseconds(Math.Max(1, 1000 - last.ElapsedMilliseconds))))
        {
            last.Restart();
            if (!_takeUnsynced()) continue;
            try
            {
                Sync();
            }
            catch (IOException ex)
            {
                _failed(ex);
            }
        }
    }

    public void Dispose()
    {
        _stop.Set();
        _thread?.Join(5000);
        _wal.Dispose();
        _stop.Dispose();
    }
}
