//! Response schemas for the OpenAPI document. [`ErrorBody`] is every error;
//! the other types here describe JSON the node passes through as the ledger
//! serializes it (stored blocks, proofs, state records): they exist for the
//! document only, and each mirrors its ledger type field for field.
//! Responses the node builds itself are typed next to their handlers.

use serde_json::Value;
use utoipa::ToSchema;

/// The error body of every non-2xx response.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable code, e.g. `tx.replayed` (PROTOCOL.md §9, §12.8).
    pub code: String,
    /// What happened and what to do, for people.
    pub message: String,
}

/// A block as stored and signed (PROTOCOL.md §7.2).
#[derive(Debug, ToSchema)]
pub struct BlockJson {
    /// The block header: chain id, height, previous hash, time, proposer,
    /// transaction and log roots, state root.
    #[schema(value_type = Object)]
    pub header: Value,
    /// The proposer's signature over the header (hex).
    pub sig: String,
    /// The block's transaction envelopes, in order.
    pub txs: Vec<EnvelopeJson>,
}

/// A block header with its proposer's signature (PROTOCOL.md §7.2).
#[derive(Debug, ToSchema)]
pub struct SignedHeaderJson {
    /// The block header.
    #[schema(value_type = Object)]
    pub header: Value,
    /// The proposer's signature over the header (hex).
    pub sig: String,
}

/// A sparse Merkle proof (PROTOCOL.md §12.7).
#[derive(Debug, ToSchema)]
pub struct StateProofJson {
    /// The leaf on the key's path, `{key, value}` hashes (hex), or null.
    #[schema(value_type = Option<Object>)]
    pub leaf: Option<Value>,
    /// Sibling hashes from the root's children down (hex).
    pub siblings: Vec<String>,
}

/// One state entry and its proof.
#[derive(Debug, ToSchema)]
pub struct EntryProofJson {
    /// The entry key, e.g. `case/RC-1`.
    pub key: String,
    /// The entry's JSON value; null when the proof shows it absent.
    #[schema(value_type = Option<Object>)]
    pub value: Option<Value>,
    pub proof: StateProofJson,
}

/// State entries proven against one block's state root.
#[derive(Debug, ToSchema)]
pub struct StateProofsJson {
    /// The block whose `state_root` the proofs are against.
    pub block: SignedHeaderJson,
    /// The signed checkpoint (C2SP note) of the log as that block closes it.
    pub checkpoint: String,
    pub entries: Vec<EntryProofJson>,
}

/// A page of blocks.
#[derive(Debug, ToSchema)]
pub struct BlocksPage {
    /// Blocks in height order (fewer than asked for when they would pass
    /// 96 MiB; at least one if any).
    pub blocks: Vec<BlockJson>,
    /// The node's height.
    pub height: u64,
}

/// A signed transaction envelope (PROTOCOL.md §5.2).
#[derive(Debug, ToSchema)]
pub struct EnvelopeJson {
    /// The signed body: chain id, signer, seq, kind, payload, creation time.
    #[schema(value_type = Object)]
    pub body: Value,
    /// The signer's signature (hex).
    pub sig: String,
}

/// An RFC 9162 inclusion proof.
#[derive(Debug, ToSchema)]
pub struct InclusionProofJson {
    pub leaf_index: u64,
    pub tree_size: u64,
    /// Sibling hashes (hex), leaf to root.
    pub path: Vec<String>,
}

/// An RFC 9162 consistency proof.
#[derive(Debug, ToSchema)]
pub struct ConsistencyProofJson {
    pub size1: u64,
    pub size2: u64,
    /// Proof hashes (hex).
    pub path: Vec<String>,
}

/// A case waiting for an official's signature.
#[derive(Debug, ToSchema)]
pub struct InboxItemJson {
    pub case_id: String,
    pub title: String,
    pub template: String,
    pub stage: u64,
    pub stage_name: String,
    pub department: String,
    /// Time (PROTOCOL.md §2.3).
    pub waiting_since: String,
    /// When the stage's deadline passes, if it has one.
    pub deadline: Option<String>,
}

/// One edge of a project's fund-flow graph.
#[derive(Debug, ToSchema)]
pub struct FlowJson {
    pub source: String,
    pub target: String,
    /// Fen (1/100 yuan).
    pub amount: u64,
    /// `paid`, `pending` or `unallocated`.
    pub status: String,
}

/// A project and its payments.
#[derive(Debug, ToSchema)]
pub struct ProjectJson {
    pub id: String,
    pub name: String,
    /// Fen.
    pub budget: u64,
    /// The parties (contractor, supervisor, ...) and their keys.
    #[schema(value_type = Object)]
    pub parties: Value,
    /// The parties whose approvals a payment needs, in order.
    pub approvers: Vec<String>,
    pub created_at: u64,
    /// Fen paid so far.
    pub paid: u64,
    /// Fen requested and not yet paid.
    pub pending: u64,
    /// Payments by id.
    #[schema(value_type = Object)]
    pub payments: Value,
}

/// An active blacklist entry.
#[derive(Debug, ToSchema)]
pub struct BlacklistEntryJson {
    /// Salted identity hash (hex).
    pub subject: String,
    pub department: String,
    pub reason: String,
    /// The official who added it (key id, hex).
    pub added_by: String,
    pub added_at: u64,
}

/// One recorded access to sensitive data.
#[derive(Debug, ToSchema)]
pub struct AccessRecordJson {
    /// The official's id (hex).
    pub official: String,
    pub department: String,
    /// What was accessed: at, dataset, operation, purpose, subject.
    #[schema(value_type = Object)]
    pub entry: Value,
    pub height: u64,
    /// The `access.record` transaction (hex).
    pub tx_id: String,
}
