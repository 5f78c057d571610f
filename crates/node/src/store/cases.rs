//! Cases read on use: the node's states hold only the cases changed since
//! they were stored, and read the rest from `state_entries` through
//! [`PinnedCases`], the ledger's [`CaseSource`]. Each source is a read-only
//! connection holding one SQLite read transaction, opened when its state
//! is the stored head: in WAL mode it goes on seeing that block's state
//! while the next blocks are written, so a state never reads a case newer
//! than itself. The ledger checks every value it reads against the state
//! root (`state.stored_mismatch`).
//!
//! Also owns the `value_hash` column (schema 4), which lets a start read
//! the cases' tree leaves without their values.

use std::path::Path;
use std::sync::{Arc, Mutex};

use govchain_ledger::smt;
use govchain_ledger::state::kinds::RefId;
use govchain_ledger::state::{CaseSource, StoredStateError};
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::{to_u64, Store};
use crate::error::NodeError;

pub(super) const MIGRATION_4: &str = "
ALTER TABLE state_entries ADD COLUMN value_hash BLOB;
CREATE INDEX state_leaves ON state_entries (key, value_hash);
";

/// The keys of case entries: `case/` up to, not including, `case0`.
const CASES_FROM: &str = "case/";
const CASES_UNTIL: &str = "case0";

/// Fills `value_hash` for rows stored before schema 4 (inside the
/// migration's transaction).
pub(super) fn fill_value_hashes(conn: &Connection) -> Result<(), NodeError> {
    let rows: Vec<(String, Vec<u8>)> = conn
        .prepare("SELECT key, value FROM state_entries WHERE value_hash IS NULL")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut set = conn.prepare("UPDATE state_entries SET value_hash = ?1 WHERE key = ?2")?;
    for (k, v) in rows {
        set.execute(rusqlite::params![smt::value_hash(&v).0.as_slice(), k])?;
    }
    Ok(())
}

fn unreadable(e: &rusqlite::Error) -> StoredStateError {
    StoredStateError::Unreadable(e.to_string())
}

/// A read transaction on the stored state of one block.
#[derive(Debug)]
pub struct PinnedCases {
    conn: Mutex<Connection>,
}

impl PinnedCases {
    /// Pins the stored state at `path`, which must be of block `height`
    /// (`None` if the store has moved on or holds no state).
    pub fn open(path: &Path, height: u64) -> Result<Option<Arc<Self>>, NodeError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch("BEGIN")?;
        // The first read starts the transaction's snapshot.
        let stored: Option<i64> = conn
            .query_row("SELECT height FROM state_head WHERE one = 1", [], |r| {
                r.get(0)
            })
            .optional()?;
        if stored.map(to_u64) != Some(height) {
            return Ok(None);
        }
        Ok(Some(Arc::new(Self {
            conn: Mutex::new(conn),
        })))
    }

    fn with<R>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, rusqlite::Error>,
    ) -> Result<R, StoredStateError> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| StoredStateError::Unreadable("a case reader panicked".into()))?;
        f(&conn).map_err(|e| unreadable(&e))
    }
}

impl CaseSource for PinnedCases {
    fn case_value(&self, id: &RefId) -> Result<Option<Vec<u8>>, StoredStateError> {
        self.with(|conn| {
            conn.prepare_cached("SELECT value FROM state_entries WHERE key = ?1")?
                .query_row([format!("case/{id}")], |r| r.get(0))
                .optional()
        })
    }

    fn each_case(
        &self,
        f: &mut dyn FnMut(RefId, Vec<u8>) -> Result<(), StoredStateError>,
    ) -> Result<(), StoredStateError> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| StoredStateError::Unreadable("a case reader panicked".into()))?;
        let mut stmt = conn
            .prepare_cached("SELECT key, value FROM state_entries WHERE key >= ?1 AND key < ?2")
            .map_err(|e| unreadable(&e))?;
        let mut rows = stmt
            .query([CASES_FROM, CASES_UNTIL])
            .map_err(|e| unreadable(&e))?;
        while let Some(row) = rows.next().map_err(|e| unreadable(&e))? {
            let key: String = row.get(0).map_err(|e| unreadable(&e))?;
            let bad = || StoredStateError::BadRow {
                key: key.clone(),
                reason: "not a case key".into(),
            };
            let id = key
                .strip_prefix(CASES_FROM)
                .and_then(|id| RefId::try_from(id.to_owned()).ok())
                .ok_or_else(bad)?;
            f(id, row.get(1).map_err(|e| unreadable(&e))?)?;
        }
        Ok(())
    }
}

impl Store {
    /// Every case entry's key and stored value hash, in key order (the
    /// index `state_leaves`: values are not read).
    pub(super) fn case_leaves(
        &self,
    ) -> Result<Vec<(String, govchain_ledger::types::Hash32)>, NodeError> {
        let mut stmt = self.conn.prepare(
            "SELECT key, value_hash FROM state_entries INDEXED BY state_leaves
             WHERE key >= ?1 AND key < ?2",
        )?;
        let mut rows = stmt.query([CASES_FROM, CASES_UNTIL])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let key: String = row.get(0)?;
            let hash = row
                .get_ref(1)?
                .as_blob_or_null()?
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| {
                    NodeError::StateMismatch(format!("stored entry {key} has no value hash"))
                })?;
            out.push((key, govchain_ledger::types::Hash32(hash)));
        }
        Ok(out)
    }
}

/// The `WHERE` clause of entries other than cases (loaded whole at start).
pub(super) const NOT_CASES: &str = "key < 'case/' OR key >= 'case0'";
