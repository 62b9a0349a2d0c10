using KeyspacePubSub.Engine.Commands;
using KeyspacePubSub.Protocol;

namespace KeyspacePubSub.Engine;

/// <summary>What CLIENT PAUSE holds back: nothing, commands that may write (or replicate, as PUBLISH), or every command.</summary>
internal enum PauseMode { None, Write, All }

/// <summary>
/// CLIENT PAUSE and UNPAUSE, as Redis 7.0's pauseClients: a client whose command is paused is postponed (blocked,
/// its command kept, what it sends next held behind it) until the pause ends, by its time or by CLIENT UNPAUSE;
/// then each postponed client, in the order they were postponed, runs its command again from the start on its
/// own connection. A second PAUSE keeps the more restrictive mode and the later end. While paused, keys do not
/// expire: one whose time has passed reads as missing but stays (no `expired` event) until the pause ends.
/// </summary>
public sealed partial class Engine
{
    private PauseMode _pauseMode;
    private long _pauseEnd; // Unix ms; the pause ends once the clock passes it
    private readonly List<Client> _postponed = [];

    /// <summary>As checkClientPauseTimeoutAndReturnIfPaused: ends a pause whose time has passed; whether one is on.</summary>
    private bool CheckPause()
    {
        if (_pauseMode == PauseMode.None) return false;
        if (_pauseEnd >= NowMs) return true;
        Unpause(expireNow: false); // (it may be inside a key lookup: the expiry thread deletes what came due)
        return false;
    }

    /// <summary>Keys do not expire, actively or on access, while clients are paused (either mode).</summary>
    internal bool ExpiryPaused => _pauseMode != PauseMode.None && CheckPause();

    /// <summary>
    /// CLIENT PAUSE: <paramref name="end"/> is the timeout added to the clock as Redis adds it (a timeout that
    /// overflows gives an end in the past: no pause). The more restrictive mode and the later end win.
    /// </summary>
    internal void Pause(long end, PauseMode mode)
    {
        if (mode > _pauseMode) _pauseMode = mode;
        if (end > _pauseEnd) _pauseEnd = end;
        _expiryWake.Set(); // the expiry thread now sleeps until the pause ends, and ends it then
    }

    /// <summary>
    /// CLIENT UNPAUSE, or the pause's end: postponed clients run their commands again, in order, and keys that came
    /// due expire (<paramref name="expireNow"/>: the first thousand at once, as Redis's next expire cycle, so the
    /// command after UNPAUSE sees them gone; else the expiry thread, woken here).
    /// </summary>
    internal void Unpause(bool expireNow)
    {
        _pauseMode = PauseMode.None;
        _pauseEnd = 0;
        var postponed = _postponed.ToArray();
        _postponed.Clear();
        foreach (var c in postponed)
        {
            var state = c.Block;
            if (state?.Kind != BlockKind.Postponed || !Forget(c)) continue;
            c.HoldFirst(state.Args[0]);
            if (!c.Closed) c.Transport.Resume();
        }
        if (expireNow && ActiveExpireEnabled) ExpireDue(maxKeys: 1000);
        _expiryWake.Set();
    }

    /// <summary>Whether <paramref name="cmd"/> waits for the pause to end: every command in ALL mode; in WRITE mode writes, PUBLISH, and an EXEC of any.</summary>
    private bool PausedFor(Client c, CommandDef cmd, CommandArgs args)
    {
        if (!CheckPause()) return false;
        if (_pauseMode == PauseMode.All) return true;
        const CommandFlags mayWrite = CommandFlags.Write | CommandFlags.MayReplicate;
        if ((FlagsOf(cmd, args) & mayWrite) != 0) return true;
        if (cmd.Handler != TransactionCommands.ExecHandler || !c.InMulti) return false;
        return QueueHas(c, mayWrite);
    }

    /// <summary>As blockPostponeClient: the client waits, with a copy of its command, for the pause to end.</summary>
    private void Postpone(Client c, CommandDef cmd, CommandArgs args)
    {
        var copy = new RequestBatch();
        copy.Append(args);
        c.LastCommand = cmd.FullName;
        c.Block = new BlockState(c, cmd, copy, c.Db, [], 0, BlockKind.Postponed);
        BlockedClients++;
        _postponed.Add(c);
    }

    /// <summary>When the expiry thread must wake to end the pause, or null.</summary>
    private long? PauseDeadline() => _pauseMode == PauseMode.None ? null : _pauseEnd + 1;
}
