using KeyspacePubSub.Engine.Config;

namespace KeyspacePubSub.Server;

/// <summary>
/// Accepts Redis's own command-line form (<c>--port 6380 --requirepass secret</c>) by rewriting each
/// known Redis parameter to the configuration key <c>--Server:port=6380</c>; everything else
/// (<c>--Section:Key=value</c>) passes through to Microsoft.Extensions.Configuration unchanged.
/// </summary>
public static class RedisStyleArgs
{
    public static string[] Translate(string[] args)
    {
        var known = new ServerConfig();
        var result = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            if (a.StartsWith("--", StringComparison.Ordinal) && !a.Contains(':') && !a.Contains('='))
            {
                string name = a[2..];
                if (known.Exists(name))
                {
                    string value = i + 1 < args.Length ? args[++i] : "";
                    result.Add($"--Server:{name.ToLowerInvariant()}={value}");
                    continue;
                }
            }
            result.Add(a);
        }
        return [.. result];
    }
}
