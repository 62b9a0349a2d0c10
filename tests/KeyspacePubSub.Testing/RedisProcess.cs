using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace KeyspacePubSub.Testing;

/// <summary>
/// A real redis-server (Debian's), on a free loopback port, without persistence, in a directory of its own: a
/// SAVE in one test writes a dump.rdb there, which a shared directory would have every later redis-server load.
/// </summary>
public sealed class RedisProcess : IDisposable
{
    private readonly Process _process;
    private readonly string _dir;

    private RedisProcess(Process process, int port, string dir)
    {
        _process = process;
        Port = port;
        _dir = dir;
    }

    public int Port { get; }

    public static string? FindBinary()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Append("/usr/bin").Append("/usr/local/bin"))
        {
            var path = Path.Combine(dir, "redis-server");
            if (File.Exists(path)) return path;
        }
        return null;
    }

    public static bool Available => FindBinary() != null;

    /// <summary>Why a test needing redis-server is skipped here, or null. Under CI it is never skipped.</summary>
    public static string? SkipReason =>
        Available || Environment.GetEnvironmentVariable("CI") == "true" ? null : "redis-server is not installed (apt-get install -y redis-server)";

    public static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    public static RedisProcess Start(params string[] extraArgs)
    {
        var binary = FindBinary() ?? throw new InvalidOperationException("redis-server not found on PATH; install it with: apt-get install -y redis-server");
        int port = FreePort();
        string dir = Directory.CreateTempSubdirectory("kps-redis-").FullName;
        var psi = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "--port", port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--enable-debug-command", "yes", "--dir", dir }) psi.ArgumentList.Add(a);
        foreach (var a in extraArgs) psi.ArgumentList.Add(a);
        var process = Process.Start(psi)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var probe = new TcpClient();
                probe.Connect(IPAddress.Loopback, port);
                return new RedisProcess(process, port, dir);
            }
            catch (SocketException)
            {
                Thread.Sleep(50);
            }
        }
        process.Kill();
        Directory.Delete(dir, recursive: true);
        throw new InvalidOperationException("redis-server did not start");
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited) _process.Kill();
            _process.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // A file still open: the directory stays in the temporary folder.
        }
    }
}
