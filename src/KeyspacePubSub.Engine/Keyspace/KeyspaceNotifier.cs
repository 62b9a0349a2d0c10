using System.Text;
using KeyspacePubSub.Engine.Config;
using KeyspacePubSub.Engine.PubSub;

namespace KeyspacePubSub.Engine.Keyspace;

/// <summary>
/// As src/notify.c notifyKeyspaceEvent: for an enabled class, PUBLISH __keyspace@db__:key with the event,
/// then __keyevent@db__:event with the key, through the broker like any other message. Channel prefixes and
/// event names are encoded once and cached, so a notified write allocates nothing. Used under the gate only.
/// </summary>
public sealed class KeyspaceNotifier(ServerConfig config, PubSubBroker broker)
{
    private readonly Dictionary<string, byte[]> _eventBytes = [];
    private readonly Dictionary<int, (byte[] Keyspace, byte[] Keyevent)> _prefixes = [];
    private byte[] _scratch = new byte[256];

    public void Notify(NotifyFlags type, string evt, ReadOnlySpan<byte> key, int db)
    {
        var flags = config.NotifyKeyspaceEvents;
        if ((flags & type) == 0) return;
        if (!_eventBytes.TryGetValue(evt, out var evtBytes)) _eventBytes[evt] = evtBytes = Encoding.ASCII.GetBytes(evt);
        if (!_prefixes.TryGetValue(db, out var prefix))
        {
            _prefixes[db] = prefix = (Encoding.ASCII.GetBytes($"__keyspace@{db}__:"), Encoding.ASCII.GetBytes($"__keyevent@{db}__:"));
        }
        if ((flags & NotifyFlags.Keyspace) != 0) broker.Publish(Channel(prefix.Keyspace, key), evtBytes, shard: false);
        if ((flags & NotifyFlags.Keyevent) != 0) broker.Publish(Channel(prefix.Keyevent, evtBytes), key, shard: false);
    }

    private ReadOnlySpan<byte> Channel(byte[] prefix, ReadOnlySpan<byte> suffix)
    {
        int need = prefix.Length + suffix.Length;
        if (_scratch.Length < need) _scratch = new byte[need * 2];
        prefix.CopyTo(_scratch, 0);
        suffix.CopyTo(_scratch.AsSpan(prefix.Length));
        return _scratch.AsSpan(0, need);
    }
}
