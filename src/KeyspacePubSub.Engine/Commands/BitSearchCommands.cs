using KeyspacePubSub.Engine.Config;
using KeyspacePubSub.Engine.Keyspace;
using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>
/// BITPOS and BITOP (src/bitops.c, Redis 7.0): presence bitmaps are searched for the first set or clear bit
/// and combined by AND, OR, XOR and NOT into a new key.
/// </summary>
internal static class BitSearchCommands
{
    public static void Register(CommandTable t)
    {
        t.Add(new() { Name = "bitpos", Arity = -3, Flags = ReadOnly, Handler = BitPos, FirstKey = 1, LastKey = 1, Step = 1, Group = "bitmap", Since = "2.8.7", Summary = "Find first bit set or clear in a string" });
        t.Add(new() { Name = "bitop", Arity = -4, Flags = Write | DenyOom, Handler = BitOp, FirstKey = 2, LastKey = -1, Step = 1, Group = "bitmap", Since = "2.6.0", Summary = "Perform bitwise operations between strings" });
    }

    /// <summary>
    /// As bitposCommand: bit 0 or 1, then the key (missing: an endless run of zeros), then start, BYTE|BIT and
    /// end in that order, ranges converted as BITCOUNT converts them. A clear bit searched for with no end
    /// given is found just past the range when every bit in it is set (the string reads as zero-padded).
    /// </summary>
    private static void BitPos(CommandContext x)
    {
        if (!x.Args.TryGetInt64(2, out long bit))
        {
            x.Reply.Error(Errors.NotInteger);
            return;
        }
        if (bit is not (0 or 1))
        {
            x.Reply.Error("ERR The bit argument must be 1 or 0.");
            return;
        }
        var value = x.Engine.LookupRead(x.Engine.Databases[x.Client.Db], x.Args[1], growable: true);
        if (value is null)
        {
            x.Reply.Integer(bit == 1 ? -1 : 0);
            return;
        }
        if (!GrowableString.TryBytes(value, out var s))
        {
            x.Reply.Error(Errors.WrongType);
            return;
        }
        long start, end;
        bool bits = false, endGiven = false;
        if (x.Args.Count is 4 or 5 or 6)
        {
            if (!x.Args.TryGetInt64(3, out start))
            {
                x.Reply.Error(Errors.NotInteger);
                return;
            }
            if (x.Args.Count == 6)
            {
                if (x.Args.Is(5, "BIT")) bits = true;
                else if (!x.Args.Is(5, "BYTE"))
                {
                    x.Reply.Error(Errors.Syntax);
                    return;
                }
            }
            if (x.Args.Count >= 5)
            {
                if (!x.Args.TryGetInt64(4, out end))
                {
                    x.Reply.Error(Errors.NotInteger);
                    return;
                }
                endGiven = true;
            }
            else
            {
                end = s.Length - 1;
            }
            long total = bits ? s.Length * 8L : s.Length;
            if (start < 0) start += total;
            if (end < 0) end += total;
            if (start < 0) start = 0;
            if (end < 0) end = 0;
            if (end >= total) end = total - 1;
        }
        else if (x.Args.Count == 3)
        {
            start = 0;
            end = s.Length - 1;
        }
        else
        {
            x.Reply.Error(Errors.Syntax);
            return;
        }
        if (start > end)
        {
            x.Reply.Integer(-1);
            return;
        }
        long first = bits ? start : start * 8, last = bits ? end : end * 8 + 7;
        byte skip = bit == 1 ? (byte)0 : (byte)0xFF; // a whole byte of these holds no match
        for (long i = first; i <= last; i++)
        {
            if ((i & 7) == 0 && i + 7 <= last && s[(int)(i >> 3)] == skip)
            {
                i += 7;
                continue;
            }
            if (((s[(int)(i >> 3)] >> (7 - (int)(i & 7))) & 1) == bit)
            {
                x.Reply.Integer(i);
                return;
            }
        }
        x.Reply.Integer(bit == 0 && !endGiven ? last + 1 : -1);
    }

    /// <summary>
    /// As bitopCommand: the operation, NOT's single source, every source's type (a missing one is empty), then
    /// the result as long as the longest source (shorter ones padded with zeros) stored with "set", or the
    /// destination deleted ("del") when every source is empty; the reply is the result's length.
    /// </summary>
    private static void BitOp(CommandContext x)
    {
        int op = x.Args.Is(1, "AND") ? 0 : x.Args.Is(1, "OR") ? 1 : x.Args.Is(1, "XOR") ? 2 : x.Args.Is(1, "NOT") ? 3 : -1;
        if (op < 0)
        {
            x.Reply.Error(Errors.Syntax);
            return;
        }
        if (op == 3 && x.Args.Count != 4)
        {
            x.Reply.Error("ERR BITOP NOT must be called with a single source key.");
            return;
        }
        var db = x.Engine.Databases[x.Client.Db];
        var sources = new byte[]?[x.Args.Count - 3];
        int maxLength = 0;
        for (int j = 0; j < sources.Length; j++)
        {
            var value = x.Engine.LookupRead(db, x.Args[j + 3], growable: true);
            if (value is null) continue;
            if (!GrowableString.TryBytes(value, out var bytes))
            {
                x.Reply.Error(Errors.WrongType);
                return;
            }
            sources[j] = bytes.ToArray();
            maxLength = Math.Max(maxLength, bytes.Length);
        }
        if (maxLength == 0)
        {
            if (x.Engine.LookupWrite(db, x.Args[2]) != null) x.Engine.DeleteIfEmpty(db, x.Args[2], 0);
            x.Reply.Integer(0);
            return;
        }
        var result = new byte[maxLength];
        for (int i = 0; i < maxLength; i++)
        {
            int output = ByteAt(sources[0], i);
            if (op == 3) output = ~output;
            for (int j = 1; j < sources.Length; j++)
            {
                int b = ByteAt(sources[j], i);
                output = op switch { 0 => output & b, 1 => output | b, _ => output ^ b };
            }
            result[i] = (byte)output;
        }
        x.Engine.SetKey(db, x.Args[2], result);
        x.Engine.Notify(NotifyFlags.String, "set", x.Args[2], db.Index);
        x.Reply.Integer(maxLength);

        static int ByteAt(byte[]? s, int i) => s is not null && i < s.Length ? s[i] : 0;
    }
}
