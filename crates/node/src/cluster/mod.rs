//! Consortium mode: departments' nodes replicate one chain with Raft
//! (openraft). The leader cuts and seals blocks from its mempool and
//! proposes each as one log entry ([`Replicator::propose`]); every node,
//! the leader included, applies committed entries through
//! [`state_machine::apply_block`], which re-verifies other nodes' blocks and
//! halts on any disagreement. Followers forward submissions to the leader.
//! Block heights are the ledger's; Raft indexes never leave this module.
//!
//! The seam for another engine (a BFT one, ADR 0002) is [`Replicator`] on the
//! proposing side and [`state_machine::apply_block`] on the applying side.
//!
//! Files: `config` (`cluster.toml` and its checks), `member` (the running
//! [`Cluster`]), `produce` (the leader's block production), `auth` (who may
//! send Raft RPCs), `network` (the RPCs over HTTP), `log_store` and
//! `state_machine` (openraft storage). This module knows nothing of the
//! HTTP API: [`serve`] takes the API's router.

mod auth;
mod config;
pub mod log_store;
mod member;
pub mod network;
mod produce;
pub mod state_machine;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use govchain_ledger::block::Block;
use openraft::BasicNode;
use serde::{Deserialize, Serialize};

use crate::error::NodeError;
use crate::handle::NodeHandle;

/// Serves a node as a cluster member with the node's HTTP API (kept here
/// under its old name; the crate root wires the API in).
pub use crate::run_cluster as run;
pub use auth::{Auth, PeerKeys};
pub use config::{member_pins, read_cluster, ClusterFile, Member, MAX_SNAPSHOT_CHUNK_BYTES};
pub use member::{Cluster, PeerTls};

pub type NodeId = u64;

openraft::declare_raft_types!(
    /// govchain's Raft types: a log entry's payload is a sealed block.
    pub TypeConfig:
        D = Block,
        R = Applied,
        NodeId = NodeId,
        Node = BasicNode,
        SnapshotData = state_machine::SnapshotFile,
);

pub type Raft = openraft::Raft<TypeConfig>;

/// What applying an entry did: the block height made the head, or `None`
/// (no block, or a block skipped because it did not follow the head).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Applied {
    pub height: Option<u64>,
}

/// A proposed block's outcome, once it is committed and applied here: the
/// height it was applied at, or `None` if it was skipped (another block took
/// its place).
pub type Committing =
    std::pin::Pin<Box<dyn Future<Output = Result<Option<u64>, NodeError>> + Send>>;

/// What block production needs from a replication engine. Raft implements
/// it; a BFT engine could, behind the same seam (ADR 0002).
pub trait Replicator: Send + Sync {
    /// Whether this node may propose now.
    fn is_leader(&self) -> bool;
    /// Submits a sealed block for replication, ordered after every block
    /// submitted before it, and returns once it is submitted: the returned
    /// future follows it to its outcome, so that the next block can be
    /// sealed and submitted meanwhile.
    fn propose(&self, block: Block) -> impl Future<Output = Result<Committing, NodeError>> + Send;
}

/// Whether this node leads and has applied an entry of its own term: only
/// then is its state the chain's latest, to judge submissions against and
/// to build blocks on.
fn leads(m: &openraft::RaftMetrics<NodeId, BasicNode>) -> bool {
    m.current_leader == Some(m.id)
        && m.last_applied.map(|l| l.leader_id.term) == Some(m.current_term)
}

/// Serves `node` as a cluster member on `listener` until `shutdown`: `api`
/// (the node's HTTP API) plus the Raft RPCs; block production while
/// leading; the in-cluster witnesses. Ends with an error if this node
/// halted.
pub async fn serve(
    listener: crate::tls::serve::NodeListener,
    node: NodeHandle,
    cluster: Cluster,
    api: axum::Router,
    block_interval: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), NodeError> {
    let cluster = Arc::new(cluster);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    cluster.spawn_witnesses(&node, &stop_rx)?;
    let stopping = Arc::new(AtomicBool::new(false));
    let mut producer = tokio::spawn(produce::produce(
        node.clone(),
        cluster.clone(),
        block_interval,
        stopping.clone(),
    ));
    let follower = {
        let (node, cluster) = (node.clone(), cluster.clone());
        async move { cluster.follow_leader(&node).await }
    };
    let closing = node.clone();
    let shutdown = async move {
        tokio::select! {
            () = shutdown => {}
            () = follower => tracing::error!("raft stopped: shutting down"),
        }
        if let Ok(mut c) = closing.lock() {
            c.close_events();
        }
    };
    let router = api.merge(network::routes(
        cluster.raft.clone(),
        cluster.auth().clone(),
        cluster.tls.clone(),
    ));
    let served = crate::tls::serve::serve(listener, router, shutdown)
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
    let halted = node.lock()?.halted().map(str::to_owned);
    match (halted, raft_failed) {
        (Some(why), _) => Err(NodeError::Halted(why)),
        (None, Some(fatal)) => Err(NodeError::Halted(format!("raft stopped: {fatal}"))),
        (None, None) => Ok(()),
    }
}
