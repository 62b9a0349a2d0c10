namespace KeyspacePubSub.Engine.Rdb;

/// <summary>
/// CRC-64/Jones as Redis's crc64.c (polynomial 0xad93d23594c935a9, reflected, initial value 0, no final xor):
/// the checksum at the end of a DUMP payload. crc64("123456789") = 0xe9c6d914c4b8d9ca.
/// </summary>
public static class Crc64
{
    private static readonly ulong[] s_table = BuildTable();

    private static ulong[] BuildTable()
    {
        const ulong Reflected = 0x95AC9329AC4BC9B5UL; // 0xad93d23594c935a9 with its bits reversed
        var table = new ulong[256];
        for (ulong i = 0; i < 256; i++)
        {
            ulong crc = i;
            for (int bit = 0; bit < 8; bit++) crc = (crc & 1) != 0 ? (crc >> 1) ^ Reflected : crc >> 1;
            table[i] = crc;
        }
        return table;
    }

    public static ulong Compute(ReadOnlySpan<byte> data, ulong crc = 0)
    {
        var table = s_table;
        foreach (byte b in data) crc = table[(byte)(crc ^ b)] ^ (crc >> 8);
        return crc;
    }
}
