using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using KeyspacePubSub.Engine.Streams;
using KeyspacePubSub.Protocol;

namespace KeyspacePubSub.Engine.Keyspace;

/// <summary>
/// DEBUG DIGEST and DIGEST-VALUE, as Redis 7.0's debug.c computes them, so the same data gives the same 40 hex
/// digits on either server. Unordered things (keys, set members, hash fields, sorted-set members) are combined
/// by XOR of their SHA-1s; ordered things (a list's elements, a stream's entries, a key's parts) by
/// digest = SHA1(digest XOR SHA1(data)). A key's TTL adds only that it has one.
/// </summary>
public static class Digest
{
    public const int Size = 20;

    // OBJ_STRING, OBJ_LIST, OBJ_SET, OBJ_ZSET, OBJ_HASH, OBJ_STREAM (server.h).
    private const uint TypeString = 0, TypeList = 1, TypeSet = 2, TypeZset = 3, TypeHash = 4, TypeStream = 6;

    /// <summary>
    /// computeDatasetDigest: per database with keys, its number mixed in, then the XOR of each key's digest. Every
    /// key in the table counts, as every key in Redis's dict does, one past its deadline but not yet deleted too.
    /// </summary>
    public static void Dataset(IReadOnlyList<Database> databases, Span<byte> final)
    {
        final.Clear();
        Span<byte> digest = stackalloc byte[Size];
        Span<byte> id = stackalloc byte[4];
        foreach (var db in databases)
        {
            bool first = true;
            foreach (var key in db.Keys)
            {
                if (first)
                {
                    BinaryPrimitives.WriteUInt32BigEndian(id, (uint)db.Index);
                    Mix(final, id);
                    first = false;
                }
                digest.Clear();
                Mix(digest, key);
                Value(db, key, digest);
                Xor(final, digest);
            }
        }
    }

    /// <summary>
    /// xorObjectDigest: the value's type, its contents, and "!!expire!!" when the key has a TTL. Nothing for a
    /// missing key; a key past its deadline still counts (DIGEST-VALUE does not expire keys).
    /// </summary>
    public static void Value(Database db, byte[] key, Span<byte> digest)
    {
        var value = db.GetWithExpire(key, out long expireAt);
        if (value is null) return;
        Span<byte> type = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(type, TypeOf(value));
        Mix(digest, type);
        Span<byte> element = stackalloc byte[Size];
        switch (value)
        {
            case byte[] s:
                Mix(digest, s);
                break;
            case GrowableString g:
                Mix(digest, g.Span);
                break;
            case ListValue l:
                for (int i = 0; i < l.Count; i++) Mix(digest, l[i]);
                break;
            case SetValue set:
                foreach (var m in set.Members.Keys) Xor(digest, m);
                break;
            case SortedSetValue z:
                foreach (var (member, score) in z.Pairs)
                {
                    element.Clear();
                    Mix(element, member);
                    Mix(element, Encoding.ASCII.GetBytes(RespWriter.FormatDouble(score)));
                    Xor(digest, element); // xorDigest(digest, eledigest, 20): the SHA-1 of the element's digest
                }
                break;
            case HashValue h:
                foreach (var (field, v) in h.Fields)
                {
                    element.Clear();
                    Mix(element, field);
                    Mix(element, v);
                    Xor(digest, element); // xorDigest(digest, eledigest, 20): the SHA-1 of the element's digest
                }
                break;
            case StreamValue st:
                foreach (var e in st.Range(StreamId.Min, StreamId.Max, reverse: false))
                {
                    Mix(digest, Encoding.ASCII.GetBytes(e.Id.Ms.ToString(CultureInfo.InvariantCulture) + "." + e.Id.Seq.ToString(CultureInfo.InvariantCulture)));
                    foreach (var part in e.Pairs) Mix(digest, part);
                }
                break;
        }
        if (expireAt >= 0) Xor(digest, "!!expire!!"u8);
    }

    /// <summary>The digest as Redis prints it: 40 lowercase hex digits.</summary>
    public static string Hex(ReadOnlySpan<byte> digest) => Convert.ToHexStringLower(digest);

    private static uint TypeOf(object value) => value switch
    {
        byte[] or GrowableString => TypeString,
        ListValue => TypeList,
        SetValue => TypeSet,
        SortedSetValue => TypeZset,
        HashValue => TypeHash,
        StreamValue => TypeStream,
        _ => throw new InvalidOperationException("unknown value type"),
    };

    /// <summary>xorDigest: digest ^= SHA1(data).</summary>
    private static void Xor(Span<byte> digest, ReadOnlySpan<byte> data)
    {
        Span<byte> hash = stackalloc byte[Size];
        SHA1.HashData(data, hash);
        XorBytes(digest, hash);
    }

    /// <summary>mixDigest: digest = SHA1(digest ^ SHA1(data)), so order counts.</summary>
    private static void Mix(Span<byte> digest, ReadOnlySpan<byte> data)
    {
        Xor(digest, data);
        Span<byte> copy = stackalloc byte[Size];
        digest.CopyTo(copy);
        SHA1.HashData(copy, digest);
    }

    private static void XorBytes(Span<byte> digest, ReadOnlySpan<byte> other)
    {
        for (int i = 0; i < Size; i++) digest[i] ^= other[i];
    }
}
