namespace KeyspacePubSub.Conformance;

/// <summary>
/// The seeds of a differential fuzz theory: 1 to <c>count</c> by default; a longer run with the environment's
/// <c>KPS_FUZZ_FROM</c> and <c>KPS_FUZZ_COUNT</c>, for example
/// <c>KPS_FUZZ_FROM=7 KPS_FUZZ_COUNT=120 dotnet test tests/KeyspacePubSub.Conformance --filter FullyQualifiedName~Fuzz</c>.
/// </summary>
public static class FuzzSeeds
{
    public static IEnumerable<object[]> Range(int count) =>
        Enumerable.Range(EnvInt("KPS_FUZZ_FROM", 1), EnvInt("KPS_FUZZ_COUNT", count)).Select(seed => new object[] { seed });

    private static int EnvInt(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out int value) ? value : fallback;
}
