using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace KeyspacePubSub.Benchmark;

/// <summary>redis-benchmark against a server; returns requests/s per test name.</summary>
public static class RedisBenchmarkRunner
{
    /// <summary>
    /// Runs the same redis-benchmark against every server, alternating, <paramref name="rounds"/> times after one
    /// short uncounted warm-up, and returns each server's median per test: on a 2-core machine single runs
    /// swing by ±10%, more than the differences being measured.
    /// </summary>
    public static Dictionary<string, Dictionary<string, double>> Median(IReadOnlyList<ServerUnderTest> servers, string tests, int pipeline, int requests, int rounds, string[]? command = null)
    {
        foreach (var s in servers) Run(s, tests, pipeline, Math.Max(requests / 10, 10_000), command: command);
        var runs = servers.ToDictionary(s => s.Name, _ => new List<Dictionary<string, double>>());
        for (int round = 0; round < rounds; round++)
        {
            foreach (var s in servers) runs[s.Name].Add(Run(s, tests, pipeline, requests, command: command));
        }
        return runs.ToDictionary(kv => kv.Key, kv => kv.Value.SelectMany(r => r.Keys).Distinct().ToDictionary(
            test => test,
            test => kv.Value.Select(r => r.GetValueOrDefault(test)).Median()));
    }

    /// <summary>The key of server CPU ns per request in a run's results.</summary>
    public const string CpuKey = "server CPU ns/request";

    /// <summary>
    /// One redis-benchmark run of its <paramref name="tests"/> (-t), or, given <paramref name="command"/>, of that
    /// command (its result is then under the name "command").
    /// </summary>
    public static Dictionary<string, double> Run(ServerUnderTest server, string tests, int pipeline, int requests, int clients = 50, string extra = "", string[]? command = null)
    {
        var psi = new ProcessStartInfo("redis-benchmark")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        string only = command is null ? $"-t {tests}" : "";
        foreach (var a in $"-h {server.Host} -p {server.Port} {only} -n {requests} -c {clients} -P {pipeline} -q --csv {extra}".Split(' ', StringSplitOptions.RemoveEmptyEntries)) psi.ArgumentList.Add(a);
        foreach (var a in command ?? []) psi.ArgumentList.Add(a);
        double cpu0 = server.CpuSeconds();
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        double cpu = server.CpuSeconds() - cpu0;
        var result = new Dictionary<string, double>();
        foreach (Match m in Regex.Matches(output, "^\"([^\"]+)\",\"([0-9.]+)\"", RegexOptions.Multiline))
        {
            result[command is null ? m.Groups[1].Value : "command"] = double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
        }
        // Server CPU per request over the whole run (every test in it): steadier than requests/s when the
        // load generator, one thread, saturates its core (it does at -P 16 here, for Redis and for us alike).
        if (result.Count > 0 && !double.IsNaN(cpu)) result[CpuKey] = cpu * 1e9 / ((double)requests * result.Count);
        return result;
    }
}
