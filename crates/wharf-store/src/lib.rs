//! Durable state for every service, behind one narrow interface: named tables of JSON records
//! keyed by strings, read in snapshots and written in serialised transactions.
//!
//! The backend is embedded SQLite in WAL mode with `synchronous=FULL`: a write is acknowledged
//! only after its transaction is on disk, so `kill -9` (or a power cut) loses nothing that was
//! acknowledged. Writers are serialised by one connection behind a mutex (so read-modify-write
//! sequences such as "next task definition revision" are atomic); readers use a small pool of
//! their own connections and never block writers. The interface (get / list / put / insert /
//! delete inside a closure) is what a PostgreSQL backend would implement for scale-out.
//!
//! The store is versioned, so that upgrading (or downgrading) wharf never misreads a user's
//! data:
//!
//! - every table is a [`Table<T>`]: its name, the record type `T` it holds and the format
//!   version this wharf writes. Each row carries the format it was written in. A row in an
//!   older format is upgraded as it is read (the table's upgrade function); a row in a newer
//!   format is refused ([`StoreError::NewerFormat`]) instead of being decoded wrongly;
//! - the database records the store's own layout version (`meta.store_format`) and, per table,
//!   the newest record format written to it (`table_formats`). [`Store::open`] refuses a
//!   database whose layout is newer than this wharf's, and [`Store::check_formats`] (called by
//!   the server at start with every table it knows) refuses one where a table holds a newer
//!   format, naming the table, so an older wharf stops with a clear message before it serves.
//!
//! A database written before versioning (layout 1: no `format` column, no `meta`) is migrated in
//! place on open: its rows are format 1 of their tables.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The store's own layout: 1 = `records(tbl, key, value)` only (before versioning);
/// 2 = rows carry their record format, `meta` and `table_formats` exist.
pub const STORE_FORMAT: u32 = 2;

/// Turns a record of an older format (given) into the table's current one, as JSON.
pub type Upgrade = fn(from: u32, value: serde_json::Value) -> Result<serde_json::Value, String>;

/// A named table of records of type `T`, written in format `version`.
pub struct Table<T> {
    name: &'static str,
    version: u32,
    upgrade: Option<Upgrade>,
    record: PhantomData<fn() -> T>,
}

impl<T> Clone for Table<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Table<T> {}

impl<T> std::fmt::Debug for Table<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (format {})", self.name, self.version)
    }
}

impl<T> Table<T> {
    /// A table whose records are written in format `version` (the first format is 1); rows of
    /// an older format cannot be read until [`Table::upgraded_by`] says how.
    pub const fn new(name: &'static str, version: u32) -> Self {
        Self {
            name,
            version,
            upgrade: None,
            record: PhantomData,
        }
    }

    /// The same table, reading rows of older formats through `upgrade`.
    pub const fn upgraded_by(self, upgrade: Upgrade) -> Self {
        Self {
            upgrade: Some(upgrade),
            ..self
        }
    }

    /// The table's name in the database.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The format this wharf writes.
    pub const fn version(&self) -> u32 {
        self.version
    }

    /// The table's name and format, for [`Store::check_formats`].
    pub const fn format(&self) -> TableFormat {
        TableFormat {
            name: self.name,
            version: self.version,
        }
    }
}

/// A table's name and the record format this wharf writes to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableFormat {
    /// The table's name.
    pub name: &'static str,
    /// The format version.
    pub version: u32,
}

/// What can go wrong underneath a service.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed (disk full, I/O error, lock timeout...).
    #[error("state store failure: {0}")]
    Backend(#[from] rusqlite::Error),
    /// A record no longer decodes as the type asked for.
    #[error("state store record {table}/{key} is unreadable: {reason}")]
    Corrupt {
        /// The table.
        table: String,
        /// The key.
        key: String,
        /// The decoding error.
        reason: String,
    },
    /// A record was written by a newer wharf, in a format this one does not know.
    #[error(
        "state store record {table}/{key} has format {found}, newer than the {known} this wharf \
         reads: it was written by a newer wharf; run that version (or newer) on this data directory"
    )]
    NewerFormat {
        /// The table.
        table: String,
        /// The key, or `*` for the table as a whole.
        key: String,
        /// The format found.
        found: u32,
        /// The newest format this wharf knows.
        known: u32,
    },
    /// The database's layout is newer than this wharf's.
    #[error(
        "the state database {path} has store format {found}, newer than the {known} this wharf \
         reads: it was written by a newer wharf; run that version (or newer) on this data directory"
    )]
    NewerStore {
        /// The database file.
        path: String,
        /// The layout found.
        found: u32,
        /// The newest layout this wharf knows.
        known: u32,
    },
    /// A value could not be encoded.
    #[error("cannot encode record {table}/{key}: {reason}")]
    Encode {
        /// The table.
        table: String,
        /// The key.
        key: String,
        /// The encoding error.
        reason: String,
    },
}

/// The durable store.
pub struct Store {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

/// Highest code point; appended to a prefix it bounds a key range.
const PREFIX_END: char = '\u{10FFFF}';
/// Readers kept open between reads.
const MAX_IDLE_READERS: usize = 16;

impl Store {
    /// Opens (creating if needed) the store in the SQLite file at `path`, migrating a database
    /// of an older layout in place and refusing one of a newer layout.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut writer = Connection::open(path)?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        configure(&writer)?;
        migrate(&mut writer, path)?;
        Ok(Self {
            path: path.to_path_buf(),
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
        })
    }

    /// Checks the record formats found in the database against `known` (every table this wharf
    /// reads, with the format it writes): a table holding a newer format than this wharf knows
    /// is refused with [`StoreError::NewerFormat`]; then each known table is recorded at the
    /// newest of the two formats, so an older wharf opening the database later refuses too.
    pub fn check_formats(&self, known: &[TableFormat]) -> Result<(), StoreError> {
        self.write(|tx| {
            for table in known {
                let mut stmt = tx
                    .conn
                    .prepare_cached("SELECT version FROM table_formats WHERE tbl = ?1")?;
                let stored: Option<u32> = stmt
                    .query_row(params![table.name], |row| row.get(0))
                    .optional()?;
                if let Some(found) = stored.filter(|v| *v > table.version) {
                    return Err(StoreError::NewerFormat {
                        table: table.name.into(),
                        key: "*".into(),
                        found,
                        known: table.version,
                    });
                }
                tx.conn.execute(
                    "INSERT INTO table_formats (tbl, version) VALUES (?1, ?2)
                     ON CONFLICT (tbl) DO UPDATE SET version = max(version, excluded.version)",
                    params![table.name, table.version],
                )?;
            }
            Ok(())
        })
    }

    /// The format recorded for `table` (see [`Store::check_formats`]), if any.
    pub fn recorded_format(&self, table: &str) -> Result<Option<u32>, StoreError> {
        self.read(|tx| {
            Ok(tx
                .conn
                .query_row(
                    "SELECT version FROM table_formats WHERE tbl = ?1",
                    params![table],
                    |row| row.get(0),
                )
                .optional()?)
        })
    }

    /// Runs `f` on a consistent snapshot.
    pub fn read<T, E>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut conn = self.take_reader()?;
        let result = (|| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Deferred)
                .map_err(StoreError::from)?;
            let out = f(&Tx { conn: &tx });
            // A read-only transaction: ending it cannot lose anything.
            let _ = tx.finish();
            out
        })();
        self.give_back_reader(conn);
        result
    }

    /// Runs `f` in a write transaction, serialised with every other writer; commits (durably)
    /// when `f` succeeds and rolls back when it fails.
    pub fn write<T, E>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut conn = self
            .writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::from)?;
        let out = f(&Tx { conn: &tx })?;
        tx.commit().map_err(StoreError::from)?;
        Ok(out)
    }

    fn take_reader(&self) -> Result<Connection, StoreError> {
        let pooled = self
            .readers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        match pooled {
            Some(c) => Ok(c),
            None => {
                let c = Connection::open(&self.path)?;
                configure(&c)?;
                Ok(c)
            }
        }
    }

    fn give_back_reader(&self, conn: Connection) {
        let mut pool = self
            .readers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if pool.len() < MAX_IDLE_READERS {
            pool.push(conn);
        }
    }
}

/// Brings the database at `path` to [`STORE_FORMAT`], in one transaction.
fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS records (
            tbl    TEXT NOT NULL,
            key    TEXT NOT NULL,
            value  TEXT NOT NULL,
            format INTEGER NOT NULL DEFAULT 1,
            PRIMARY KEY (tbl, key)
         ) WITHOUT ROWID;
         CREATE TABLE IF NOT EXISTS meta (
            name  TEXT PRIMARY KEY,
            value INTEGER NOT NULL
         ) WITHOUT ROWID;
         CREATE TABLE IF NOT EXISTS table_formats (
            tbl     TEXT PRIMARY KEY,
            version INTEGER NOT NULL
         ) WITHOUT ROWID;",
    )?;
    let found: Option<u32> = tx
        .query_row(
            "SELECT value FROM meta WHERE name = 'store_format'",
            [],
            |row| row.get(0),
        )
        .optional()?;
    if let Some(found) = found.filter(|f| *f > STORE_FORMAT) {
        return Err(StoreError::NewerStore {
            path: path.display().to_string(),
            found,
            known: STORE_FORMAT,
        });
    }
    // Layout 1 had no `format` column: its rows are format 1 of their tables.
    let has_format: bool = tx
        .prepare("SELECT 1 FROM pragma_table_info('records') WHERE name = 'format'")?
        .exists([])?;
    if !has_format {
        tracing::info!(path = %path.display(), "migrating the state database to store format {STORE_FORMAT}");
        tx.execute_batch("ALTER TABLE records ADD COLUMN format INTEGER NOT NULL DEFAULT 1;")?;
    }
    tx.execute(
        "INSERT INTO meta (name, value) VALUES ('store_format', ?1)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        params![STORE_FORMAT],
    )?;
    tx.commit()?;
    Ok(())
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// A transaction: a snapshot for reads, or the one writer.
pub struct Tx<'c> {
    conn: &'c Connection,
}

impl Tx<'_> {
    /// The record `key` of `table`.
    pub fn get<T: DeserializeOwned>(
        &self,
        table: Table<T>,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT value, format FROM records WHERE tbl = ?1 AND key = ?2")?;
        let raw: Option<(String, u32)> = stmt
            .query_row(params![table.name, key], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()?;
        raw.map(|(text, format)| decode(table, key, &text, format))
            .transpose()
    }

    /// Whether `table` has a record `key`.
    pub fn exists<T>(&self, table: Table<T>, key: &str) -> Result<bool, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT 1 FROM records WHERE tbl = ?1 AND key = ?2")?;
        Ok(stmt.exists(params![table.name, key])?)
    }

    /// Every record of `table` whose key starts with `prefix`, in key order.
    pub fn list<T: DeserializeOwned>(
        &self,
        table: Table<T>,
        prefix: &str,
    ) -> Result<Vec<(String, T)>, StoreError> {
        let end = format!("{prefix}{PREFIX_END}");
        let mut stmt = self.conn.prepare_cached(
            "SELECT key, value, format FROM records WHERE tbl = ?1 AND key >= ?2 AND key < ?3 ORDER BY key",
        )?;
        let rows = stmt.query_map(params![table.name, prefix, end], row_of)?;
        decode_rows(table, rows)
    }

    /// At most `limit` records of `table` with `start <= key < end`, in key order (from the
    /// end of the range backwards when `descending`): a bounded range scan for time-ordered
    /// keys such as log events.
    pub fn range<T: DeserializeOwned>(
        &self,
        table: Table<T>,
        start: &str,
        end: &str,
        limit: usize,
        descending: bool,
    ) -> Result<Vec<(String, T)>, StoreError> {
        let sql = if descending {
            "SELECT key, value, format FROM records WHERE tbl = ?1 AND key >= ?2 AND key < ?3 ORDER BY key DESC LIMIT ?4"
        } else {
            "SELECT key, value, format FROM records WHERE tbl = ?1 AND key >= ?2 AND key < ?3 ORDER BY key LIMIT ?4"
        };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map(params![table.name, start, end, limit], row_of)?;
        decode_rows(table, rows)
    }

    /// The keys (only) of at most `limit` records of `table` with `start <= key < end`, in key
    /// order: what a bulk deletion needs, without decoding the records.
    pub fn range_keys<T>(
        &self,
        table: Table<T>,
        start: &str,
        end: &str,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = self.conn.prepare_cached(
            "SELECT key FROM records WHERE tbl = ?1 AND key >= ?2 AND key < ?3 ORDER BY key LIMIT ?4",
        )?;
        let rows = stmt.query_map(params![table.name, start, end, limit], |row| row.get(0))?;
        Ok(rows.collect::<Result<Vec<String>, _>>()?)
    }

    /// Creates or replaces the record `key` of `table`, in the table's current format.
    pub fn put<T: Serialize>(
        &self,
        table: Table<T>,
        key: &str,
        value: &T,
    ) -> Result<(), StoreError> {
        let text = encode(table.name, key, value)?;
        let mut stmt = self.conn.prepare_cached(
            "INSERT OR REPLACE INTO records (tbl, key, value, format) VALUES (?1, ?2, ?3, ?4)",
        )?;
        stmt.execute(params![table.name, key, text, table.version])?;
        Ok(())
    }

    /// Creates the record `key` of `table` unless it exists; returns whether it was created.
    pub fn insert<T: Serialize>(
        &self,
        table: Table<T>,
        key: &str,
        value: &T,
    ) -> Result<bool, StoreError> {
        let text = encode(table.name, key, value)?;
        let mut stmt = self.conn.prepare_cached(
            "INSERT OR IGNORE INTO records (tbl, key, value, format) VALUES (?1, ?2, ?3, ?4)",
        )?;
        Ok(stmt.execute(params![table.name, key, text, table.version])? == 1)
    }

    /// Deletes the record `key` of `table`; returns whether it existed.
    pub fn delete<T>(&self, table: Table<T>, key: &str) -> Result<bool, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("DELETE FROM records WHERE tbl = ?1 AND key = ?2")?;
        Ok(stmt.execute(params![table.name, key])? == 1)
    }
}

fn row_of(row: &rusqlite::Row<'_>) -> rusqlite::Result<(String, String, u32)> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
}

fn decode_rows<T: DeserializeOwned>(
    table: Table<T>,
    rows: impl Iterator<Item = rusqlite::Result<(String, String, u32)>>,
) -> Result<Vec<(String, T)>, StoreError> {
    let mut out = Vec::new();
    for row in rows {
        let (key, text, format) = row?;
        let value = decode(table, &key, &text, format)?;
        out.push((key, value));
    }
    Ok(out)
}

/// Decodes a row written in `format`: the current format directly, an older one through the
/// table's upgrade, a newer one not at all.
fn decode<T: DeserializeOwned>(
    table: Table<T>,
    key: &str,
    text: &str,
    format: u32,
) -> Result<T, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        table: table.name.into(),
        key: key.into(),
        reason,
    };
    if format == table.version {
        return serde_json::from_str(text).map_err(|e| corrupt(e.to_string()));
    }
    if format > table.version {
        return Err(StoreError::NewerFormat {
            table: table.name.into(),
            key: key.into(),
            found: format,
            known: table.version,
        });
    }
    let upgrade = table.upgrade.ok_or_else(|| {
        corrupt(format!(
            "format {format} is older than {} and the table has no upgrade from it",
            table.version
        ))
    })?;
    let old: serde_json::Value = serde_json::from_str(text).map_err(|e| corrupt(e.to_string()))?;
    let new =
        upgrade(format, old).map_err(|e| corrupt(format!("upgrade from format {format}: {e}")))?;
    serde_json::from_value(new).map_err(|e| corrupt(e.to_string()))
}

fn encode<T: Serialize>(table: &str, key: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Encode {
        table: table.into(),
        key: key.into(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    const T: Table<i32> = Table::new("t", 1);
    const U: Table<i32> = Table::new("u", 1);
    const SEQ: Table<i64> = Table::new("seq", 1);
    const TEXT: Table<String> = Table::new("t", 1);

    fn temp_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("state.db")).unwrap();
        (dir, store)
    }

    #[test]
    fn put_get_list_delete() {
        let (_dir, store) = temp_store();
        store
            .write(|tx| {
                tx.put(T, "a/1", &1)?;
                tx.put(T, "a/2", &2)?;
                tx.put(T, "b/1", &3)?;
                tx.put(U, "a/1", &4)?;
                Ok::<_, StoreError>(())
            })
            .unwrap();
        let got: Option<i32> = store.read(|tx| tx.get(T, "a/2")).unwrap();
        assert_eq!(got, Some(2));
        let listed: Vec<(String, i32)> = store.read(|tx| tx.list(T, "a/")).unwrap();
        assert_eq!(listed, vec![("a/1".into(), 1), ("a/2".into(), 2)]);
        assert!(store.write(|tx| tx.delete(T, "a/1")).unwrap());
        assert!(!store.write(|tx| tx.delete(T, "a/1")).unwrap());
        assert!(!store.write(|tx| tx.insert(T, "a/2", &9)).unwrap());
        assert_eq!(store.read(|tx| tx.get(T, "a/2")).unwrap(), Some(2));
    }

    #[test]
    fn range_is_bounded_limited_and_ordered_both_ways() {
        let (_dir, store) = temp_store();
        store
            .write(|tx| {
                for i in 0..10 {
                    tx.put(T, &format!("s/{i:04}"), &i)?;
                }
                tx.put(T, "r/0000", &-1)?;
                tx.put(U, "s/0005", &-2)?;
                Ok::<_, StoreError>(())
            })
            .unwrap();
        let keys = |rows: Vec<(String, i32)>| rows.into_iter().map(|(_, v)| v).collect::<Vec<_>>();
        let up = store
            .read(|tx| tx.range(T, "s/0002", "s/0007", 3, false))
            .unwrap();
        assert_eq!(keys(up), vec![2, 3, 4]);
        let down = store
            .read(|tx| tx.range(T, "s/0002", "s/0007", 3, true))
            .unwrap();
        assert_eq!(keys(down), vec![6, 5, 4]);
        let all = store
            .read(|tx| tx.range(T, "s/", "s/~", usize::MAX, false))
            .unwrap();
        assert_eq!(keys(all), (0..10).collect::<Vec<_>>());
        let keys_only = store
            .read(|tx| tx.range_keys(T, "s/0002", "s/0007", 2))
            .unwrap();
        assert_eq!(keys_only, vec!["s/0002".to_string(), "s/0003".to_string()]);
        let none: Vec<(String, i32)> = store
            .read(|tx| tx.range(T, "s/0007", "s/0007", 10, false))
            .unwrap();
        assert!(none.is_empty());
    }

    #[derive(Debug)]
    struct Refused;
    impl From<StoreError> for Refused {
        fn from(_: StoreError) -> Self {
            Refused
        }
    }

    #[test]
    fn failed_write_changes_nothing() {
        let (_dir, store) = temp_store();
        let r: Result<(), Refused> = store.write(|tx| {
            tx.put(T, "k", &1)?;
            Err(Refused)
        });
        assert!(r.is_err());
        assert_eq!(store.read(|tx| tx.get(T, "k")).unwrap(), None);
    }

    #[test]
    fn concurrent_read_modify_write_is_serialised() {
        let (_dir, store) = temp_store();
        let store = Arc::new(store);
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for _ in 0..25 {
                        store
                            .write(|tx| {
                                let n: i64 = tx.get(SEQ, "n")?.unwrap_or(0);
                                tx.put(SEQ, "n", &(n + 1))
                            })
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(store.read(|tx| tx.get(SEQ, "n")).unwrap(), Some(200));
    }

    #[test]
    fn survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        {
            let store = Store::open(&path).unwrap();
            store
                .write(|tx| tx.put(TEXT, "k", &"v".to_string()))
                .unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(
            store.read(|tx| tx.get(TEXT, "k")).unwrap(),
            Some("v".into())
        );
    }

    /// A database as today's main wrote it before versioning: layout 1.
    fn layout_1_database(path: &Path) {
        let conn = Connection::open(path).unwrap();
        conn.execute_batch(
            "CREATE TABLE records (tbl TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
                                   PRIMARY KEY (tbl, key)) WITHOUT ROWID;
             INSERT INTO records VALUES ('t', 'k', '7');",
        )
        .unwrap();
    }

    #[test]
    fn a_layout_1_database_is_migrated_and_its_rows_read_as_format_1() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        layout_1_database(&path);
        let store = Store::open(&path).unwrap();
        assert_eq!(store.read(|tx| tx.get(T, "k")).unwrap(), Some(7));
        store.write(|tx| tx.put(T, "k2", &8)).unwrap();
        drop(store);
        // Opening again is a no-op.
        let store = Store::open(&path).unwrap();
        assert_eq!(store.read(|tx| tx.list(T, "k")).unwrap().len(), 2);
    }

    #[test]
    fn a_newer_store_layout_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.db");
        drop(Store::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.execute(
            "UPDATE meta SET value = ?1 WHERE name = 'store_format'",
            params![STORE_FORMAT + 1],
        )
        .unwrap();
        drop(conn);
        let err = Store::open(&path).err().expect("refused");
        assert!(matches!(err, StoreError::NewerStore { found, .. } if found == STORE_FORMAT + 1));
        assert!(
            err.to_string().contains("written by a newer wharf"),
            "{err}"
        );
    }

    #[test]
    fn a_table_of_a_newer_format_is_refused_at_check_and_at_read() {
        const V2: Table<i32> = Table::new("t", 2);
        let (_dir, store) = temp_store();
        store.check_formats(&[V2.format()]).unwrap();
        store.write(|tx| tx.put(V2, "k", &1)).unwrap();
        assert_eq!(store.recorded_format("t").unwrap(), Some(2));
        // This wharf knows format 1 of `t` only.
        let err = store.check_formats(&[T.format()]).unwrap_err();
        assert!(
            matches!(&err, StoreError::NewerFormat { table, found: 2, known: 1, .. } if table == "t"),
            "{err}"
        );
        let err = store.read(|tx| tx.get(T, "k")).unwrap_err();
        assert!(
            matches!(err, StoreError::NewerFormat { found: 2, .. }),
            "{err}"
        );
        // Knowing the same or a newer format is fine, and never lowers what is recorded.
        store.check_formats(&[V2.format()]).unwrap();
        assert_eq!(store.recorded_format("t").unwrap(), Some(2));
    }

    #[test]
    fn older_rows_are_upgraded_when_read() {
        fn double(from: u32, v: serde_json::Value) -> Result<serde_json::Value, String> {
            match from {
                1 => Ok(serde_json::json!(v.as_i64().ok_or("not a number")? * 2)),
                other => Err(format!("no upgrade from {other}")),
            }
        }
        const V2: Table<i32> = Table::new("t", 2).upgraded_by(double);
        const V2_PLAIN: Table<i32> = Table::new("t", 2);
        let (_dir, store) = temp_store();
        store.write(|tx| tx.put(T, "old", &21)).unwrap();
        store.write(|tx| tx.put(V2, "new", &5)).unwrap();
        let rows = store.read(|tx| tx.list(V2, "")).unwrap();
        assert_eq!(rows, vec![("new".into(), 5), ("old".into(), 42)]);
        let err = store.read(|tx| tx.get(V2_PLAIN, "old")).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    }
}
