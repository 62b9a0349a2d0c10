namespace KeyspacePubSub.Engine.PubSub;

/// <summary>One client's membership in one <see cref="SubscriberList"/>; knows its slot so removal is O(1).</summary>
public sealed class Subscription(Client client, SubscriberList owner)
{
    public Client Client { get; } = client;
    public SubscriberList Owner { get; } = owner;
    internal int Index { get; set; } = -1;
}

/// <summary>
/// The clients subscribed to one channel or pattern. Unordered (swap-remove), as delivery order between
/// different connections is not observable; each client's own messages stay in publish order.
/// </summary>
public class SubscriberList(byte[] name)
{
    private Subscription[] _items = new Subscription[2];

    public byte[] Name { get; } = name;

    public int Count { get; private set; }

    public ReadOnlySpan<Subscription> Items => _items.AsSpan(0, Count);

    internal Subscription Add(Client client)
    {
        var sub = new Subscription(client, this);
        if (Count == _items.Length) Array.Resize(ref _items, _items.Length * 2);
        sub.Index = Count;
        _items[Count++] = sub;
        return sub;
    }

    internal void Remove(Subscription sub)
    {
        int last = --Count;
        var moved = _items[last];
        _items[sub.Index] = moved;
        moved.Index = sub.Index;
        _items[last] = null!;
        sub.Index = -1;
        if (Count == 0 && _items.Length > 16) _items = new Subscription[2];
    }
}
