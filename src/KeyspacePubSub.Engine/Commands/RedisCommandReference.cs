namespace KeyspacePubSub.Engine.Commands;

/// <summary>
/// Redis 7.0.15's own replies to COMMAND INFO and COMMAND DOCS, in RESP3, embedded as redis-server sent them
/// (Commands/Reference/*.resp3). COMMAND INFO takes each command's tips and key specs from them and COMMAND
/// DOCS its documentation (summary, complexity, arguments, history...), so both answer as Redis does; the key
/// specs also find COMMAND GETKEYSANDFLAGS's keys and flags (<see cref="KeySpecs"/>). Read on first use only.
/// To make the files again, against redis-server 7.0.15 on port 6379, for each of INFO and DOCS:
/// <code>
/// exec 3&lt;&gt;/dev/tcp/127.0.0.1/6379; printf 'HELLO 3\r\n' &gt;&amp;3; sleep 0.2; timeout 0.3 cat &lt;&amp;3 &gt;/dev/null
/// printf 'COMMAND INFO\r\n' &gt;&amp;3; timeout 1 cat &lt;&amp;3 &gt; command-info.resp3; exec 3&gt;&amp;-
/// </code>
/// </summary>
internal static class RedisCommandReference
{
    private sealed record Tables(Dictionary<string, RespNode> Info, Dictionary<string, RespNode> Docs, Dictionary<string, KeySpec[]> Specs, RespNode[] Top);

    private static readonly Lazy<Tables> s_tables = new(Load);

    /// <summary>Redis's COMMAND INFO entry of a command or subcommand ("client|kill"): an array of 10.</summary>
    public static RespNode? Info(string fullName) => s_tables.Value.Info.GetValueOrDefault(fullName);

    /// <summary>Redis's COMMAND DOCS map of a command or subcommand.</summary>
    public static RespNode? Docs(string fullName) => s_tables.Value.Docs.GetValueOrDefault(fullName);

    /// <summary>Redis's key specs of a command or subcommand, in its order; null for a name Redis 7.0 does not have.</summary>
    public static KeySpec[]? KeySpecs(string fullName) => s_tables.Value.Specs.GetValueOrDefault(fullName);

    /// <summary>Every command of Redis 7.0.15's COMMAND INFO (an array of 10 each, subcommands at 9), in its reply's order.</summary>
    public static IEnumerable<RespNode> AllInfo() => s_tables.Value.Top;

    private static Tables Load()
    {
        var info = new Dictionary<string, RespNode>(StringComparer.Ordinal);
        var docs = new Dictionary<string, RespNode>(StringComparer.Ordinal);
        var specs = new Dictionary<string, KeySpec[]>(StringComparer.Ordinal);
        var top = Read("command-info.resp3").Items;
        foreach (var entry in top) AddInfo(entry, info, specs);
        AddDocs(Read("command-docs.resp3"), docs);
        return new Tables(info, docs, specs, top);
    }

    private static void AddInfo(RespNode entry, Dictionary<string, RespNode> info, Dictionary<string, KeySpec[]> specs)
    {
        string name = entry.Items[0].String;
        info[name] = entry;
        specs[name] = [.. entry.Items[8].Items.Select(KeySpec.From)];
        foreach (var sub in entry.Items[9].Items) AddInfo(sub, info, specs);
    }

    private static void AddDocs(RespNode map, Dictionary<string, RespNode> docs)
    {
        foreach (var (name, doc) in map.Pairs())
        {
            docs[name] = doc;
            if (doc["subcommands"] is { } subs) AddDocs(subs, docs);
        }
    }

    private static RespNode Read(string resource)
    {
        using var stream = typeof(RedisCommandReference).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"resource {resource} is missing from {typeof(RedisCommandReference).Assembly.GetName().Name}");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        int pos = 0;
        var node = RespNode.Parse(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), ref pos);
        if (pos != buffer.Length) throw new InvalidOperationException($"resource {resource} holds more than one reply");
        return node;
    }
}
