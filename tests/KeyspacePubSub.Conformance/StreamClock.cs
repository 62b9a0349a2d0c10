using System.Text;
using KeyspacePubSub.Testing;

namespace KeyspacePubSub.Conformance;

/// <summary>Consumer groups' replies carry the clock (idle times, delivery and seen times); the fuzzers compare them masked.</summary>
internal static class StreamClock
{
    /// <summary>
    /// The reply with the clock's numbers as "T": the value after "idle" or "seen-time", the third element of an
    /// XPENDING entry or of a group's pending entry in XINFO STREAM FULL ([id, consumer, ms, count]), the second of
    /// a consumer's ([id, ms, count]).
    /// </summary>
    public static string Masked(string reply)
    {
        var frame = Encoding.Latin1.GetBytes(reply);
        if (RespFrames.Measure(frame, 0) != frame.Length) return reply;
        var sb = new StringBuilder();
        Mask(frame, 0, sb);
        return sb.ToString();
    }

    private static void Mask(byte[] f, int at, StringBuilder sb)
    {
        int length = RespFrames.Measure(f, at);
        int header = Array.IndexOf(f, (byte)'\n', at) + 1;
        if (f[at] is not ((byte)'*' or (byte)'%' or (byte)'~') || f[at + 1] == '-')
        {
            sb.Append(Encoding.Latin1.GetString(f, at, length));
            return;
        }
        int n = int.Parse(Encoding.ASCII.GetString(f, at + 1, header - at - 3), System.Globalization.CultureInfo.InvariantCulture);
        if (f[at] == '%') n *= 2;
        var kids = new List<(int Start, int Length)>();
        for (int i = 0, p = header; i < n; i++)
        {
            int l = RespFrames.Measure(f, p);
            kids.Add((p, l));
            p += l;
        }
        bool Is(int i, char type) => f[kids[i].Start] == type;
        bool pending4 = n == 4 && Is(0, '$') && Is(1, '$') && Is(2, ':') && Is(3, ':');
        bool pending3 = n == 3 && Is(0, '$') && Is(1, ':') && Is(2, ':');
        sb.Append(Encoding.Latin1.GetString(f, at, header - at));
        for (int i = 0; i < n; i++)
        {
            string previous = i > 0 ? Encoding.Latin1.GetString(f, kids[i - 1].Start, kids[i - 1].Length) : "";
            bool clock = Is(i, ':') && ((pending4 && i == 2) || (pending3 && i == 1) || previous is "$4\r\nidle\r\n" or "$9\r\nseen-time\r\n");
            if (clock) sb.Append(":T\r\n");
            else Mask(f, kids[i].Start, sb);
        }
    }

}
