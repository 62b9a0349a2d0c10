using KeyspacePubSub.Engine.Config;
using KeyspacePubSub.Server;

namespace KeyspacePubSub.Testing;

/// <summary>Our server, started in-process on a free loopback port.</summary>
public sealed class InProcessServer : IAsyncDisposable
{
    private InProcessServer(KeyspaceServer server) => Server = server;

    public KeyspaceServer Server { get; }
    public Engine.Engine Engine => Server.Engine;
    public int Port => Server.Port;

    public static Task<InProcessServer> StartAsync(params (string Name, string Value)[] settings) => StartAsync(null, settings);

    public static async Task<InProcessServer> StartAsync(KeyspacePubSub.Persistence.PersistenceOptions? persistence, params (string Name, string Value)[] settings)
    {
        var config = new ServerConfig();
        config.TrySet("port", "0", startup: true);
        config.TrySet("enable-debug-command", "yes", startup: true); // as RedisProcess starts redis-server (the default is "no")
        foreach (var (name, value) in settings)
        {
            var error = config.TrySet(name, value, startup: true);
            if (error != null) throw new ArgumentException($"{name}: {error}");
        }
        var engine = new Engine.Engine(config);
        string? aclError;
        lock (engine.Gate) aclError = engine.Acl.LoadAtStartup(config.AclUserLines);
        if (aclError != null) throw new ArgumentException(aclError);
        var server = new KeyspaceServer(engine, persistence: persistence);
        await server.StartAsync();
        return new InProcessServer(server);
    }

    public ValueTask DisposeAsync() => Server.DisposeAsync();
}
