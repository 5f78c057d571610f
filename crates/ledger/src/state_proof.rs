//! State proofs as a node serves them (PROTOCOL.md §12.7, §15.3
//! `GET /v1/state/{key}`): entries of the ledger state, each with a proof of
//! its value (or of its absence) against the `state_root` of a signed block
//! header, and the signed checkpoint whose log that header closes.
//!
//! A client that trusts the consortium's node keys and the checkpoint's
//! signers checks objects this way without syncing the chain:
//! [`StateProofs::verify`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::block::BlockHeader;
use crate::crypto::{KeyId, PublicKey, Signature};
use crate::jcs::{self, JcsError};
use crate::note::{self, NoteError, NoteKey, StateLine};
use crate::smt::{StateProof, StateProofError};
use crate::state::{BadEntryKey, EntryKey};
use crate::types::ChainId;
use crate::ErrorCode;

/// A block header with its proposer's signature (PROTOCOL.md §7.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedHeader {
    pub header: BlockHeader,
    pub sig: Signature,
}

/// One entry and its proof: `value` is the entry's JSON, or null when the
/// proof shows the key absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryProof {
    pub key: String,
    pub value: Option<Value>,
    pub proof: StateProof,
}

/// Entries proven against the state after one block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateProofs {
    /// The block whose `state_root` the proofs are against.
    pub block: SignedHeader,
    /// A signed checkpoint (C2SP note) of the log as that block closes it.
    pub checkpoint: String,
    pub entries: Vec<EntryProof>,
}

/// Who the verifier trusts for checkpoints (PROTOCOL.md §8.5).
#[derive(Debug, Clone)]
pub struct CheckpointTrust {
    pub origin: String,
    /// The serving node's log key.
    pub log_key: NoteKey,
    pub witnesses: Vec<NoteKey>,
    /// Cosignatures required from distinct witnesses.
    pub quorum: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum StateProofsError {
    #[error("the header is of chain {found}, not {expected}")]
    WrongChain { expected: String, found: String },
    #[error("the header's proposer {0} is not a node key the verifier trusts")]
    UnknownProposer(KeyId),
    #[error("the header's signature does not verify")]
    HeaderSignature,
    #[error("the checkpoint does not verify: {0}")]
    Checkpoint(#[from] NoteError),
    #[error("the checkpoint (size {size}, root {root}) is not the log the header closes (size {log_size}, root {log_root})")]
    CheckpointMismatch {
        size: u64,
        root: crate::types::Hash32,
        log_size: u64,
        log_root: crate::types::Hash32,
    },
    #[error("the checkpoint's state line ({found}) is not the header's block {height} with state root {state_root}")]
    CheckpointState {
        found: String,
        height: u64,
        state_root: crate::types::Hash32,
    },
    #[error(transparent)]
    Key(#[from] BadEntryKey),
    #[error("entry {key}: {source}")]
    Entry {
        key: String,
        source: StateProofError,
    },
    #[error(transparent)]
    Jcs(#[from] JcsError),
}

impl ErrorCode for StateProofsError {
    fn code(&self) -> &'static str {
        match self {
            Self::WrongChain { .. } => "state_proof.wrong_chain",
            Self::UnknownProposer(_) => "state_proof.unknown_proposer",
            Self::HeaderSignature => "state_proof.header_signature",
            Self::Checkpoint(e) => e.code(),
            Self::CheckpointMismatch { .. } | Self::CheckpointState { .. } => {
                "state_proof.checkpoint_mismatch"
            }
            Self::Key(e) => e.code(),
            Self::Entry { source, .. } => source.code(),
            Self::Jcs(e) => e.code(),
        }
    }
}

/// A verified entry: its key and its value (`None`: proven absent).
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedEntry {
    pub key: EntryKey,
    pub value: Option<Value>,
}

impl StateProofs {
    /// Checks the header's chain and signature (`node_key` gives the
    /// trusted key of a node key id), the checkpoint against `trust` and
    /// against the header's `log_size`/`log_root`, its `state` line against
    /// the header's `height`/`state_root` (so the witnesses' cosignatures
    /// cover the state root), and every entry's proof against the header's
    /// `state_root`. Returns the entries in order.
    pub fn verify(
        &self,
        chain_id: &ChainId,
        node_key: impl Fn(&KeyId) -> Option<PublicKey>,
        trust: &CheckpointTrust,
    ) -> Result<Vec<VerifiedEntry>, StateProofsError> {
        let h = &self.block.header;
        if h.chain_id != *chain_id {
            return Err(StateProofsError::WrongChain {
                expected: chain_id.to_string(),
                found: h.chain_id.to_string(),
            });
        }
        let key = node_key(&h.proposer).ok_or(StateProofsError::UnknownProposer(h.proposer))?;
        if key.key_id() != h.proposer {
            return Err(StateProofsError::UnknownProposer(h.proposer));
        }
        key.verify(&h.signed_message()?, &self.block.sig)
            .map_err(|_| StateProofsError::HeaderSignature)?;
        let cp = note::verify_checkpoint(
            &self.checkpoint,
            &trust.origin,
            &trust.log_key,
            &trust.witnesses,
            trust.quorum,
        )?
        .checkpoint;
        if cp.size != h.log_size || cp.root != h.log_root {
            return Err(StateProofsError::CheckpointMismatch {
                size: cp.size,
                root: cp.root,
                log_size: h.log_size,
                log_root: h.log_root,
            });
        }
        // The state line is what the witnesses cosigned about the state.
        let line = cp.state_line()?;
        let want = StateLine {
            height: h.height,
            state_root: h.state_root,
        };
        if line != Some(want) {
            return Err(StateProofsError::CheckpointState {
                found: line.map_or_else(|| "none".to_owned(), |l| l.to_line()),
                height: h.height,
                state_root: h.state_root,
            });
        }
        self.entries
            .iter()
            .map(|e| {
                let key: EntryKey = e.key.parse()?;
                let bytes = e.value.as_ref().map(jcs::canonicalize).transpose()?;
                e.proof
                    .verify(&h.state_root, e.key.as_bytes(), bytes.as_deref())
                    .map_err(|source| StateProofsError::Entry {
                        key: e.key.clone(),
                        source,
                    })?;
                Ok(VerifiedEntry {
                    key,
                    value: e.value.clone(),
                })
            })
            .collect()
    }
}
