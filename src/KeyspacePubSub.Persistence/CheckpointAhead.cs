using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace KeyspacePubSub.Persistence;

/// <summary>
/// Writes a checkpoint's pages into the database file ahead of SQLite's checkpoint, from the writer thread while
/// clients go on committing; SQLite's checkpoint, which holds the connection (every commit waits for it), then
/// skips reading and writing the pages that are there already. Under 10 clients' backlog load a checkpoint held
/// the connection ~21 ms (~6% of the time): ~5,800 page reads from the WAL and writes into the database, then an
/// fsync of the ~12 MB written (~14 ms); now ~1.4 ms. Throughput did not change (the copying takes the CPU the
/// wait left idle), but every transaction that arrived during a checkpoint waited for it: at a fixed 10,000
/// backlog transactions a second (open loop, `--only txlatency`) the p99 latency went from 6.4 ms to 0.7 ms.
/// <para>
/// Safe because:
/// <list type="bullet">
/// <item>only frames of committed transactions are copied (up to the end of the last commit's write, as
/// <see cref="WalWriteShim"/> saw it), each page from its latest such frame, and only pages within the database
/// size that commit recorded;</item>
/// <item>the WAL is synced before any of its frames reaches the database file, so the file never holds a page
/// the WAL could lose in a power failure; the database is synced before SQLite's checkpoint starts;</item>
/// <item>a page in the WAL is never read from the database file (SQLite reads the WAL's frame), so writing its
/// newer content there changes nothing SQLite sees; after a crash SQLite replays the WAL over it as before;</item>
/// <item>frames are stable while they are copied: SQLite rewrites the WAL from its start only at the first commit
/// after a checkpoint, so copying starts only once a commit followed the last checkpoint, and a checkpoint
/// (<c>SQLITE_FCNTL_CKPT_START</c>) waits until copying ends;</item>
/// <item>a skipped read is paired with the database write that follows it (SQLite's checkpoint reads a frame and
/// writes it); should that write not be the expected page, it fails (the checkpoint fails and is retried, with
/// this class switched off) rather than write a buffer that was never filled.</item>
/// </list>
/// What was copied counts for one checkpoint only (<c>SQLITE_FCNTL_CKPT_DONE</c> forgets it).
/// </para>
/// The shim finds an instance by the database path SQLite opens (<see cref="Find"/>); files of other paths, and
/// every file before <see cref="Start"/>, are untouched.
/// </summary>
internal sealed class CheckpointAhead : IDisposable
{
    private const int WalHeaderBytes = 32, FrameHeaderBytes = 24, RunBytes = 256 * 1024;
    private static readonly object s_registryLock = new();
    private static CheckpointAhead?[] s_registry = new CheckpointAhead?[8]; // [0] unused: the shim's "none"
    private static int s_next = 1;

    private readonly string _dbPath;
    private readonly int _index;
    private readonly object _gate = new();
    private SafeFileHandle? _db; // the database file, open until SQLite's connection has closed (see Dispose)
    private int _pageSize, _frameBytes; // 0 until Start: inert
    private long _committedFrames; // frames in the WAL at the end of the last commit's write
    private long _copiedThrough; // frames 1.._copiedThrough are in the database file (0: none)
    private volatile bool _committedSinceCheckpoint;
    private bool _copying, _inCheckpoint, _disabled;
    private int _checkpointThread;
    private uint _skipPage; // a skipped read's page, for the database write that follows it
    private readonly Dictionary<uint, uint> _copied = []; // frame -> page, whose content is in the database file (synced)
    private long _pagesAhead, _pagesSkipped;

    // The copying rounds' scratch (the writer thread, one round at a time), kept: a round's 256 KiB buffers and
    // its page maps are large-object-heap sizes, whose allocation counts towards full collections.
    private readonly Dictionary<uint, uint> _latest = []; // page -> its latest frame in the round
    private readonly List<uint> _pages = []; // the round's pages in order, within the database's size
    private byte[]? _chunk, _run;

    private CheckpointAhead(string dbPath, int index)
    {
        _dbPath = dbPath;
        _index = index;
    }

    /// <summary>Registers <paramref name="dbPath"/> (full path) before SQLite opens it.</summary>
    public static CheckpointAhead Register(string dbPath)
    {
        lock (s_registryLock)
        {
            // Never reused: a file SQLite still has open keeps its index after its store went.
            int i = s_next++;
            if (i == s_registry.Length) Array.Resize(ref s_registry, s_registry.Length * 2);
            var ahead = new CheckpointAhead(dbPath, i);
            Volatile.Write(ref s_registry[i], ahead);
            return ahead;
        }
    }

    /// <summary>For the shim, at an open: the index of the instance for this database or WAL file, 0 for none.</summary>
    public static int Find(string? fileName, bool wal)
    {
        if (fileName is null) return 0;
        if (wal)
        {
            if (!fileName.EndsWith("-wal", StringComparison.Ordinal)) return 0;
            fileName = fileName[..^4];
        }
        lock (s_registryLock)
        {
            // The latest registration wins: a second server on the same file (refused by its lock) registers later.
            for (int i = s_next - 1; i > 0; i--)
            {
                if (s_registry[i]?._dbPath == fileName) return i;
            }
        }
        return 0;
    }

    private static CheckpointAhead? At(int index)
    {
        var registry = Volatile.Read(ref s_registry);
        return index > 0 && index < registry.Length ? Volatile.Read(ref registry[index]) : null;
    }

    /// <summary>Once the WAL is in use: its page size, and the database file to write into.</summary>
    public void Start(int pageSize)
    {
        _db = File.OpenHandle(_dbPath, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        lock (_gate)
        {
            _pageSize = pageSize;
            _frameBytes = FrameHeaderBytes + pageSize;
        }
    }

    public long PagesAhead
    {
        get { lock (_gate) return _pagesAhead; }
    }

    public long PagesSkipped
    {
        get { lock (_gate) return _pagesSkipped; }
    }

    /// <summary>A checkpoint's write did not follow the read it skipped as expected: switched off for good.</summary>
    public bool Disabled => Volatile.Read(ref _disabled);

    // ---- called by the shim (any thread SQLite runs on; never throws) ----

    /// <summary>A write to the WAL reached the file: the WAL's header (a restart), or the end of a commit.</summary>
    public static void WalWritten(int index, long offset, long end, bool commit)
    {
        var a = At(index);
        if (a is null || a._frameBytes == 0) return;
        if (offset == 0)
        {
            // The WAL starts over (after a checkpoint): frame numbers are reused.
            lock (a._gate) a.Forget();
        }
        if (!commit) return;
        Volatile.Write(ref a._committedFrames, (end - WalHeaderBytes) / a._frameBytes);
        a._committedSinceCheckpoint = true;
    }

    /// <summary>The WAL was truncated: nothing copied stands for its frames any more.</summary>
    public static void WalTruncated(int index)
    {
        var a = At(index);
        if (a is null) return;
        lock (a._gate)
        {
            a.Forget();
            Volatile.Write(ref a._committedFrames, 0);
        }
    }

    /// <summary>SQLITE_FCNTL_CKPT_START on the database file: waits for copying to end.</summary>
    public static void CheckpointStarts(int index)
    {
        var a = At(index);
        if (a is null) return;
        lock (a._gate)
        {
            while (a._copying) Monitor.Wait(a._gate);
            a._inCheckpoint = true;
            a._checkpointThread = Environment.CurrentManagedThreadId;
            a._skipPage = 0;
        }
    }

    /// <summary>SQLITE_FCNTL_CKPT_DONE: the copying of frames is over; what was copied ahead counted for this one only.</summary>
    public static void CheckpointDone(int index)
    {
        var a = At(index);
        if (a is null) return;
        lock (a._gate)
        {
            a._inCheckpoint = false;
            a._skipPage = 0;
            a.Forget();
            a._committedSinceCheckpoint = false;
        }
    }

    /// <summary>A read of the WAL: true when it is a checkpoint's read of a frame already in the database file (not read).</summary>
    public static bool SkipsWalRead(int index, long offset, int amount)
    {
        var a = At(index);
        if (a is null || !a._inCheckpoint) return false;
        lock (a._gate)
        {
            if (!a._inCheckpoint || a._checkpointThread != Environment.CurrentManagedThreadId) return false;
            a._skipPage = 0;
            if (a._disabled || amount != a._pageSize || a._copied.Count == 0) return false;
            long at = offset - WalHeaderBytes - FrameHeaderBytes;
            if (at < 0 || at % a._frameBytes != 0) return false;
            if (!a._copied.TryGetValue((uint)(at / a._frameBytes + 1), out uint page)) return false;
            a._skipPage = page;
            return true;
        }
    }

    /// <summary>
    /// A write to the database file: 0 to write it, 1 when it is the page of the skipped read before it (not
    /// written), -1 when a read was skipped but this is not its page (fail: the buffer was never filled).
    /// </summary>
    public static int SkipsDbWrite(int index, long offset, int amount)
    {
        var a = At(index);
        if (a is null || !a._inCheckpoint) return 0;
        lock (a._gate)
        {
            if (!a._inCheckpoint || a._checkpointThread != Environment.CurrentManagedThreadId || a._skipPage == 0) return 0;
            uint page = a._skipPage;
            a._skipPage = 0;
            if (amount == a._pageSize && offset == (page - 1L) * a._pageSize)
            {
                a._pagesSkipped++;
                return 1;
            }
            a._disabled = true;
            a.Forget();
            return -1;
        }
    }

    /// <summary>Nothing copied counts any more (under the gate).</summary>
    private void Forget()
    {
        _copied.Clear();
        _copiedThrough = 0;
    }

    // ---- the writer thread ----

    /// <summary>
    /// Before a checkpoint, one round: syncs the WAL (<paramref name="syncWal"/>), then copies the pages of the
    /// frames committed since the last round (each page's latest) into the database file and, with
    /// <paramref name="sync"/>, syncs that. Returns the number of frames the round covered: 0 when it did nothing
    /// (nothing committed since, a checkpoint running, or switched off; the WAL was not synced then). Rounds
    /// repeat while clients commit; what the last round leaves, SQLite's checkpoint copies. An I/O error of the
    /// WAL's sync propagates; one of the copy leaves every page of the round to SQLite.
    /// </summary>
    public long CopyAhead(SafeFileHandle wal, Action syncWal, bool sync)
    {
        long from, frames;
        lock (_gate)
        {
            if (_frameBytes == 0 || _disabled || _inCheckpoint || _copying || !_committedSinceCheckpoint) return 0;
            from = _copiedThrough + 1;
            frames = Volatile.Read(ref _committedFrames);
            if (frames < from) return 0;
            _copying = true;
        }
        bool done = false;
        try
        {
            syncWal(); // the frames copied below are durable before any reaches the database file
            try
            {
                done = Copy(wal, from, frames, sync);
            }
            catch (IOException)
            {
                // SQLite's checkpoint copies every page of the round itself, and reports what fails.
            }
            return frames - from + 1;
        }
        finally
        {
            lock (_gate)
            {
                if (done)
                {
                    foreach (uint page in _pages) _copied[_latest[page]] = page;
                    _copiedThrough = frames;
                    _pagesAhead += _pages.Count;
                }
                _copying = false;
                Monitor.PulseAll(_gate);
            }
        }
    }

    /// <summary>Frames <paramref name="from"/>..<paramref name="frames"/> into the database file; false when the WAL is not as expected.</summary>
    private bool Copy(SafeFileHandle wal, long from, long frames, bool sync)
    {
        Span<byte> header = stackalloc byte[WalHeaderBytes];
        if (RandomAccess.Read(wal, header, 0) != WalHeaderBytes) return false;
        uint salt1 = BinaryPrimitives.ReadUInt32BigEndian(header[16..]), salt2 = BinaryPrimitives.ReadUInt32BigEndian(header[20..]);
        if (BinaryPrimitives.ReadUInt32BigEndian(header[8..]) != _pageSize) return false;

        // Each page's latest frame, and the database size the last commit recorded.
        var latest = _latest;
        latest.Clear();
        _pages.Clear();
        uint dbPages = 0;
        var chunk = _chunk ??= new byte[(RunBytes / _frameBytes + 1) * _frameBytes];
        for (long first = from; first <= frames;)
        {
            int count = (int)Math.Min(frames - first + 1, chunk.Length / _frameBytes);
            int want = count * _frameBytes;
            if (RandomAccess.Read(wal, chunk.AsSpan(0, want), WalHeaderBytes + (first - 1) * _frameBytes) != want) return false;
            for (int i = 0; i < count; i++)
            {
                var h = chunk.AsSpan(i * _frameBytes, FrameHeaderBytes);
                if (BinaryPrimitives.ReadUInt32BigEndian(h[8..]) != salt1 || BinaryPrimitives.ReadUInt32BigEndian(h[12..]) != salt2) return false;
                uint page = BinaryPrimitives.ReadUInt32BigEndian(h), size = BinaryPrimitives.ReadUInt32BigEndian(h[4..]);
                latest[page] = (uint)(first + i);
                if (size != 0) dbPages = size;
                else if (first + i == frames) return false; // the last frame ends a commit
            }
            first += count;
        }

        // Runs of consecutive pages, one write each.
        foreach (uint page in latest.Keys)
        {
            if (page >= 1 && page <= dbPages) _pages.Add(page);
        }
        _pages.Sort();
        var run = _run ??= new byte[RunBytes];
        int inRun = 0;
        uint runFirst = 0;
        foreach (uint page in _pages)
        {
            if (inRun > 0 && (page != runFirst + inRun / _pageSize || inRun + _pageSize > run.Length))
            {
                RandomAccess.Write(_db!, run.AsSpan(0, inRun), (runFirst - 1L) * _pageSize);
                inRun = 0;
            }
            if (inRun == 0) runFirst = page;
            uint frame = latest[page];
            if (RandomAccess.Read(wal, run.AsSpan(inRun, _pageSize), WalHeaderBytes + (frame - 1L) * _frameBytes + FrameHeaderBytes) != _pageSize) return false;
            inRun += _pageSize;
        }
        if (inRun > 0) RandomAccess.Write(_db!, run.AsSpan(0, inRun), (runFirst - 1L) * _pageSize);
        if (sync) WalSync.SyncData(_db!, "the database");
        return true;
    }

    /// <summary>After SQLite's connection has closed (closing a descriptor drops the process's locks on the file).</summary>
    public void Dispose()
    {
        lock (s_registryLock)
        {
            if (ReferenceEquals(s_registry[_index], this)) Volatile.Write(ref s_registry[_index], null);
        }
        _db?.Dispose();
    }
}
