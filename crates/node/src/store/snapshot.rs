//! Raft snapshots of the stored chain (PROTOCOL.md §14, "Snapshots"): the state as of
//! the head block (its entries, committed payrolls' lines and the access
//! log), the log (each transaction's leaf hash, id, height and index), block
//! 0 and the latest blocks. O(state) plus 76 bytes per transaction, not the
//! chain: a member that installs one holds the blocks from the snapshot's
//! first block on (and block 0) and the log records of the rest, so it
//! answers every transaction's status and proves inclusion and consistency
//! for the whole log, but serves no block below its base (`node.pruned`).
//!
//! Written as a file of frames (`snapshot_file`) from one read transaction
//! ([`write_snapshot`]); installed from such a file in one write
//! transaction ([`Store::install_snapshot`]), replacing everything but
//! block 0. Checking a snapshot is the chain module's business.

use std::io::Write;

use govchain_ledger::block::Block;
use govchain_ledger::types::Hash32;
use rusqlite::{params, Connection, OptionalExtension};

use super::snapshot_file::{
    Counts, Frame, FrameReader, FrameWriter, LogChunk, LOG_RECORDS_PER_FRAME, ROWS_PER_FRAME,
};
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

/// One transaction of the log as a snapshot carries it: leaf hash (32
/// bytes), id (32), height (8, big-endian) and index in its block (4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogRecord {
    pub leaf_hash: Hash32,
    pub id: Hash32,
    pub height: u64,
    pub index: u32,
}

pub(super) const RECORD: usize = 76;

impl LogRecord {
    pub(super) fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.leaf_hash.0);
        out.extend_from_slice(&self.id.0);
        out.extend_from_slice(&self.height.to_be_bytes());
        out.extend_from_slice(&self.index.to_be_bytes());
    }

    pub(super) fn read(c: &[u8]) -> Option<Self> {
        let hash = |r: std::ops::Range<usize>| c.get(r)?.try_into().ok().map(Hash32);
        Some(Self {
            leaf_hash: hash(0..32)?,
            id: hash(32..64)?,
            height: u64::from_be_bytes(c.get(64..72)?.try_into().ok()?),
            index: u32::from_be_bytes(c.get(72..76)?.try_into().ok()?),
        })
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

/// What [`write_snapshot`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// The head block's height.
    pub height: u64,
    /// The first block above 0 it carries (the head's height if none).
    pub first_block: u64,
    pub counts: Counts,
}

/// Writes the stored chain as a snapshot file (§14) with at most `recent`
/// blocks above 0, row by row. Call inside a read transaction.
pub(super) fn write_snapshot(
    conn: &Connection,
    recent: u64,
    out: impl Write,
) -> Result<SnapshotInfo, NodeError> {
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
    let mut w = FrameWriter::new(out);
    let mut stmt = conn.prepare(
        "SELECT height, block FROM blocks WHERE height = 0 OR height >= ?1 ORDER BY height",
    )?;
    let mut rows = stmt.query([to_i64(first)])?;
    let mut genesis = true;
    while let Some(row) = rows.next()? {
        let json: String = row.get(1)?;
        let block = Box::new(
            Block::from_json(json.as_bytes()).map_err(|e| NodeError::Corrupt(e.to_string()))?,
        );
        if genesis != (block.header.height == 0) {
            return Err(NodeError::Corrupt("no block 0".into()));
        }
        w.put(&if genesis {
            Frame::Genesis(block)
        } else {
            Frame::Block(block)
        })?;
        genesis = false;
    }
    if genesis {
        return Err(NodeError::Corrupt("no block 0".into()));
    }
    write_log(conn, &mut w)?;
    write_rows(conn, &mut w)?;
    let (_, counts) = w.finish()?;
    Ok(SnapshotInfo {
        height: head,
        first_block: if counts.blocks == 0 { head } else { first },
        counts,
    })
}

/// Every transaction's log record, in log order, in `log` frames.
fn write_log<W: Write>(conn: &Connection, w: &mut FrameWriter<W>) -> Result<(), NodeError> {
    let mut stmt = conn.prepare(
        "SELECT leaf_index, leaf_hash, id, height, idx FROM txs
         UNION ALL SELECT leaf_index, leaf_hash, id, height, idx FROM log_prefix ORDER BY 1",
    )?;
    let mut rows = stmt.query([])?;
    let mut n = 0u64;
    let mut chunk = Vec::with_capacity(LOG_RECORDS_PER_FRAME);
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
        chunk.push(LogRecord {
            leaf_hash: hash(1)?,
            id: hash(2)?,
            height: to_u64(row.get(3)?),
            index: u32::try_from(row.get::<_, i64>(4)?).unwrap_or(u32::MAX),
        });
        if chunk.len() == LOG_RECORDS_PER_FRAME {
            w.put(&Frame::Log(LogChunk(std::mem::take(&mut chunk))))?;
        }
        n += 1;
    }
    if !chunk.is_empty() {
        w.put(&Frame::Log(LogChunk(chunk)))?;
    }
    Ok(())
}

/// The state entries, payroll lines and access records, in frames of
/// [`ROWS_PER_FRAME`].
fn write_rows<W: Write>(conn: &Connection, w: &mut FrameWriter<W>) -> Result<(), NodeError> {
    let mut entries = Vec::with_capacity(ROWS_PER_FRAME);
    each_row(
        conn,
        "SELECT key, value FROM state_entries ORDER BY key",
        |row| {
            entries.push((row.get(0)?, text(row.get(1)?, "state entry")?));
            full_frame(w, &mut entries, Frame::Entries)
        },
    )?;
    last_frame(w, entries, Frame::Entries)?;
    let mut payroll = Vec::with_capacity(ROWS_PER_FRAME);
    each_row(
        conn,
        "SELECT project, payment, idx, line FROM payroll_lines ORDER BY project, payment, idx",
        |row| {
            payroll.push((
                row.get(0)?,
                row.get(1)?,
                to_u64(row.get(2)?),
                text(row.get(3)?, "payroll line")?,
            ));
            full_frame(w, &mut payroll, Frame::Payroll)
        },
    )?;
    last_frame(w, payroll, Frame::Payroll)?;
    let mut access = Vec::with_capacity(ROWS_PER_FRAME);
    each_row(conn, "SELECT record FROM access_log ORDER BY idx", |row| {
        access.push(text(row.get(0)?, "access record")?);
        full_frame(w, &mut access, Frame::Access)
    })?;
    last_frame(w, access, Frame::Access)
}

fn each_row(
    conn: &Connection,
    sql: &str,
    mut f: impl FnMut(&rusqlite::Row<'_>) -> Result<(), NodeError>,
) -> Result<(), NodeError> {
    let mut stmt = conn.prepare(sql)?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        f(row)?;
    }
    Ok(())
}

/// Writes `rows` as one frame once it holds [`ROWS_PER_FRAME`].
fn full_frame<W: Write, T>(
    w: &mut FrameWriter<W>,
    rows: &mut Vec<T>,
    frame: fn(Vec<T>) -> Frame,
) -> Result<(), NodeError> {
    if rows.len() < ROWS_PER_FRAME {
        return Ok(());
    }
    let full = std::mem::replace(rows, Vec::with_capacity(ROWS_PER_FRAME));
    w.put(&frame(full))
}

/// Writes what is left of `rows`, if anything.
fn last_frame<W: Write, T>(
    w: &mut FrameWriter<W>,
    rows: Vec<T>,
    frame: fn(Vec<T>) -> Frame,
) -> Result<(), NodeError> {
    if rows.is_empty() {
        return Ok(());
    }
    w.put(&frame(rows))
}

/// A snapshot block as its check found it: height, hash, first leaf index,
/// its transactions' ids and leaf hashes.
#[derive(Debug, Clone)]
pub struct SnapshotBlock {
    pub height: u64,
    pub hash: Hash32,
    pub first_leaf: u64,
    pub ids: Vec<Hash32>,
    pub leaves: Vec<Hash32>,
}

impl Store {
    /// Replaces everything but block 0 with a checked snapshot file, in
    /// one transaction, reading it frame by frame: its blocks (`blocks`:
    /// what their check found), the log records of the transactions before
    /// them (from `genesis_leaves` on), and its state. From then on this
    /// database holds blocks from `blocks[0]` on.
    pub fn install_snapshot(
        &mut self,
        file: &std::path::Path,
        genesis_leaves: u64,
        blocks: &[SnapshotBlock],
    ) -> Result<(), NodeError> {
        let (Some(first), Some(head)) = (blocks.first(), blocks.last()) else {
            return Err(NodeError::Cluster("a snapshot without blocks".into()));
        };
        let changed = || NodeError::Cluster("the snapshot file changed after its check".into());
        let mut frames = FrameReader::open(file)?;
        let tx = self.conn.transaction()?;
        tx.execute_batch(
            "DELETE FROM txs WHERE height > 0; DELETE FROM blocks WHERE height > 0;
             DELETE FROM state_entries; DELETE FROM payroll_lines; DELETE FROM access_log;
             DELETE FROM log_prefix; DELETE FROM tx_ids; DELETE FROM tx_ids_merged;",
        )?;
        // Its cases are indexed at the next start (`Core::open`).
        super::waiting::clear(&tx)?;
        let mut put_log = tx.prepare(
            "INSERT INTO log_prefix (leaf_index, leaf_hash, id, height, idx) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        let mut put_entry = tx.prepare(
            "INSERT INTO state_entries (key, value, value_hash, height) VALUES (?1, ?2, ?3, ?4)",
        )?;
        let mut put_line = tx.prepare(
            "INSERT INTO payroll_lines (project, payment, idx, line) VALUES (?1, ?2, ?3, ?4)",
        )?;
        let mut put_access = tx.prepare("INSERT INTO access_log (idx, record) VALUES (?1, ?2)")?;
        let (mut block_no, mut leaf, mut access) = (0usize, 0u64, 0u64);
        let height = to_i64(head.height);
        while let Some(frame) = frames.next_frame()? {
            match frame {
                Frame::Genesis(_) | Frame::End(_) => {}
                Frame::Block(b) => {
                    let checked = blocks.get(block_no).ok_or_else(changed)?;
                    let hash = b.header.hash().map_err(|_| changed())?;
                    if hash != checked.hash || b.header.height != checked.height {
                        return Err(changed());
                    }
                    let c = checked;
                    insert_block(&tx, &b, c.hash, c.first_leaf, &c.ids, &c.leaves)?;
                    block_no += 1;
                }
                Frame::Log(records) => {
                    for r in records.0 {
                        if (genesis_leaves..first.first_leaf).contains(&leaf) {
                            put_log.execute(params![
                                to_i64(leaf),
                                r.leaf_hash.0.as_slice(),
                                r.id.0.as_slice(),
                                to_i64(r.height),
                                i64::from(r.index)
                            ])?;
                        }
                        leaf += 1;
                    }
                }
                Frame::Entries(entries) => {
                    for (k, v) in entries {
                        let hash = govchain_ledger::smt::value_hash(v.as_bytes());
                        put_entry.execute(params![k, v.as_bytes(), hash.0.as_slice(), height])?;
                    }
                }
                Frame::Payroll(lines) => {
                    for (p, q, i, line) in lines {
                        put_line.execute(params![p, q, to_i64(i), line.as_bytes()])?;
                    }
                }
                Frame::Access(records) => {
                    for r in records {
                        put_access.execute(params![to_i64(access), r.as_bytes()])?;
                        access += 1;
                    }
                }
            }
        }
        if block_no != blocks.len() || leaf < first.first_leaf {
            return Err(changed());
        }
        drop((put_log, put_entry, put_line, put_access));
        super::tx_ids::fill(&tx)?;
        tx.execute(
            "INSERT OR REPLACE INTO state_head (one, height) VALUES (1, ?1)",
            [height],
        )?;
        tx.execute(
            "INSERT OR REPLACE INTO chain_base (one, first_block) VALUES (1, ?1)",
            [to_i64(first.height)],
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
