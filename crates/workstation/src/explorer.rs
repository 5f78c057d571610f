//! The auditor's explorer over the verified cache: block list and detail,
//! and transactions decoded with their signatures checked again. Proofs are
//! in [`crate::proofs`].

use govchain_ledger::block::{Block, BlockHeader};
use govchain_ledger::crypto::PublicKey;
use govchain_ledger::state::State;
use govchain_ledger::tx::Envelope;
use govchain_ledger::ErrorCode;

use crate::dto::{BlockDetail, BlockSummary, TxDetail, TxKind, TxRow};
use crate::error::WsError;
use crate::views::{official_ref, u32_of};

pub fn parse(json: &str) -> Result<Block, WsError> {
    Block::from_json(json.as_bytes()).map_err(|e| WsError::verification(e.code(), e.to_string()))
}

/// Parses a stored block header (JSON).
pub fn parse_header(json: &str) -> Result<BlockHeader, WsError> {
    serde_json::from_str(json).map_err(|e| WsError::verification("block.shape", e.to_string()))
}

pub fn summary(
    s: &State,
    h: &BlockHeader,
    hash: &str,
    checkpoint_size: Option<u64>,
) -> BlockSummary {
    let proposer = s
        .departments
        .values()
        .find(|d| d.node_key.key_id() == h.proposer)
        .map_or_else(|| h.proposer.fingerprint(), |d| d.name.clone());
    BlockSummary {
        height: h.height,
        hash: hash.to_owned(),
        time: h.time.to_string(),
        proposer,
        tx_count: h.tx_count,
        log_size: h.log_size,
        checkpointed: checkpoint_size.is_some_and(|c| h.log_size <= c),
    }
}

pub fn detail(
    s: &State,
    b: &Block,
    hash: &str,
    checkpoint_size: Option<u64>,
) -> Result<BlockDetail, WsError> {
    let txs = b
        .txs
        .iter()
        .enumerate()
        .map(|(i, tx)| {
            Ok(TxRow {
                index: u32_of(i),
                id: tx.id().map(|h| h.to_hex()).unwrap_or_default(),
                kind: TxKind::of(&tx.body.kind)?,
                signer: official_ref(s, &principal(s, tx)),
                seq: tx.body.seq,
            })
        })
        .collect::<Result<_, WsError>>()?;
    Ok(BlockDetail {
        summary: summary(s, &b.header, hash, checkpoint_size),
        prev_hash: b.header.prev_hash.to_hex(),
        tx_root: b.header.tx_root.to_hex(),
        log_root: b.header.log_root.to_hex(),
        state_root: b.header.state_root.to_hex(),
        txs,
    })
}

fn principal(s: &State, tx: &Envelope) -> govchain_ledger::crypto::KeyId {
    s.key_index
        .get(&tx.body.signer)
        .copied()
        .unwrap_or(tx.body.signer)
}

/// The public key behind a signer key id, from the officials' key history
/// (or a certificate holder's key).
fn signer_key(s: &State, tx: &Envelope) -> Option<PublicKey> {
    let id = &tx.body.signer;
    s.officials
        .get(&principal(s, tx))
        .and_then(|o| o.keys.iter().find(|e| e.key.key_id() == *id).map(|e| e.key))
        .or_else(|| s.holders.get(id).copied())
        .or_else(|| {
            // Genesis admins and other keys named in the genesis payload.
            s.officials
                .values()
                .flat_map(|o| o.keys.iter())
                .find(|e| e.key.key_id() == *id)
                .map(|e| e.key)
        })
}

pub fn tx_detail(s: &State, b: &Block, index: usize) -> Result<TxDetail, WsError> {
    let tx = b.txs.get(index).ok_or_else(|| {
        WsError::NotFound(format!("transaction {index} of block {}", b.header.height))
    })?;
    let d = tx
        .digests()
        .map_err(|e| WsError::verification(e.code(), e.to_string()))?;
    let key = signer_key(s, tx);
    let first_leaf = b.header.log_size - b.header.tx_count;
    Ok(TxDetail {
        id: d.id.to_hex(),
        height: b.header.height,
        index: u32_of(index),
        leaf_index: first_leaf + index as u64,
        leaf_hash: d.leaf_hash.to_hex(),
        kind: TxKind::of(&tx.body.kind)?,
        signer: official_ref(s, &principal(s, tx)),
        signer_key: key.map(|k| k.to_hex()).unwrap_or_default(),
        seq: tx.body.seq,
        created_at: tx.body.created_at.to_string(),
        payload: serde_json::to_string_pretty(&tx.body.payload).unwrap_or_default(),
        canonical_json: String::from_utf8(tx.body.canonical_json().unwrap_or_default())
            .unwrap_or_default(),
        signature: tx.sig.to_hex(),
        signature_valid: key.is_some_and(|k| k.verify(&d.msg, &tx.sig).is_ok()),
    })
}
