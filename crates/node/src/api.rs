//! The HTTP API under `/v1`: submit transactions, read their status, blocks,
//! inclusion and consistency proofs and the signed checkpoint. JSON in and
//! out; every error is `{code, message}` with a 4xx/5xx status.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequestParts, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use govchain_ledger::jcs;
use govchain_ledger::tx::Envelope;
use govchain_ledger::types::{Hash32, Timestamp};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::chain::{Core, Role, TxStatus};
use crate::error::NodeError;
use crate::reads::SignedRead;

/// Largest request body accepted (a batch of transactions).
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// Most transactions in one batch submission.
pub const MAX_BATCH: usize = 2000;
/// Longest time a request may take to produce its response head (an SSE
/// stream's events are not limited).
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);
/// Most blocks returned by one range request.
pub const MAX_BLOCKS_PER_PAGE: u64 = 100;
/// A page of blocks stops before passing this size (a single block, at most
/// 64 MiB, always fits), so that clients can bound what they read.
pub const MAX_PAGE_BYTES: usize = 96 * 1024 * 1024;

pub type Shared = Arc<Mutex<Core>>;

/// The error body of every non-2xx response.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A stable code, e.g. `tx.replayed` (PROTOCOL.md §9, §12.8).
    pub code: String,
    /// What happened and what to do, for people.
    pub message: String,
}

/// The OpenAPI 3 document of this API, served at `/v1/openapi.json`.
#[derive(Debug, utoipa::OpenApi)]
#[openapi(
    info(
        title = "govchain department node",
        description = "Wire formats and rules: PROTOCOL.md"
    ),
    paths(
        health,
        metrics,
        submit_one,
        submit_batch,
        tx_status,
        blocks,
        block,
        events,
        inclusion,
        consistency,
        checkpoint,
        add_cosignatures,
        signer,
        official,
        inbox,
        case,
        project,
        fund_trace,
        certificate,
        blacklist,
        access_log
    ),
    components(schemas(ErrorBody))
)]
pub struct ApiDoc;

/// The node's state, or `node.storage` if an earlier panic poisoned it.
pub(crate) fn lock(core: &Shared) -> Result<MutexGuard<'_, Core>, NodeError> {
    core.lock()
        .map_err(|_| NodeError::Storage("node state lock poisoned by an earlier panic".into()))
}

/// The system clock (for tools that build transactions).
pub fn now() -> Timestamp {
    crate::chain::Clock::System.now()
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

/// `axum`'s path extractor with its rejection as JSON `{code, message}`
/// (`node.bad_path`).
#[derive(Debug)]
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = NodeError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, NodeError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|e| NodeError::BadRequest {
                code: "node.bad_path",
                message: e.body_text(),
            })
    }
}

/// `axum`'s query extractor with its rejection as JSON `{code, message}`
/// (`node.bad_query`).
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = NodeError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, NodeError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e| NodeError::BadRequest {
                code: "node.bad_query",
                message: e.body_text(),
            })
    }
}

/// A page size: `default` if absent, an error outside `1..=max`.
fn page_size<T: PartialOrd + From<u8> + Copy + std::fmt::Display>(
    limit: Option<T>,
    default: T,
    max: T,
) -> Result<T, NodeError> {
    match limit {
        None => Ok(default),
        Some(n) if n >= T::from(1) && n <= max => Ok(n),
        Some(n) => Err(NodeError::BadRequest {
            code: "node.bad_query",
            message: format!("limit {n} is outside 1..={max}"),
        }),
    }
}

/// The router, for `run` and for in-process tests.
pub fn app(core: Shared) -> Router {
    let per_sec = core.lock().map_or(0, |c| c.limits().requests_per_sec);
    let limiter = Arc::new(crate::ratelimit::RateLimiter::new(per_sec));
    Router::new()
        .route("/healthz", get(health))
        .route("/metrics", get(metrics))
        .route("/v1/openapi.json", get(openapi))
        .route("/v1/events", get(events))
        .route("/v1/tx", post(submit_one))
        .route("/v1/txs", post(submit_batch))
        .route("/v1/tx/{id}", get(tx_status))
        .route("/v1/blocks", get(blocks))
        .route("/v1/blocks/{height}", get(block))
        .route("/v1/proof/inclusion/{id}", get(inclusion))
        .route("/v1/proof/consistency", get(consistency))
        .route("/v1/checkpoint", get(checkpoint))
        .route("/v1/checkpoint/cosignatures", post(add_cosignatures))
        .route("/v1/signers/{key_id}", get(signer))
        .route("/v1/officials/{id}", get(official))
        .route("/v1/inbox/{official}", get(inbox))
        .route("/v1/cases/{id}", get(case))
        .route("/v1/projects/{id}", get(project))
        .route("/v1/projects/{id}/trace", get(fund_trace))
        .route("/v1/certificates/{id}", get(certificate))
        .route("/v1/blacklist/{subject}", get(blacklist))
        .route("/v1/access", get(access_log))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(
            tower::ServiceBuilder::new()
                .layer(axum::error_handling::HandleErrorLayer::new(
                    |_: tower::BoxError| async { NodeError::Timeout(REQUEST_TIMEOUT) },
                ))
                .layer(tower::timeout::TimeoutLayer::new(REQUEST_TIMEOUT)),
        )
        .layer(axum::middleware::from_fn_with_state(
            limiter,
            crate::ratelimit::limit,
        ))
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

#[utoipa::path(get, path = "/healthz", tag = "node", responses((status = 200, description = "chain id, height, log size, mempool size", body = serde_json::Value)))]
async fn health(State(core): State<Shared>) -> Result<Json<Value>, NodeError> {
    let c = lock(&core)?;
    // Degraded: blocks cannot be stored right now (retried); submissions
    // are still accepted up to the mempool's limit. Halted: this node's copy
    // disagrees with its cluster's.
    let (status, error) = match (c.halted(), &c.metrics().production_error) {
        (Some(why), _) => ("halted", Some(why.to_owned())),
        (None, Some(e)) => ("degraded", Some(e.clone())),
        (None, None) => ("ok", None),
    };
    let (role, leader) = match c.role() {
        Role::Standalone => ("standalone", None),
        Role::Leader => ("leader", None),
        Role::Follower { leader_url } => ("follower", leader_url.clone()),
    };
    let (voters, learners) = c.membership().cloned().unzip();
    Ok(Json(
        json!({"status": status, "error": error, "chain_id": c.chain_id().as_str(),
               "height": c.height(), "log_size": c.log_size(), "mempool": c.mempool_len(),
               "role": role, "leader": leader, "voters": voters, "learners": learners}),
    ))
}

/// Marks a submission a follower passed on: it is not passed on again.
const FORWARDED: &str = "govchain-forwarded";

/// In a cluster, a follower passes a submission to the leader and relays
/// the leader's answer as it is; `None` if this node admits it itself. A
/// submission that was already passed on once is not passed on again (two
/// nodes with stale views of the leader would bounce it).
async fn forward(
    core: &Shared,
    headers: &axum::http::HeaderMap,
    path: &str,
    body: &Bytes,
) -> Result<Option<axum::response::Response>, NodeError> {
    static HTTP: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    let leader = {
        let c = lock(core)?;
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
            } => url.clone(),
        }
    };
    let http = HTTP.get_or_init(|| {
        reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .unwrap_or_default()
    });
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
    let bytes = answer.bytes().await.map_err(failed)?;
    Ok(Some(
        (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
    ))
}

/// Admits envelopes: keys looked up under the lock, signatures batch-verified
/// off the async runtime without the lock, then admission under the lock.
pub(crate) async fn admit(
    core: &Shared,
    envs: Vec<Envelope>,
) -> Result<Vec<Result<(Hash32, TxStatus), NodeError>>, NodeError> {
    let keys = lock(core)?.keys_for(&envs);
    let (envs, verified) = tokio::task::spawn_blocking(move || {
        let prepared: Vec<_> = envs
            .into_iter()
            .map(|e| e.prepare().map_err(|e| NodeError::bad(&e)))
            .collect();
        let ok = crate::chain::verify_signatures(&prepared, &keys);
        (prepared, ok)
    })
    .await
    .map_err(|e| NodeError::Storage(format!("signature check task: {e}")))?;
    let mut c = lock(core)?;
    let t = c.now();
    Ok(c.admit_batch(envs, &verified, t))
}

#[utoipa::path(post, path = "/v1/tx", tag = "transactions", request_body(content = serde_json::Value, description = "a transaction envelope (PROTOCOL.md §5.2)", content_type = "application/json"), responses((status = 200, description = "status: pending or committed (idempotent by id)", body = serde_json::Value), (status = 400, description = "bad input", body = ErrorBody), (status = 413, description = "body too large", body = ErrorBody), (status = 422, description = "rejected by the rules (PROTOCOL.md §12.8)", body = ErrorBody), (status = 503, description = "mempool full", body = ErrorBody)))]
async fn submit_one(
    State(core): State<Shared>,
    headers: axum::http::HeaderMap,
    Body(body): Body,
) -> Result<axum::response::Response, NodeError> {
    if let Some(relayed) = forward(&core, &headers, "/v1/tx", &body).await? {
        return Ok(relayed);
    }
    let env = Envelope::from_json(&body).map_err(|e| NodeError::bad(&e))?;
    let result = admit(&core, vec![env]).await?.pop();
    let (id, status) = result.ok_or_else(|| NodeError::Storage("no admission result".into()))??;
    Ok(Json(status_json(&id, &status)).into_response())
}

#[utoipa::path(post, path = "/v1/txs", tag = "transactions", request_body(content = serde_json::Value, description = "a JSON array of envelopes (at most 2000)", content_type = "application/json"), responses((status = 200, description = "one status or error per envelope, in order", body = serde_json::Value), (status = 400, description = "bad input", body = ErrorBody), (status = 413, description = "body too large", body = ErrorBody)))]
async fn submit_batch(
    State(core): State<Shared>,
    headers: axum::http::HeaderMap,
    Body(body): Body,
) -> Result<axum::response::Response, NodeError> {
    if let Some(relayed) = forward(&core, &headers, "/v1/txs", &body).await? {
        return Ok(relayed);
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
    let mut admitted = admit(&core, envs).await?.into_iter();
    let error = |e: &NodeError| json!({"status": "error", "code": govchain_ledger::ErrorCode::code(e), "message": e.to_string()});
    let results: Vec<Value> = parsed
        .iter()
        .map(|p| match p {
            Some(e) => error(e),
            None => match admitted.next() {
                Some(Ok((id, s))) => status_json(&id, &s),
                Some(Err(e)) => error(&e),
                None => {
                    json!({"status": "error", "code": "node.storage", "message": "missing result"})
                }
            },
        })
        .collect();
    Ok(Json(Value::Array(results)).into_response())
}

fn parse_id(s: &str) -> Result<Hash32, NodeError> {
    Hash32::from_hex(s).map_err(|e| NodeError::bad(&e))
}

#[utoipa::path(get, path = "/v1/tx/{id}", tag = "transactions", params(("id" = String, Path, description = "transaction id (64 hex)", pattern = "^[0-9a-f]{64}$")), responses((status = 200, description = "pending, committed (with height, index, leaf_index and the envelope), rejected (code) or unknown", body = serde_json::Value), (status = 400, description = "bad input", body = ErrorBody)))]
async fn tx_status(
    State(core): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<Value>, NodeError> {
    let id = parse_id(&id)?;
    let (status, reads) = {
        let c = lock(&core)?;
        (c.status(&id)?, c.reads())
    };
    let mut out = status_json(&id, &status);
    if let TxStatus::Committed(loc) = status {
        let tx = reads
            .block(loc.height)?
            .and_then(|b| b.txs.into_iter().nth(loc.index));
        out["tx"] = to_json(&tx)?.0;
    }
    Ok(Json(out))
}

#[derive(Debug, Deserialize)]
struct Range {
    from: Option<u64>,
    limit: Option<u64>,
}

/// The first blocks of `page` whose JSON (with separators) stays within
/// `max` bytes; at least the first block.
fn cap_page(page: Vec<String>, max: usize) -> Vec<String> {
    let mut bytes = 0;
    page.into_iter()
        .enumerate()
        .take_while(|(i, b)| {
            bytes += b.len() + 1;
            *i == 0 || bytes <= max
        })
        .map(|(_, b)| b)
        .collect()
}

/// A JSON response from text that is already JSON (stored blocks).
fn raw_json(text: String) -> axum::response::Response {
    ([(header::CONTENT_TYPE, "application/json")], text).into_response()
}

#[utoipa::path(get, path = "/v1/blocks", tag = "chain", params(("from" = Option<u64>, Query, description = "first height", minimum = 0, maximum = 9_223_372_036_854_775_807_u64), ("limit" = Option<u64>, Query, description = "at most 100", minimum = 1, maximum = 100)), responses((status = 400, description = "bad input", body = ErrorBody), (status = 200, description = "`{blocks, height}`: blocks in height order (fewer than `limit` when they would pass 96 MiB; always at least one if any), and the node's height", body = serde_json::Value)))]
async fn blocks(
    State(core): State<Shared>,
    Query(r): Query<Range>,
) -> Result<axum::response::Response, NodeError> {
    // Read from the pool, up to the height the node has announced (never a
    // block its checkpoint does not cover yet).
    let (reads, height) = {
        let c = lock(&core)?;
        (c.reads(), c.height())
    };
    let from = r.from.unwrap_or(0);
    if i64::try_from(from).is_err() {
        return Err(NodeError::BadRequest {
            code: "node.bad_query",
            message: format!("from {from} is beyond any height (at most 2^63-1)"),
        });
    }
    let limit = page_size(r.limit, MAX_BLOCKS_PER_PAGE, MAX_BLOCKS_PER_PAGE)?;
    let to = from.saturating_add(limit - 1).min(height);
    let page = tokio::task::spawn_blocking(move || {
        if from > to {
            Ok(Vec::new())
        } else {
            reads.blocks_json(from, to)
        }
    })
    .await
    .map_err(|e| NodeError::Storage(format!("block read task: {e}")))??;
    let page = cap_page(page, MAX_PAGE_BYTES);
    let mut text = String::with_capacity(page.iter().map(String::len).sum::<usize>() + 64);
    text.push_str("{\"blocks\":[");
    text.push_str(&page.join(","));
    text.push_str("],\"height\":");
    text.push_str(&height.to_string());
    text.push('}');
    Ok(raw_json(text))
}

#[utoipa::path(get, path = "/v1/blocks/{height}", tag = "chain", params(("height" = u64, Path, minimum = 0)), responses((status = 400, description = "bad input", body = ErrorBody), (status = 200, description = "the block (PROTOCOL.md §7.2)", body = serde_json::Value), (status = 404, description = "not found", body = ErrorBody)))]
async fn block(
    State(core): State<Shared>,
    Path(height): Path<u64>,
) -> Result<axum::response::Response, NodeError> {
    let (reads, top) = {
        let c = lock(&core)?;
        (c.reads(), c.height())
    };
    let found = if height > top {
        None
    } else {
        reads.block_json(height)?
    };
    found
        .map(raw_json)
        .ok_or_else(|| NodeError::NotFound(format!("block {height}")))
}

#[derive(Debug, Deserialize)]
struct SizeQuery {
    tree_size: Option<u64>,
}

#[utoipa::path(get, path = "/v1/proof/inclusion/{id}", tag = "proofs", params(("id" = String, Path, description = "transaction id", pattern = "^[0-9a-f]{64}$"), ("tree_size" = Option<u64>, Query, description = "size of the checkpoint to prove against; default the current log", minimum = 1)), responses((status = 200, description = "leaf hash and RFC 9162 inclusion proof", body = serde_json::Value), (status = 400, description = "bad input", body = ErrorBody), (status = 404, description = "not found", body = ErrorBody)))]
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

#[utoipa::path(get, path = "/v1/proof/consistency", tag = "proofs", params(("size1" = u64, Query, minimum = 1), ("size2" = u64, Query, minimum = 1)), responses((status = 200, description = "RFC 9162 consistency proof", body = serde_json::Value), (status = 400, description = "bad input", body = ErrorBody)))]
async fn consistency(
    State(core): State<Shared>,
    Query(q): Query<Sizes>,
) -> Result<Json<Value>, NodeError> {
    if q.size1 == 0 {
        // The empty tree is a prefix of every tree: such a proof proves nothing.
        return Err(NodeError::bad(
            &govchain_ledger::merkle::ProofError::EmptyTree,
        ));
    }
    let proof = lock(&core)?.consistency_proof(q.size1, q.size2)?;
    to_json(&proof)
}

#[derive(Debug, Deserialize)]
struct CosignedQuery {
    cosigned: Option<usize>,
}

/// Most cosignatures a checkpoint can carry (C2SP notes allow 100 lines).
const MAX_COSIGNED: usize = 99;

#[utoipa::path(get, path = "/v1/checkpoint", tag = "proofs", params(("cosigned" = Option<u32>, Query, description = "the newest recent checkpoint cosigned by at least this many other departments' nodes (PROTOCOL.md §8.7)", minimum = 0, maximum = 99)), responses((status = 200, description = "a C2SP signed-note checkpoint with the witnesses' cosignatures it has", content_type = "text/plain", body = String), (status = 400, description = "bad input", body = ErrorBody), (status = 404, description = "no recent checkpoint has that many cosignatures", body = ErrorBody)))]
async fn checkpoint(
    State(core): State<Shared>,
    Query(q): Query<CosignedQuery>,
) -> Result<impl IntoResponse, NodeError> {
    let k = q.cosigned.unwrap_or(0);
    if k > MAX_COSIGNED {
        return Err(NodeError::BadRequest {
            code: "node.bad_query",
            message: format!("cosigned is at most {MAX_COSIGNED}"),
        });
    }
    let note = lock(&core)?
        .witnessed_checkpoint(k)
        .ok_or_else(|| NodeError::NotFound(format!("a recent checkpoint with {k} cosignatures")))?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], note))
}

/// A witness hands back one of this node's checkpoints with its
/// `cosignature/v1` line added (PROTOCOL.md §8.7).
#[utoipa::path(post, path = "/v1/checkpoint/cosignatures", tag = "proofs", request_body(content = String, description = "a checkpoint note this node signed, with witnesses' cosignature lines", content_type = "text/plain"), responses((status = 200, description = "the checkpoint's size and how many cosignatures it now carries", body = serde_json::Value), (status = 400, description = "malformed note or a cosignature that does not verify", body = ErrorBody), (status = 404, description = "not one of this node's recent checkpoints", body = ErrorBody), (status = 413, description = "body too large", body = ErrorBody)))]
async fn add_cosignatures(
    State(core): State<Shared>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, NodeError> {
    let text = std::str::from_utf8(&body).map_err(|_| NodeError::BadRequest {
        code: "note.malformed",
        message: "the note is not UTF-8".into(),
    })?;
    let (size, cosignatures) = lock(&core)?.add_cosignatures(text)?;
    Ok(Json(json!({"size": size, "cosignatures": cosignatures})))
}

/// The official (or certificate holder) behind a key id and the last
/// committed sequence number: what a client needs to sign its next transaction.
#[utoipa::path(get, path = "/v1/signers/{key_id}", tag = "state", params(("key_id" = String, Path, pattern = "^[0-9a-f]{64}$")), responses((status = 200, description = "official behind a key and the last committed seq", body = serde_json::Value), (status = 400, description = "bad input", body = ErrorBody), (status = 404, description = "not found", body = ErrorBody)))]
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

fn to_json<T: serde::Serialize>(v: &T) -> Result<Json<Value>, NodeError> {
    serde_json::to_value(v)
        .map(Json)
        .map_err(|e| NodeError::Storage(e.to_string()))
}

fn key_id(s: &str) -> Result<govchain_ledger::crypto::KeyId, NodeError> {
    govchain_ledger::crypto::KeyId::from_hex(s).map_err(|e| NodeError::bad(&e))
}

fn ref_id(s: &str) -> Result<govchain_ledger::state::kinds::RefId, NodeError> {
    govchain_ledger::state::kinds::RefId::try_from(s.to_owned()).map_err(|message| {
        NodeError::BadRequest {
            code: "node.bad_id",
            message,
        }
    })
}

#[utoipa::path(get, path = "/v1/officials/{id}", tag = "state", params(("id" = String, Path, description = "official id", pattern = "^[0-9a-f]{64}$")), responses((status = 200, description = "the official, their role grants and last seq", body = serde_json::Value), (status = 400, description = "bad input", body = ErrorBody), (status = 404, description = "not found", body = ErrorBody)))]
async fn official(
    State(core): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<Value>, NodeError> {
    let id = key_id(&id)?;
    let c = lock(&core)?;
    let s = c.state();
    let o = s
        .officials
        .get(&id)
        .ok_or_else(|| NodeError::NotFound(format!("official {id}")))?;
    let grants: Vec<_> = s
        .grants_by_official
        .get(&id)
        .map(|ids| {
            ids.iter()
                .filter_map(|g| s.grants.get(g))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    Ok(Json(
        json!({"official": o, "grants": grants, "seq": s.seqs.get(&id).copied().unwrap_or(0)}),
    ))
}

#[utoipa::path(get, path = "/v1/inbox/{official}", tag = "state", params(("official" = String, Path, description = "official id", pattern = "^[0-9a-f]{64}$")), responses((status = 200, description = "cases waiting for the official, soonest deadline first", body = serde_json::Value), (status = 400, description = "bad input", body = ErrorBody)))]
async fn inbox(
    State(core): State<Shared>,
    Path(official): Path<String>,
) -> Result<Json<Value>, NodeError> {
    let id = key_id(&official)?;
    let c = lock(&core)?;
    to_json(&govchain_ledger::state::views::inbox(
        c.state(),
        &id,
        c.view_time(),
    ))
}

#[utoipa::path(get, path = "/v1/cases/{id}", tag = "state", params(("id" = String, Path, pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")), responses((status = 200, description = "the case, its status and template", body = serde_json::Value), (status = 400, description = "bad input", body = ErrorBody), (status = 404, description = "not found", body = ErrorBody)))]
async fn case(
    State(core): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<Value>, NodeError> {
    let id = ref_id(&id)?;
    let c = lock(&core)?;
    let s = c.state();
    let case = s
        .cases
        .get(&id)
        .ok_or_else(|| NodeError::NotFound(format!("case {id}")))?;
    let template = s
        .templates
        .get(&govchain_ledger::state::workflow::Template::key(
            &case.template,
            case.version,
        ));
    let status = govchain_ledger::state::views::case_status(s, case, c.view_time());
    Ok(Json(
        json!({"case": case, "status": status, "template": template}),
    ))
}

#[utoipa::path(get, path = "/v1/projects/{id}", tag = "state", params(("id" = String, Path, pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")), responses((status = 200, description = "the project and its payments", body = serde_json::Value), (status = 400, description = "bad input", body = ErrorBody), (status = 404, description = "not found", body = ErrorBody)))]
async fn project(
    State(core): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<Value>, NodeError> {
    let id = ref_id(&id)?;
    let c = lock(&core)?;
    let p = c
        .state()
        .projects
        .get(&id)
        .ok_or_else(|| NodeError::NotFound(format!("project {id}")))?;
    to_json(p)
}

#[utoipa::path(get, path = "/v1/projects/{id}/trace", tag = "state", params(("id" = String, Path, pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")), responses((status = 200, description = "fund flows for a Sankey diagram", body = serde_json::Value), (status = 400, description = "bad input", body = ErrorBody), (status = 404, description = "not found", body = ErrorBody)))]
async fn fund_trace(
    State(core): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<Value>, NodeError> {
    let id = ref_id(&id)?;
    let c = lock(&core)?;
    let flows = govchain_ledger::state::views::fund_trace(c.state(), &id)
        .ok_or_else(|| NodeError::NotFound(format!("project {id}")))?;
    to_json(&flows)
}

#[utoipa::path(get, path = "/v1/certificates/{id}", tag = "state", params(("Signature-Input" = String, Header, description = "RFC 9421 signature input (PROTOCOL.md §13)"), ("Signature" = String, Header, description = "RFC 9421 signature"), ("govchain-access-record" = String, Header, description = "base64url of the access.record envelope that logs this read"), ("id" = String, Path, pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")), responses((status = 401, description = "unsigned, stale or badly signed request (read.*, auth.*)", body = ErrorBody), (status = 403, description = "the official may not read this (read.forbidden)", body = ErrorBody), (status = 200, description = "the certificate, its verifications and consents", body = serde_json::Value), (status = 400, description = "bad input", body = ErrorBody), (status = 404, description = "not found", body = ErrorBody)))]
async fn certificate(
    State(core): State<Shared>,
    read: SignedRead,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, NodeError> {
    let id = ref_id(&id)?;
    // The issuing department, or one the holder consented to, may read it.
    let tx = read
        .record(
            &core,
            &format!("govchain/certificates/{id}"),
            None,
            |s, _, dept, now| {
                s.certificates
                    .get(&id)
                    .is_none_or(|c| &c.department == dept)
                    || s.consents.values().any(|k| {
                        k.cert_id == id
                            && &k.grantee == dept
                            && k.revoked_at.is_none()
                            && k.until > now
                    })
            },
        )
        .await?;
    let c = lock(&core)?;
    let s = c.state();
    let cert = s
        .certificates
        .get(&id)
        .ok_or_else(|| NodeError::NotFound(format!("certificate {id}")))?;
    let consents: Vec<_> = s
        .consents
        .values()
        .filter(|x| x.cert_id == id)
        .cloned()
        .collect();
    Ok(recorded(
        tx,
        json!({"certificate": cert, "consents": consents}),
    ))
}

/// A sensitive query's answer, naming the access record that logged it.
fn recorded(tx: Hash32, body: Value) -> impl IntoResponse {
    ([(ACCESS_TX_HEADER, tx.to_hex())], Json(body))
}

/// Response header naming the admitted `access.record` of a signed read.
pub const ACCESS_TX_HEADER: &str = "govchain-access-tx";

#[utoipa::path(get, path = "/v1/blacklist/{subject}", tag = "state", params(("Signature-Input" = String, Header, description = "RFC 9421 signature input (PROTOCOL.md §13)"), ("Signature" = String, Header, description = "RFC 9421 signature"), ("govchain-access-record" = String, Header, description = "base64url of the access.record envelope that logs this read"), ("subject" = String, Path, description = "salted identity hash (64 hex)", pattern = "^[0-9a-f]{64}$")), responses((status = 401, description = "unsigned, stale or badly signed request (read.*, auth.*)", body = ErrorBody), (status = 403, description = "the official may not read this (read.forbidden)", body = ErrorBody), (status = 200, description = "active entries from every department", body = serde_json::Value), (status = 400, description = "bad input", body = ErrorBody)))]
async fn blacklist(
    State(core): State<Shared>,
    read: SignedRead,
    Path(subject): Path<String>,
) -> Result<impl IntoResponse, NodeError> {
    let subject = parse_id(&subject)?;
    // Any registered official may look a subject up; the lookup is recorded.
    let tx = read
        .record(&core, "govchain/blacklist", Some(subject), |_, _, _, _| {
            true
        })
        .await?;
    let c = lock(&core)?;
    let found = govchain_ledger::state::views::blacklist_lookup(c.state(), &subject);
    Ok(recorded(tx, to_json(&found)?.0))
}

/// Most access records returned by one query.
pub const MAX_ACCESS_PAGE: usize = 1000;

#[derive(Debug, Deserialize)]
struct AccessParams {
    official: Option<String>,
    department: Option<String>,
    dataset: Option<String>,
    from: Option<String>,
    until: Option<String>,
    limit: Option<usize>,
}

#[utoipa::path(get, path = "/v1/access", tag = "state", params(("Signature-Input" = String, Header, description = "RFC 9421 signature input (PROTOCOL.md §13)"), ("Signature" = String, Header, description = "RFC 9421 signature"), ("govchain-access-record" = String, Header, description = "base64url of the access.record envelope that logs this read"), ("official" = Option<String>, Query, pattern = "^[0-9a-f]{64}$"), ("department" = Option<String>, Query, pattern = "^[a-z0-9][a-z0-9_-]{0,63}$"), ("dataset" = Option<String>, Query), ("from" = Option<String>, Query, description = "time (PROTOCOL.md §2.3)", pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$"), ("until" = Option<String>, Query, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$"), ("limit" = Option<usize>, Query, description = "at most 1000", minimum = 1, maximum = 1000)), responses((status = 401, description = "unsigned, stale or badly signed request (read.*, auth.*)", body = ErrorBody), (status = 403, description = "the official may not read this (read.forbidden)", body = ErrorBody), (status = 200, description = "matching access records, newest first", body = serde_json::Value), (status = 400, description = "bad input", body = ErrorBody)))]
async fn access_log(
    State(core): State<Shared>,
    read: SignedRead,
    Query(p): Query<AccessParams>,
) -> Result<impl IntoResponse, NodeError> {
    let tx = read
        .record(
            &core,
            "govchain/access-log",
            None,
            crate::reads::may_read_access_log,
        )
        .await?;
    let time = |s: Option<String>| -> Result<Option<Timestamp>, NodeError> {
        s.map(|t| t.parse::<Timestamp>().map_err(|e| NodeError::bad(&e)))
            .transpose()
    };
    let department = p
        .department
        .map(|d| {
            govchain_ledger::state::kinds::DeptId::try_from(d).map_err(|message| {
                NodeError::BadRequest {
                    code: "node.bad_id",
                    message,
                }
            })
        })
        .transpose()?;
    let q = govchain_ledger::state::views::AccessQuery {
        official: p.official.as_deref().map(key_id).transpose()?,
        department,
        dataset: p.dataset,
        from: time(p.from)?,
        until: time(p.until)?,
        limit: page_size(p.limit, MAX_ACCESS_PAGE, MAX_ACCESS_PAGE)?,
    };
    let c = lock(&core)?;
    let rows = govchain_ledger::state::views::access_log(c.state(), &q);
    Ok(recorded(tx, to_json(&rows)?.0))
}

/// Prometheus text exposition of the node's counters and gauges.
#[utoipa::path(get, path = "/metrics", tag = "node", responses((status = 200, description = "Prometheus text exposition", content_type = "text/plain", body = String)))]
async fn metrics(State(core): State<Shared>) -> Result<impl IntoResponse, NodeError> {
    let c = lock(&core)?;
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
         # TYPE govchain_production_errors_total counter\ngovchain_production_errors_total {}\n",
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
    );
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text))
}

/// Server-sent events: `block` (JSON summary) and `checkpoint` (the note).
#[utoipa::path(get, path = "/v1/events", tag = "chain", responses((status = 200, description = "server-sent events: block (JSON) and checkpoint (note text)", content_type = "text/event-stream", body = String)))]
async fn events(State(core): State<Shared>) -> Result<impl IntoResponse, NodeError> {
    use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
    let rx = lock(&core)?.subscribe();
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(crate::chain::Event::Block {
                    height,
                    hash,
                    tx_count,
                    log_size,
                }) => {
                    let data = json!({"height": height, "hash": hash, "tx_count": tx_count, "log_size": log_size});
                    let ev = SseEvent::default().event("block").data(data.to_string());
                    return Some((Ok::<_, std::convert::Infallible>(ev), rx));
                }
                Ok(crate::chain::Event::Checkpoint(note)) => {
                    return Some((Ok(SseEvent::default().event("checkpoint").data(note)), rx));
                }
                // A slow subscriber skips what it missed; it can re-read blocks.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(<ApiDoc as utoipa::OpenApi>::openapi())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_page_of_blocks_stops_before_its_byte_limit() {
        let page = |sizes: &[usize]| sizes.iter().map(|n| "x".repeat(*n)).collect::<Vec<_>>();
        let lens = |p: Vec<String>| p.iter().map(String::len).collect::<Vec<_>>();
        assert_eq!(lens(super::cap_page(page(&[3, 3, 3]), 8)), [3, 3]);
        assert_eq!(lens(super::cap_page(page(&[3, 3, 3]), 100)), [3, 3, 3]);
        // One block larger than the limit still goes alone.
        assert_eq!(lens(super::cap_page(page(&[50, 1]), 8)), [50]);
        assert!(super::cap_page(Vec::new(), 8).is_empty());
    }
}
