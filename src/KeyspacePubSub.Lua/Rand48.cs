namespace KeyspacePubSub.Lua;

/// <summary>
/// Redis's rand48 (rand.c): the same sequence for the same seed on every machine. One per server, as Redis's is
/// one per process: it starts from rand.c's initial state and is not reseeded between scripts.
/// </summary>
public sealed class Rand48
{
    private ulong _x = 0x1234_ABCD_330E;

    public void Seed(int seed) => _x = ((ulong)(uint)seed << 16 | 0x330E) & 0xFFFFFFFFFFFF;

    public int Next()
    {
        _x = (0x5DEECE66DUL * _x + 0xB) & 0xFFFFFFFFFFFF;
        return (int)(_x >> 17);
    }
}
