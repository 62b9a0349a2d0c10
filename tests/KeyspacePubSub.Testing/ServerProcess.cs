using System.Diagnostics;

namespace KeyspacePubSub.Testing;

/// <summary>
/// Our server as a process of its own (<c>dotnet keyspacepubsub-server.dll args…</c>), for what an in-process
/// server cannot show: start-up and its log, exit codes, a SIGKILL. Standard output and error are collected.
/// With <c>KPS_SERVER_BIN</c> set to an executable (the native build of `dotnet publish`), that runs instead;
/// <c>.ci/run</c> runs the process and conformance tests once more that way.
/// </summary>
public sealed class ServerProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _out = [];
    private readonly List<string> _err = [];

    public ServerProcess(params string[] args)
    {
        var psi = new ProcessStartInfo(NativeExecutable ?? "dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        if (NativeExecutable is null) psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "keyspacepubsub-server.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => { if (e.Data != null) lock (_out) _out.Add(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (_err) _err.Add(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>The executable named by <c>KPS_SERVER_BIN</c>, or null for the build beside the tests.</summary>
    public static string? NativeExecutable { get; } = Environment.GetEnvironmentVariable("KPS_SERVER_BIN") is { Length: > 0 } bin ? Path.GetFullPath(bin) : null;

    /// <summary>The process's resident memory now (VmRSS), in bytes.</summary>
    public long ResidentBytes()
    {
        foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) return long.Parse(line[6..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
        throw new InvalidOperationException("no VmRSS in /proc/<pid>/status");
    }

    public string Stdout { get { lock (_out) return string.Join("\n", _out); } }

    public string Stderr { get { lock (_err) return string.Join("\n", _err); } }

    /// <summary>Waits (up to 30 s) until <paramref name="port"/> answers PING; false if the process exited first.</summary>
    public bool WaitUntilServing(int port)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline && !_process.HasExited)
        {
            try
            {
                using var probe = new RawClient(port);
                if (probe.Call("PING") == "+PONG\r\n") return true;
            }
            catch (System.Net.Sockets.SocketException)
            {
                Thread.Sleep(100);
            }
        }
        return false;
    }

    /// <summary>The first line of standard output that matches, waiting up to 30 s; null if none came.</summary>
    public async Task<string?> WaitForLine(Func<string, bool> match)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline && !_process.HasExited)
        {
            lock (_out)
            {
                foreach (var line in _out) if (match(line)) return line;
            }
            await Task.Delay(50);
        }
        return null;
    }

    public async Task<int> ExitCode()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _process.WaitForExitAsync(cts.Token);
        _process.WaitForExit(); // drains the redirected output
        return _process.ExitCode;
    }

    /// <summary>Sends a signal (SIGTERM is 15) to the process.</summary>
    public void Signal(int signal)
    {
        if (kill(_process.Id, signal) != 0) throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    /// <summary>SIGKILL, and waits for the process to be gone.</summary>
    public void Kill()
    {
        if (!_process.HasExited) _process.Kill();
        _process.WaitForExit();
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }
}
