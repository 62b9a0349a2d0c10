namespace KeyspacePubSub.Persistence;

/// <summary>
/// The SQLite schema. One row per durable key; list elements and sorted-set members are rows of their own.
/// List rows are keyed by a sequence number assigned in commit order, so every push of every list appends
/// at the end of one b-tree: a commit of many clients' pushes rewrites one or two pages, where a (key,
/// position) key would rewrite a page per list (and SQLite rebalances index pages on nearly every insert
/// at the low end). The server keeps each stored element's sequence number, so pops and trims delete rows
/// by it; a restart reads each table once and orders each list by position in memory.
/// Sorted-set members are keyed by (key id, member), stream entries by (key id, ID), a stream group's pending
/// entries by (key id, group, ID); a stream's key row holds its counters and its groups' own state (StreamBlob).
/// Hashes, sets and strings are stored whole in the key row; a function library is a row of <c>functions</c>. <c>list_bounds</c> holds, between a clean stop and
/// the next load only, each large list's lowest and highest position (see <see cref="SqliteStore.ListBoundsMinRows"/>).
/// Version 1 (before sequence numbers) keyed list rows by (kid, pos); <see cref="Migrate"/> converts it.
/// Version 2 declared scores REAL (<see cref="MigrateZsetScores"/>).
/// </summary>
internal static class Schema
{
    public const string Create = """
        CREATE TABLE IF NOT EXISTS keys(
            id INTEGER PRIMARY KEY,
            db INTEGER NOT NULL,
            key BLOB,               -- NULL only inside a commit, while a value moves to another name
            type INTEGER NOT NULL,  -- 0 string, 1 list, 2 zset, 3 hash, 4 set, 5 stream
            expire_at INTEGER,      -- Unix ms, NULL for no TTL
            value BLOB);
        CREATE UNIQUE INDEX IF NOT EXISTS keys_name ON keys(db, key);
        CREATE TABLE IF NOT EXISTS list_items(seq INTEGER PRIMARY KEY, kid INTEGER NOT NULL, pos INTEGER NOT NULL, value BLOB NOT NULL);
        CREATE TABLE IF NOT EXISTS zset_items(kid INTEGER NOT NULL, member BLOB NOT NULL, score NOT NULL, PRIMARY KEY(kid, member)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS stream_items(kid INTEGER NOT NULL, ms INTEGER NOT NULL, seq INTEGER NOT NULL, value BLOB NOT NULL, PRIMARY KEY(kid, ms, seq)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS stream_pending(kid INTEGER NOT NULL, grp BLOB NOT NULL, ms INTEGER NOT NULL, seq INTEGER NOT NULL,
            consumer BLOB NOT NULL, delivered INTEGER, count INTEGER NOT NULL, PRIMARY KEY(kid, grp, ms, seq)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS list_bounds(kid INTEGER PRIMARY KEY, low INTEGER NOT NULL, high INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS functions(name BLOB PRIMARY KEY, code BLOB NOT NULL);
        """;

    public const string PutKey = "INSERT OR REPLACE INTO keys(id, db, key, type, expire_at, value) VALUES($id, $db, $key, $type, $exp, $value)";
    public const int Version = 3;

    /// <summary>Version 1 list rows, keyed (kid, pos), into sequence-numbered rows in list order.</summary>
    public const string Migrate = """
        ALTER TABLE list_items RENAME TO list_items_v1;
        CREATE TABLE list_items(seq INTEGER PRIMARY KEY, kid INTEGER NOT NULL, pos INTEGER NOT NULL, value BLOB NOT NULL);
        INSERT INTO list_items(kid, pos, value) SELECT kid, pos, value FROM list_items_v1 ORDER BY kid, pos;
        DROP TABLE list_items_v1;
        """;

    /// <summary>
    /// Version 2 and before declared a sorted set member's score REAL, and SQLite stores a REAL without a
    /// fraction as an integer, so a score of -0 came back 0 (Redis keeps it: ZSCORE answers -0). A column
    /// without a type keeps each double as it is bound.
    /// </summary>
    public const string MigrateZsetScores = """
        ALTER TABLE zset_items RENAME TO zset_items_v2;
        CREATE TABLE zset_items(kid INTEGER NOT NULL, member BLOB NOT NULL, score NOT NULL, PRIMARY KEY(kid, member)) WITHOUT ROWID;
        INSERT INTO zset_items(kid, member, score) SELECT kid, member, score FROM zset_items_v2;
        DROP TABLE zset_items_v2;
        """;

    public const string DeleteKey = "DELETE FROM keys WHERE id = $id; DELETE FROM zset_items WHERE kid = $id; DELETE FROM stream_items WHERE kid = $id; DELETE FROM stream_pending WHERE kid = $id";
    public const string DetachKey = "UPDATE keys SET key = NULL WHERE id = $id";
    public const string ListPut = "INSERT INTO list_items(seq, kid, pos, value) VALUES($seq, $id, $pos, $value)";
    public const string ListDelete = "DELETE FROM list_items WHERE seq = $seq";
    public const string ZsetPut = "INSERT OR REPLACE INTO zset_items(kid, member, score) VALUES($id, $value, $score)";
    public const string ZsetDelete = "DELETE FROM zset_items WHERE kid = $id AND member = $value";
    public const string ZsetDeleteAll = "DELETE FROM zset_items WHERE kid = $id";
    // A stream entry's ID as two signed integers (an ID past 2^63 wraps; the load orders entries itself).
    public const string StreamPut = "INSERT OR REPLACE INTO stream_items(kid, ms, seq, value) VALUES($id, $pos, $seq, $value)";
    public const string StreamDelete = "DELETE FROM stream_items WHERE kid = $id AND ms = $pos AND seq = $seq";
    public const string StreamDeleteAll = "DELETE FROM stream_items WHERE kid = $id; DELETE FROM stream_pending WHERE kid = $id";
    public const string PendingPut = "INSERT OR REPLACE INTO stream_pending(kid, grp, ms, seq, consumer, delivered, count) VALUES($id, $key, $pos, $seq, $value, $exp, $count)";
    public const string PendingDelete = "DELETE FROM stream_pending WHERE kid = $id AND grp = $key AND ms = $pos AND seq = $seq";
    public const string PendingDeleteGroup = "DELETE FROM stream_pending WHERE kid = $id AND grp = $key";
    public const string FlushDb = """
        DELETE FROM list_items WHERE kid IN (SELECT id FROM keys WHERE db = $db);
        DELETE FROM zset_items WHERE kid IN (SELECT id FROM keys WHERE db = $db);
        DELETE FROM stream_items WHERE kid IN (SELECT id FROM keys WHERE db = $db);
        DELETE FROM stream_pending WHERE kid IN (SELECT id FROM keys WHERE db = $db);
        DELETE FROM keys WHERE db = $db
        """;
    // Function libraries (FUNCTION LOAD, DELETE, FLUSH, RESTORE): FLUSHALL leaves them, as Redis's does.
    public const string FunctionPut = "INSERT OR REPLACE INTO functions(name, code) VALUES($key, $value)";
    public const string FunctionDelete = "DELETE FROM functions WHERE name = $key";
    public const string FunctionFlush = "DELETE FROM functions";
    public const string FlushAll = "DELETE FROM list_items; DELETE FROM zset_items; DELETE FROM stream_items; DELETE FROM stream_pending; DELETE FROM keys";
    // Through a free number, so no row ever collides with the unique (db, key) index midway.
    public const string SwapDb = "UPDATE keys SET db = -1 WHERE db = $db; UPDATE keys SET db = $db WHERE db = $pos; UPDATE keys SET db = $pos WHERE db = -1";
}
