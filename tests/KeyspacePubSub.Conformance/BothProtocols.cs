using KeyspacePubSub.Testing;

namespace KeyspacePubSub.Conformance;

/// <summary>A client of each server in RESP2 and another pair in RESP3 (after HELLO 3), for replies compared in both protocols.</summary>
public sealed class BothProtocols : IDisposable
{
    public BothProtocols(ServersFixture servers)
    {
        Resp2 = (new RawClient(servers.Redis!.Port), new RawClient(servers.OursPort));
        Resp3 = (new RawClient(servers.Redis!.Port), new RawClient(servers.OursPort));
        Resp3.Redis.Call("HELLO", "3");
        Resp3.Ours.Call("HELLO", "3");
    }

    public (RawClient Redis, RawClient Ours) Resp2 { get; }
    public (RawClient Redis, RawClient Ours) Resp3 { get; }
    public IEnumerable<(RawClient Redis, RawClient Ours)> Both => [Resp2, Resp3];

    public void Dispose()
    {
        foreach (var (redis, ours) in Both)
        {
            redis.Dispose();
            ours.Dispose();
        }
    }
}
