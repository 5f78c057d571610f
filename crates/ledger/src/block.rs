//! Blocks: the signed header, the hash chain and block verification.
//!
//! A block commits to its transactions twice: `tx_root` is the RFC 6962 root
//! over this block's leaves only, `log_root`/`log_size` the root of the whole
//! transaction log after appending them (what checkpoints sign). The block
//! hash is the SHA-256 of the proposer's signed message
//! `govchain/v2/block/<chain_id> || 0x00 || JCS(header)`.

use serde::{Deserialize, Serialize};

use crate::crypto::{CryptoError, KeyId, PublicKey, SecretKey, Signature, Signer, SignerError};
use crate::domain::{self, Domain};
use crate::jcs::{self, JcsError};
use crate::merkle::{self, Frontier};
use crate::tx::{Envelope, TxError};
use crate::types::{ChainId, Hash32, Timestamp};
use crate::ErrorCode;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BlockError {
    #[error("block {height}: expected chain {expected}, found {found}")]
    WrongChain {
        height: u64,
        expected: ChainId,
        found: ChainId,
    },
    #[error("expected height {expected}, found {found}")]
    Height { expected: u64, found: u64 },
    #[error("block {height}: previous hash does not match block {}", height.saturating_sub(1))]
    PrevHash { height: u64 },
    #[error("block {height}: time goes backwards")]
    TimeBackwards { height: u64 },
    #[error("block {height}: header says {header} transactions, body has {body}")]
    TxCount { height: u64, header: u64, body: u64 },
    #[error("block {height}: tx_root does not match the transactions")]
    TxRoot { height: u64 },
    #[error("block {height}: log size {found}, expected {expected}")]
    LogSize {
        height: u64,
        expected: u64,
        found: u64,
    },
    #[error("block {height}: log_root does not match the log")]
    LogRoot { height: u64 },
    #[error("block {height}: proposer {proposer} is not a known node key")]
    UnknownProposer { height: u64, proposer: KeyId },
    #[error("block {height}: proposer signature: {source}")]
    Signature { height: u64, source: CryptoError },
    #[error("block {height}: transaction {index}: {source}")]
    Tx {
        height: u64,
        index: usize,
        source: TxError,
    },
    #[error(transparent)]
    Json(#[from] JcsError),
    #[error("block is {0} bytes; the limit is {MAX_BLOCK_BYTES}")]
    TooLarge(usize),
    #[error("block shape: {0}")]
    Shape(String),
    #[error("the proposer's key did not sign: {0}")]
    Signer(#[from] SignerError),
}

/// Largest encoded block accepted by [`Block::from_json`].
pub const MAX_BLOCK_BYTES: usize = 64 * 1024 * 1024;

impl ErrorCode for BlockError {
    fn code(&self) -> &'static str {
        match self {
            Self::WrongChain { .. } => "block.wrong_chain",
            Self::Height { .. } => "block.height",
            Self::PrevHash { .. } => "block.prev_hash",
            Self::TimeBackwards { .. } => "block.time_backwards",
            Self::TxCount { .. } => "block.tx_count",
            Self::TxRoot { .. } => "block.tx_root",
            Self::LogSize { .. } => "block.log_size",
            Self::LogRoot { .. } => "block.log_root",
            Self::UnknownProposer { .. } => "block.unknown_proposer",
            Self::Signature { .. } => "block.signature",
            Self::Tx { .. } => "block.tx",
            Self::Json(e) => e.code(),
            Self::Signer(e) => e.code(),
            Self::TooLarge(_) => "block.too_large",
            Self::Shape(_) => "block.shape",
        }
    }
}

/// What the proposer signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockHeader {
    pub chain_id: ChainId,
    pub height: u64,
    /// Hash of block `height - 1`; all zeros for the genesis block (height 0).
    pub prev_hash: Hash32,
    /// Ledger time: the only clock rules may use.
    pub time: Timestamp,
    /// Key id of the proposing node.
    pub proposer: KeyId,
    pub tx_count: u64,
    /// RFC 6962 root over this block's transaction leaves.
    pub tx_root: Hash32,
    /// Size of the whole transaction log after this block.
    pub log_size: u64,
    /// RFC 6962 root of the whole transaction log after this block.
    pub log_root: Hash32,
    /// Digest of the ledger state after applying this block.
    pub state_root: Hash32,
}

impl BlockHeader {
    pub fn signed_message(&self) -> Result<Vec<u8>, JcsError> {
        domain::signed_message(Domain::Block, &self.chain_id, self)
    }

    /// The block hash: SHA-256 of the signed message.
    pub fn hash(&self) -> Result<Hash32, JcsError> {
        Ok(Hash32::sha256(&self.signed_message()?))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Block {
    pub header: BlockHeader,
    /// Proposer's signature over the header's signed message.
    pub sig: Signature,
    pub txs: Vec<Envelope>,
}

/// Leaf hashes of a block's transactions, in order.
pub fn tx_leaf_hashes(txs: &[Envelope]) -> Result<Vec<Hash32>, JcsError> {
    txs.iter()
        .map(|tx| {
            tx.leaf_bytes()
                .map(|leaf| merkle::leaf_hash(&leaf))
                .map_err(|e| match e {
                    crate::tx::TxError::Json(j) => j,
                    other => JcsError::Syntax(other.to_string()),
                })
        })
        .collect()
}

/// Everything a proposer decides; [`Block::seal`] computes the rest.
#[derive(Debug, Clone)]
pub struct BlockDraft {
    pub chain_id: ChainId,
    pub height: u64,
    pub prev_hash: Hash32,
    pub time: Timestamp,
    pub txs: Vec<Envelope>,
    pub state_root: Hash32,
}

impl Block {
    /// Parses an untrusted encoded block: size limit, strict I-JSON, exact
    /// shape (`block.shape`), and every envelope's own checks (`block.tx`).
    pub fn from_json(bytes: &[u8]) -> Result<Self, BlockError> {
        if bytes.len() > MAX_BLOCK_BYTES {
            return Err(BlockError::TooLarge(bytes.len()));
        }
        let mut value = jcs::parse_strict(bytes)?;
        let height = value["header"]["height"].as_u64().unwrap_or(0);
        // Envelopes are checked one by one so the error names the transaction.
        let Some(serde_json::Value::Array(txs)) = value.get_mut("txs").map(serde_json::Value::take)
        else {
            return Err(BlockError::Shape("missing array member \"txs\"".into()));
        };
        let txs = txs
            .into_iter()
            .enumerate()
            .map(|(index, tx)| {
                Envelope::from_value(tx).map_err(|source| BlockError::Tx {
                    height,
                    index,
                    source,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        value["txs"] = serde_json::Value::Array(Vec::new());
        let mut block: Block =
            serde_json::from_value(value).map_err(|e| BlockError::Shape(e.to_string()))?;
        block.txs = txs;
        Ok(block)
    }

    /// Computes roots and sizes, appends the leaves to `log`, and signs.
    /// `log` is the log's frontier before this block and is advanced.
    pub fn seal(key: &SecretKey, draft: BlockDraft, log: &mut Frontier) -> Result<Self, JcsError> {
        let leaves = tx_leaf_hashes(&draft.txs)?;
        Self::seal_with_leaves(key, draft, &leaves, log)
    }

    /// Like [`Block::seal`] when the caller already has the transactions'
    /// leaf hashes ([`tx_leaf_hashes`]), in order.
    pub fn seal_with_leaves(
        key: &SecretKey,
        draft: BlockDraft,
        leaves: &[Hash32],
        log: &mut Frontier,
    ) -> Result<Self, JcsError> {
        Self::seal_by(key.key_id(), |m| Ok(key.sign_raw(m)), draft, leaves, log)
    }

    /// Like [`Block::seal_with_leaves`] with a key that may fail to sign (a
    /// hardware token). On failure `log` may have advanced: seal on a copy.
    pub fn seal_with_signer(
        key: &(impl Signer + ?Sized),
        draft: BlockDraft,
        leaves: &[Hash32],
        log: &mut Frontier,
    ) -> Result<Self, BlockError> {
        Self::seal_by(key.key_id(), |m| Ok(key.try_sign(m)?), draft, leaves, log)
    }

    fn seal_by<E: From<JcsError>>(
        proposer: KeyId,
        sign: impl FnOnce(&[u8]) -> Result<Signature, E>,
        draft: BlockDraft,
        leaves: &[Hash32],
        log: &mut Frontier,
    ) -> Result<Self, E> {
        for h in leaves {
            log.push_hash(*h);
        }
        let header = BlockHeader {
            chain_id: draft.chain_id,
            height: draft.height,
            prev_hash: draft.prev_hash,
            time: draft.time,
            proposer,
            tx_count: draft.txs.len() as u64,
            tx_root: merkle::root_of(leaves),
            log_size: log.size,
            log_root: log.root(),
            state_root: draft.state_root,
        };
        let sig = sign(&header.signed_message()?)?;
        Ok(Self {
            header,
            sig,
            txs: draft.txs,
        })
    }
}

/// What a verifier remembers between blocks: the chain, the last header and
/// the log frontier. Start from [`ChainCursor::genesis`] and feed blocks in
/// order; any break in the chain is an error and leaves the cursor unchanged.
#[derive(Debug, Clone)]
pub struct ChainCursor {
    pub chain_id: ChainId,
    pub next_height: u64,
    pub last_hash: Hash32,
    pub last_time: Option<Timestamp>,
    pub log: Frontier,
}

impl ChainCursor {
    pub fn genesis(chain_id: ChainId) -> Self {
        Self {
            chain_id,
            next_height: 0,
            last_hash: Hash32::ZERO,
            last_time: None,
            log: Frontier::default(),
        }
    }

    /// Checks `block` extends the chain: chain id, height, previous hash,
    /// monotonic time, transaction count and roots, log size and root, and the
    /// proposer's signature (`proposer_key` finds a node key by id). Does not
    /// check transaction signatures or rules: that is the state machine's job.
    pub fn verify_next(
        &mut self,
        block: &Block,
        proposer_key: impl Fn(&KeyId) -> Option<PublicKey>,
    ) -> Result<Hash32, BlockError> {
        let leaves = tx_leaf_hashes(&block.txs)?;
        self.verify_next_with_leaves(block, &leaves, proposer_key)
    }

    /// [`ChainCursor::verify_next`] with the transactions' leaf hashes
    /// already computed (`leaves[i]` for `block.txs[i]`, e.g. from
    /// [`crate::tx::Envelope::digests`]).
    pub fn verify_next_with_leaves(
        &mut self,
        block: &Block,
        leaves: &[Hash32],
        proposer_key: impl Fn(&KeyId) -> Option<PublicKey>,
    ) -> Result<Hash32, BlockError> {
        let h = &block.header;
        let height = h.height;
        if h.chain_id != self.chain_id {
            return Err(BlockError::WrongChain {
                height,
                expected: self.chain_id.clone(),
                found: h.chain_id.clone(),
            });
        }
        if height != self.next_height {
            return Err(BlockError::Height {
                expected: self.next_height,
                found: height,
            });
        }
        if h.prev_hash != self.last_hash {
            return Err(BlockError::PrevHash { height });
        }
        if self.last_time.is_some_and(|t| h.time < t) {
            return Err(BlockError::TimeBackwards { height });
        }
        if let Some(index) = block
            .txs
            .iter()
            .position(|tx| tx.body.chain_id != self.chain_id)
        {
            return Err(BlockError::Tx {
                height,
                index,
                source: TxError::Shape(format!(
                    "transaction of chain {} in a block of chain {}",
                    block.txs[index].body.chain_id, self.chain_id
                )),
            });
        }
        let body = block.txs.len() as u64;
        if h.tx_count != body {
            return Err(BlockError::TxCount {
                height,
                header: h.tx_count,
                body,
            });
        }
        if leaves.len() != block.txs.len() || merkle::root_of(leaves) != h.tx_root {
            return Err(BlockError::TxRoot { height });
        }
        let mut log = self.log.clone();
        for leaf in leaves {
            log.push_hash(*leaf);
        }
        if log.size != h.log_size {
            return Err(BlockError::LogSize {
                height,
                expected: log.size,
                found: h.log_size,
            });
        }
        if log.root() != h.log_root {
            return Err(BlockError::LogRoot { height });
        }
        let key = proposer_key(&h.proposer).ok_or(BlockError::UnknownProposer {
            height,
            proposer: h.proposer,
        })?;
        if key.key_id() != h.proposer {
            return Err(BlockError::Signature {
                height,
                source: CryptoError::KeyIdMismatch,
            });
        }
        let msg = h.signed_message()?;
        key.verify(&msg, &block.sig)
            .map_err(|source| BlockError::Signature { height, source })?;
        let hash = Hash32::sha256(&msg);
        self.next_height += 1;
        self.last_hash = hash;
        self.last_time = Some(h.time);
        self.log = log;
        Ok(hash)
    }
}
