//! The HTTP API under `/v1`: the router, the OpenAPI document, and the
//! extractors and helpers every resource shares. Each resource's routes live
//! in their own file; every handler reaches the node through a
//! [`NodeHandle`]. JSON in and out; every error is `{code, message}` with a
//! 4xx/5xx status, and every success response has a typed schema.

mod blocks;
mod checkpoint;
mod events;
mod health;
mod proofs;
pub mod reads;
pub mod schema;
mod state;
mod state_proofs;
mod tx;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::{Json, Router};
use govchain_ledger::crypto::KeyId;
use govchain_ledger::state::kinds::RefId;
use govchain_ledger::types::{Hash32, Timestamp};
use serde::de::DeserializeOwned;

use crate::error::NodeError;
use crate::handle::{NodeHandle, Shared};

pub use reads::{SignedRead, ACCESS_TX_HEADER, MAX_ACCESS_PAGE};
pub use schema::ErrorBody;

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

/// The OpenAPI 3 document of this API, served at `/v1/openapi.json`.
#[derive(Debug, utoipa::OpenApi)]
#[openapi(
    info(
        title = "govchain department node",
        description = "Wire formats and rules: PROTOCOL.md"
    ),
    paths(
        health::health,
        health::metrics,
        tx::submit_one,
        tx::submit_batch,
        tx::tx_status,
        blocks::blocks,
        blocks::block,
        events::events,
        proofs::inclusion,
        proofs::consistency,
        checkpoint::checkpoint,
        checkpoint::add_cosignatures,
        state::signer,
        state::official,
        state::inbox,
        state::case,
        state::template,
        state::project,
        state::fund_trace,
        state_proofs::entry,
        reads::certificate,
        reads::blacklist,
        reads::access_log
    ),
    components(schemas(ErrorBody))
)]
pub struct ApiDoc;

/// The system clock (for tools that build transactions).
pub fn now() -> Timestamp {
    crate::chain::Clock::System.now()
}

/// The router, for `run` and for in-process tests.
pub fn app(core: Shared) -> Router {
    router(NodeHandle::from(core))
}

/// The router over a node handle.
pub fn router(node: NodeHandle) -> Router {
    let per_sec = node.lock().map_or(0, |c| c.limits().requests_per_sec);
    let limiter = Arc::new(crate::ratelimit::RateLimiter::new(per_sec));
    Router::new()
        .route("/healthz", get(health::health))
        .route("/metrics", get(health::metrics))
        .route("/v1/openapi.json", get(openapi))
        .route("/v1/events", get(events::events))
        .route("/v1/tx", post(tx::submit_one))
        .route("/v1/txs", post(tx::submit_batch))
        .route("/v1/tx/{id}", get(tx::tx_status))
        .route("/v1/blocks", get(blocks::blocks))
        .route("/v1/blocks/{height}", get(blocks::block))
        .route("/v1/proof/inclusion/{id}", get(proofs::inclusion))
        .route("/v1/proof/consistency", get(proofs::consistency))
        .route("/v1/checkpoint", get(checkpoint::checkpoint))
        .route(
            "/v1/checkpoint/cosignatures",
            post(checkpoint::add_cosignatures),
        )
        .route("/v1/signers/{key_id}", get(state::signer))
        .route("/v1/officials/{id}", get(state::official))
        .route("/v1/inbox/{official}", get(state::inbox))
        .route("/v1/cases/{id}", get(state::case))
        .route("/v1/templates/{id}", get(state::template))
        .route("/v1/projects/{id}", get(state::project))
        .route("/v1/projects/{id}/trace", get(state::fund_trace))
        .route("/v1/state/{*key}", get(state_proofs::entry))
        .route("/v1/certificates/{id}", get(reads::certificate))
        .route("/v1/blacklist/{subject}", get(reads::blacklist))
        .route("/v1/access", get(reads::access_log))
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
        .with_state(node)
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(<ApiDoc as utoipa::OpenApi>::openapi())
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

/// A ledger value as a JSON value (`node.storage` if it cannot be
/// serialized). Its members come out in sorted order, as the node has
/// always sent them.
fn value<T: serde::Serialize>(v: &T) -> Result<serde_json::Value, NodeError> {
    serde_json::to_value(v).map_err(|e| NodeError::Storage(e.to_string()))
}

/// A ledger value as a JSON response (see [`value`]).
fn to_json<T: serde::Serialize>(v: &T) -> Result<Json<serde_json::Value>, NodeError> {
    value(v).map(Json)
}

fn parse_id(s: &str) -> Result<Hash32, NodeError> {
    Hash32::from_hex(s).map_err(|e| NodeError::bad(&e))
}

fn key_id(s: &str) -> Result<KeyId, NodeError> {
    KeyId::from_hex(s).map_err(|e| NodeError::bad(&e))
}

fn ref_id(s: &str) -> Result<RefId, NodeError> {
    RefId::try_from(s.to_owned()).map_err(|e| NodeError::BadRequest {
        code: "node.bad_id",
        message: e.to_string(),
    })
}
