//! The cache's typed rows: what each table holds, as Rust types, and the
//! keys of the `meta` table.

use govchain_ledger::block::Block;
use govchain_ledger::types::Hash32;

use crate::dto::{OutboxStatus, TxKind};

use super::to_u64;

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
    /// The log's frontier after the last cached block (JSON), written with
    /// the stored state.
    LogFrontier,
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
            Self::LogFrontier => "state.log_frontier",
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
    /// The token holding its secret; `None`: the OS keychain.
    pub token: Option<crate::hardware::TokenRef>,
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
    pub kind: TxKind,
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
    /// When it was first seen.
    pub at: String,
    pub code: String,
    pub node: String,
    pub detail: String,
    pub acknowledged: bool,
    /// How many times it was seen (identical alarms are grouped).
    pub count: u64,
    /// When it was last seen.
    pub last_at: String,
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

pub(super) fn outbox_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxRow> {
    Ok(OutboxRow {
        id: r.get(0)?,
        signer: r.get(1)?,
        seq: to_u64(r.get(2)?),
        kind: {
            let s: String = r.get(3)?;
            TxKind::parse(&s).ok_or_else(|| {
                rusqlite::Error::FromSqlConversionFailure(
                    3,
                    rusqlite::types::Type::Text,
                    format!("unknown transaction kind {s:?}").into(),
                )
            })?
        },
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

pub(super) fn checkpoint_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CheckpointRow> {
    Ok(CheckpointRow {
        size: to_u64(r.get(0)?),
        root: r.get(1)?,
        signer: r.get(2)?,
        note: r.get(3)?,
        node: r.get(4)?,
        at: r.get(5)?,
    })
}

pub(super) const OUTBOX_COLUMNS: &str = "id, signer, seq, kind, envelope, status, code, message, height, attempts, next_try_ms, created_at";
