using System.Buffers.Text;

namespace KeyspacePubSub.Engine.Streams;

/// <summary>A stream entry ID, <c>ms-seq</c>, ordered as Redis's streamCompareID (t_stream.c).</summary>
public readonly record struct StreamId(ulong Ms, ulong Seq) : IComparable<StreamId>
{
    public static readonly StreamId Min = new(0, 0);
    public static readonly StreamId Max = new(ulong.MaxValue, ulong.MaxValue);

    public bool IsZero => Ms == 0 && Seq == 0;

    public int CompareTo(StreamId other) => Ms != other.Ms ? Ms.CompareTo(other.Ms) : Seq.CompareTo(other.Seq);

    public static bool operator <(StreamId a, StreamId b) => a.CompareTo(b) < 0;
    public static bool operator >(StreamId a, StreamId b) => a.CompareTo(b) > 0;
    public static bool operator <=(StreamId a, StreamId b) => a.CompareTo(b) <= 0;
    public static bool operator >=(StreamId a, StreamId b) => a.CompareTo(b) >= 0;

    /// <summary>As streamIncrID: the next ID; false at the largest.</summary>
    public bool TryNext(out StreamId next)
    {
        next = Seq != ulong.MaxValue ? new(Ms, Seq + 1) : Ms != ulong.MaxValue ? new(Ms + 1, 0) : this;
        return this != Max;
    }

    /// <summary>As streamDecrID: the previous ID; false at 0-0.</summary>
    public bool TryPrevious(out StreamId previous)
    {
        previous = Seq != 0 ? new(Ms, Seq - 1) : Ms != 0 ? new(Ms - 1, ulong.MaxValue) : this;
        return !IsZero;
    }

    public override string ToString() => $"{Ms}-{Seq}";

    /// <summary>The ID as Redis replies it (createStreamIDString).</summary>
    public int Format(Span<byte> buffer)
    {
        Utf8Formatter.TryFormat(Ms, buffer, out int a);
        buffer[a] = (byte)'-';
        Utf8Formatter.TryFormat(Seq, buffer[(a + 1)..], out int b);
        return a + 1 + b;
    }

    /// <summary>
    /// As streamGenericParseIDOrReply: "-" and "+" (not when <paramref name="strict"/>), <c>ms</c> (the sequence is
    /// <paramref name="missingSeq"/>), <c>ms-seq</c>, and, where <paramref name="seqGiven"/> is asked for (XADD),
    /// <c>ms-*</c>. Each part is read as Redis's string2ull.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> s, bool strict, ulong missingSeq, out StreamId id, out bool seqGiven, bool allowSeqStar = false)
    {
        id = default;
        seqGiven = true;
        if (s.Length > 127) return false;
        if (s.Length == 1 && (s[0] == (byte)'-' || s[0] == (byte)'+'))
        {
            if (strict) return false;
            id = s[0] == (byte)'-' ? Min : Max;
            return true;
        }
        int dash = s.IndexOf((byte)'-');
        var msPart = dash < 0 ? s : s[..dash];
        if (!TryParseUInt64(msPart, out ulong ms)) return false;
        ulong seq = missingSeq;
        if (dash >= 0)
        {
            var seqPart = s[(dash + 1)..];
            if (allowSeqStar && seqPart.Length == 1 && seqPart[0] == (byte)'*')
            {
                seq = 0;
                seqGiven = false;
            }
            else if (!TryParseUInt64(seqPart, out seq))
            {
                return false;
            }
        }
        id = new StreamId(ms, seq);
        return true;
    }

    /// <summary>
    /// As Redis's string2ull: a string2ll integer that is not negative, else what strtoull(s, 10) takes whole
    /// (leading spaces, a sign, leading zeros; a negative number wraps), out of range refused.
    /// </summary>
    internal static bool TryParseUInt64(ReadOnlySpan<byte> s, out ulong value)
    {
        value = 0;
        if (Protocol.Strict.TryParseInt64(s, out long ll))
        {
            if (ll < 0) return false;
            value = (ulong)ll;
            return true;
        }
        int i = 0;
        while (i < s.Length && Protocol.CString.IsSpace(s[i])) i++;
        bool negative = false;
        if (i < s.Length && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
        int digits = 0;
        ulong v = 0;
        bool overflow = false;
        for (; i < s.Length && s[i] >= '0' && s[i] <= '9'; i++, digits++)
        {
            uint d = (uint)(s[i] - '0');
            if (v > (ulong.MaxValue - d) / 10) overflow = true;
            else v = v * 10 + d;
        }
        if (digits == 0 || i != s.Length || s.Length == 0 || overflow) return false;
        value = negative ? unchecked(0 - v) : v;
        return true;
    }
}
