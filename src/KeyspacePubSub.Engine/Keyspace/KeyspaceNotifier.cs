using System.Text;
using KeyspacePubSub.Engine.Config;
using KeyspacePubSub.Engine.PubSub;

namespace KeyspacePubSub.Engine.Keyspace;

/// <summary>
/// As src/notify.c notifyKeyspaceEvent: for an enabled class, PUBLISH __keyspace@db__:key with the event,
/// then __keyevent@db__:event with the key, through the broker like any other message.
/// </summary>
public sealed class KeyspaceNotifier(ServerConfig config, PubSubBroker broker)
{
    private byte[] _scratch = new byte[256];

    public void Notify(NotifyFlags type, string evt, ReadOnlySpan<byte> key, int db)
    {
        var flags = config.NotifyKeyspaceEvents;
        if ((flags & type) == 0) return;
        if ((flags & NotifyFlags.Keyspace) != 0)
        {
            int n = Channel("__keyspace@", db, key);
            broker.Publish(_scratch.AsSpan(0, n), Encoding.ASCII.GetBytes(evt), shard: false);
        }
        if ((flags & NotifyFlags.Keyevent) != 0)
        {
            int n = Channel("__keyevent@", db, Encoding.ASCII.GetBytes(evt));
            broker.Publish(_scratch.AsSpan(0, n), key, shard: false);
        }
    }

    private int Channel(string prefix, int db, ReadOnlySpan<byte> suffix)
    {
        string head = $"{prefix}{db}__:";
        int need = head.Length + suffix.Length;
        if (_scratch.Length < need) _scratch = new byte[need * 2];
        int n = Encoding.ASCII.GetBytes(head, _scratch);
        suffix.CopyTo(_scratch.AsSpan(n));
        return need;
    }
}
