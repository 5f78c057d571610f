//! The explorer: blocks, transactions, proofs checked step by step, the access log.

use serde::Serialize;
use ts_rs::TS;

use crate::closed::closed_set;

use super::cases::OfficialRef;
use super::signing::TxKind;

/// A block in the explorer's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct BlockSummary {
    pub height: u64,
    pub hash: String,
    pub time: String,
    /// The department whose node proposed it.
    pub proposer: String,
    pub tx_count: u64,
    pub log_size: u64,
    /// Covered by the last verified checkpoint.
    pub checkpointed: bool,
}

/// A transaction in a block's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct TxRow {
    pub index: u32,
    pub id: String,
    pub kind: TxKind,
    pub signer: OfficialRef,
    pub seq: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct BlockDetail {
    pub summary: BlockSummary,
    pub prev_hash: String,
    pub tx_root: String,
    pub log_root: String,
    pub state_root: String,
    pub txs: Vec<TxRow>,
}

/// One transaction, decoded, with its signature checked again here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct TxDetail {
    pub id: String,
    pub height: u64,
    pub index: u32,
    /// Position in the whole log (for inclusion proofs).
    pub leaf_index: u64,
    pub leaf_hash: String,
    pub kind: TxKind,
    pub signer: OfficialRef,
    pub signer_key: String,
    pub seq: u64,
    pub created_at: String,
    /// The payload as indented JSON.
    pub payload: String,
    /// RFC 8785 canonical JSON of the body (what was signed).
    pub canonical_json: String,
    pub signature: String,
    /// The Ed25519 signature verifies for the signer's key (ZIP-215).
    pub signature_valid: bool,
}

/// One step of a proof check, as shown to the auditor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ProofStep {
    pub step: ProofStepId,
    pub value: String,
    pub ok: bool,
    pub detail: String,
}

closed_set! {
    /// The stable id of a step of a proof check.
    pub enum ProofStepId {
        /// The transaction's leaf hash, recomputed here.
        Leaf = "leaf",
        /// The audit path.
        Path = "path",
        /// The root the path leads to.
        Root = "root",
        /// The (first) checkpoint note's signatures.
        Checkpoint = "checkpoint",
        /// The second checkpoint of a consistency proof.
        Checkpoint2 = "checkpoint2",
        /// The consistency proof between the two.
        Consistency = "consistency",
        /// The checkpoint against this copy's own root.
        Local = "local",
    }
}

/// A proof checked in the app, step by step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ProofReport {
    pub kind: ProofKind,
    pub ok: bool,
    pub steps: Vec<ProofStep>,
    /// The checkpoint note checked, as text (to hand to someone else).
    pub note: String,
    /// The proof checked, as JSON text (empty for a checkpoint alone).
    pub proof: String,
}

closed_set! {
    /// What a proof report checked.
    pub enum ProofKind {
        Inclusion = "inclusion",
        Consistency = "consistency",
        /// A checkpoint alone.
        Checkpoint = "checkpoint",
    }
}

/// One recorded access to sensitive data (`access.record`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct AccessRow {
    /// When the official accessed the data (their clock, as signed).
    pub at: String,
    pub official: OfficialRef,
    pub department: String,
    pub department_name: String,
    pub dataset: String,
    pub operation: String,
    pub purpose: String,
    /// Salted hash of the person concerned, if any.
    pub subject: Option<String>,
    pub height: u64,
    pub tx_id: String,
}
