//! The Raft log, vote, commit index and the state machine's applied point,
//! durable in SQLite (`raft.sqlite` beside the chain database): WAL mode,
//! `synchronous=FULL`, so an append is reported flushed only after it
//! committed, and a vote is never forgotten.

use std::fmt::Debug;
use std::ops::RangeBounds;
use std::path::Path;
use std::sync::{Arc, Mutex};

use openraft::storage::{LogFlushed, LogState, RaftLogReader, RaftLogStorage};
use openraft::{AnyError, LogId, StorageError, StorageIOError, Vote};
use rusqlite::{params, Connection, OptionalExtension};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{NodeId, TypeConfig};
use crate::error::NodeError;

type Entry = openraft::Entry<TypeConfig>;

/// The stored size of the entries sent in one append request, at most
/// (one larger entry goes alone).
pub const MAX_APPEND_BYTES: usize = 2 * 1024 * 1024;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS log (idx INTEGER PRIMARY KEY, entry TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
";

/// One SQLite connection shared by the log store, its readers and the
/// state machine's applied-point records.
#[derive(Debug, Clone)]
pub struct RaftDb {
    conn: Arc<Mutex<Connection>>,
}

fn io(e: impl std::fmt::Display) -> NodeError {
    NodeError::Storage(format!("raft log: {e}"))
}

/// openraft's error for a storage failure (its error type is large: only
/// at the trait's boundary).
pub(crate) fn se(e: &NodeError) -> StorageError<NodeId> {
    StorageIOError::<NodeId>::write(AnyError::error(e.to_string())).into()
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl RaftDb {
    pub fn open(path: &Path) -> Result<Self, NodeError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    fn with<R>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<R>,
    ) -> Result<R, NodeError> {
        let mut conn = self
            .conn
            .lock()
            .map_err(|_| io("raft database lock poisoned"))?;
        f(&mut conn).map_err(io)
    }

    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, NodeError> {
        let text: Option<String> = self.with(|c| {
            c.query_row("SELECT v FROM meta WHERE k = ?1", [key], |r| r.get(0))
                .optional()
        })?;
        text.map(|t| serde_json::from_str(&t).map_err(io))
            .transpose()
    }

    pub fn put<T: Serialize>(&self, key: &str, value: &T) -> Result<(), NodeError> {
        let text = serde_json::to_string(value).map_err(io)?;
        self.with(|c| {
            c.execute(
                "INSERT INTO meta (k, v) VALUES (?1, ?2) ON CONFLICT(k) DO UPDATE SET v = ?2",
                params![key, text],
            )
            .map(|_| ())
        })
    }

    /// Entries `from..to`; with `max_bytes`, stops before the total stored
    /// size passes it (but returns at least one entry).
    fn entries(
        &self,
        from: u64,
        to: Option<u64>,
        max_bytes: Option<usize>,
    ) -> Result<Vec<Entry>, NodeError> {
        let rows: Vec<String> = self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT entry FROM log WHERE idx >= ?1 AND idx < ?2 ORDER BY idx",
            )?;
            let mut rows = stmt.query(params![to_i64(from), to.map_or(i64::MAX, to_i64)])?;
            let (mut out, mut total) = (Vec::new(), 0usize);
            while let Some(row) = rows.next()? {
                let text: String = row.get(0)?;
                total += text.len();
                if max_bytes.is_some_and(|m| total > m) && !out.is_empty() {
                    break;
                }
                out.push(text);
            }
            Ok(out)
        })?;
        rows.iter()
            .map(|t| serde_json::from_str(t).map_err(io))
            .collect()
    }

    fn last_entry(&self) -> Result<Option<Entry>, NodeError> {
        let text: Option<String> = self.with(|c| {
            c.query_row("SELECT entry FROM log ORDER BY idx DESC LIMIT 1", [], |r| {
                r.get(0)
            })
            .optional()
        })?;
        text.map(|t| serde_json::from_str(&t).map_err(io))
            .transpose()
    }
}

/// [`RaftLogStorage`] over [`RaftDb`].
#[derive(Debug, Clone)]
pub struct LogStore {
    db: RaftDb,
}

impl LogStore {
    pub fn new(db: RaftDb) -> Self {
        Self { db }
    }
}

fn bounds(range: &impl RangeBounds<u64>) -> (u64, Option<u64>) {
    use std::ops::Bound;
    let from = match range.start_bound() {
        Bound::Included(&n) => n,
        Bound::Excluded(&n) => n + 1,
        Bound::Unbounded => 0,
    };
    let to = match range.end_bound() {
        Bound::Included(&n) => Some(n + 1),
        Bound::Excluded(&n) => Some(n),
        Bound::Unbounded => None,
    };
    (from, to)
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError<NodeId>> {
        let (from, to) = bounds(&range);
        self.db.entries(from, to, None).map_err(|e| se(&e))
    }

    /// What replication sends in one append request: at most
    /// [`MAX_APPEND_BYTES`] of entries (at least one), so that each request
    /// fits in a heartbeat interval, openraft's time limit for it.
    async fn limited_get_log_entries(
        &mut self,
        start: u64,
        end: u64,
    ) -> Result<Vec<Entry>, StorageError<NodeId>> {
        self.db
            .entries(start, Some(end), Some(MAX_APPEND_BYTES))
            .map_err(|e| se(&e))
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError<NodeId>> {
        let last_purged_log_id: Option<LogId<NodeId>> =
            self.db.get("purged").map_err(|e| se(&e))?;
        let last = self.db.last_entry().map_err(|e| se(&e))?.map(|e| e.log_id);
        Ok(LogState {
            last_purged_log_id,
            last_log_id: last.or(last_purged_log_id),
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError<NodeId>> {
        self.db.put("vote", vote).map_err(|e| se(&e))
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError<NodeId>> {
        self.db.get("vote").map_err(|e| se(&e))
    }

    async fn save_committed(
        &mut self,
        committed: Option<LogId<NodeId>>,
    ) -> Result<(), StorageError<NodeId>> {
        self.db.put("committed", &committed).map_err(|e| se(&e))
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<NodeId>>, StorageError<NodeId>> {
        Ok(self
            .db
            .get::<Option<LogId<NodeId>>>("committed")
            .map_err(|e| se(&e))?
            .flatten())
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let rows = entries
            .into_iter()
            .map(|e| Ok((e.log_id.index, serde_json::to_string(&e).map_err(io)?)))
            .collect::<Result<Vec<_>, NodeError>>()
            .map_err(|e| se(&e))?;
        let db = self.db.clone();
        // One SQLite transaction, fsynced, off the async runtime.
        let written = tokio::task::spawn_blocking(move || {
            db.with(|c| {
                let tx = c.transaction()?;
                {
                    let mut stmt = tx.prepare_cached(
                        "INSERT OR REPLACE INTO log (idx, entry) VALUES (?1, ?2)",
                    )?;
                    for (idx, text) in &rows {
                        stmt.execute(params![to_i64(*idx), text])?;
                    }
                }
                tx.commit()
            })
        })
        .await
        .map_err(|e| se(&io(e)))?;
        match written {
            Ok(()) => {
                callback.log_io_completed(Ok(()));
                Ok(())
            }
            Err(e) => {
                callback.log_io_completed(Err(std::io::Error::other(e.to_string())));
                Err(se(&e))
            }
        }
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        self.db
            .with(|c| {
                c.execute("DELETE FROM log WHERE idx >= ?1", [to_i64(log_id.index)])
                    .map(|_| ())
            })
            .map_err(|e| se(&e))
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        // Never past the state machine's durable applied point: openraft may
        // compact behind a snapshot that is still being installed, and a
        // crash then must leave the entries to re-apply.
        let applied = self
            .db
            .get::<serde_json::Value>("applied")
            .map_err(|e| se(&e))?
            .and_then(|v| serde_json::from_value::<Option<LogId<NodeId>>>(v["log_id"].clone()).ok())
            .flatten();
        let log_id = match applied {
            Some(a) if a.index < log_id.index => a,
            Some(_) => log_id,
            None => return Ok(()),
        };
        self.db.put("purged", &log_id).map_err(|e| se(&e))?;
        self.db
            .with(|c| {
                c.execute("DELETE FROM log WHERE idx <= ?1", [to_i64(log_id.index)])
                    .map(|_| ())
            })
            .map_err(|e| se(&e))
    }
}
