using FluentAssertions;
using KeyspacePubSub.Engine.Persistence;
using KeyspacePubSub.Persistence;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// A unit's CommitTicket is the store and its group's number: it completes when that group has committed,
/// whoever commits it. The writer thread commits units nobody drives; a caller that must wait for such a unit
/// asks for a task, which is made then (and must complete even when the group resolves while it is made).
/// </summary>
public sealed class CommitTicketTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kps-ticket-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private SqliteStore Open()
    {
        var store = new SqliteStore(Path.Combine(_dir, "t.db"), FsyncPolicy.Everysec, NullLogger.Instance);
        store.Load(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()).Should().BeEmpty();
        return store;
    }

    private static List<DurableOp> Unit(SqliteStore store, long id)
    {
        var ops = store.RentOps();
        ops.Add(new DurableOp(DurableOpKind.DeleteKey, id)); // a row that is not there: a commit that changes nothing
        return ops;
    }

    [Fact]
    public async Task DrivenUnit_CompletesWithoutATask()
    {
        using var store = Open();
        // After the load the writer checks the file first, holding the connection; a driver that finds it held
        // hands its unit to the writer (Drive's contract). A unit the writer commits marks the check done.
        await store.Commit(Unit(store, 0), willDrive: false).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        var ticket = store.Commit(Unit(store, 1), willDrive: true);
        store.Drive(ticket);
        ticket.IsCompleted.Should().BeTrue("the caller's own thread committed it");
        ticket.IsFaulted.Should().BeFalse();
        ticket.Failure.Should().BeNull();
        ticket.AsTask().IsCompletedSuccessfully.Should().BeTrue();
    }

    [Fact]
    public async Task UnitsTheWriterCommits_CompleteTheirTasks_WhileTheWriterResolvesGroups()
    {
        using var store = Open();
        // Four threads queue units for the writer and wait on each through a task asked for at once: some are
        // asked before their group resolves, some while it does, some after. Every one must complete.
        var threads = Enumerable.Range(0, 4).Select(t => Task.Factory.StartNew(() =>
        {
            for (int i = 0; i < 300; i++)
            {
                var ticket = store.Commit(Unit(store, t * 1000 + i), willDrive: false);
                ticket.AsTask().Wait(TimeSpan.FromSeconds(10)).Should().BeTrue($"unit {i} of thread {t} (group {ticket.Seq})");
                ticket.IsCompleted.Should().BeTrue();
                ticket.IsFaulted.Should().BeFalse();
            }
        }, TaskCreationOptions.LongRunning)).ToArray();
        await Task.WhenAll(threads); // (a failed assertion in one rethrows here)
        store.Info().Should().Contain(("durable_units_committed", 1200L));
    }

    [Fact]
    public async Task OneGroupsUnits_WaitedOnByManyThreads_AllComplete_WhenTheGroupResolvesWhileTheirTaskIsMade()
    {
        using var store = Open();
        // The units of one group share one task. A caller that asked for it, found it there already, and then
        // saw the group resolved used to drop it, and the caller who made it waited for ever: a connection got
        // no reply. Eight threads make many groups of several units; two more keep both cores busy, so that a
        // thread is often preempted between AsTask's two looks (on the old code 1–4 of 24,000 units were lost
        // in most runs on this 2-core machine).
        using var stop = new CancellationTokenSource();
        var burners = Enumerable.Range(0, 2).Select(_ => Task.Factory.StartNew(() =>
        {
            while (!stop.IsCancellationRequested) Thread.SpinWait(1000);
        }, TaskCreationOptions.LongRunning)).ToArray();
        int lost = 0;
        var threads = Enumerable.Range(0, 8).Select(t => Task.Factory.StartNew(() =>
        {
            for (int i = 0; i < 3000; i++)
            {
                var ticket = store.Commit(Unit(store, t * 100_000 + i), willDrive: false);
                if (!ticket.AsTask().Wait(TimeSpan.FromSeconds(5))) Interlocked.Increment(ref lost);
            }
        }, TaskCreationOptions.LongRunning)).ToArray();
        await Task.WhenAll(threads);
        await stop.CancelAsync();
        await Task.WhenAll(burners);
        lost.Should().Be(0, "every unit's task completes once its group has committed");
        store.Info().Should().Contain(("durable_units_committed", 24_000L));
    }
}
