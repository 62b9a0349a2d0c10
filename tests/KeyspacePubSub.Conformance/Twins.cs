using System.Text;
using KeyspacePubSub.Testing;

namespace KeyspacePubSub.Conformance;

/// <summary>Reading a connection to real Redis and its twin on our server after the same step.</summary>
public static class Twins
{
    /// <summary>
    /// What each twin received until it was quiet for <paramref name="quietMs"/>; when the two differ, one side's
    /// frames may still be on their way, so both are read again until quiet for <paramref name="graceMs"/>
    /// before the caller calls it a difference.
    /// </summary>
    public static (string Redis, string Ours) Read(RawClient redis, RawClient ours, int quietMs, int graceMs)
    {
        string expected = redis.ReadAvailable(quietMs), actual = ours.ReadAvailable(quietMs);
        if (expected != actual)
        {
            expected += redis.ReadAvailable(graceMs);
            actual += ours.ReadAvailable(graceMs);
        }
        return (expected, actual);
    }

    /// <summary>A request for a failure message: printable arguments as they are, any other (or empty) one in hex.</summary>
    public static string Describe(string[] args) =>
        string.Join(' ', args.Select(a => a.Length > 0 && a.All(ch => ch is > ' ' and <= '~') ? a : $"<{Convert.ToHexString(Encoding.Latin1.GetBytes(a))}>"));
}
