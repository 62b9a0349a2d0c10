namespace KeyspacePubSub.Server;

/// <summary>
/// The <c>unixsocket</c>'s file, handled one way by both transports (the event loops' NativeSocket.ListenUnix and
/// the sockets transport's SocketListener): as Redis, a file left at the path is removed before binding and the
/// socket's file at shutdown, whether that works or not; the permissions are set once it is bound.
/// </summary>
internal static class UnixSocketFile
{
    /// <summary>Removes the file at <paramref name="path"/>; why it could not, or null.</summary>
    public static string? Remove(string path)
    {
        try
        {
            File.Delete(path);
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return ex.Message;
        }
    }

    /// <summary>unixsocketperm, unless 0 (the file is then left as the umask made it).</summary>
    public static void SetPermissions(string path, int permissions)
    {
        if (permissions == 0 || OperatingSystem.IsWindows()) return;
        try
        {
            File.SetUnixFileMode(path, (UnixFileMode)permissions);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new IOException($"chmod {path}: {ex.Message}", ex);
        }
    }
}
