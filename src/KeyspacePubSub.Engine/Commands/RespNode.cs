using KeyspacePubSub.Protocol;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>
/// One RESP3 value as a tree: a reply read back and written again, in either protocol, as Redis would write it
/// (a map as a flat array and a set as an array under RESP2). Holds the types Redis's COMMAND INFO and
/// COMMAND DOCS use: bulk and simple strings, integers, arrays, sets and maps.
/// </summary>
internal sealed class RespNode
{
    public required byte Type { get; init; } // '$', '+', ':', '*', '~', '%'
    public byte[] Text { get; init; } = [];
    public long Integer { get; init; }
    /// <summary>The elements; a map's keys and values alternate.</summary>
    public RespNode[] Items { get; init; } = [];

    public string String => System.Text.Encoding.ASCII.GetString(Text);

    /// <summary>A map's value for a key, or null.</summary>
    public RespNode? this[string key]
    {
        get
        {
            for (int i = 0; i + 1 < Items.Length; i += 2)
            {
                if (Items[i].Is(key)) return Items[i + 1];
            }
            return null;
        }
    }

    /// <summary>Whether this string's bytes are <paramref name="text"/>'s (ASCII).</summary>
    public bool Is(string text)
    {
        if (Text.Length != text.Length) return false;
        for (int i = 0; i < Text.Length; i++)
        {
            if (Text[i] != text[i]) return false;
        }
        return true;
    }

    /// <summary>A map's pairs.</summary>
    public IEnumerable<(string Key, RespNode Value)> Pairs()
    {
        for (int i = 0; i + 1 < Items.Length; i += 2) yield return (Items[i].String, Items[i + 1]);
    }

    public void Write(RespWriter r)
    {
        switch (Type)
        {
            case (byte)'$': r.Bulk(Text); break;
            case (byte)'+': r.SimpleString(String); break;
            case (byte)':': r.Integer(Integer); break;
            case (byte)'*': r.Array(Items.Length); break;
            case (byte)'~': r.Set(Items.Length); break;
            case (byte)'%': r.Map(Items.Length / 2); break;
            default: throw new InvalidOperationException($"RESP type '{(char)Type}' is not written here");
        }
        foreach (var item in Items) item.Write(r);
    }

    /// <summary>Reads one whole value from <paramref name="data"/> at <paramref name="pos"/>, which moves past it.</summary>
    public static RespNode Parse(ReadOnlySpan<byte> data, ref int pos)
    {
        byte type = data[pos];
        int end = pos + data[pos..].IndexOf("\r\n"u8);
        var line = data[(pos + 1)..end];
        pos = end + 2;
        switch (type)
        {
            case (byte)'$':
            {
                int n = int.Parse(line, provider: System.Globalization.CultureInfo.InvariantCulture);
                var text = data.Slice(pos, n).ToArray();
                pos += n + 2;
                return new RespNode { Type = type, Text = text };
            }
            case (byte)'+':
                return new RespNode { Type = type, Text = line.ToArray() };
            case (byte)':':
                return new RespNode { Type = type, Integer = long.Parse(line, provider: System.Globalization.CultureInfo.InvariantCulture) };
            case (byte)'*' or (byte)'~' or (byte)'%':
            {
                int n = int.Parse(line, provider: System.Globalization.CultureInfo.InvariantCulture) * (type == '%' ? 2 : 1);
                var items = new RespNode[n];
                for (int i = 0; i < n; i++) items[i] = Parse(data, ref pos);
                return new RespNode { Type = type, Items = items };
            }
            default:
                throw new FormatException($"RESP type '{(char)type}' at {pos}");
        }
    }
}
