//! Consortium mode: departments' nodes replicate one chain with Raft
//! (openraft). The leader cuts and seals blocks from its mempool and
//! proposes each as one log entry ([`Replicator::replicate`]); every node,
//! the leader included, applies committed entries through
//! [`state_machine::apply_block`], which re-verifies other nodes' blocks and
//! halts on any disagreement. Followers forward submissions to the leader.
//! Block heights are the ledger's; Raft indexes never leave this module.
//!
//! The seam for another engine (a BFT one, ADR 0002) is [`Replicator`] on the
//! proposing side and [`state_machine::apply_block`] on the applying side.

pub mod log_store;
pub mod network;
pub mod state_machine;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use govchain_ledger::block::Block;
use govchain_ledger::crypto::SecretKey;
use govchain_ledger::note::{NoteKey, ALG_ED25519};
use govchain_ledger::ErrorCode as _;
use openraft::BasicNode;
use serde::{Deserialize, Serialize};

use crate::api::{app, lock, Shared};
use crate::chain::Role;
use crate::error::NodeError;

pub type NodeId = u64;

openraft::declare_raft_types!(
    /// govchain's Raft types: a log entry's payload is a sealed block.
    pub TypeConfig:
        D = Block,
        R = Applied,
        NodeId = NodeId,
        Node = BasicNode,
        SnapshotData = std::io::Cursor<Vec<u8>>,
);

pub type Raft = openraft::Raft<TypeConfig>;

/// What applying an entry did: the block height made the head, or `None`
/// (no block, or a block skipped because it did not follow the head).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Applied {
    pub height: Option<u64>,
}

/// `cluster.toml`: the consortium's nodes.
///
/// ```toml
/// [[members]]
/// id = 1
/// url = "http://127.0.0.1:7701"
/// name = "node.city.example"     # the name its checkpoints are signed under
/// department = "city-management" # its node key is that department's
/// # learner = true               # a read-only copy (an auditor's node)
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterFile {
    #[serde(default = "default_heartbeat_ms")]
    pub heartbeat_ms: u64,
    /// Followers start an election after this long without a leader (the
    /// upper bound is twice this).
    #[serde(default = "default_election_ms")]
    pub election_timeout_ms: u64,
    /// Take a snapshot (and compact the log) after this many entries.
    #[serde(default = "default_snapshot_every")]
    pub snapshot_every: u64,
    pub members: Vec<Member>,
}

fn default_heartbeat_ms() -> u64 {
    200
}
fn default_election_ms() -> u64 {
    1200
}
fn default_snapshot_every() -> u64 {
    1000
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    pub id: NodeId,
    pub url: String,
    pub name: String,
    #[serde(default)]
    pub department: Option<String>,
    /// The department's node key, for a voter whose department the chain
    /// adds later: a node that has not yet applied that `department.add`
    /// still accepts the new voter's requests. Once the chain has the
    /// department, the chain's key is the one that counts.
    #[serde(default)]
    pub node_key: Option<govchain_ledger::crypto::PublicKey>,
    #[serde(default)]
    pub learner: bool,
}

pub fn read_cluster(path: &Path) -> Result<ClusterFile, NodeError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| NodeError::Config(format!("{}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| NodeError::Config(format!("{}: {e}", path.display())))
}

/// A running Raft member.
pub struct Cluster {
    pub raft: Raft,
    pub me: NodeId,
    members: Vec<Member>,
    auth: network::Auth,
    data_dir: PathBuf,
    /// Members being added to the Raft membership.
    joining: Arc<std::sync::Mutex<BTreeSet<NodeId>>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("me", &self.me)
            .field("members", &self.members)
            .finish_non_exhaustive()
    }
}

/// What block production needs from a replication engine. Raft implements
/// it; a BFT engine could, behind the same seam (ADR 0002).
pub trait Replicator: Send + Sync {
    /// Whether this node may propose now.
    fn is_leader(&self) -> bool;
    /// Replicates a sealed block and returns once it is committed and
    /// applied here: the height it was applied at, or `None` if it was
    /// skipped (another block took its place).
    fn replicate(
        &self,
        block: Block,
    ) -> impl Future<Output = Result<Option<u64>, NodeError>> + Send;
}

/// Whether this node leads and has applied an entry of its own term: only
/// then is its state the chain's latest, to judge submissions against and
/// to build blocks on.
fn leads(m: &openraft::RaftMetrics<NodeId, BasicNode>) -> bool {
    m.current_leader == Some(m.id)
        && m.last_applied.map(|l| l.leader_id.term) == Some(m.current_term)
}

impl Replicator for Cluster {
    fn is_leader(&self) -> bool {
        leads(&self.raft.metrics().borrow())
    }

    async fn replicate(&self, block: Block) -> Result<Option<u64>, NodeError> {
        let written = self
            .raft
            .client_write(block)
            .await
            .map_err(|e| NodeError::Cluster(e.to_string()))?;
        Ok(written.data.height)
    }
}

/// Checks the members (ids unique, voters with a department, this node's
/// key its department's, when the chain has it) and returns the voters'
/// keys.
fn peer_keys(
    core: &Shared,
    key: &SecretKey,
    me: NodeId,
    members: &[Member],
) -> Result<network::PeerKeys, NodeError> {
    let config_err = |m: String| NodeError::Config(format!("cluster: {m}"));
    let mine = members
        .iter()
        .find(|m| m.id == me)
        .ok_or_else(|| config_err(format!("node id {me} is not a member")))?;
    let mut departments = HashMap::new();
    let mut seen = BTreeSet::new();
    for m in members {
        if !seen.insert(m.id) {
            return Err(config_err(format!("node id {} appears twice", m.id)));
        }
        if m.learner {
            continue;
        }
        let dept = m.department.as_deref().ok_or_else(|| {
            config_err(format!("voter {} needs a department (its node key)", m.id))
        })?;
        if departments.values().any(|d: &String| d == dept) {
            return Err(config_err(format!("department {dept:?} has two voters")));
        }
        departments.insert(m.id, dept.to_owned());
    }
    let peers = network::PeerKeys {
        core: core.clone(),
        departments: Arc::new(departments),
        configured: Arc::new(
            members
                .iter()
                .filter_map(|m| m.node_key.map(|k| (m.id, k)))
                .collect(),
        ),
    };
    for m in members.iter().filter(|m| !m.learner) {
        if !peers.on_chain(m.id) {
            tracing::warn!(
                id = m.id,
                department = m.department.as_deref().unwrap_or_default(),
                "not a department of this chain (yet): the node joins once a department.add for it commits"
            );
        }
    }
    if let Some(own) = peers.key(me).filter(|_| !mine.learner) {
        if own != key.public_key() {
            return Err(config_err(format!(
                "this node's key is not department {:?}'s node key",
                mine.department.as_deref().unwrap_or_default()
            )));
        }
    }
    Ok(peers)
}

impl Cluster {
    /// Starts this node's Raft member (`raft.sqlite` in `data_dir`). Voters
    /// are the members with a department; their keys are the departments'
    /// node keys in the chain, and this node's key must be its own. The
    /// lowest voter id creates the cluster the first time, with the voters
    /// whose departments the chain has; the others join when a
    /// `department.add` for theirs commits.
    pub async fn start(
        core: Shared,
        data_dir: &Path,
        key: Arc<SecretKey>,
        me: NodeId,
        file: ClusterFile,
    ) -> Result<Self, NodeError> {
        let peers = peer_keys(&core, &key, me, &file.members)?;
        let chain = lock(&core)?.chain_id().clone();
        let auth = network::Auth {
            chain: chain.clone(),
            me,
            key: key.clone(),
            peers,
        };
        let config = openraft::Config {
            cluster_name: chain.to_string(),
            heartbeat_interval: file.heartbeat_ms,
            election_timeout_min: file.election_timeout_ms,
            election_timeout_max: file.election_timeout_ms * 2,
            // Entries are whole blocks: keep each append request modest.
            max_payload_entries: 16,
            snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(file.snapshot_every),
            max_in_snapshot_log_to_keep: file.snapshot_every / 2,
            // Installing a snapshot verifies every block the node lacks.
            install_snapshot_timeout: 30_000,
            ..Default::default()
        }
        .validate()
        .map_err(|e| NodeError::Config(format!("cluster: {e}")))?;
        let db = log_store::RaftDb::open(&data_dir.join("raft.sqlite"))?;
        let raft = Raft::new(
            me,
            Arc::new(config),
            network::Network::new(
                auth.clone(),
                file.members.iter().map(|m| (m.id, m.url.clone())).collect(),
            )?,
            log_store::LogStore::new(db.clone()),
            state_machine::StateMachine::new(core.clone(), db)?,
        )
        .await
        .map_err(|e| NodeError::Cluster(e.to_string()))?;
        // The first membership: the voters whose departments the chain has.
        let voters: BTreeMap<NodeId, BasicNode> = file
            .members
            .iter()
            .filter(|m| !m.learner && auth.peers.on_chain(m.id))
            .map(|m| {
                (
                    m.id,
                    BasicNode {
                        addr: m.url.clone(),
                    },
                )
            })
            .collect();
        // Until Raft names a leader this node admits nothing itself.
        if let Ok(mut c) = core.lock() {
            c.set_role(Role::Follower { leader_url: None });
        }
        let first = voters.keys().next().copied();
        let initialized = raft
            .is_initialized()
            .await
            .map_err(|e| NodeError::Cluster(e.to_string()))?;
        if first == Some(me) && !initialized {
            raft.initialize(voters)
                .await
                .map_err(|e| NodeError::Cluster(e.to_string()))?;
        }
        Ok(Self {
            raft,
            me,
            members: file.members,
            auth,
            data_dir: data_dir.to_owned(),
            joining: Arc::default(),
        })
    }

    fn url_of(&self, id: NodeId) -> Option<String> {
        self.members
            .iter()
            .find(|m| m.id == id)
            .map(|m| m.url.trim_end_matches('/').to_owned())
    }

    /// Follows Raft's view of the leader and membership into the node's
    /// role; the leader brings in missing members. Returns when Raft stops
    /// (a halted node, or shutdown).
    async fn follow_leader(&self, core: &Shared) {
        let mut metrics = self.raft.metrics();
        loop {
            let (leader, leading, running, voters, learners) = {
                let m = metrics.borrow();
                let membership = m.membership_config.membership();
                let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
                let learners: BTreeSet<NodeId> = membership.learner_ids().collect();
                (
                    m.current_leader,
                    leads(&m),
                    m.running_state.is_ok(),
                    voters,
                    learners,
                )
            };
            if !running {
                return;
            }
            let role = if leading {
                Role::Leader
            } else {
                // A new leader takes submissions once it has caught up.
                Role::Follower {
                    leader_url: leader
                        .filter(|l| *l != self.me)
                        .and_then(|l| self.url_of(l)),
                }
            };
            if let Ok(mut c) = core.lock() {
                if *c.role() != role {
                    tracing::info!(?role, "cluster role");
                    c.set_role(role.clone());
                }
                c.set_membership(
                    voters.iter().copied().collect(),
                    learners.iter().copied().collect(),
                );
            }
            if role == Role::Leader {
                self.remove_retired(&voters);
                self.bring_in_members(&voters, &learners);
            }
            // Departments added on the chain are noticed within a second.
            tokio::select! {
                changed = metrics.changed() => if changed.is_err() { return },
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    /// On the leader: removes voters whose department's node was retired on
    /// the chain (itself included: it then steps down).
    fn remove_retired(&self, voters: &BTreeSet<NodeId>) {
        let retired: BTreeSet<NodeId> = voters
            .iter()
            .copied()
            .filter(|id| self.auth.peers.retired(*id))
            .collect();
        let Ok(mut joining) = self.joining.lock() else {
            return;
        };
        let fresh: BTreeSet<NodeId> = retired
            .into_iter()
            .filter(|id| joining.insert(*id))
            .collect();
        if fresh.is_empty() {
            return;
        }
        let (raft, joining) = (self.raft.clone(), self.joining.clone());
        tokio::spawn(async move {
            let change = openraft::ChangeMembers::RemoveVoters(fresh.clone());
            match raft.change_membership(change, false).await {
                Ok(_) => tracing::info!(?fresh, "retired nodes removed"),
                Err(e) => tracing::info!(?fresh, "removing retired nodes: {e}"),
            }
            if let Ok(mut j) = joining.lock() {
                for id in &fresh {
                    j.remove(id);
                }
            }
        });
    }

    /// On the leader: adds configured learners missing from the membership,
    /// and makes each configured voter whose department is on the chain a
    /// voter (first a learner, caught up, then promoted).
    fn bring_in_members(&self, voters: &BTreeSet<NodeId>, learners: &BTreeSet<NodeId>) {
        for m in &self.members {
            let wanted = if m.learner {
                !voters.contains(&m.id) && !learners.contains(&m.id)
            } else {
                !voters.contains(&m.id) && self.auth.peers.on_chain(m.id)
            };
            let Ok(mut joining) = self.joining.lock() else {
                return;
            };
            if !wanted || !joining.insert(m.id) {
                continue;
            }
            let (raft, joining) = (self.raft.clone(), self.joining.clone());
            let (id, addr, voter) = (m.id, m.url.clone(), !m.learner);
            tokio::spawn(async move {
                // Retried while an earlier membership change is committing.
                for _ in 0..60 {
                    let node = BasicNode { addr: addr.clone() };
                    let added = match raft.add_learner(id, node, voter).await {
                        Ok(_) if voter => raft
                            .change_membership(
                                openraft::ChangeMembers::AddVoterIds(BTreeSet::from([id])),
                                true,
                            )
                            .await
                            .map(|_| ()),
                        other => other.map(|_| ()),
                    };
                    match added {
                        Ok(()) => {
                            tracing::info!(id, voter, "member added");
                            break;
                        }
                        Err(e) => tracing::info!(id, "adding member: {e}"),
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                if let Ok(mut j) = joining.lock() {
                    j.remove(&id);
                }
            });
        }
    }

    /// Cosigns the other voters' checkpoints (PROTOCOL.md §8.7) until
    /// `stop`: each node witnesses the logs it verifies block by block.
    fn spawn_witnesses(
        &self,
        core: &Shared,
        stop: &tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), NodeError> {
        let (origin, key) = {
            let c = lock(core)?;
            (c.origin(), c.node_key())
        };
        let me = self.members.iter().find(|m| m.id == self.me);
        let Some(me) = me.filter(|m| !m.learner) else {
            return Ok(());
        };
        for m in self
            .members
            .iter()
            .filter(|m| m.id != self.me && !m.learner)
        {
            // Voters whose department joins later are witnessed after a
            // restart.
            let Some(pk) = self.auth.peers.key(m.id) else {
                continue;
            };
            let log_key = NoteKey::new(&m.name, ALG_ED25519, pk)
                .map_err(|e| NodeError::Config(format!("cluster: member {}: {e}", m.id)))?;
            let cfg = crate::witness::WitnessConfig {
                log_url: m.url.trim_end_matches('/').to_owned(),
                origin: origin.clone(),
                log_key,
                name: me.name.clone(),
                state_file: self.data_dir.join(format!("witness-{}.state", m.id)),
            };
            let witness = crate::witness::Witness::open(cfg, SecretKey::from_seed(&key.to_seed()))?;
            let mut stop = stop.clone();
            tokio::spawn(async move {
                let stopped = async move {
                    let _ = stop.wait_for(|s| *s).await;
                };
                if let Err(e) = witness.run(Duration::from_secs(1), stopped).await {
                    tracing::error!(code = e.code(), "witness stopped: {e}");
                }
            });
        }
        Ok(())
    }
}

/// Serves `core` as a cluster member on `listener` until `shutdown`: the
/// node's API plus the Raft RPCs; block production while leading; the
/// in-cluster witnesses. Ends with an error if this node halted.
pub async fn run(
    listener: tokio::net::TcpListener,
    core: Shared,
    cluster: Cluster,
    block_interval: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), NodeError> {
    let cluster = Arc::new(cluster);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    cluster.spawn_witnesses(&core, &stop_rx)?;
    let stopping = Arc::new(AtomicBool::new(false));
    let mut producer = tokio::spawn(produce(
        core.clone(),
        cluster.clone(),
        block_interval,
        stopping.clone(),
    ));
    let follower = {
        let (core, cluster) = (core.clone(), cluster.clone());
        async move { cluster.follow_leader(&core).await }
    };
    let closing = core.clone();
    let shutdown = async move {
        tokio::select! {
            () = shutdown => {}
            () = follower => tracing::error!("raft stopped: shutting down"),
        }
        if let Ok(mut c) = closing.lock() {
            c.close_events();
        }
    };
    let router =
        app(core.clone()).merge(network::routes(cluster.raft.clone(), cluster.auth.clone()));
    let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let served = axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| NodeError::Storage(format!("http server: {e}")));
    stopping.store(true, Ordering::SeqCst);
    let _ = stop_tx.send(true);
    // Raft first: a proposal waiting for a quorum that is gone then fails
    // and the producer ends.
    let raft_failed = cluster
        .raft
        .metrics()
        .borrow()
        .running_state
        .as_ref()
        .err()
        .map(ToString::to_string);
    let _ = cluster.raft.shutdown().await;
    if tokio::time::timeout(Duration::from_secs(5), &mut producer)
        .await
        .is_err()
    {
        producer.abort();
    }
    served?;
    let halted = lock(&core)?.halted().map(str::to_owned);
    match (halted, raft_failed) {
        (Some(why), _) => Err(NodeError::Halted(why)),
        (None, Some(fatal)) => Err(NodeError::Halted(format!("raft stopped: {fatal}"))),
        (None, None) => Ok(()),
    }
}

/// Block production on the leader: one block in flight; full blocks back to
/// back, otherwise every `interval`. A proposal that fails (leadership
/// lost) drops what this node had pending; clients resend.
async fn produce<R: Replicator>(
    core: Shared,
    replicator: Arc<R>,
    interval: Duration,
    stopping: Arc<AtomicBool>,
) {
    let tick = Duration::from_millis(5).min(interval);
    let mut since = Duration::ZERO;
    while !stopping.load(Ordering::SeqCst) {
        tokio::time::sleep(tick).await;
        since += tick;
        if !replicator.is_leader() {
            continue;
        }
        loop {
            let job = {
                let Ok(mut c) = core.lock() else { return };
                let full = c.full_block_waiting();
                if !(full || since >= interval) || c.halted().is_some() {
                    break;
                }
                since = Duration::ZERO;
                c.begin_block()
            };
            let Some(job) = job else { break };
            let sealed = tokio::task::spawn_blocking(move || job.seal()).await;
            let block = match sealed {
                Ok(Ok(p)) => match core.lock() {
                    Ok(mut c) => c.propose(p),
                    Err(_) => return,
                },
                Ok(Err(e)) => {
                    tracing::error!(code = e.code(), "sealing a block: {e}");
                    abandon(&core);
                    break;
                }
                Err(e) => {
                    tracing::error!("sealing task: {e}");
                    abandon(&core);
                    break;
                }
            };
            match replicator.replicate(block).await {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!("block not replicated: {e}");
                    abandon(&core);
                    break;
                }
            }
        }
    }
}

fn abandon(core: &Shared) {
    if let Ok(mut c) = core.lock() {
        c.abandon_pending();
    }
}
