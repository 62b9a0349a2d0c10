using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace KeyspacePubSub.Benchmark;

/// <summary>A server process measured by the benchmark: ours or real redis-server, or an external address.</summary>
public sealed class ServerUnderTest : IDisposable
{
    private readonly Process? _process;

    private ServerUnderTest(string name, string host, int port, Process? process)
    {
        Name = name;
        Host = host;
        Port = port;
        _process = process;
    }

    public string Name { get; }
    public string Host { get; }
    public int Port { get; }
    public int? Pid => _process?.Id;

    public static ServerUnderTest External(string name, string address)
    {
        var parts = address.Split(':');
        return new ServerUnderTest(name, parts[0], int.Parse(parts[1], CultureInfo.InvariantCulture), null);
    }

    public static ServerUnderTest StartRedis(params string[] extra)
    {
        int port = FreePort();
        var psi = new ProcessStartInfo("redis-server") { UseShellExecute = false, RedirectStandardOutput = true };
        foreach (var a in new[] { "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--maxclients", "20000", "--dir", Path.GetTempPath() }.Concat(extra)) psi.ArgumentList.Add(a);
        return Start("redis", psi, port);
    }

    /// <summary>Arguments given to every start of our server (the benchmark's --ours-args).</summary>
    public static string[] OursArgs { get; set; } = [];

    /// <summary>
    /// Our server's executable (the benchmark's --ours-bin), e.g. a native build from `dotnet publish`;
    /// null runs the build next to the benchmark with `dotnet`.
    /// </summary>
    public static string? OursBin { get; set; }

    public static ServerUnderTest StartOurs(params string[] extra)
    {
        int port = FreePort();
        var psi = new ProcessStartInfo(OursBin ?? "dotnet") { UseShellExecute = false, RedirectStandardOutput = true };
        if (OursBin == null) psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "keyspacepubsub-server.dll"));
        foreach (var a in new[] { "--port", port.ToString(CultureInfo.InvariantCulture), "--maxclients", "20000", "--Logging:LogLevel:Default=Warning" }.Concat(OursArgs).Concat(extra)) psi.ArgumentList.Add(a);
        return Start("ours", psi, port);
    }

    private static ServerUnderTest Start(string name, ProcessStartInfo psi, int port)
    {
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var probe = new TcpClient();
                probe.Connect(IPAddress.Loopback, port);
                return new ServerUnderTest(name, "127.0.0.1", port, p);
            }
            catch (SocketException)
            {
                Thread.Sleep(2); // finely: the restart rows time a start to its first reply
            }
        }
        p.Kill();
        throw new InvalidOperationException($"{name} did not start");
    }

    public static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    /// <summary>User + system CPU seconds of the server process so far (from /proc), or NaN for external servers.</summary>
    public double CpuSeconds()
    {
        if (_process is null) return double.NaN;
        var fields = File.ReadAllText($"/proc/{_process.Id}/stat").Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // After the ")" the state is field 3; utime and stime are fields 14 and 15.
        long ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return ticks / 100.0;
    }

    /// <summary>Resident set size in bytes (VmRSS), or NaN.</summary>
    public double RssBytes()
    {
        if (_process is null) return double.NaN;
        foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024.0;
            }
        }
        return double.NaN;
    }

    public void Dispose()
    {
        if (_process is null) return;
        try
        {
            _process.Kill();
            _process.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
    }
}
