//! The verified state as of the last cached block, so that a restart reads
//! it back instead of re-applying every block: the node's stored-state
//! tables (`govchain_node::store::STATE_TABLES`: entries, committed
//! payrolls' lines, the access log, the height), each block's transaction
//! search keys (a column of `blocks`) and the log frontier (`meta`).
//!
//! Invariant: the state rows, the frontier and the blocks they are of are
//! written in one SQLite transaction, so after a crash they still agree;
//! whatever is read back is checked against the last block's header
//! before it is used (`LocalChain::restore`).

use govchain_ledger::block::BlockHeader;
use govchain_ledger::merkle::Frontier;
use govchain_ledger::state::State;
use govchain_ledger::types::Hash32;
use rusqlite::{params, Connection, OptionalExtension};

use super::{to_i64, Cache, MetaKey, VerifiedBlock};
use crate::error::WsError;
use crate::verify::{unpack_tx_keys, CachedBlockEnd, StateChanges};

/// Schema 7: the stored state.
pub(super) fn migration_7(conn: &Connection) -> Result<(), WsError> {
    conn.execute_batch(govchain_node::store::STATE_TABLES)?;
    let has_keys: i64 = conn.query_row(
        "SELECT COUNT(*) FROM pragma_table_info('blocks') WHERE name = 'tx_keys'",
        [],
        |r| r.get(0),
    )?;
    if has_keys == 0 {
        conn.execute_batch("ALTER TABLE blocks ADD COLUMN tx_keys BLOB;")?;
    }
    Ok(())
}

/// Writes `changes` (the state after its blocks) in `conn`'s open
/// transaction.
fn write_changes(conn: &Connection, state: &State, changes: &StateChanges) -> Result<(), WsError> {
    govchain_node::store::write_state(conn, changes.height, state, &changes.entries)?;
    let mut set = conn.prepare_cached("UPDATE blocks SET tx_keys = ?1 WHERE height = ?2")?;
    for (height, keys) in &changes.tx_keys {
        set.execute(params![keys, to_i64(*height)])?;
    }
    let frontier = serde_json::to_string(&changes.frontier)
        .map_err(|e| WsError::Storage(format!("log frontier: {e}")))?;
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [MetaKey::LogFrontier.as_str(), frontier.as_str()],
    )?;
    Ok(())
}

impl Cache {
    /// Stores verified blocks and the state after them (`changes`, from
    /// the chain whose `state` it is) in one transaction.
    pub fn append_verified(
        &mut self,
        blocks: &[VerifiedBlock],
        state: &State,
        changes: &StateChanges,
    ) -> Result<(), WsError> {
        let tx = self.conn.transaction()?;
        super::blocks::insert_blocks(&tx, blocks)?;
        write_changes(&tx, state, changes)?;
        tx.commit()?;
        Ok(())
    }

    /// Replaces the stored state with `state` (after re-applying the cached
    /// blocks: a cache from before states were stored, or one whose stored
    /// state did not match); `changes` hold every entry and block.
    pub fn rewrite_state(&mut self, state: &State, changes: &StateChanges) -> Result<(), WsError> {
        let tx = self.conn.transaction()?;
        tx.execute_batch(
            "DELETE FROM state_entries; DELETE FROM payroll_lines; DELETE FROM access_log; DELETE FROM state_head;",
        )?;
        write_changes(&tx, state, changes)?;
        tx.commit()?;
        Ok(())
    }

    /// The stored state and what [`crate::verify::LocalChain::restore`]
    /// needs with it, if the cache holds a state of its last block;
    /// `Ok(None)` if it holds none (then the blocks are re-applied). A
    /// stored state that does not match the last block's header is an
    /// error (`node.state_mismatch`).
    pub fn stored_chain(&self) -> Result<Option<(State, Frontier, Vec<CachedBlockEnd>)>, WsError> {
        let head: Option<(i64, String)> = self
            .conn
            .query_row(
                "SELECT height, header FROM blocks ORDER BY height DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((height, header)) = head else {
            return Ok(None);
        };
        let stored = govchain_node::store::stored_height(&self.conn)?;
        let frontier = self.meta(MetaKey::LogFrontier)?;
        let (Some(stored), Some(frontier)) = (stored, frontier) else {
            return Ok(None);
        };
        if i64::try_from(stored).ok() != Some(height) {
            return Ok(None);
        }
        let mismatch = |what: String| WsError::verification("cache.state_mismatch", what);
        let frontier: Frontier = serde_json::from_str(&frontier)
            .map_err(|e| mismatch(format!("the stored log frontier: {e}")))?;
        let head: BlockHeader = serde_json::from_str(&header)
            .map_err(|e| mismatch(format!("the last cached header: {e}")))?;
        let mut blocks = Vec::new();
        let mut stmt = self
            .conn
            .prepare("SELECT height, hash, header, tx_keys FROM blocks ORDER BY height")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let at: i64 = row.get(0)?;
            let keys: Option<Vec<u8>> = row.get(3)?;
            let Some(tx_keys) = keys.as_deref().and_then(unpack_tx_keys) else {
                return Ok(None); // cached before the keys were stored
            };
            let hash: String = row.get(1)?;
            let header: String = row.get(2)?;
            blocks.push(CachedBlockEnd {
                hash: Hash32::from_hex(&hash)
                    .map_err(|e| mismatch(format!("block {at}'s hash: {e}")))?,
                header: serde_json::from_str(&header)
                    .map_err(|e| mismatch(format!("block {at}'s header: {e}")))?,
                tx_keys,
            });
        }
        let state = govchain_node::store::read_state(&self.conn, &head)?;
        Ok(Some((state, frontier, blocks)))
    }
}
