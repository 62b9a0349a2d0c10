using KeyspacePubSub.Engine.Config;
using KeyspacePubSub.Engine.Keyspace;
using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>Set commands (src/t_set.c): presence lists.</summary>
internal static class SetCommands
{
    public static void Register(CommandTable t)
    {
        t.Add(new() { Name = "sadd", Arity = -3, Flags = Write | DenyOom | Fast, Handler = SAdd, FirstKey = 1, LastKey = 1, Step = 1, Group = "set", Summary = "Adds one or more members to a set. Creates the key if it doesn't exist." });
        t.Add(new() { Name = "srem", Arity = -3, Flags = Write | Fast, Handler = SRem, FirstKey = 1, LastKey = 1, Step = 1, Group = "set", Summary = "Removes one or more members from a set. Deletes the set if the last member was removed." });
        t.Add(new() { Name = "smembers", Arity = 2, Flags = ReadOnly, Handler = SMembers, FirstKey = 1, LastKey = 1, Step = 1, Group = "set", Summary = "Returns all members of a set." });
        t.Add(new() { Name = "sismember", Arity = 3, Flags = ReadOnly | Fast, Handler = SIsMember, FirstKey = 1, LastKey = 1, Step = 1, Group = "set", Summary = "Determines whether a member belongs to a set." });
        t.Add(new() { Name = "smismember", Arity = -3, Flags = ReadOnly | Fast, Handler = SMIsMember, FirstKey = 1, LastKey = 1, Step = 1, Group = "set", Since = "6.2.0", Summary = "Determines whether multiple members belong to a set." });
        t.Add(new() { Name = "scard", Arity = 2, Flags = ReadOnly | Fast, Handler = static x => { if (TryGet(x, x.Args[1], false, out var s)) x.Reply.Integer(s?.Count ?? 0); }, FirstKey = 1, LastKey = 1, Step = 1, Group = "set", Summary = "Returns the number of members in a set." });
        t.Add(new() { Name = "sinter", Arity = -2, Flags = ReadOnly, Handler = static x => Combine(x, SetOp.Inter), FirstKey = 1, LastKey = -1, Step = 1, Group = "set", Summary = "Returns the intersect of multiple sets." });
        t.Add(new() { Name = "sunion", Arity = -2, Flags = ReadOnly, Handler = static x => Combine(x, SetOp.Union), FirstKey = 1, LastKey = -1, Step = 1, Group = "set", Summary = "Returns the union of multiple sets." });
        t.Add(new() { Name = "sdiff", Arity = -2, Flags = ReadOnly, Handler = static x => Combine(x, SetOp.Diff), FirstKey = 1, LastKey = -1, Step = 1, Group = "set", Summary = "Returns the difference of multiple sets." });
    }

    private enum SetOp { Inter, Union, Diff }

    private static Database Db(CommandContext x) => x.Engine.Databases[x.Client.Db];

    private static bool TryGet(CommandContext x, ReadOnlySpan<byte> key, bool write, out SetValue? set) => TypedLookup.TryGet(x, key, write, out set);

    private static void SAdd(CommandContext x)
    {
        if (!TryGet(x, x.Args[1], true, out var set)) return;
        if (set is null)
        {
            set = new SetValue();
            x.Engine.SetKey(Db(x), x.Args[1], set);
        }
        int added = 0;
        for (int i = 2; i < x.Args.Count; i++)
        {
            if (set.Members.TryAdd(x.Args.ToArray(i), true)) added++;
        }
        if (added > 0) x.Engine.Notify(NotifyFlags.Set, "sadd", x.Args[1], x.Client.Db);
        x.Reply.Integer(added);
    }

    private static void SRem(CommandContext x)
    {
        if (!TryGet(x, x.Args[1], true, out var set)) return;
        int removed = 0;
        if (set != null)
        {
            for (int i = 2; i < x.Args.Count; i++)
            {
                if (set.Members.Remove(x.Args.ToArray(i))) removed++;
            }
        }
        if (removed > 0)
        {
            var db = Db(x);
            x.Engine.Notify(NotifyFlags.Set, "srem", x.Args[1], db.Index);
            if (set!.Count == 0)
            {
                var stored = db.KeyOf(x.Args[1])!;
                db.Remove(stored);
                x.Engine.Notify(NotifyFlags.Generic, "del", stored, db.Index);
            }
        }
        x.Reply.Integer(removed);
    }

    private static void Reply(CommandContext x, List<byte[]> members)
    {
        x.Reply.Set(members.Count);
        foreach (var m in members) x.Reply.Bulk(m);
    }

    private static void SMembers(CommandContext x)
    {
        if (TryGet(x, x.Args[1], false, out var set)) Reply(x, set?.Ordered() ?? []);
    }

    private static void SIsMember(CommandContext x)
    {
        if (TryGet(x, x.Args[1], false, out var set)) x.Reply.Integer(set != null && set.Members.ContainsKey(x.Args.ToArray(2)) ? 1 : 0);
    }

    private static void SMIsMember(CommandContext x)
    {
        if (!TryGet(x, x.Args[1], false, out var set)) return;
        x.Reply.Array(x.Args.Count - 2);
        for (int i = 2; i < x.Args.Count; i++) x.Reply.Integer(set != null && set.Members.ContainsKey(x.Args.ToArray(i)) ? 1 : 0);
    }

    private static void Combine(CommandContext x, SetOp op)
    {
        var sets = new List<SetValue?>();
        for (int i = 1; i < x.Args.Count; i++)
        {
            if (!TryGet(x, x.Args[i], false, out var s)) return;
            sets.Add(s);
        }
        var result = new SetValue();
        var first = sets[0];
        switch (op)
        {
            case SetOp.Union:
                foreach (var s in sets)
                {
                    foreach (var m in s?.Members.Keys ?? Enumerable.Empty<byte[]>()) result.Members.TryAdd(m, true);
                }
                break;
            case SetOp.Inter:
                if (sets.All(s => s != null))
                {
                    foreach (var m in first!.Members.Keys.Where(m => sets.All(s => s!.Members.ContainsKey(m)))) result.Members.TryAdd(m, true);
                }
                break;
            default:
                foreach (var m in first?.Members.Keys ?? Enumerable.Empty<byte[]>())
                {
                    if (!sets.Skip(1).Any(s => s != null && s.Members.ContainsKey(m))) result.Members.TryAdd(m, true);
                }
                break;
        }
        Reply(x, result.Ordered());
    }
}
