//! Schema and migrations. Each migration runs once, in order, inside a
//! transaction; `meta.schema_version` says how far a file has come. A file
//! from a newer build is refused rather than misread.

use rusqlite::Connection;

use super::JournalError;

const MIGRATIONS: &[&str] = &[
    // 1: orders, their state changes, fills.
    "CREATE TABLE orders (
        client_id      TEXT PRIMARY KEY,
        instance       TEXT NOT NULL,
        seq            INTEGER NOT NULL,
        venue          TEXT NOT NULL,
        symbol         TEXT NOT NULL,
        body           TEXT NOT NULL,          -- the NewOrder as JSON (decimals as strings)
        state          TEXT NOT NULL,
        venue_order_id INTEGER,
        reason         TEXT,
        created_ms     INTEGER NOT NULL,
        updated_ms     INTEGER NOT NULL
    );
    CREATE INDEX orders_by_state ON orders (state);
    CREATE TABLE order_events (
        client_id TEXT NOT NULL,
        state     TEXT NOT NULL,
        reason    TEXT,
        time_ms   INTEGER NOT NULL
    );
    CREATE TABLE fills (
        venue          TEXT NOT NULL,
        venue_order_id INTEGER NOT NULL,
        trade_id       INTEGER NOT NULL,
        client_id      TEXT NOT NULL,
        instance       TEXT NOT NULL,
        body           TEXT NOT NULL,          -- the Fill as JSON (decimals as strings)
        time_ms        INTEGER NOT NULL,
        PRIMARY KEY (venue, venue_order_id, trade_id)
    );",
    // 2: periodic snapshots of positions and balances, for operators and audits
    // (recovery rebuilds positions from fills; it does not need them).
    "CREATE TABLE snapshots (
        time_ms INTEGER NOT NULL,
        body    TEXT NOT NULL                 -- JSON: positions per strategy, balances per venue
    );",
    // 3: client order id leases: an instance may send ids `first..=upto` on `symbols`
    // before their intents are committed (see `Record::Lease`).
    "CREATE TABLE leases (
        venue    TEXT NOT NULL,
        instance TEXT NOT NULL,
        first    INTEGER NOT NULL,
        upto     INTEGER NOT NULL,
        symbols  TEXT NOT NULL,               -- JSON array of symbols
        time_ms  INTEGER NOT NULL,
        PRIMARY KEY (venue, instance)
    );",
    // 4: the last state each strategy instance saved (`Intents::save_state`), for its restart.
    "CREATE TABLE strategy_state (
        instance TEXT PRIMARY KEY,
        body     TEXT NOT NULL,               -- JSON, as the strategy wrote it
        time_ms  INTEGER NOT NULL
    );",
    // 5: venue order ids and trade ids are text: Binance numbers them, other venues
    // use strings (UUIDs, Kraken's `OUF4EM-FRGI2-MQMWZD`). The tables are rebuilt with
    // the numbers already there cast to their decimal text; JSON bodies keep the
    // numbers they were written with (the id types read both).
    "CREATE TABLE orders_v5 (
        client_id      TEXT PRIMARY KEY,
        instance       TEXT NOT NULL,
        seq            INTEGER NOT NULL,
        venue          TEXT NOT NULL,
        symbol         TEXT NOT NULL,
        body           TEXT NOT NULL,
        state          TEXT NOT NULL,
        venue_order_id TEXT,
        reason         TEXT,
        created_ms     INTEGER NOT NULL,
        updated_ms     INTEGER NOT NULL
    );
    INSERT INTO orders_v5 (client_id, instance, seq, venue, symbol, body, state, venue_order_id, reason, created_ms, updated_ms)
        SELECT client_id, instance, seq, venue, symbol, body, state, CAST(venue_order_id AS TEXT), reason, created_ms, updated_ms
        FROM orders ORDER BY rowid;
    DROP TABLE orders;
    ALTER TABLE orders_v5 RENAME TO orders;
    CREATE INDEX orders_by_state ON orders (state);
    CREATE TABLE fills_v5 (
        venue          TEXT NOT NULL,
        venue_order_id TEXT NOT NULL,
        trade_id       TEXT NOT NULL,
        client_id      TEXT NOT NULL,
        instance       TEXT NOT NULL,
        body           TEXT NOT NULL,
        time_ms        INTEGER NOT NULL,
        PRIMARY KEY (venue, venue_order_id, trade_id)
    );
    INSERT INTO fills_v5 (venue, venue_order_id, trade_id, client_id, instance, body, time_ms)
        SELECT venue, CAST(venue_order_id AS TEXT), CAST(trade_id AS TEXT), client_id, instance, body, time_ms
        FROM fills ORDER BY rowid;
    DROP TABLE fills;
    ALTER TABLE fills_v5 RENAME TO fills;",
    // 6: client order ids became `tw` + instance code + base-36 sequence number;
    // a lease says which form its ids take (those written before are `tw-<instance>-<seq>`).
    "ALTER TABLE leases ADD COLUMN coded INTEGER NOT NULL DEFAULT 0;",
];

/// Refuses a file this build must not touch: a SQLite database that is not a
/// Tradewind journal (it has tables but no schema version), or one from a
/// newer build. Returns the schema version (0: a new, empty file).
pub fn check_readable(conn: &Connection, path: &str) -> Result<i64, JournalError> {
    let sqlite = |source| JournalError::Sqlite { path: path.to_owned(), source };
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name != 'meta'", [], |r| r.get(0))
        .map_err(sqlite)?;
    let version = super::schema_version(conn).unwrap_or(0);
    if version == 0 && tables > 0 {
        return Err(JournalError::Foreign { path: path.to_owned() });
    }
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(JournalError::TooNew { path: path.to_owned(), found: version, known });
    }
    Ok(version)
}

pub fn migrate(conn: &mut Connection, path: &str) -> Result<(), JournalError> {
    let sqlite = |source| JournalError::Sqlite { path: path.to_owned(), source };
    let current = check_readable(conn, path)?;
    conn.pragma_update(None, "journal_mode", "WAL").map_err(sqlite)?;
    conn.pragma_update(None, "synchronous", "FULL").map_err(sqlite)?;
    conn.pragma_update(None, "foreign_keys", "ON").map_err(sqlite)?;
    conn.execute_batch("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        .map_err(sqlite)?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(usize::try_from(current).unwrap_or(0)) {
        let tx = conn.transaction().map_err(sqlite)?;
        tx.execute_batch(sql).map_err(sqlite)?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [(i + 1).to_string()],
        )
        .map_err(sqlite)?;
        tx.commit().map_err(sqlite)?;
    }
    Ok(())
}
