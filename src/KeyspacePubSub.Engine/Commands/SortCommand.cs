using KeyspacePubSub.Engine.Config;
using KeyspacePubSub.Engine.Keyspace;
using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>
/// SORT and SORT_RO (src/sort.c, Redis 7.0): a list, set or sorted set sorted by its elements or by keys named
/// from them (BY weight_*, BY h_*->field), numerically or ALPHA, ASC|DESC, LIMIT offset count, GET patterns
/// (# is the element), and for SORT a STORE destination (a list, event "sortstore"). BY a pattern without '*'
/// does not sort: lists and sorted sets keep their order (a set stored is sorted ALPHA, as Redis does).
/// </summary>
internal static class SortCommand
{
    private const AclCategory Categories = AclCategory.Set | AclCategory.SortedSet | AclCategory.List | AclCategory.Dangerous;

    public static void Register(CommandTable t)
    {
        t.Add(new() { Name = "sort", Arity = -2, Flags = Write | DenyOom | MovableKeys, Handler = static x => Sort(x, readOnly: false), FirstKey = 1, LastKey = 1, Step = 1, MovableKeyPositions = SortKeys, GroupAcl = AclCategory.None, ExtraAcl = Categories, Since = "1.0.0", Summary = "Sort the elements in a list, set or sorted set" });
        t.Add(new() { Name = "sort_ro", Arity = -2, Flags = ReadOnly | MovableKeys, Handler = static x => Sort(x, readOnly: true), FirstKey = 1, LastKey = 1, Step = 1, MovableKeyPositions = static (_, _) => [1], GroupAcl = AclCategory.None, ExtraAcl = Categories, Since = "7.0.0", Summary = "Sort the elements in a list, set or sorted set. Read-only variant of SORT." });
    }

    /// <summary>As sortGetKeys: the key, and the last STORE's destination (LIMIT skips two arguments, GET and BY one).</summary>
    private static IEnumerable<int> SortKeys(CommandArgs args, int start)
    {
        var positions = new List<int> { 1 };
        int store = -1;
        for (int i = 2; i < args.Count - start; i++)
        {
            if (args.Is(start + i, "LIMIT")) i += 2;
            else if (args.Is(start + i, "STORE") && i + 1 < args.Count - start) store = i + 1;
            else if (args.Is(start + i, "GET") || args.Is(start + i, "BY")) i++;
        }
        if (store > 0) positions.Add(store);
        return positions;
    }

    private sealed class Item(byte[] value)
    {
        public byte[] Value { get; } = value;
        public double Score { get; set; }
        public byte[]? By { get; set; }
    }

    /// <summary>As sortCommandGeneric's user_has_full_key_access: BY and GET patterns read keys no key spec names, so they need a selector that may read every key.</summary>
    private static bool ReadsAnyKey(CommandContext x) => x.Client.User.Unrestricted || x.Engine.Acl.CanReadAnyKey(x.Client.User, x.Command, x.Args, 0);

    private static void Sort(CommandContext x, bool readOnly)
    {
        bool desc = false, alpha = false, dontSort = false;
        long limitStart = 0, limitCount = -1;
        byte[]? store = null, sortBy = null;
        var gets = new List<byte[]>();
        for (int j = 2; j < x.Args.Count; j++)
        {
            int left = x.Args.Count - j - 1;
            if (x.Args.Is(j, "ASC")) desc = false;
            else if (x.Args.Is(j, "DESC")) desc = true;
            else if (x.Args.Is(j, "ALPHA")) alpha = true;
            else if (x.Args.Is(j, "LIMIT") && left >= 2)
            {
                if (!x.Args.TryGetInt64(j + 1, out limitStart) || !x.Args.TryGetInt64(j + 2, out limitCount))
                {
                    x.Reply.Error(Errors.NotInteger);
                    return;
                }
                j += 2;
            }
            else if (!readOnly && x.Args.Is(j, "STORE") && left >= 1) store = x.Args.ToArray(++j);
            else if (x.Args.Is(j, "BY") && left >= 1)
            {
                sortBy = x.Args.ToArray(++j);
                if (!CString.Of(sortBy).Contains((byte)'*')) dontSort = true; // nothing to sort by
                else if (!ReadsAnyKey(x))
                {
                    x.Reply.Error("ERR BY option of SORT denied due to insufficient ACL permissions.");
                    return;
                }
            }
            else if (x.Args.Is(j, "GET") && left >= 1)
            {
                if (!ReadsAnyKey(x))
                {
                    x.Reply.Error("ERR GET option of SORT denied due to insufficient ACL permissions.");
                    return;
                }
                gets.Add(x.Args.ToArray(++j));
            }
            else
            {
                x.Reply.Error(Errors.Syntax);
                return;
            }
        }
        var db = x.Engine.Databases[x.Client.Db];
        var value = x.Engine.LookupRead(db, x.Args[1]);
        if (value is not (null or ListValue or SetValue or SortedSetValue))
        {
            x.Reply.Error(Errors.WrongType);
            return;
        }
        if (dontSort && value is SetValue && (store != null || x.Client.IsScriptClient))
        {
            // A set's order is its hash table's: stored, or read by a script, it is sorted so that the result is the
            // same everywhere.
            dontSort = false;
            alpha = true;
            sortBy = null;
        }
        // As sortCommandGeneric, once the arguments are read: a sorted set to sort becomes a skiplist, even when the
        // sort then fails (OBJECT ENCODING and DUMP show it; keyspace fuzz seed 737).
        if (value is SortedSetValue sorted) sorted.ConvertToSkiplist();
        long length = value switch { ListValue l => l.Count, SetValue s => s.Count, SortedSetValue z => z.Count, _ => 0 };
        long start = limitStart < 0 ? 0 : limitStart;
        long end = limitCount < 0 ? length - 1 : unchecked(start + limitCount - 1);
        if (start >= length)
        {
            start = length - 1;
            end = length - 2;
        }
        if (end >= length) end = length - 1;
        var items = Load(value, dontSort, desc, ref start, ref end);
        bool conversionError = false;
        if (!dontSort)
        {
            foreach (var item in items)
            {
                byte[]? by = sortBy is null ? item.Value : Lookup(x, db, sortBy, item.Value);
                if (by is null) continue;
                if (alpha)
                {
                    if (sortBy != null) item.By = by;
                }
                else if (!TryScore(by, out double score)) conversionError = true;
                else item.Score = score;
            }
            var comparer = Comparer<Item>.Create((a, b) => Compare(a, b, alpha, sortBy != null, store != null, desc));
            items = [.. items.OrderBy(i => i, comparer)]; // stable, as glibc's qsort (a merge sort)
        }
        if (conversionError)
        {
            x.Reply.Error("ERR One or more scores can't be converted into double");
            return;
        }
        long count = Math.Max(0, end - start + 1);
        long outputLength = gets.Count > 0 ? gets.Count * count : count;
        if (store is null)
        {
            x.Reply.Array((int)outputLength);
            for (long j = start; j <= end; j++)
            {
                var item = items[(int)j];
                if (gets.Count == 0) x.Reply.Bulk(item.Value);
                foreach (var pattern in gets)
                {
                    if (Lookup(x, db, pattern, item.Value) is { } got) x.Reply.Bulk(got);
                    else x.Reply.NullBulk();
                }
            }
            return;
        }
        var list = new ListValue();
        for (long j = start; j <= end; j++)
        {
            var item = items[(int)j];
            if (gets.Count == 0) list.PushTail(item.Value);
            foreach (var pattern in gets) list.PushTail(Lookup(x, db, pattern, item.Value) ?? []);
        }
        if (outputLength > 0)
        {
            x.Engine.SetKey(db, store, list);
            x.Engine.Notify(NotifyFlags.List, "sortstore", store, db.Index);
        }
        else if (x.Engine.LookupWrite(db, store) != null)
        {
            x.Engine.DeleteIfEmpty(db, store, 0);
        }
        x.Reply.Integer(outputLength);
    }

    /// <summary>
    /// The elements to sort. Unsorted lists and sorted sets give just the LIMIT range, in their order (from the
    /// end for DESC), and the range is then the whole vector, as sortCommand's direct load.
    /// </summary>
    private static List<Item> Load(object? value, bool dontSort, bool desc, ref long start, ref long end)
    {
        var items = new List<Item>();
        switch (value)
        {
            case ListValue list when dontSort:
                if (end >= start)
                {
                    for (long i = start; i <= end; i++) items.Add(new Item(list[(int)(desc ? list.Count - 1 - i : i)]));
                    end -= start;
                    start = 0;
                }
                break;
            case ListValue list:
                for (int i = 0; i < list.Count; i++) items.Add(new Item(list[i]));
                break;
            case SetValue set:
                foreach (var m in set.Ordered()) items.Add(new Item(m));
                break;
            case SortedSetValue zset when dontSort:
                if (end >= start)
                {
                    var n = zset.List.GetByRank(desc ? zset.Count - start : start + 1);
                    for (long i = start; i <= end && n != null; i++, n = desc ? n.Backward : n.Next) items.Add(new Item(n.Member!));
                    end -= start;
                    start = 0;
                }
                break;
            case SortedSetValue zset:
                for (var n = zset.List.First; n != null; n = n.Next) items.Add(new Item(n.Member!));
                break;
        }
        return items;
    }

    /// <summary>As sortCompare: by score (ties by the elements' bytes), or ALPHA by the BY values (missing first) or the elements.</summary>
    private static int Compare(Item a, Item b, bool alpha, bool byPattern, bool storing, bool desc)
    {
        int cmp;
        if (!alpha)
        {
            cmp = a.Score > b.Score ? 1 : a.Score < b.Score ? -1 : Binary(a.Value, b.Value);
        }
        else if (byPattern)
        {
            if (a.By is null || b.By is null) cmp = a.By == b.By ? 0 : a.By is null ? -1 : 1;
            else cmp = storing ? Binary(a.By, b.By) : Collate(a.By, b.By);
        }
        else
        {
            cmp = storing ? Binary(a.Value, b.Value) : Collate(a.Value, b.Value);
        }
        return desc ? -cmp : cmp;
    }

    /// <summary>compareStringObjects: the bytes, then the length.</summary>
    private static int Binary(byte[] a, byte[] b) => Math.Sign(a.AsSpan().SequenceCompareTo(b));

    /// <summary>strcoll in the C/C.UTF-8 locale: bytes as C strings (up to a NUL).</summary>
    private static int Collate(byte[] a, byte[] b) => Math.Sign(CString.Of(a).SequenceCompareTo(CString.Of(b)));

    /// <summary>As sortCommand's strtod: the text up to a NUL must all be the number (leading space allowed), not NaN, no ERANGE.</summary>
    private static bool TryScore(byte[] value, out double score)
    {
        var text = CString.Of(value);
        score = CStrtod.Parse(text, out int consumed, out bool range);
        return consumed == text.Length && !range && !double.IsNaN(score);
    }

    /// <summary>
    /// As lookupKeyByPattern: "#" is the element; otherwise the first '*' is replaced by it, and "->field" after
    /// it reads a hash's field; a string key (or the field) is the value, anything else none.
    /// </summary>
    private static byte[]? Lookup(CommandContext x, Database db, byte[] pattern, byte[] element)
    {
        var text = CString.Of(pattern);
        if (text.Length == 1 && text[0] == '#') return element;
        int star = text.IndexOf((byte)'*');
        if (star < 0) return null;
        int arrow = text[(star + 1)..].IndexOf("->"u8);
        int fieldLength = 0;
        if (arrow >= 0 && star + 1 + arrow + 2 < text.Length)
        {
            arrow += star + 1;
            fieldLength = pattern.Length - arrow - 2;
        }
        int postfix = pattern.Length - (star + 1) - (fieldLength > 0 ? fieldLength + 2 : 0);
        var key = new byte[star + element.Length + postfix];
        pattern.AsSpan(0, star).CopyTo(key);
        element.CopyTo(key, star);
        pattern.AsSpan(star + 1, postfix).CopyTo(key.AsSpan(star + element.Length));
        var found = x.Engine.LookupRead(db, key, growable: true);
        if (fieldLength > 0)
        {
            if (found is not HashValue hash) return null;
            return hash.Fields.TryGetValue(pattern.AsSpan(arrow + 2, fieldLength).ToArray(), out var v) ? v : null;
        }
        return GrowableString.TryBytes(found, out var bytes) ? bytes.ToArray() : null;
    }
}
