using System.Text.Json.Nodes;
using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>CONFIG GET / SET / RESETSTAT / REWRITE / HELP (src/config.c).</summary>
internal static class ConfigCommands
{
    public static void Register(CommandTable t)
    {
        const CommandFlags Cfg = Admin | NoScript | Loading | Stale;
        t.AddContainer(new() { Name = "config", Arity = -2, Group = "server", Since = "2.0.0", Summary = "A container for server configuration commands." },
            new() { Name = "get", Arity = -3, Flags = Cfg, Handler = Get, Group = "server", Since = "2.0.0" },
            new() { Name = "set", Arity = -4, Flags = Cfg, Handler = Set, Group = "server", Since = "2.0.0" },
            new() { Name = "resetstat", Arity = 2, Flags = Cfg, Handler = static (CommandContext x) => { x.Engine.ResetStats(); x.Reply.Ok(); }, Group = "server", Since = "2.0.0" },
            new() { Name = "rewrite", Arity = 2, Flags = Cfg, Handler = Rewrite, Group = "server", Since = "2.8.0" },
            new() { Name = "help", Arity = 2, Flags = Loading | Stale, Handler = HelpReply, Group = "server", Since = "5.0.0" });
    }

    private static void Get(CommandContext x)
    {
        var seen = new HashSet<string>();
        var pairs = new List<(string Name, string Value)>();
        for (int i = 2; i < x.Args.Count; i++)
        {
            foreach (var p in x.Engine.Config.Get(x.Args[i]))
            {
                if (seen.Add(p.Name)) pairs.Add(p);
            }
        }
        x.Reply.Map(pairs.Count);
        foreach (var (name, value) in pairs)
        {
            x.Reply.Bulk(name);
            x.Reply.Bulk(value);
        }
    }

    private static void Set(CommandContext x)
    {
        if ((x.Args.Count & 1) == 1)
        {
            x.Reply.Error(Errors.WrongArity("config|set"));
            return;
        }
        var config = x.Engine.Config;
        // As configSetCommand: every secret value is redacted (MONITOR, SLOWLOG) before any error can stop the command.
        for (int i = 2; i < x.Args.Count; i += 2)
        {
            if (config.IsSensitive(CommandTable.Latin1(x.Args[i]))) x.Engine.Redact(i + 1);
        }
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (int i = 2; i < x.Args.Count; i += 2)
        {
            string name = CommandTable.Latin1(x.Args[i]);
            if (!config.Exists(name))
            {
                x.Reply.Error($"ERR Unknown option or number of arguments for CONFIG SET - '{Errors.CText(x.Args[i])}'");
                return;
            }
            if (!names.Add(name))
            {
                x.Reply.Error($"ERR CONFIG SET failed (possibly related to argument '{name}') - duplicate parameter");
                return;
            }
            if (config.IsImmutable(name))
            {
                x.Reply.Error($"ERR CONFIG SET failed (possibly related to argument '{name}') - can't set immutable config");
                return;
            }
        }
        // Apply in order; on a failure, restore what was applied so the command is all or nothing, as Redis.
        var applied = new List<(string Name, string Old)>();
        for (int i = 2; i < x.Args.Count; i += 2)
        {
            string name = CommandTable.Latin1(x.Args[i]);
            string old = config.Get(System.Text.Encoding.Latin1.GetBytes(name))[0].Value;
            string? error = config.TrySet(name, x.Args.GetString(i + 1));
            if (error != null)
            {
                foreach (var (n, v) in applied) config.TrySet(n, v);
                x.Reply.Error($"ERR CONFIG SET failed (possibly related to argument '{name}') - {error}");
                return;
            }
            applied.Add((name, old));
        }
        x.Reply.Ok();
        if (names.Contains("maxmemory")) x.Engine.MaxMemoryChanged();
    }

    /// <summary>
    /// Writes the runtime values into the redis.conf the server started from, or else into the "Server" section of the
    /// JSON configuration file it started with.
    /// </summary>
    private static void Rewrite(CommandContext x)
    {
        var path = x.Engine.RedisConfPath ?? x.Engine.ConfigFilePath;
        if (path is null)
        {
            x.Reply.Error("ERR The server is running without a config file");
            return;
        }
        try
        {
            if (x.Engine.RedisConfPath != null)
            {
                Config.RedisConfRewrite.Rewrite(path, x.Engine.Config, UserLines(x.Engine)?.Select(u => "user " + u).ToList());
                x.Reply.Ok();
                return;
            }
            var root = File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? [] : [];
            var server = new JsonObject();
            foreach (var (name, value) in x.Engine.Config.Get("*"u8)) server[name] = value;
            if (UserLines(x.Engine) is { } users) server["user"] = new JsonArray([.. users.Select(u => JsonValue.Create(u))]);
            root["Server"] = server;
            File.WriteAllText(path, root.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
            x.Reply.Ok();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Text.Json.JsonException)
        {
            x.Reply.Error($"ERR Rewriting config file: {ex.Message}");
        }
    }

    /// <summary>The users as the configuration's user directives give them ("name rules..."); null when an ACL file keeps them.</summary>
    /// (Names and patterns are bytes, held as Latin-1 text; the configuration file is UTF-8 text, read back as such.)
    private static List<string>? UserLines(Engine e) =>
        e.Config.AclFile.Length > 0 ? null : [.. e.Acl.Users.Values.Select(u =>
            System.Text.Encoding.UTF8.GetString(System.Text.Encoding.Latin1.GetBytes(u.NameText + " " + Acl.AclDescribe.User(e.Acl, u))))];

    private static void HelpReply(CommandContext x) => Help.Reply(x.Reply, "CONFIG",
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.");
}
