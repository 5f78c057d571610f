//! The status bar, sync progress, alarms, nodes and verified checkpoints.

use serde::Serialize;
use ts_rs::TS;

use crate::closed::closed_set;
use crate::error::ErrorBody;

/// A verification failure the official must not miss (a fork, a bad
/// checkpoint, a tampered block). Identical alarms (same code, node and
/// detail) are one alarm with a count until acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Alarm {
    pub id: i64,
    /// When it was last seen (as `last_at`).
    pub at: String,
    pub code: String,
    pub node: String,
    pub detail: String,
    pub acknowledged: bool,
    /// How many times it was seen.
    pub count: u32,
    pub first_at: String,
    pub last_at: String,
}

closed_set! {
    /// What the status bar may claim, derived in the core from the last
    /// sync's outcome and the open alarms: `verified` only when the last
    /// sync verified everything and no alarm is open.
    pub enum StatusState {
        /// The last sync verified the chain and a checkpoint; no open alarm.
        Verified = "verified",
        /// A sync is running and nothing contradicts the last one.
        Syncing = "syncing",
        /// An unacknowledged verification alarm is open.
        Alarm = "alarm",
        /// No node answered the last sync: the local copy is shown.
        Offline = "offline",
        /// Not (yet) verified: never synced, no checkpoint, or the last
        /// sync failed.
        Unverified = "unverified",
        /// The checkpoint lacks the witnesses Settings require.
        NotWitnessed = "not_witnessed",
    }
}

/// The status bar.
// Independent facts of one status report, not a state machine.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct SyncStatus {
    /// What the status bar may claim (see `StatusState`).
    pub state: StatusState,
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
    /// The active chain is the embedded demo's.
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
    /// Blocks verified per second in this sync so far (`None` before a
    /// second has passed).
    pub blocks_per_second: Option<u32>,
    /// At that pace, the seconds until `target` is verified.
    pub seconds_left: Option<u32>,
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
