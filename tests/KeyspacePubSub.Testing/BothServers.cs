namespace KeyspacePubSub.Testing;

/// <summary>The same client scenario against a fresh server of ours and then against real redis-server.</summary>
public static class BothServers
{
    /// <summary>
    /// Runs <paramref name="scenario"/> (given a port and the server's name for messages) against our server
    /// started in-process, then against real redis-server where it is installed (always under CI), so that
    /// what the scenario expects is Redis's behaviour.
    /// </summary>
    public static async Task RunAsync(Func<int, string, Task> scenario)
    {
        await using (var ours = await InProcessServer.StartAsync())
        {
            await scenario(ours.Port, "our server");
        }
        if (RedisProcess.SkipReason != null) return;
        using var redis = RedisProcess.Start();
        await scenario(redis.Port, "redis-server");
    }
}
