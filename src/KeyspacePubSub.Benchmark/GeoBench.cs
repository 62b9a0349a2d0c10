using System.Globalization;

namespace KeyspacePubSub.Benchmark;

/// <summary>
/// A presence index: 100,000 users placed at random within a degree of a city (about 220 × 175 km), then their
/// positions updated by GEOADD, and searches around random points: a 1 km radius sorted with distances (a few
/// users each), a 10 km radius cut to the nearest 10 (COUNT: Redis's partial sort), a 5 × 5 km box around a
/// user, and GEODIST between two users. Each row is 20,000 commands (GEOADD: 100,000), pipelined 1,000 at a time.
/// </summary>
public static class GeoBench
{
    private const int Users = 100_000;

    /// <summary>Rows (label → commands/s) for one server, on a fresh database; every server gets the same positions and queries.</summary>
    public static Dictionary<string, double> Run(ServerUnderTest server, bool quick)
    {
        int n = quick ? 5_000 : 20_000;
        using var c = new BenchConnection(server);
        c.Pipelined(1, _ => BenchConnection.Command("FLUSHALL"));
        var rng = new Random(1);
        string Lon() => (13 + rng.NextDouble() * 2 - 1).ToString("R", CultureInfo.InvariantCulture);
        string Lat() => (38 + rng.NextDouble() * 2 - 1).ToString("R", CultureInfo.InvariantCulture);
        c.Pipelined(Users / 1000, i => BenchConnection.Command(["GEOADD", "presence", .. Enumerable.Range(i * 1000, 1000).SelectMany(u => new object[] { Lon(), Lat(), $"user:{u}" })]));
        var rows = new Dictionary<string, double>
        {
            [$"GEOADD, {Users:N0} position updates"] = c.Rate(Users, i => BenchConnection.Command("GEOADD", "presence", Lon(), Lat(), $"user:{i}")),
            [$"GEOSEARCH BYRADIUS 1 km ASC WITHDIST, {n:N0} times"] = c.Rate(n, _ => BenchConnection.Command("GEOSEARCH", "presence", "FROMLONLAT", Lon(), Lat(), "BYRADIUS", "1", "km", "ASC", "WITHDIST")),
            [$"GEOSEARCH BYRADIUS 10 km COUNT 10, {n:N0} times"] = c.Rate(n, _ => BenchConnection.Command("GEOSEARCH", "presence", "FROMLONLAT", Lon(), Lat(), "BYRADIUS", "10", "km", "COUNT", "10")),
            [$"GEOSEARCH FROMMEMBER BYBOX 5 5 km, {n:N0} times"] = c.Rate(n, _ => BenchConnection.Command("GEOSEARCH", "presence", "FROMMEMBER", $"user:{rng.Next(Users)}", "BYBOX", "5", "5", "km")),
            [$"GEODIST, {n:N0} times"] = c.Rate(n, _ => BenchConnection.Command("GEODIST", "presence", $"user:{rng.Next(Users)}", $"user:{rng.Next(Users)}", "km")),
        };
        c.Pipelined(1, _ => BenchConnection.Command("FLUSHALL"));
        return rows;
    }
}
