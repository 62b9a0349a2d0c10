using System.Buffers.Binary;
using KeyspacePubSub.Engine.Keyspace;

namespace KeyspacePubSub.Engine.Persistence;

/// <summary>Hashes and sets are stored whole in one blob: a sequence of (int32 length, bytes) items.</summary>
public static class DurableBlob
{
    public static byte[] Encode(IEnumerable<byte[]> items)
    {
        var ms = new MemoryStream();
        Span<byte> len = stackalloc byte[4];
        foreach (var item in items)
        {
            BinaryPrimitives.WriteInt32LittleEndian(len, item.Length);
            ms.Write(len);
            ms.Write(item);
        }
        return ms.ToArray();
    }

    public static List<byte[]> Decode(byte[] blob)
    {
        var items = new List<byte[]>();
        for (int i = 0; i + 4 <= blob.Length;)
        {
            int n = BinaryPrimitives.ReadInt32LittleEndian(blob.AsSpan(i));
            items.Add(blob.AsSpan(i + 4, n).ToArray());
            i += 4 + n;
        }
        return items;
    }

    public static byte[] Encode(HashValue h) => Encode(h.Fields.SelectMany(f => new[] { f.Key, f.Value }));

    public static byte[] Encode(SetValue s) => Encode(s.Members.Keys);

    public static HashValue DecodeHash(byte[] blob)
    {
        var h = new HashValue();
        var items = Decode(blob);
        for (int i = 0; i + 1 < items.Count; i += 2) h.Put(items[i], items[i + 1]);
        return h;
    }

    public static SetValue DecodeSet(byte[] blob)
    {
        var s = new SetValue();
        foreach (var m in Decode(blob)) s.Add(m);
        return s;
    }
}
