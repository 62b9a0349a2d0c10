using System.Buffers;
using KeyspacePubSub.Engine.Commands;
using KeyspacePubSub.Protocol;

namespace KeyspacePubSub.Engine;

/// <summary>A client's CLIENT TRACKING settings (Redis 7.0's CLIENT_TRACKING_* flags); the redirect is <see cref="Client.TrackingRedirect"/>.</summary>
internal sealed class TrackingState(bool bcast, bool optIn, bool optOut, bool noLoop, List<byte[]> prefixes)
{
    public bool Bcast { get; } = bcast;
    public bool OptIn { get; } = optIn;
    public bool OptOut { get; } = optOut;
    public bool NoLoop { get; } = noLoop;
    public List<byte[]> Prefixes { get; } = prefixes;

    /// <summary>CLIENT CACHING yes|no was given for the next command.</summary>
    public bool CachingGiven { get; set; }
}

/// <summary>
/// Server-assisted client-side caching, as Redis 7.0's tracking.c. In the default mode the keys a tracking
/// client reads (read-only commands, their key arguments; with OPTIN/OPTOUT only as CLIENT CACHING says) are
/// remembered, whatever the database, and the first change of such a key sends each of its readers one
/// "invalidate" push and forgets them. In BCAST mode a client gets, once per batch of commands, the keys
/// changed under each of its prefixes. Pushes go to the client itself (RESP3), or to the REDIRECT client: a
/// push for RESP3, a message on __redis__:invalidate for a RESP2 client in pub/sub mode. NOLOOP leaves out the
/// client's own changes. FLUSHDB and FLUSHALL send every tracking client a null invalidation.
/// </summary>
public sealed partial class Engine
{
    private readonly Dictionary<byte[], HashSet<long>> _trackedKeys = new(ByteKeyComparer.Instance);
    private readonly SortedDictionary<byte[], BcastPrefix> _prefixes = new(BinaryComparer.Instance);
    private long _trackedItems;

    /// <summary>Clients with tracking on (INFO tracking_clients).</summary>
    public int TrackingClients { get; private set; }

    public long TrackedKeys => _trackedKeys.Count;
    public long TrackedItems => _trackedItems;
    public long TrackingPrefixes => _prefixes.Count;

    private sealed class BcastPrefix
    {
        /// <summary>
        /// In the order they joined. Redis walks them in the order of their client structures' addresses (a rax
        /// keyed by pointer), which nothing outside its allocator can reproduce.
        /// </summary>
        public List<Client> Clients { get; } = [];

        /// <summary>Keys changed since the last broadcast, in key order, with the client that changed each last.</summary>
        public SortedDictionary<byte[], Client?> Keys { get; } = new(BinaryComparer.Instance);
    }

    /// <summary>Byte-wise order (memcmp), as Redis's rax keeps prefixes; TRACKINGINFO lists them in it.</summary>
    internal sealed class BinaryComparer : IComparer<byte[]>
    {
        public static readonly BinaryComparer Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }

    /// <summary>As enableTracking: new settings (the CACHING exception given before stays), BCAST prefixes added ("" when none is given).</summary>
    internal void EnableTracking(Client c, long redirect, TrackingState state)
    {
        if (c.Tracking is null) TrackingClients++;
        var old = c.Tracking;
        var prefixes = old?.Prefixes ?? [];
        c.Tracking = new TrackingState(state.Bcast, state.OptIn, state.OptOut, state.NoLoop, prefixes) { CachingGiven = old?.CachingGiven ?? false };
        c.TrackingRedirect = redirect;
        c.TrackingBrokenRedirect = false;
        if (!state.Bcast) return;
        foreach (var p in state.Prefixes.Count == 0 ? [[]] : state.Prefixes)
        {
            if (!prefixes.Exists(q => q.AsSpan().SequenceEqual(p))) prefixes.Add(p);
            if (!_prefixes.TryGetValue(p, out var bs)) _prefixes[p] = bs = new BcastPrefix();
            if (!bs.Clients.Contains(c)) bs.Clients.Add(c);
        }
    }

    internal void DisableTracking(Client c)
    {
        if (c.Tracking is not { } state) return;
        if (state.Bcast)
        {
            foreach (var p in state.Prefixes)
            {
                if (!_prefixes.TryGetValue(p, out var bs)) continue;
                bs.Clients.Remove(c);
                if (bs.Clients.Count == 0) _prefixes.Remove(p);
            }
        }
        c.Tracking = null;
        c.TrackingBrokenRedirect = false;
        TrackingClients--;
    }

    /// <summary>
    /// As checkPrefixCollisionsOrReply: no prefix may be a prefix of another of the same client. The client's
    /// prefixes are checked in byte order, as Redis walks their rax (they may overlap already: BCAST without
    /// PREFIX adds "" unchecked).
    /// </summary>
    internal static string? PrefixCollision(Client c, List<byte[]> prefixes)
    {
        var existingPrefixes = c.Tracking?.Prefixes.Order(BinaryComparer.Instance).ToList() ?? [];
        for (int i = 0; i < prefixes.Count; i++)
        {
            foreach (var existing in existingPrefixes)
            {
                if (Overlap(existing, prefixes[i])) return $"ERR Prefix '{Latin1(prefixes[i])}' overlaps with an existing prefix '{Latin1(existing)}'. Prefixes for a single client must not overlap.";
            }
            for (int j = 0; j < prefixes.Count; j++)
            {
                if (i != j && Overlap(prefixes[i], prefixes[j])) return $"ERR Prefix '{Latin1(prefixes[i])}' overlaps with another provided prefix '{Latin1(prefixes[j])}'. Prefixes for a single client must not overlap.";
            }
        }
        return null;

        static bool Overlap(byte[] a, byte[] b) => a.Length <= b.Length ? b.AsSpan().StartsWith(a) : a.AsSpan().StartsWith(b);
        static string Latin1(byte[] s) => CommandTable.Latin1(s);
    }

    /// <summary>As trackingRememberKeys, after a read-only command of a client tracking in the default mode.</summary>
    private void RememberTrackedKeys(Client c, CommandDef cmd, CommandArgs args)
    {
        var state = c.Tracking!;
        if ((state.OptIn && !state.CachingGiven) || (state.OptOut && state.CachingGiven)) return;
        foreach (int i in cmd.KeyPositions(args))
        {
            var lookup = _trackedKeys.GetAlternateLookup<ReadOnlySpan<byte>>();
            if (!lookup.TryGetValue(args[i], out var ids))
            {
                ids = [];
                _trackedKeys[args.ToArray(i)] = ids;
            }
            if (ids.Add(c.Id)) _trackedItems++;
        }
    }

    /// <summary>As trackingInvalidateKey, from every change of a key (the point WATCH learns of it too).</summary>
    private void InvalidateTrackedKey(ReadOnlySpan<byte> key, bool bcast = true)
    {
        if (bcast && _prefixes.Count > 0) RememberKeyToBroadcast(key);
        if (_trackedKeys.Count == 0) return;
        var lookup = _trackedKeys.GetAlternateLookup<ReadOnlySpan<byte>>();
        if (!lookup.TryGetValue(key, out var stored, out var ids)) return;
        byte[]? keys = null; // the same one-key array for every reader
        if (ids.Count == 1)
        {
            foreach (long id in ids) InvalidateFor(id, stored, ref keys);
        }
        else
        {
            long[] order = System.Buffers.ArrayPool<long>.Shared.Rent(ids.Count);
            ids.CopyTo(order);
            var span = order.AsSpan(0, ids.Count);
            span.Sort(RaxIdOrder);
            foreach (long id in span) InvalidateFor(id, stored, ref keys);
            System.Buffers.ArrayPool<long>.Shared.Return(order);
        }
        _trackedItems -= ids.Count;
        _trackedKeys.Remove(stored);
    }

    /// <summary>
    /// The order Redis walks a key's readers in: its rax holds each client id as its 8 bytes in memory (little
    /// endian), so ids compare by their lowest byte first (id 256 before id 255).
    /// </summary>
    private static readonly Comparison<long> RaxIdOrder = static (a, b) =>
        ((ulong)System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(a)).CompareTo((ulong)System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(b));

    private void InvalidateFor(long id, byte[] stored, ref byte[]? keys)
    {
        if (!_clients.TryGetValue(id, out var target) || target.Tracking is not { Bcast: false } state) return;
        if (ReferenceEquals(target, _current))
        {
            // As Redis's tracking_pending_keys: the running client's own invalidation follows its reply (all of
            // an EXEC's), sent as its tracking settings are then.
            if (!state.NoLoop) _pendingInvalidations.Add(stored);
            return;
        }
        SendTrackingMessage(target, keys ??= KeysFrame([stored]));
    }

    /// <summary>
    /// Keys the running client changed that it had read, and <see cref="FlushMarker"/> for a flush: its
    /// invalidations, due once its command has ended.
    /// </summary>
    private readonly List<byte[]> _pendingInvalidations = [];

    /// <summary>
    /// A flush in <see cref="_pendingInvalidations"/> (compared by reference), as Redis's NULL entry. Not an empty
    /// array: <c>[]</c> and an empty span's ToArray are the shared Array.Empty, which the empty key "" would be.
    /// </summary>
    private static readonly byte[] FlushMarker = new byte[1];

    /// <summary>As trackingHandlePendingKeyInvalidations, after a top-level command: one message per key or flush, in order.</summary>
    private void SendPendingInvalidations(Client c)
    {
        foreach (var key in _pendingInvalidations)
        {
            if (!c.Closed) SendTrackingMessage(c, ReferenceEquals(key, FlushMarker) ? null : KeysFrame([key]));
        }
        _pendingInvalidations.Clear();
    }

    /// <summary>
    /// As trackingLimitUsedSlots, before each command and from the cron: while more keys are remembered than
    /// tracking-table-max-keys allows, some are invalidated (their readers are told, as if the keys had changed)
    /// and forgotten.
    /// </summary>
    private bool LimitTrackedKeys()
    {
        long max = Config.TrackingTableMaxKeys;
        if (max == 0 || _trackedKeys.Count <= max) return false;
        var victims = _trackedKeys.Keys.Take((int)Math.Min(int.MaxValue, _trackedKeys.Count - max)).ToList();
        var current = _current;
        _current = null; // nobody's own change: NOLOOP does not apply
        foreach (var key in victims) InvalidateTrackedKey(key, bcast: false);
        _current = current;
        return true;
    }

    private void RememberKeyToBroadcast(ReadOnlySpan<byte> key)
    {
        foreach (var (prefix, bs) in _prefixes)
        {
            if (key.StartsWith(prefix)) bs.Keys[key.ToArray()] = _current;
        }
    }

    /// <summary>As trackingBroadcastInvalidationMessages, once a batch of commands has run: each prefix's changed keys to its clients.</summary>
    private void BroadcastInvalidations()
    {
        foreach (var (_, bs) in _prefixes)
        {
            if (bs.Keys.Count == 0) continue;
            byte[]? all = null;
            foreach (var c in bs.Clients)
            {
                if (c.Tracking is { NoLoop: true })
                {
                    var keys = bs.Keys.Where(k => !ReferenceEquals(k.Value, c)).Select(k => k.Key).ToList();
                    if (keys.Count > 0) SendTrackingMessage(c, KeysFrame(keys));
                }
                else
                {
                    SendTrackingMessage(c, all ??= KeysFrame(bs.Keys.Keys));
                }
            }
            bs.Keys.Clear();
        }
    }

    /// <summary>As trackingInvalidateKeysOnFlush: every tracking client gets a null invalidation; nothing stays remembered.</summary>
    internal void InvalidateTrackingOnFlush()
    {
        if (TrackingClients > 0)
        {
            // In connection order, as Redis walks server.clients (this dictionary's order is not, once clients left);
            // the running client's null follows its reply, with its other invalidations.
            foreach (var c in _clients.Values.Where(c => c.Tracking != null).OrderBy(c => c.Id))
            {
                if (ReferenceEquals(c, _current)) _pendingInvalidations.Add(FlushMarker);
                else SendTrackingMessage(c, null);
            }
        }
        _trackedKeys.Clear();
        _trackedItems = 0;
    }

    private byte[] KeysFrame(IEnumerable<byte[]> keys)
    {
        var list = keys as IReadOnlyCollection<byte[]> ?? keys.ToList();
        _trackingFrame.ResetWrittenCount();
        TrackingWriter.Array(list.Count);
        foreach (var k in list) TrackingWriter.Bulk(k);
        return _trackingFrame.WrittenSpan.ToArray();
    }

    // One buffer (and writer) for every tracking message, as the broker has one for its frames; under the gate.
    private readonly ArrayBufferWriter<byte> _trackingFrame = new(256);
    private RespWriter? _trackingWriter;
    private RespWriter TrackingWriter => _trackingWriter ??= new RespWriter(_trackingFrame);

    /// <summary>
    /// As sendTrackingMessage: ["invalidate", keys] to the client (RESP3) or its redirect client (RESP3, or a
    /// RESP2 client in pub/sub mode as a message on __redis__:invalidate); keys null means a flush. A RESP2 client
    /// without a redirect gets nothing; a redirect that is gone is reported to a RESP3 client once per message.
    /// </summary>
    private void SendTrackingMessage(Client c, byte[]? keys)
    {
        var target = c;
        bool redirected = false;
        if (c.TrackingRedirect != 0)
        {
            if (!_clients.TryGetValue(c.TrackingRedirect, out var redir) || redir.Closed)
            {
                c.TrackingBrokenRedirect = true; // even with tracking off since: its own invalidations were still due
                if (c.Protocol > 2)
                {
                    _trackingFrame.ResetWrittenCount();
                    TrackingWriter.Array(2);
                    TrackingWriter.Bulk("tracking-redir-broken"u8);
                    TrackingWriter.Integer(c.TrackingRedirect);
                    Deliver(c, _trackingFrame.WrittenSpan);
                }
                return;
            }
            target = redir;
            redirected = true;
        }
        // A flush's null is written in the tracking client's protocol, as Redis takes shared.null[c->resp].
        ReadOnlySpan<byte> payload = keys ?? (c.Protocol > 2 ? "_\r\n"u8 : "$-1\r\n"u8);
        var frame = _trackingFrame;
        frame.ResetWrittenCount();
        if (target.Protocol > 2)
        {
            frame.Write("*2\r\n$10\r\ninvalidate\r\n"u8);
        }
        else if (redirected && target.InPubSubMode)
        {
            frame.Write("*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n"u8);
        }
        else
        {
            return;
        }
        frame.Write(payload);
        Deliver(target, frame.WrittenSpan);
    }
}
