//! Liveness and monitoring: `GET /healthz` (the node's status, height and
//! cluster role) and `GET /metrics` (Prometheus text).

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::chain::Role;
use crate::error::NodeError;
use crate::handle::NodeHandle;

/// Whether the node works normally.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    /// Serving and producing blocks.
    Ok,
    /// Blocks cannot be stored right now (retried); submissions are still
    /// accepted up to the mempool's limit.
    Degraded,
    /// This node's copy disagrees with its cluster's.
    Halted,
}

/// The node's place in a cluster.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoleName {
    Standalone,
    Leader,
    Follower,
}

/// `GET /healthz` (fields in the order always sent).
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub chain_id: String,
    /// Why the node is degraded or halted (null when ok).
    pub error: Option<String>,
    /// Block 0's hash (64 hex digits): with `chain_id`, what workstations
    /// pin (`init` prints the same).
    pub genesis_hash: String,
    pub height: u64,
    /// A follower: the leader's URL, if known (null otherwise).
    pub leader: Option<String>,
    /// A cluster's learners (node ids; null for a standalone node).
    pub learners: Option<Vec<u64>>,
    pub log_size: u64,
    /// Transactions waiting for a block.
    pub mempool: usize,
    pub role: RoleName,
    pub status: HealthStatus,
    /// A cluster's voters (node ids; null for a standalone node).
    pub voters: Option<Vec<u64>>,
}

#[utoipa::path(get, path = "/healthz", tag = "node", responses((status = 200, description = "chain id, genesis hash, height, log size, mempool size, cluster role", body = Health)))]
pub(super) async fn health(State(node): State<NodeHandle>) -> Result<Json<Health>, NodeError> {
    let c = node.lock()?;
    let (status, error) = match (c.halted(), &c.metrics().production_error) {
        (Some(why), _) => (HealthStatus::Halted, Some(why.to_owned())),
        (None, Some(e)) => (HealthStatus::Degraded, Some(e.clone())),
        (None, None) => (HealthStatus::Ok, None),
    };
    let (role, leader) = match c.role() {
        Role::Standalone => (RoleName::Standalone, None),
        Role::Leader => (RoleName::Leader, None),
        Role::Follower { leader_url } => (RoleName::Follower, leader_url.clone()),
    };
    let (voters, learners) = c.membership().cloned().unzip();
    Ok(Json(Health {
        chain_id: c.chain_id().as_str().to_owned(),
        error,
        genesis_hash: c.genesis_hash().to_hex(),
        height: c.height(),
        leader,
        learners,
        log_size: c.log_size(),
        mempool: c.mempool_len(),
        role,
        status,
        voters,
    }))
}

/// Prometheus text exposition of the node's counters and gauges.
#[utoipa::path(get, path = "/metrics", tag = "node", responses((status = 200, description = "Prometheus text exposition", content_type = "text/plain", body = String)))]
pub(super) async fn metrics(
    State(node): State<NodeHandle>,
) -> Result<impl IntoResponse, NodeError> {
    let c = node.lock()?;
    let m = c.metrics();
    let text = format!(
        "# HELP govchain_block_height Height of the last committed block.\n\
         # TYPE govchain_block_height gauge\ngovchain_block_height {}\n\
         # HELP govchain_log_size Transactions in the log.\n\
         # TYPE govchain_log_size gauge\ngovchain_log_size {}\n\
         # HELP govchain_mempool_size Transactions waiting for a block.\n\
         # TYPE govchain_mempool_size gauge\ngovchain_mempool_size {}\n\
         # HELP govchain_committed_tx_total Transactions committed by this process (rate() gives tx/s).\n\
         # TYPE govchain_committed_tx_total counter\ngovchain_committed_tx_total {}\n\
         # HELP govchain_admitted_tx_total Transactions admitted to the mempool.\n\
         # TYPE govchain_admitted_tx_total counter\ngovchain_admitted_tx_total {}\n\
         # HELP govchain_rejected_tx_total Transactions refused by the rules on submission.\n\
         # TYPE govchain_rejected_tx_total counter\ngovchain_rejected_tx_total {}\n\
         # HELP govchain_blocks_total Blocks produced by this process.\n\
         # TYPE govchain_blocks_total counter\ngovchain_blocks_total {}\n\
         # HELP govchain_block_fsync_seconds_sum Time spent writing blocks durably.\n\
         # TYPE govchain_block_fsync_seconds_sum counter\ngovchain_block_fsync_seconds_sum {}\n\
         # HELP govchain_block_fsync_seconds_max Longest durable block write.\n\
         # TYPE govchain_block_fsync_seconds_max gauge\ngovchain_block_fsync_seconds_max {}\n\
         # HELP govchain_production_errors_total Blocks that could not be stored (retried).\n\
         # TYPE govchain_production_errors_total counter\ngovchain_production_errors_total {}\n\
         # HELP govchain_stored_cases_check_done Whether the start-up check of the stored cases has passed (1) or is still running (0).\n\
         # TYPE govchain_stored_cases_check_done gauge\ngovchain_stored_cases_check_done {}\n",
        c.height(),
        c.log_size(),
        c.mempool_len(),
        m.committed_total,
        m.admitted_total,
        m.rejected_total,
        m.blocks_total,
        m.fsync_seconds_sum,
        m.fsync_seconds_max,
        m.production_errors_total,
        u8::from(m.stored_cases_check_done),
    );
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text))
}
