namespace KeyspacePubSub.Tests;

/// <summary>
/// Keyspace-notification listeners written as users of redis-py, ioredis and node-redis write them (key
/// expiration listeners, a key's keyspace channel, a MULTI's events, another database's keyevents). Each
/// program runs against our server and against real redis-server: its expectations are Redis's behaviour.
/// </summary>
public class KeyspaceListenerClientTests
{
    [PythonRedisFact]
    public Task RedisPyListeners_HearWhatRedisAnnounces() =>
        NodeClientTests.RunAgainstBoth("/usr/bin/python3", "redis-py keyspace ok", "redis_py_keyspace.py");

    [NodeFact]
    public Task IoredisAndNodeRedisListeners_HearWhatRedisAnnounces() =>
        NodeClientTests.RunAgainstBoth("node", "# pass 4\n# fail 0", "--test", "keyspace-listeners.test.js");
}
