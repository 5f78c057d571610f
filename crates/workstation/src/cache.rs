//! The offline cache: one SQLite file in the app's data directory (WAL,
//! `synchronous=FULL`). It holds verified blocks (the views are recomputed
//! from them by the ledger's state machine), the last verified checkpoint,
//! the outbox of signed transactions, node URLs, alarms and public key
//! records. It never holds a secret key.

use std::path::Path;

use govchain_ledger::block::Block;
use govchain_ledger::types::Hash32;
use rusqlite::{params, Connection, OptionalExtension};

use crate::dto::OutboxStatus;
use crate::error::WsError;

const SCHEMA_VERSION: i64 = 3;

const MIGRATION_1: &str = "
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE keys (
    key_id     TEXT PRIMARY KEY,
    public_key TEXT NOT NULL,
    label      TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE blocks (
    height   INTEGER PRIMARY KEY,
    hash     TEXT NOT NULL,
    log_size INTEGER NOT NULL,
    block    TEXT NOT NULL
);
CREATE TABLE checkpoint (
    one    INTEGER PRIMARY KEY CHECK (one = 1),
    size   INTEGER NOT NULL,
    root   TEXT NOT NULL,
    signer TEXT NOT NULL,
    note   TEXT NOT NULL,
    node   TEXT NOT NULL,
    at     TEXT NOT NULL
);
CREATE TABLE outbox (
    id          TEXT PRIMARY KEY,
    signer      TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    envelope    TEXT NOT NULL,
    status      TEXT NOT NULL,
    code        TEXT,
    message     TEXT,
    height      INTEGER,
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_try_ms INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX outbox_signer_seq ON outbox(signer, seq);
CREATE TABLE nodes (
    url      TEXT PRIMARY KEY,
    position INTEGER NOT NULL
);
CREATE TABLE alarms (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at           TEXT NOT NULL,
    code         TEXT NOT NULL,
    node         TEXT NOT NULL,
    detail       TEXT NOT NULL,
    acknowledged INTEGER NOT NULL DEFAULT 0
);
";

/// Every verified checkpoint, by size (the first seen of a size is kept):
/// the auditor checks consistency between any two of them.
const MIGRATION_2: &str = "
CREATE TABLE checkpoints (
    size   INTEGER PRIMARY KEY,
    root   TEXT NOT NULL,
    signer TEXT NOT NULL,
    note   TEXT NOT NULL,
    node   TEXT NOT NULL,
    at     TEXT NOT NULL
);
INSERT OR IGNORE INTO checkpoints (size, root, signer, note, node, at)
    SELECT size, root, signer, note, node, at FROM checkpoint;
";

/// Each block's header apart, so that block lists do not parse whole blocks.
const MIGRATION_3: &str = "
ALTER TABLE blocks ADD COLUMN header TEXT;
UPDATE blocks SET header = json_extract(block, '$.header');
";

/// A key of the `meta` table: the workstation's settings and state kept
/// between runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaKey {
    /// Key id (hex) of the key this workstation signs with.
    ActiveKey,
    /// `<key id hex>@<effective height>` of a rotated key not yet valid.
    PendingKey,
    /// The pinned chain's id.
    PinChainId,
    /// The pinned chain's genesis block hash (hex).
    PinGenesisHash,
    /// How many other departments must cosign a checkpoint.
    WitnessQuorum,
}

impl MetaKey {
    /// The key as stored (the stored names never change).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ActiveKey => "active_key",
            Self::PendingKey => "pending_key",
            Self::PinChainId => "pin.chain_id",
            Self::PinGenesisHash => "pin.genesis_hash",
            Self::WitnessQuorum => "witness.quorum",
        }
    }
}

/// A public key record of a key this workstation created or imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRow {
    /// Key id, 64 hex.
    pub key_id: String,
    /// Public key, 64 hex.
    pub public_key: String,
    pub label: String,
    pub created_at: String,
}

/// A verified block to store: the parsed block, its hash and its wire text.
#[derive(Debug, Clone)]
pub struct VerifiedBlock {
    pub block: Block,
    pub hash: Hash32,
    pub json: String,
}

/// A stored block: its hash (hex) and its JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockText {
    pub hash: String,
    pub json: String,
}

/// A stored block's header: the block hash (hex) and the header's JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderText {
    pub hash: String,
    pub header_json: String,
}

/// Where an outbox item stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: String,
    pub signer: String,
    pub seq: u64,
    pub kind: String,
    pub envelope: String,
    pub status: OutboxStatus,
    pub code: Option<String>,
    pub message: Option<String>,
    pub height: Option<u64>,
    pub attempts: u32,
    pub next_try_ms: i64,
    pub created_at: String,
}

/// A recorded verification alarm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmRow {
    pub id: i64,
    pub at: String,
    pub code: String,
    pub node: String,
    pub detail: String,
    pub acknowledged: bool,
}

/// The last checkpoint this workstation verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointRow {
    pub size: u64,
    pub root: String,
    pub signer: String,
    pub note: String,
    pub node: String,
    pub at: String,
}

#[derive(Debug)]
pub struct Cache {
    conn: Connection,
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn outbox_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxRow> {
    Ok(OutboxRow {
        id: r.get(0)?,
        signer: r.get(1)?,
        seq: to_u64(r.get(2)?),
        kind: r.get(3)?,
        envelope: r.get(4)?,
        status: {
            let s: String = r.get(5)?;
            OutboxStatus::parse(&s).ok_or_else(|| {
                rusqlite::Error::FromSqlConversionFailure(
                    5,
                    rusqlite::types::Type::Text,
                    format!("unknown outbox status {s:?}").into(),
                )
            })?
        },
        code: r.get(6)?,
        message: r.get(7)?,
        height: r.get::<_, Option<i64>>(8)?.map(to_u64),
        attempts: u32::try_from(r.get::<_, i64>(9)?).unwrap_or(u32::MAX),
        next_try_ms: r.get(10)?,
        created_at: r.get(11)?,
    })
}

fn checkpoint_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CheckpointRow> {
    Ok(CheckpointRow {
        size: to_u64(r.get(0)?),
        root: r.get(1)?,
        signer: r.get(2)?,
        note: r.get(3)?,
        node: r.get(4)?,
        at: r.get(5)?,
    })
}

const OUTBOX_COLUMNS: &str = "id, signer, seq, kind, envelope, status, code, message, height, attempts, next_try_ms, created_at";

impl Cache {
    pub fn open(path: &Path) -> Result<Self, WsError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| WsError::Storage(format!("{}: {e}", dir.display())))?;
        }
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(WsError::SchemaTooNew(version));
        }
        if version < 1 {
            conn.execute_batch(MIGRATION_1)?;
            conn.pragma_update(None, "user_version", 1)?;
        }
        if version < 2 {
            conn.execute_batch(MIGRATION_2)?;
            conn.pragma_update(None, "user_version", 2)?;
        }
        if version < 3 {
            conn.execute_batch(MIGRATION_3)?;
            conn.pragma_update(None, "user_version", 3)?;
        }
        Ok(Self { conn })
    }

    pub fn meta(&self, key: MetaKey) -> Result<Option<String>, WsError> {
        Ok(self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = ?1",
                [key.as_str()],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn set_meta(&self, key: MetaKey, value: &str) -> Result<(), WsError> {
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key.as_str(), value],
        )?;
        Ok(())
    }

    pub fn delete_meta(&self, key: MetaKey) -> Result<(), WsError> {
        self.conn
            .execute("DELETE FROM meta WHERE key = ?1", [key.as_str()])?;
        Ok(())
    }

    // --- public key records ---

    pub fn add_key(
        &self,
        key_id: &str,
        public_key: &str,
        label: &str,
        at: &str,
    ) -> Result<(), WsError> {
        self.conn.execute(
            "INSERT OR REPLACE INTO keys (key_id, public_key, label, created_at) VALUES (?1, ?2, ?3, ?4)",
            [key_id, public_key, label, at],
        )?;
        Ok(())
    }

    pub fn remove_key(&self, key_id: &str) -> Result<(), WsError> {
        self.conn
            .execute("DELETE FROM keys WHERE key_id = ?1", [key_id])?;
        Ok(())
    }

    /// Every key this workstation created or imported, oldest first.
    pub fn keys(&self) -> Result<Vec<KeyRow>, WsError> {
        let mut stmt = self.conn.prepare(
            "SELECT key_id, public_key, label, created_at FROM keys ORDER BY created_at",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(KeyRow {
                key_id: r.get(0)?,
                public_key: r.get(1)?,
                label: r.get(2)?,
                created_at: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    // --- verified blocks ---

    /// Stores verified blocks (with their hashes) in one transaction.
    pub fn append_blocks(&mut self, blocks: &[VerifiedBlock]) -> Result<(), WsError> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO blocks (height, hash, log_size, block, header) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for VerifiedBlock {
                block: b,
                hash,
                json,
            } in blocks
            {
                let header = serde_json::to_string(&b.header)
                    .map_err(|e| WsError::Storage(e.to_string()))?;
                stmt.execute(params![
                    to_i64(b.header.height),
                    hash.to_hex(),
                    to_i64(b.header.log_size),
                    json,
                    header
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

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

    // --- outbox ---

    /// Queues a signed transaction (committed to disk before this returns).
    pub fn queue(&self, row: &OutboxRow) -> Result<(), WsError> {
        self.conn.execute(
            "INSERT INTO outbox (id, signer, seq, kind, envelope, status, attempts, next_try_ms, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, 'queued', 0, 0, ?6, ?6)",
            params![row.id, row.signer, to_i64(row.seq), row.kind, row.envelope, row.created_at],
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

    // --- nodes ---

    pub fn nodes(&self) -> Result<Vec<String>, WsError> {
        let mut stmt = self
            .conn
            .prepare("SELECT url FROM nodes ORDER BY position")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn set_nodes(&mut self, urls: &[String]) -> Result<(), WsError> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM nodes", [])?;
        for (i, u) in urls.iter().enumerate() {
            tx.execute(
                "INSERT INTO nodes (url, position) VALUES (?1, ?2)",
                params![u, to_i64(i as u64)],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    // --- alarms ---

    pub fn raise_alarm(
        &self,
        at: &str,
        code: &str,
        node: &str,
        detail: &str,
    ) -> Result<(), WsError> {
        self.conn.execute(
            "INSERT INTO alarms (at, code, node, detail) VALUES (?1, ?2, ?3, ?4)",
            [at, code, node, detail],
        )?;
        Ok(())
    }

    pub fn alarms(&self) -> Result<Vec<AlarmRow>, WsError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, at, code, node, detail, acknowledged FROM alarms ORDER BY id DESC LIMIT 100",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(AlarmRow {
                id: r.get(0)?,
                at: r.get(1)?,
                code: r.get(2)?,
                node: r.get(3)?,
                detail: r.get(4)?,
                acknowledged: r.get::<_, i64>(5)? != 0,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn acknowledge_alarm(&self, id: i64) -> Result<(), WsError> {
        self.conn
            .execute("UPDATE alarms SET acknowledged = 1 WHERE id = ?1", [id])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_is_final() {
        let dir = std::env::temp_dir().join(format!("govchain-cache-final-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let cache = Cache::open(&dir.join("cache.sqlite")).unwrap();
        cache
            .queue(&OutboxRow {
                id: "t1".into(),
                signer: "s".into(),
                seq: 1,
                kind: "access.record".into(),
                envelope: "{}".into(),
                status: OutboxStatus::Queued,
                code: None,
                message: None,
                height: None,
                attempts: 0,
                next_try_ms: 0,
                created_at: "2026-11-24T08:00:00.000Z".into(),
            })
            .unwrap();
        let at = "2026-11-24T08:00:01.000Z";
        // Accepted: due again at the resend time unless a block holds it.
        cache.mark_submitted("t1", 42, at).unwrap();
        let row = &cache.unsettled().unwrap()[0];
        assert_eq!((row.status.as_str(), row.next_try_ms), ("submitted", 42));
        // The block arrives (sync) before a late answer is recorded.
        cache
            .set_status("t1", OutboxStatus::Committed, None, None, Some(7), at)
            .unwrap();
        cache.mark_submitted("t1", 99, at).unwrap();
        cache
            .set_status("t1", OutboxStatus::Submitted, None, None, None, at)
            .unwrap();
        cache.retry_later("t1", 99, "timeout", at).unwrap();
        let row = cache.outbox_item("t1").unwrap().unwrap();
        assert_eq!((row.status.as_str(), row.height), ("committed", Some(7)));
        assert_eq!((row.attempts, row.message), (0, None));
        assert!(cache.unsettled().unwrap().is_empty());
        drop(cache);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
