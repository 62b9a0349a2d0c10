using KeyspacePubSub.Protocol;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>
/// Random picks of SRANDMEMBER, HRANDFIELD and ZRANDMEMBER: the positions a count picks without repeats, and the bound on
/// replies of picks with repeats (any of them with a negative count). Their
/// length is the caller's count, not the key's size, and a reply is built whole before it is sent: Redis 7.0
/// runs out of memory and aborts on HRANDFIELD h -4611686018427387903 WITHVALUES (tried here), and SRANDMEMBER
/// s -9223372036854775807 grows its output buffer until it does. Here a reply whose expected size (the count
/// times the mean size of a few sampled entries) exceeds proto-max-bulk-len (512 MB by default) is refused with
/// Redis's out-of-range error, before anything is written.
/// </summary>
internal static class RandomReply
{
    private const int Samples = 8;

    /// <summary>RESP bytes of a bulk string of <paramref name="value"/>'s length: "$len\r\n" + value + "\r\n".</summary>
    public static long BulkBytes(byte[] value) => 1 + Digits(value.Length) + 2 + value.Length + 2;

    private static int Digits(int n) => n < 10 ? 1 : (int)Math.Floor(Math.Log10(n)) + 1;

    /// <summary>
    /// HRANDFIELD's and ZRANDMEMBER's <c>key [count [option]]</c>: the count first, then the rest ("k x foo" is a
    /// count error, "k 1 foo" a syntax error), and with the option a count whose reply length would overflow is
    /// out of range. False with the error written. Without a count, 0 and false.
    /// </summary>
    public static bool TryParseCount(CommandContext x, string option, out long count, out bool withOption)
    {
        count = 0;
        withOption = false;
        if (x.Args.Count < 3) return true;
        if (!x.Args.TryGetInt64(2, out count))
        {
            x.Reply.Error(Errors.NotInteger);
            return false;
        }
        if (count == long.MinValue)
        {
            x.Reply.Error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");
            return false;
        }
        if (x.Args.Count > 4 || (x.Args.Count == 4 && !CommandArgs.EqualsIgnoreCase(x.Args[3], option)))
        {
            x.Reply.Error(Errors.Syntax);
            return false;
        }
        withOption = x.Args.Count == 4;
        if (withOption && (count < -long.MaxValue / 2 || count > long.MaxValue / 2))
        {
            x.Reply.Error("ERR value is out of range"); // Redis: the reply's length would overflow
            return false;
        }
        return true;
    }

    /// <summary>
    /// HRANDFIELD's and ZRANDMEMBER's reply to a non-zero count over a value of <paramref name="size"/> entries:
    /// picks with repeats for a negative count (and for 1, as Redis's case 1), the whole value in
    /// <paramref name="all"/>'s order for a count that covers it, otherwise distinct picks. <paramref name="write"/>
    /// writes one entry (with its value or score when the option was given); under RESP3 such an entry is a pair.
    /// </summary>
    public static void WritePicks<T>(CommandContext x, long count, bool withOption, int size, Func<int, T> at, IEnumerable<T> all, Func<T, long> entryBytes, Action<T> write)
    {
        bool pairs = withOption && x.Reply.Resp3;
        int perEntry = withOption && !pairs ? 2 : 1;
        void One(T entry)
        {
            if (pairs) x.Reply.Array(2);
            write(entry);
        }
        if (count < 0 || count == 1)
        {
            long picks = Math.Abs(count);
            if (!TryFits(x, picks, k => entryBytes(at(k)) + (pairs ? 4 : 0), size)) return;
            x.Reply.Array((int)(picks * perEntry));
            for (long i = 0; i < picks; i++) One(at(Random.Shared.Next(size)));
            return;
        }
        if (count >= size)
        {
            x.Reply.Array(size * perEntry);
            foreach (var entry in all) One(entry);
            return;
        }
        x.Reply.Array((int)(count * perEntry));
        foreach (int i in DistinctPicks(size, count)) One(at(i));
    }

    /// <summary>False (with the error written) when <paramref name="picks"/> entries of this size would not fit.</summary>
    public static bool TryFits(CommandContext x, long picks, Func<int, long> entryBytes, int size)
    {
        long limit = x.Engine.Config.ProtoMaxBulkLen;
        long sampled = 0;
        for (int i = 0; i < Samples; i++) sampled += entryBytes(Random.Shared.Next(size));
        double expected = (double)picks * sampled / Samples;
        // At most int.MaxValue / 2 picks: a RESP2 WITHVALUES reply's length (twice the picks) must be an int.
        if (expected <= limit && picks <= int.MaxValue / 2) return true;
        x.Reply.Error("ERR value is out of range");
        return false;
    }

    /// <summary>
    /// The positions a positive count below the value's size picks, each once (SRANDMEMBER, HRANDFIELD): with
    /// most of the value asked for (count × 3 &gt; size, Redis's case 3), all but randomly dropped ones, in order,
    /// so the reply keeps the value's order; otherwise (case 4) random distinct positions, O(count).
    /// </summary>
    public static IEnumerable<int> DistinctPicks(int size, long count)
    {
        if (count * 3 > size)
        {
            var dropped = new bool[size];
            for (int left = size; left > count;)
            {
                int k = Random.Shared.Next(size);
                if (dropped[k]) continue;
                dropped[k] = true;
                left--;
            }
            for (int i = 0; i < size; i++)
            {
                if (!dropped[i]) yield return i;
            }
            yield break;
        }
        var picked = new HashSet<int>();
        while (picked.Count < count)
        {
            int k = Random.Shared.Next(size);
            if (picked.Add(k)) yield return k;
        }
    }
}
