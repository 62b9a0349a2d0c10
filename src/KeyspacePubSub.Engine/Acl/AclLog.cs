using KeyspacePubSub.Engine.Commands;
using KeyspacePubSub.Protocol;

namespace KeyspacePubSub.Engine.Acl;

/// <summary>
/// ACL LOG (Redis 7.0's ACLLog): denied commands, keys, channels and failed authentications, newest first,
/// at most acllog-max-len. An entry like one of the ten newest (same reason, context, object and user, within
/// 60 s) is counted into it and moved to the front instead of added.
/// </summary>
internal sealed class AclLog(Engine engine)
{
    private const long GroupingMs = 60_000;

    private sealed class Entry
    {
        public long Count = 1;
        public AclDenied Reason;
        public required string Context; // toplevel, multi or lua
        public required byte[] Object, Username;
        public long Time;
        public required string ClientInfo;
    }

    private readonly LinkedList<Entry> _entries = new();

    public void Add(Client c, AclDenied reason, bool inMulti, byte[] obj, byte[]? username = null, bool inScript = false)
    {
        var entry = new Entry
        {
            Reason = reason,
            Context = inScript ? "lua" : inMulti ? "multi" : "toplevel",
            Object = obj,
            Username = username ?? c.User.Name,
            Time = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            ClientInfo = ClientCommands.Describe(engine, c).TrimEnd('\n'),
        };
        int scan = 10;
        for (var node = _entries.First; node != null && scan-- > 0; node = node.Next)
        {
            var e = node.Value;
            if (e.Reason != entry.Reason || e.Context != entry.Context || Math.Abs(e.Time - entry.Time) > GroupingMs
                || !e.Object.AsSpan().SequenceEqual(entry.Object) || !e.Username.AsSpan().SequenceEqual(entry.Username)) continue;
            _entries.Remove(node);
            _entries.AddFirst(node);
            e.ClientInfo = entry.ClientInfo;
            e.Time = entry.Time;
            e.Count++;
            return;
        }
        _entries.AddFirst(entry);
        while (_entries.Count > engine.Config.AclLogMaxLen) _entries.RemoveLast();
    }

    /// <summary>A refused command, as addACLLogEntry names it: by the command's full name, or the key or channel at <paramref name="position"/>.</summary>
    public void AddDenied(Client c, AclDenied denied, bool inMulti, CommandDef cmd, CommandArgs args, int position, bool inScript = false) =>
        Add(c, denied, inMulti, denied == AclDenied.Command ? System.Text.Encoding.ASCII.GetBytes(cmd.FullName) : args.ToArray(position), inScript: inScript);

    public void Reset() => _entries.Clear();

    /// <summary>ACL LOG [count]: the newest entries, each a map of seven fields.</summary>
    public void Write(RespWriter r, long count)
    {
        count = Math.Clamp(count, 0, _entries.Count);
        r.Array((int)count);
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var node = _entries.First;
        for (long i = 0; i < count; i++, node = node!.Next)
        {
            var e = node!.Value;
            r.Map(7);
            r.Bulk("count"u8); r.Integer(e.Count);
            r.Bulk("reason"u8); r.Bulk(e.Reason switch { AclDenied.Command => "command", AclDenied.Key => "key", AclDenied.Channel => "channel", _ => "auth" });
            r.Bulk("context"u8); r.Bulk(e.Context);
            r.Bulk("object"u8); r.Bulk(e.Object);
            r.Bulk("username"u8); r.Bulk(e.Username);
            r.Bulk("age-seconds"u8); r.Double((now - e.Time) / 1000.0);
            r.Bulk("client-info"u8); r.Bulk(e.ClientInfo);
        }
    }
}
