//! The auditor's explorer over the verified cache: block list and detail,
//! transactions decoded with their signatures checked again, and inclusion
//! proofs checked in the app step by step (leaf hash, path, root, checkpoint
//! signature) against the checkpoint this workstation verified.

use govchain_ledger::block::Block;
use govchain_ledger::crypto::PublicKey;
use govchain_ledger::merkle::{self, InclusionProof};
use govchain_ledger::state::State;
use govchain_ledger::tx::Envelope;
use govchain_ledger::ErrorCode;

use crate::dto::{BlockDetail, BlockSummary, ProofReport, ProofStep, TxDetail, TxRow};
use crate::error::WsError;
use crate::views::official_ref;

fn u32_of(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

pub fn parse(json: &str) -> Result<Block, WsError> {
    Block::from_json(json.as_bytes()).map_err(|e| WsError::verification(e.code(), e.to_string()))
}

pub fn summary(s: &State, b: &Block, hash: &str, checkpoint_size: Option<u64>) -> BlockSummary {
    let proposer = s
        .departments
        .values()
        .find(|d| d.node_key.key_id() == b.header.proposer)
        .map_or_else(|| b.header.proposer.fingerprint(), |d| d.name.clone());
    BlockSummary {
        height: b.header.height,
        hash: hash.to_owned(),
        time: b.header.time.to_string(),
        proposer,
        tx_count: b.header.tx_count,
        log_size: b.header.log_size,
        checkpointed: checkpoint_size.is_some_and(|c| b.header.log_size <= c),
    }
}

pub fn detail(s: &State, b: &Block, hash: &str, checkpoint_size: Option<u64>) -> BlockDetail {
    let txs = b
        .txs
        .iter()
        .enumerate()
        .map(|(i, tx)| TxRow {
            index: u32_of(i),
            id: tx.id().map(|h| h.to_hex()).unwrap_or_default(),
            kind: tx.body.kind.clone(),
            signer: official_ref(s, &principal(s, tx)),
            seq: tx.body.seq,
        })
        .collect();
    BlockDetail {
        summary: summary(s, b, hash, checkpoint_size),
        prev_hash: b.header.prev_hash.to_hex(),
        tx_root: b.header.tx_root.to_hex(),
        log_root: b.header.log_root.to_hex(),
        state_digest: b.header.state_digest.to_hex(),
        txs,
    }
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
        kind: tx.body.kind.clone(),
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

fn step(step: &str, value: impl Into<String>, ok: bool, detail: impl Into<String>) -> ProofStep {
    ProofStep {
        step: step.to_owned(),
        value: value.into(),
        ok,
        detail: detail.into(),
    }
}

/// Checks the node's inclusion proof `answer` (JSON of `/v1/proof/inclusion`)
/// for transaction `index` of block `b`, against the verified checkpoint
/// `note`: every step is reported, the first failure stops the checks.
pub fn check_inclusion(
    s: &State,
    b: &Block,
    index: usize,
    answer: &serde_json::Value,
    note: &str,
) -> ProofReport {
    let mut steps = Vec::new();
    let report = |steps: Vec<ProofStep>| ProofReport {
        ok: steps.iter().all(|s| s.ok),
        steps,
    };
    let Some(tx) = b.txs.get(index) else {
        steps.push(step("leaf", "", false, "no such transaction"));
        return report(steps);
    };
    // 1. The leaf: recomputed here from the transaction itself.
    let Ok(leaf) = tx.leaf_bytes() else {
        steps.push(step("leaf", "", false, "the transaction cannot be encoded"));
        return report(steps);
    };
    let leaf_hash = merkle::leaf_hash(&leaf);
    let theirs = answer["leaf_hash"].as_str().unwrap_or_default();
    steps.push(step(
        "leaf",
        leaf_hash.to_hex(),
        theirs == leaf_hash.to_hex(),
        "SHA-256(0x00 || JCS(envelope)), computed here; the node's value must be the same",
    ));
    // 2. The proof's shape.
    let proof = match serde_json::to_vec(&answer["proof"])
        .map_err(|e| e.to_string())
        .and_then(|b| InclusionProof::from_json(&b).map_err(|e| format!("{}: {e}", e.code())))
    {
        Ok(p) => p,
        Err(e) => {
            steps.push(step("path", "", false, e));
            return report(steps);
        }
    };
    let expected_index = b.header.log_size - b.header.tx_count + index as u64;
    steps.push(step(
        "path",
        format!(
            "{} hashes, leaf {} of {}",
            proof.path.len(),
            proof.leaf_index,
            proof.tree_size
        ),
        proof.leaf_index == expected_index,
        "RFC 9162 audit path from the node",
    ));
    // 3. The checkpoint, verified again: a department node's signature.
    let (verified, key, dept) = match crate::verify::verify_department_checkpoint(s, note) {
        Ok(v) => v,
        Err(e) => {
            steps.push(step("checkpoint", "", false, e.to_string()));
            return report(steps);
        }
    };
    let signer = key.name;
    steps.push(step(
        "checkpoint",
        format!(
            "size {} · {}",
            verified.checkpoint.size,
            verified.checkpoint.root.to_hex()
        ),
        proof.tree_size == verified.checkpoint.size,
        format!("{signer} · {dept} · {}", verified.cosigners.len()),
    ));
    // 4. The root computed from leaf and path equals the checkpoint's.
    let ok = merkle::verify_inclusion(
        proof.leaf_index,
        proof.tree_size,
        &leaf_hash.0,
        &proof.path.iter().map(|h| h.0).collect::<Vec<_>>(),
        &verified.checkpoint.root.0,
    );
    steps.push(step(
        "root",
        verified.checkpoint.root.to_hex(),
        ok.is_ok(),
        ok.map_or_else(
            |e| format!("{}: {e}", e.code()),
            |()| "leaf + path give the checkpoint's root".into(),
        ),
    ));
    report(steps)
}
