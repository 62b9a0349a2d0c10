namespace KeyspacePubSub.Engine.Geo;

/// <summary>A geohash cell: interleaved latitude (even bits) and longitude (odd bits), <c>Step</c> bits each.</summary>
internal readonly record struct GeoCell(ulong Bits, int Step)
{
    /// <summary>Redis's HASHISZERO: a neighbor a search has left out.</summary>
    public bool IsZero => Bits == 0 && Step == 0;

    /// <summary>geohashAlign52Bits: the cell's first sorted-set score.</summary>
    public ulong Align52() => Bits << (52 - Step * 2);
}

/// <summary>A cell's bounds in degrees.</summary>
internal readonly record struct GeoArea(double LonMin, double LonMax, double LatMin, double LatMax);

/// <summary>
/// Redis 7.0's geohash (geohash.c and geohash_helper.c), step for step and in the same floating-point order, so
/// scores, decoded coordinates, distances and the cells a search visits are Redis's own: a member's score is its
/// 26-step cell (52 bits) over longitude ±180 and latitude ±85.05112878 (Web Mercator's limits).
/// </summary>
internal static class GeoHash
{
    public const double LonMin = -180, LonMax = 180, LatMin = -85.05112878, LatMax = 85.05112878;
    public const int StepMax = 26;

    private const double DegToRad = Math.PI / 180.0;
    private const double EarthRadiusMeters = 6372797.560856;
    private const double MercatorMax = 20037726.37;

    /// <summary>interleave64: x's bits to the even positions, y's to the odd.</summary>
    private static ulong Interleave(uint xlo, uint ylo)
    {
        ulong x = xlo, y = ylo;
        x = (x | (x << 16)) & 0x0000FFFF0000FFFFUL; y = (y | (y << 16)) & 0x0000FFFF0000FFFFUL;
        x = (x | (x << 8)) & 0x00FF00FF00FF00FFUL; y = (y | (y << 8)) & 0x00FF00FF00FF00FFUL;
        x = (x | (x << 4)) & 0x0F0F0F0F0F0F0F0FUL; y = (y | (y << 4)) & 0x0F0F0F0F0F0F0F0FUL;
        x = (x | (x << 2)) & 0x3333333333333333UL; y = (y | (y << 2)) & 0x3333333333333333UL;
        x = (x | (x << 1)) & 0x5555555555555555UL; y = (y | (y << 1)) & 0x5555555555555555UL;
        return x | (y << 1);
    }

    /// <summary>deinterleave64: the even bits in the low half, the odd bits in the high half.</summary>
    private static ulong Deinterleave(ulong interleaved)
    {
        ulong x = interleaved, y = interleaved >> 1;
        x &= 0x5555555555555555UL; y &= 0x5555555555555555UL;
        x = (x | (x >> 1)) & 0x3333333333333333UL; y = (y | (y >> 1)) & 0x3333333333333333UL;
        x = (x | (x >> 2)) & 0x0F0F0F0F0F0F0F0FUL; y = (y | (y >> 2)) & 0x0F0F0F0F0F0F0F0FUL;
        x = (x | (x >> 4)) & 0x00FF00FF00FF00FFUL; y = (y | (y >> 4)) & 0x00FF00FF00FF00FFUL;
        x = (x | (x >> 8)) & 0x0000FFFF0000FFFFUL; y = (y | (y >> 8)) & 0x0000FFFF0000FFFFUL;
        x = (x | (x >> 16)) & 0x00000000FFFFFFFFUL; y = (y | (y >> 16)) & 0x00000000FFFFFFFFUL;
        return x | (y << 32);
    }

    /// <summary>geohashEncode over the given ranges; false (a zero cell) outside the WGS84 limits or the ranges.</summary>
    public static bool Encode(double lonMin, double lonMax, double latMin, double latMax, double lon, double lat, int step, out GeoCell cell)
    {
        cell = default;
        if (lon > LonMax || lon < LonMin || lat > LatMax || lat < LatMin) return false;
        cell = new GeoCell(0, step);
        if (lat < latMin || lat > latMax || lon < lonMin || lon > lonMax) return false;
        double latOffset = (lat - latMin) / (latMax - latMin);
        double lonOffset = (lon - lonMin) / (lonMax - lonMin);
        latOffset *= 1UL << step;
        lonOffset *= 1UL << step;
        cell = new GeoCell(Interleave((uint)latOffset, (uint)lonOffset), step);
        return true;
    }

    public static bool EncodeWgs84(double lon, double lat, int step, out GeoCell cell) =>
        Encode(LonMin, LonMax, LatMin, LatMax, lon, lat, step, out cell);

    /// <summary>geohashDecode over the WGS84 ranges.</summary>
    public static GeoArea Decode(GeoCell cell)
    {
        ulong separated = Deinterleave(cell.Bits);
        double latScale = LatMax - LatMin, lonScale = LonMax - LonMin;
        uint ilat = (uint)separated, ilon = (uint)(separated >> 32);
        double cells = 1UL << cell.Step;
        return new GeoArea(
            LonMin + (ilon * 1.0 / cells) * lonScale,
            LonMin + (unchecked(ilon + 1u) * 1.0 / cells) * lonScale,
            LatMin + (ilat * 1.0 / cells) * latScale,
            LatMin + (unchecked(ilat + 1u) * 1.0 / cells) * latScale);
    }

    /// <summary>decodeGeohash: a sorted-set score (any double, converted as C converts it) to its cell's center, clamped.</summary>
    public static (double Lon, double Lat) DecodeScore(double score)
    {
        var area = Decode(new GeoCell(ToUInt64(score), StepMax));
        double lon = Math.Clamp((area.LonMin + area.LonMax) / 2, LonMin, LonMax);
        double lat = Math.Clamp((area.LatMin + area.LatMax) / 2, LatMin, LatMax);
        return (lon, lat);
    }

    /// <summary>(uint64_t)d as gcc compiles it on x86-64 (cvttsd2si, with 2^63 subtracted from large values).</summary>
    private static ulong ToUInt64(double d)
    {
        const double Two63 = 9223372036854775808.0;
        return d < Two63 ? (ulong)Truncate(d) : (ulong)Truncate(d - Two63) ^ 0x8000000000000000UL;

        static long Truncate(double v) => double.IsNaN(v) || v >= Two63 || v < -Two63 ? long.MinValue : (long)v;
    }

    /// <summary>GEOHASH's 11 characters: the position re-encoded over the standard ±90 latitude, the last character 0.</summary>
    public static string StandardHash(double lon, double lat)
    {
        const string Alphabet = "0123456789bcdefghjkmnpqrstuvwxyz";
        Encode(-180, 180, -90, 90, lon, lat, 26, out var cell);
        var text = new char[11];
        for (int i = 0; i < 11; i++)
        {
            int index = i == 10 ? 0 : (int)((cell.Bits >> (52 - (i + 1) * 5)) & 0x1F);
            text[i] = Alphabet[index];
        }
        return new string(text);
    }

    /// <summary>
    /// geohash_move_x / geohash_move_y: the cell <paramref name="d"/> (-1, 0 or 1) steps along one axis, its bits
    /// picked by <paramref name="axis"/> (0xAA..: longitude, the odd bits; 0x55..: latitude, the even bits),
    /// wrapping around at the axis's ends.
    /// </summary>
    private static GeoCell Move(GeoCell cell, int d, ulong axis)
    {
        if (d == 0) return cell;
        ulong moving = cell.Bits & axis, other = cell.Bits & ~axis;
        ulong zz = ~axis >> (64 - cell.Step * 2);
        if (d > 0) moving += zz + 1;
        else moving = (moving | zz) - (zz + 1);
        moving &= axis >> (64 - cell.Step * 2);
        return cell with { Bits = moving | other };
    }

    private static GeoCell Neighbor(GeoCell cell, int dx, int dy) => Move(Move(cell, dx, 0xAAAAAAAAAAAAAAAAUL), dy, 0x5555555555555555UL);

    /// <summary>geohashEstimateStepsByRadius.</summary>
    private static int EstimateSteps(double rangeMeters, double lat)
    {
        if (rangeMeters == 0) return 26;
        int step = 1;
        while (rangeMeters < MercatorMax)
        {
            rangeMeters *= 2;
            step++;
        }
        step -= 2;
        if (lat > 66 || lat < -66)
        {
            step--;
            if (lat > 80 || lat < -80) step--;
        }
        return Math.Clamp(step, 1, 26);
    }

    /// <summary>
    /// geohashCalculateAreasByShapeWGS84: the center cell and its eight neighbors (in Redis's order: self, N, S,
    /// E, W, NE, NW, SE, SW) that cover the shape, those a search can skip zeroed.
    /// </summary>
    public static GeoCell[] CoveringCells(GeoShape shape)
    {
        var (minLon, minLat, maxLon, maxLat) = BoundingBox(shape);
        double radiusMeters = shape.IsBox
            ? Math.Sqrt((shape.Width / 2) * (shape.Width / 2) + (shape.Height / 2) * (shape.Height / 2))
            : shape.Radius;
        radiusMeters *= shape.Conversion;
        int steps = EstimateSteps(radiusMeters, shape.Lat);
        EncodeWgs84(shape.Lon, shape.Lat, steps, out var cell);
        bool decrease = Decode(Neighbor(cell, 0, 1)).LatMax < maxLat
            || Decode(Neighbor(cell, 0, -1)).LatMin > minLat
            || Decode(Neighbor(cell, 1, 0)).LonMax < maxLon
            || Decode(Neighbor(cell, -1, 0)).LonMin > minLon;
        if (steps > 1 && decrease)
        {
            steps--;
            EncodeWgs84(shape.Lon, shape.Lat, steps, out cell);
        }
        var area = Decode(cell);
        GeoCell[] cells =
        [
            cell, Neighbor(cell, 0, 1), Neighbor(cell, 0, -1), Neighbor(cell, 1, 0), Neighbor(cell, -1, 0),
            Neighbor(cell, 1, 1), Neighbor(cell, -1, 1), Neighbor(cell, 1, -1), Neighbor(cell, -1, -1),
        ];
        const int N = 1, S = 2, E = 3, W = 4, NE = 5, NW = 6, SE = 7, SW = 8;
        if (steps >= 2)
        {
            if (area.LatMin < minLat) cells[S] = cells[SW] = cells[SE] = default;
            if (area.LatMax > maxLat) cells[N] = cells[NE] = cells[NW] = default;
            if (area.LonMin < minLon) cells[W] = cells[SW] = cells[NW] = default;
            if (area.LonMax > maxLon) cells[E] = cells[SE] = cells[NE] = default;
        }
        return cells;
    }

    private static double Radians(double degrees) => degrees * DegToRad;

    private static double Degrees(double radians) => radians / DegToRad;

    /// <summary>
    /// geohashBoundingBox: the shape's extent in degrees. Meridians converge towards the pole, so the longitude
    /// span is taken at the edge nearer to it (the top edge in the north, the bottom edge in the south).
    /// </summary>
    private static (double MinLon, double MinLat, double MaxLon, double MaxLat) BoundingBox(GeoShape shape)
    {
        double height = shape.Conversion * (shape.IsBox ? shape.Height / 2 : shape.Radius);
        double width = shape.Conversion * (shape.IsBox ? shape.Width / 2 : shape.Radius);
        double latDelta = Degrees(height / EarthRadiusMeters);
        double lonDeltaTop = Degrees(width / EarthRadiusMeters / Math.Cos(Radians(shape.Lat + latDelta)));
        double lonDeltaBottom = Degrees(width / EarthRadiusMeters / Math.Cos(Radians(shape.Lat - latDelta)));
        double lonDelta = shape.Lat < 0 ? lonDeltaBottom : lonDeltaTop;
        return (shape.Lon - lonDelta, shape.Lat - latDelta, shape.Lon + lonDelta, shape.Lat + latDelta);
    }

    /// <summary>
    /// geohashGetDistance: the haversine great-circle distance in meters. On one meridian (the longitudes' sine
    /// term 0) it is the latitude difference's arc, as redis-server 7.0.15 computes it (a backport of Redis
    /// 7.2's shortcut; it differs from the full formula in the last digits, which STOREDIST shows).
    /// </summary>
    public static double Distance(double lon1, double lat1, double lon2, double lat2)
    {
        double lon1r = Radians(lon1), lon2r = Radians(lon2);
        double v = Math.Sin((lon2r - lon1r) / 2);
        if (v == 0.0) return EarthRadiusMeters * Math.Abs(Radians(lat2) - Radians(lat1));
        double lat1r = Radians(lat1), lat2r = Radians(lat2);
        double u = Math.Sin((lat2r - lat1r) / 2);
        return 2.0 * EarthRadiusMeters * Math.Asin(Math.Sqrt(u * u + Math.Cos(lat1r) * Math.Cos(lat2r) * v * v));
    }

    /// <summary>
    /// geoAppendIfWithinShape's test, with the point's distance from the center in meters: within the radius, or
    /// (a box) within half the width along the point's parallel and half the height along its meridian.
    /// </summary>
    public static bool Contains(GeoShape shape, double lon, double lat, out double distance)
    {
        if (!shape.IsBox)
        {
            distance = Distance(shape.Lon, shape.Lat, lon, lat);
            return distance <= shape.Radius * shape.Conversion;
        }
        distance = 0;
        double lonDistance = Distance(lon, lat, shape.Lon, lat);
        double latDistance = Distance(lon, lat, lon, shape.Lat);
        if (lonDistance > shape.Width * shape.Conversion / 2 || latDistance > shape.Height * shape.Conversion / 2) return false;
        distance = Distance(shape.Lon, shape.Lat, lon, lat);
        return true;
    }
}
