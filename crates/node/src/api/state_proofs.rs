//! Proven state (`GET /v1/state/{key}`, PROTOCOL.md §12.7 and §15.3): one
//! entry of the ledger state with a proof of its value, or of its absence,
//! against the `state_root` of the head block, with that block's signed
//! header and the signed checkpoint of the log it closes. The sensitive
//! collections (certificates, consents, the blacklist) are proven only
//! inside their signed reads (§13), which log the read.

use axum::extract::State;
use axum::Json;
use govchain_ledger::state::{EntryError, EntryKey, State as LedgerState};
use govchain_ledger::state_proof::{EntryProof, StateProofs};
use serde_json::Value;

use super::schema::{ErrorBody, StateProofsJson};
use super::Path;
use crate::error::NodeError;
use crate::handle::NodeHandle;

/// Whether `key`'s collection is read only through a signed read.
pub(super) fn sensitive(key: &EntryKey) -> bool {
    matches!(
        key,
        EntryKey::Certificate(_) | EntryKey::Consent(_) | EntryKey::Blacklist(_)
    )
}

/// The head block's state, height and checkpoint, taken under one lock so
/// that they belong together; answers and their proofs are built from it.
pub(super) struct Snapshot {
    pub(super) state: LedgerState,
    height: u64,
    checkpoint: String,
    reads: std::sync::Arc<crate::store::ReadPool>,
}

impl Snapshot {
    pub(super) fn take(node: &NodeHandle) -> Result<Self, NodeError> {
        let c = node.lock()?;
        Ok(Self {
            state: c.state().clone(),
            height: c.height(),
            checkpoint: c.checkpoint(),
            reads: c.reads(),
        })
    }

    /// Proofs of `keys` against this state, with its block's signed header
    /// and checkpoint.
    pub(super) fn prove(&self, keys: &[EntryKey]) -> Result<StateProofs, NodeError> {
        let height = self.height;
        let block = self
            .reads
            .signed_header(height)?
            .ok_or_else(|| NodeError::Corrupt(format!("head block {height} is not stored")))?;
        let storage = |e: &dyn std::fmt::Display| NodeError::Storage(e.to_string());
        let entries = keys
            .iter()
            .map(|key| {
                let value = self
                    .state
                    .entry(key)
                    .map_err(|e| match e {
                        EntryError::Stored(e) => NodeError::from(e),
                        EntryError::Encode(e) => storage(&e),
                    })?
                    .map(|bytes| serde_json::from_slice::<Value>(&bytes))
                    .transpose()
                    .map_err(|e| storage(&e))?;
                Ok(EntryProof {
                    key: key.to_string(),
                    value,
                    proof: self.state.prove(key),
                })
            })
            .collect::<Result<Vec<_>, NodeError>>()?;
        Ok(StateProofs {
            block,
            checkpoint: self.checkpoint.clone(),
            entries,
        })
    }
}

#[utoipa::path(get, path = "/v1/state/{key}", tag = "proofs", params(("key" = String, Path, description = "an entry key (PROTOCOL.md §12.7): `meta`, or `<collection>/<id>` such as `case/RC-1` or `payment/P-1/PAY-1`; certificate, consent and blacklist entries are proven in their signed reads")), responses((status = 200, description = "the entry (null when absent) with its proof against the head block's state root, the signed header and the checkpoint", body = StateProofsJson), (status = 400, description = "not an entry key (state.bad_key), or a sensitive collection (state.sensitive)", body = ErrorBody)))]
pub(super) async fn entry(
    State(node): State<NodeHandle>,
    Path(key): Path<String>,
) -> Result<Json<StateProofs>, NodeError> {
    let key: EntryKey = key.parse().map_err(|e| NodeError::bad(&e))?;
    if sensitive(&key) {
        return Err(NodeError::BadRequest {
            code: "state.sensitive",
            message: format!(
                "{key} is proven only inside its signed read (PROTOCOL.md §13): \
                 GET /v1/certificates/{{id}} or /v1/blacklist/{{subject}}"
            ),
        });
    }
    // A case read after the next block was stored: prove from the new head.
    let mut tries = 0;
    loop {
        match Snapshot::take(&node)?.prove(std::slice::from_ref(&key)) {
            Err(NodeError::Superseded(_)) if tries < 200 => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
            other => return other.map(Json),
        }
    }
}
