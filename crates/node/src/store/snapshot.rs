//! Raft snapshots of the stored chain (PROTOCOL.md §14, "Snapshots"): the state as of
//! the head block (its entries, committed payrolls' lines and the access
//! log), the log (each transaction's leaf hash, id, height and index), block
//! 0 and the latest blocks. O(state) plus 76 bytes per transaction, not the
//! chain: a member that installs one holds the blocks from the snapshot's
//! first block on (and block 0) and the log records of the rest, so it
//! answers every transaction's status and proves inclusion and consistency
//! for the whole log, but serves no block below its base (`node.pruned`).
//!
//! Read in one read transaction ([`read_snapshot`]); installed in one
//! write transaction ([`Store::install_snapshot`]), replacing everything
//! but block 0. Checking a snapshot is the chain module's business.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use govchain_ledger::block::Block;
use govchain_ledger::types::Hash32;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{insert_block, to_i64, to_u64, Store};
use crate::error::NodeError;

pub(super) const MIGRATION_3: &str = "
CREATE TABLE log_prefix (
    leaf_index INTEGER PRIMARY KEY,
    leaf_hash  BLOB NOT NULL,
    id         BLOB NOT NULL UNIQUE,
    height     INTEGER NOT NULL,
    idx        INTEGER NOT NULL
);
CREATE TABLE chain_base (
    one         INTEGER PRIMARY KEY CHECK (one = 1),
    first_block INTEGER NOT NULL
);
";

/// What a member sends a member that is too far behind for blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainSnapshot {
    pub genesis: Block,
    /// Consecutive blocks ending at the head (empty: the head is block 0).
    pub blocks: Vec<Block>,
    /// Every state entry: key and canonical value (PROTOCOL.md §12.7).
    pub entries: Vec<(String, String)>,
    /// Committed payrolls' lines: project, payment, index, canonical line.
    pub payroll: Vec<(String, String, u64, String)>,
    /// The access log's records, in order (canonical JSON).
    pub access: Vec<String>,
    /// The log in order: base64 of the concatenated [`LogRecord`]s.
    pub log: String,
}

/// One transaction of the log as a snapshot carries it: leaf hash (32
/// bytes), id (32), height (8, big-endian) and index in its block (4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogRecord {
    pub leaf_hash: Hash32,
    pub id: Hash32,
    pub height: u64,
    pub index: u32,
}

const RECORD: usize = 76;

impl LogRecord {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.leaf_hash.0);
        out.extend_from_slice(&self.id.0);
        out.extend_from_slice(&self.height.to_be_bytes());
        out.extend_from_slice(&self.index.to_be_bytes());
    }

    fn read(c: &[u8]) -> Option<Self> {
        let hash = |r: std::ops::Range<usize>| c.get(r)?.try_into().ok().map(Hash32);
        Some(Self {
            leaf_hash: hash(0..32)?,
            id: hash(32..64)?,
            height: u64::from_be_bytes(c.get(64..72)?.try_into().ok()?),
            index: u32::from_be_bytes(c.get(72..76)?.try_into().ok()?),
        })
    }
}

impl ChainSnapshot {
    /// The head block's height.
    pub fn height(&self) -> u64 {
        self.blocks.last().map_or(0, |b| b.header.height)
    }

    /// The log's records.
    pub fn log_records(&self) -> Result<Vec<LogRecord>, NodeError> {
        let bad = |what: &str| NodeError::Cluster(format!("snapshot log: {what}"));
        let raw = B64.decode(&self.log).map_err(|e| bad(&e.to_string()))?;
        if raw.len() % RECORD != 0 {
            return Err(bad("not a whole number of records"));
        }
        raw.chunks_exact(RECORD)
            .map(|c| LogRecord::read(c).ok_or_else(|| bad("a short record")))
            .collect()
    }
}

fn text(bytes: Vec<u8>, what: &str) -> Result<String, NodeError> {
    String::from_utf8(bytes)
        .map_err(|_| NodeError::Corrupt(format!("a stored {what} is not UTF-8")))
}

/// The lowest block above 0 this database holds, if it joined from a
/// snapshot (`None`: it holds every block).
pub(super) fn first_block(conn: &Connection) -> Result<Option<u64>, NodeError> {
    Ok(conn
        .query_row(
            "SELECT first_block FROM chain_base WHERE one = 1",
            [],
            |r| r.get::<_, i64>(0),
        )
        .optional()?
        .map(to_u64))
}

/// The stored chain as a snapshot with at most `recent` blocks above 0.
/// Call inside a read transaction.
pub(super) fn read_snapshot(conn: &Connection, recent: u64) -> Result<ChainSnapshot, NodeError> {
    let head: i64 = conn.query_row("SELECT COALESCE(MAX(height), 0) FROM blocks", [], |r| {
        r.get(0)
    })?;
    let head = to_u64(head);
    let state_head: Option<i64> = conn
        .query_row("SELECT height FROM state_head WHERE one = 1", [], |r| {
            r.get(0)
        })
        .optional()?;
    if state_head.map(to_u64) != Some(head) {
        return Err(NodeError::Storage(format!(
            "no stored state for block {head}: cannot make a snapshot"
        )));
    }
    let base = first_block(conn)?.unwrap_or(1);
    let first = head.saturating_sub(recent.max(1) - 1).max(base).max(1);
    let mut blocks = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT height, block FROM blocks WHERE height = 0 OR height >= ?1 ORDER BY height",
    )?;
    let mut rows = stmt.query([to_i64(first)])?;
    while let Some(row) = rows.next()? {
        let json: String = row.get(1)?;
        blocks.push(
            Block::from_json(json.as_bytes()).map_err(|e| NodeError::Corrupt(e.to_string()))?,
        );
    }
    if blocks.first().map(|b| b.header.height) != Some(0) {
        return Err(NodeError::Corrupt("no block 0".into()));
    }
    let genesis = blocks.remove(0);
    let mut entries = Vec::new();
    let mut stmt = conn.prepare("SELECT key, value FROM state_entries ORDER BY key")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        entries.push((row.get(0)?, text(row.get(1)?, "state entry")?));
    }
    let mut payroll = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT project, payment, idx, line FROM payroll_lines ORDER BY project, payment, idx",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        payroll.push((
            row.get(0)?,
            row.get(1)?,
            to_u64(row.get(2)?),
            text(row.get(3)?, "payroll line")?,
        ));
    }
    let mut access = Vec::new();
    let mut stmt = conn.prepare("SELECT record FROM access_log ORDER BY idx")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        access.push(text(row.get(0)?, "access record")?);
    }
    let log = read_log(conn)?;
    Ok(ChainSnapshot {
        genesis,
        blocks,
        entries,
        payroll,
        access,
        log: B64.encode(log),
    })
}

/// Every transaction's log record, in log order.
fn read_log(conn: &Connection) -> Result<Vec<u8>, NodeError> {
    let mut raw = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT leaf_index, leaf_hash, id, height, idx FROM txs
         UNION ALL SELECT leaf_index, leaf_hash, id, height, idx FROM log_prefix ORDER BY 1",
    )?;
    let mut rows = stmt.query([])?;
    let mut n = 0u64;
    while let Some(row) = rows.next()? {
        let hash = |i: usize| -> Result<Hash32, NodeError> {
            let b: Option<Vec<u8>> = row.get(i)?;
            b.and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
                .map(Hash32)
                .ok_or_else(|| NodeError::Storage(format!("log leaf {n}: a hash is not stored")))
        };
        if to_u64(row.get(0)?) != n {
            return Err(NodeError::Corrupt(format!(
                "the stored log has no leaf {n}"
            )));
        }
        LogRecord {
            leaf_hash: hash(1)?,
            id: hash(2)?,
            height: to_u64(row.get(3)?),
            index: u32::try_from(row.get::<_, i64>(4)?).unwrap_or(u32::MAX),
        }
        .write(&mut raw);
        n += 1;
    }
    Ok(raw)
}

/// One block of a snapshot with its transactions' ids and leaf hashes.
#[derive(Debug)]
pub struct SnapshotBlock<'a> {
    pub block: &'a Block,
    pub hash: Hash32,
    pub first_leaf: u64,
    pub ids: Vec<Hash32>,
    pub leaves: Vec<Hash32>,
}

impl Store {
    /// Replaces everything but block 0 with a checked snapshot, in one
    /// transaction: its blocks (with their transaction index), the log
    /// records of the transactions before them, and its state. From then on
    /// this database holds blocks from `blocks[0]` on.
    pub fn install_snapshot(
        &mut self,
        snap: &ChainSnapshot,
        blocks: &[SnapshotBlock<'_>],
        log: &[LogRecord],
    ) -> Result<(), NodeError> {
        let (Some(first), Some(head)) = (blocks.first(), blocks.last()) else {
            return Err(NodeError::Cluster("a snapshot without blocks".into()));
        };
        let tx = self.conn.transaction()?;
        tx.execute_batch(
            "DELETE FROM txs WHERE height > 0; DELETE FROM blocks WHERE height > 0;
             DELETE FROM state_entries; DELETE FROM payroll_lines; DELETE FROM access_log;
             DELETE FROM log_prefix; DELETE FROM tx_ids; DELETE FROM tx_ids_merged;",
        )?;
        let genesis_leaves = snap.genesis.txs.len() as u64;
        {
            let mut put = tx.prepare(
                "INSERT INTO log_prefix (leaf_index, leaf_hash, id, height, idx) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for i in genesis_leaves..first.first_leaf {
                let r = usize::try_from(i)
                    .ok()
                    .and_then(|i| log.get(i))
                    .ok_or_else(|| NodeError::Cluster("snapshot log too short".into()))?;
                put.execute(params![
                    to_i64(i),
                    r.leaf_hash.0.as_slice(),
                    r.id.0.as_slice(),
                    to_i64(r.height),
                    i64::from(r.index)
                ])?;
            }
        }
        for b in blocks {
            insert_block(&tx, b.block, b.hash, b.first_leaf, &b.ids, &b.leaves)?;
        }
        super::tx_ids::fill(&tx)?;
        {
            let mut put = tx.prepare(
                "INSERT INTO state_entries (key, value, value_hash, height) VALUES (?1, ?2, ?3, ?4)",
            )?;
            let height = to_i64(snap.height());
            for (k, v) in &snap.entries {
                let hash = govchain_ledger::smt::value_hash(v.as_bytes());
                put.execute(params![k, v.as_bytes(), hash.0.as_slice(), height])?;
            }
            let mut put = tx.prepare(
                "INSERT INTO payroll_lines (project, payment, idx, line) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (p, q, i, line) in &snap.payroll {
                put.execute(params![p, q, to_i64(*i), line.as_bytes()])?;
            }
            let mut put = tx.prepare("INSERT INTO access_log (idx, record) VALUES (?1, ?2)")?;
            for (i, r) in snap.access.iter().enumerate() {
                put.execute(params![to_i64(i as u64), r.as_bytes()])?;
            }
        }
        tx.execute(
            "INSERT OR REPLACE INTO state_head (one, height) VALUES (1, ?1)",
            [to_i64(head.block.header.height)],
        )?;
        tx.execute(
            "INSERT OR REPLACE INTO chain_base (one, first_block) VALUES (1, ?1)",
            [to_i64(first.block.header.height)],
        )?;
        tx.commit()?;
        self.recent.reload(&self.conn)
    }

    /// The lowest block above 0 held, if this database joined from a
    /// snapshot.
    pub fn first_block(&self) -> Result<Option<u64>, NodeError> {
        first_block(&self.conn)
    }
}
