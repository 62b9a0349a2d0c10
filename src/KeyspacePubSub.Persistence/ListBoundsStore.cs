using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace KeyspacePubSub.Persistence;

/// <summary>
/// Each large list's lowest and highest stored position, written at a clean stop so the next load can give
/// the list its storage before reading its rows (<see cref="ListLoader"/>). They are a hint, never the data: the
/// load deletes them once read (a crash afterwards leaves none, and the load without them reads as before), and
/// a row outside its list's bounds only makes that list sorted instead of slotted. A list written since its
/// load with gaps, or any list after a failed commit, gets no bounds.
/// </summary>
public sealed partial class SqliteStore
{
    /// <summary>Lists shorter than this get no bounds: a row in the bounds table costs more than it saves them. Settable for tests.</summary>
    public static int ListBoundsMinRows { get; set; } = 64;

    private Dictionary<long, ListBounds> ReadListBounds()
    {
        var bounds = new Dictionary<long, ListBounds>();
        using var cmd = _db!.CreateCommand();
        cmd.CommandText = "SELECT kid, low, high FROM list_bounds";
        using var r = cmd.ExecuteReader();
        while (r.Read()) bounds[r.GetInt64(0)] = new ListBounds(r.GetInt64(1), r.GetInt64(2));
        return bounds;
    }

    /// <summary>After the load: bounds describe the file only until its next commit.</summary>
    private void ForgetListBounds()
    {
        try
        {
            Exec("DELETE FROM list_bounds");
        }
        catch (SqliteException ex)
        {
            // (a read-only or full disk: the first commit fails too) Bounds that no longer hold cost the next load time, never data.
            _logger.LogWarning("Persistence: cannot delete the list bounds in {Path}: {Reason}", Path, Describe(ex));
        }
    }

    /// <summary>At a clean stop, after the last commit: one transaction of (key id, lowest, highest position) rows.</summary>
    private void WriteListBounds(IReadOnlyCollection<(long Id, long Low, long High)> lists)
    {
        try
        {
            using var tx = _db!.BeginTransaction();
            using var cmd = _db.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "DELETE FROM list_bounds";
            cmd.ExecuteNonQuery();
            cmd.CommandText = "INSERT INTO list_bounds(kid, low, high) VALUES($id, $low, $high)";
            var id = cmd.Parameters.Add("$id", SqliteType.Integer);
            var low = cmd.Parameters.Add("$low", SqliteType.Integer);
            var high = cmd.Parameters.Add("$high", SqliteType.Integer);
            foreach (var list in lists)
            {
                (id.Value, low.Value, high.Value) = (list.Id, list.Low, list.High);
                cmd.ExecuteNonQuery();
            }
            tx.Commit();
        }
        catch (SqliteException ex)
        {
            _logger.LogWarning("Persistence: cannot write the list bounds to {Path}: {Reason}; the next start reads the lists without them", Path, Describe(ex));
        }
    }
}
