using KeyspacePubSub.Engine;
using KeyspacePubSub.Engine.Persistence;
using Microsoft.Extensions.Logging;

namespace KeyspacePubSub.Persistence;

/// <summary>The "Persistence" configuration section. Off by default.</summary>
public sealed record PersistenceOptions
{
    public bool Enabled { get; init; }
    public string Path { get; init; } = "data/keyspacepubsub.db";
    public IReadOnlyList<string> KeyPatterns { get; init; } = ["room:*:backlog"];
    public FsyncPolicy Fsync { get; init; } = FsyncPolicy.Everysec;

    /// <summary>Parses the section's values; an error message for a bad one.</summary>
    public static PersistenceOptions Parse(string? enabled, string? path, IReadOnlyList<string>? patterns, string? fsync, out string? error)
    {
        error = null;
        var o = new PersistenceOptions();
        if (enabled != null)
        {
            if (!bool.TryParse(enabled, out bool on)) error = $"Persistence:Enabled must be true or false, not '{enabled}'";
            o = o with { Enabled = on };
        }
        if (!string.IsNullOrWhiteSpace(path)) o = o with { Path = path };
        if (patterns is { Count: > 0 }) o = o with { KeyPatterns = patterns };
        if (fsync != null)
        {
            if (!Enum.TryParse<FsyncPolicy>(fsync, ignoreCase: true, out var policy)) error = $"Persistence:Fsync must be always, everysec or no, not '{fsync}'";
            o = o with { Fsync = policy };
        }
        return o;
    }

    /// <summary>Opens the store, loads the durable keys and the function libraries into the engine and starts tracking them.</summary>
    public SqliteStore Attach(Engine.Engine engine, ILogger logger)
    {
        var store = new SqliteStore(Path, Fsync, logger);
        lock (engine.Gate)
        {
            var keys = new DurableKeys(engine, store, KeyPatterns);
            keys.Restore(store.Load(engine.NowMs));
            engine.RestoreFunctions(store.LoadedFunctions);
            engine.Durable = keys;
        }
        return store;
    }
}
