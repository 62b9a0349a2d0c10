using FluentAssertions;
using KeyspacePubSub.Persistence;
using KeyspacePubSub.Testing;
using Microsoft.Data.Sqlite;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// SAVE and BGSAVE put every durable change acknowledged so far into the SQLite database file itself, synced,
/// whatever the fsync policy: a copy of that one file (without its WAL), taken while the server runs, holds
/// them. Without persistence there is nothing to save, and both say so.
/// </summary>
public sealed class SaveTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kps-save-").FullName;

    private string DbPath => Path.Combine(_dir, "store.db");

    private PersistenceOptions Options(FsyncPolicy fsync) => new() { Enabled = true, Path = DbPath, Fsync = fsync };

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>List rows in a copy of the database file alone, as a backup tool copying it would see them.</summary>
    private long RowsInDatabaseFileAlone()
    {
        string copy = Path.Combine(_dir, $"copy-{Guid.NewGuid():N}.db");
        File.Copy(DbPath, copy);
        using var db = new SqliteConnection($"Data Source={copy};Pooling=False");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE name = 'list_items'";
        if ((long)cmd.ExecuteScalar()! == 0) return 0; // even the schema is still in the WAL
        cmd.CommandText = "SELECT COUNT(*) FROM list_items";
        return (long)cmd.ExecuteScalar()!;
    }

    [Theory]
    [InlineData(FsyncPolicy.Always)]
    [InlineData(FsyncPolicy.Everysec)]
    [InlineData(FsyncPolicy.No)]
    public async Task Save_PutsEveryAcknowledgedChangeIntoTheDatabaseFile(FsyncPolicy fsync)
    {
        await using var s = await InProcessServer.StartAsync(Options(fsync));
        using var c = new RawClient(s.Port);
        for (int i = 0; i < 30; i++) c.Call("RPUSH", "room:a:backlog", $"m{i}").Should().Be($":{i + 1}\r\n");
        // Committed to the WAL only: the database file alone does not have them yet.
        RowsInDatabaseFileAlone().Should().BeLessThan(30);
        long before = long.Parse(c.Call("LASTSAVE")[1..^2], System.Globalization.CultureInfo.InvariantCulture);
        c.Call("INFO", "persistence").Should().Contain("rdb_changes_since_last_save:30\r\n");

        // Pipelined with the write it must include: the push's unit commits first, then the save.
        c.Send("RPUSH", "room:a:backlog", "last");
        c.Send("SAVE");
        c.Read(2).Should().Be(":31\r\n+OK\r\n");
        RowsInDatabaseFileAlone().Should().Be(31);
        long after = long.Parse(c.Call("LASTSAVE")[1..^2], System.Globalization.CultureInfo.InvariantCulture);
        after.Should().BeGreaterThanOrEqualTo(before).And.BeCloseTo(DateTimeOffset.UtcNow.ToUnixTimeSeconds(), 5);
        c.Call("INFO", "persistence").Should().Contain("rdb_changes_since_last_save:0\r\n").And.Contain("durable_status:ok\r\n");
        // Writes go on after it.
        c.Call("RPUSH", "room:a:backlog", "after").Should().Be(":32\r\n");
    }

    [Fact]
    public async Task BackgroundSave_RunsOffTheEventLoop_AndReportsInInfo()
    {
        await using var s = await InProcessServer.StartAsync(Options(FsyncPolicy.Everysec));
        using var c = new RawClient(s.Port);
        for (int i = 0; i < 20; i++) c.Call("LPUSH", "room:b:backlog", $"m{i}").Should().Be($":{i + 1}\r\n");
        c.Call("BGSAVE").Should().Be("+Background saving started\r\n");
        Eventually.True(() => c.Call("INFO", "persistence").Contains("rdb_bgsave_in_progress:0\r\n")).Should().BeTrue();
        c.Call("INFO", "persistence").Should().Contain("rdb_last_bgsave_status:ok\r\n").And.Contain("rdb_changes_since_last_save:0\r\n");
        RowsInDatabaseFileAlone().Should().Be(20);
        // Inside EXEC Redis schedules it, and says so; SCHEDULE is accepted, anything else is a syntax error.
        c.Call("MULTI").Should().Be("+OK\r\n");
        c.Call("LPUSH", "room:b:backlog", "in-exec").Should().Be("+QUEUED\r\n");
        c.Call("BGSAVE").Should().Be("+QUEUED\r\n");
        c.Call("EXEC").Should().Be("*2\r\n:21\r\n+Background saving scheduled\r\n");
        Eventually.True(() => RowsInDatabaseFileAlone() == 21).Should().BeTrue();
        Eventually.True(() => c.Call("BGSAVE", "SCHEDULE") == "+Background saving started\r\n").Should().BeTrue();
        c.Call("BGSAVE", "now").Should().Be("-ERR syntax error\r\n");
    }

    [Fact]
    public async Task WithoutPersistence_SaveAndBgsaveSayThereIsNothingToSave()
    {
        await using var s = await InProcessServer.StartAsync();
        using var c = new RawClient(s.Port);
        const string error = "-ERR persistence is off: only durable keys are saved, with Persistence:Enabled=true\r\n";
        c.Call("SAVE").Should().Be(error);
        c.Call("BGSAVE").Should().Be(error);
        // LASTSAVE is the start time, as Redis's before its first save.
        long at = long.Parse(c.Call("LASTSAVE")[1..^2], System.Globalization.CultureInfo.InvariantCulture);
        at.Should().BeCloseTo(DateTimeOffset.UtcNow.ToUnixTimeSeconds(), 60);
        c.Call("INFO", "persistence").Should().Contain($"rdb_last_save_time:{at}\r\n").And.Contain("rdb_bgsave_in_progress:0\r\n");
    }
}
