using KeyspacePubSub.Engine.Geo;
using KeyspacePubSub.Engine.Keyspace;
using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>
/// Geospatial indexes (src/geo.c): a sorted set whose scores are 52-bit geohashes (<see cref="GeoHash"/>).
/// GEOADD is ZADD with computed scores (so its event is "zadd"); searches scan the sorted-set ranges of the
/// cells covering the area, in Redis's cell order, and keep the points inside it.
/// </summary>
internal static class GeoCommands
{
    public static void Register(CommandTable t)
    {
        t.Add(new() { Name = "geoadd", Arity = -5, Flags = Write | DenyOom, Handler = GeoAdd, FirstKey = 1, LastKey = 1, Step = 1, Group = "geo", Since = "3.2.0", Summary = "Add one or more geospatial items in the geospatial index represented using a sorted set" });
        t.Add(new() { Name = "geodist", Arity = -4, Flags = ReadOnly, Handler = GeoDist, FirstKey = 1, LastKey = 1, Step = 1, Group = "geo", Since = "3.2.0", Summary = "Returns the distance between two members of a geospatial index" });
        t.Add(new() { Name = "geohash", Arity = -2, Flags = ReadOnly, Handler = GeoHashCommand, FirstKey = 1, LastKey = 1, Step = 1, Group = "geo", Since = "3.2.0", Summary = "Returns members of a geospatial index as standard geohash strings" });
        t.Add(new() { Name = "geopos", Arity = -2, Flags = ReadOnly, Handler = GeoPos, FirstKey = 1, LastKey = 1, Step = 1, Group = "geo", Since = "3.2.0", Summary = "Returns longitude and latitude of members of a geospatial index" });
        t.Add(new() { Name = "georadius", Arity = -6, Flags = Write | DenyOom | MovableKeys, Handler = static x => Search(x, 1, SearchKind.Coords), FirstKey = 1, LastKey = 1, Step = 1, MovableKeyPositions = RadiusKeys(6), Group = "geo", Since = "3.2.0", Summary = "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a point" });
        t.Add(new() { Name = "georadius_ro", Arity = -6, Flags = ReadOnly, Handler = static x => Search(x, 1, SearchKind.Coords | SearchKind.NoStore), FirstKey = 1, LastKey = 1, Step = 1, Group = "geo", Since = "3.2.10", Summary = "A read-only variant for GEORADIUS" });
        t.Add(new() { Name = "georadiusbymember", Arity = -5, Flags = Write | DenyOom | MovableKeys, Handler = static x => Search(x, 1, SearchKind.Member), FirstKey = 1, LastKey = 1, Step = 1, MovableKeyPositions = RadiusKeys(5), Group = "geo", Since = "3.2.0", Summary = "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a member" });
        t.Add(new() { Name = "georadiusbymember_ro", Arity = -5, Flags = ReadOnly, Handler = static x => Search(x, 1, SearchKind.Member | SearchKind.NoStore), FirstKey = 1, LastKey = 1, Step = 1, Group = "geo", Since = "3.2.10", Summary = "A read-only variant for GEORADIUSBYMEMBER" });
        t.Add(new() { Name = "geosearch", Arity = -7, Flags = ReadOnly, Handler = static x => Search(x, 1, SearchKind.Search), FirstKey = 1, LastKey = 1, Step = 1, Group = "geo", Since = "6.2.0", Summary = "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle." });
        t.Add(new() { Name = "geosearchstore", Arity = -8, Flags = Write | DenyOom, Handler = static x => Search(x, 2, SearchKind.Search | SearchKind.SearchStore), FirstKey = 1, LastKey = 2, Step = 1, Group = "geo", Since = "6.2.0", Summary = "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle, and store the result in another key." });
    }

    /// <summary>
    /// The key specs COMMAND GETKEYS reads in Redis 7.0: the source, then the key after the first STORE and the
    /// key after the first STOREDIST searched from <paramref name="from"/> (6 for GEORADIUS, 5 for
    /// GEORADIUSBYMEMBER), a keyword in the last argument not counting.
    /// </summary>
    private static Func<CommandArgs, int, IEnumerable<int>> RadiusKeys(int from) => (args, start) =>
    {
        int argc = args.Count - start;
        var keys = new List<int> { 1 };
        foreach (string keyword in (string[])["STORE", "STOREDIST"])
        {
            for (int i = from; i < argc - 1; i++)
            {
                if (!args.Is(start + i, keyword)) continue;
                keys.Add(i + 1);
                break;
            }
        }
        return keys;
    };

    private static Database Db(CommandContext x) => x.Engine.Databases[x.Client.Db];

    /// <summary>GEOADD key [NX|XX] [CH] longitude latitude member ...: ZADD with each position's 52-bit cell as its score.</summary>
    private static void GeoAdd(CommandContext x)
    {
        bool nx = false, xx = false, ch = false;
        int first = 2;
        for (; first < x.Args.Count; first++)
        {
            if (x.Args.Is(first, "NX")) nx = true;
            else if (x.Args.Is(first, "XX")) xx = true;
            else if (x.Args.Is(first, "CH")) ch = true;
            else break;
        }
        if ((x.Args.Count - first) % 3 != 0 || (xx && nx))
        {
            x.Reply.Error(Errors.Syntax);
            return;
        }
        var scores = new double[(x.Args.Count - first) / 3];
        for (int i = 0; i < scores.Length; i++)
        {
            if (!TryLonLat(x, first + i * 3, out double lon, out double lat)) return;
            GeoHash.EncodeWgs84(lon, lat, GeoHash.StepMax, out var cell);
            scores[i] = cell.Align52();
        }
        SortedSetCommands.AddScored(x, nx, xx, ch, scores, first + 2, 3);
    }

    /// <summary>extractLongLatOrReply: two floats within the WGS84 limits, or the error naming them ("%f").</summary>
    private static bool TryLonLat(CommandContext x, int index, out double lon, out double lat)
    {
        lat = 0;
        if (!TryFloat(x, index, out lon, Errors.NotFloat) || !TryFloat(x, index + 1, out lat, Errors.NotFloat)) return false;
        if (lon < GeoHash.LonMin || lon > GeoHash.LonMax || lat < GeoHash.LatMin || lat > GeoHash.LatMax)
        {
            x.Reply.Error($"ERR invalid longitude,latitude pair {CFixed.Format(lon, 6)},{CFixed.Format(lat, 6)}");
            return false;
        }
        return true;
    }

    /// <summary>getDoubleFromObjectOrReply with the given error text.</summary>
    private static bool TryFloat(CommandContext x, int index, out double value, string error)
    {
        if (SortedSetCommands.TryParseScore(x.Args[index], out value)) return true;
        x.Reply.Error(error);
        return false;
    }

    /// <summary>extractUnitOrReply: meters per unit, or -1 with the error written.</summary>
    private static double Unit(CommandContext x, int index)
    {
        if (x.Args.Is(index, "M")) return 1;
        if (x.Args.Is(index, "KM")) return 1000;
        if (x.Args.Is(index, "FT")) return 0.3048;
        if (x.Args.Is(index, "MI")) return 1609.34;
        x.Reply.Error("ERR unsupported unit provided. please use M, KM, FT, MI");
        return -1;
    }

    /// <summary>extractDistanceOrReply: radius and unit.</summary>
    private static bool TryRadius(CommandContext x, int index, GeoShape shape)
    {
        if (!TryFloat(x, index, out shape.Radius, "ERR need numeric radius")) return false;
        if (shape.Radius < 0)
        {
            x.Reply.Error("ERR radius cannot be negative");
            return false;
        }
        return TryUnit(x, index + 1, shape);
    }

    /// <summary>extractBoxOrReply: width, height and unit.</summary>
    private static bool TryBox(CommandContext x, int index, GeoShape shape)
    {
        if (!TryFloat(x, index, out shape.Width, "ERR need numeric width") || !TryFloat(x, index + 1, out shape.Height, "ERR need numeric height")) return false;
        if (shape.Height < 0 || shape.Width < 0)
        {
            x.Reply.Error("ERR height or width cannot be negative");
            return false;
        }
        return TryUnit(x, index + 2, shape);
    }

    /// <summary>The shape's unit, or false with the error written.</summary>
    private static bool TryUnit(CommandContext x, int index, GeoShape shape)
    {
        double unit = Unit(x, index);
        if (unit < 0) return false;
        shape.Conversion = unit;
        return true;
    }

    /// <summary>"%.4f": distances in the unit asked for, as bulk strings in both protocols.</summary>
    private static void ReplyDistance(CommandContext x, double distance) => x.Reply.Bulk(CFixed.Format(distance, 4));

    /// <summary>GEOPOS key member ...: each member's cell center, or a null array.</summary>
    private static void GeoPos(CommandContext x)
    {
        if (!TypedLookup.TryGet<SortedSetValue>(x, x.Args[1], write: false, out var zset)) return;
        x.Reply.Array(x.Args.Count - 2);
        for (int i = 2; i < x.Args.Count; i++)
        {
            if (zset is null || !zset.TryGetScore(x.Args[i], out double score))
            {
                x.Reply.NullArray();
                continue;
            }
            var (lon, lat) = GeoHash.DecodeScore(score);
            x.Reply.Array(2);
            x.Reply.DoubleText(CFixed.Human(lon));
            x.Reply.DoubleText(CFixed.Human(lat));
        }
    }

    /// <summary>GEOHASH key member ...: standard 11-character geohashes, or null.</summary>
    private static void GeoHashCommand(CommandContext x)
    {
        if (!TypedLookup.TryGet<SortedSetValue>(x, x.Args[1], write: false, out var zset)) return;
        x.Reply.Array(x.Args.Count - 2);
        for (int i = 2; i < x.Args.Count; i++)
        {
            if (zset is null || !zset.TryGetScore(x.Args[i], out double score))
            {
                x.Reply.NullBulk();
                continue;
            }
            var (lon, lat) = GeoHash.DecodeScore(score);
            x.Reply.Bulk(GeoHash.StandardHash(lon, lat));
        }
    }

    /// <summary>GEODIST key member1 member2 [unit]: the unit is checked before the key is looked up.</summary>
    private static void GeoDist(CommandContext x)
    {
        double toMeters = 1;
        if (x.Args.Count == 5)
        {
            toMeters = Unit(x, 4);
            if (toMeters < 0) return;
        }
        else if (x.Args.Count > 5)
        {
            x.Reply.Error(Errors.Syntax);
            return;
        }
        if (!TypedLookup.TryGet<SortedSetValue>(x, x.Args[1], write: false, out var zset)) return;
        if (zset is null || !zset.TryGetScore(x.Args[2], out double score1) || !zset.TryGetScore(x.Args[3], out double score2))
        {
            x.Reply.NullBulk();
            return;
        }
        var (lon1, lat1) = GeoHash.DecodeScore(score1);
        var (lon2, lat2) = GeoHash.DecodeScore(score2);
        ReplyDistance(x, GeoHash.Distance(lon1, lat1, lon2, lat2) / toMeters);
    }

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
