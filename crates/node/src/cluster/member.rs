//! [`Cluster`]: this node's running Raft member. Starts Raft over the
//! node's chain, follows Raft's view of the leader and membership into the
//! node's role, brings configured members in and retired ones out, and runs
//! the in-cluster witnesses.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use govchain_ledger::block::Block;
use govchain_ledger::note::{NoteKey, ALG_ED25519};
use govchain_ledger::ErrorCode as _;
use openraft::BasicNode;

use super::auth::Auth;
use super::config::{peer_keys, ClusterFile, Member};
use super::{leads, log_store, network, state_machine, NodeId, Raft, Replicator};
use crate::chain::Role;
use crate::error::NodeError;
use crate::handle::{NodeHandle, Shared};
use crate::tls::{CertSha256, Identity};

/// A running Raft member.
pub struct Cluster {
    pub raft: Raft,
    pub me: NodeId,
    members: Vec<Member>,
    auth: Auth,
    data_dir: PathBuf,
    /// Members being added to the Raft membership.
    joining: Arc<std::sync::Mutex<BTreeSet<NodeId>>>,
    /// Members' pinned certificates (mutual TLS), and how this node
    /// reaches each member over it.
    pub(super) tls: PeerTls,
}

/// Mutual TLS among members: each member's pinned certificate, this node's
/// own certificate and key, and one HTTP client per pinned member.
#[derive(Debug, Clone, Default)]
pub struct PeerTls {
    pub pins: Arc<HashMap<NodeId, CertSha256>>,
    clients: Arc<HashMap<NodeId, reqwest::Client>>,
}

impl PeerTls {
    /// Clients for the pinned members, presenting `identity`; checks that
    /// this node's own pin, if any, is its certificate's.
    fn new(file: &ClusterFile, me: NodeId, identity: Option<&Identity>) -> Result<Self, NodeError> {
        let pins = super::config::pins(file);
        if let Some(own) = pins.get(&me) {
            let Some(id) = identity else {
                return Err(NodeError::Config(format!(
                    "cluster: member {me} has tls_cert_sha256 in the cluster file: serve HTTPS with --tls or --tls-cert/--tls-key"
                )));
            };
            if id.fingerprint() != *own {
                return Err(NodeError::Config(format!(
                    "cluster: member {me}'s tls_cert_sha256 is {own}, but this node's certificate is {}",
                    id.fingerprint()
                )));
            }
        }
        let mut clients = HashMap::new();
        for (id, pin) in &pins {
            let http = crate::tls::verify::pinned_http_client(
                vec![*pin],
                identity,
                // Raft sets each request's own timeout; the witness's
                // requests take this one.
                reqwest::Client::builder()
                    .connect_timeout(Duration::from_secs(1))
                    .timeout(Duration::from_secs(10))
                    .pool_idle_timeout(Duration::from_secs(30)),
            )?;
            clients.insert(*id, http);
        }
        Ok(Self {
            pins: Arc::new(pins),
            clients: Arc::new(clients),
        })
    }

    /// The client that reaches member `id`, if it is pinned.
    pub fn client(&self, id: NodeId) -> Option<&reqwest::Client> {
        self.clients.get(&id)
    }

    /// A client that reaches any pinned member (e.g. the leader), with
    /// `timeout` per request.
    fn any_member(
        &self,
        identity: Option<&Identity>,
        timeout: Duration,
    ) -> Result<Option<reqwest::Client>, NodeError> {
        if self.pins.is_empty() {
            return Ok(None);
        }
        crate::tls::verify::pinned_http_client(
            self.pins.values().copied().collect(),
            identity,
            reqwest::Client::builder().timeout(timeout),
        )
        .map(Some)
    }
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("me", &self.me)
            .field("members", &self.members)
            .finish_non_exhaustive()
    }
}

impl Replicator for Cluster {
    fn is_leader(&self) -> bool {
        leads(&self.raft.metrics().borrow())
    }

    async fn propose(&self, block: Block) -> Result<super::Committing, NodeError> {
        let written = self
            .raft
            .client_write_ff(block)
            .await
            .map_err(|e| NodeError::Cluster(e.to_string()))?;
        Ok(Box::pin(async move {
            written
                .await
                .map_err(|e| NodeError::Cluster(format!("proposal dropped: {e}")))?
                .map(|w| w.data.height)
                .map_err(|e| NodeError::Cluster(e.to_string()))
        }))
    }
}

impl Cluster {
    /// Who may send this member Raft RPCs.
    pub(super) fn auth(&self) -> &Auth {
        &self.auth
    }

    /// Starts this node's Raft member (`raft.sqlite` in `data_dir`). Voters
    /// are the members with a department; their keys are the departments'
    /// node keys in the chain, and this node's key must be its own. The
    /// lowest voter id creates the cluster the first time, with the voters
    /// whose departments the chain has; the others join when a
    /// `department.add` for theirs commits.
    pub async fn start(
        core: Shared,
        data_dir: &Path,
        key: crate::NodeKey,
        me: NodeId,
        file: ClusterFile,
    ) -> Result<Self, NodeError> {
        Self::start_tls(core, data_dir, key, me, file, None).await
    }

    /// [`Cluster::start`] for a node serving HTTPS with `identity`, which it
    /// also presents to the other members: members with a
    /// `tls_cert_sha256` in the file are reached only if they present that
    /// certificate, and they accept this node only with its own.
    pub async fn start_tls(
        core: Shared,
        data_dir: &Path,
        key: crate::NodeKey,
        me: NodeId,
        file: ClusterFile,
        identity: Option<Identity>,
    ) -> Result<Self, NodeError> {
        let node = NodeHandle::from(core);
        let tls = PeerTls::new(&file, me, identity.as_ref())?;
        if let Some(http) = tls.any_member(identity.as_ref(), Duration::from_secs(15))? {
            node.lock()?.set_peer_http(http);
        }
        let peers = peer_keys(&node, &*key, me, &file.members)?;
        let chain = node.lock()?.chain_id().clone();
        let auth = Auth {
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
            // The last chunk's request lasts while the receiver checks and
            // installs the snapshot: 16.5 s at a million cases
            // (BENCHMARKS.md); a larger state must not time out and be sent
            // again.
            install_snapshot_timeout: 120_000,
            snapshot_max_chunk_size: file.snapshot_chunk_bytes,
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
                tls.clone(),
            )?,
            log_store::LogStore::new(db.clone()),
            state_machine::StateMachine::new(
                node.clone(),
                db,
                file.snapshot_blocks,
                data_dir.join("raft-snapshot.jsonl"),
            )?,
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
        if let Ok(mut c) = node.lock() {
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
            tls,
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
    pub(super) async fn follow_leader(&self, core: &NodeHandle) {
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
    pub(super) fn spawn_witnesses(
        &self,
        core: &NodeHandle,
        stop: &tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), NodeError> {
        let (origin, key) = {
            let c = core.lock()?;
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
            let reads = core.lock()?.reads();
            let own: crate::witness::OwnChain = std::sync::Arc::new(move |height| {
                Ok(reads
                    .signed_header(height)
                    .map_err(|e| e.to_string())?
                    .map(|b| (b.header.log_size, b.header.log_root, b.header.state_root)))
            });
            let mut witness = crate::witness::Witness::open(cfg, key.clone())?.with_own_chain(own);
            if let Some(http) = self.tls.client(m.id) {
                witness = witness.with_http(http.clone());
            }
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
