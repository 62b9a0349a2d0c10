using KeyspacePubSub.Engine.Config;
using KeyspacePubSub.Engine.Keyspace;
using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>
/// ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD, as t_zset.c's zunionInterDiffGenericCommand
/// (Redis 7.0): inputs may be sorted sets or sets (members of a set score 1), WEIGHTS and AGGREGATE
/// SUM|MIN|MAX for union and intersection, a NaN from a weight or from inf + -inf counting as 0. Union and
/// intersection take the inputs from the smallest to the largest (a stable sort, as glibc's qsort), which is
/// the order in which a member's weighted scores are added.
/// </summary>
internal static class SortedSetAlgebraCommands
{
    private enum Op { Union, Inter, Diff }

    private enum Aggregate { Sum, Min, Max }

    public static void Register(CommandTable t)
    {
        Read(t, "zunion", Op.Union, "Add multiple sorted sets");
        Read(t, "zinter", Op.Inter, "Intersect multiple sorted sets");
        Read(t, "zdiff", Op.Diff, "Subtract multiple sorted sets");
        Store(t, "zunionstore", Op.Union, "2.0.0", "Add multiple sorted sets and store the resulting sorted set in a new key");
        Store(t, "zinterstore", Op.Inter, "2.0.0", "Intersect multiple sorted sets and store the resulting sorted set in a new key");
        Store(t, "zdiffstore", Op.Diff, "6.2.0", "Subtract multiple sorted sets and store the resulting sorted set in a new key");
        t.Add(new() { Name = "zintercard", Arity = -3, Flags = ReadOnly | MovableKeys, Handler = static x => Generic(x, 1, Op.Inter, store: false, cardinality: true), KeyNumIndex = 1, Group = "sorted-set", Since = "7.0.0", Summary = "Intersect multiple sorted sets and return the cardinality of the result" });
    }

    private static void Read(CommandTable t, string name, Op op, string summary) =>
        t.Add(new() { Name = name, Arity = -3, Flags = ReadOnly | MovableKeys, Handler = x => Generic(x, 1, op, store: false, cardinality: false), KeyNumIndex = 1, Group = "sorted-set", Since = "6.2.0", Summary = summary });

    private static void Store(CommandTable t, string name, Op op, string since, string summary) =>
        t.Add(new() { Name = name, Arity = -4, Flags = Write | DenyOom | MovableKeys, Handler = x => Generic(x, 2, op, store: true, cardinality: false), FirstKey = 1, LastKey = 1, Step = 1, KeyNumIndex = 2, Group = "sorted-set", Since = since, Summary = summary });

    /// <summary>One input: a sorted set, a set (scores 1) or a missing key (empty), with its weight.</summary>
    private sealed class Source(object? value)
    {
        public object? Value { get; } = value;
        public double Weight { get; set; } = 1.0;

        public int Count => Value switch { SortedSetValue z => z.Count, SetValue s => s.Count, _ => 0 };

        public IEnumerable<(byte[] Member, double Score)> Members() => Value switch
        {
            SortedSetValue z => z.Pairs,
            SetValue s => s.Members.Keys.Select(m => (m, 1.0)),
            _ => [],
        };

        public bool TryFind(byte[] member, out double score)
        {
            score = 1.0;
            return Value switch
            {
                SortedSetValue z => z.TryGetScore(member, out score),
                SetValue s => s.Members.ContainsKey(member),
                _ => false,
            };
        }
    }

    private static void Generic(CommandContext x, int numKeysArg, Op op, bool store, bool cardinality)
    {
        if (!x.Args.TryGetInt64(numKeysArg, out long setnum))
        {
            x.Reply.Error(Errors.NotInteger);
            return;
        }
        if (setnum < 1)
        {
            x.Reply.Error($"ERR at least 1 input key is needed for '{x.Command.FullName}' command");
            return;
        }
        if (setnum > x.Args.Count - (numKeysArg + 1))
        {
            x.Reply.Error(Errors.Syntax);
            return;
        }
        var db = x.Engine.Databases[x.Client.Db];
        var sources = new Source[setnum];
        int j = numKeysArg + 1;
        for (int i = 0; i < setnum; i++, j++)
        {
            var value = store ? x.Engine.LookupWrite(db, x.Args[j]) : x.Engine.LookupRead(db, x.Args[j]);
            if (value is not (null or SortedSetValue or SetValue))
            {
                x.Reply.Error(Errors.WrongType);
                return;
            }
            sources[i] = new Source(value);
        }
        var aggregate = Aggregate.Sum;
        bool withScores = false;
        long limit = 0;
        while (j < x.Args.Count)
        {
            int remaining = x.Args.Count - j;
            if (op != Op.Diff && !cardinality && remaining >= setnum + 1 && x.Args.Is(j, "WEIGHTS"))
            {
                j++;
                for (int i = 0; i < setnum; i++, j++)
                {
                    if (!Strict.TryParseStrtod(x.Args[j], out double weight))
                    {
                        x.Reply.Error("ERR weight value is not a float");
                        return;
                    }
                    sources[i].Weight = weight;
                }
            }
            else if (op != Op.Diff && !cardinality && remaining >= 2 && x.Args.Is(j, "AGGREGATE"))
            {
                j++;
                if (x.Args.Is(j, "SUM")) aggregate = Aggregate.Sum;
                else if (x.Args.Is(j, "MIN")) aggregate = Aggregate.Min;
                else if (x.Args.Is(j, "MAX")) aggregate = Aggregate.Max;
                else
                {
                    x.Reply.Error(Errors.Syntax);
                    return;
                }
                j++;
            }
            else if (!store && !cardinality && x.Args.Is(j, "WITHSCORES"))
            {
                j++;
                withScores = true;
            }
            else if (cardinality && remaining >= 2 && x.Args.Is(j, "LIMIT"))
            {
                if (!x.Args.TryGetInt64(j + 1, out limit) || limit < 0)
                {
                    x.Reply.Error("ERR LIMIT can't be negative");
                    return;
                }
                j += 2;
            }
            else
            {
                x.Reply.Error(Errors.Syntax);
                return;
            }
        }
        // Smallest first, equal sizes in argument order.
        var ordered = op == Op.Diff ? sources : [.. sources.OrderBy(s => s.Count)];
        if (cardinality)
        {
            x.Reply.Integer(InterCount(ordered, limit));
            return;
        }
        var result = op switch
        {
            Op.Union => Union(ordered, aggregate),
            Op.Inter => Inter(ordered, aggregate),
            _ => Diff(ordered),
        };
        if (store) StoreResult(x, db, result, op);
        else SortedSetRangeCommands.ReplyMembers(x, Ascending(result), result.Count, withScores);

        static IEnumerable<SkipList.Node> Ascending(SortedSetValue z)
        {
            for (var n = z.List.First; n != null; n = n.Next) yield return n;
        }
    }

    /// <summary>As zunionInterAggregate; a sum that is NaN (inf + -inf) is 0, a NaN operand leaves MIN and MAX as they were.</summary>
    private static double Combine(double target, double value, Aggregate aggregate) => aggregate switch
    {
        Aggregate.Sum => double.IsNaN(target + value) ? 0.0 : target + value,
        Aggregate.Min => value < target ? value : target,
        _ => value > target ? value : target,
    };

    private static double Weighted(double weight, double score)
    {
        double value = weight * score;
        return double.IsNaN(value) ? 0 : value;
    }

    private static SortedSetValue Union(Source[] sources, Aggregate aggregate)
    {
        var scores = new Dictionary<byte[], double>(ByteKeyComparer.Instance);
        var order = new List<byte[]>();
        foreach (var src in sources)
        {
            foreach (var (member, score) in src.Members())
            {
                double value = Weighted(src.Weight, score);
                if (scores.TryGetValue(member, out double existing)) scores[member] = Combine(existing, value, aggregate);
                else
                {
                    scores[member] = value;
                    order.Add(member);
                }
            }
        }
        var result = new SortedSetValue();
        foreach (var member in order) result.Set(member, scores[member]);
        return result;
    }

    private static SortedSetValue Inter(Source[] sources, Aggregate aggregate)
    {
        var result = new SortedSetValue();
        foreach (var (member, score) in sources[0].Members())
        {
            if (InAll(sources, member, Weighted(sources[0].Weight, score), aggregate, out double total)) result.Set(member, total);
        }
        return result;
    }

    /// <summary>Whether a member of the first input is in every other one, with its aggregated weighted score.</summary>
    private static bool InAll(Source[] sources, byte[] member, double score, Aggregate aggregate, out double total)
    {
        total = score;
        for (int j = 1; j < sources.Length; j++)
        {
            if (!sources[j].TryFind(member, out double value)) return false;
            total = Combine(total, value * sources[j].Weight, aggregate);
        }
        return true;
    }

    /// <summary>ZINTERCARD: members in every input, counting up to <paramref name="limit"/> (0: no limit).</summary>
    private static long InterCount(Source[] sources, long limit)
    {
        long count = 0;
        foreach (var (member, _) in sources[0].Members())
        {
            if (!InAll(sources, member, 0, Aggregate.Sum, out _)) continue;
            if (++count == limit) break;
        }
        return count;
    }

    /// <summary>As zdiff: the first input's members (with their own scores) that no other input has.</summary>
    private static SortedSetValue Diff(Source[] sources)
    {
        var result = new SortedSetValue();
        foreach (var (member, score) in sources[0].Members())
        {
            bool elsewhere = false;
            for (int j = 1; j < sources.Length && !elsewhere; j++) elsewhere = sources[j].TryFind(member, out _);
            if (!elsewhere) result.Set(member, score);
        }
        return result;
    }

    /// <summary>Stores a non-empty result (its event after the reply's count), or deletes the destination ("del").</summary>
    internal static void StoreResult(CommandContext x, Database db, SortedSetValue result, string evt) => StoreResult(x, db, x.Args[1], result, evt);

    /// <summary>A *STORE command's end: the result replaces <paramref name="key"/> (event <paramref name="evt"/>), or an empty result deletes it ("del").</summary>
    internal static void StoreResult(CommandContext x, Database db, ReadOnlySpan<byte> key, SortedSetValue result, string evt)
    {
        if (result.Count > 0)
        {
            x.Engine.SetKey(db, key, result);
            x.Reply.Integer(result.Count);
            x.Engine.Notify(NotifyFlags.Zset, evt, key, db.Index);
            return;
        }
        x.Reply.Integer(0);
        if (x.Engine.LookupWrite(db, key) != null) x.Engine.DeleteIfEmpty(db, key, 0);
    }

    private static void StoreResult(CommandContext x, Database db, SortedSetValue result, Op op) =>
        StoreResult(x, db, result, op switch { Op.Union => "zunionstore", Op.Inter => "zinterstore", _ => "zdiffstore" });
}
