//! `cluster.toml` (the consortium's members) and its checks against the
//! chain: member ids unique, one voter per department, this node's key its
//! department's.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use super::auth::PeerKeys;
use super::NodeId;
use crate::error::NodeError;
use crate::handle::NodeHandle;

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
    /// How many of the latest blocks a snapshot carries besides the state
    /// (a member that installs it serves those, not older ones).
    #[serde(default = "default_snapshot_blocks")]
    pub snapshot_blocks: u64,
    /// A snapshot is sent in chunks of at most this many bytes.
    #[serde(default = "default_snapshot_chunk_bytes")]
    pub snapshot_chunk_bytes: u64,
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
fn default_snapshot_blocks() -> u64 {
    256
}
/// Openraft's own default; what a chunk request may carry is bounded
/// (`network::MAX_CHUNK_BYTES`).
pub const MAX_SNAPSHOT_CHUNK_BYTES: u64 = 3 << 20;
fn default_snapshot_chunk_bytes() -> u64 {
    MAX_SNAPSHOT_CHUNK_BYTES
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
    /// The SHA-256 fingerprint of the certificate the member serves HTTPS
    /// with and presents to the other members (mutual TLS). When any
    /// member has one, a client presenting a certificate that is no
    /// member's is refused at the TLS handshake, and Raft requests are
    /// taken only over a connection with the sender's pinned certificate.
    #[serde(default)]
    pub tls_cert_sha256: Option<crate::tls::CertSha256>,
}

/// The members' pinned certificates, id by id.
pub fn pins(file: &ClusterFile) -> HashMap<NodeId, crate::tls::CertSha256> {
    file.members
        .iter()
        .filter_map(|m| m.tls_cert_sha256.map(|p| (m.id, p)))
        .collect()
}

/// The verifier of clients' certificates for a member's TLS server: any
/// member's pinned certificate, or none; `None` if no member has a pin.
pub fn member_pins(file: &ClusterFile) -> Option<Arc<crate::tls::verify::PinnedClients>> {
    let pins: Vec<_> = pins(file).into_values().collect();
    (!pins.is_empty()).then(|| Arc::new(crate::tls::verify::PinnedClients::new(pins)))
}

pub fn read_cluster(path: &Path) -> Result<ClusterFile, NodeError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| NodeError::Config(format!("{}: {e}", path.display())))?;
    let file: ClusterFile =
        toml::from_str(&text).map_err(|e| NodeError::Config(format!("{}: {e}", path.display())))?;
    if !(1024..=MAX_SNAPSHOT_CHUNK_BYTES).contains(&file.snapshot_chunk_bytes) {
        return Err(NodeError::Config(format!(
            "{}: snapshot_chunk_bytes must be 1024 … {MAX_SNAPSHOT_CHUNK_BYTES}",
            path.display()
        )));
    }
    Ok(file)
}

/// Checks the members (ids unique, voters with a department, this node's
/// key its department's, when the chain has it) and returns the voters'
/// keys.
pub(super) fn peer_keys(
    core: &NodeHandle,
    key: &dyn govchain_ledger::crypto::Signer,
    me: NodeId,
    members: &[Member],
) -> Result<PeerKeys, NodeError> {
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
    let peers = PeerKeys {
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
