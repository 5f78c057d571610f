//! The node's view of the chain: [`Core`] holds the verified state, the
//! Merkle log and the chain cursor, and is made of named parts, each in its
//! own file with the `Core` methods that use it:
//!
//! - `mempool`: admitted transactions, already applied, in the open blocks
//!   they will be written as; rejections remembered for status queries;
//! - `checkpoints`: the recent signed checkpoints and their witnesses'
//!   cosignatures;
//! - `cluster_view`: the node's role, membership, halt and the proposed
//!   blocks, and applying replicated blocks;
//! - `production`: cutting, sealing and storing blocks (without the lock);
//! - `verify`: block and signature verification.
//!
//! Everything that changes the chain goes through [`Core`]; the rest of the
//! node shares it behind a lock through a node handle.

mod checkpoints;
mod cluster_view;
mod inbox;
mod mempool;
mod production;
mod reclaim;
mod restore;
mod snapshot;
mod verify;

use std::path::Path;
use std::sync::{Arc, Mutex};

use govchain_ledger::block::{Block, ChainCursor};
use govchain_ledger::crypto::Signer;
use govchain_ledger::merkle::{self, CompactTree, MerkleTree, TreeError};
use govchain_ledger::state::{CaseSource, State};
use govchain_ledger::types::{ChainId, Hash32, Timestamp};

use crate::error::NodeError;
use crate::store::{ReadPool, Store, StoredCases, TxLocation};

pub use checkpoints::RECENT_CHECKPOINTS;
pub use production::{ApplyJob, Proposal, Sealed, Sealing, MAX_PROPOSALS};
pub use restore::{verify_chain, ChainReport};
pub use snapshot::{verify_snapshot, VerifiedSnapshot};
pub use verify::verify_signatures;

use checkpoints::Checkpoints;
use cluster_view::ClusterView;
use mempool::Mempool;
use restore::{replay, restore};
use verify::verify_block;

/// How blocks are cut and how much the mempool holds.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_block_txs: usize,
    /// A block takes no further transaction once their signed bodies total
    /// this many bytes (so that a cluster replicates a block within a
    /// heartbeat interval).
    pub max_block_bytes: usize,
    /// The hard cap on transactions waiting.
    pub max_mempool: usize,
    /// Target submit-to-commit delay: admission stops (`429 node.busy`)
    /// once the transactions admitted and being checked are what the
    /// node commits in half this many milliseconds at its service rate (at
    /// most `max_mempool`).
    pub max_queue_ms: u64,
    /// The admission bound before the node has made a block (no service
    /// rate known yet): one full block.
    pub min_queue: usize,
    /// Rejections remembered for status queries.
    pub max_remembered_rejections: usize,
    /// Requests per second each client address may make (token bucket,
    /// bursts of twice that); 0 turns the limit off.
    pub requests_per_sec: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_block_txs: 2000,
            max_block_bytes: 4 * 1024 * 1024,
            max_mempool: 100_000,
            max_queue_ms: 200,
            min_queue: 2000,
            max_remembered_rejections: 100_000,
            requests_per_sec: 500,
        }
    }
}

/// Counters exported at `/metrics`.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    pub blocks_total: u64,
    pub committed_total: u64,
    pub rejected_total: u64,
    pub admitted_total: u64,
    pub fsync_seconds_sum: f64,
    pub fsync_seconds_max: f64,
    /// Blocks that could not be stored (each is retried).
    pub production_errors_total: u64,
    /// The last such failure, until a block is stored again.
    pub production_error: Option<String>,
    /// Whether the start-up background check of the stored cases passed.
    pub stored_cases_check_done: bool,
}

/// What subscribers of `/v1/events` hear about.
#[derive(Debug, Clone)]
pub enum Event {
    Block {
        height: u64,
        hash: Hash32,
        tx_count: u64,
        log_size: u64,
    },
    Checkpoint(String),
}

/// Where the node's time comes from: the system clock, or a clock tests set
/// (milliseconds since the Unix epoch) to replay a scripted history.
#[derive(Debug, Clone, Default)]
pub enum Clock {
    #[default]
    System,
    Manual(std::sync::Arc<std::sync::atomic::AtomicI64>),
}

impl Clock {
    pub fn now(&self) -> Timestamp {
        let ms = match self {
            Clock::System => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            Clock::Manual(ms) => ms.load(std::sync::atomic::Ordering::SeqCst),
        };
        Timestamp::from_unix_millis(ms).unwrap_or(Timestamp::UNIX_EPOCH)
    }
}

/// Where a transaction stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxStatus {
    Pending,
    Committed(TxLocation),
    Rejected { code: &'static str, message: String },
    Unknown,
}

/// Where a node stands in a cluster (consortium mode): a standalone node
/// or a leader admits and produces; a follower forwards submissions to the
/// leader it knows of.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Role {
    #[default]
    Standalone,
    Leader,
    Follower {
        leader_url: Option<String>,
    },
}

#[derive(Debug)]
pub struct Core {
    /// The writer connection: used by [`Sealing::seal_and_store`] without
    /// the node's lock. Lookups go through `reads`.
    store: Arc<Mutex<Store>>,
    reads: Arc<ReadPool>,
    state: State,
    /// The log's tree from [`LOG_FLOOR`] up; leaves below are read back
    /// from `reads` (every leaf in it is stored: blocks join it in
    /// `finish_block`, after their write).
    tree: CompactTree,
    cursor: ChainCursor,
    /// Block 0's hash: what workstations pin with the chain id.
    genesis_hash: Hash32,
    key: crate::NodeKey,
    name: String,
    mempool: Mempool,
    checkpoints: Checkpoints,
    cluster: ClusterView,
    limits: Limits,
    metrics: Metrics,
    events: tokio::sync::broadcast::Sender<Event>,
    clock: Clock,
}

impl Core {
    /// Opens the node's database, creating the chain from `genesis` if the
    /// database is empty. A stored chain starts from its stored state,
    /// which must be exactly the state the head block signs
    /// (`node.state_mismatch` otherwise): no block is replayed. A database
    /// without a stored state (schema 1) is replayed once, fully verified,
    /// and its state stored. `govchain-node verify-chain` replays and checks
    /// everything.
    pub fn open(
        path: &Path,
        key: impl Signer + 'static,
        name: &str,
        genesis: Option<&Block>,
        limits: Limits,
    ) -> Result<Self, NodeError> {
        let mut store = Store::open(path)?;
        let reads = Arc::new(store.read_pool());
        let (state, tree, cursor) = match store.head()? {
            None => {
                let g = genesis.ok_or_else(|| {
                    NodeError::Storage(
                        "the database is empty and no genesis block was given".into(),
                    )
                })?;
                let mut cursor = ChainCursor::genesis(g.header.chain_id.clone());
                let (state, digests) = verify_block(&State::new(), &mut cursor, g)?;
                let hash = g
                    .header
                    .hash()
                    .map_err(|e| NodeError::Corrupt(e.to_string()))?;
                let ids: Vec<Hash32> = digests.iter().map(|d| d.id).collect();
                let leaves: Vec<Hash32> = digests.iter().map(|d| d.leaf_hash).collect();
                store.append(g, hash, 0, &ids, &leaves, &state)?;
                (state, MerkleTree::from_leaf_hashes(&leaves), cursor)
            }
            Some(head) => {
                let cases = StoredCases::attach(&reads, head.header.height)?
                    .map(|c| Arc::new(c) as Arc<dyn CaseSource>);
                if let Some(restored) = restore(&store, &head, cases, Some(&reads))? {
                    restored
                } else {
                    let (state, tree, cursor) = replay(&store)?;
                    store.rewrite_state(head.header.height, &state, tree.leaf_hashes())?;
                    (state, tree, cursor)
                }
            }
        };
        let tree = tree.into_compact(LOG_FLOOR);
        let genesis_hash = store
            .block_hash(0)?
            .ok_or_else(|| NodeError::Corrupt("no block 0".into()))?;
        let mut core = Self {
            store: Arc::new(Mutex::new(store)),
            reads,
            state,
            tree,
            cursor,
            genesis_hash,
            key: Arc::new(key),
            name: name.to_owned(),
            mempool: Mempool::default(),
            checkpoints: Checkpoints::default(),
            cluster: ClusterView::default(),
            limits,
            metrics: Metrics::default(),
            events: tokio::sync::broadcast::channel(256).0,
            clock: Clock::System,
        };
        if !core.state.cases.is_backed() {
            core.back_cases();
        }
        core.index_waiting()?;
        core.sign_checkpoint()?;
        Ok(core)
    }

    /// Makes the head state read its cases from the store, holding none:
    /// for a head state just stored or loaded. If the store is not at the
    /// head's height, the cases stay in memory.
    fn back_cases(&mut self) {
        let height = self.height();
        if self.state.has_uncommitted_changes() || self.state.next_height != height + 1 {
            return;
        }
        match StoredCases::attach(&self.reads, height) {
            Ok(Some(cases)) => self.state.attach_case_source(Arc::new(cases)),
            Ok(None) => tracing::debug!("the store is not at block {height}: cases stay in memory"),
            Err(e) => tracing::warn!("cases stay in memory: {e}"),
        }
    }

    pub fn chain_id(&self) -> &ChainId {
        &self.cursor.chain_id
    }

    /// Block 0's hash (what workstations pin with the chain id).
    pub fn genesis_hash(&self) -> Hash32 {
        self.genesis_hash
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn height(&self) -> u64 {
        self.cursor.next_height.saturating_sub(1)
    }

    pub fn log_size(&self) -> u64 {
        self.tree.len()
    }

    /// `now`, but never before the last block's time: the time views use.
    pub fn clock(&self, now: Timestamp) -> Timestamp {
        self.cursor.last_time.map_or(now, |t| t.max(now))
    }

    /// The node's current time (admission checks, block times).
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The time views are evaluated at: [`Core::now`], never before the last
    /// block.
    pub fn view_time(&self) -> Timestamp {
        self.clock(self.now())
    }

    pub fn set_clock(&mut self, clock: Clock) {
        self.clock = clock;
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Records that the start-up check of the stored cases passed.
    pub fn set_stored_cases_checked(&mut self) {
        self.metrics.stored_cases_check_done = true;
    }

    /// A receiver of new blocks and checkpoints.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Ends every event subscription (on shutdown, so that open `/v1/events`
    /// streams close and the server can finish).
    pub fn close_events(&mut self) {
        self.events = tokio::sync::broadcast::channel(256).0;
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// This node's signing key (block sealing, checkpoints, Raft RPCs).
    pub fn node_key(&self) -> crate::NodeKey {
        self.key.clone()
    }

    /// Where a committed transaction is. A block stored but not yet made the
    /// head by [`Core::finish_block`] does not count.
    fn committed(&self, id: &Hash32) -> Result<Option<TxLocation>, NodeError> {
        Ok(self
            .reads
            .locate(id)?
            .filter(|loc| loc.leaf_index < self.tree.len()))
    }

    /// Read-only access to committed blocks without this lock.
    pub fn reads(&self) -> std::sync::Arc<ReadPool> {
        self.reads.clone()
    }

    pub fn inclusion_proof(
        &self,
        id: &Hash32,
        size: Option<u64>,
    ) -> Result<(TxLocation, Hash32, merkle::InclusionProof), NodeError> {
        let loc = self
            .committed(id)?
            .ok_or_else(|| NodeError::NotFound(format!("committed transaction {id}")))?;
        let size = size.unwrap_or(self.tree.len());
        let (leaf, proof) = self
            .tree
            .leaf_and_inclusion_proof(loc.leaf_index, size, &*self.reads)
            .map_err(tree_error)?;
        Ok((loc, leaf, proof))
    }

    pub fn consistency_proof(
        &self,
        size1: u64,
        size2: u64,
    ) -> Result<merkle::ConsistencyProof, NodeError> {
        self.tree
            .consistency_proof(size1, size2, &*self.reads)
            .map_err(tree_error)
    }
}

/// The lowest level of the log's tree a node holds: one hash per 256
/// leaves and their parents (256 KB at a million transactions); proofs
/// read the leaves below it back from the store, a chunk at a time.
pub const LOG_FLOOR: u32 = 8;

/// A request the tree refuses (`proof.*`), or stored leaves that could not
/// be read or do not hash to the tree.
fn tree_error(e: TreeError<NodeError>) -> NodeError {
    match e {
        TreeError::Proof(p) => NodeError::bad(&p),
        TreeError::Source { error, .. } => error,
        e @ TreeError::Mismatch { .. } => NodeError::StateMismatch(e.to_string()),
    }
}
