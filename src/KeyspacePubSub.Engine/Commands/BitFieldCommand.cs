using KeyspacePubSub.Engine.Config;
using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>
/// BITFIELD and BITFIELD_RO (src/bitops.c, Redis 7.0): signed and unsigned integers of 1 to 64 bits (unsigned
/// up to 63) read, set and incremented at any bit offset of a string, with WRAP, SAT or FAIL on overflow. Every
/// operation is parsed before the key is looked up; the string grows to the farthest bit any SET or INCRBY
/// reaches, even when they all fail; one "setbit" event follows when a write changed a value or the string.
/// </summary>
internal static class BitFieldCommand
{
    public static void Register(CommandTable t)
    {
        t.Add(new() { Name = "bitfield", Arity = -2, Flags = Write | DenyOom, Handler = BitField, FirstKey = 1, LastKey = 1, Step = 1, Group = "bitmap", Since = "3.2.0", Summary = "Perform arbitrary bitfield integer operations on strings" });
        t.Add(new() { Name = "bitfield_ro", Arity = -2, Flags = ReadOnly | Fast, Handler = BitFieldReadOnly, FirstKey = 1, LastKey = 1, Step = 1, Group = "bitmap", Since = "6.0.0", Summary = "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD" });
    }

    private enum Kind : byte { Get, Set, IncrBy }

    private enum Overflow : byte { Wrap, Sat, Fail }

    private readonly record struct FieldOp(Kind Kind, Overflow Overflow, bool Signed, int Bits, long Offset, long Value);

    private static void BitField(CommandContext x) => Run(x, readOnlyCommand: false);

    private static void BitFieldReadOnly(CommandContext x) => Run(x, readOnlyCommand: true);

    private static void Run(CommandContext x, bool readOnlyCommand)
    {
        if (!TryParse(x, out var ops, out long highestWriteBit)) return;
        bool writes = highestWriteBit >= 0;
        if (!writes)
        {
            // As lookupKeyRead: a missing key reads as zeros and is not created.
            if (!TypedLookup.TryGetString(x, out _, out var s)) return;
            x.Reply.Array(ops.Count);
            foreach (var op in ops) x.Reply.Integer(Get(s, op));
            return;
        }
        if (readOnlyCommand)
        {
            x.Reply.Error("ERR BITFIELD_RO only supports the GET subcommand");
            return;
        }
        // As lookupStringForBitCommand: created or grown (zeros) to the farthest bit written, before any operation.
        if (!BitRangeCommands.TryGrowable(x, out var old, out int oldLength)) return;
        int length = (int)(highestWriteBit >> 3) + 1;
        var grown = BitRangeCommands.Grown(x, old, Math.Max(length, oldLength));
        grown.EnsureLength(Math.Max(length, oldLength));
        bool dirty = old is null || length > oldLength;
        int changes = 0;
        x.Reply.Array(ops.Count);
        foreach (var op in ops)
        {
            var bytes = grown.Span;
            if (op.Kind == Kind.Get)
            {
                x.Reply.Integer(Get(bytes, op));
                continue;
            }
            long before = op.Signed ? ReadSigned(bytes, op.Offset, op.Bits) : (long)ReadUnsigned(bytes, op.Offset, op.Bits);
            long increment = op.Kind == Kind.IncrBy ? op.Value : 0;
            long start = op.Kind == Kind.IncrBy ? before : op.Value;
            bool overflow = op.Signed
                ? SignedOverflow(start, increment, op.Bits, op.Overflow, out long limited)
                : UnsignedOverflow((ulong)start, increment, op.Bits, op.Overflow, out limited);
            if (overflow && op.Overflow == Overflow.Fail)
            {
                x.Reply.NullBulk();
                continue;
            }
            long after = overflow ? limited : unchecked(start + increment);
            x.Reply.Integer(op.Kind == Kind.IncrBy ? after : before);
            WriteBits(bytes, op.Offset, op.Bits, (ulong)after);
            if (dirty || before != after) changes++;
        }
        if (changes > 0) x.Engine.Notify(NotifyFlags.String, "setbit", x.Args[1], x.Client.Db);
    }

    /// <summary>
    /// Every operation, in order, as bitfieldGeneric parses them: the first bad argument is the error. The
    /// highest bit a SET or INCRBY touches is returned, or -1 when there are only GETs.
    /// </summary>
    private static bool TryParse(CommandContext x, out List<FieldOp> ops, out long highestWriteBit)
    {
        ops = [];
        highestWriteBit = -1;
        var overflow = Overflow.Wrap;
        var args = x.Args;
        for (int j = 2; j < args.Count; j++)
        {
            int remaining = args.Count - j - 1;
            Kind kind;
            if (args.Is(j, "GET") && remaining >= 2) kind = Kind.Get;
            else if (args.Is(j, "SET") && remaining >= 3) kind = Kind.Set;
            else if (args.Is(j, "INCRBY") && remaining >= 3) kind = Kind.IncrBy;
            else if (args.Is(j, "OVERFLOW") && remaining >= 1)
            {
                j++;
                if (args.Is(j, "WRAP")) overflow = Overflow.Wrap;
                else if (args.Is(j, "SAT")) overflow = Overflow.Sat;
                else if (args.Is(j, "FAIL")) overflow = Overflow.Fail;
                else
                {
                    x.Reply.Error("ERR Invalid OVERFLOW type specified");
                    return false;
                }
                continue;
            }
            else
            {
                x.Reply.Error(Errors.Syntax);
                return false;
            }
            if (!TryType(args[j + 1], out bool signed, out int bits))
            {
                x.Reply.Error("ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.");
                return false;
            }
            if (!TryOffset(args[j + 2], bits, BitRangeCommands.MaxLength(x), out long offset))
            {
                x.Reply.Error("ERR bit offset is not an integer or out of range");
                return false;
            }
            long value = 0;
            if (kind != Kind.Get)
            {
                highestWriteBit = Math.Max(highestWriteBit, offset + bits - 1);
                if (!args.TryGetInt64(j + 3, out value))
                {
                    x.Reply.Error(Errors.NotInteger);
                    return false;
                }
            }
            ops.Add(new FieldOp(kind, overflow, signed, bits, offset, value));
            j += kind == Kind.Get ? 2 : 3;
        }
        return true;
    }

    /// <summary>As getBitfieldTypeFromArgument: "i1".."i64" or "u1".."u63", the letter in lower case.</summary>
    private static bool TryType(ReadOnlySpan<byte> arg, out bool signed, out int bits)
    {
        bits = 0;
        signed = arg.Length > 0 && arg[0] == 'i';
        if (arg.Length == 0 || (arg[0] != 'i' && arg[0] != 'u')) return false;
        if (!Strict.TryParseInt64(arg[1..], out long n) || n < 1 || n > (signed ? 64 : 63)) return false;
        bits = (int)n;
        return true;
    }

    /// <summary>
    /// As getBitOffsetFromArgument: a bit offset, or with "#" a field index multiplied by the width (wrapping
    /// as Redis's 64-bit multiplication does); its byte must lie within proto-max-bulk-len.
    /// </summary>
    private static bool TryOffset(ReadOnlySpan<byte> arg, int bits, long maxBytes, out long offset)
    {
        bool index = arg.Length > 0 && arg[0] == '#';
        if (!Strict.TryParseInt64(index ? arg[1..] : arg, out offset)) return false;
        if (index) offset = unchecked(offset * bits);
        return offset >= 0 && (offset >> 3) < maxBytes;
    }

    /// <summary>A GET: bits past the end of the string read as zeros.</summary>
    private static long Get(ReadOnlySpan<byte> s, FieldOp op) => op.Signed ? ReadSigned(s, op.Offset, op.Bits) : (long)ReadUnsigned(s, op.Offset, op.Bits);

    private static ulong ReadUnsigned(ReadOnlySpan<byte> s, long offset, int bits)
    {
        ulong value = 0;
        for (int j = 0; j < bits; j++, offset++)
        {
            long index = offset >> 3;
            int bit = index < s.Length ? (s[(int)index] >> (7 - (int)(offset & 7))) & 1 : 0;
            value = (value << 1) | (uint)bit;
        }
        return value;
    }

    private static long ReadSigned(ReadOnlySpan<byte> s, long offset, int bits)
    {
        ulong value = ReadUnsigned(s, offset, bits);
        if (bits < 64 && (value & (1UL << (bits - 1))) != 0) value |= ulong.MaxValue << bits; // sign extension
        return (long)value;
    }

    /// <summary>The low <paramref name="bits"/> bits of the value, most significant first (the string is long enough).</summary>
    private static void WriteBits(Span<byte> s, long offset, int bits, ulong value)
    {
        for (int j = 0; j < bits; j++, offset++)
        {
            bool on = (value & (1UL << (bits - 1 - j))) != 0;
            int index = (int)(offset >> 3);
            int mask = 1 << (7 - (int)(offset & 7));
            s[index] = (byte)(on ? s[index] | mask : s[index] & ~mask);
        }
    }

    /// <summary>
    /// As checkUnsignedBitfieldOverflow: whether value + increment leaves 0..2^bits-1, and then what WRAP or SAT
    /// make of it (a SET checks its value with an increment of 0).
    /// </summary>
    private static bool UnsignedOverflow(ulong value, long increment, int bits, Overflow kind, out long limited)
    {
        ulong max = (1UL << bits) - 1; // bits <= 63
        long maxIncrement = unchecked((long)(max - value));
        long minIncrement = unchecked(-(long)value);
        limited = 0;
        bool up = value > max || (increment > 0 && increment > maxIncrement);
        if (!up && !(increment < 0 && increment < minIncrement)) return false;
        if (kind == Overflow.Wrap) limited = (long)(unchecked(value + (ulong)increment) & max);
        else if (kind == Overflow.Sat) limited = up ? (long)max : 0;
        return true;
    }

    /// <summary>As checkSignedBitfieldOverflow, with its 64-bit arithmetic wrapping as Redis's does.</summary>
    private static bool SignedOverflow(long value, long increment, int bits, Overflow kind, out long limited)
    {
        long max = bits == 64 ? long.MaxValue : (1L << (bits - 1)) - 1;
        long min = -max - 1;
        long maxIncrement = unchecked(max - value);
        long minIncrement = unchecked(min - value);
        limited = 0;
        bool up = value > max || (bits != 64 && increment > maxIncrement) || (value >= 0 && increment > 0 && increment > maxIncrement);
        bool down = !up && (value < min || (bits != 64 && increment < minIncrement) || (value < 0 && increment < 0 && increment < minIncrement));
        if (!up && !down) return false;
        if (kind == Overflow.Wrap)
        {
            ulong sum = unchecked((ulong)value + (ulong)increment);
            if (bits < 64)
            {
                ulong mask = ulong.MaxValue << bits;
                sum = (sum & (1UL << (bits - 1))) != 0 ? sum | mask : sum & ~mask;
            }
            limited = (long)sum;
        }
        else if (kind == Overflow.Sat) limited = up ? max : min;
        return true;
    }
}
