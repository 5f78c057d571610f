//! The status bar, sync progress, alarms, nodes and verified checkpoints.

use serde::Serialize;
use ts_rs::TS;

use crate::error::ErrorBody;

/// A verification failure the official must not miss (a fork, a bad
/// checkpoint, a tampered block).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Alarm {
    pub id: i64,
    pub at: String,
    pub code: String,
    pub node: String,
    pub detail: String,
    pub acknowledged: bool,
}

/// The status bar.
// Independent facts of one status report, not a state machine.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct SyncStatus {
    /// The verified chain's id and genesis block hash (to compare with what
    /// the consortium published), once a block is verified.
    pub chain_id: Option<String>,
    pub genesis_hash: Option<String>,
    /// Whether a chain is pinned (`pin_chain`): only it is accepted.
    pub pinned: bool,
    pub online: bool,
    pub syncing: bool,
    /// The node that answered last.
    pub node: Option<String>,
    pub nodes: Vec<String>,
    /// Running the embedded demo node (no node configured).
    pub embedded: bool,
    /// Last verified block height.
    pub height: Option<u64>,
    pub log_size: u64,
    /// Size of the last verified checkpoint.
    pub checkpoint_size: Option<u64>,
    pub checkpoint_signer: Option<String>,
    /// How many other departments must cosign a checkpoint (Settings).
    pub witness_quorum: u32,
    /// The departments that cosigned the last accepted checkpoint (known
    /// after a sync in this session).
    pub checkpoint_witnesses: Vec<String>,
    pub last_sync_at: Option<String>,
    pub last_error: Option<ErrorBody>,
    pub outbox_pending: u32,
    pub alarms: Vec<Alarm>,
}

/// A node that answered "test connection".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct NodeProbe {
    pub url: String,
    pub chain_id: String,
    /// Block 0's hash, hex (what the consortium publishes with the id).
    pub genesis_hash: String,
    pub height: u64,
}

/// Sync progress, sent as events while blocks are fetched and verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct SyncProgress {
    pub height: u64,
    pub target: u64,
}

/// A checkpoint this workstation verified and kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct CheckpointInfo {
    pub size: u64,
    pub root: String,
    /// The note key name that signed it.
    pub signer: String,
    /// The node it came from.
    pub node: String,
    /// When this workstation verified it.
    pub at: String,
}
