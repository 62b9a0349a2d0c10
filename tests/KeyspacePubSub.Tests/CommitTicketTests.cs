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
    public void DrivenUnit_CompletesWithoutATask()
    {
        using var store = Open();
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
}
