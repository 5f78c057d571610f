//! Installing a Raft snapshot (PROTOCOL.md §14, "Snapshots") into a member too far
//! behind for blocks: [`verify_snapshot`] checks it against the head block
//! it carries — the state hashes to the head's `state_root` (and its meta
//! matches the header), the leaf hashes to its `log_root`, its proposer's
//! signature verifies under the state's node keys, the recent blocks
//! hash-chain to the head and hold the transactions their `tx_root` and
//! the log name, block 0 is this member's own — and
//! [`Core::install_snapshot`] stores it and makes it the head. O(state +
//! log leaves), not O(chain): nothing is replayed. Both read the snapshot
//! file frame by frame (`store::FrameReader`): what stays in memory is
//! the state a node holds anyway (its tree, the entries it keeps decoded)
//! and the log's tree, never the snapshot's bytes.

use std::path::Path;

use govchain_ledger::block::{Block, BlockHeader, ChainCursor};
use govchain_ledger::crypto::Signature;
use govchain_ledger::merkle::{CompactTree, MerkleTree};
use govchain_ledger::state::kinds::RefId;
use govchain_ledger::state::{CaseSource, State, StateLoader, StoredCase, StoredStateError};
use govchain_ledger::types::Hash32;

use super::Core;
use crate::error::NodeError;
use crate::store::{Frame, FrameReader, LogRecord, SnapshotBlock};

/// A snapshot that checked out, ready to store.
#[derive(Debug)]
pub struct VerifiedSnapshot {
    state: State,
    tree: CompactTree,
    cursor: ChainCursor,
    genesis_leaves: u64,
    blocks: Vec<SnapshotBlock>,
    entries: u64,
    head_txs: u64,
}

fn refused(what: impl std::fmt::Display) -> NodeError {
    NodeError::Cluster(format!("snapshot refused: {what}"))
}

/// Checks the snapshot file at `file` as described in the module docs,
/// reading it once, frame by frame; `genesis` is this member's block 0.
pub fn verify_snapshot(file: &Path, genesis: &Block) -> Result<VerifiedSnapshot, NodeError> {
    let mut frames = FrameReader::open(file)?;
    match frames.next_frame()? {
        Some(Frame::Genesis(g)) if *g == *genesis => {}
        _ => {
            return Err(NodeError::Diverged(
                "a snapshot of another chain (its block 0 is not this node's)".into(),
            ))
        }
    }
    let mut check = Check::new(genesis)?;
    let mut entries = 0u64;
    while let Some(frame) = frames.next_frame()? {
        if !matches!(frame, Frame::Block(_) | Frame::Log(_)) {
            check.close_log()?;
        }
        match frame {
            Frame::Genesis(_) | Frame::End(_) => {}
            Frame::Block(b) => check.block(*b)?,
            Frame::Log(records) => check.log(&records.0)?,
            Frame::Entries(rows) => {
                entries += rows.len() as u64;
                check.entries(rows)?;
            }
            Frame::Payroll(lines) => check.payroll(lines)?,
            Frame::Access(records) => check.access(&records)?,
        }
    }
    check.close_log()?;
    check.finish(entries)
}

/// What a check of a snapshot has read so far.
struct Check {
    genesis_leaves: Vec<Hash32>,
    blocks: Vec<SnapshotBlock>,
    headers: Vec<BlockHeader>,
    head_sig: Option<Signature>,
    /// The log's leaf hashes while its frames are read; then its tree.
    leaves: Vec<Hash32>,
    tree: Option<MerkleTree>,
    last_record: Option<(u64, u32)>,
    /// The block whose transactions the next records may name.
    naming: usize,
    loader: StateLoader,
}

impl Check {
    fn new(genesis: &Block) -> Result<Self, NodeError> {
        Ok(Self {
            genesis_leaves: tx_leaves(genesis)?,
            blocks: Vec::new(),
            headers: Vec::new(),
            head_sig: None,
            leaves: Vec::new(),
            tree: None,
            last_record: None,
            naming: 0,
            loader: StateLoader::new().with_case_source(std::sync::Arc::new(NotStoredYet)),
        })
    }

    /// A recent block: it follows the one before; its transactions'
    /// ids and leaf hashes, checked against the log once it is read.
    fn block(&mut self, b: Block) -> Result<(), NodeError> {
        let bh = &b.header;
        let hash = bh.hash().map_err(|e| refused(e.to_string()))?;
        match self.blocks.last() {
            Some(prev) if bh.height != prev.height + 1 || bh.prev_hash != prev.hash => {
                return Err(refused(format!(
                    "block {} does not follow block {}",
                    bh.height, prev.height
                )));
            }
            None if bh.height == 0 => return Err(refused("block 0 among the recent blocks")),
            _ => {}
        }
        let digests = b
            .txs
            .iter()
            .map(|t| t.digests().map_err(|e| refused(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        let (ids, leaves): (Vec<Hash32>, Vec<Hash32>) =
            digests.into_iter().map(|d| (d.id, d.leaf_hash)).unzip();
        let first_leaf = bh.log_size.checked_sub(ids.len() as u64).ok_or_else(|| {
            refused(format!(
                "block {}: more transactions than its log",
                bh.height
            ))
        })?;
        self.blocks.push(SnapshotBlock {
            height: bh.height,
            hash,
            first_leaf,
            ids,
            leaves,
        });
        self.head_sig = Some(b.sig);
        self.headers.push(b.header);
        Ok(())
    }

    /// The next log records: in chain order, and naming the recent
    /// blocks' transactions where they stand.
    fn log(&mut self, records: &[LogRecord]) -> Result<(), NodeError> {
        for r in records {
            let at = self.leaves.len() as u64;
            if self.last_record.is_some_and(|l| l >= (r.height, r.index)) {
                return Err(refused("its log records are not in chain order"));
            }
            self.last_record = Some((r.height, r.index));
            while self
                .blocks
                .get(self.naming)
                .is_some_and(|b| at >= b.first_leaf + b.ids.len() as u64)
            {
                self.naming += 1;
            }
            if let Some(b) = self.blocks.get(self.naming).filter(|b| at >= b.first_leaf) {
                let i = at - b.first_leaf;
                let named = usize::try_from(i).ok().and_then(|k| b.ids.get(k)) == Some(&r.id)
                    && r.height == b.height
                    && u64::from(r.index) == i;
                if !named {
                    return Err(refused(format!(
                        "its log does not name block {}'s transactions",
                        b.height
                    )));
                }
            }
            self.leaves.push(r.leaf_hash);
        }
        Ok(())
    }

    /// Once the log is read: its tree is the head's log, starts with block
    /// 0's transactions and holds every recent block's where its header
    /// says.
    fn close_log(&mut self) -> Result<(), NodeError> {
        if self.tree.is_some() {
            return Ok(());
        }
        let h = self
            .headers
            .last()
            .ok_or_else(|| refused("no blocks above block 0"))?;
        let tree = MerkleTree::from_leaf_hashes(&std::mem::take(&mut self.leaves));
        if tree.len() != h.log_size || tree.root() != h.log_root {
            return Err(refused(format!(
                "its {} leaf hashes are not block {}'s log",
                tree.len(),
                h.height
            )));
        }
        let g = self.genesis_leaves.len();
        if tree.leaf_hashes().get(..g) != Some(&self.genesis_leaves[..]) {
            return Err(refused(
                "its log does not start with block 0's transactions",
            ));
        }
        for (bh, b) in self.headers.iter().zip(&self.blocks) {
            super::restore::check_in_log(bh, &b.leaves, &tree).map_err(refused)?;
        }
        self.tree = Some(tree);
        Ok(())
    }

    /// State entries. Cases count in the root by their hashes and are not
    /// decoded: the state reads them once the snapshot is stored
    /// ([`Core::adopt_snapshot`]).
    fn entries(&mut self, rows: Vec<(String, String)>) -> Result<(), NodeError> {
        let mut cases = Vec::new();
        for (k, v) in rows {
            if k.starts_with("case/") {
                let hash = govchain_ledger::smt::value_hash(v.as_bytes());
                cases.push((k, hash));
            } else {
                self.loader.entry(&k, v.as_bytes()).map_err(bad_state)?;
            }
        }
        self.loader.case_leaves(&cases).map_err(bad_state)
    }

    fn payroll(&mut self, lines: Vec<(String, String, u64, String)>) -> Result<(), NodeError> {
        for (p, q, i, line) in lines {
            let p = RefId::try_from(p).map_err(bad_state)?;
            let q = RefId::try_from(q).map_err(bad_state)?;
            self.loader
                .payroll_line(&p, &q, i, line.as_bytes())
                .map_err(bad_state)?;
        }
        Ok(())
    }

    fn access(&mut self, records: &[String]) -> Result<(), NodeError> {
        for r in records {
            self.loader.access_record(r.as_bytes()).map_err(bad_state)?;
        }
        Ok(())
    }

    /// The state read is exactly the one the head commits to, and the head
    /// is signed by its proposer's node key in it.
    fn finish(self, entries: u64) -> Result<VerifiedSnapshot, NodeError> {
        let (Some(h), Some(sig), Some(tree)) = (self.headers.last(), self.head_sig, self.tree)
        else {
            return Err(refused("no blocks above block 0"));
        };
        let state = self.loader.finish(h).map_err(bad_state)?;
        let cursor = super::restore::head_cursor(&state, h, &sig, &tree).map_err(refused)?;
        Ok(VerifiedSnapshot {
            state,
            tree: tree.into_compact(super::LOG_FLOOR),
            cursor,
            genesis_leaves: self.genesis_leaves.len() as u64,
            head_txs: h.tx_count,
            blocks: self.blocks,
            entries,
        })
    }
}

fn bad_state(e: impl std::fmt::Display) -> NodeError {
    refused(format!("its state: {e}"))
}

/// A block's transactions' log leaf hashes.
fn tx_leaves(b: &Block) -> Result<Vec<Hash32>, NodeError> {
    govchain_ledger::block::tx_leaf_hashes(&b.txs).map_err(|e| refused(e.to_string()))
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
    /// Stores the checked snapshot file in place of the chain in `store`
    /// (block 0 stays), in one SQLite transaction; then
    /// [`Core::adopt_snapshot`] makes it the node's head. Needs no node
    /// lock: a member that needs a snapshot writes nothing else meanwhile.
    pub fn store(
        &self,
        file: &Path,
        store: &std::sync::Mutex<crate::store::Store>,
    ) -> Result<(), NodeError> {
        store
            .lock()
            .map_err(|_| NodeError::Storage("store lock poisoned".into()))?
            .install_snapshot(file, self.genesis_leaves, &self.blocks)
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
    pub fn install_snapshot(&mut self, file: &Path, v: VerifiedSnapshot) -> Result<u64, NodeError> {
        v.store(file, &self.store)?;
        self.adopt_snapshot(v)
    }

    /// Makes a stored snapshot's head this node's head: blocks below its
    /// first one are no longer served here (`node.pruned`). Whatever this
    /// node had open is dropped (a member that needs a snapshot produces
    /// nothing).
    pub fn adopt_snapshot(&mut self, v: VerifiedSnapshot) -> Result<u64, NodeError> {
        let first_block = v.blocks.first().map_or(0, |b| b.height);
        let (entries, tx_count) = (v.entries, v.head_txs);
        self.abandon_pending();
        self.state = v.state;
        self.tree = v.tree;
        self.cursor = v.cursor;
        self.back_cases();
        self.index_waiting()?;
        let height = self.height();
        self.sign_checkpoint()?;
        tracing::info!(
            height,
            first_block,
            entries,
            "installed a snapshot: the stored state and log of block {height}"
        );
        let _ = self.events.send(super::Event::Block {
            height,
            hash: self.cursor.last_hash,
            tx_count,
            log_size: self.tree.len(),
        });
        Ok(height)
    }
}
