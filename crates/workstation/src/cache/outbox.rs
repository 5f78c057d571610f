//! The durable outbox of signed transactions and where each stands.

use rusqlite::{params, OptionalExtension};

use crate::dto::OutboxStatus;
use crate::error::WsError;

use super::rows::{outbox_row, OUTBOX_COLUMNS};
use super::{to_i64, to_u64, Cache, OutboxRow};

impl Cache {
    /// Queues a signed transaction (committed to disk before this returns).
    pub fn queue(&self, row: &OutboxRow) -> Result<(), WsError> {
        self.conn.execute(
            "INSERT INTO outbox (id, signer, seq, kind, envelope, status, attempts, next_try_ms, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, 'queued', 0, 0, ?6, ?6)",
            params![
                row.id,
                row.signer,
                to_i64(row.seq),
                row.kind.as_str(),
                row.envelope,
                row.created_at
            ],
        )?;
        Ok(())
    }

    pub fn outbox(&self) -> Result<Vec<OutboxRow>, WsError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox ORDER BY created_at, seq"
        ))?;
        let rows = stmt.query_map([], outbox_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn outbox_item(&self, id: &str) -> Result<Option<OutboxRow>, WsError> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id = ?1"),
                [id],
                outbox_row,
            )
            .optional()?)
    }

    /// Items not yet committed or rejected, oldest first.
    pub fn unsettled(&self) -> Result<Vec<OutboxRow>, WsError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE status IN ('queued', 'submitted') ORDER BY created_at, seq"
        ))?;
        let rows = stmt.query_map([], outbox_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The highest sequence number this workstation signed for `signer`.
    pub fn max_seq(&self, signer: &str) -> Result<u64, WsError> {
        let n: Option<i64> = self.conn.query_row(
            "SELECT MAX(seq) FROM outbox WHERE signer = ?1 AND status != 'rejected'",
            [signer],
            |r| r.get(0),
        )?;
        Ok(n.map_or(0, to_u64))
    }

    pub fn set_status(
        &self,
        id: &str,
        status: OutboxStatus,
        code: Option<&str>,
        message: Option<&str>,
        height: Option<u64>,
        at: &str,
    ) -> Result<(), WsError> {
        // `committed` (in a block this workstation verified) is final: a
        // node's late "accepted" answer cannot undo it.
        self.conn.execute(
            "UPDATE outbox SET status = ?2, code = ?3, message = ?4, height = ?5, updated_at = ?6 \
             WHERE id = ?1 AND (status != 'committed' OR ?2 = 'committed')",
            params![id, status.as_str(), code, message, height.map(to_i64), at],
        )?;
        Ok(())
    }

    /// Records that the node accepted the transaction (pending) and when to
    /// send it again if no verified block holds it by then: a node's mempool
    /// does not survive a crash, and submission is idempotent by id.
    pub fn mark_submitted(&self, id: &str, resend_at_ms: i64, at: &str) -> Result<(), WsError> {
        self.conn.execute(
            "UPDATE outbox SET status = 'submitted', code = NULL, message = NULL, next_try_ms = ?2, updated_at = ?3 \
             WHERE id = ?1 AND status != 'committed'",
            params![id, resend_at_ms, at],
        )?;
        Ok(())
    }

    /// Records a failed delivery attempt and when to try again.
    pub fn retry_later(
        &self,
        id: &str,
        next_try_ms: i64,
        message: &str,
        at: &str,
    ) -> Result<(), WsError> {
        self.conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_try_ms = ?2, message = ?3, updated_at = ?4 \
             WHERE id = ?1 AND status != 'committed'",
            params![id, next_try_ms, message, at],
        )?;
        Ok(())
    }
}
