//! Starting from storage: [`restore`] loads the stored state and log of the
//! head block and checks them against its signed header, without replaying
//! anything; [`replay`] re-verifies every stored block (a database without
//! a stored state, and `verify-chain`); [`verify_chain`] does both and
//! compares them.

use govchain_ledger::block::{tx_leaf_hashes, Block, BlockHeader, ChainCursor};
use govchain_ledger::merkle::{self, MerkleTree};
use govchain_ledger::state::State;
use govchain_ledger::state_proof::SignedHeader;
use govchain_ledger::types::Hash32;

use super::verify::verify_block;
use crate::error::NodeError;
use crate::store::{ReadPool, Store};

/// The head block's state, log and cursor from storage, checked against
/// the head block: its state root and log root, and its proposer's
/// signature under the restored state's node keys. `None` if the database
/// has no stored state (or leaf hashes) for the head yet.
pub(super) fn restore(
    store: &Store,
    head: &SignedHeader,
    cases: Option<std::sync::Arc<dyn govchain_ledger::state::CaseSource>>,
    reads: Option<&ReadPool>,
) -> Result<Option<(State, MerkleTree, ChainCursor)>, NodeError> {
    let h = &head.header;
    if store.state_height()? != Some(h.height) {
        return Ok(None);
    }
    let started = std::time::Instant::now();
    // The log (from `reads`, on another thread) while the state loads.
    let tree_of = |leaves: Option<Vec<Hash32>>| {
        leaves.map(|l| (l.len(), MerkleTree::from_leaf_hashes(&l), started.elapsed()))
    };
    let (log, state) = if let Some(r) = reads {
        std::thread::scope(|scope| {
            let reading = scope.spawn(|| r.leaf_hashes().map(tree_of));
            let state = store.load_state(h, cases);
            let log = reading
                .join()
                .map_err(|_| NodeError::Storage("the log reading thread failed".into()));
            (log, state)
        })
    } else {
        let Some(log) = tree_of(store.leaf_hashes()?) else {
            return Ok(None);
        };
        (Ok(Ok(Some(log))), store.load_state(h, cases))
    };
    let Some((leaf_count, tree, read_log)) = log?? else {
        return Ok(None);
    };
    let state = state?;
    let read_state = started.elapsed();
    let mismatch = |what: String| NodeError::StateMismatch(what);
    if tree.len() != h.log_size || tree.root() != h.log_root {
        return Err(mismatch(format!(
            "the stored log ({} leaves) is not block {}'s ({} leaves)",
            tree.len(),
            h.height,
            h.log_size
        )));
    }
    let cursor = head_cursor(&state, h, &head.sig, &tree).map_err(NodeError::Corrupt)?;
    check_head_txs(store, h, &tree)?;
    tracing::info!(
        "loaded the stored state of block {}: {} log leaves read in {:.2} s, {} state entries read and checked in {:.2} s (together), {:.2} s in all",
        h.height,
        leaf_count,
        read_log.as_secs_f64(),
        state.tree_len(),
        read_state.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    Ok(Some((state, tree, cursor)))
}

/// The cursor after head block `h` with log `tree`, once its signature
/// `sig` verifies under its proposer's node key in `state` (the state after
/// it); otherwise why not.
pub(super) fn head_cursor(
    state: &State,
    h: &BlockHeader,
    sig: &govchain_ledger::crypto::Signature,
    tree: &MerkleTree,
) -> Result<ChainCursor, String> {
    let message = h.signed_message().map_err(|e| e.to_string())?;
    let signed = state
        .departments
        .values()
        .any(|d| d.node_key.key_id() == h.proposer && d.node_key.verify(&message, sig).is_ok());
    if !signed {
        return Err(format!(
            "block {}'s signature does not verify under its proposer's node key",
            h.height
        ));
    }
    Ok(ChainCursor {
        chain_id: h.chain_id.clone(),
        next_height: h.height + 1,
        last_hash: Hash32::sha256(&message),
        last_time: Some(h.time),
        log: tree.frontier(),
    })
}

/// The head block's transactions are the ones its header and the stored
/// log name: O(one block), so that a damaged head is not served.
fn check_head_txs(store: &Store, h: &BlockHeader, tree: &MerkleTree) -> Result<(), NodeError> {
    let block = store
        .block(h.height)?
        .filter(|b| b.header == *h)
        .ok_or_else(|| NodeError::Corrupt(format!("block {}: missing or altered", h.height)))?;
    check_block_in_log(&block, tree)
}

/// A block's transactions, whose leaf hashes are `own`, are the ones its
/// header `h` and the log `tree` commit to: `own` are the log's leaves at
/// the block's place, their root is its `tx_root`, their count its
/// `tx_count`, and the log's root at its `log_size` is its `log_root`.
/// Returns the block's first leaf index.
pub(super) fn check_in_log(
    h: &BlockHeader,
    own: &[Hash32],
    tree: &MerkleTree,
) -> Result<u64, String> {
    let first = h.log_size.checked_sub(own.len() as u64);
    let in_log = first
        .and_then(|f| usize::try_from(f).ok())
        .and_then(|f| tree.leaf_hashes().get(f..f + own.len()));
    if in_log != Some(own)
        || merkle::root_of(own) != h.tx_root
        || h.tx_count != own.len() as u64
        || tree.root_at(h.log_size).ok() != Some(h.log_root)
    {
        return Err(format!(
            "block {}: its transactions are not the ones its header and the log commit to",
            h.height
        ));
    }
    Ok(first.unwrap_or(0))
}

/// [`check_in_log`] for a whole block.
fn check_block_in_log(b: &Block, tree: &MerkleTree) -> Result<(), NodeError> {
    let corrupt = |e: String| NodeError::Corrupt(e);
    let own =
        tx_leaf_hashes(&b.txs).map_err(|e| corrupt(format!("block {}: {e}", b.header.height)))?;
    check_in_log(&b.header, &own, tree).map_err(corrupt)?;
    Ok(())
}

/// Every stored block re-verified in order (hash chain, roots, proposer
/// and transaction signatures, rules, state roots), one block in memory at
/// a time.
pub(super) fn replay(store: &Store) -> Result<(State, MerkleTree, ChainCursor), NodeError> {
    let mut cursor: Option<ChainCursor> = None;
    let mut state = State::new();
    let mut tree = MerkleTree::new();
    store.for_each_block(|b| {
        let c = cursor.get_or_insert_with(|| ChainCursor::genesis(b.header.chain_id.clone()));
        let (next, digests) = verify_block(&state, c, &b)?;
        for d in &digests {
            tree.push_hash(d.leaf_hash);
        }
        state = next;
        Ok(())
    })?;
    let cursor = cursor.ok_or_else(|| NodeError::Corrupt("no blocks".into()))?;
    Ok((state, tree, cursor))
}

/// What `verify-chain` found.
#[derive(Debug, Clone)]
pub struct ChainReport {
    pub height: u64,
    pub transactions: u64,
    pub state_root: Hash32,
    pub entries: usize,
    /// Whether the stored state was rewritten from the replay.
    pub rebuilt: bool,
    /// For a member that joined from a snapshot: the first block above 0
    /// it holds. Its state and log were checked against its head block and
    /// the blocks it holds against the log, without a replay.
    pub first_block: Option<u64>,
}

/// Replays every block of the database at `path` on one snapshot and
/// checks that the stored state and log are exactly the replay's
/// (`node.state_mismatch` if not, unless `rebuild`: then they are
/// rewritten from the replay). Safe while a node serves the database.
pub fn verify_chain(path: &std::path::Path, rebuild: bool) -> Result<ChainReport, NodeError> {
    let mut store = Store::open(path)?;
    if store.head()?.is_none() {
        return Err(NodeError::Corrupt(
            "the database has no blocks (was the chain created with `govchain-node init`?)".into(),
        ));
    }
    if let Some(first) = store.first_block()? {
        if rebuild {
            return Err(NodeError::Config(format!(
                "this node joined from a snapshot and holds no blocks below {first}: its state cannot be rebuilt by a replay; install a snapshot from another member instead"
            )));
        }
        return store.snapshot(|s| verify_held(s, first));
    }
    let (state, tree, cursor, stored) = store.snapshot(|s| {
        let (state, tree, cursor) = replay(s)?;
        let head = s
            .head()?
            .ok_or_else(|| NodeError::Corrupt("no blocks".into()))?;
        let stored = match restore(s, &head, None, None) {
            Ok(Some((stored, stored_tree, _))) => {
                if stored != state || stored_tree.leaf_hashes() != tree.leaf_hashes() {
                    Err(NodeError::StateMismatch(
                        "the stored state differs from the replayed one".into(),
                    ))
                } else {
                    Ok(())
                }
            }
            Ok(None) => Err(NodeError::StateMismatch(format!(
                "no state is stored for block {}",
                head.header.height
            ))),
            Err(e) => Err(e),
        };
        Ok((state, tree, cursor, stored))
    })?;
    let height = cursor.next_height.saturating_sub(1);
    let was_rewritten = match stored {
        Ok(()) => false,
        Err(_) if rebuild => {
            store.rewrite_state(height, &state, tree.leaf_hashes())?;
            true
        }
        Err(e) => return Err(e),
    };
    Ok(ChainReport {
        height,
        transactions: tree.len(),
        state_root: state.state_root(),
        entries: state.tree_len(),
        rebuilt: was_rewritten,
        first_block: None,
    })
}

/// A member that joined from a snapshot: its stored state and log against
/// its head block ([`restore`]), and every block it holds from `first` on
/// hash-chained to the head and holding the transactions the log names.
fn verify_held(s: &Store, first: u64) -> Result<ChainReport, NodeError> {
    let head = s
        .head()?
        .ok_or_else(|| NodeError::Corrupt("no blocks".into()))?;
    let (state, tree, _) = restore(s, &head, None, None)?.ok_or_else(|| {
        NodeError::StateMismatch(format!(
            "no state is stored for block {}",
            head.header.height
        ))
    })?;
    let mut prev: Option<Hash32> = None;
    for height in first..=head.header.height {
        let corrupt = |what: &str| NodeError::Corrupt(format!("block {height}: {what}"));
        let b = s.block(height)?.ok_or_else(|| corrupt("missing"))?;
        let h = &b.header;
        if prev.is_some_and(|p| p != h.prev_hash) || h.height != height {
            return Err(corrupt("does not follow the block before it"));
        }
        check_block_in_log(&b, &tree)?;
        prev = Some(h.hash().map_err(|e| corrupt(&e.to_string()))?);
    }
    Ok(ChainReport {
        height: head.header.height,
        transactions: tree.len(),
        state_root: state.state_root(),
        entries: state.tree_len(),
        rebuilt: false,
        first_block: Some(first),
    })
}
