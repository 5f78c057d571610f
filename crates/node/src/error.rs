//! Node errors: each has a stable code and an HTTP status, and is sent as
//! JSON `{code, message}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use govchain_ledger::state::Rejection;
use govchain_ledger::ErrorCode;

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("transaction rejected: {0}")]
    Rejected(Rejection),
    #[error("{0} not found")]
    NotFound(String),
    #[error("storage error: {0}")]
    Storage(String),
    #[error("the stored chain does not verify: {0}")]
    Corrupt(String),
    /// The stored state is not the state the head block commits to.
    #[error("the stored state is not the head block's: {0}; the state tables were altered or damaged. Run `govchain-node verify-chain --data-dir DIR --rebuild-state` to rebuild them from the blocks")]
    StateMismatch(String),
    /// A read met a newer stored block than the state it read from (the
    /// head moved meanwhile): transient, read again.
    #[error("{0}")]
    Superseded(String),
    /// Admission is bounded by queueing delay: the mempool holds what the
    /// node can commit within its target latency (`Limits::max_queue_ms`).
    #[error("the node is busy ({pending} transactions waiting); retry in {retry_after} s")]
    Busy { pending: usize, retry_after: u64 },
    #[error("request body: {0}")]
    Body(String),
    #[error("request body is larger than {0} bytes")]
    BodyTooLarge(usize),
    #[error("{0}")]
    Config(String),
    /// A key file that its group or others may read or write (Unix).
    #[error("{path}: key file has mode {mode:04o}, which lets other users read or change it; run: chmod 600 {path}")]
    KeyPermissions { path: String, mode: u32 },
    #[error("the request took longer than {0:?}")]
    Timeout(std::time::Duration),
    #[error("too many requests from this client (at most {0} per second); retry shortly")]
    RateLimited(u32),
    #[error("{message}")]
    Unauthorized { code: &'static str, message: String },
    #[error("{0}")]
    Forbidden(String),
    #[error("this node's copy of the chain disagrees with the cluster's: {0}")]
    Diverged(String),
    #[error("this node has halted ({0}); use another node")]
    Halted(String),
    #[error("no cluster leader is known right now; retry shortly or use another node")]
    NoLeader,
    #[error("cluster: {0}")]
    Cluster(String),
    /// A block below the first one a member holds after joining from a
    /// snapshot.
    #[error("block {height} is not on this node: it joined from a snapshot and holds block 0 and blocks {first} onwards; read older blocks from another member")]
    Pruned { height: u64, first: u64 },
    #[error("witness: {0}")]
    Witness(#[from] crate::witness::WitnessError),
}

impl From<rusqlite::types::FromSqlError> for NodeError {
    fn from(e: rusqlite::types::FromSqlError) -> Self {
        NodeError::Storage(e.to_string())
    }
}

impl From<govchain_ledger::state::StoredStateError> for NodeError {
    fn from(e: govchain_ledger::state::StoredStateError) -> Self {
        use govchain_ledger::state::StoredStateError as S;
        match e {
            S::Superseded(_) => NodeError::Superseded(e.to_string()),
            S::Unreadable(_) => NodeError::Storage(e.to_string()),
            S::BadRow { .. } | S::Mismatch(_) => NodeError::StateMismatch(e.to_string()),
        }
    }
}

impl From<rusqlite::Error> for NodeError {
    fn from(e: rusqlite::Error) -> Self {
        NodeError::Storage(e.to_string())
    }
}

/// An error with its causes (`a: b: c`): an HTTP client's own message says
/// only "error sending request", a cause says why (refused, timed out,
/// certificate, DNS).
pub fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

impl NodeError {
    pub fn bad(e: &(impl ErrorCode + std::fmt::Display)) -> Self {
        NodeError::BadRequest {
            code: e.code(),
            message: e.to_string(),
        }
    }

    /// The seconds a client should wait before retrying (`Retry-After`):
    /// for `node.busy` and `node.rate_limited`.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            NodeError::Busy { retry_after, .. } => Some(*retry_after),
            // A token comes back within 1/rate ≤ 1 s; a head moves on
            // within a block.
            NodeError::RateLimited(_) | NodeError::Superseded(_) => Some(1),
            _ => None,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            NodeError::BadRequest { .. }
            | NodeError::Body(_)
            | NodeError::Config(_)
            | NodeError::KeyPermissions { .. } => StatusCode::BAD_REQUEST,
            NodeError::Rejected(_) => StatusCode::UNPROCESSABLE_ENTITY,
            NodeError::NotFound(_) => StatusCode::NOT_FOUND,
            NodeError::Pruned { .. } => StatusCode::GONE,
            NodeError::Storage(_)
            | NodeError::Corrupt(_)
            | NodeError::StateMismatch(_)
            | NodeError::Diverged(_) => StatusCode::INTERNAL_SERVER_ERROR,
            NodeError::Halted(_) | NodeError::NoLeader | NodeError::Superseded(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            NodeError::BodyTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            NodeError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            NodeError::Busy { .. } | NodeError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            NodeError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            NodeError::Forbidden(_) => StatusCode::FORBIDDEN,
            NodeError::Witness(_) | NodeError::Cluster(_) => StatusCode::BAD_GATEWAY,
        }
    }
}

impl ErrorCode for NodeError {
    fn code(&self) -> &'static str {
        match self {
            NodeError::BadRequest { code, .. } | NodeError::Unauthorized { code, .. } => code,
            NodeError::Rejected(r) => r.code(),
            NodeError::NotFound(_) => "node.not_found",
            NodeError::Storage(_) => "node.storage",
            NodeError::Corrupt(_) => "node.corrupt",
            NodeError::StateMismatch(_) => "node.state_mismatch",
            NodeError::Superseded(_) => "state.superseded",
            NodeError::Busy { .. } => "node.busy",
            NodeError::Body(_) => "node.bad_body",
            NodeError::BodyTooLarge(_) => "node.body_too_large",
            NodeError::Config(_) => "node.config",
            NodeError::KeyPermissions { .. } => "node.key_permissions",
            NodeError::Timeout(_) => "node.timeout",
            NodeError::RateLimited(_) => "node.rate_limited",
            NodeError::Forbidden(_) => "read.forbidden",
            NodeError::Witness(w) => w.code(),
            NodeError::Diverged(_) => "node.diverged",
            NodeError::Halted(_) => "node.halted",
            NodeError::NoLeader => "node.no_leader",
            NodeError::Cluster(_) => "node.cluster",
            NodeError::Pruned { .. } => "node.pruned",
        }
    }
}

impl IntoResponse for NodeError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"code": self.code(), "message": self.to_string()});
        let mut r = (self.status(), axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after() {
            r.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        r
    }
}
