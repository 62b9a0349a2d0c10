using KeyspacePubSub.Engine.Geo;
using KeyspacePubSub.Engine.Keyspace;
using KeyspacePubSub.Protocol;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>
/// The geo searches (geo.c's georadiusGeneric and what it calls): GEORADIUS, GEORADIUSBYMEMBER, their _RO
/// forms, GEOSEARCH and GEOSEARCHSTORE. Registered with the other geo commands in <see cref="GeoCommands"/>.
/// </summary>
internal static partial class GeoCommands
{
    [Flags]
    private enum SearchKind { Coords = 1, Member = 2, NoStore = 4, Search = 8, SearchStore = 16 }

    private enum Order { None, Asc, Desc }

    private sealed record GeoPoint(double Lon, double Lat, double Distance, double Score, byte[] Member);

    /// <summary>
    /// georadiusGeneric: GEORADIUS[_RO], GEORADIUSBYMEMBER[_RO], GEOSEARCH and GEOSEARCHSTORE. Arguments are
    /// checked in Redis's order (the center and radius of the GEORADIUS forms first, then each option as it
    /// comes), so the same bad line gets the same error.
    /// </summary>
    private static void Search(CommandContext x, int sourceIndex, SearchKind kind)
    {
        if (!TypedLookup.TryGet<SortedSetValue>(x, x.Args[sourceIndex], write: false, out var zset)) return;
        var shape = new GeoShape();
        int baseArgs, storeIndex = -1;
        bool storeDist = false;
        if (kind.HasFlag(SearchKind.Coords))
        {
            baseArgs = 6;
            if (!TryLonLat(x, 2, out shape.Lon, out shape.Lat) || !TryRadius(x, baseArgs - 2, shape)) return;
        }
        else if (kind.HasFlag(SearchKind.Member))
        {
            baseArgs = 5;
            if (zset != null) // without a source there is nothing to find; the options are still checked
            {
                if (!TryMemberPosition(x, zset, 2, shape) || !TryRadius(x, baseArgs - 2, shape)) return;
            }
        }
        else
        {
            baseArgs = 2;
            if (kind.HasFlag(SearchKind.SearchStore))
            {
                baseArgs = 3;
                storeIndex = 1;
            }
        }

        bool withDist = false, withHash = false, withCoord = false, fromMember = false, fromLonLat = false, byRadius = false, byBox = false, any = false;
        var order = Order.None;
        long count = 0;
        bool search = kind.HasFlag(SearchKind.Search), storable = !kind.HasFlag(SearchKind.NoStore) && !search;
        int remaining = x.Args.Count - baseArgs;
        for (int i = 0; i < remaining; i++)
        {
            int at = baseArgs + i;
            if (x.Args.Is(at, "WITHDIST")) withDist = true;
            else if (x.Args.Is(at, "WITHHASH")) withHash = true;
            else if (x.Args.Is(at, "WITHCOORD")) withCoord = true;
            else if (x.Args.Is(at, "ANY")) any = true;
            else if (x.Args.Is(at, "ASC")) order = Order.Asc;
            else if (x.Args.Is(at, "DESC")) order = Order.Desc;
            else if (x.Args.Is(at, "COUNT") && i + 1 < remaining)
            {
                if (!x.Args.TryGetInt64(at + 1, out count))
                {
                    x.Reply.Error(Errors.NotInteger);
                    return;
                }
                if (count <= 0)
                {
                    x.Reply.Error("ERR COUNT must be > 0");
                    return;
                }
                i++;
            }
            else if ((x.Args.Is(at, "STORE") || x.Args.Is(at, "STOREDIST")) && i + 1 < remaining && storable)
            {
                storeDist = x.Args.Is(at, "STOREDIST");
                storeIndex = at + 1;
                i++;
            }
            else if (x.Args.Is(at, "STOREDIST") && kind.HasFlag(SearchKind.SearchStore))
            {
                storeDist = true;
            }
            else if (x.Args.Is(at, "FROMMEMBER") && i + 1 < remaining && search && !fromLonLat)
            {
                if (zset != null && !TryMemberPosition(x, zset, at + 1, shape)) return;
                fromMember = true;
                i++;
            }
            else if (x.Args.Is(at, "FROMLONLAT") && i + 2 < remaining && search && !fromMember)
            {
                if (!TryLonLat(x, at + 1, out shape.Lon, out shape.Lat)) return;
                fromLonLat = true;
                i += 2;
            }
            else if (x.Args.Is(at, "BYRADIUS") && i + 2 < remaining && search && !byBox)
            {
                if (!TryRadius(x, at + 1, shape)) return;
                shape.IsBox = false;
                byRadius = true;
                i += 2;
            }
            else if (x.Args.Is(at, "BYBOX") && i + 3 < remaining && search && !byRadius)
            {
                if (!TryBox(x, at + 1, shape)) return;
                shape.IsBox = true;
                byBox = true;
                i += 3;
            }
            else
            {
                x.Reply.Error(Errors.Syntax);
                return;
            }
        }

        string command = CommandTable.Latin1(x.Args[0]);
        if (storeIndex >= 0 && (withDist || withHash || withCoord))
        {
            x.Reply.Error($"ERR {(kind.HasFlag(SearchKind.SearchStore) ? "GEOSEARCHSTORE" : "STORE option in GEORADIUS")} is not compatible with WITHDIST, WITHHASH and WITHCOORD options");
            return;
        }
        if (search && !(fromMember || fromLonLat))
        {
            x.Reply.Error($"ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {command}");
            return;
        }
        if (search && !(byRadius || byBox))
        {
            x.Reply.Error($"ERR exactly one of BYRADIUS and BYBOX can be specified for {command}");
            return;
        }
        if (any && count == 0)
        {
            x.Reply.Error("ERR the ANY argument requires COUNT argument");
            return;
        }
        if (zset is null)
        {
            if (storeIndex >= 0) SortedSetAlgebraCommands.StoreResult(x, Db(x), x.Args[storeIndex], new SortedSetValue(), "");
            else x.Reply.Array(0);
            return;
        }
        if (count != 0 && order == Order.None && !any) order = Order.Asc;

        var found = Collect(zset, shape, any ? count : 0);
        if (found.Count == 0 && storeIndex < 0)
        {
            x.Reply.Array(0);
            return;
        }
        var points = Sorted(found, order, count);
        int returned = count == 0 || points.Length < count ? points.Length : (int)count;
        if (storeIndex < 0)
        {
            int options = (withDist ? 1 : 0) + (withHash ? 1 : 0) + (withCoord ? 1 : 0);
            x.Reply.Array(returned);
            for (int i = 0; i < returned; i++)
            {
                var p = points[i];
                if (options > 0) x.Reply.Array(options + 1);
                x.Reply.Bulk(p.Member);
                if (withDist) ReplyDistance(x, p.Distance / shape.Conversion);
                if (withHash) x.Reply.Integer((long)p.Score);
                if (withCoord)
                {
                    x.Reply.Array(2);
                    x.Reply.DoubleText(CFixed.Human(p.Lon));
                    x.Reply.DoubleText(CFixed.Human(p.Lat));
                }
            }
            return;
        }
        var result = new SortedSetValue();
        for (int i = 0; i < returned; i++)
        {
            var p = points[i];
            result.Set(p.Member, storeDist ? p.Distance / shape.Conversion : p.Score);
        }
        SortedSetAlgebraCommands.StoreResult(x, Db(x), x.Args[storeIndex], result, search ? "geosearchstore" : "georadiusstore");
    }

    /// <summary>longLatFromMember: the member's position as the search center, or "could not decode requested zset member".</summary>
    private static bool TryMemberPosition(CommandContext x, SortedSetValue zset, int index, GeoShape shape)
    {
        if (zset.TryGetScore(x.Args[index], out double score))
        {
            (shape.Lon, shape.Lat) = GeoHash.DecodeScore(score);
            return true;
        }
        x.Reply.Error("ERR could not decode requested zset member");
        return false;
    }

    /// <summary>
    /// membersOfAllNeighbors: each covering cell's score range [first score, next cell's first score), in cell
    /// order, skipping a cell equal to the last one scanned (Redis compares with the last one only, and not
    /// after the center: its "last processed" index 0 reads as none). With ANY, stops at <paramref name="limit"/>.
    /// </summary>
    private static List<GeoPoint> Collect(SortedSetValue zset, GeoShape shape, long limit)
    {
        var cells = GeoHash.CoveringCells(shape);
        var points = new List<GeoPoint>();
        int last = 0;
        for (int i = 0; i < cells.Length; i++)
        {
            if (cells[i].IsZero) continue;
            if (last != 0 && cells[i] == cells[last]) continue;
            if (points.Count > 0 && limit > 0 && points.Count >= limit) break;
            double min = cells[i].Align52(), max = (cells[i] with { Bits = cells[i].Bits + 1 }).Align52();
            var range = ZRange.Scores(min, false, max, true);
            for (var n = zset.List.FirstInRange(range); n != null && range.BelowMax(n); n = n.Next)
            {
                var (lon, lat) = GeoHash.DecodeScore(n.Score);
                if (GeoHash.Contains(shape, lon, lat, out double distance)) points.Add(new GeoPoint(lon, lat, distance, n.Score, n.Member!));
                if (points.Count > 0 && limit > 0 && points.Count >= limit) break;
            }
            last = i;
        }
        return points;
    }

    /// <summary>
    /// The points in the order Redis returns them: unsorted, or sorted by distance with glibc's qsort (a stable
    /// merge sort) when all are returned, or with Redis's partial quicksort when COUNT keeps fewer.
    /// </summary>
    private static GeoPoint[] Sorted(List<GeoPoint> found, Order order, long count)
    {
        if (order == Order.None) return [.. found];
        if (count == 0 || found.Count <= count)
        {
            return order == Order.Asc ? [.. found.OrderBy(p => p.Distance)] : [.. found.OrderByDescending(p => p.Distance)];
        }
        var points = found.ToArray();
        Comparison<GeoPoint> asc = static (a, b) => a.Distance > b.Distance ? 1 : a.Distance == b.Distance ? 0 : -1;
        PartialSort.Sort(points, order == Order.Asc ? asc : (a, b) => -asc(a, b), 0, (int)count - 1);
        return points;
    }
}
