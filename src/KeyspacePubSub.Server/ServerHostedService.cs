using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace KeyspacePubSub.Server;

/// <summary>Runs <see cref="KeyspaceServer"/> inside the generic host; SHUTDOWN stops the host.</summary>
internal sealed class ServerHostedService(KeyspaceServer server, IHostApplicationLifetime lifetime, ILogger<ServerHostedService> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        server.Engine.ShutdownRequested += () => lifetime.StopApplication();
        await server.StartAsync();
        logger.LogInformation("KeyspacePubSub {Version} (Redis {RedisVersion} compatible) listening on port {Port}",
            typeof(ServerHostedService).Assembly.GetName().Version, Engine.Engine.RedisVersion, server.Port);
    }

    public Task StopAsync(CancellationToken cancellationToken) => server.StopAsync();
}
