//! Installing a Raft snapshot (PROTOCOL.md §14, "Snapshots") into a member too far
//! behind for blocks: [`verify_snapshot`] checks it against the head block
//! it carries — the state hashes to the head's `state_root` (and its meta
//! matches the header), the leaf hashes to its `log_root`, its proposer's
//! signature verifies under the state's node keys, the recent blocks
//! hash-chain to the head and hold the transactions their `tx_root` and
//! the log name, block 0 is this member's own — and
//! [`Core::install_snapshot`] stores it and makes it the head. O(state +
//! log leaves), not O(chain): nothing is replayed.

use govchain_ledger::block::{Block, ChainCursor};
use govchain_ledger::merkle::MerkleTree;
use govchain_ledger::state::kinds::RefId;
use govchain_ledger::state::{CaseSource, State, StateLoader, StoredCase, StoredStateError};
use govchain_ledger::types::Hash32;

use super::Core;
use crate::error::NodeError;
use crate::store::{ChainSnapshot, LogRecord, SnapshotBlock};

/// A snapshot that checked out, ready to store.
#[derive(Debug)]
pub struct VerifiedSnapshot {
    state: State,
    tree: MerkleTree,
    cursor: ChainCursor,
    log: Vec<LogRecord>,
    blocks: Vec<CheckedBlock>,
}

/// A recent block's hash, first leaf index, transaction ids and leaf hashes.
type CheckedBlock = (Hash32, u64, Vec<Hash32>, Vec<Hash32>);

fn refused(what: impl std::fmt::Display) -> NodeError {
    NodeError::Cluster(format!("snapshot refused: {what}"))
}

/// Checks `snap` as described in the module docs; `genesis` is this
/// member's block 0.
pub fn verify_snapshot(
    snap: &ChainSnapshot,
    genesis: &Block,
) -> Result<VerifiedSnapshot, NodeError> {
    if snap.genesis != *genesis {
        return Err(NodeError::Diverged(
            "a snapshot of another chain (its block 0 is not this node's)".into(),
        ));
    }
    let head = snap
        .blocks
        .last()
        .ok_or_else(|| refused("no blocks above block 0"))?;
    let h = &head.header;
    let log = snap.log_records()?;
    let leaves: Vec<Hash32> = log.iter().map(|r| r.leaf_hash).collect();
    let tree = MerkleTree::from_leaf_hashes(&leaves);
    if tree.len() != h.log_size || tree.root() != h.log_root {
        return Err(refused(format!(
            "its {} leaf hashes are not block {}'s log",
            leaves.len(),
            h.height
        )));
    }
    if leaves.get(..genesis.txs.len()) != Some(&tx_leaves(genesis)?[..]) {
        return Err(refused(
            "its log does not start with block 0's transactions",
        ));
    }
    let blocks = check_blocks(&snap.blocks, &tree, &log)?;
    // The records of pruned transactions (ids are not checkable without
    // their blocks) must at least be in log order.
    let ordered = log
        .windows(2)
        .all(|w| (w[0].height, w[0].index) < (w[1].height, w[1].index));
    if !ordered {
        return Err(refused("its log records are not in chain order"));
    }
    let state = load_state(snap, h)?;
    let cursor = super::restore::head_cursor(&state, h, &head.sig, &tree).map_err(refused)?;
    Ok(VerifiedSnapshot {
        state,
        tree,
        cursor,
        log,
        blocks,
    })
}

/// A block's transactions' log leaf hashes.
fn tx_leaves(b: &Block) -> Result<Vec<Hash32>, NodeError> {
    govchain_ledger::block::tx_leaf_hashes(&b.txs).map_err(|e| refused(e.to_string()))
}

/// The recent blocks hash-chain, hold the transactions their `tx_root` and
/// the log (`tree`, `log`) name, and end logs the tree has. Per block: its
/// hash, first leaf index, transaction ids and leaf hashes.
fn check_blocks(
    recent: &[Block],
    tree: &MerkleTree,
    log: &[LogRecord],
) -> Result<Vec<CheckedBlock>, NodeError> {
    let mut blocks = Vec::with_capacity(recent.len());
    let mut prev: Option<(u64, Hash32)> = None;
    for b in recent {
        let bh = &b.header;
        let hash = bh.hash().map_err(|e| refused(e.to_string()))?;
        if let Some((height, prev_hash)) = prev {
            if bh.height != height + 1 || bh.prev_hash != prev_hash {
                return Err(refused(format!(
                    "block {} does not follow block {height}",
                    bh.height
                )));
            }
        } else if bh.height == 0 {
            return Err(refused("block 0 among the recent blocks"));
        }
        prev = Some((bh.height, hash));
        let digests = b
            .txs
            .iter()
            .map(|t| t.digests().map_err(|e| refused(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        let (ids, block_leaves): (Vec<Hash32>, Vec<Hash32>) =
            digests.into_iter().map(|d| (d.id, d.leaf_hash)).unzip();
        let first = super::restore::check_in_log(bh, &block_leaves, tree).map_err(refused)?;
        let start = usize::try_from(first).unwrap_or(usize::MAX);
        let named = ids.iter().zip(0u32..).all(|(id, i)| {
            start
                .checked_add(i as usize)
                .and_then(|k| log.get(k))
                .is_some_and(|r| r.id == *id && r.height == bh.height && r.index == i)
        });
        if !named {
            return Err(refused(format!(
                "its log does not name block {}'s transactions",
                bh.height
            )));
        }
        blocks.push((hash, first, ids, block_leaves));
    }
    Ok(blocks)
}

/// The snapshot's state, which must be exactly the one `head` commits to.
/// Its cases count in the root by their hashes and are not decoded: the
/// state reads them once the snapshot is stored ([`Core::adopt_snapshot`]).
fn load_state(
    snap: &ChainSnapshot,
    head: &govchain_ledger::block::BlockHeader,
) -> Result<State, NodeError> {
    let bad = |e: &dyn std::fmt::Display| refused(format!("its state: {e}"));
    let mut loader = StateLoader::new().with_case_source(std::sync::Arc::new(NotStoredYet));
    let mut cases = Vec::new();
    for (k, v) in &snap.entries {
        if k.starts_with("case/") {
            cases.push((k.clone(), govchain_ledger::smt::value_hash(v.as_bytes())));
        } else {
            loader.entry(k, v.as_bytes()).map_err(|e| bad(&e))?;
        }
    }
    loader.case_leaves(&cases).map_err(|e| bad(&e))?;
    for (p, q, i, line) in &snap.payroll {
        let p = RefId::try_from(p.clone()).map_err(|e| bad(&e))?;
        let q = RefId::try_from(q.clone()).map_err(|e| bad(&e))?;
        loader
            .payroll_line(&p, &q, *i, line.as_bytes())
            .map_err(|e| bad(&e))?;
    }
    for r in &snap.access {
        loader.access_record(r.as_bytes()).map_err(|e| bad(&e))?;
    }
    loader.finish(head).map_err(|e| bad(&e))
}

/// The cases of a verified snapshot before it is stored: nothing reads
/// them (the store's cases replace this source when the snapshot becomes
/// the head).
#[derive(Debug)]
struct NotStoredYet;

impl CaseSource for NotStoredYet {
    fn base_height(&self) -> u64 {
        0
    }

    fn case_value(&self, _: &RefId) -> Result<Option<StoredCase>, StoredStateError> {
        Err(not_stored_yet())
    }

    fn each_case(
        &self,
        _: &mut dyn FnMut(RefId, StoredCase) -> Result<(), StoredStateError>,
    ) -> Result<(), StoredStateError> {
        Err(not_stored_yet())
    }
}

fn not_stored_yet() -> StoredStateError {
    StoredStateError::Unreadable("the snapshot's cases are not stored yet".into())
}

impl VerifiedSnapshot {
    /// Stores the snapshot in place of the chain in `store` (block 0
    /// stays), in one SQLite transaction; then [`Core::adopt_snapshot`]
    /// makes it the node's head. Needs no node lock: a member that needs a
    /// snapshot writes nothing else meanwhile.
    pub fn store(
        &self,
        snap: &ChainSnapshot,
        store: &std::sync::Mutex<crate::store::Store>,
    ) -> Result<(), NodeError> {
        let rows: Vec<SnapshotBlock<'_>> = snap
            .blocks
            .iter()
            .zip(&self.blocks)
            .map(|(block, (hash, first_leaf, ids, leaves))| SnapshotBlock {
                block,
                hash: *hash,
                first_leaf: *first_leaf,
                ids: ids.clone(),
                leaves: leaves.clone(),
            })
            .collect();
        store
            .lock()
            .map_err(|_| NodeError::Storage("store lock poisoned".into()))?
            .install_snapshot(snap, &rows, &self.log)
    }
}

impl Core {
    /// The writer connection, for [`VerifiedSnapshot::store`].
    pub fn store(&self) -> std::sync::Arc<std::sync::Mutex<crate::store::Store>> {
        self.store.clone()
    }

    /// Stores a checked snapshot in place of this node's chain and makes
    /// its head this node's head ([`VerifiedSnapshot::store`], then
    /// [`Core::adopt_snapshot`]).
    pub fn install_snapshot(
        &mut self,
        snap: &ChainSnapshot,
        v: VerifiedSnapshot,
    ) -> Result<u64, NodeError> {
        v.store(snap, &self.store)?;
        self.adopt_snapshot(snap, v)
    }

    /// Makes a stored snapshot's head this node's head: blocks below its
    /// first one are no longer served here (`node.pruned`). Whatever this
    /// node had open is dropped (a member that needs a snapshot produces
    /// nothing).
    pub fn adopt_snapshot(
        &mut self,
        snap: &ChainSnapshot,
        v: VerifiedSnapshot,
    ) -> Result<u64, NodeError> {
        self.abandon_pending();
        self.state = v.state;
        self.tree = v.tree;
        self.cursor = v.cursor;
        self.back_cases();
        let height = self.height();
        self.sign_checkpoint()?;
        tracing::info!(
            height,
            first_block = snap.blocks.first().map_or(0, |b| b.header.height),
            entries = snap.entries.len(),
            "installed a snapshot: the stored state and log of block {height}"
        );
        let _ = self.events.send(super::Event::Block {
            height,
            hash: self.cursor.last_hash,
            tx_count: snap.blocks.last().map_or(0, |b| b.txs.len() as u64),
            log_size: self.tree.len(),
        });
        Ok(height)
    }
}
