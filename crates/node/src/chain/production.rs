//! Block production: [`Core::begin_block`] (on a cluster's leader
//! [`Core::begin_proposal`]) takes the oldest open block,
//! [`Sealing`] seals and stores it without the node's lock, and
//! [`Core::finish_block`] makes it the head. In a cluster the sealed block
//! is a [`Proposal`]; a replicated block is verified and stored by an
//! [`ApplyJob`].

use std::sync::{Arc, Mutex};

use govchain_ledger::block::{Block, BlockDraft, ChainCursor};
use govchain_ledger::merkle::Frontier;
use govchain_ledger::state::State;
use govchain_ledger::tx::Prepared;
use govchain_ledger::types::{ChainId, Hash32};

use super::mempool::{OpenBlock, Taken};
use super::verify::verify_block;
use super::{Core, Event};
use crate::error::NodeError;
use crate::store::Store;

/// A block sealed by this node and proposed to the cluster: when the
/// replicated log applies it, it is stored and made the head without being
/// verified again (this node built it).
#[derive(Debug)]
pub struct Proposal {
    pub block: Block,
    pub(super) open: OpenBlock,
    pub(super) hash: Hash32,
    pub(super) state: State,
    pub(super) frontier: Frontier,
    /// The log index the block after it starts at.
    pub(super) next_leaf: u64,
}

/// How many blocks a cluster's leader keeps proposed and not yet applied:
/// the next block is sealed while the one before it replicates.
pub const MAX_PROPOSALS: usize = 2;

impl Core {
    /// Writes the oldest open block: [`Core::begin_block`],
    /// [`Sealing::seal_and_store`] and [`Core::finish_block`] in one go, for
    /// callers that own the node (the run loop releases the lock while the
    /// block is stored). Returns the new height, or `None` if nothing was
    /// pending.
    pub fn produce(&mut self) -> Result<Option<u64>, NodeError> {
        match self.begin_block() {
            Some(job) => self.finish_block(job.seal_and_store()),
            None => Ok(None),
        }
    }

    /// Takes the oldest open block to be sealed and stored (its
    /// transactions were applied on admission). `None` if nothing is open or
    /// a block is being sealed already. Admission goes on meanwhile, into
    /// the blocks after it.
    pub fn begin_block(&mut self) -> Option<Sealing> {
        if !self.mempool.sealing.is_empty() {
            return None;
        }
        let head = (
            self.cursor.last_hash,
            self.cursor.log.clone(),
            self.tree.len(),
        );
        self.take_open(head)
    }

    /// [`Core::begin_block`] on a cluster's leader, which keeps up to
    /// [`MAX_PROPOSALS`] blocks replicating at once: the block follows the
    /// last one proposed, not the head. `None` also while a block taken
    /// before has not been proposed yet, or has been applied and is not the
    /// head yet.
    pub fn begin_proposal(&mut self) -> Option<Sealing> {
        let proposed = &self.cluster.proposed;
        if self.mempool.sealing.len() != proposed.len() || proposed.len() >= MAX_PROPOSALS {
            return None;
        }
        let tip = match proposed.back() {
            Some(p) => (p.hash, p.frontier.clone(), p.next_leaf),
            None => (
                self.cursor.last_hash,
                self.cursor.log.clone(),
                self.tree.len(),
            ),
        };
        self.take_open(tip)
    }

    /// Moves the oldest open block to `sealing`, to follow the block whose
    /// hash, log frontier and next leaf index are `after`.
    fn take_open(&mut self, after: (Hash32, Frontier, u64)) -> Option<Sealing> {
        if !self.may_propose() {
            return None;
        }
        let open = self.mempool.open.pop_front()?;
        let (prev_hash, frontier, first_leaf) = after;
        self.mempool.sealing.push_back(Taken {
            height: open.height,
            time: open.time,
            state: open.state.clone(),
            began: std::time::Instant::now(),
        });
        Some(Sealing {
            open,
            chain_id: self.cursor.chain_id.clone(),
            prev_hash,
            frontier,
            first_leaf,
            key: self.key.clone(),
            store: self.store.clone(),
        })
    }

    /// Makes a stored block the chain's head: the in-memory log, cursor and
    /// state move, its transactions are committed, the checkpoint is signed
    /// and subscribers hear of it. If storing failed, the block is open
    /// again (first in line) and the error is returned.
    pub fn finish_block(&mut self, sealed: Sealed) -> Result<Option<u64>, NodeError> {
        let Sealed { open, result } = sealed;
        let ours = self.mempool.sealing.front();
        let began = if ours.is_some_and(|t| t.height == open.height) {
            self.mempool.sealing.pop_front().map(|t| t.began)
        } else {
            None
        };
        let stored = match result {
            Ok(stored) => stored,
            Err(e) => {
                self.mempool.open.push_front(open);
                self.metrics.production_errors_total += 1;
                self.metrics.production_error = Some(e.to_string());
                return Err(e);
            }
        };
        self.metrics.production_error = None;
        self.metrics.fsync_seconds_sum += stored.fsync_seconds;
        self.metrics.fsync_seconds_max = self.metrics.fsync_seconds_max.max(stored.fsync_seconds);
        self.metrics.blocks_total += 1;
        self.metrics.committed_total += open.txs.len() as u64;
        self.record_drain(open.txs.len(), began);
        for p in &open.txs {
            self.tree.push_hash(p.leaf_hash);
            self.mempool.pending.remove(&p.id);
        }
        self.cursor.next_height = open.height + 1;
        self.cursor.last_hash = stored.hash;
        self.cursor.last_time = Some(open.time);
        self.cursor.log = stored.frontier;
        let replaced = std::mem::replace(&mut self.state, stored.state);
        self.back_cases();
        self.sign_checkpoint()?;
        // Nobody listening is fine.
        let _ = self.events.send(Event::Block {
            height: open.height,
            hash: stored.hash,
            tx_count: open.txs.len() as u64,
            log_size: self.tree.len(),
        });
        let _ = self.events.send(Event::Checkpoint(self.checkpoint()));
        let height = open.height;
        super::reclaim::reclaim((replaced, open));
        Ok(Some(height))
    }

    /// Whether this node's key may propose the next block: it is an active
    /// department node key (`department.retire_node` ends that).
    pub fn may_propose(&self) -> bool {
        self.state.node_key(&self.key.key_id()).is_some()
    }
}

/// An open block taken by [`Core::begin_block`], to be sealed and stored
/// without the node's lock.
#[derive(Debug)]
pub struct Sealing {
    open: OpenBlock,
    chain_id: ChainId,
    prev_hash: Hash32,
    frontier: Frontier,
    first_leaf: u64,
    key: crate::NodeKey,
    store: Arc<Mutex<Store>>,
}

/// What [`Sealing::seal_and_store`] did, for [`Core::finish_block`].
#[derive(Debug)]
pub struct Sealed {
    open: OpenBlock,
    result: Result<Stored, NodeError>,
}

#[derive(Debug)]
struct Stored {
    state: State,
    hash: Hash32,
    frontier: Frontier,
    fsync_seconds: f64,
}

impl Sealing {
    /// Digests the block's state, seals and signs the block, and writes it
    /// (one SQLite transaction, `synchronous=FULL`). Keeps the open block so
    /// that a failure loses nothing.
    pub fn seal_and_store(mut self) -> Sealed {
        let result = self.store_block();
        Sealed {
            open: self.open,
            result,
        }
    }

    /// Seals the block without storing it, for the cluster to replicate
    /// ([`Core::propose`]). On failure the block's transactions are lost to
    /// this node (the caller abandons them; clients resend).
    pub fn seal(self) -> Result<Proposal, NodeError> {
        let (block, hash, frontier, state) = self.seal_block()?;
        Ok(Proposal {
            block,
            next_leaf: self.first_leaf + self.open.txs.len() as u64,
            open: self.open,
            hash,
            state,
            frontier,
        })
    }

    fn seal_block(&self) -> Result<(Block, Hash32, Frontier, State), NodeError> {
        let open = &self.open;
        let mut state = open.state.clone();
        state.next_height = open.height + 1;
        state.time = Some(open.time);
        let storage = |e: &dyn std::fmt::Display| NodeError::Storage(e.to_string());
        let digest = state.commit().map_err(|e| storage(&e))?;
        let leaves: Vec<Hash32> = open.txs.iter().map(|p| p.leaf_hash).collect();
        let mut frontier = self.frontier.clone();
        let block = Block::seal_with_signer(
            &*self.key,
            BlockDraft {
                chain_id: self.chain_id.clone(),
                height: open.height,
                prev_hash: self.prev_hash,
                time: open.time,
                txs: open.txs.iter().map(|p| p.env.clone()).collect(),
                state_root: digest,
            },
            &leaves,
            &mut frontier,
        )
        .map_err(|e| storage(&e))?;
        // This node built and signed the block itself: no need to verify it
        // (start-up replay re-verifies everything from storage).
        let hash = block.header.hash().map_err(|e| storage(&e))?;
        Ok((block, hash, frontier, state))
    }

    fn store_block(&mut self) -> Result<Stored, NodeError> {
        let (block, hash, frontier, state) = self.seal_block()?;
        let fsync_seconds = append(
            &self.store,
            self.open.ids_and_leaves(),
            &block,
            hash,
            self.first_leaf,
            &state,
        )?;
        Ok(Stored {
            state,
            hash,
            frontier,
            fsync_seconds,
        })
    }
}

/// Writes one block (its transactions' ids and leaf hashes given) and the
/// committed `state` after it (one SQLite transaction); returns how long
/// it took.
fn append(
    store: &Mutex<Store>,
    (ids, leaves): (Vec<Hash32>, Vec<Hash32>),
    block: &Block,
    hash: Hash32,
    first_leaf: u64,
    state: &State,
) -> Result<f64, NodeError> {
    let started = std::time::Instant::now();
    store
        .lock()
        .map_err(|_| NodeError::Storage("storage lock poisoned".into()))?
        .append(block, hash, first_leaf, &ids, &leaves, state)?;
    Ok(started.elapsed().as_secs_f64())
}

/// A replicated block to verify (unless this node proposed it) and store
/// without the node's lock; from [`Core::begin_apply`], for
/// [`Core::finish_block`].
#[derive(Debug)]
pub struct ApplyJob {
    pub(super) block: Block,
    pub(super) hash: Hash32,
    pub(super) known: Option<Proposal>,
    pub(super) first_leaf: u64,
    pub(super) state: State,
    pub(super) cursor: ChainCursor,
    pub(super) store: Arc<Mutex<Store>>,
}

impl ApplyJob {
    /// Verifies the block as start-up replay does (`node.diverged` if it
    /// does not verify: this node's copy and the cluster's disagree) and
    /// stores it.
    pub fn run(self) -> Result<Sealed, NodeError> {
        let Self {
            block,
            hash,
            known,
            first_leaf,
            state,
            mut cursor,
            store,
        } = self;
        if let Some(p) = known {
            let fsync_seconds = append(
                &store,
                p.open.ids_and_leaves(),
                &block,
                hash,
                first_leaf,
                &p.state,
            )?;
            return Ok(Sealed {
                open: p.open,
                result: Ok(Stored {
                    state: p.state,
                    hash,
                    frontier: p.frontier,
                    fsync_seconds,
                }),
            });
        }
        let (next, digests) = verify_block(&state, &mut cursor, &block)
            .map_err(|e| NodeError::Diverged(e.to_string()))?;
        let ids_and_leaves = digests.iter().map(|d| (d.id, d.leaf_hash)).unzip();
        let fsync_seconds = append(&store, ids_and_leaves, &block, hash, first_leaf, &next)?;
        let (height, time) = (block.header.height, block.header.time);
        let txs = block
            .txs
            .into_iter()
            .zip(digests)
            .map(|(env, d)| Prepared {
                env,
                id: d.id,
                msg: Vec::new(),
                leaf_hash: d.leaf_hash,
            })
            .collect();
        let open = OpenBlock {
            height,
            time,
            state: next.clone(),
            txs,
            bytes: 0,
        };
        Ok(Sealed {
            open,
            result: Ok(Stored {
                state: next,
                hash,
                frontier: cursor.log,
                fsync_seconds,
            }),
        })
    }
}
