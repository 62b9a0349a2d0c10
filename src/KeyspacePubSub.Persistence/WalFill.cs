using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace KeyspacePubSub.Persistence;

/// <summary>
/// Keeps the WAL file written ahead of SQLite, so that a commit overwrites blocks the file already has.
/// SQLite appends a whole page (plus a 24-byte frame header) per changed page to the WAL; while the file grows,
/// the fdatasync of every commit must also allocate blocks and journal the new size (ext4 here: measured
/// ~200 µs per append + fdatasync of 4 KiB, ~115-160 µs per overwrite + fdatasync). Redis's AOF grows by a few
/// hundred bytes per write, so it allocates a block only every few writes. Here the file is extended with
/// zeros 1 MiB at a time, just ahead of the frames in use, up to the size the WAL reaches between two
/// checkpoints; after a checkpoint SQLite writes the WAL again from its start, over the same blocks.
/// Zeros after the last frame are what SQLite expects to find there: a frame is valid only with the WAL
/// header's salts and a running checksum, so recovery stops at the first zero frame, as it stops at the stale
/// frames an ordinary WAL holds after a restart of the log.
/// The number of frames in use comes from SQLite's WAL hook, called on the committing thread inside each
/// commit, when SQLite is not writing the file: only then is the file extended, and only beyond its end.
/// </summary>
internal sealed unsafe partial class WalFill : IDisposable
{
    private const long WalHeaderBytes = 32, FrameHeaderBytes = 24, Chunk = 1 << 20;
    private static readonly byte[] s_zeros = new byte[64 * 1024];

    private readonly SafeFileHandle _wal;
    private readonly IntPtr _db;
    private readonly long _frameBytes;
    private readonly long _limit;
    private GCHandle _self;
    private long _filledTo;
    private bool _failed;

    private WalFill(SafeFileHandle wal, IntPtr db, int pageSize, long maxFrames)
    {
        _wal = wal;
        _db = db;
        _frameBytes = FrameHeaderBytes + pageSize;
        _limit = WalHeaderBytes + maxFrames * _frameBytes;
        _filledTo = RandomAccess.GetLength(wal);
        _self = GCHandle.Alloc(this);
    }

    /// <summary>
    /// Installs the WAL hook on <paramref name="db"/> (an open sqlite3*); null when this SQLite build does not
    /// export it, and the caller estimates frames instead. The WAL file is extended up to the size of
    /// <paramref name="maxFrames"/> frames.
    /// </summary>
    public static WalFill? Install(SafeFileHandle wal, IntPtr db, int pageSize, long maxFrames)
    {
        var fill = new WalFill(wal, db, pageSize, maxFrames);
        try
        {
            sqlite3_wal_hook(db, &OnCommit, GCHandle.ToIntPtr(fill._self));
            return fill;
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
        {
            fill._self.Free();
            return null;
        }
    }

    /// <summary>Frames in the WAL after the last commit (it restarts from 0 after a checkpoint).</summary>
    public int Frames { get; private set; }

    /// <summary>Bytes of zeros written ahead of SQLite so far.</summary>
    public long FilledBytes { get; private set; }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int OnCommit(IntPtr self, IntPtr db, IntPtr dbName, int frames)
    {
        try
        {
            ((WalFill)GCHandle.FromIntPtr(self).Target!).Committed(frames);
        }
        catch (Exception)
        {
            // Nothing may unwind into SQLite; a failed extension only means SQLite grows the file itself.
        }
        return 0; // SQLITE_OK
    }

    private void Committed(int frames)
    {
        Frames = frames;
        long used = WalHeaderBytes + frames * _frameBytes;
        if (_failed || _filledTo >= _limit || used + Chunk / 2 <= _filledTo) return;
        // Only beyond the file's end: SQLite's frames are all below it.
        long from = Math.Max(_filledTo, RandomAccess.GetLength(_wal));
        long to = Math.Min(from + Chunk, _limit);
        try
        {
            for (long at = from; at < to; at += s_zeros.Length)
            {
                RandomAccess.Write(_wal, s_zeros.AsSpan(0, (int)Math.Min(s_zeros.Length, to - at)), at);
            }
        }
        catch (IOException)
        {
            _failed = true; // a full disk: SQLite's own writes will report it
            return;
        }
        FilledBytes += Math.Max(0, to - from);
        _filledTo = Math.Max(to, from);
    }

    [LibraryImport("e_sqlite3")]
    private static partial IntPtr sqlite3_wal_hook(IntPtr db, delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, int, int> callback, IntPtr arg);

    public void Dispose()
    {
        if (!_self.IsAllocated) return;
        sqlite3_wal_hook(_db, null, IntPtr.Zero);
        _self.Free();
    }
}
