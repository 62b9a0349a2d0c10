using KeyspacePubSub.Engine.Config;
using KeyspacePubSub.Engine.Keyspace;
using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>GETRANGE (and its old name SUBSTR), SETRANGE (src/t_string.c); GETBIT, SETBIT, BITCOUNT (src/bitops.c).</summary>
internal static class BitRangeCommands
{
    private const long MaxStringBytes = 512L * 1024 * 1024; // our strings' own limit (arrays), whatever proto-max-bulk-len says

    /// <summary>How long SETRANGE, APPEND, SETBIT and BITFIELD may make a string: proto-max-bulk-len, as in Redis.</summary>
    internal static long MaxLength(CommandContext x) => Math.Min(x.Engine.Config.ProtoMaxBulkLen, MaxStringBytes);

    public static void Register(CommandTable t)
    {
        t.Add(new() { Name = "getrange", Arity = 4, Flags = ReadOnly, Handler = GetRange, FirstKey = 1, LastKey = 1, Step = 1, Group = "string", Since = "2.4.0", Summary = "Returns a substring of the string stored at a key." });
        t.Add(new() { Name = "substr", Arity = 4, Flags = ReadOnly, Handler = GetRange, FirstKey = 1, LastKey = 1, Step = 1, Group = "string", Since = "1.0.0", Summary = "Get a substring of the string stored at a key" });
        t.Add(new() { Name = "setrange", Arity = 4, Flags = Write | DenyOom, Handler = SetRange, FirstKey = 1, LastKey = 1, Step = 1, Group = "string", Since = "2.2.0", Summary = "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist." });
        t.Add(new() { Name = "getbit", Arity = 3, Flags = ReadOnly | Fast, Handler = GetBit, FirstKey = 1, LastKey = 1, Step = 1, Group = "bitmap", Since = "2.2.0", Summary = "Returns a bit value by offset." });
        t.Add(new() { Name = "setbit", Arity = 4, Flags = Write | DenyOom, Handler = SetBit, FirstKey = 1, LastKey = 1, Step = 1, Group = "bitmap", Since = "2.2.0", Summary = "Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist." });
        t.Add(new() { Name = "bitcount", Arity = -2, Flags = ReadOnly, Handler = BitCount, FirstKey = 1, LastKey = 1, Step = 1, Group = "bitmap", Since = "2.6.0", Summary = "Counts the number of set bits (population counting) in a string." });
    }

    private static Database Db(CommandContext x) => x.Engine.Databases[x.Client.Db];

    /// <summary>As getrangeCommand's clamping; an empty range is (0, -1).</summary>
    private static (long Start, long End) Clamp(long start, long end, long len)
    {
        if (start < 0 && end < 0 && start > end) return (0, -1);
        if (start < 0) start += len;
        if (end < 0) end += len;
        if (start < 0) start = 0;
        if (end < 0) end = 0;
        if (end >= len) end = len - 1;
        return start > end || len == 0 ? (0, -1) : (start, end);
    }

    private static void GetRange(CommandContext x)
    {
        if (!x.Args.TryGetInt64(2, out long start) || !x.Args.TryGetInt64(3, out long end))
        {
            x.Reply.Error(Errors.NotInteger);
            return;
        }
        if (!TypedLookup.TryGetString(x, out _, out var s)) return;
        var (a, b) = Clamp(start, end, s.Length);
        x.Reply.Bulk(s.Slice((int)a, (int)(b - a + 1)));
    }

    private static void SetRange(CommandContext x)
    {
        if (!x.Args.TryGetInt64(2, out long offset))
        {
            x.Reply.Error(Errors.NotInteger);
            return;
        }
        if (offset < 0)
        {
            x.Reply.Error("ERR offset is out of range");
            return;
        }
        var value = x.Args[3];
        if (!TryGrowable(x, out var old, out int oldLength)) return;
        if (value.Length == 0)
        {
            x.Reply.Integer(oldLength);
            return;
        }
        if (!CheckStringLength(x, offset, value.Length)) return;
        int length = Math.Max(oldLength, (int)offset + value.Length);
        var g = Grown(x, old, length);
        g.EnsureLength(length);
        value.CopyTo(g.Span[(int)offset..]);
        x.Engine.Notify(NotifyFlags.String, "setrange", x.Args[1], x.Client.Db);
        x.Reply.Integer(g.Length);
    }

    /// <summary>
    /// The grown string to change in place, with room for <paramref name="room"/> bytes: the stored one, or one
    /// made from the stored array (or for a missing key, its "new" event first) and stored in its place.
    /// </summary>
    internal static GrowableString Grown(CommandContext x, object? old, int room)
    {
        if (old is GrowableString stored) return stored;
        var g = GrowableString.From(old as byte[] ?? [], room);
        var db = Db(x);
        if (old is null) x.Engine.SetKey(db, x.Args[1], g);
        else db.Set(x.Args[1], g); // keeps the TTL
        return g;
    }

    /// <summary>As checkStringLength: a string may not grow past proto-max-bulk-len (offset + length could overflow).</summary>
    internal static bool CheckStringLength(CommandContext x, long offset, int length)
    {
        if (offset <= MaxLength(x) - length) return true;
        x.Reply.Error("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
        return false;
    }

    /// <summary>
    /// The string SETRANGE or SETBIT changes, as it is stored, and its length: null, an exact array or a grown string (see
    /// <see cref="GrowableString"/>). False, with WRONGTYPE written, for another type.
    /// </summary>
    internal static bool TryGrowable(CommandContext x, out object? value, out int length)
    {
        value = x.Engine.LookupWrite(Db(x), x.Args[1], growable: true);
        length = value switch { byte[] s => s.Length, GrowableString g => g.Length, _ => 0 };
        if (value is null or byte[] or GrowableString) return true;
        x.Reply.Error(Errors.WrongType);
        return false;
    }

    private static bool TryBitOffset(CommandContext x, int arg, out long offset)
    {
        if (x.Args.TryGetInt64(arg, out offset) && offset >= 0 && (offset >> 3) < MaxLength(x)) return true;
        x.Reply.Error("ERR bit offset is not an integer or out of range");
        return false;
    }

    private static void GetBit(CommandContext x)
    {
        if (!TryBitOffset(x, 2, out long offset)) return;
        if (!TypedLookup.TryGetString(x, out _, out var s)) return;
        long index = offset >> 3;
        x.Reply.Integer(index < s.Length && (s[(int)index] & (0x80 >> (int)(offset & 7))) != 0 ? 1 : 0);
    }

    private static void SetBit(CommandContext x)
    {
        if (!TryBitOffset(x, 2, out long offset)) return;
        bool on;
        if (x.Args.Is(3, "1")) on = true;
        else if (x.Args.Is(3, "0")) on = false;
        else
        {
            x.Reply.Error("ERR bit is not an integer or out of range");
            return;
        }
        if (!TryGrowable(x, out var old, out int oldLength)) return;
        int index = (int)(offset >> 3);
        var grown = Grown(x, old, index + 1);
        grown.EnsureLength(index + 1);
        var bytes = grown.Span;
        int mask = 0x80 >> (int)(offset & 7);
        int previous = (bytes[index] & mask) != 0 ? 1 : 0;
        bytes[index] = (byte)(on ? bytes[index] | mask : bytes[index] & ~mask);
        // As Redis 7.0: an event when the string was created or grown, or the bit flipped; not otherwise.
        bool wasGrown = old is null || index >= oldLength;
        if (wasGrown || previous != (on ? 1 : 0)) x.Engine.Notify(NotifyFlags.String, "setbit", x.Args[1], x.Client.Db);
        x.Reply.Integer(previous);
    }

    private static void BitCount(CommandContext x)
    {
        // As bitcountCommand: the key is looked up before the range is parsed (a missing key is 0).
        if (!TypedLookup.TryGetString(x, out bool found, out var s)) return;
        if (!found)
        {
            x.Reply.Integer(0);
            return;
        }
        long start = 0, end = -1;
        bool bits = false;
        if (x.Args.Count == 4 || x.Args.Count == 5)
        {
            if (!x.Args.TryGetInt64(2, out start) || !x.Args.TryGetInt64(3, out end))
            {
                x.Reply.Error(Errors.NotInteger);
                return;
            }
            if (x.Args.Count == 5)
            {
                if (x.Args.Is(4, "BIT")) bits = true;
                else if (!x.Args.Is(4, "BYTE"))
                {
                    x.Reply.Error(Errors.Syntax);
                    return;
                }
            }
        }
        else if (x.Args.Count != 2)
        {
            x.Reply.Error(Errors.Syntax);
            return;
        }
        long total = bits ? s.Length * 8L : s.Length;
        var (a, b) = Clamp(start, end, total);
        long count = 0;
        for (long i = a; i <= b; i++)
        {
            count += bits ? ((s[(int)(i >> 3)] >> (7 - (int)(i & 7))) & 1) : System.Numerics.BitOperations.PopCount(s[(int)i]);
        }
        x.Reply.Integer(count);
    }
}
