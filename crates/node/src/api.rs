//! The HTTP API under `/v1`: submit transactions, read their status, blocks,
//! inclusion and consistency proofs and the signed checkpoint. JSON in and
//! out; every error is `{code, message}` with a 4xx/5xx status.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use govchain_ledger::jcs;
use govchain_ledger::tx::Envelope;
use govchain_ledger::types::{Hash32, Timestamp};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::chain::{Core, TxStatus};
use crate::error::NodeError;

/// Largest request body accepted (a batch of transactions).
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// Most transactions in one batch submission.
pub const MAX_BATCH: usize = 2000;
/// Most blocks returned by one range request.
pub const MAX_BLOCKS_PER_PAGE: u64 = 100;

pub type Shared = Arc<Mutex<Core>>;

fn lock(core: &Shared) -> Result<MutexGuard<'_, Core>, NodeError> {
    core.lock()
        .map_err(|_| NodeError::Storage("node state lock poisoned by an earlier panic".into()))
}

/// The node's clock, for admission checks and block times.
pub fn now() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    Timestamp::from_unix_millis(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The raw request body, with size and read errors as JSON `{code, message}`.
#[derive(Debug)]
pub struct Body(Bytes);

impl<S: Send + Sync> axum::extract::FromRequest<S> for Body {
    type Rejection = NodeError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, NodeError> {
        Bytes::from_request(req, state)
            .await
            .map(Body)
            .map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    NodeError::BodyTooLarge(MAX_BODY_BYTES)
                } else {
                    NodeError::Body(e.body_text())
                }
            })
    }
}

/// The router, for `run` and for in-process tests.
pub fn app(core: Shared) -> Router {
    Router::new()
        .route("/healthz", get(health))
        .route("/v1/tx", post(submit_one))
        .route("/v1/txs", post(submit_batch))
        .route("/v1/tx/{id}", get(tx_status))
        .route("/v1/blocks", get(blocks))
        .route("/v1/blocks/{height}", get(block))
        .route("/v1/proof/inclusion/{id}", get(inclusion))
        .route("/v1/proof/consistency", get(consistency))
        .route("/v1/checkpoint", get(checkpoint))
        .route("/v1/signers/{key_id}", get(signer))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(core)
}

fn status_json(id: &Hash32, s: &TxStatus) -> Value {
    match s {
        TxStatus::Pending => json!({"id": id, "status": "pending"}),
        TxStatus::Committed(loc) => json!({"id": id, "status": "committed", "height": loc.height,
                                            "index": loc.index, "leaf_index": loc.leaf_index}),
        TxStatus::Rejected { code, message } => {
            json!({"id": id, "status": "rejected", "code": code, "message": message})
        }
        TxStatus::Unknown => json!({"id": id, "status": "unknown"}),
    }
}

async fn health(State(core): State<Shared>) -> Result<Json<Value>, NodeError> {
    let c = lock(&core)?;
    Ok(Json(
        json!({"status": "ok", "chain_id": c.chain_id().as_str(), "height": c.height(),
                   "log_size": c.log_size(), "mempool": c.mempool_len()}),
    ))
}

async fn submit_one(
    State(core): State<Shared>,
    Body(body): Body,
) -> Result<Json<Value>, NodeError> {
    let env = Envelope::from_json(&body).map_err(|e| NodeError::bad(&e))?;
    let (id, status) = lock(&core)?.submit(env, now())?;
    Ok(Json(status_json(&id, &status)))
}

async fn submit_batch(
    State(core): State<Shared>,
    Body(body): Body,
) -> Result<Json<Value>, NodeError> {
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
    let mut results = Vec::with_capacity(items.len());
    let mut c = lock(&core)?;
    let t = now();
    for item in items {
        let r = Envelope::from_value(item)
            .map_err(|e| NodeError::bad(&e))
            .and_then(|env| c.submit(env, t));
        results.push(match r {
            Ok((id, s)) => status_json(&id, &s),
            Err(e) => json!({"status": "error", "code": govchain_ledger::ErrorCode::code(&e), "message": e.to_string()}),
        });
    }
    Ok(Json(Value::Array(results)))
}

fn parse_id(s: &str) -> Result<Hash32, NodeError> {
    Hash32::from_hex(s).map_err(|e| NodeError::bad(&e))
}

async fn tx_status(
    State(core): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<Value>, NodeError> {
    let id = parse_id(&id)?;
    let c = lock(&core)?;
    let status = c.status(&id)?;
    let mut out = status_json(&id, &status);
    if let TxStatus::Committed(loc) = status {
        out["tx"] = serde_json::to_value(c.transaction(loc)?)
            .map_err(|e| NodeError::Storage(e.to_string()))?;
    }
    Ok(Json(out))
}

#[derive(Debug, Deserialize)]
struct Range {
    from: Option<u64>,
    limit: Option<u64>,
}

async fn blocks(
    State(core): State<Shared>,
    Query(r): Query<Range>,
) -> Result<Json<Value>, NodeError> {
    let c = lock(&core)?;
    let from = r.from.unwrap_or(0);
    let limit = r
        .limit
        .unwrap_or(MAX_BLOCKS_PER_PAGE)
        .clamp(1, MAX_BLOCKS_PER_PAGE);
    let mut out = Vec::new();
    for h in from..from.saturating_add(limit) {
        match c.block(h)? {
            Some(b) => out.push(b),
            None => break,
        }
    }
    Ok(Json(json!({"blocks": out, "height": c.height()})))
}

async fn block(
    State(core): State<Shared>,
    Path(height): Path<u64>,
) -> Result<Json<Value>, NodeError> {
    let c = lock(&core)?;
    let b = c
        .block(height)?
        .ok_or_else(|| NodeError::NotFound(format!("block {height}")))?;
    Ok(Json(
        serde_json::to_value(b).map_err(|e| NodeError::Storage(e.to_string()))?,
    ))
}

#[derive(Debug, Deserialize)]
struct SizeQuery {
    tree_size: Option<u64>,
}

async fn inclusion(
    State(core): State<Shared>,
    Path(id): Path<String>,
    Query(q): Query<SizeQuery>,
) -> Result<Json<Value>, NodeError> {
    let id = parse_id(&id)?;
    let c = lock(&core)?;
    let (loc, leaf_hash, proof) = c.inclusion_proof(&id, q.tree_size)?;
    Ok(Json(
        json!({"tx_id": id, "height": loc.height, "leaf_hash": leaf_hash, "proof": proof}),
    ))
}

#[derive(Debug, Deserialize)]
struct Sizes {
    size1: u64,
    size2: u64,
}

async fn consistency(
    State(core): State<Shared>,
    Query(q): Query<Sizes>,
) -> Result<Json<Value>, NodeError> {
    let proof = lock(&core)?.consistency_proof(q.size1, q.size2)?;
    Ok(Json(
        serde_json::to_value(proof).map_err(|e| NodeError::Storage(e.to_string()))?,
    ))
}

async fn checkpoint(State(core): State<Shared>) -> Result<impl IntoResponse, NodeError> {
    let note = lock(&core)?.checkpoint().to_owned();
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], note))
}

/// The official (or certificate holder) behind a key id and the last
/// committed sequence number: what a client needs to sign its next transaction.
async fn signer(
    State(core): State<Shared>,
    Path(key_id): Path<String>,
) -> Result<Json<Value>, NodeError> {
    let key_id =
        govchain_ledger::crypto::KeyId::from_hex(&key_id).map_err(|e| NodeError::bad(&e))?;
    let c = lock(&core)?;
    let s = c.state();
    let official = s.key_index.get(&key_id).copied();
    let principal = official.unwrap_or(key_id);
    if official.is_none() && !s.holders.contains_key(&key_id) {
        return Err(NodeError::NotFound(format!("signer {key_id}")));
    }
    let o = official.and_then(|id| s.officials.get(&id));
    Ok(Json(json!({
        "key_id": key_id,
        "official": official,
        "name": o.map(|o| o.name.clone()),
        "department": o.map(|o| o.department.to_string()),
        "seq": s.seqs.get(&principal).copied().unwrap_or(0),
    })))
}
