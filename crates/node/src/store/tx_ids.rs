//! The transaction id index: where a committed transaction is, by its id.
//!
//! Ids are hashes, so one B-tree keyed by id takes every insert at a random
//! place: a block of 2,000 transactions dirtied about as many index pages,
//! and that cost grew with the chain (BENCHMARKS.md, "The transaction id
//! index, and freeing old heads"). Instead the id space is cut into
//! [`SLICES`] ranges by the id's first bits. A block's ids wait in memory
//! ([`RecentIds`]); each block moves one slice's waiting ids, sorted, into
//! `tx_ids` (an 8-byte id prefix → log leaf), so one block writes into
//! 1/64th of the index, in order. `tx_ids_merged` records, per slice, the leaf index below which
//! that slice's ids are all in `tx_ids`; at start-up the ids above it are
//! read back from `txs` (at most [`SLICES`] blocks' worth).
//!
//! A prefix may collide; a lookup joins `txs` on the leaf and compares the
//! whole id.

use std::collections::HashMap;
use std::sync::RwLock;

use govchain_ledger::types::Hash32;
use rusqlite::{params, Connection};

use super::{to_i64, to_u64, TxLocation};
use crate::error::NodeError;

/// How many ranges the id space is cut into: one is merged per block, so an
/// id waits in memory for at most this many blocks.
pub(super) const SLICES: usize = 64;

pub(super) const MIGRATION_5: &str = "
CREATE TABLE txs_by_leaf (
    leaf_index INTEGER PRIMARY KEY,
    id         BLOB NOT NULL,
    height     INTEGER NOT NULL REFERENCES blocks(height),
    idx        INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    signer     BLOB NOT NULL,
    leaf_hash  BLOB
);
INSERT INTO txs_by_leaf (leaf_index, id, height, idx, kind, signer, leaf_hash)
    SELECT leaf_index, id, height, idx, kind, signer, leaf_hash FROM txs ORDER BY leaf_index;
DROP TABLE txs;
ALTER TABLE txs_by_leaf RENAME TO txs;
CREATE TABLE tx_ids (
    prefix INTEGER NOT NULL,
    leaf   INTEGER NOT NULL,
    PRIMARY KEY (prefix, leaf)
) WITHOUT ROWID;
CREATE TABLE tx_ids_merged (
    slice INTEGER PRIMARY KEY,
    below INTEGER NOT NULL
);
";

/// The id's first 8 bytes as the integer `tx_ids` is keyed by.
fn prefix(id: &Hash32) -> i64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&id.0[..8]);
    i64::from_be_bytes(b)
}

/// The slice an id belongs to: its first 6 bits (a contiguous range of
/// prefixes, so a merge writes into one part of the index).
fn slice_of(id: &Hash32) -> usize {
    usize::from(id.0[0] >> 2)
}

/// Committed transactions whose ids are not in `tx_ids` yet, by slice.
/// Shared by the writer ([`super::Store`]) and the readers
/// ([`super::ReadPool`]).
#[derive(Debug)]
pub(crate) struct RecentIds {
    slices: RwLock<Vec<HashMap<Hash32, TxLocation>>>,
}

/// What a block's write changes in [`RecentIds`] once it has committed.
#[derive(Debug)]
pub(super) struct Staged {
    merged: usize,
    waiting: Vec<(Hash32, TxLocation)>,
}

impl RecentIds {
    /// Reads the ids waiting to be merged from `txs`.
    pub(super) fn load(conn: &Connection) -> Result<Self, NodeError> {
        let recent = Self {
            slices: RwLock::new(vec![HashMap::new(); SLICES]),
        };
        recent.reload(conn)?;
        Ok(recent)
    }

    /// Forgets what is held and reads it again (after a snapshot install).
    pub(super) fn reload(&self, conn: &Connection) -> Result<(), NodeError> {
        let below = merged_below(conn)?;
        let from = below.iter().copied().min().unwrap_or(0);
        let mut slices = vec![HashMap::new(); SLICES];
        let mut stmt = conn.prepare(
            "SELECT id, height, idx, leaf_index FROM txs WHERE leaf_index >= ?1 ORDER BY leaf_index",
        )?;
        let mut rows = stmt.query([to_i64(from)])?;
        while let Some(row) = rows.next()? {
            let (id, loc) = location(row)?;
            let s = slice_of(&id);
            if loc.leaf_index >= below[s] {
                slices[s].insert(id, loc);
            }
        }
        *self.write() = slices;
        Ok(())
    }

    pub(super) fn get(&self, id: &Hash32) -> Option<TxLocation> {
        self.read()[slice_of(id)].get(id).copied()
    }

    /// Inside a block's write transaction: merges slice `height % SLICES`
    /// (its waiting ids and the block's) into `tx_ids` and moves the
    /// slice's mark past the block. `ids[i]` is the id of the block's
    /// transaction `i`, at leaf `first_leaf + i`.
    pub(super) fn merge(
        &self,
        conn: &Connection,
        height: u64,
        first_leaf: u64,
        ids: &[Hash32],
    ) -> Result<Staged, NodeError> {
        let merged = usize::try_from(height % SLICES as u64).unwrap_or(0);
        let mut batch: Vec<(i64, u64)> = self.read()[merged]
            .iter()
            .map(|(id, loc)| (prefix(id), loc.leaf_index))
            .collect();
        let mut waiting = Vec::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            let leaf = first_leaf + i as u64;
            if slice_of(id) == merged {
                batch.push((prefix(id), leaf));
            } else {
                let loc = TxLocation {
                    height,
                    index: i,
                    leaf_index: leaf,
                };
                waiting.push((*id, loc));
            }
        }
        batch.sort_unstable();
        let mut put =
            conn.prepare_cached("INSERT OR IGNORE INTO tx_ids (prefix, leaf) VALUES (?1, ?2)")?;
        for (p, leaf) in batch {
            put.execute(params![p, to_i64(leaf)])?;
        }
        conn.prepare_cached("INSERT OR REPLACE INTO tx_ids_merged (slice, below) VALUES (?1, ?2)")?
            .execute(params![
                to_i64(merged as u64),
                to_i64(first_leaf + ids.len() as u64)
            ])?;
        Ok(Staged { merged, waiting })
    }

    /// After the block's transaction committed: the merged slice waits for
    /// nothing, the block's other ids wait.
    pub(super) fn apply(&self, staged: Staged) {
        let mut slices = self.write();
        slices[staged.merged].clear();
        for (id, loc) in staged.waiting {
            slices[slice_of(&id)].insert(id, loc);
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<HashMap<Hash32, TxLocation>>> {
        // A panic while holding the lock leaves whole maps: keep using them.
        self.slices
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Vec<HashMap<Hash32, TxLocation>>> {
        self.slices
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Per slice, the leaf index below which its ids are in `tx_ids`.
fn merged_below(conn: &Connection) -> Result<Vec<u64>, NodeError> {
    let mut below = vec![0u64; SLICES];
    let mut stmt = conn.prepare("SELECT slice, below FROM tx_ids_merged")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        if let Some(b) = usize::try_from(row.get::<_, i64>(0)?)
            .ok()
            .and_then(|s| below.get_mut(s))
        {
            *b = to_u64(row.get(1)?);
        }
    }
    Ok(below)
}

/// Column `i` of `row`: a stored transaction id.
fn stored_id(row: &rusqlite::Row<'_>, i: usize) -> Result<Hash32, NodeError> {
    <[u8; 32]>::try_from(row.get_ref(i)?.as_blob()?)
        .map(Hash32)
        .map_err(|_| NodeError::Corrupt("a stored transaction id is not 32 bytes".into()))
}

fn location(row: &rusqlite::Row<'_>) -> Result<(Hash32, TxLocation), NodeError> {
    Ok((
        stored_id(row, 0)?,
        TxLocation {
            height: to_u64(row.get(1)?),
            index: usize::try_from(row.get::<_, i64>(2)?).unwrap_or(0),
            leaf_index: to_u64(row.get(3)?),
        },
    ))
}

/// Where committed transaction `id` is: waiting in `recent`, merged into
/// `tx_ids`, or in the log records of a snapshot's prefix.
pub(super) fn locate(
    conn: &Connection,
    recent: &RecentIds,
    id: &Hash32,
) -> Result<Option<TxLocation>, NodeError> {
    if let Some(loc) = recent.get(id) {
        return Ok(Some(loc));
    }
    let mut stmt = conn.prepare_cached(
        "SELECT t.id, t.height, t.idx, t.leaf_index FROM tx_ids x JOIN txs t ON t.leaf_index = x.leaf
          WHERE x.prefix = ?1 AND t.id = ?2
         UNION ALL SELECT id, height, idx, leaf_index FROM log_prefix WHERE id = ?2",
    )?;
    let mut rows = stmt.query(params![prefix(id), id.0.as_slice()])?;
    rows.next()?
        .map(|r| location(r).map(|(_, loc)| loc))
        .transpose()
}

/// Fills `tx_ids` from `txs` (the schema-5 migration and a snapshot
/// install, inside their transactions): a batch of rows at a time, each
/// sorted before it is written; then every slice is merged up to the end
/// of the log.
pub(super) fn fill(conn: &Connection) -> Result<(), NodeError> {
    const BATCH: i64 = 1 << 20;
    let mut next = conn.prepare(
        "SELECT id, leaf_index FROM txs WHERE leaf_index >= ?1 ORDER BY leaf_index LIMIT ?2",
    )?;
    let mut put = conn.prepare("INSERT OR IGNORE INTO tx_ids (prefix, leaf) VALUES (?1, ?2)")?;
    let mut from = 0i64;
    loop {
        let mut batch: Vec<(i64, i64)> = Vec::new();
        let mut rows = next.query(params![from, BATCH])?;
        while let Some(row) = rows.next()? {
            batch.push((prefix(&stored_id(row, 0)?), row.get(1)?));
        }
        drop(rows);
        let Some(last) = batch.iter().map(|&(_, leaf)| leaf).max() else {
            break;
        };
        from = last + 1;
        batch.sort_unstable();
        for (p, leaf) in batch {
            put.execute(params![p, leaf])?;
        }
    }
    let mut mark =
        conn.prepare("INSERT OR REPLACE INTO tx_ids_merged (slice, below) VALUES (?1, ?2)")?;
    for s in 0..SLICES {
        mark.execute(params![to_i64(s as u64), from])?;
    }
    Ok(())
}
