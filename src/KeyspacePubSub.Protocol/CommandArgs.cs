using System.Text;

namespace KeyspacePubSub.Protocol;

/// <summary>Location of one argument inside a <see cref="RequestBatch"/> arena.</summary>
public readonly record struct ArgRef(int Offset, int Length);

/// <summary>
/// The arguments of one parsed command: a view over the batch arena, valid until the batch is reset.
/// Index 0 is the command name.
/// </summary>
public readonly struct CommandArgs
{
    private readonly RequestBatch _batch;
    private readonly int _first;

    internal CommandArgs(RequestBatch batch, int first, int count)
    {
        _batch = batch;
        _first = first;
        Count = count;
    }

    public int Count { get; }

    public ReadOnlySpan<byte> this[int index]
    {
        get
        {
            if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index));
            return _batch.Span(_first + index);
        }
    }

    public byte[] ToArray(int index) => this[index].ToArray();

    /// <summary>
    /// A copy of argument <paramref name="index"/> for a value kept long, on the pinned object heap: the GC collects
    /// it with generation 2 and never copies it (an ordinary array that survives is copied by the two ephemeral
    /// collections that promote it).
    /// </summary>
    public byte[] Keep(int index)
    {
        var span = this[index];
        var kept = GC.AllocateUninitializedArray<byte>(span.Length, pinned: true);
        span.CopyTo(kept);
        return kept;
    }

    public string GetString(int index) => Encoding.UTF8.GetString(this[index]);

    /// <summary>Case-insensitive ASCII comparison with an upper-case literal.</summary>
    public bool Is(int index, string upper) => index < Count && EqualsIgnoreCase(this[index], upper);

    public bool TryGetInt64(int index, out long value) => Strict.TryParseInt64(this[index], out value);

    public static bool EqualsIgnoreCase(ReadOnlySpan<byte> a, string upper)
    {
        if (a.Length != upper.Length) return false;
        for (int i = 0; i < a.Length; i++)
        {
            int c = a[i];
            if (c >= 'a' && c <= 'z') c -= 32;
            if (c != upper[i]) return false;
        }
        return true;
    }
}

/// <summary>
/// Commands parsed from one or more reads, their argument bytes copied into one reusable arena
/// so parsing allocates nothing in the steady state. A command still being received stays at the end.
/// </summary>
public sealed class RequestBatch
{
    // Small to start with: every connection has a batch, and an idle subscriber (most of 10,000 connections)
    // only ever parsed a SUBSCRIBE. A busy connection's tables double a few times, then stay.
    private const int InitialArena = 128, InitialArgs = 8, InitialCommands = 4;
    private byte[] _arena = new byte[InitialArena];
    private int _arenaUsed;
    private ArgRef[] _args = new ArgRef[InitialArgs];
    private int _argCount;
    private (int First, int Count)[] _commands = new (int, int)[InitialCommands];
    private int _commandCount;
    private int _partialFirstArg; // args at or after this index belong to a command not yet complete

    public int CommandCount => _commandCount;

    public CommandArgs this[int index]
    {
        get
        {
            var (first, count) = _commands[index];
            return new CommandArgs(this, first, count);
        }
    }

    /// <summary>Bytes held for completed and partial commands (used for query-buffer accounting).</summary>
    public int ArenaBytes => _arenaUsed;

    internal int PartialArgCount => _argCount - _partialFirstArg;

    internal ReadOnlySpan<byte> Span(int arg)
    {
        var a = _args[arg];
        return new ReadOnlySpan<byte>(_arena, a.Offset, a.Length);
    }

    internal Span<byte> AddArg(int length)
    {
        if (_arenaUsed + length > _arena.Length)
        {
            long want = Math.Max((long)_arena.Length * 2, (long)_arenaUsed + length);
            var bigger = new byte[Math.Min(want, Array.MaxLength)];
            Buffer.BlockCopy(_arena, 0, bigger, 0, _arenaUsed);
            _arena = bigger;
        }
        if (_argCount == _args.Length) Array.Resize(ref _args, _args.Length * 2);
        _args[_argCount++] = new ArgRef(_arenaUsed, length);
        var span = new Span<byte>(_arena, _arenaUsed, length);
        _arenaUsed += length;
        return span;
    }

    internal void CompleteCommand()
    {
        if (_commandCount == _commands.Length) Array.Resize(ref _commands, _commands.Length * 2);
        _commands[_commandCount++] = (_partialFirstArg, _argCount - _partialFirstArg);
        _partialFirstArg = _argCount;
    }

    /// <summary>Appends a copy of <paramref name="args"/> as one more complete command (MULTI's queue).</summary>
    public void Append(CommandArgs args)
    {
        for (int i = 0; i < args.Count; i++) args[i].CopyTo(AddArg(args[i].Length));
        CompleteCommand();
    }

    /// <summary>Appends one complete command made of these arguments (a script's redis.call).</summary>
    public void Append(byte[][] args)
    {
        foreach (var a in args) a.CopyTo(AddArg(a.Length));
        CompleteCommand();
    }

    internal void DiscardPartial()
    {
        if (_argCount > _partialFirstArg) _arenaUsed = _args[_partialFirstArg].Offset;
        _argCount = _partialFirstArg;
    }

    /// <summary>Forget executed commands, keeping the arguments of a command still being received.</summary>
    public void Reset()
    {
        _commandCount = 0;
        int partial = _argCount - _partialFirstArg;
        if (partial == 0)
        {
            _argCount = 0;
            _arenaUsed = 0;
            _partialFirstArg = 0;
        }
        else if (_partialFirstArg > 0)
        {
            int from = _args[_partialFirstArg].Offset;
            Buffer.BlockCopy(_arena, from, _arena, 0, _arenaUsed - from);
            for (int i = 0; i < partial; i++)
            {
                var a = _args[_partialFirstArg + i];
                _args[i] = new ArgRef(a.Offset - from, a.Length);
            }
            _arenaUsed -= from;
            _argCount = partial;
            _partialFirstArg = 0;
        }
        if (_arena.Length > 1 << 20 && _arenaUsed < 4096)
        {
            // Give back the memory of one huge request once it has been executed.
            var small = new byte[4096];
            Buffer.BlockCopy(_arena, 0, small, 0, _arenaUsed);
            _arena = small;
        }
        // Likewise the tables of a transaction or pipeline of very many commands (not of a busy pipeline:
        // one 64 KiB read holds at most ~11,000 commands).
        if (_args.Length > 1 << 16 && _argCount < 32) Array.Resize(ref _args, 32);
        if (_commands.Length > 1 << 16) _commands = new (int, int)[InitialCommands];
    }
}
