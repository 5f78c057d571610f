//! The offline cache: one SQLite file in the app's data directory (WAL,
//! `synchronous=FULL`). It holds verified blocks and the state after them
//! (read back at start, not recomputed), the last verified checkpoint,
//! the outbox of signed transactions, node URLs, alarms and public key
//! records. It never holds a secret key.
//!
//! This module owns the schema, opening and migrating the file, settings
//! (`meta`), key records, nodes and alarms; [`rows`] the typed rows,
//! `blocks` the verified blocks and checkpoints, `state` the verified state
//! after the last block, `outbox` the outbox.

mod blocks;
mod certificates;
mod outbox;
mod rows;
mod state;

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::WsError;
use crate::hardware::TokenRef;

pub use certificates::IssuedSalt;
pub use rows::{
    AlarmRow, BlockText, CheckpointRow, HeaderText, KeyRow, MetaKey, OutboxRow, VerifiedBlock,
};

const SCHEMA_VERSION: i64 = 7;

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

/// Identical alarms (same code, node and detail) are one row with a count
/// and the first (`at`) and last time seen.
const MIGRATION_4: &str = "
ALTER TABLE alarms ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
ALTER TABLE alarms ADD COLUMN last_at TEXT;
UPDATE alarms SET last_at = at;
";

/// The salts of certificates this workstation issued (PROTOCOL.md §12.6:
/// `commitment = SHA-256(salt ‖ document)`), to print the citizen's
/// certificate again; the document itself stays in the document store.
const MIGRATION_5: &str = "
CREATE TABLE IF NOT EXISTS certificate_salts (
    cert_id TEXT NOT NULL,
    commitment TEXT NOT NULL,
    salt TEXT NOT NULL,
    document TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (cert_id, commitment)
);
";

/// Keys on a hardware token: which module, token and key label hold the
/// secret (public facts; the PIN is never stored).
const MIGRATION_6: &str = "
CREATE TABLE IF NOT EXISTS token_keys (
    key_id TEXT PRIMARY KEY,
    module TEXT NOT NULL,
    token_label TEXT NOT NULL,
    token_serial TEXT NOT NULL,
    key_label TEXT NOT NULL
);
";

fn token_ref(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRef> {
    Ok(TokenRef {
        module: r.get(0)?,
        token_label: r.get(1)?,
        token_serial: r.get(2)?,
        key_label: r.get(3)?,
    })
}

#[derive(Debug)]
pub struct Cache {
    conn: Connection,
}

pub(super) fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub(super) fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

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
        if version < 4 {
            // Idempotent: a file whose version was set back keeps its columns.
            let grouped: i64 = conn.query_row(
                "SELECT COUNT(*) FROM pragma_table_info('alarms') WHERE name = 'count'",
                [],
                |r| r.get(0),
            )?;
            if grouped == 0 {
                conn.execute_batch(MIGRATION_4)?;
            }
            conn.pragma_update(None, "user_version", 4)?;
        }
        if version < 5 {
            conn.execute_batch(MIGRATION_5)?;
            conn.pragma_update(None, "user_version", 5)?;
        }
        if version < 6 {
            conn.execute_batch(MIGRATION_6)?;
            conn.pragma_update(None, "user_version", 6)?;
        }
        if version < 7 {
            state::migration_7(&conn)?;
            conn.pragma_update(None, "user_version", 7)?;
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

    /// Records that key `key_id`'s secret lives on a token.
    pub fn add_token_key(&self, key_id: &str, r: &TokenRef) -> Result<(), WsError> {
        self.conn.execute(
            "INSERT OR REPLACE INTO token_keys (key_id, module, token_label, token_serial, key_label) VALUES (?1, ?2, ?3, ?4, ?5)",
            [key_id, &r.module, &r.token_label, &r.token_serial, &r.key_label],
        )?;
        Ok(())
    }

    /// Where key `key_id` lives, if on a token.
    pub fn token_key(&self, key_id: &str) -> Result<Option<TokenRef>, WsError> {
        Ok(self
            .conn
            .query_row(
                "SELECT module, token_label, token_serial, key_label FROM token_keys WHERE key_id = ?1",
                [key_id],
                token_ref,
            )
            .optional()?)
    }

    pub fn remove_key(&self, key_id: &str) -> Result<(), WsError> {
        self.conn
            .execute("DELETE FROM keys WHERE key_id = ?1", [key_id])?;
        self.conn
            .execute("DELETE FROM token_keys WHERE key_id = ?1", [key_id])?;
        Ok(())
    }

    /// Every key this workstation created or imported, oldest first.
    pub fn keys(&self) -> Result<Vec<KeyRow>, WsError> {
        let mut stmt = self.conn.prepare(
            "SELECT k.key_id, k.public_key, k.label, k.created_at, t.module, t.token_label, t.token_serial, t.key_label \
             FROM keys k LEFT JOIN token_keys t ON t.key_id = k.key_id ORDER BY k.created_at",
        )?;
        let rows = stmt.query_map([], |r| {
            let module: Option<String> = r.get(4)?;
            Ok(KeyRow {
                key_id: r.get(0)?,
                public_key: r.get(1)?,
                label: r.get(2)?,
                created_at: r.get(3)?,
                token: match module {
                    Some(module) => Some(TokenRef {
                        module,
                        token_label: r.get(5)?,
                        token_serial: r.get(6)?,
                        key_label: r.get(7)?,
                    }),
                    None => None,
                },
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
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

    /// Records an alarm. The same alarm (code, node and detail) still open
    /// is counted again instead of repeated; once acknowledged, the next
    /// occurrence opens a new one.
    pub fn raise_alarm(
        &self,
        at: &str,
        code: &str,
        node: &str,
        detail: &str,
    ) -> Result<(), WsError> {
        let counted = self.conn.execute(
            "UPDATE alarms SET count = count + 1, last_at = ?1
             WHERE id = (SELECT id FROM alarms
                         WHERE code = ?2 AND node = ?3 AND detail = ?4 AND acknowledged = 0
                         ORDER BY id DESC LIMIT 1)",
            [at, code, node, detail],
        )?;
        if counted == 0 {
            self.conn.execute(
                "INSERT INTO alarms (at, code, node, detail, last_at) VALUES (?1, ?2, ?3, ?4, ?1)",
                [at, code, node, detail],
            )?;
        }
        Ok(())
    }

    /// The latest 100 alarms, most recently seen first.
    pub fn alarms(&self) -> Result<Vec<AlarmRow>, WsError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, at, code, node, detail, acknowledged, count, COALESCE(last_at, at)
             FROM alarms ORDER BY COALESCE(last_at, at) DESC, id DESC LIMIT 100",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(AlarmRow {
                id: r.get(0)?,
                at: r.get(1)?,
                code: r.get(2)?,
                node: r.get(3)?,
                detail: r.get(4)?,
                acknowledged: r.get::<_, i64>(5)? != 0,
                count: to_u64(r.get(6)?),
                last_at: r.get(7)?,
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
    use crate::dto::{OutboxStatus, TxKind};

    #[test]
    fn identical_alarms_are_grouped() {
        let dir =
            std::env::temp_dir().join(format!("govchain-cache-alarms-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let cache = Cache::open(&dir.join("cache.sqlite")).unwrap();
        let code = "checkpoint.missing_log_signature";
        for i in 0..5 {
            let at = format!("2026-11-24T08:00:0{i}.000Z");
            cache
                .raise_alarm(&at, code, "http://a", "no signature")
                .unwrap();
        }
        cache
            .raise_alarm("2026-11-24T08:00:06.000Z", code, "http://b", "no signature")
            .unwrap();
        let alarms = cache.alarms().unwrap();
        assert_eq!(alarms.len(), 2, "{alarms:?}");
        let a = alarms.iter().find(|a| a.node == "http://a").unwrap();
        assert_eq!((a.count, a.at.as_str()), (5, "2026-11-24T08:00:00.000Z"));
        assert_eq!(a.last_at, "2026-11-24T08:00:04.000Z");
        assert_eq!(
            alarms.iter().find(|a| a.node == "http://b").unwrap().count,
            1
        );
        // Acknowledging the group acknowledges it; the next one opens anew.
        cache.acknowledge_alarm(a.id).unwrap();
        cache
            .raise_alarm("2026-11-24T08:00:07.000Z", code, "http://a", "no signature")
            .unwrap();
        let alarms = cache.alarms().unwrap();
        assert_eq!(alarms.len(), 3);
        let open: Vec<_> = alarms
            .iter()
            .filter(|x| x.node == "http://a" && !x.acknowledged)
            .collect();
        assert_eq!((open.len(), open[0].count), (1, 1));
        drop(cache);
        let _ = std::fs::remove_dir_all(&dir);
    }

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
                kind: TxKind::AccessRecord,
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
