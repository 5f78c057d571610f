//! The signed checkpoint (`GET /v1/checkpoint`, a C2SP signed note) and the
//! witnesses' cosignatures handed back to it
//! (`POST /v1/checkpoint/cosignatures`, PROTOCOL.md §8.7).

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::schema::ErrorBody;
use super::{Body, Query};
use crate::error::NodeError;
use crate::handle::NodeHandle;

#[derive(Debug, Deserialize)]
pub(super) struct CosignedQuery {
    cosigned: Option<usize>,
}

/// Most cosignatures a checkpoint can carry (C2SP notes allow 100 lines).
const MAX_COSIGNED: usize = 99;

#[utoipa::path(get, path = "/v1/checkpoint", tag = "proofs", params(("cosigned" = Option<u32>, Query, description = "the newest recent checkpoint cosigned by at least this many other departments' nodes (PROTOCOL.md §8.7)", minimum = 0, maximum = 99)), responses((status = 200, description = "a C2SP signed-note checkpoint with the witnesses' cosignatures it has", content_type = "text/plain", body = String), (status = 400, description = "bad input", body = ErrorBody), (status = 404, description = "no recent checkpoint has that many cosignatures", body = ErrorBody)))]
pub(super) async fn checkpoint(
    State(node): State<NodeHandle>,
    Query(q): Query<CosignedQuery>,
) -> Result<impl IntoResponse, NodeError> {
    let k = q.cosigned.unwrap_or(0);
    if k > MAX_COSIGNED {
        return Err(NodeError::BadRequest {
            code: "node.bad_query",
            message: format!("cosigned is at most {MAX_COSIGNED}"),
        });
    }
    let text = node
        .lock()?
        .witnessed_checkpoint(k)
        .ok_or_else(|| NodeError::NotFound(format!("a recent checkpoint with {k} cosignatures")))?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text))
}

/// What a checkpoint carries after cosignatures were added.
#[derive(Debug, Serialize, ToSchema)]
pub struct Cosigned {
    /// How many witnesses' cosignatures it now has.
    pub cosignatures: usize,
    /// The checkpoint's log size.
    pub size: u64,
}

/// A witness hands back one of this node's checkpoints with its
/// `cosignature/v1` line added (PROTOCOL.md §8.7).
#[utoipa::path(post, path = "/v1/checkpoint/cosignatures", tag = "proofs", request_body(content = String, description = "a checkpoint note this node signed, with witnesses' cosignature lines", content_type = "text/plain"), responses((status = 200, description = "the checkpoint's size and how many cosignatures it now carries", body = Cosigned), (status = 400, description = "malformed note or a cosignature that does not verify", body = ErrorBody), (status = 404, description = "not one of this node's recent checkpoints", body = ErrorBody), (status = 413, description = "body too large", body = ErrorBody)))]
pub(super) async fn add_cosignatures(
    State(node): State<NodeHandle>,
    Body(body): Body,
) -> Result<Json<Cosigned>, NodeError> {
    let text = std::str::from_utf8(&body).map_err(|_| NodeError::BadRequest {
        code: "note.malformed",
        message: "the note is not UTF-8".into(),
    })?;
    let (size, cosignatures) = node.lock()?.add_cosignatures(text)?;
    Ok(Json(Cosigned { cosignatures, size }))
}
