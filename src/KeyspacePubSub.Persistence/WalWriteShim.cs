using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace KeyspacePubSub.Persistence;

/// <summary>
/// A SQLite VFS over the default one that writes each commit's WAL frames with one system call. SQLite writes
/// a frame as two writes, its 24-byte header and then the page; a one-row commit is a frame, so every commit
/// made two pwrite calls (2.3 per backlog transaction, measured with perf stat), and on this machine a pair of
/// writes costs 3.5 µs where one write of both costs 2.1 µs. Here WAL writes that follow one another are
/// gathered in a buffer, and the page of the commit frame (the frame whose header holds the database size
/// after the commit, SQLite's mark of a commit) writes them all, inside SQLite's commit: its result is the
/// result of that write, so a failure (a full disk) fails the commit as before, and nothing is acknowledged
/// that was not written. Any other use of the file (read, sync, size, truncate, lock, close) first writes
/// what is gathered. For <see cref="CheckpointAhead"/> it reports the WAL's commits and restarts, and skips a
/// checkpoint's read and write of a page already written into the database file. Every other file, and
/// everything else, goes to the default VFS unchanged.
/// Registered as the process's default VFS: the server's SQLite connections are all the store's.
/// </summary>
internal static unsafe partial class WalWriteShim
{
    private const int SQLITE_OK = 0, SQLITE_IOERR_WRITE = 10 | (3 << 8), SQLITE_OPEN_MAIN_DB = 0x100, SQLITE_OPEN_WAL = 0x00080000, FrameHeader = 24;
    private const int SQLITE_FCNTL_CKPT_DONE = 37, SQLITE_FCNTL_CKPT_START = 39;
    // Under 128 KiB: the unix VFS keeps only the low 17 bits of a write's length (its writes are at most a
    // 64 KiB page and a header), so a 256 KiB write wrote nothing and failed as a full disk.
    private const int BufferBytes = 120 * 1024;

    [StructLayout(LayoutKind.Sequential)]
    private struct Vfs
    {
        public int iVersion, szOsFile, mxPathname;
        public Vfs* pNext;
        public byte* zName;
        public void* pAppData;
        public delegate* unmanaged[Cdecl]<Vfs*, byte*, File*, int, int*, int> xOpen;
        // The rest (xDelete .. xNextSystemCall) are copied from the default VFS and never called here.
        public fixed long rest[15];
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct IoMethods
    {
        public int iVersion;
        public delegate* unmanaged[Cdecl]<File*, int> xClose;
        public delegate* unmanaged[Cdecl]<File*, void*, int, long, int> xRead;
        public delegate* unmanaged[Cdecl]<File*, void*, int, long, int> xWrite;
        public delegate* unmanaged[Cdecl]<File*, long, int> xTruncate;
        public delegate* unmanaged[Cdecl]<File*, int, int> xSync;
        public delegate* unmanaged[Cdecl]<File*, long*, int> xFileSize;
        public delegate* unmanaged[Cdecl]<File*, int, int> xLock;
        public delegate* unmanaged[Cdecl]<File*, int, int> xUnlock;
        public delegate* unmanaged[Cdecl]<File*, int*, int> xCheckReservedLock;
        public delegate* unmanaged[Cdecl]<File*, int, void*, int> xFileControl;
        public delegate* unmanaged[Cdecl]<File*, int> xSectorSize;
        public delegate* unmanaged[Cdecl]<File*, int> xDeviceCharacteristics;
        public delegate* unmanaged[Cdecl]<File*, int, int, int, void**, int> xShmMap;
        public delegate* unmanaged[Cdecl]<File*, int, int, int, int> xShmLock;
        public delegate* unmanaged[Cdecl]<File*, void> xShmBarrier;
        public delegate* unmanaged[Cdecl]<File*, int, int> xShmUnmap;
        public delegate* unmanaged[Cdecl]<File*, long, int, void**, int> xFetch;
        public delegate* unmanaged[Cdecl]<File*, long, void*, int> xUnfetch;
    }

    /// <summary>sqlite3_file as this VFS makes it: its methods, the default VFS's file (right after), and the gathered writes.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct File
    {
        public IoMethods* pMethods;
        public File* real; // a sqlite3_file of the default VFS: its first field is its methods
        public byte* buffer; // WAL files only
        public long bufferOffset;
        public int buffered;
        public int inCommitFrame; // the last frame header was a commit frame's: each write after it is written at once
        public int ahead; // the CheckpointAhead of this database (its file or its WAL), 0 for none
    }

    private static Vfs* s_real;
    private static Vfs* s_vfs;
    private static IoMethods* s_methods;
    private static readonly object s_installLock = new();
    private static bool s_installed; // tried (servers in one process, as the tests start them, share the VFS)
    private static long s_walWrites, s_walWriteCalls;

    /// <summary>WAL writes SQLite asked for, and the writes made for them (one per commit, when gathering works).</summary>
    public static (long Asked, long Made) WalWrites => (Interlocked.Read(ref s_walWrites), Interlocked.Read(ref s_walWriteCalls));

    /// <summary>Registers the VFS as the default, once per process; false when this SQLite does not allow it.</summary>
    public static bool Install()
    {
        lock (s_installLock)
        {
            if (s_installed) return s_vfs != null;
            s_installed = true;
            return Register();
        }
    }

    private static bool Register()
    {
        try
        {
            s_real = sqlite3_vfs_find(null);
            if (s_real == null || s_real->iVersion < 1) return false;
            var vfs = (Vfs*)NativeMemory.AllocZeroed((nuint)sizeof(Vfs));
            // Only as much of the default VFS as its version has (version 3: all of Vfs's fields).
            int realBytes = s_real->iVersion >= 3 ? sizeof(Vfs) : s_real->iVersion == 2 ? sizeof(Vfs) - 3 * 8 : sizeof(Vfs) - 4 * 8;
            Buffer.MemoryCopy(s_real, vfs, sizeof(Vfs), realBytes);
            vfs->szOsFile = sizeof(File) + s_real->szOsFile;
            vfs->pNext = null;
            var name = "kps-wal-gather\0"u8;
            vfs->zName = (byte*)NativeMemory.Alloc((nuint)name.Length);
            name.CopyTo(new Span<byte>(vfs->zName, name.Length));
            vfs->xOpen = &Open;
            var m = (IoMethods*)NativeMemory.AllocZeroed((nuint)sizeof(IoMethods));
            m->iVersion = 3;
            m->xClose = &Close;
            m->xRead = &Read;
            m->xWrite = &Write;
            m->xTruncate = &Truncate;
            m->xSync = &Sync;
            m->xFileSize = &FileSize;
            m->xLock = &Lock;
            m->xUnlock = &Unlock;
            m->xCheckReservedLock = &CheckReservedLock;
            m->xFileControl = &FileControl;
            m->xSectorSize = &SectorSize;
            m->xDeviceCharacteristics = &DeviceCharacteristics;
            m->xShmMap = &ShmMap;
            m->xShmLock = &ShmLock;
            m->xShmBarrier = &ShmBarrier;
            m->xShmUnmap = &ShmUnmap;
            m->xFetch = &Fetch;
            m->xUnfetch = &Unfetch;
            s_methods = m;
            if (sqlite3_vfs_register(vfs, 1) != SQLITE_OK) return false;
            s_vfs = vfs;
            return true;
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
        {
            return false;
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Open(Vfs* vfs, byte* name, File* file, int flags, int* outFlags)
    {
        var real = (File*)((byte*)file + sizeof(File));
        file->pMethods = null;
        int rc = s_real->xOpen(s_real, name, real, flags, outFlags);
        if (rc != SQLITE_OK) return rc;
        if (real->pMethods == null) return rc; // nothing opened: nothing to close either
        file->real = real;
        file->buffer = (flags & SQLITE_OPEN_WAL) != 0 ? (byte*)NativeMemory.Alloc(BufferBytes) : null;
        file->buffered = 0;
        file->inCommitFrame = 0;
        bool wal = (flags & SQLITE_OPEN_WAL) != 0;
        file->ahead = wal || (flags & SQLITE_OPEN_MAIN_DB) != 0 ? CheckpointAhead.Find(Marshal.PtrToStringUTF8((IntPtr)name), wal) : 0;
        file->pMethods = s_methods;
        return rc;
    }

    private static IoMethods* M(File* f) => f->real->pMethods;

    /// <summary>Writes what is gathered; SQLite's error code when that fails (the gathered bytes are dropped: the commit they belonged to fails).</summary>
    private static int Drain(File* f)
    {
        if (f->buffered == 0) return SQLITE_OK;
        int n = f->buffered;
        f->buffered = 0;
        Interlocked.Increment(ref s_walWriteCalls);
        int rc = M(f)->xWrite(f->real, f->buffer, n, f->bufferOffset);
        if (rc == SQLITE_OK && f->ahead != 0) CheckpointAhead.WalWritten(f->ahead, f->bufferOffset, f->bufferOffset + n, f->inCommitFrame != 0);
        return rc;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Write(File* f, void* data, int amount, long offset)
    {
        if (f->buffer == null)
        {
            // The database file: a checkpoint's write of a page that is there already is not made again.
            int skip = f->ahead != 0 ? CheckpointAhead.SkipsDbWrite(f->ahead, offset, amount) : 0;
            return skip == 0 ? M(f)->xWrite(f->real, data, amount, offset) : skip > 0 ? SQLITE_OK : SQLITE_IOERR_WRITE;
        }
        Interlocked.Increment(ref s_walWrites);
        bool follows = f->buffered > 0 && offset == f->bufferOffset + f->buffered;
        if (!follows || f->buffered + amount > BufferBytes)
        {
            int rc = Drain(f);
            if (rc != SQLITE_OK) return rc;
            if (amount > BufferBytes)
            {
                Interlocked.Increment(ref s_walWriteCalls);
                return M(f)->xWrite(f->real, data, amount, offset);
            }
            f->bufferOffset = offset;
        }
        int at = f->buffered;
        Buffer.MemoryCopy(data, f->buffer + at, BufferBytes - at, amount);
        f->buffered = at + amount;
        if (amount == FrameHeader)
        {
            // A frame header (no other WAL write is 24 bytes). A commit frame's holds the database size after
            // the commit (not zero): its page, the next write, is the commit's last and writes everything; so
            // is any write until the next frame header (a page split around a sync point, padding frames).
            f->inCommitFrame = BinaryPrimitives.ReadUInt32BigEndian(new ReadOnlySpan<byte>((byte*)data + 4, 4)) != 0 ? 1 : 0;
            return SQLITE_OK;
        }
        return f->inCommitFrame != 0 ? Drain(f) : SQLITE_OK;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Close(File* f)
    {
        int drained = Drain(f);
        int rc = M(f)->xClose(f->real);
        if (f->buffer != null) NativeMemory.Free(f->buffer);
        f->buffer = null;
        return drained != SQLITE_OK ? drained : rc;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Read(File* f, void* data, int amount, long offset)
    {
        int rc = Drain(f);
        if (rc != SQLITE_OK) return rc;
        // A checkpoint's read of a WAL frame whose page is in the database file already: its write is skipped too.
        if (f->ahead != 0 && f->buffer != null && CheckpointAhead.SkipsWalRead(f->ahead, offset, amount)) return SQLITE_OK;
        return M(f)->xRead(f->real, data, amount, offset);
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Truncate(File* f, long size)
    {
        int rc = Drain(f);
        if (rc != SQLITE_OK) return rc;
        if (f->ahead != 0 && f->buffer != null) CheckpointAhead.WalTruncated(f->ahead);
        return M(f)->xTruncate(f->real, size);
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Sync(File* f, int flags)
    {
        int rc = Drain(f);
        return rc != SQLITE_OK ? rc : M(f)->xSync(f->real, flags);
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int FileSize(File* f, long* size)
    {
        int rc = Drain(f);
        return rc != SQLITE_OK ? rc : M(f)->xFileSize(f->real, size);
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Lock(File* f, int level)
    {
        int rc = Drain(f);
        return rc != SQLITE_OK ? rc : M(f)->xLock(f->real, level);
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Unlock(File* f, int level)
    {
        int rc = Drain(f);
        return rc != SQLITE_OK ? rc : M(f)->xUnlock(f->real, level);
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int CheckReservedLock(File* f, int* result) => M(f)->xCheckReservedLock(f->real, result);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int FileControl(File* f, int op, void* arg)
    {
        if (f->ahead != 0 && f->buffer == null)
        {
            if (op == SQLITE_FCNTL_CKPT_START) CheckpointAhead.CheckpointStarts(f->ahead);
            else if (op == SQLITE_FCNTL_CKPT_DONE) CheckpointAhead.CheckpointDone(f->ahead);
        }
        int rc = Drain(f);
        return rc != SQLITE_OK ? rc : M(f)->xFileControl(f->real, op, arg);
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int SectorSize(File* f) => M(f)->xSectorSize(f->real);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int DeviceCharacteristics(File* f) => M(f)->xDeviceCharacteristics(f->real);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int ShmMap(File* f, int region, int size, int extend, void** map) => M(f)->xShmMap(f->real, region, size, extend, map);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int ShmLock(File* f, int offset, int n, int flags) => M(f)->xShmLock(f->real, offset, n, flags);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void ShmBarrier(File* f) => M(f)->xShmBarrier(f->real);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int ShmUnmap(File* f, int delete) => M(f)->xShmUnmap(f->real, delete);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Fetch(File* f, long offset, int amount, void** p)
    {
        int rc = Drain(f);
        if (rc != SQLITE_OK) return rc;
        if (M(f)->iVersion < 3 || M(f)->xFetch == null)
        {
            *p = null;
            return SQLITE_OK;
        }
        return M(f)->xFetch(f->real, offset, amount, p);
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Unfetch(File* f, long offset, void* p) => M(f)->iVersion < 3 || M(f)->xUnfetch == null ? SQLITE_OK : M(f)->xUnfetch(f->real, offset, p);

    [LibraryImport("e_sqlite3")]
    private static partial Vfs* sqlite3_vfs_find(byte* name);

    [LibraryImport("e_sqlite3")]
    private static partial int sqlite3_vfs_register(Vfs* vfs, int makeDefault);
}
