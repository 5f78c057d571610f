//! Verified blocks (with their headers apart) and verified checkpoints.

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::WsError;

use super::rows::checkpoint_row;
use super::{to_i64, BlockText, Cache, CheckpointRow, HeaderText, VerifiedBlock};

impl Cache {
    /// The stored JSON of blocks `from..` (at most `limit`), in order.
    pub fn blocks_json(&self, from: u64, limit: u64) -> Result<Vec<String>, WsError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT block FROM blocks WHERE height >= ?1 ORDER BY height LIMIT ?2",
        )?;
        let rows = stmt.query_map([to_i64(from), to_i64(limit)], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Headers of stored blocks below height `before` (all if `None`),
    /// newest first, at most `limit`.
    pub fn headers_desc(
        &self,
        before: Option<u64>,
        limit: u64,
    ) -> Result<Vec<HeaderText>, WsError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT hash, header FROM blocks WHERE height < ?1 ORDER BY height DESC LIMIT ?2",
        )?;
        let below = before.map_or(i64::MAX, to_i64);
        let rows = stmt.query_map([below, to_i64(limit)], |r| {
            Ok(HeaderText {
                hash: r.get(0)?,
                header_json: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The stored block at `height`.
    pub fn block_at(&self, height: u64) -> Result<Option<BlockText>, WsError> {
        Ok(self
            .conn
            .query_row(
                "SELECT hash, block FROM blocks WHERE height = ?1",
                [to_i64(height)],
                |r| {
                    Ok(BlockText {
                        hash: r.get(0)?,
                        json: r.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    // --- checkpoint ---

    pub fn set_checkpoint(&mut self, c: &CheckpointRow) -> Result<(), WsError> {
        let tx = self.conn.transaction()?;
        let values = params![to_i64(c.size), c.root, c.signer, c.note, c.node, c.at];
        tx.execute(
            "INSERT OR REPLACE INTO checkpoint (one, size, root, signer, note, node, at) VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)",
            values,
        )?;
        tx.execute(
            "INSERT OR IGNORE INTO checkpoints (size, root, signer, note, node, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            values,
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Forgets the checkpoint currently relied on (its history stays).
    pub fn clear_checkpoint(&self) -> Result<(), WsError> {
        self.conn
            .execute("DELETE FROM checkpoint WHERE one = 1", [])?;
        Ok(())
    }

    /// Verified checkpoints, largest first (at most `limit`).
    pub fn checkpoints(&self, limit: u32) -> Result<Vec<CheckpointRow>, WsError> {
        let mut stmt = self.conn.prepare(
            "SELECT size, root, signer, note, node, at FROM checkpoints ORDER BY size DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], checkpoint_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The verified checkpoint of `size`, if one was seen.
    pub fn checkpoint_at(&self, size: u64) -> Result<Option<CheckpointRow>, WsError> {
        Ok(self
            .conn
            .query_row(
                "SELECT size, root, signer, note, node, at FROM checkpoints WHERE size = ?1",
                [to_i64(size)],
                checkpoint_row,
            )
            .optional()?)
    }

    pub fn checkpoint(&self) -> Result<Option<CheckpointRow>, WsError> {
        Ok(self
            .conn
            .query_row(
                "SELECT size, root, signer, note, node, at FROM checkpoint WHERE one = 1",
                [],
                checkpoint_row,
            )
            .optional()?)
    }
}

/// Inserts verified blocks in `conn`'s open transaction.
pub(super) fn insert_blocks(conn: &Connection, blocks: &[VerifiedBlock]) -> Result<(), WsError> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO blocks (height, hash, log_size, block, header) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for VerifiedBlock {
        block: b,
        hash,
        json,
    } in blocks
    {
        let header =
            serde_json::to_string(&b.header).map_err(|e| WsError::Storage(e.to_string()))?;
        stmt.execute(params![
            to_i64(b.header.height),
            hash.to_hex(),
            to_i64(b.header.log_size),
            json,
            header
        ])?;
    }
    Ok(())
}
