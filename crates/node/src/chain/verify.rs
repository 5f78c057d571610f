//! Verification: a block against the chain it extends (start-up replay and
//! replicated blocks), and batches of transaction signatures (admission,
//! without the node's lock).

use govchain_ledger::block::{Block, ChainCursor};
use govchain_ledger::crypto::PublicKey;
use govchain_ledger::state::{SigCheck, State};
use govchain_ledger::tx::{Prepared, TxDigests};
use govchain_ledger::types::Hash32;
use govchain_ledger::ErrorCode;

use crate::error::NodeError;

/// Checks `b` as the block after `cursor` on `state` — hash chain, roots,
/// proposer signature, every transaction's signature and rules, and the state
/// digest — and returns the state after it with each transaction's digests
/// (computed once: ids, signed messages, leaf hashes); `cursor` advances.
pub(super) fn verify_block(
    state: &State,
    cursor: &mut ChainCursor,
    b: &Block,
) -> Result<(State, Vec<TxDigests>), NodeError> {
    let height = b.header.height;
    let corrupt = |what: String| NodeError::Corrupt(format!("block {height}: {what}"));
    let (next, digests) = state
        .apply_block_digests(b, SigCheck::Verify)
        .map_err(|(i, r)| corrupt(format!("transaction {i}: {} ({})", r, r.code())))?;
    let leaves: Vec<Hash32> = digests.iter().map(|d| d.leaf_hash).collect();
    // The genesis block's proposer is one of the nodes it creates.
    let keys = if height == 0 { &next } else { state };
    cursor
        .verify_next_with_leaves(b, &leaves, |id| keys.node_key(id))
        .map_err(|e| corrupt(e.to_string()))?;
    if next.state_root() != b.header.state_root {
        return Err(corrupt(
            "state root does not match the rules' result".into(),
        ));
    }
    Ok((next, digests))
}

/// Batch-verifies signatures without holding the node's lock: `keys[i]` from
/// [`Core::keys_for`]. Returns which envelopes verified; one bad signature
/// only marks its own envelope.
pub fn verify_signatures(
    envs: &[Result<Prepared, NodeError>],
    keys: &[Option<PublicKey>],
) -> Vec<bool> {
    let mut idx = Vec::with_capacity(envs.len());
    let mut items = Vec::with_capacity(envs.len());
    for (i, (p, key)) in envs.iter().zip(keys).enumerate() {
        if let (Ok(p), Some(key)) = (p, key) {
            idx.push(i);
            items.push(govchain_ledger::crypto::BatchItem {
                key,
                msg: &p.msg,
                sig: &p.env.sig,
            });
        }
    }
    let mut ok = vec![false; envs.len()];
    if govchain_ledger::crypto::verify_batch(&items).is_ok() {
        for &i in &idx {
            ok[i] = true;
        }
    } else {
        for (item, &i) in items.iter().zip(&idx) {
            ok[i] = item.key.verify(item.msg, item.sig).is_ok();
        }
    }
    ok
}
