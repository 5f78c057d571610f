//! Transactions: submit one (`POST /v1/tx`) or a batch (`POST /v1/txs`) and
//! read a transaction's status (`GET /v1/tx/{id}`). In a cluster a follower
//! relays submissions to the leader.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use govchain_ledger::jcs;
use govchain_ledger::tx::Envelope;
use govchain_ledger::types::Hash32;
use govchain_ledger::ErrorCode as _;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::schema::{EnvelopeJson, ErrorBody};
use super::{parse_id, Body, Path, MAX_BATCH, REQUEST_TIMEOUT};
use crate::chain::{Role, TxStatus};
use crate::error::NodeError;
use crate::handle::NodeHandle;

/// Where a transaction stands.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TxState {
    Pending,
    Committed,
    Rejected,
    Unknown,
}

/// A transaction's status. Fields are in the order the node always sent
/// them (alphabetical).
#[derive(Debug, Serialize, ToSchema)]
pub struct TxStatusBody {
    /// Rejected: the rule's code (PROTOCOL.md §12.8).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Committed: the block height.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u64>,
    /// The transaction id (hex).
    #[schema(value_type = String, pattern = "^[0-9a-f]{64}$")]
    pub id: Hash32,
    /// Committed: the position in the block.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// Committed: the position in the log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leaf_index: Option<u64>,
    /// Rejected: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub status: TxState,
    /// `GET /v1/tx/{id}` of a committed transaction: its envelope (null if
    /// its block cannot be read).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<EnvelopeJson>)]
    pub tx: Option<Value>,
}

impl TxStatusBody {
    pub fn new(id: Hash32, s: &TxStatus) -> Self {
        let mut out = Self {
            code: None,
            height: None,
            id,
            index: None,
            leaf_index: None,
            message: None,
            status: TxState::Unknown,
            tx: None,
        };
        match s {
            TxStatus::Pending => out.status = TxState::Pending,
            TxStatus::Committed(loc) => {
                out.status = TxState::Committed;
                out.height = Some(loc.height);
                out.index = Some(loc.index);
                out.leaf_index = Some(loc.leaf_index);
            }
            TxStatus::Rejected { code, message } => {
                out.status = TxState::Rejected;
                out.code = Some((*code).to_owned());
                out.message = Some(message.clone());
            }
            TxStatus::Unknown => {}
        }
        out
    }
}

/// Always `error`.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ErrorState {
    Error,
}

/// A batch entry that was not admitted.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchError {
    pub code: String,
    pub message: String,
    pub status: ErrorState,
}

/// One entry of a batch answer: a status, or why the envelope failed.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum BatchItem {
    Status(TxStatusBody),
    Error(BatchError),
}

impl BatchItem {
    fn error(e: &NodeError) -> Self {
        BatchItem::Error(BatchError {
            code: e.code().to_owned(),
            message: e.to_string(),
            status: ErrorState::Error,
        })
    }
}

/// Marks a submission a follower passed on: it is not passed on again.
const FORWARDED: &str = "govchain-forwarded";

/// In a cluster, a follower passes a submission to the leader and relays
/// the leader's answer as it is; `None` if this node admits it itself. A
/// submission that was already passed on once is not passed on again (two
/// nodes with stale views of the leader would bounce it).
async fn forward(
    node: &NodeHandle,
    headers: &axum::http::HeaderMap,
    path: &str,
    body: &Bytes,
) -> Result<Option<axum::response::Response>, NodeError> {
    static HTTP: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    let (leader, peer_http) = {
        let c = node.lock()?;
        if let Some(why) = c.halted() {
            return Err(NodeError::Halted(why.to_owned()));
        }
        match c.role() {
            Role::Standalone | Role::Leader if !c.may_propose() => {
                return Err(NodeError::Halted(
                    "this department's node was retired on the chain (department.retire_node)"
                        .into(),
                ))
            }
            Role::Standalone | Role::Leader => return Ok(None),
            Role::Follower { leader_url: None } => return Err(NodeError::NoLeader),
            Role::Follower { .. } if headers.contains_key(FORWARDED) => {
                return Err(NodeError::NoLeader)
            }
            Role::Follower {
                leader_url: Some(url),
            } => (url.clone(), c.peer_http().cloned()),
        }
    };
    let http = match &peer_http {
        Some(h) => h,
        None => HTTP.get_or_init(|| {
            reqwest::Client::builder()
                .timeout(REQUEST_TIMEOUT)
                .build()
                .unwrap_or_default()
        }),
    };
    let failed =
        |e: reqwest::Error| NodeError::Cluster(format!("forwarding to the leader {leader}: {e}"));
    let answer = http
        .post(format!("{leader}{path}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(FORWARDED, "1")
        .body(body.clone())
        .send()
        .await
        .map_err(failed)?;
    let status = answer.status();
    // `429 node.busy` (and a batch's busy entries) come with the leader's
    // advice on when to retry: passed on as it is.
    let retry_after = answer.headers().get(header::RETRY_AFTER).cloned();
    let bytes = answer.bytes().await.map_err(failed)?;
    let mut relayed = (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response();
    if let Some(v) = retry_after {
        relayed.headers_mut().insert(header::RETRY_AFTER, v);
    }
    Ok(Some(relayed))
}

#[utoipa::path(post, path = "/v1/tx", tag = "transactions", request_body(content = EnvelopeJson, description = "a transaction envelope (PROTOCOL.md §5.2)", content_type = "application/json"), responses((status = 200, description = "status: pending or committed (idempotent by id)", body = TxStatusBody), (status = 400, description = "bad input", body = ErrorBody), (status = 413, description = "body too large", body = ErrorBody), (status = 422, description = "rejected by the rules (PROTOCOL.md §12.8)", body = ErrorBody), (status = 429, description = "node.busy: the mempool holds what the node commits within its target latency; node.rate_limited: the client is over its request rate", body = ErrorBody, headers(("Retry-After" = u64, description = "seconds to wait before retrying (at least 1)"))), (status = 503, description = "the node has halted or no cluster leader is known", body = ErrorBody)))]
pub(super) async fn submit_one(
    State(node): State<NodeHandle>,
    headers: axum::http::HeaderMap,
    Body(body): Body,
) -> Result<axum::response::Response, NodeError> {
    if let Some(relayed) = forward(&node, &headers, "/v1/tx", &body).await? {
        return Ok(relayed);
    }
    let env = Envelope::from_json(&body).map_err(|e| NodeError::bad(&e))?;
    let (id, status) = node.admit_one(env).await?;
    Ok(Json(TxStatusBody::new(id, &status)).into_response())
}

#[utoipa::path(post, path = "/v1/txs", tag = "transactions", request_body(content = Vec<serde_json::Value>, description = "a JSON array of envelopes (at most 2000; an entry that is not an envelope gets its own error in the answer)", content_type = "application/json"), responses((status = 200, description = "one status or error per envelope, in order; entries the node was too busy to admit are errors with code node.busy, and the answer then carries Retry-After", body = Vec<BatchItem>, headers(("Retry-After" = u64, description = "only when some entries are node.busy: seconds to wait before resubmitting them (at least 1)"))), (status = 400, description = "bad input", body = ErrorBody), (status = 413, description = "body too large", body = ErrorBody), (status = 429, description = "node.busy: the mempool has no room for any of the batch (none of it was read); node.rate_limited: the client is over its request rate", body = ErrorBody, headers(("Retry-After" = u64, description = "seconds to wait before resubmitting the batch (at least 1)"))), (status = 503, description = "the node has halted or no cluster leader is known", body = ErrorBody)))]
pub(super) async fn submit_batch(
    State(node): State<NodeHandle>,
    headers: axum::http::HeaderMap,
    Body(body): Body,
) -> Result<axum::response::Response, NodeError> {
    if let Some(relayed) = forward(&node, &headers, "/v1/txs", &body).await? {
        return Ok(relayed);
    }
    // A node with no room refuses the whole batch before reading it: an
    // overloaded node spends nothing on what it cannot take.
    {
        let c = node.lock()?;
        if c.queue_room() == 0 {
            return Err(c.busy());
        }
    }
    let value = jcs::parse_strict(&body).map_err(|e| NodeError::bad(&e))?;
    let Value::Array(items) = value else {
        return Err(NodeError::BadRequest {
            code: "tx.shape",
            message: "a batch is a JSON array of envelopes".into(),
        });
    };
    if items.len() > MAX_BATCH {
        return Err(NodeError::BadRequest {
            code: "node.batch_too_large",
            message: format!("at most {MAX_BATCH} transactions per batch"),
        });
    }
    // Parse errors keep their place in the answer.
    let mut envs = Vec::with_capacity(items.len());
    let parsed: Vec<Option<NodeError>> = items
        .into_iter()
        .map(|v| match Envelope::from_value(v) {
            Ok(env) => {
                envs.push(env);
                None
            }
            Err(e) => Some(NodeError::bad(&e)),
        })
        .collect();
    let admitted = node.admit(envs).await?;
    // Entries refused as busy: the answer advises when to resubmit them.
    let retry_after = admitted
        .iter()
        .filter_map(|a| a.as_ref().err().and_then(NodeError::retry_after))
        .max();
    let mut admitted = admitted.into_iter();
    let results: Vec<BatchItem> = parsed
        .iter()
        .map(|p| match p {
            Some(e) => BatchItem::error(e),
            None => match admitted.next() {
                Some(Ok((id, s))) => BatchItem::Status(TxStatusBody::new(id, &s)),
                Some(Err(e)) => BatchItem::error(&e),
                None => BatchItem::Error(BatchError {
                    code: "node.storage".into(),
                    message: "missing result".into(),
                    status: ErrorState::Error,
                }),
            },
        })
        .collect();
    let mut answer = Json(results).into_response();
    if let Some(secs) = retry_after {
        answer
            .headers_mut()
            .insert(header::RETRY_AFTER, secs.into());
    }
    Ok(answer)
}

#[utoipa::path(get, path = "/v1/tx/{id}", tag = "transactions", params(("id" = String, Path, description = "transaction id (64 hex)", pattern = "^[0-9a-f]{64}$")), responses((status = 200, description = "pending, committed (with height, index, leaf_index and the envelope), rejected (code) or unknown", body = TxStatusBody), (status = 400, description = "bad input", body = ErrorBody)))]
pub(super) async fn tx_status(
    State(node): State<NodeHandle>,
    Path(id): Path<String>,
) -> Result<Json<TxStatusBody>, NodeError> {
    let id = parse_id(&id)?;
    let (status, reads) = {
        let c = node.lock()?;
        (c.status(&id)?, c.reads())
    };
    let mut out = TxStatusBody::new(id, &status);
    if let TxStatus::Committed(loc) = status {
        let tx = reads
            .block(loc.height)?
            .and_then(|b| b.txs.into_iter().nth(loc.index));
        out.tx = Some(super::to_json(&tx)?.0);
    }
    Ok(Json(out))
}
