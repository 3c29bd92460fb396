//! Durable state for every service, behind one narrow interface: named tables of JSON records
//! keyed by strings, read in snapshots and written in serialised transactions.
//!
//! The backend is embedded SQLite in WAL mode with `synchronous=FULL`: a write is acknowledged
//! only after its transaction is on disk, so `kill -9` (or a power cut) loses nothing that was
//! acknowledged. Writers are serialised by one connection behind a mutex (so read-modify-write
//! sequences such as "next task definition revision" are atomic); readers use a small pool of
//! their own connections and never block writers. The interface (get / list / put / insert /
//! delete inside a closure) is what a PostgreSQL backend would implement for scale-out.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

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
    /// Opens (creating if needed) the store in the SQLite file at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let writer = Connection::open(path)?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        configure(&writer)?;
        writer.execute_batch(
            "CREATE TABLE IF NOT EXISTS records (
                tbl   TEXT NOT NULL,
                key   TEXT NOT NULL,
                value TEXT NOT NULL,
                PRIMARY KEY (tbl, key)
             ) WITHOUT ROWID;",
        )?;
        Ok(Self {
            path: path.to_path_buf(),
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
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
        table: &str,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT value FROM records WHERE tbl = ?1 AND key = ?2")?;
        let raw: Option<String> = stmt
            .query_row(params![table, key], |row| row.get(0))
            .optional()?;
        raw.map(|text| decode(table, key, &text)).transpose()
    }

    /// Whether `table` has a record `key`.
    pub fn exists(&self, table: &str, key: &str) -> Result<bool, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT 1 FROM records WHERE tbl = ?1 AND key = ?2")?;
        Ok(stmt.exists(params![table, key])?)
    }

    /// Every record of `table` whose key starts with `prefix`, in key order.
    pub fn list<T: DeserializeOwned>(
        &self,
        table: &str,
        prefix: &str,
    ) -> Result<Vec<(String, T)>, StoreError> {
        let end = format!("{prefix}{PREFIX_END}");
        let mut stmt = self.conn.prepare_cached(
            "SELECT key, value FROM records WHERE tbl = ?1 AND key >= ?2 AND key < ?3 ORDER BY key",
        )?;
        let rows = stmt.query_map(params![table, prefix, end], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (key, text) = row?;
            let value = decode(table, &key, &text)?;
            out.push((key, value));
        }
        Ok(out)
    }

    /// At most `limit` records of `table` with `start <= key < end`, in key order (from the
    /// end of the range backwards when `descending`): a bounded range scan for time-ordered
    /// keys such as log events.
    pub fn range<T: DeserializeOwned>(
        &self,
        table: &str,
        start: &str,
        end: &str,
        limit: usize,
        descending: bool,
    ) -> Result<Vec<(String, T)>, StoreError> {
        let sql = if descending {
            "SELECT key, value FROM records WHERE tbl = ?1 AND key >= ?2 AND key < ?3 ORDER BY key DESC LIMIT ?4"
        } else {
            "SELECT key, value FROM records WHERE tbl = ?1 AND key >= ?2 AND key < ?3 ORDER BY key LIMIT ?4"
        };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map(params![table, start, end, limit], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (key, text) = row?;
            let value = decode(table, &key, &text)?;
            out.push((key, value));
        }
        Ok(out)
    }

    /// Creates or replaces the record `key` of `table`.
    pub fn put<T: Serialize>(&self, table: &str, key: &str, value: &T) -> Result<(), StoreError> {
        let text = encode(table, key, value)?;
        let mut stmt = self.conn.prepare_cached(
            "INSERT OR REPLACE INTO records (tbl, key, value) VALUES (?1, ?2, ?3)",
        )?;
        stmt.execute(params![table, key, text])?;
        Ok(())
    }

    /// Creates the record `key` of `table` unless it exists; returns whether it was created.
    pub fn insert<T: Serialize>(
        &self,
        table: &str,
        key: &str,
        value: &T,
    ) -> Result<bool, StoreError> {
        let text = encode(table, key, value)?;
        let mut stmt = self.conn.prepare_cached(
            "INSERT OR IGNORE INTO records (tbl, key, value) VALUES (?1, ?2, ?3)",
        )?;
        Ok(stmt.execute(params![table, key, text])? == 1)
    }

    /// Deletes the record `key` of `table`; returns whether it existed.
    pub fn delete(&self, table: &str, key: &str) -> Result<bool, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("DELETE FROM records WHERE tbl = ?1 AND key = ?2")?;
        Ok(stmt.execute(params![table, key])? == 1)
    }
}

fn decode<T: DeserializeOwned>(table: &str, key: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        table: table.into(),
        key: key.into(),
        reason: e.to_string(),
    })
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
                tx.put("t", "a/1", &1)?;
                tx.put("t", "a/2", &2)?;
                tx.put("t", "b/1", &3)?;
                tx.put("u", "a/1", &4)?;
                Ok::<_, StoreError>(())
            })
            .unwrap();
        let got: Option<i32> = store.read(|tx| tx.get("t", "a/2")).unwrap();
        assert_eq!(got, Some(2));
        let listed: Vec<(String, i32)> = store.read(|tx| tx.list("t", "a/")).unwrap();
        assert_eq!(listed, vec![("a/1".into(), 1), ("a/2".into(), 2)]);
        assert!(store.write(|tx| tx.delete("t", "a/1")).unwrap());
        assert!(!store.write(|tx| tx.delete("t", "a/1")).unwrap());
        assert!(!store.write(|tx| tx.insert("t", "a/2", &9)).unwrap());
        assert_eq!(store.read(|tx| tx.get::<i32>("t", "a/2")).unwrap(), Some(2));
    }

    #[test]
    fn range_is_bounded_limited_and_ordered_both_ways() {
        let (_dir, store) = temp_store();
        store
            .write(|tx| {
                for i in 0..10 {
                    tx.put("t", &format!("s/{i:04}"), &i)?;
                }
                tx.put("t", "r/0000", &-1)?;
                tx.put("u", "s/0005", &-2)?;
                Ok::<_, StoreError>(())
            })
            .unwrap();
        let keys = |rows: Vec<(String, i32)>| rows.into_iter().map(|(_, v)| v).collect::<Vec<_>>();
        let up = store
            .read(|tx| tx.range("t", "s/0002", "s/0007", 3, false))
            .unwrap();
        assert_eq!(keys(up), vec![2, 3, 4]);
        let down = store
            .read(|tx| tx.range("t", "s/0002", "s/0007", 3, true))
            .unwrap();
        assert_eq!(keys(down), vec![6, 5, 4]);
        let all = store
            .read(|tx| tx.range("t", "s/", "s/~", usize::MAX, false))
            .unwrap();
        assert_eq!(keys(all), (0..10).collect::<Vec<_>>());
        let none: Vec<(String, i32)> = store
            .read(|tx| tx.range("t", "s/0007", "s/0007", 10, false))
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
            tx.put("t", "k", &1)?;
            Err(Refused)
        });
        assert!(r.is_err());
        assert_eq!(store.read(|tx| tx.get::<i32>("t", "k")).unwrap(), None);
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
                                let n: i64 = tx.get("seq", "n")?.unwrap_or(0);
                                tx.put("seq", "n", &(n + 1))
                            })
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(
            store.read(|tx| tx.get::<i64>("seq", "n")).unwrap(),
            Some(200)
        );
    }

    #[test]
    fn survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        {
            let store = Store::open(&path).unwrap();
            store.write(|tx| tx.put("t", "k", &"v")).unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(
            store.read(|tx| tx.get::<String>("t", "k")).unwrap(),
            Some("v".into())
        );
    }
}
