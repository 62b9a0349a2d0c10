using System.Diagnostics;
using FluentAssertions;
using KeyspacePubSub.Persistence;
using KeyspacePubSub.Testing;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>
/// A [Fact] that mounts a file system: skipped unless a tmpfs can be mounted here (root with the right to
/// mount, as `.ci/run` has on this project's machines; a container without CAP_SYS_ADMIN cannot).
/// </summary>
public sealed class MountFactAttribute : FactAttribute
{
    public MountFactAttribute()
    {
        if (!Environment.IsPrivilegedProcess)
        {
            Skip = "mounting a small tmpfs needs root";
            return;
        }
        string probe = Directory.CreateTempSubdirectory("kps-mount-probe-").FullName;
        try
        {
            if (Run("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", probe).Exit != 0) Skip = "cannot mount a tmpfs here";
            else Run("umount", probe);
        }
        finally
        {
            Directory.Delete(probe);
        }
    }

    /// <summary>Runs a tool (mount, umount): its exit code and what it wrote to stderr.</summary>
    internal static (int Exit, string Error) Run(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, error);
    }
}

/// <summary>
/// The durable backlog on a disk that fills up: the EXEC whose commit fails gets no reply, durable writes get
/// MISCONF while other keys work, and once there is space again the retried commit goes through and durable
/// writes are accepted; after a restart every acknowledged EXEC is there, in order.
/// </summary>
public sealed class DiskFullTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kps-full-").FullName;
    private bool _mounted;

    public void Dispose()
    {
        if (_mounted) Mount("umount", _dir);
        Directory.Delete(_dir, recursive: true);
    }

    private static void Mount(string program, params string[] args)
    {
        var (exit, error) = MountFactAttribute.Run(program, args);
        exit.Should().Be(0, $"{program} {string.Join(' ', args)}: {error}");
    }

    private static string Exec(int length) => $"+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:{length}\r\n:0\r\n";

    [MountFact]
    public async Task FullDisk_RefusesDurableWritesWithMisconf_AndRecoversWhenSpaceReturns()
    {
        Mount("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", _dir);
        _mounted = true;
        var options = new PersistenceOptions { Enabled = true, Path = Path.Combine(_dir, "b.db"), Fsync = FsyncPolicy.Always };
        var acknowledged = new List<string>();
        string? unanswered = null;
        await using (var server = await InProcessServer.StartAsync(options))
        {
            // A transaction queued before the disk fills: its EXEC comes after (processCommand's MISCONF check of EXEC).
            using var queued = new RawClient(server.Port);
            queued.Call("MULTI").Should().Be("+OK\r\n");
            queued.Call("LPUSH", "room:b:backlog", "queued").Should().Be("+QUEUED\r\n");
            using (var c = new RawClient(server.Port))
            {
                string filler = new('x', 1000);
                for (int i = 0; i < 10_000 && unanswered is null; i++)
                {
                    string message = $"{i} {filler}";
                    c.SendRaw($"*1\r\n$5\r\nMULTI\r\n*3\r\n$5\r\nLPUSH\r\n$14\r\nroom:a:backlog\r\n${message.Length}\r\n{message}\r\n*3\r\n$7\r\nPUBLISH\r\n$6\r\nroom:a\r\n$1\r\nm\r\n*1\r\n$4\r\nEXEC\r\n");
                    try
                    {
                        c.Read(4).Should().Be(Exec(i + 1));
                        acknowledged.Add(message);
                    }
                    catch (TimeoutException) when (c.Closed)
                    {
                        unanswered = message; // its commit failed: closed without any reply
                    }
                }
            }
            unanswered.Should().NotBeNull("4 MiB fill up with 1 KB messages");
            acknowledged.Count.Should().BeGreaterThan(100);

            using var c2 = new RawClient(server.Port);
            c2.Call("LPUSH", "room:a:backlog", "refused").Should().StartWith(
                "-MISCONF Errors writing durable keys to the SQLite database (SQLite Error 13: 'database or disk is full'.). Commands that may modify durable keys are disabled.");
            c2.Call("SET", "plain", "ok").Should().Be("+OK\r\n", "keys that are not durable are not affected");
            queued.Call("EXEC").Should().StartWith("-EXECABORT Transaction discarded because of: MISCONF Errors writing durable keys");
            queued.Call("EXISTS", "room:b:backlog").Should().Be(":0\r\n");
            c2.Call("INFO", "persistence").Should().Contain("durable_status:err").And.Contain("durable_units_pending:1");
            // Nothing can be saved into the file now: SAVE answers Redis's bare error, a background save fails.
            c2.Call("SAVE").Should().Be("-ERR\r\n");
            c2.Call("BGSAVE").Should().Be("+Background saving started\r\n");
            Eventually.True(() => c2.Call("INFO", "persistence").Contains("rdb_bgsave_in_progress:0\r\n")).Should().BeTrue();
            c2.Call("INFO", "persistence").Should().Contain("rdb_last_bgsave_status:err\r\n");

            Mount("mount", "-o", "remount,size=64m", _dir);
            var sw = Stopwatch.StartNew();
            while (!c2.Call("INFO", "persistence").Contains("durable_status:ok") && sw.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(100);
            c2.Call("INFO", "persistence").Should().Contain("durable_status:ok").And.Contain("durable_units_pending:0");
            // The unanswered EXEC stayed applied in memory and its retried commit went through.
            c2.Call("LPUSH", "room:a:backlog", "after").Should().Be($":{acknowledged.Count + 2}\r\n");
            c2.Call("SAVE").Should().Be("+OK\r\n");
            c2.Call("BGSAVE").Should().Be("+Background saving started\r\n");
            Eventually.True(() => c2.Call("INFO", "persistence").Contains("rdb_last_bgsave_status:ok\r\n")).Should().BeTrue();
        }

        await using (var server = await InProcessServer.StartAsync(options))
        {
            using var c = new RawClient(server.Port);
            c.Call("LLEN", "room:a:backlog").Should().Be($":{acknowledged.Count + 2}\r\n");
            c.Call("LINDEX", "room:a:backlog", "0").Should().Be("$5\r\nafter\r\n");
            c.Call("LINDEX", "room:a:backlog", "1").Should().Be($"${unanswered!.Length}\r\n{unanswered}\r\n");
            for (int i = 0; i < acknowledged.Count; i += 97)
            {
                c.Call("LINDEX", "room:a:backlog", $"-{i + 1}").Should().Be($"${acknowledged[i].Length}\r\n{acknowledged[i]}\r\n");
            }
            c.Call("GET", "plain").Should().Be("$-1\r\n");
        }
    }
}
