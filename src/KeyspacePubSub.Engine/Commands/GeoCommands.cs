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
internal static partial class GeoCommands
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
}
