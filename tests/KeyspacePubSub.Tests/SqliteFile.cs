namespace KeyspacePubSub.Tests;

/// <summary>Looks at a store's SQLite file from the test (with no server holding it).</summary>
internal static class SqliteFile
{
    /// <summary>PRAGMA integrity_check of the file ("ok" when intact); opening it replays a WAL left by a crash.</summary>
    public static string IntegrityCheck(string path)
    {
        using var db = new Microsoft.Data.Sqlite.SqliteConnection(new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "PRAGMA integrity_check";
        return cmd.ExecuteScalar()?.ToString() ?? "";
    }

    /// <summary>The first column of the first row of <paramref name="sql"/>, read only.</summary>
    public static long Scalar(string path, string sql)
    {
        using var db = new Microsoft.Data.Sqlite.SqliteConnection(new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder { DataSource = path, Mode = Microsoft.Data.Sqlite.SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToInt64(cmd.ExecuteScalar() ?? 0L, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Runs <paramref name="sql"/> against the file (a test damaging rows); returns the rows changed.</summary>
    public static int Execute(string path, string sql)
    {
        using var db = new Microsoft.Data.Sqlite.SqliteConnection(new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteNonQuery();
    }
}
