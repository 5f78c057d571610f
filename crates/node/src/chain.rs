//! The node's view of the chain: the verified state, the Merkle log, the
//! mempool, per-transaction status and the latest signed checkpoint; block
//! production. Everything that changes the chain goes through [`Core`].

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};

use govchain_ledger::block::{Block, BlockDraft, ChainCursor};
use govchain_ledger::crypto::{PublicKey, SecretKey};
use govchain_ledger::merkle::{self, Frontier, MerkleTree};
use govchain_ledger::note::{self, Checkpoint, NoteKey, SignedNote, ALG_COSIGNATURE_V1};
use govchain_ledger::state::{SigCheck, State};
use govchain_ledger::tx::{Envelope, Prepared, TxDigests};
use govchain_ledger::types::{ChainId, Hash32, Timestamp};
use govchain_ledger::ErrorCode;

use crate::error::NodeError;
use crate::store::{ReadPool, Store, TxLocation};

/// How many of its latest checkpoints a node keeps for witnesses to cosign.
pub const RECENT_CHECKPOINTS: usize = 256;

/// How blocks are cut and how much the mempool holds.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_block_txs: usize,
    /// A block takes no further transaction once their signed bodies total
    /// this many bytes (so that a cluster replicates a block within a
    /// heartbeat interval).
    pub max_block_bytes: usize,
    pub max_mempool: usize,
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

/// Where a node stands in a cluster ([`crate::cluster`]): a standalone node
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

/// A block sealed by this node and proposed to the cluster: when the
/// replicated log applies it, it is stored and made the head without being
/// verified again (this node built it).
#[derive(Debug)]
pub struct Proposal {
    pub block: Block,
    open: OpenBlock,
    hash: Hash32,
    state: State,
    frontier: Frontier,
}

/// A block being filled: its height and time are fixed when it opens, and
/// each admitted transaction is applied to `state` at once, at that height
/// and time — exactly as replaying the block will apply it. So a transaction
/// that conflicts with one admitted before it (same sequence number, a step
/// already signed, a budget already used) is refused on submission, and the
/// rules run once per transaction.
#[derive(Debug)]
struct OpenBlock {
    height: u64,
    time: Timestamp,
    /// The state after the blocks before this one and these transactions.
    state: State,
    /// With id and leaf hash; the signed message is dropped.
    txs: Vec<Prepared>,
    /// The signed messages' total size.
    bytes: usize,
}

#[derive(Debug)]
pub struct Core {
    /// The writer connection: used by [`Sealing::seal_and_store`] without
    /// the node's lock. Lookups go through `reads`.
    store: Arc<Mutex<Store>>,
    reads: Arc<ReadPool>,
    state: State,
    tree: MerkleTree,
    cursor: ChainCursor,
    key: Arc<SecretKey>,
    name: String,
    /// Admitted transactions, already applied, in the blocks they will be
    /// written as (oldest first; only the last one takes more).
    open: VecDeque<OpenBlock>,
    /// The block being sealed and stored, if any: its height, time and
    /// state, which the next open block follows.
    sealing: Option<(u64, Timestamp, State)>,
    /// Transactions in `open` and in the block being sealed, by id.
    pending: HashSet<Hash32>,
    rejected: HashMap<Hash32, (&'static str, String)>,
    rejected_order: VecDeque<Hash32>,
    /// The latest checkpoints this node signed (newest last), each with the
    /// witnesses' cosignatures it has received.
    checkpoints: VecDeque<SignedNote>,
    /// The block proposed to the cluster and not yet applied.
    proposed: Option<Proposal>,
    role: Role,
    /// A cluster's voters and learners, as Raft last reported them.
    membership: Option<(Vec<u64>, Vec<u64>)>,
    /// Why this node stopped (its copy disagrees with the cluster's).
    halted: Option<String>,
    limits: Limits,
    metrics: Metrics,
    events: tokio::sync::broadcast::Sender<Event>,
    clock: Clock,
}

impl Core {
    /// Opens the node's database, creating the chain from `genesis` if the
    /// database is empty, and re-verifies every stored block (hash chain,
    /// roots, proposer signatures, transaction signatures, rules and state
    /// digests). A database that does not verify is refused.
    pub fn open(
        path: &Path,
        key: SecretKey,
        name: &str,
        genesis: Option<&Block>,
        limits: Limits,
    ) -> Result<Self, NodeError> {
        let mut store = Store::open(path)?;
        let mut blocks = store.all_blocks()?;
        if blocks.is_empty() {
            let g = genesis.ok_or_else(|| {
                NodeError::Storage("the database is empty and no genesis block was given".into())
            })?;
            blocks.push(g.clone());
            let hash = g
                .header
                .hash()
                .map_err(|e| NodeError::Corrupt(e.to_string()))?;
            Self::replay(std::slice::from_ref(g))?;
            let ids = g
                .txs
                .iter()
                .map(Envelope::id)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| NodeError::Corrupt(e.to_string()))?;
            store.append(g, hash, 0, &ids)?;
        }
        let (state, tree, cursor) = Self::replay(&blocks)?;
        let mut core = Self {
            store: Arc::new(Mutex::new(store)),
            reads: Arc::new(ReadPool::new(path)),
            state,
            tree,
            cursor,
            key: Arc::new(key),
            name: name.to_owned(),
            open: VecDeque::new(),
            sealing: None,
            pending: HashSet::new(),
            rejected: HashMap::new(),
            rejected_order: VecDeque::new(),
            checkpoints: VecDeque::new(),
            proposed: None,
            role: Role::Standalone,
            membership: None,
            halted: None,
            limits,
            metrics: Metrics::default(),
            events: tokio::sync::broadcast::channel(256).0,
            clock: Clock::System,
        };
        core.sign_checkpoint()?;
        Ok(core)
    }

    fn replay(blocks: &[Block]) -> Result<(State, MerkleTree, ChainCursor), NodeError> {
        let first = blocks
            .first()
            .ok_or_else(|| NodeError::Corrupt("no blocks".into()))?;
        let mut cursor = ChainCursor::genesis(first.header.chain_id.clone());
        let mut state = State::new();
        let mut tree = MerkleTree::new();
        for b in blocks {
            let (next, digests) = verify_block(&state, &mut cursor, b)?;
            for d in &digests {
                tree.push_hash(d.leaf_hash);
            }
            state = next;
        }
        Ok((state, tree, cursor))
    }

    pub fn chain_id(&self) -> &ChainId {
        &self.cursor.chain_id
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
    pub fn node_key(&self) -> Arc<SecretKey> {
        self.key.clone()
    }

    pub fn role(&self) -> &Role {
        &self.role
    }

    /// Sets the node's cluster role; a node that stops leading drops the
    /// transactions it admitted and had not committed (their clients resend
    /// them, to the new leader).
    pub fn set_role(&mut self, role: Role) {
        if self.role == Role::Leader && role != Role::Leader {
            self.abandon_pending();
        }
        self.role = role;
    }

    /// A cluster's voters and learners (node ids).
    pub fn membership(&self) -> Option<&(Vec<u64>, Vec<u64>)> {
        self.membership.as_ref()
    }

    pub fn set_membership(&mut self, voters: Vec<u64>, learners: Vec<u64>) {
        self.membership = Some((voters, learners));
    }

    /// Why the node halted, if it did.
    pub fn halted(&self) -> Option<&str> {
        self.halted.as_deref()
    }

    pub fn halt(&mut self, why: String) {
        self.halted = Some(why);
    }

    /// Drops the open blocks, the block being sealed and the proposed block:
    /// on a leader that lost leadership, or whose proposal failed. Their
    /// transactions were never reported committed; they become unknown.
    pub fn abandon_pending(&mut self) {
        let dropped = self.pending.len();
        self.open.clear();
        self.sealing = None;
        self.proposed = None;
        self.pending.clear();
        if dropped > 0 {
            tracing::warn!(
                dropped,
                "not leading any more: pending transactions dropped"
            );
        }
    }

    /// Whether a full block waits to be cut (by count or by bytes): blocks
    /// are then cut back to back rather than on the interval.
    pub fn full_block_waiting(&self) -> bool {
        self.open.len() > 1
            || self.open.front().is_some_and(|b| {
                b.txs.len() >= self.limits.max_block_txs || b.bytes >= self.limits.max_block_bytes
            })
    }

    pub fn mempool_len(&self) -> usize {
        self.pending.len()
    }

    /// The latest checkpoint note, with the cosignatures it has so far.
    pub fn checkpoint(&self) -> String {
        self.checkpoints
            .back()
            .map(ToString::to_string)
            .unwrap_or_default()
    }

    /// The newest recent checkpoint cosigned by at least `k` other
    /// departments' nodes.
    pub fn witnessed_checkpoint(&self, k: usize) -> Option<String> {
        self.checkpoints
            .iter()
            .rev()
            .find(|n| n.signatures.len() > k)
            .map(ToString::to_string)
    }

    /// Adds the witnesses' cosignatures in `note` — one of this node's
    /// recent checkpoints with `cosignature/v1` lines (C2SP) added — to that
    /// checkpoint. A line counts if its key is another department's node key
    /// (named as the line names it); lines of unknown keys are ignored, a
    /// line of a known key that does not verify refuses the whole note. A
    /// department's newer cosignature replaces its older one. Returns the
    /// checkpoint's size and how many cosignatures it now has.
    pub fn add_cosignatures(&mut self, text: &str) -> Result<(u64, usize), NodeError> {
        let parsed = SignedNote::parse(text).map_err(|e| NodeError::bad(&e))?;
        let own = self.key.public_key();
        let witness_key = |s: &note::NoteSignature| {
            self.state
                .departments
                .values()
                .filter(|d| d.node_key != own && d.node_active())
                .find_map(|d| {
                    NoteKey::new(&s.name, ALG_COSIGNATURE_V1, d.node_key)
                        .ok()
                        .filter(|k| k.key_id() == s.key_id)
                })
        };
        let mut found = Vec::new();
        for s in &parsed.signatures {
            if let Some(k) = witness_key(s) {
                note::verify_signature(&parsed.text, &k, s).map_err(|e| NodeError::bad(&e))?;
                found.push((k.key, s.clone()));
            }
        }
        let n = self
            .checkpoints
            .iter()
            .position(|cp| cp.text == parsed.text)
            .ok_or_else(|| {
                NodeError::NotFound("a recent checkpoint of this node with that text".into())
            })?;
        let cp = &mut self.checkpoints[n];
        for (key, line) in found {
            let same = cp
                .signatures
                .iter()
                .position(|s| witness_key(s).is_some_and(|k| k.key == key));
            match same {
                Some(j) => cp.signatures[j] = line,
                None => cp.signatures.push(line),
            }
        }
        let size = Checkpoint::parse_body(&cp.text)
            .map_err(|e| NodeError::Corrupt(e.to_string()))?
            .size;
        Ok((size, cp.signatures.len() - 1))
    }

    /// The origin line of this chain's checkpoints (fixed at genesis).
    pub fn origin(&self) -> String {
        self.state
            .origin
            .clone()
            .unwrap_or_else(|| format!("govchain/{}", self.cursor.chain_id))
    }

    fn sign_checkpoint(&mut self) -> Result<(), NodeError> {
        let cp = Checkpoint {
            origin: self.origin(),
            size: self.tree.len(),
            root: self.tree.root(),
            extensions: vec![],
        };
        let note = cp
            .sign(&self.name, &self.key)
            .map_err(|e| NodeError::Storage(format!("cannot sign checkpoint: {e}")))?;
        self.checkpoints.push_back(note);
        while self.checkpoints.len() > RECENT_CHECKPOINTS {
            self.checkpoints.pop_front();
        }
        Ok(())
    }

    /// Admits a transaction to the mempool after checking it against the
    /// state of the open block it joins (signature, sequence, rules).
    /// Idempotent by id.
    pub fn submit(
        &mut self,
        env: Envelope,
        now: Timestamp,
    ) -> Result<(Hash32, TxStatus), NodeError> {
        let p = env.prepare().map_err(|e| NodeError::bad(&e))?;
        self.admit(p, now, false)
    }

    /// The public keys the envelopes' signers sign with now (None: unknown).
    pub fn keys_for(&self, envs: &[Envelope]) -> Vec<Option<PublicKey>> {
        envs.iter()
            .map(|e| {
                self.state
                    .key_for(&e.body.signer, self.cursor.next_height)
                    .ok()
            })
            .collect()
    }

    /// Admits envelopes whose signatures were checked by
    /// [`verify_signatures`] (`verified[i]`); the others get the full check.
    pub fn admit_batch(
        &mut self,
        envs: Vec<Result<Prepared, NodeError>>,
        verified: &[bool],
        now: Timestamp,
    ) -> Vec<Result<(Hash32, TxStatus), NodeError>> {
        envs.into_iter()
            .zip(verified)
            .map(|(p, ok)| self.admit(p?, now, *ok))
            .collect()
    }

    fn admit(
        &mut self,
        p: Prepared,
        now: Timestamp,
        sig_verified: bool,
    ) -> Result<(Hash32, TxStatus), NodeError> {
        let id = p.id;
        if self.pending.contains(&id) {
            return Ok((id, TxStatus::Pending));
        }
        if self.pending.len() >= self.limits.max_mempool {
            // Submission is idempotent even when the mempool is full.
            if let Some(loc) = self.committed(&id)? {
                return Ok((id, TxStatus::Committed(loc)));
            }
            return Err(NodeError::MempoolFull(self.pending.len()));
        }
        let block = self.open_block(now);
        // Rules validate before they mutate: a rejected transaction leaves
        // the open block's state as it was.
        let applied = if sig_verified {
            block
                .state
                .apply_admitted(&p.env, id, block.height, block.time)
        } else {
            block.state.apply_tx(&p.env, block.height, block.time)
        };
        if let Err(r) = applied {
            // A block is opened for a transaction; it may not stay empty.
            if block.txs.is_empty() {
                self.open.pop_back();
            }
            // A committed transaction fails the rules again (its sequence
            // number is used): look it up only then.
            if let Some(loc) = self.committed(&id)? {
                return Ok((id, TxStatus::Committed(loc)));
            }
            self.metrics.rejected_total += 1;
            self.remember_rejection(id, r.code(), r.to_string());
            return Err(NodeError::Rejected(r));
        }
        // The signed message is not needed any more.
        block.bytes += p.msg.len() + p.env.sig.as_bytes().len();
        block.txs.push(Prepared {
            msg: Vec::new(),
            ..p
        });
        self.rejected.remove(&id);
        self.pending.insert(id);
        self.metrics.admitted_total += 1;
        Ok((id, TxStatus::Pending))
    }

    /// The block new transactions go into: the last open one, or a new one
    /// after it (or after the chain's head) once it is full. A new block's
    /// time is `now`, never before the block it follows.
    fn open_block(&mut self, now: Timestamp) -> &mut OpenBlock {
        let full = self.open.back().is_none_or(|b| {
            b.txs.len() >= self.limits.max_block_txs || b.bytes >= self.limits.max_block_bytes
        });
        if full {
            let (height, time, mut state) = match (self.open.back(), &self.sealing) {
                (Some(b), _) => (b.height + 1, b.time.max(now), b.state.clone()),
                (None, Some((h, t, st))) => (h + 1, (*t).max(now), st.clone()),
                (None, None) => (self.cursor.next_height, self.clock(now), self.state.clone()),
            };
            state.next_height = height;
            state.time = Some(time);
            self.open.push_back(OpenBlock {
                height,
                time,
                state,
                txs: Vec::new(),
                bytes: 0,
            });
        }
        let last = self.open.len() - 1;
        &mut self.open[last]
    }

    pub fn status(&self, id: &Hash32) -> Result<TxStatus, NodeError> {
        if self.pending.contains(id) {
            return Ok(TxStatus::Pending);
        }
        if let Some(loc) = self.committed(id)? {
            return Ok(TxStatus::Committed(loc));
        }
        if let Some((code, message)) = self.rejected.get(id) {
            return Ok(TxStatus::Rejected {
                code,
                message: message.clone(),
            });
        }
        Ok(TxStatus::Unknown)
    }

    fn remember_rejection(&mut self, id: Hash32, code: &'static str, message: String) {
        if self.rejected.insert(id, (code, message)).is_none() {
            self.rejected_order.push_back(id);
        }
        while self.rejected_order.len() > self.limits.max_remembered_rejections {
            if let Some(old) = self.rejected_order.pop_front() {
                self.rejected.remove(&old);
            }
        }
    }

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
        if self.sealing.is_some() || !self.may_propose() {
            return None;
        }
        let open = self.open.pop_front()?;
        self.sealing = Some((open.height, open.time, open.state.clone()));
        Some(Sealing {
            open,
            chain_id: self.cursor.chain_id.clone(),
            prev_hash: self.cursor.last_hash,
            frontier: self.cursor.log.clone(),
            first_leaf: self.tree.len(),
            key: self.key.clone(),
            store: self.store.clone(),
        })
    }

    /// Makes a stored block the chain's head: the in-memory log, cursor and
    /// state move, its transactions are committed, the checkpoint is signed
    /// and subscribers hear of it. If storing failed, the block is open
    /// again (first in line) and the error is returned.
    pub fn finish_block(&mut self, sealed: Sealed) -> Result<Option<u64>, NodeError> {
        self.sealing = None;
        let Sealed { open, result } = sealed;
        let stored = match result {
            Ok(stored) => stored,
            Err(e) => {
                self.open.push_front(open);
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
        for p in &open.txs {
            self.tree.push_hash(p.leaf_hash);
            self.pending.remove(&p.id);
        }
        self.cursor.next_height = open.height + 1;
        self.cursor.last_hash = stored.hash;
        self.cursor.last_time = Some(open.time);
        self.cursor.log = stored.frontier;
        self.state = stored.state;
        self.sign_checkpoint()?;
        // Nobody listening is fine.
        let _ = self.events.send(Event::Block {
            height: open.height,
            hash: stored.hash,
            tx_count: open.txs.len() as u64,
            log_size: self.tree.len(),
        });
        let _ = self.events.send(Event::Checkpoint(self.checkpoint()));
        Ok(Some(open.height))
    }

    /// Whether this node's key may propose the next block: it is an active
    /// department node key (`department.retire_node` ends that).
    pub fn may_propose(&self) -> bool {
        self.state.node_key(&self.key.key_id()).is_some()
    }

    /// Records a sealed block as proposed to the cluster and returns it, to
    /// be replicated; [`Core::begin_apply`] recognizes it.
    pub fn propose(&mut self, p: Proposal) -> Block {
        let block = p.block.clone();
        self.proposed = Some(p);
        block
    }

    /// Starts applying a block from the replicated log. A block below this
    /// node's next height is skipped: every node applies the same log to the
    /// same chain, so every node skips the same entries (a leader's proposal
    /// that lost a race with its successor's, or an entry re-applied after a
    /// restart). Returns `None` for a skipped block. A block at the next
    /// height that does not extend the head, or above it, means this copy
    /// and the cluster's disagree: `node.diverged`.
    pub fn begin_apply(&mut self, block: Block) -> Result<Option<ApplyJob>, NodeError> {
        let hash = block
            .header
            .hash()
            .map_err(|e| NodeError::Diverged(format!("replicated block: {e}")))?;
        let proposed = self.proposed.as_ref().map(|p| p.hash);
        let (height, next) = (block.header.height, self.cursor.next_height);
        if height < next {
            tracing::warn!(
                height,
                head = self.height(),
                "stale replicated block: skipped"
            );
            if proposed == Some(hash) {
                self.abandon_pending();
            }
            return Ok(None);
        }
        if height > next || block.header.prev_hash != self.cursor.last_hash {
            return Err(NodeError::Diverged(format!(
                "replicated block {height} does not extend this node's block {}",
                self.height()
            )));
        }
        let known = if proposed == Some(hash) {
            self.proposed.take()
        } else {
            // Another node's block: what this node had open builds on a
            // state that is not the chain's any more.
            self.abandon_pending();
            None
        };
        Ok(Some(ApplyJob {
            block,
            hash,
            known,
            first_leaf: self.tree.len(),
            state: self.state.clone(),
            cursor: self.cursor.clone(),
            store: self.store.clone(),
        }))
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
        let proof = self
            .tree
            .inclusion_proof(loc.leaf_index, size)
            .map_err(|e| NodeError::bad(&e))?;
        let leaf = self
            .tree
            .leaf_hash_at(loc.leaf_index)
            .ok_or_else(|| NodeError::Corrupt("log shorter than the index".into()))?;
        Ok((loc, leaf, proof))
    }

    pub fn consistency_proof(
        &self,
        size1: u64,
        size2: u64,
    ) -> Result<merkle::ConsistencyProof, NodeError> {
        self.tree
            .consistency_proof(size1, size2)
            .map_err(|e| NodeError::bad(&e))
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
    key: Arc<SecretKey>,
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
        let digest = state.digest().map_err(|e| storage(&e))?;
        let leaves: Vec<Hash32> = open.txs.iter().map(|p| p.leaf_hash).collect();
        let mut frontier = self.frontier.clone();
        let block = Block::seal_with_leaves(
            &self.key,
            BlockDraft {
                chain_id: self.chain_id.clone(),
                height: open.height,
                prev_hash: self.prev_hash,
                time: open.time,
                txs: open.txs.iter().map(|p| p.env.clone()).collect(),
                state_digest: digest,
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
        let ids: Vec<Hash32> = self.open.txs.iter().map(|p| p.id).collect();
        let fsync_seconds = append(&self.store, &block, hash, self.first_leaf, &ids)?;
        Ok(Stored {
            state,
            hash,
            frontier,
            fsync_seconds,
        })
    }
}

/// Writes one block (one SQLite transaction); returns how long it took.
fn append(
    store: &Mutex<Store>,
    block: &Block,
    hash: Hash32,
    first_leaf: u64,
    ids: &[Hash32],
) -> Result<f64, NodeError> {
    let started = std::time::Instant::now();
    store
        .lock()
        .map_err(|_| NodeError::Storage("storage lock poisoned".into()))?
        .append(block, hash, first_leaf, ids)?;
    Ok(started.elapsed().as_secs_f64())
}

/// A replicated block to verify (unless this node proposed it) and store
/// without the node's lock; from [`Core::begin_apply`], for
/// [`Core::finish_block`].
#[derive(Debug)]
pub struct ApplyJob {
    block: Block,
    hash: Hash32,
    known: Option<Proposal>,
    first_leaf: u64,
    state: State,
    cursor: ChainCursor,
    store: Arc<Mutex<Store>>,
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
            let ids: Vec<Hash32> = p.open.txs.iter().map(|t| t.id).collect();
            let fsync_seconds = append(&store, &block, hash, first_leaf, &ids)?;
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
        let ids: Vec<Hash32> = digests.iter().map(|d| d.id).collect();
        let fsync_seconds = append(&store, &block, hash, first_leaf, &ids)?;
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
        Ok(Sealed {
            open: OpenBlock {
                height,
                time,
                state: next.clone(),
                txs,
                bytes: 0,
            },
            result: Ok(Stored {
                state: next,
                hash,
                frontier: cursor.log,
                fsync_seconds,
            }),
        })
    }
}

/// Checks `b` as the block after `cursor` on `state` — hash chain, roots,
/// proposer signature, every transaction's signature and rules, and the state
/// digest — and returns the state after it with each transaction's digests
/// (computed once: ids, signed messages, leaf hashes); `cursor` advances.
fn verify_block(
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
    let digest = next.digest().map_err(|e| corrupt(e.to_string()))?;
    if digest != b.header.state_digest {
        return Err(corrupt(
            "state digest does not match the rules' result".into(),
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
