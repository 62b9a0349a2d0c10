using System.Security.Cryptography;
using KeyspacePubSub.Lua;

namespace KeyspacePubSub.Engine.Scripting;

/// <summary>Redis 7.0's script flags (the shebang's flags=...); CompatMode: a script without a shebang.</summary>
[Flags]
internal enum ScriptFlags
{
    None = 0,
    NoWrites = 1,
    AllowOom = 2,
    AllowStale = 4,
    NoCluster = 8,
    AllowCrossSlot = 16,
    CompatMode = 32,
}

/// <summary>A script EVAL or SCRIPT LOAD compiled: its body, its flags and its function.</summary>
internal sealed record CachedScript(string Sha, byte[] Body, ScriptFlags Flags, LuaFunction Function);

/// <summary>The scripts cache: SHA1 (lower-case hex) → script, as Redis's lua_scripts dict; emptied by SCRIPT FLUSH.</summary>
internal sealed class ScriptCache
{
    private readonly Dictionary<string, CachedScript> _scripts = new(StringComparer.Ordinal);

    // The same scripts by body: an EVAL of a cached script finds it without hashing the body again.
    private readonly Dictionary<byte[], CachedScript> _byBody = new(ByteKeyComparer.Instance);

    public int Count => _scripts.Count;

    /// <summary>The scripts' bodies and names, as INFO's used_memory_scripts_eval counts them.</summary>
    public long Bytes { get; private set; }

    public bool TryGet(string sha, out CachedScript script) => _scripts.TryGetValue(sha, out script!);

    public bool TryGetByBody(ReadOnlySpan<byte> body, out CachedScript script) =>
        _byBody.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(body, out script!);

    public void Add(CachedScript script)
    {
        _scripts[script.Sha] = script;
        _byBody[script.Body] = script;
        Bytes += script.Body.Length + 40;
    }

    public void Clear()
    {
        _scripts.Clear();
        _byBody.Clear();
        Bytes = 0;
    }

    /// <summary>scripts_flags_def: each flag and its name, in Redis's order (FUNCTION LIST lists them so).</summary>
    public static readonly (ScriptFlags Flag, string Name)[] FlagNames =
    [
        (ScriptFlags.NoWrites, "no-writes"), (ScriptFlags.AllowOom, "allow-oom"), (ScriptFlags.AllowStale, "allow-stale"),
        (ScriptFlags.NoCluster, "no-cluster"), (ScriptFlags.AllowCrossSlot, "allow-cross-slot-keys"),
    ];

    /// <summary>The flag of that exact name, or None.</summary>
    public static ScriptFlags FlagNamed(string? name) => Array.Find(FlagNames, f => f.Name == name).Flag;

    public static string Sha1Hex(ReadOnlySpan<byte> body) => Convert.ToHexStringLower(SHA1.HashData(body));

    /// <summary>
    /// evalExtractShebangFlags: a first line "#!lua [flags=a,b]" gives the flags (and leaves compat mode); its
    /// length is returned so the line can be skipped (its line feed kept, so line numbers stay the user's).
    /// </summary>
    public static string? ParseShebang(ReadOnlySpan<byte> body, out ScriptFlags flags, out int shebangLength)
    {
        flags = ScriptFlags.CompatMode;
        shebangLength = 0;
        if (!body.StartsWith("#!"u8)) return null;
        int nl = body.IndexOf((byte)'\n');
        if (nl < 0) return "Invalid script shebang";
        shebangLength = nl;
        var parts = KeyspacePubSub.Protocol.InlineSplitter.SplitArgs(body[..nl])?.Select(a => System.Text.Encoding.Latin1.GetString(a)).ToList();
        if (parts is null || parts.Count == 0) return "Invalid engine in script shebang";
        if (parts[0] != "#!lua") return $"Unexpected engine in script shebang: {parts[0]}";
        flags = ScriptFlags.None;
        foreach (var part in parts.Skip(1))
        {
            if (!part.StartsWith("flags=", StringComparison.Ordinal)) return $"Unknown lua shebang option: {part}";
            // sdssplitlen: "flags=" alone is no flag at all; an empty one between commas is an unexpected flag.
            foreach (var f in part.Length == 6 ? [] : part[6..].Split(','))
            {
                var flag = FlagNamed(f);
                if (flag == ScriptFlags.None) return $"Unexpected flag in script shebang: {f}";
                flags |= flag;
            }
        }
        return null;
    }

}
