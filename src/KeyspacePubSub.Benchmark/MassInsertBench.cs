using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace KeyspacePubSub.Benchmark;

/// <summary>
/// Mass insertion as Redis documents it: a file of commands in the protocol piped through
/// <c>redis-cli --pipe</c>, which sends and reads replies in turn on one thread. Its time depends on the
/// server answering while the client still sends (until the forty-seventh session ours read a long pipeline
/// to its end before it answered, and redis-cli took 1.6× as long with it as with Redis).
/// </summary>
public static class MassInsertBench
{
    public readonly record struct Result(double Seconds, double ServerCpuSeconds);

    /// <summary>A protocol file of <paramref name="count"/> SET key:i value-i (16-byte values); its path.</summary>
    public static string WriteSets(int count) => Write("sets", count, i =>
    {
        string key = $"key:{i}";
        string value = $"value-{i:D10}";
        return $"*3\r\n$3\r\nSET\r\n${key.Length}\r\n{key}\r\n${value.Length}\r\n{value}\r\n";
    });

    /// <summary>A protocol file of <paramref name="count"/> XADDs to one stream, two fields each; its path.</summary>
    public static string WriteXadds(int count) => Write("xadds", count, i =>
    {
        string user = $"u{i % 100}";
        string msg = $"message number {i}";
        return $"*7\r\n$4\r\nXADD\r\n$14\r\nroom:s:backlog\r\n$1\r\n*\r\n$4\r\nuser\r\n${user.Length}\r\n{user}\r\n$3\r\nmsg\r\n${msg.Length}\r\n{msg}\r\n";
    });

    private static string Write(string name, int count, Func<int, string> command)
    {
        string path = Path.Combine(Path.GetTempPath(), $"kps-bench-{name}-{count}-{Environment.ProcessId}.resp");
        using var file = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20);
        for (int i = 0; i < count; i++) file.Write(command(i));
        return path;
    }

    /// <summary>Pipes <paramref name="file"/> into the server with redis-cli --pipe; checks that every command was answered without an error.</summary>
    public static Result Run(ServerUnderTest server, string file, int count)
    {
        double cpuBefore = server.CpuSeconds();
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add($"exec redis-cli -h {server.Host} -p {server.Port.ToString(CultureInfo.InvariantCulture)} --pipe < '{file}'");
        var sw = Stopwatch.StartNew();
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        double seconds = sw.Elapsed.TotalSeconds;
        double cpu = server.CpuSeconds() - cpuBefore;
        if (p.ExitCode != 0 || !output.Contains($"errors: 0, replies: {count.ToString(CultureInfo.InvariantCulture)}", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"redis-cli --pipe against {server.Name} failed: {output.Trim()}");
        }
        return new Result(seconds, cpu);
    }
}
