//! Merkle proofs over the transaction log: inclusion of a committed
//! transaction (`GET /v1/proof/inclusion/{id}`) and consistency between two
//! log sizes (`GET /v1/proof/consistency`), RFC 9162.

use axum::extract::State;
use axum::Json;
use govchain_ledger::merkle::ConsistencyProof;
use govchain_ledger::types::Hash32;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::schema::{ConsistencyProofJson, ErrorBody, InclusionProofJson};
use super::{parse_id, Path, Query};
use crate::error::NodeError;
use crate::handle::NodeHandle;

#[derive(Debug, Deserialize)]
pub(super) struct SizeQuery {
    tree_size: Option<u64>,
}

/// A committed transaction's leaf and its inclusion proof (fields in the
/// order always sent).
#[derive(Debug, Serialize, ToSchema)]
pub struct Inclusion {
    /// The block holding the transaction.
    pub height: u64,
    /// The transaction's leaf hash (hex).
    #[schema(value_type = String)]
    pub leaf_hash: Hash32,
    #[schema(value_type = InclusionProofJson)]
    pub proof: serde_json::Value,
    /// The transaction id (hex).
    #[schema(value_type = String)]
    pub tx_id: Hash32,
}

#[utoipa::path(get, path = "/v1/proof/inclusion/{id}", tag = "proofs", params(("id" = String, Path, description = "transaction id", pattern = "^[0-9a-f]{64}$"), ("tree_size" = Option<u64>, Query, description = "size of the checkpoint to prove against; default the current log", minimum = 1)), responses((status = 200, description = "leaf hash and RFC 9162 inclusion proof", body = Inclusion), (status = 400, description = "bad input", body = ErrorBody), (status = 404, description = "not found", body = ErrorBody)))]
pub(super) async fn inclusion(
    State(node): State<NodeHandle>,
    Path(id): Path<String>,
    Query(q): Query<SizeQuery>,
) -> Result<Json<Inclusion>, NodeError> {
    let id = parse_id(&id)?;
    let c = node.lock()?;
    let (loc, leaf_hash, proof) = c.inclusion_proof(&id, q.tree_size)?;
    Ok(Json(Inclusion {
        height: loc.height,
        leaf_hash,
        proof: super::value(&proof)?,
        tx_id: id,
    }))
}

#[derive(Debug, Deserialize)]
pub(super) struct Sizes {
    size1: u64,
    size2: u64,
}

#[utoipa::path(get, path = "/v1/proof/consistency", tag = "proofs", params(("size1" = u64, Query, minimum = 1), ("size2" = u64, Query, minimum = 1)), responses((status = 200, description = "RFC 9162 consistency proof", body = ConsistencyProofJson), (status = 400, description = "bad input", body = ErrorBody)))]
pub(super) async fn consistency(
    State(node): State<NodeHandle>,
    Query(q): Query<Sizes>,
) -> Result<Json<serde_json::Value>, NodeError> {
    if q.size1 == 0 {
        // The empty tree is a prefix of every tree: such a proof proves nothing.
        return Err(NodeError::bad(
            &govchain_ledger::merkle::ProofError::EmptyTree,
        ));
    }
    let proof: ConsistencyProof = node.lock()?.consistency_proof(q.size1, q.size2)?;
    super::to_json(&proof)
}
