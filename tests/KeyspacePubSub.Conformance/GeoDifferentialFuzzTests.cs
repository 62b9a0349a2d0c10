using System.Globalization;
using FluentAssertions;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Conformance;

/// <summary>
/// Geospatial commands, the same random ones to real redis-server and to ours: GEOADD, GEOPOS, GEODIST,
/// GEOHASH, GEORADIUS[BYMEMBER][_RO], GEOSEARCH[STORE], with ZADD and ZREM now and then. Points cluster
/// around a few centers at every scale from a meter to thousands of kilometers, sit on the poles' and the
/// antimeridian's limits, and repeat each other exactly (equal distances, whose order depends on Redis's sort
/// algorithms). Searches take every option in random order, sometimes a wrong one. Every reply must be byte for
/// byte Redis's, the notifications (KEA) the same, and the geo keys must hold the same members and scores after
/// every step. Odd seeds speak RESP3.
/// </summary>
public sealed class GeoDifferentialFuzzTests(ServersFixture servers) : IClassFixture<ServersFixture>
{
    private static readonly string[] Keys = ["g1", "g2", "g3", "d1"];
    private static readonly string[] Units = ["m", "km", "mi", "ft", "M", "KM"];
    private static readonly (double Lon, double Lat)[] Centers =
    [
        (13.361389, 38.115556), (-0.1276, 51.5072), (179.99, 0.5), (-179.999, -12.25), (2.35, 84.9), (-70.5, -85.0),
        (0, 0), (139.6917, 35.6895), (-122.4194, 37.7749), (180, 85.05112878),
    ];

    public static IEnumerable<object[]> Seeds() => FuzzSeeds.Range(4);

    [ConformanceTheory]
    [MemberData(nameof(Seeds))]
    public void RandomGeoCommands_GetTheSameRepliesAndLeaveTheSameKeys(int seed)
    {
        using var redis = new RawClient(servers.Redis!.Port);
        using var ours = new RawClient(servers.OursPort);
        using var redisEvents = new RawClient(servers.Redis!.Port);
        using var oursEvents = new RawClient(servers.OursPort);
        foreach (var c in new[] { redis, ours })
        {
            c.Call("CONFIG", "SET", "notify-keyspace-events", "KEA").Should().Be("+OK\r\n");
            c.Call("FLUSHDB").Should().Be("+OK\r\n");
            if (seed % 2 == 1) c.Call("HELLO", "3").Should().StartWith("%");
            c.Call("SADD", "s1", "a");
        }
        foreach (var c in new[] { redisEvents, oursEvents }) c.Call("PSUBSCRIBE", "*").Should().StartWith("*3\r\n");
        var rng = new Random(seed);
        var points = new List<(double Lon, double Lat)>();
        int manyFound = 0; // searches that found two points or more: the run must reach the code that sorts and stores
        for (int i = 0; i < 2000; i++)
        {
            string[] args = Command(rng, points);
            string expected = redis.Call(args), actual = ours.Call(args);
            string step = $"seed {seed}, command #{i}: {Twins.Describe(args)}";
            actual.Should().Be(expected, step);
            if (args[0].StartsWith("GEORADIUS", StringComparison.Ordinal) || args[0].StartsWith("GEOSEARCH", StringComparison.Ordinal))
            {
                if (expected.Length > 3 && expected[0] is '*' or ':' && int.TryParse(expected.AsSpan(1, expected.IndexOf('\r') - 1), out int found) && found >= 2) manyFound++;
            }
            var (expectedEvents, actualEvents) = Twins.Read(redisEvents, oursEvents, 2, 500);
            actualEvents.Should().Be(expectedEvents, $"the notifications of {step}");
            foreach (string key in Keys)
            {
                string[] read = ["ZRANGE", key, "0", "-1", "WITHSCORES"];
                string before = redis.Call("TYPE", key) == "+zset\r\n" ? redis.Call(read) : redis.Call("TYPE", key);
                string after = ours.Call("TYPE", key) == "+zset\r\n" ? ours.Call(read) : ours.Call("TYPE", key);
                after.Should().Be(before, $"{key} after {step}");
            }
            redisEvents.ReadAvailable(1);
            oursEvents.ReadAvailable(1);
            if (i % 500 == 499)
            {
                foreach (var c in new[] { redis, ours })
                {
                    c.Call("FLUSHDB");
                    c.Call("SADD", "s1", "a");
                }
                Twins.Read(redisEvents, oursEvents, 20, 20);
                points.Clear();
            }
        }
        manyFound.Should().BeGreaterThan(80, "searches found several points");
    }

    private static string Num(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Member(Random rng) => "m" + rng.Next(40);

    private static string Key(Random rng) => rng.Next(10) == 0 ? "s1" : Keys[rng.Next(3)];

    /// <summary>A position: near a center at a random scale, an earlier point again, or (rarely) out of range.</summary>
    private static (string Lon, string Lat) Position(Random rng, List<(double Lon, double Lat)> points, int reuse = 4)
    {
        if (points.Count > 0 && rng.Next(reuse) == 0)
        {
            var p = points[rng.Next(points.Count)];
            return (Num(p.Lon), Num(p.Lat));
        }
        if (rng.Next(40) == 0) return rng.Next(3) switch { 0 => ("180.5", "0"), 1 => ("0", "86"), _ => ("abc", "1") };
        var (lon, lat) = Centers[rng.Next(3) == 0 ? rng.Next(Centers.Length) : rng.Next(3)]; // mostly three centers, so points crowd
        double scale = Math.Pow(10, rng.Next(-5, 2)); // degrees: about a meter to a thousand kilometers
        lon = Math.Clamp(lon + (rng.NextDouble() * 2 - 1) * scale, -180, 180);
        lat = Math.Clamp(lat + (rng.NextDouble() * 2 - 1) * scale, -85.05112878, 85.05112878);
        lon = Math.Round(lon, rng.Next(2, 9));
        lat = Math.Round(lat, rng.Next(2, 9));
        points.Add((lon, lat));
        return (Num(lon), Num(lat));
    }

    /// <summary>A distance at a scale of a meter to ten thousand kilometers, in some unit; now and then a bad one.</summary>
    private static string[] Distance(Random rng)
    {
        if (rng.Next(30) == 0) return rng.Next(3) switch { 0 => ["-1", "m"], 1 => ["abc", "km"], _ => ["10", "parsec"] };
        if (rng.Next(20) == 0) return ["0", Units[rng.Next(Units.Length)]];
        double meters = Math.Pow(10, rng.NextDouble() * 7);
        string unit = Units[rng.Next(Units.Length)];
        double perUnit = unit.ToLowerInvariant() switch { "km" => 1000, "mi" => 1609.34, "ft" => 0.3048, _ => 1 };
        return [Num(Math.Round(meters / perUnit, rng.Next(0, 4))), unit];
    }

    private static string[] Command(Random rng, List<(double Lon, double Lat)> points)
    {
        int roll = rng.Next(100);
        if (roll < 25)
        {
            var args = new List<string> { "GEOADD", Key(rng) };
            foreach (string option in new[] { "NX", "XX", "CH" }) if (rng.Next(8) == 0) args.Add(option);
            for (int n = rng.Next(1, 9); n > 0; n--)
            {
                var (lon, lat) = Position(rng, points);
                args.AddRange([lon, lat, Member(rng)]);
            }
            return [.. args];
        }
        if (roll < 32) return ["GEOPOS", Key(rng), .. Enumerable.Range(0, rng.Next(1, 4)).Select(_ => Member(rng))];
        if (roll < 38) return ["GEOHASH", Key(rng), .. Enumerable.Range(0, rng.Next(1, 4)).Select(_ => Member(rng))];
        if (roll < 45) return rng.Next(4) == 0 ? ["GEODIST", Key(rng), Member(rng), Member(rng)] : ["GEODIST", Key(rng), Member(rng), Member(rng), Units[rng.Next(Units.Length)]];
        if (roll < 48) return ["ZREM", Key(rng), Member(rng)];
        if (roll < 50) return ["ZADD", Key(rng), new[] { "-5", "1e300", "4503599627370496", "3479099956230698", "0", "-inf" }[rng.Next(6)], Member(rng)];
        return Search(rng, points);
    }

    private static string[] Search(Random rng, List<(double Lon, double Lat)> points)
    {
        string[] name = ["GEORADIUS", "GEORADIUS_RO", "GEORADIUSBYMEMBER", "GEORADIUSBYMEMBER_RO", "GEOSEARCH", "GEOSEARCH", "GEOSEARCHSTORE", "GEOSEARCHSTORE"];
        string command = name[rng.Next(name.Length)];
        var args = new List<string> { command };
        if (command == "GEOSEARCHSTORE") args.Add(rng.Next(5) == 0 ? Keys[rng.Next(3)] : "d1");
        args.Add(Key(rng));
        var options = new List<string[]>();
        bool search = command.StartsWith("GEOSEARCH", StringComparison.Ordinal);
        if (!search)
        {
            if (command.StartsWith("GEORADIUSBYMEMBER", StringComparison.Ordinal)) args.Add(Member(rng));
            else
            {
                var (lon, lat) = Position(rng, points, reuse: 2);
                args.AddRange([lon, lat]);
            }
            args.AddRange(Distance(rng));
        }
        else
        {
            if (rng.Next(20) != 0)
            {
                if (rng.Next(2) == 0) options.Add(["FROMMEMBER", Member(rng)]);
                else
                {
                    var (lon, lat) = Position(rng, points, reuse: 2);
                    options.Add(["FROMLONLAT", lon, lat]);
                }
            }
            if (rng.Next(20) != 0)
            {
                if (rng.Next(2) == 0) options.Add(["BYRADIUS", .. Distance(rng)]);
                else
                {
                    string[] d = Distance(rng), e = Distance(rng);
                    options.Add(["BYBOX", d[0], e[0], d[^1]]);
                }
            }
        }
        bool store = command == "GEOSEARCHSTORE" || (!command.EndsWith("_RO", StringComparison.Ordinal) && !search && rng.Next(4) == 0);
        if (!store || rng.Next(20) == 0)
        {
            foreach (string with in new[] { "WITHDIST", "WITHHASH", "WITHCOORD" }) if (rng.Next(3) == 0) options.Add([with]);
        }
        if (rng.Next(3) == 0) options.Add([rng.Next(2) == 0 ? "ASC" : "DESC"]);
        if (rng.Next(3) == 0) options.Add(["COUNT", new[] { "1", "2", "3", "5", "8", "0", "-1", "x" }[rng.Next(8)]]);
        if (rng.Next(6) == 0) options.Add(["ANY"]);
        if (store && command != "GEOSEARCHSTORE") options.Add([rng.Next(2) == 0 ? "STORE" : "STOREDIST", "d1"]);
        if (command == "GEOSEARCHSTORE" && rng.Next(3) == 0) options.Add(["STOREDIST"]);
        if (rng.Next(40) == 0) options.Add(["NOSUCH"]);
        foreach (var option in options.OrderBy(_ => rng.Next())) args.AddRange(option);
        return [.. args];
    }
}
