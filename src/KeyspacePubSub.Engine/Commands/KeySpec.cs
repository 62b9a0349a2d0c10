using KeyspacePubSub.Protocol;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>
/// One of a command's key specs, as Redis 7.0's COMMAND INFO gives it: the key's flags (RO, OW, access,
/// update...), where the search begins (an argument index, or after a keyword searched for from an index,
/// backwards when the index is negative) and how the keys are found from there (a range, or a count of keys
/// held by an argument). "unknown" for either part: the spec cannot be applied, and the command's own rules
/// find its keys (SORT's BY, GET and STORE).
/// </summary>
internal sealed record KeySpec(string[] Flags, KeySpec.Begin BeginKind, int Index, string Keyword, int StartFrom,
    KeySpec.Find FindKind, int LastKey, int KeyStep, int Limit, int KeyNumIndex, int FirstKey)
{
    public enum Begin { Unknown, Index, Keyword }
    public enum Find { Unknown, Range, KeyNum }

    public bool Has(string flag) => Flags.Contains(flag);

    public static KeySpec From(RespNode spec)
    {
        var begin = spec["begin_search"]!;
        var find = spec["find_keys"]!;
        var b = begin["spec"]!;
        var f = find["spec"]!;
        int Int(RespNode map, string key) => (int)(map[key]?.Integer ?? 0);
        return new KeySpec(
            [.. spec["flags"]!.Items.Select(n => n.String)],
            begin["type"]!.String switch { "index" => Begin.Index, "keyword" => Begin.Keyword, _ => Begin.Unknown },
            Int(b, "index"), b["keyword"]?.String ?? "", Int(b, "startfrom"),
            find["type"]!.String switch { "range" => Find.Range, "keynum" => Find.KeyNum, _ => Find.Unknown },
            Int(f, "lastkey"), Int(f, "keystep"), Int(f, "limit"), Int(f, "keynumidx"), Int(f, "firstkey"));
    }

    /// <summary>
    /// The keys of a command line (its name at <paramref name="start"/> of <paramref name="args"/>; positions are
    /// relative to it) by the specs, in spec order, each with its spec's flags; false when a spec cannot be
    /// applied to this line (a key count that is not a number, a range past the end, an unknown or
    /// incomplete spec), as Redis's getKeysUsingKeySpecs. Specs of arguments that are not keys (shard channels) are skipped.
    /// </summary>
    public static bool TryFind(KeySpec[] specs, CommandArgs args, int start, List<(int Pos, string[] Flags)> keys)
    {
        int argc = args.Count - start;
        foreach (var spec in specs)
        {
            if (spec.Has("not_key")) continue;
            int first;
            switch (spec.BeginKind)
            {
                case Begin.Index:
                    first = spec.Index;
                    break;
                case Begin.Keyword:
                    first = 0;
                    // Forwards up to the last argument but one (a keyword has its key after it), or backwards down to
                    // the second (Redis's search stops before its end index: MIGRATE's KEYS as its first argument is
                    // not found, checked against redis-server 7.0.15).
                    bool forwards = spec.StartFrom > 0;
                    int from = forwards ? spec.StartFrom : argc + spec.StartFrom;
                    for (int i = from; i >= 1 && (forwards ? i < argc - 1 : i < argc && i > 1); i += forwards ? 1 : -1)
                    {
                        if (args.Is(start + i, spec.Keyword))
                        {
                            first = i + 1;
                            break;
                        }
                    }
                    if (first == 0) continue; // no such keyword: no keys of this spec
                    break;
                default:
                    return false;
            }
            int last, keyStep;
            switch (spec.FindKind)
            {
                case Find.Range:
                    keyStep = spec.KeyStep;
                    if (spec.LastKey >= 0) last = first + spec.LastKey;
                    else if (spec.Limit == 0) last = argc + spec.LastKey;
                    else last = first + ((argc - first) / spec.Limit + spec.LastKey); // (lastkey -1: a share of what follows)
                    break;
                case Find.KeyNum:
                    keyStep = spec.KeyStep;
                    int at = first + spec.KeyNumIndex;
                    if (at >= argc || !args.TryGetInt64(start + at, out long count) || count < 0) return false;
                    first += spec.FirstKey;
                    last = unchecked(first + (int)count - 1); // (a count past 2^31 wraps, as Redis's int does)
                    break;
                default:
                    return false;
            }
            if (last >= argc || last < first || first >= argc) return false;
            for (int i = first; i <= last; i += Math.Max(1, keyStep)) keys.Add((i, spec.Flags)); // (Redis's specs step by 1 or 2)
            if (spec.Has("incomplete")) return false;
        }
        return true;
    }

    private static readonly string[] NoFlags = [], ReadAccess = ["RO", "access"], OverwriteUpdate = ["OW", "update"],
        ReadWriteAccessUpdate = ["RW", "access", "update"], ReadWriteAccessDelete = ["RW", "access", "delete"];

    /// <summary>
    /// The keys of a command line by the command's own rules, for a command whose specs do not suffice (SORT,
    /// MIGRATE, SET and BITFIELD, whose key's flags depend on the arguments) or did not apply to this line (a
    /// key count such as "2x", which these rules read as C's atoi does): Redis's getkeys procedures. Those
    /// of commands whose specs are complete give no flags. Only for a command that <see cref="HasOwnRules"/>.
    /// </summary>
    public static void FindByCommand(CommandDef def, CommandArgs args, int start, List<(int Pos, string[] Flags)> keys)
    {
        int argc = args.Count - start;
        switch (def.FullName)
        {
            case "set":
                bool get = false;
                for (int i = 3; i < argc && !get; i++) get = args.Is(start + i, "GET");
                keys.Add((1, get ? ReadWriteAccessUpdate : OverwriteUpdate));
                return;
            case "bitfield":
                // Read-only when every operation is a whole GET (OVERFLOW aside); anything else, a syntax error too, may write.
                bool reads = true;
                for (int i = 2; i < argc && reads; i++)
                {
                    int rest = argc - i - 1;
                    if (args.Is(start + i, "GET") && rest >= 2) i += 2;
                    else if (args.Is(start + i, "OVERFLOW") && rest >= 1) i += 1;
                    else reads = false; // (SET and INCRBY write)
                }
                keys.Add((1, reads ? ReadAccess : ReadWriteAccessUpdate));
                return;
        }
        if (def.MovableKeyPositions is null)
        {
            // A count of keys after the destination, if any (ZUNIONSTORE, LMPOP...): the destination comes last here.
            long n = CString.Atoi(args[start + def.KeyNumIndex]);
            if (n < 1 || n > argc - def.KeyNumIndex - 1) return;
            for (int i = 0; i < n; i++) keys.Add((def.KeyNumIndex + 1 + i, NoFlags));
            if (def.FirstKey > 0) keys.Add((def.FirstKey, NoFlags));
            return;
        }
        int index = 0;
        foreach (int pos in def.KeyPositions(args, start))
        {
            string[] flags = def.FullName switch
            {
                "sort" => index == 0 ? ReadAccess : OverwriteUpdate,
                "sort_ro" => ReadAccess,
                "migrate" => ReadWriteAccessDelete,
                _ => NoFlags,
            };
            keys.Add((pos, flags));
            index++;
        }
    }

    /// <summary>
    /// Whether a command names keys at all, as Redis's doesCommandHaveKeys: rules of its own, or a key spec of a
    /// key (a shard channel's is not). A command Redis 7.0 does not have: a first key, and not pub/sub.
    /// </summary>
    public static bool HasKeys(CommandDef def)
    {
        var specs = RedisCommandReference.KeySpecs(def.FullName);
        return HasOwnRules(def) || (specs?.Any(s => !s.Has("not_key")) ?? (def.FirstKey > 0 && !def.Has(CommandFlags.PubSub)));
    }

    /// <summary>
    /// The keys of a command line whose name is at <paramref name="start"/> (positions relative to it), each
    /// with its flags, as Redis's getKeysFromCommandWithSpecs: by the key specs, or by the command's own rules
    /// where the specs do not suffice or do not apply to this line. Empty when the line names none. For a
    /// command that <see cref="HasKeys"/>, with its arity checked.
    /// </summary>
    public static void FindKeys(CommandDef def, CommandArgs args, int start, List<(int Pos, string[] Flags)> keys)
    {
        var specs = RedisCommandReference.KeySpecs(def.FullName);
        bool byRules = HasOwnRules(def);
        bool found = false;
        if (specs is null) // (a command Redis 7.0 does not have: its first key, last key and step)
        {
            foreach (int pos in def.KeyPositions(args, start)) keys.Add((pos, []));
            found = true;
        }
        else if (specs.Any(s => !s.Has("not_key")) && !specs.Any(s => s.Has("variable_flags")))
        {
            found = TryFind(specs, args, start, keys);
        }
        if (!found)
        {
            keys.Clear();
            if (byRules) FindByCommand(def, args, start, keys);
        }
    }

    /// <summary>Whether a command has rules of its own for its keys (Redis: a getkeys procedure): movable keys, or flags that vary.</summary>
    public static bool HasOwnRules(CommandDef def) => def.Has(CommandFlags.MovableKeys) || def.FullName is "set" or "bitfield";
}
