using System.Buffers.Binary;
using System.Text;
using FluentAssertions;
using KeyspacePubSub.Engine.Keyspace;
using KeyspacePubSub.Engine.Rdb;
using KeyspacePubSub.Engine.Streams;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// DUMP's and RESTORE's payload code on its own: the CRC-64 check value, LZF both ways, every value type
/// through DUMP and back, and damaged payloads (with a CRC that matches, so they reach the reader) refused
/// without an exception. Byte equality with redis-server is in the conformance cases (45-dump-restore.txt).
/// </summary>
public sealed class DumpPayloadTests
{
    private static byte[] B(string s) => Encoding.ASCII.GetBytes(s);

    [Fact]
    public void Crc64_IsRedisJonesVariant()
    {
        Crc64.Compute(B("123456789")).Should().Be(0xe9c6d914c4b8d9caUL);
        Crc64.Compute([]).Should().Be(0UL);
    }

    [Fact]
    public void Lzf_RoundTripsWhatItCompresses_AndRefusesWhatDoesNotShrink()
    {
        var random = new Random(7);
        int compressedCount = 0;
        for (int i = 0; i < 500; i++)
        {
            int length = random.Next(1, 5000);
            var input = new byte[length];
            if (i % 3 == 0) random.NextBytes(input); // noise: rarely compresses
            else for (int j = 0; j < length; j++) input[j] = (byte)"abcab "[random.Next(i % 3 == 1 ? 2 : 6)];
            var output = new byte[Math.Max(1, length - 4)];
            int n = Lzf.Compress(input, output);
            if (n == 0) continue;
            compressedCount++;
            n.Should().BeLessThan(length);
            var back = new byte[length];
            Lzf.Decompress(output.AsSpan(0, n), back).Should().BeTrue();
            back.Should().Equal(input);
        }
        compressedCount.Should().BeGreaterThan(300);
        var noise = new byte[1000];
        random.NextBytes(noise);
        Lzf.Compress(noise, new byte[996]).Should().Be(0);
    }

    [Fact]
    public void Lzf_DecompressRejectsDamagedInput()
    {
        var random = new Random(3);
        for (int i = 0; i < 2000; i++)
        {
            var junk = new byte[random.Next(1, 64)];
            random.NextBytes(junk);
            var output = new byte[random.Next(1, 200)];
            var act = () => Lzf.Decompress(junk, output);
            act.Should().NotThrow();
        }
        // A back-reference before the start of the output.
        Lzf.Decompress([0x20, 0x05], new byte[3]).Should().BeFalse();
    }

    private static IEnumerable<object> Values()
    {
        yield return B("hello");
        yield return B("-12");
        yield return B(new string('z', 300));
        yield return Array.Empty<byte>();
        var list = new ListValue();
        for (int i = 0; i < 5000; i++) list.PushTail(B(i % 3 == 0 ? (i * 31).ToString() : "element-" + new string('e', i % 90)));
        yield return list;
        var intset = new SetValue();
        foreach (var m in new[] { "5", "-70000", "3", "5000000000" }) intset.Add(B(m));
        yield return intset;
        var set = new SetValue();
        for (int i = 0; i < 600; i++) set.Add(B("m" + i));
        yield return set;
        var hash = new HashValue();
        hash.Put(B("f"), B("v"));
        hash.Put(B("n"), B("42"));
        yield return hash;
        var bigHash = new HashValue();
        bigHash.Put(B("long"), B(new string('v', 100)));
        yield return bigHash;
        var zset = new SortedSetValue();
        zset.Set(B("a"), 1.5);
        zset.Set(B("b"), double.NegativeInfinity);
        zset.Set(B("c"), 1e300);
        yield return zset;
        var bigZset = new SortedSetValue();
        for (int i = 0; i < 200; i++) bigZset.Set(B("m" + i), i / 7.0);
        yield return bigZset;
        var stream = new StreamValue();
        for (int i = 1; i <= 250; i++) stream.Append(new StreamId((ulong)i, 0), StreamRowItems.Encode(i % 7 == 0 ? [B("a"), B("x"), B("b"), B("y")] : [B("a"), B(i.ToString())]), 4096, 100);
        stream.Delete([new StreamId(3, 0), new StreamId(140, 0)]);
        var group = stream.CreateGroup(B("g"), new StreamId(10, 0), 10)!;
        var consumer = group.CreateConsumer(B("alice"), 1234)!;
        group.AddPending(new StreamId(5, 0), consumer, 1111, 2);
        group.AddPending(new StreamId(9, 0), consumer, 2222, 1);
        yield return stream;
    }

    private static string Describe(object v) => v switch
    {
        byte[] s => "string:" + Convert.ToHexString(s),
        ListValue l => "list:" + string.Join(",", Enumerable.Range(0, l.Count).Select(i => Encoding.ASCII.GetString(l[i]))),
        SetValue s => $"set({s.IsHashtableEncoded}):" + string.Join(",", s.Members.Keys.Select(Encoding.ASCII.GetString).Order()),
        HashValue h => $"hash({h.IsHashtableEncoded}):" + string.Join(",", h.Fields.Select(p => Encoding.ASCII.GetString(p.Key) + "=" + Encoding.ASCII.GetString(p.Value))),
        SortedSetValue z => $"zset({z.IsSkiplistEncoded}):" + string.Join(",", z.Pairs.OrderBy(p => p.Score).Select(p => Encoding.ASCII.GetString(p.Member) + "=" + p.Score.ToString("R"))),
        StreamValue st => $"stream({st.Length},{st.LastId},{st.FirstId},{st.MaxDeletedId},{st.EntriesAdded},{st.RadixTreeKeys}):"
            + string.Join(",", st.Range(StreamId.Min, StreamId.Max, reverse: false, tombstones: true).Select(e => $"{e.Id}{(e.Deleted ? "x" : "")}={string.Join("/", e.Pairs.ToArrays().Select(Encoding.ASCII.GetString))}"))
            + string.Join(",", st.Groups!.Values.Select(g => $"{Encoding.ASCII.GetString(g.Name)}@{g.LastId}/{g.EntriesRead}:"
                + string.Join(";", g.Consumers.Values.Select(c => $"{Encoding.ASCII.GetString(c.Name)}@{c.SeenTime}:" + string.Join("+", c.Pending.Select(p => $"{p.Id}@{p.DeliveryTime}x{p.DeliveryCount}")))))),
        _ => throw new InvalidOperationException(),
    };

    [Fact]
    public void EveryType_ComesBackAsItWent_WithItsEncoding()
    {
        foreach (var value in Values())
        {
            var payload = DumpPayload.Create(value)!;
            RestorePayload.Verify(payload).Should().BeTrue();
            var back = RestorePayload.Load(payload);
            back.Should().NotBeNull();
            Describe(back!).Should().Be(Describe(value));
        }
    }

    [Fact]
    public void AChangedByte_FailsTheChecksum()
    {
        var payload = DumpPayload.Create(B("some value"))!;
        payload[2] ^= 1;
        RestorePayload.Verify(payload).Should().BeFalse();
    }

    /// <summary>Re-seals a damaged body with a valid footer, so the reader itself has to cope.</summary>
    private static byte[] Seal(ReadOnlySpan<byte> body)
    {
        var p = new byte[body.Length + 10];
        body.CopyTo(p);
        p[body.Length] = DumpPayload.RdbVersion;
        BinaryPrimitives.WriteUInt64LittleEndian(p.AsSpan(body.Length + 2), Crc64.Compute(p.AsSpan(0, body.Length + 2)));
        return p;
    }

    [Fact]
    public void DamagedBodies_AreRefusedOrRead_NeverThrow()
    {
        var random = new Random(11);
        int refused = 0, total = 0;
        foreach (var value in Values())
        {
            var body = DumpPayload.Create(value)![..^10];
            for (int i = 0; i < 300; i++)
            {
                var damaged = (byte[])body.Clone();
                switch (i % 3)
                {
                    case 0:
                        damaged[random.Next(damaged.Length)] = (byte)random.Next(256);
                        break;
                    case 1:
                        damaged = damaged[..random.Next(damaged.Length)];
                        break;
                    default:
                        for (int k = 0; k < 4; k++) damaged[random.Next(damaged.Length)] ^= (byte)(1 << random.Next(8));
                        break;
                }
                var payload = Seal(damaged);
                RestorePayload.Verify(payload).Should().BeTrue();
                object? loaded = null;
                var act = () => loaded = RestorePayload.Load(payload);
                act.Should().NotThrow();
                total++;
                if (loaded is null) refused++;
            }
        }
        refused.Should().BeGreaterThan(total / 4, "truncations alone are a third of the cases and are refused");
    }

    [Fact]
    public void Listpack_WrittenThenRead_AndABadBackLengthRefused()
    {
        var lp = new ListpackBuilder();
        string[] items = ["0", "127", "128", "-4096", "4095", "-32768", "70000", "-8388608", "2147483647", "9223372036854775807", "01", "", new string('x', 63), new string('y', 64), new string('w', 5000)];
        foreach (var s in items) lp.Append(B(s));
        var bytes = lp.ToArray();
        PackedListReader.Listpack(bytes)!.Select(Encoding.ASCII.GetString).Should().Equal(items);
        bytes[9] ^= 0x01; // the second entry's back-length: header (6), "0" and its back-length, "127" at 8
        PackedListReader.Listpack(bytes).Should().BeNull();
    }

    /// <summary>A ziplist of "a\0" and then "b\0": header (zlbytes, zltail, zllen), two entries, the end byte.</summary>
    private static byte[] TwoEntryZiplist(byte secondPrevious = 4, byte tail = 14, byte secondEncoding = 0x02)
    {
        var entries = secondEncoding == 0x02
            ? new byte[] { 0x00, 0x02, 0x61, 0x00, secondPrevious, 0x02, 0x62, 0x00 }
            : [0x00, 0x02, 0x61, 0x00, secondPrevious, secondEncoding, 0x00, 0x00, 0x00, 0x02, 0x62, 0x00];
        var zl = new byte[10 + entries.Length + 1];
        BinaryPrimitives.WriteUInt32LittleEndian(zl, (uint)zl.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(zl.AsSpan(4), tail);
        BinaryPrimitives.WriteUInt16LittleEndian(zl.AsSpan(8), 2);
        entries.CopyTo(zl, 10);
        zl[^1] = 0xFF;
        return zl;
    }

    [Fact]
    public void Ziplist_IsCheckedAsRedisChecksAZiplistItConverts()
    {
        PackedListReader.Ziplist(TwoEntryZiplist())!.Select(Encoding.ASCII.GetString).Should().Equal("a\0", "b\0");
        PackedListReader.Ziplist(TwoEntryZiplist(secondPrevious: 14)).Should().BeNull("the previous entry is 4 bytes, not 14");
        PackedListReader.Ziplist(TwoEntryZiplist(secondPrevious: 2)).Should().BeNull("the previous entry is 4 bytes, not 2");
        PackedListReader.Ziplist(TwoEntryZiplist(tail: 10)).Should().BeNull("the tail offset must be the last entry's start");
        PackedListReader.Ziplist(TwoEntryZiplist(tail: 19)).Should().BeNull("the tail offset is past the end byte");
        // A string's 32-bit length header: Redis reads 0x80 and every byte up to 0xBF as one.
        PackedListReader.Ziplist(TwoEntryZiplist(secondEncoding: 0x80))!.Select(Encoding.ASCII.GetString).Should().Equal("a\0", "b\0");
        PackedListReader.Ziplist(TwoEntryZiplist(secondEncoding: 0xBF))!.Select(Encoding.ASCII.GetString).Should().Equal("a\0", "b\0");
    }

    [Fact]
    public void ObjectsAreReadFromTheWholePayload_FooterIncluded_AsRestoreCommandReadsThem()
    {
        // A string of 7 bytes where 3 precede the footer: with its CRC unchecked, Redis loads "bar" and 4 footer bytes.
        byte[] payload = [0x00, 0x07, (byte)'b', (byte)'a', (byte)'r', 0x0a, 0x00, 1, 2, 3, 4, 5, 6, 7, 8];
        RestorePayload.Verify(payload).Should().BeFalse();
        RestorePayload.Verify(payload, skipChecksum: true).Should().BeTrue();
        RestorePayload.Load(payload).Should().BeEquivalentTo(new byte[] { (byte)'b', (byte)'a', (byte)'r', 0x0a, 0x00, 1, 2 });
        payload[5] = 0x0b; // RDB version 11: too new, checksum or not
        RestorePayload.Verify(payload, skipChecksum: true).Should().BeFalse();
    }
}
