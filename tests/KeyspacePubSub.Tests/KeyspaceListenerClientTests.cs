using FluentAssertions;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// Keyspace-notification listeners written as users of redis-py, ioredis and node-redis write them (key
/// expiration listeners, a key's keyspace channel, a MULTI's events, another database's keyevents). Each
/// program runs against our server and against real redis-server: its expectations are Redis's behaviour.
/// </summary>
public class KeyspaceListenerClientTests
{
    private static async Task RunBoth(Func<int, Task<(int Exit, string Output)>> run, string marker)
    {
        await using (var server = await InProcessServer.StartAsync())
        {
            var (exit, output) = await run(server.Port);
            exit.Should().Be(0, "against our server: " + output);
            output.Should().Contain(marker);
        }
        if (RedisProcess.SkipReason != null) return; // redis-server is not installed here (never under CI)
        using var redis = RedisProcess.Start();
        var (redisExit, redisOutput) = await run(redis.Port);
        redisExit.Should().Be(0, "against redis-server: " + redisOutput);
        redisOutput.Should().Contain(marker);
    }

    [PythonRedisFact]
    public Task RedisPyListeners_HearWhatRedisAnnounces() =>
        RunBoth(port => NodeClientTests.RunAsync("/usr/bin/python3", port, "redis_py_keyspace.py"), "redis-py keyspace ok");

    [NodeFact]
    public Task IoredisAndNodeRedisListeners_HearWhatRedisAnnounces() =>
        RunBoth(port => NodeClientTests.RunAsync("node", port, "--test", "keyspace-listeners.test.js"), "# pass 4\n# fail 0");
}
