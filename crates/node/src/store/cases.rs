//! Cases read on use: the node's states hold only the cases changed since
//! they were stored, and read the rest from `state_entries` through
//! [`StoredCases`], the ledger's [`CaseSource`]: short reads on the node's
//! read-only connections (no read transaction is held, so the WAL is
//! checkpointed as usual). Each row carries the height of the block that
//! wrote it; the ledger refuses a row newer than the reading state's base
//! (`state.superseded`) and checks every value against the state root
//! (`state.stored_mismatch`).
//!
//! Also owns the `value_hash` and `height` columns (schema 4): a start
//! reads the cases' tree leaves from the index `state_leaves`, without
//! their values.

use std::sync::Arc;

use govchain_ledger::smt;
use govchain_ledger::state::kinds::RefId;
use govchain_ledger::state::{CaseSource, StoredCase, StoredStateError};
use rusqlite::{Connection, OptionalExtension};

use super::{to_u64, ReadPool, Store};
use crate::error::NodeError;

pub(super) const MIGRATION_4: &str = "
ALTER TABLE state_entries ADD COLUMN value_hash BLOB;
ALTER TABLE state_entries ADD COLUMN height INTEGER NOT NULL DEFAULT 0;
CREATE INDEX state_leaves ON state_entries (key, value_hash);
";

/// The keys of case entries: `case/` up to, not including, `case0`.
const CASES_FROM: &str = "case/";
const CASES_UNTIL: &str = "case0";

/// Fills `value_hash` for rows stored before schema 4 (inside the
/// migration's transaction), a batch of rows at a time: a seed-scale state
/// is gigabytes of values.
pub(super) fn fill_value_hashes(conn: &Connection) -> Result<(), NodeError> {
    const BATCH: i64 = 4096;
    let mut next =
        conn.prepare("SELECT key, value FROM state_entries WHERE key > ?1 ORDER BY key LIMIT ?2")?;
    let mut set = conn.prepare("UPDATE state_entries SET value_hash = ?1 WHERE key = ?2")?;
    let mut after = String::new();
    loop {
        let rows: Vec<(String, Vec<u8>)> = next
            .query_map(rusqlite::params![after, BATCH], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<Result<_, _>>()?;
        let Some((last, _)) = rows.last() else {
            return Ok(());
        };
        after.clone_from(last);
        for (k, v) in rows {
            set.execute(rusqlite::params![smt::value_hash(&v).0.as_slice(), k])?;
        }
    }
}

fn unreadable(e: &impl std::fmt::Display) -> StoredStateError {
    StoredStateError::Unreadable(e.to_string())
}

/// The stored cases, for a state attached when the store held block `base`.
#[derive(Debug)]
pub struct StoredCases {
    reads: Arc<ReadPool>,
    base: u64,
}

impl StoredCases {
    /// A source for the head state of block `height`, if the store holds
    /// exactly that block's state (`None` otherwise).
    pub fn attach(reads: &Arc<ReadPool>, height: u64) -> Result<Option<Self>, NodeError> {
        let stored = reads.with(|c| {
            Ok(
                c.query_row("SELECT height FROM state_head WHERE one = 1", [], |r| {
                    r.get::<_, i64>(0)
                })
                .optional()?,
            )
        })?;
        Ok((stored.map(to_u64) == Some(height)).then(|| Self {
            reads: reads.clone(),
            base: height,
        }))
    }
}

impl CaseSource for StoredCases {
    fn base_height(&self) -> u64 {
        self.base
    }

    fn case_value(&self, id: &RefId) -> Result<Option<StoredCase>, StoredStateError> {
        self.reads
            .with(|c| {
                Ok(
                    c.prepare_cached("SELECT value, height FROM state_entries WHERE key = ?1")?
                        .query_row([format!("{CASES_FROM}{id}")], |r| {
                            Ok(StoredCase {
                                value: r.get(0)?,
                                height: to_u64(r.get(1)?),
                            })
                        })
                        .optional()?,
                )
            })
            .map_err(|e| unreadable(&e))
    }

    fn each_case(
        &self,
        f: &mut dyn FnMut(RefId, StoredCase) -> Result<(), StoredStateError>,
    ) -> Result<(), StoredStateError> {
        let mut failed = None;
        self.reads
            .with(|c| {
                let mut stmt = c.prepare_cached(
                    "SELECT key, value, height FROM state_entries WHERE key >= ?1 AND key < ?2",
                )?;
                let mut rows = stmt.query([CASES_FROM, CASES_UNTIL])?;
                while let Some(row) = rows.next()? {
                    let key: String = row.get(0)?;
                    let Some(id) = key
                        .strip_prefix(CASES_FROM)
                        .and_then(|id| RefId::try_from(id.to_owned()).ok())
                    else {
                        failed = Some(StoredStateError::BadRow {
                            key,
                            reason: "not a case key".into(),
                        });
                        break;
                    };
                    let case = StoredCase {
                        value: row.get(1)?,
                        height: to_u64(row.get(2)?),
                    };
                    if let Err(e) = f(id, case) {
                        failed = Some(e);
                        break;
                    }
                }
                Ok(())
            })
            .map_err(|e| unreadable(&e))?;
        failed.map_or(Ok(()), Err)
    }
}

impl ReadPool {
    /// Checks that every stored case value hashes to its stored value hash
    /// (which a start checked, as tree leaves, against the head's signed
    /// state root); returns how many were checked. Rows written meanwhile
    /// are this node's own writes and are checked the same way.
    pub fn check_case_values(&self) -> Result<u64, NodeError> {
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT key, value, value_hash FROM state_entries WHERE key >= ?1 AND key < ?2",
            )?;
            let mut rows = stmt.query([CASES_FROM, CASES_UNTIL])?;
            let mut checked = 0;
            while let Some(row) = rows.next()? {
                let value = row.get_ref(1)?.as_blob()?;
                let stored = row.get_ref(2)?.as_blob_or_null()?;
                if stored != Some(smt::value_hash(value).0.as_slice()) {
                    let key: String = row.get(0)?;
                    return Err(NodeError::StateMismatch(format!(
                        "the stored value of {key} is not the one the state root commits to"
                    )));
                }
                checked += 1;
            }
            Ok(checked)
        })
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
