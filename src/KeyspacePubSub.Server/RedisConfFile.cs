using KeyspacePubSub.Protocol;

namespace KeyspacePubSub.Server;

/// <summary>
/// Reads a redis.conf as redis-server reads one (<c>loadServerConfigFromString</c>): a directive and its arguments per
/// line, split as sdssplitargs splits them, <c>#</c> comments, <c>include</c> of further files (opened relative to the
/// working directory, as Redis opens them). Each directive becomes the setting <c>Server:name</c> whose value is its
/// arguments joined by spaces, as the command line's directives do. Of two lines naming one directive the later wins,
/// except for the directives whose lines add up in Redis 7.0: <c>save</c> (a list of points) and
/// <c>client-output-buffer-limit</c> (one line per client class, as the stock redis.conf writes it).
/// </summary>
public static class RedisConfFile
{
    private const int MaxIncludeDepth = 16; // an include loop is an error, not a stack overflow
    private static readonly string[] s_accumulating = ["save", "client-output-buffer-limit"];

    /// <summary>The file's settings; <see cref="InvalidDataException"/> names the file and line of an error.</summary>
    public static Dictionary<string, string?> Read(string path)
    {
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        Read(Path.GetFullPath(path), settings, 0);
        return settings;
    }

    private static void Read(string path, Dictionary<string, string?> settings, int depth)
    {
        if (depth > MaxIncludeDepth) throw new InvalidDataException($"{path}: includes nested deeper than {MaxIncludeDepth} (an include loop?)");
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"Fatal error, can't open config file '{path}': {ex.Message}", ex);
        }
        for (int n = 0; n < lines.Length; n++)
        {
            string line = lines[n].Trim(' ', '\t', '\r', '\n');
            if (line.Length == 0 || line[0] == '#') continue;
            string[] argv = InlineSplitter.SplitArgs(line) ?? throw Error(path, n, line, "Unbalanced quotes in configuration line");
            if (argv.Length == 0) continue;
            string name = argv[0].ToLowerInvariant();
            if (name == "include")
            {
                if (argv.Length != 2) throw Error(path, n, line, "wrong number of arguments");
                Read(Path.GetFullPath(argv[1]), settings, depth + 1);
                continue;
            }
            string key = "Server:" + name, value = string.Join(' ', argv, 1, argv.Length - 1);
            if (name == "user")
            {
                // Every line is a user (ACL): kept one per line, each with its arguments re-quoted as one line.
                string user = string.Join(' ', argv.Skip(1).Select(Quote));
                settings[key] = settings.GetValueOrDefault(key) is { Length: > 0 } users ? users + "\n" + user : user;
                continue;
            }
            if (Array.IndexOf(s_accumulating, name) >= 0 && value.Length > 0 && settings.GetValueOrDefault(key) is { Length: > 0 } before) value = before + " " + value;
            settings[key] = value;
        }
    }

    // An argument as sdssplitargs reads it back: quoted when it holds a space or a quote.
    private static string Quote(string arg) =>
        arg.Length > 0 && !arg.Any(ch => ch is ' ' or '"' or '\'' or '\\' or '\t') ? arg : "\"" + arg.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

    // As Redis words it: "Reading the configuration file, at line N" and the line itself (its start, for a file that is not text).
    private static InvalidDataException Error(string path, int index, string line, string reason) =>
        new($"{path}, line {index + 1}: >>> '{(line.Length > 200 ? line[..200] + "..." : line)}': {reason}");
}
