//! The stored state: every state entry's canonical value (PROTOCOL.md
//! §12.7), the lines of committed payrolls (which payment entries leave
//! out) and the access log, as of the head block. Written with each block
//! from what its commit changed; read back at start-up into a
//! [`StateLoader`], which refuses rows that are not the head block's state.

use govchain_ledger::block::BlockHeader;
use govchain_ledger::smt;
use govchain_ledger::state::kinds::RefId;
use govchain_ledger::state::payroll::payroll_line_jcs;
use std::sync::Arc;

use govchain_ledger::state::{CaseSource, EntryKey, State, StateLoader};
use govchain_ledger::types::Hash32;
use rusqlite::{params, Connection};

use super::{to_i64, to_u64, Store};
use crate::error::NodeError;

pub(super) const MIGRATION_2: &str = "
ALTER TABLE txs ADD COLUMN leaf_hash BLOB;
CREATE TABLE state_entries (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE payroll_lines (
    project TEXT NOT NULL,
    payment TEXT NOT NULL,
    idx     INTEGER NOT NULL,
    line    BLOB NOT NULL,
    PRIMARY KEY (project, payment, idx)
) WITHOUT ROWID;
CREATE TABLE access_log (
    idx    INTEGER PRIMARY KEY,
    record BLOB NOT NULL
);
CREATE TABLE state_head (
    one    INTEGER PRIMARY KEY CHECK (one = 1),
    height INTEGER NOT NULL
);
";

/// The stored-state tables for a database that is not a node's (a
/// workstation's cache keeps its verified state in them): state entries,
/// committed payrolls' lines, the access log and the height they are of,
/// as a node stores them, without the node's index of waiting cases.
pub const STATE_TABLES: &str = "
CREATE TABLE IF NOT EXISTS state_entries (
    key        TEXT PRIMARY KEY,
    value      BLOB NOT NULL,
    value_hash BLOB,
    height     INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS payroll_lines (
    project TEXT NOT NULL,
    payment TEXT NOT NULL,
    idx     INTEGER NOT NULL,
    line    BLOB NOT NULL,
    PRIMARY KEY (project, payment, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS access_log (
    idx    INTEGER PRIMARY KEY,
    record BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS state_head (
    one    INTEGER PRIMARY KEY CHECK (one = 1),
    height INTEGER NOT NULL
);
";

/// Writes into [`STATE_TABLES`] what changed up to block `height`:
/// `entries` (each key's value in `state`, `None` for a removed key), the
/// new lines of the committed payrolls among them and the new access
/// records. The caller runs it in the transaction that stores the blocks.
pub fn write_state(
    conn: &Connection,
    height: u64,
    state: &State,
    entries: &[(EntryKey, Option<Vec<u8>>)],
) -> Result<(), NodeError> {
    write_entries(conn, height, state, entries, |_| Ok(()))
}

/// The state stored in [`STATE_TABLES`] by [`write_state`], if it is
/// exactly the state `head` commits to (`node.state_mismatch` otherwise);
/// every value is decoded and checked.
pub fn read_state(conn: &Connection, head: &BlockHeader) -> Result<State, NodeError> {
    read_rest(conn, load_entries(conn, None)?, head)
}

/// The height of the state in [`STATE_TABLES`], if one is stored.
pub fn stored_height(conn: &Connection) -> Result<Option<u64>, NodeError> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .query_row("SELECT height FROM state_head WHERE one = 1", [], |r| {
            r.get::<_, i64>(0)
        })
        .optional()?
        .map(to_u64))
}

/// Writes what a block's commit changed (`entries`), the new lines of the
/// committed payrolls among them, the new access records, and the height
/// the stored state is now of; and each changed case's waiting rows.
pub(super) fn write_changes(
    conn: &Connection,
    height: u64,
    state: &State,
    entries: &[(EntryKey, Option<Vec<u8>>)],
) -> Result<(), NodeError> {
    write_entries(conn, height, state, entries, |id| {
        super::waiting::write_case(conn, state, id)
    })
}

fn write_entries(
    conn: &Connection,
    height: u64,
    state: &State,
    entries: &[(EntryKey, Option<Vec<u8>>)],
    mut case_changed: impl FnMut(&RefId) -> Result<(), NodeError>,
) -> Result<(), NodeError> {
    let mut put = conn.prepare_cached(
        "INSERT OR REPLACE INTO state_entries (key, value, value_hash, height) VALUES (?1, ?2, ?3, ?4)",
    )?;
    let mut del = conn.prepare_cached("DELETE FROM state_entries WHERE key = ?1")?;
    for (key, value) in entries {
        let k = key.to_string();
        match value {
            Some(v) => put.execute(params![
                k,
                v,
                smt::value_hash(v).0.as_slice(),
                to_i64(height)
            ])?,
            None => del.execute([k])?,
        };
        match key {
            EntryKey::Payment(p, q) => write_payroll(conn, state, p, q)?,
            EntryKey::Case(id) => case_changed(id)?,
            _ => {}
        }
    }
    let stored: i64 = conn.query_row(
        "SELECT COALESCE(MAX(idx) + 1, 0) FROM access_log",
        [],
        |r| r.get(0),
    )?;
    let mut add = conn.prepare_cached("INSERT INTO access_log (idx, record) VALUES (?1, ?2)")?;
    for i in to_u64(stored)..state.access_log.len() as u64 {
        if let Some(r) = usize::try_from(i)
            .ok()
            .and_then(|i| state.access_log.get(i))
        {
            add.execute(params![to_i64(i), r.canonical_json()])?;
        }
    }
    conn.execute(
        "INSERT OR REPLACE INTO state_head (one, height) VALUES (1, ?1)",
        [to_i64(height)],
    )?;
    Ok(())
}

/// Stores the lines of payment `p/q`'s committed payroll not stored yet.
fn write_payroll(conn: &Connection, state: &State, p: &RefId, q: &RefId) -> Result<(), NodeError> {
    let Some(pay) = state.projects.get(p).and_then(|x| x.payments.get(q)) else {
        return Ok(());
    };
    if pay.payroll_commitment.is_none() {
        return Ok(());
    }
    let stored: i64 = conn.query_row(
        "SELECT COALESCE(MAX(idx) + 1, 0) FROM payroll_lines WHERE project = ?1 AND payment = ?2",
        params![p.as_str(), q.as_str()],
        |r| r.get(0),
    )?;
    let mut add = conn.prepare_cached(
        "INSERT INTO payroll_lines (project, payment, idx, line) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (i, line) in pay
        .payroll
        .iter()
        .enumerate()
        .skip(usize::try_from(stored).unwrap_or(usize::MAX))
    {
        add.execute(params![
            p.as_str(),
            q.as_str(),
            to_i64(i as u64),
            payroll_line_jcs(line)
        ])?;
    }
    Ok(())
}

impl Store {
    /// The height the stored state is of (`None`: none stored, e.g. a
    /// database from before states were stored).
    pub fn state_height(&self) -> Result<Option<u64>, NodeError> {
        stored_height(&self.conn)
    }

    /// The log's leaf hashes in order; `None` if some were never stored
    /// (transactions written before leaf hashes were).
    pub fn leaf_hashes(&self) -> Result<Option<Vec<Hash32>>, NodeError> {
        super::leaf_hashes(&self.conn)
    }

    /// The stored state, if it is exactly the state `head` commits to
    /// (`node.state_mismatch` otherwise). With `cases`, the state reads
    /// its cases from there on use and only their leaves are read here
    /// (each value is checked when read); without, every case is decoded
    /// and checked now.
    pub fn load_state(
        &self,
        head: &BlockHeader,
        cases: Option<Arc<dyn CaseSource>>,
    ) -> Result<State, NodeError> {
        let backed = cases.is_some();
        let mut loader = load_entries(&self.conn, cases)?;
        if backed {
            loader.case_leaves(&self.case_leaves()?)?;
        }
        read_rest(&self.conn, loader, head)
    }

    /// Replaces the stored state with `state` (of block `height`) and the
    /// log's leaf hashes with `leaves`, in one transaction: after a replay
    /// (`verify-chain --rebuild-state`, or a database from before states
    /// were stored).
    pub fn rewrite_state(
        &mut self,
        height: u64,
        state: &State,
        leaves: &[Hash32],
    ) -> Result<(), NodeError> {
        let tx = self.conn.transaction()?;
        let head: Option<i64> = tx.query_row("SELECT MAX(height) FROM blocks", [], |r| r.get(0))?;
        if head.map(to_u64) != Some(height) {
            return Err(NodeError::Config(format!(
                "the chain grew past block {height} while it was replayed: stop the node, then rebuild its state"
            )));
        }
        tx.execute_batch(
            "DELETE FROM state_entries; DELETE FROM payroll_lines; DELETE FROM access_log;",
        )?;
        super::waiting::clear(&tx)?;
        let mut entries = Vec::new();
        for key in state.entry_keys() {
            let value = state
                .entry(&key)
                .map_err(|e| NodeError::Storage(e.to_string()))?;
            entries.push((key, value));
        }
        // Every case's rows are written with its entry: the index is whole.
        write_changes(&tx, height, state, &entries)?;
        super::waiting::mark_built(&tx)?;
        {
            let mut set = tx.prepare("UPDATE txs SET leaf_hash = ?1 WHERE leaf_index = ?2")?;
            for (i, leaf) in leaves.iter().enumerate() {
                set.execute(params![leaf.0.as_slice(), to_i64(i as u64)])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

/// Adds the stored payroll lines and access records to `loader` and checks
/// the whole against `head`.
fn read_rest(
    conn: &Connection,
    mut loader: StateLoader,
    head: &BlockHeader,
) -> Result<State, NodeError> {
    let mut stmt = conn.prepare(
        "SELECT project, payment, idx, line FROM payroll_lines ORDER BY project, payment, idx",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let bad = |what: &str| NodeError::StateMismatch(format!("a stored payroll line: {what}"));
        let p = RefId::try_from(row.get::<_, String>(0)?).map_err(|_| bad("bad project id"))?;
        let q = RefId::try_from(row.get::<_, String>(1)?).map_err(|_| bad("bad payment id"))?;
        let idx = to_u64(row.get(2)?);
        loader.payroll_line(&p, &q, idx, row.get_ref(3)?.as_blob()?)?;
    }
    let mut stmt = conn.prepare("SELECT record FROM access_log ORDER BY idx")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        loader.access_record(row.get_ref(0)?.as_blob()?)?;
    }
    Ok(loader.finish(head)?)
}

/// Every stored entry, read here and decoded on another thread (each
/// batch's leaves hashed on a third).
fn load_entries(
    conn: &Connection,
    cases: Option<Arc<dyn CaseSource>>,
) -> Result<StateLoader, NodeError> {
    const BATCH: usize = 4096;
    let backed = cases.is_some();
    let (send, receive) = std::sync::mpsc::sync_channel::<Vec<(String, Vec<u8>)>>(4);
    std::thread::scope(|scope| {
        let decoding = scope.spawn(move || {
            let mut loader = match cases {
                Some(source) => StateLoader::new().with_case_source(source),
                None => StateLoader::new(),
            };
            for batch in receive {
                loader.entries(&batch)?;
            }
            Ok::<_, NodeError>(loader)
        });
        let read = (|| {
            let mut stmt = conn.prepare(&format!(
                "SELECT key, value FROM state_entries{}",
                if backed {
                    format!(" WHERE {}", super::cases::NOT_CASES)
                } else {
                    String::new()
                }
            ))?;
            let mut rows = stmt.query([])?;
            let mut batch = Vec::with_capacity(BATCH);
            while let Some(row) = rows.next()? {
                batch.push((row.get::<_, String>(0)?, row.get::<_, Vec<u8>>(1)?));
                if batch.len() == BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                    if send.send(full).is_err() {
                        // The decoder stopped: its error says why.
                        return Ok(());
                    }
                }
            }
            let _ = send.send(batch);
            Ok::<_, NodeError>(())
        })();
        drop(send);
        let loader = decoding
            .join()
            .map_err(|_| NodeError::Storage("the state decoding thread failed".into()))??;
        read?;
        Ok(loader)
    })
}
