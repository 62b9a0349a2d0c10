namespace KeyspacePubSub.Persistence;

/// <summary>
/// The SQLite schema. One row per durable key; list elements and sorted-set members are rows of their own,
/// keyed by (key id, position) and (key id, member), so an LPUSH is one small insert and a restart reads
/// each table once in primary-key order. Hashes, sets and strings are stored whole in the key row.
/// </summary>
internal static class Schema
{
    public const string Create = """
        CREATE TABLE IF NOT EXISTS keys(
            id INTEGER PRIMARY KEY,
            db INTEGER NOT NULL,
            key BLOB,               -- NULL only inside a commit, while a value moves to another name
            type INTEGER NOT NULL,  -- 0 string, 1 list, 2 zset, 3 hash, 4 set
            expire_at INTEGER,      -- Unix ms, NULL for no TTL
            value BLOB);
        CREATE UNIQUE INDEX IF NOT EXISTS keys_name ON keys(db, key);
        CREATE TABLE IF NOT EXISTS list_items(kid INTEGER NOT NULL, pos INTEGER NOT NULL, value BLOB NOT NULL, PRIMARY KEY(kid, pos)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS zset_items(kid INTEGER NOT NULL, member BLOB NOT NULL, score REAL NOT NULL, PRIMARY KEY(kid, member)) WITHOUT ROWID;
        """;

    public const string PutKey = "INSERT OR REPLACE INTO keys(id, db, key, type, expire_at, value) VALUES($id, $db, $key, $type, $exp, $value)";
    public const string DeleteKey = "DELETE FROM keys WHERE id = $id; DELETE FROM list_items WHERE kid = $id; DELETE FROM zset_items WHERE kid = $id";
    public const string DetachKey = "UPDATE keys SET key = NULL WHERE id = $id";
    public const string ListPut = "INSERT OR REPLACE INTO list_items(kid, pos, value) VALUES($id, $pos, $value)";
    public const string ListDeleteBelow = "DELETE FROM list_items WHERE kid = $id AND pos < $pos";
    public const string ListDeleteAbove = "DELETE FROM list_items WHERE kid = $id AND pos > $pos";
    public const string ListDeleteAll = "DELETE FROM list_items WHERE kid = $id";
    public const string ZsetPut = "INSERT OR REPLACE INTO zset_items(kid, member, score) VALUES($id, $value, $score)";
    public const string ZsetDelete = "DELETE FROM zset_items WHERE kid = $id AND member = $value";
    public const string ZsetDeleteAll = "DELETE FROM zset_items WHERE kid = $id";
    public const string FlushDb = """
        DELETE FROM list_items WHERE kid IN (SELECT id FROM keys WHERE db = $db);
        DELETE FROM zset_items WHERE kid IN (SELECT id FROM keys WHERE db = $db);
        DELETE FROM keys WHERE db = $db
        """;
    public const string FlushAll = "DELETE FROM list_items; DELETE FROM zset_items; DELETE FROM keys";
    // Through a free number, so no row ever collides with the unique (db, key) index midway.
    public const string SwapDb = "UPDATE keys SET db = -1 WHERE db = $db; UPDATE keys SET db = $db WHERE db = $pos; UPDATE keys SET db = $pos WHERE db = -1";
}
