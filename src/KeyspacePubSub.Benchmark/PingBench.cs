using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace KeyspacePubSub.Benchmark;

/// <summary>redis-benchmark against a server; returns requests/s per test name.</summary>
public static class RedisBenchmarkRunner
{
    public static Dictionary<string, double> Run(ServerUnderTest server, string tests, int pipeline, int requests, int clients = 50, string extra = "")
    {
        var psi = new ProcessStartInfo("redis-benchmark")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in $"-h {server.Host} -p {server.Port} -t {tests} -n {requests} -c {clients} -P {pipeline} -q --csv {extra}".Split(' ', StringSplitOptions.RemoveEmptyEntries)) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        var result = new Dictionary<string, double>();
        foreach (Match m in Regex.Matches(output, "^\"([^\"]+)\",\"([0-9.]+)\"", RegexOptions.Multiline))
        {
            result[m.Groups[1].Value] = double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
        }
        return result;
    }
}
