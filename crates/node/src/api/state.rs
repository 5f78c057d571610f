//! Public state lookups: signers, officials, an official's inbox, cases,
//! projects and their fund flows. Ledger records are sent as the ledger
//! serializes them.

use axum::extract::State;
use axum::Json;
use govchain_ledger::crypto::KeyId;
use govchain_ledger::state::views;
use govchain_ledger::state::workflow::Template;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::schema::{ErrorBody, FlowJson, InboxItemJson, ProjectJson};
use super::{key_id, ref_id, to_json, value, Path};
use crate::error::NodeError;
use crate::handle::NodeHandle;

/// Who signs with a key, and the last committed sequence number (fields in
/// the order always sent).
#[derive(Debug, Serialize, ToSchema)]
pub struct Signer {
    /// The official's department (null for a certificate holder).
    pub department: Option<String>,
    /// The key id asked about (hex).
    #[schema(value_type = String)]
    pub key_id: KeyId,
    /// The official's name (null for a certificate holder).
    pub name: Option<String>,
    /// The official's id (hex; null for a certificate holder).
    #[schema(value_type = Option<String>)]
    pub official: Option<KeyId>,
    /// The last `seq` of the official or holder counting the transactions
    /// this node admitted and has not committed yet (equal to `seq` when
    /// there are none; a cluster follower counts committed ones only): a
    /// client sending several transactions without waiting for each to
    /// commit signs the next one with `pending_seq + 1`.
    pub pending_seq: u64,
    /// The last committed `seq` of the official or holder.
    pub seq: u64,
}

/// The official (or certificate holder) behind a key id and the last
/// committed sequence number: what a client needs to sign its next transaction.
#[utoipa::path(get, path = "/v1/signers/{key_id}", tag = "state", params(("key_id" = String, Path, pattern = "^[0-9a-f]{64}$")), responses((status = 200, description = "official behind a key, the last committed seq and the last seq counting pending transactions", body = Signer), (status = 400, description = "bad input", body = ErrorBody), (status = 404, description = "not found", body = ErrorBody)))]
pub(super) async fn signer(
    State(node): State<NodeHandle>,
    Path(key_id): Path<String>,
) -> Result<Json<Signer>, NodeError> {
    let key_id = KeyId::from_hex(&key_id).map_err(|e| NodeError::bad(&e))?;
    let c = node.lock()?;
    let s = c.state();
    let official = s.key_index.get(&key_id).copied();
    let principal = official.unwrap_or(key_id);
    if official.is_none() && !s.holders.contains_key(&key_id) {
        return Err(NodeError::NotFound(format!("signer {key_id}")));
    }
    let o = official.and_then(|id| s.officials.get(&id));
    Ok(Json(Signer {
        department: o.map(|o| o.department.to_string()),
        key_id,
        name: o.map(|o| o.name.clone()),
        official,
        pending_seq: c.pending_seq(&key_id),
        seq: s.seqs.get(&principal).copied().unwrap_or(0),
    }))
}

/// An official, their role grants and last seq (fields in the order always
/// sent).
#[derive(Debug, Serialize, ToSchema)]
pub struct OfficialBody {
    /// The official's role grants (department, role, scope, expiry).
    #[schema(value_type = Vec<Object>)]
    pub grants: Value,
    /// The official: id, name, department, key epochs, registration.
    #[schema(value_type = Object)]
    pub official: Value,
    /// The last committed `seq`.
    pub seq: u64,
}

#[utoipa::path(get, path = "/v1/officials/{id}", tag = "state", params(("id" = String, Path, description = "official id", pattern = "^[0-9a-f]{64}$")), responses((status = 200, description = "the official, their role grants and last seq", body = OfficialBody), (status = 400, description = "bad input", body = ErrorBody), (status = 404, description = "not found", body = ErrorBody)))]
pub(super) async fn official(
    State(node): State<NodeHandle>,
    Path(id): Path<String>,
) -> Result<Json<OfficialBody>, NodeError> {
    let id = key_id(&id)?;
    let c = node.lock()?;
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
    Ok(Json(OfficialBody {
        grants: value(&grants)?,
        official: value(o)?,
        seq: s.seqs.get(&id).copied().unwrap_or(0),
    }))
}

#[utoipa::path(get, path = "/v1/inbox/{official}", tag = "state", params(("official" = String, Path, description = "official id", pattern = "^[0-9a-f]{64}$")), responses((status = 200, description = "cases waiting for the official, soonest deadline first", body = Vec<InboxItemJson>), (status = 400, description = "bad input", body = ErrorBody)))]
pub(super) async fn inbox(
    State(node): State<NodeHandle>,
    Path(official): Path<String>,
) -> Result<Json<Value>, NodeError> {
    let id = key_id(&official)?;
    let items = node.read_head(|c| c.inbox(&id)).await?;
    to_json(&items)
}

/// A case, its status and its template (fields in the order always sent).
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseBody {
    /// The case: template, version, title, stages signed so far.
    #[schema(value_type = Object)]
    pub case: Value,
    /// Where the case stands (e.g. `in_progress`, `approved`, `expired`).
    pub status: String,
    /// The workflow template the case follows (null if unknown).
    #[schema(value_type = Option<Object>)]
    pub template: Value,
}

#[utoipa::path(get, path = "/v1/cases/{id}", tag = "state", params(("id" = String, Path, pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")), responses((status = 200, description = "the case, its status and template", body = CaseBody), (status = 400, description = "bad input", body = ErrorBody), (status = 404, description = "not found", body = ErrorBody)))]
pub(super) async fn case(
    State(node): State<NodeHandle>,
    Path(id): Path<String>,
) -> Result<Json<CaseBody>, NodeError> {
    let id = ref_id(&id)?;
    node.read_head(|c| {
        let s = c.state();
        let case = s
            .case(&id)?
            .ok_or_else(|| NodeError::NotFound(format!("case {id}")))?;
        let template = s
            .templates
            .get(&Template::key(&case.template, case.version));
        let status = views::case_status(s, &case, c.view_time());
        Ok(Json(CaseBody {
            case: value(&*case)?,
            status: status.to_owned(),
            template: value(&template)?,
        }))
    })
    .await
}

/// Every published version of a workflow template.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateVersions {
    /// The template id asked about.
    pub id: String,
    /// Its versions as the ledger holds them (`id`, `version`, `name`,
    /// `stages`, `defined_by`, `defined_at`), oldest first.
    #[schema(value_type = Vec<Object>)]
    pub versions: Vec<Value>,
}

#[utoipa::path(get, path = "/v1/templates/{id}", tag = "state", params(("id" = String, Path, pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")), responses((status = 200, description = "the template's published versions, oldest first", body = TemplateVersions), (status = 400, description = "bad input", body = ErrorBody), (status = 404, description = "not found", body = ErrorBody)))]
pub(super) async fn template(
    State(node): State<NodeHandle>,
    Path(id): Path<String>,
) -> Result<Json<TemplateVersions>, NodeError> {
    let id = ref_id(&id)?;
    let c = node.lock()?;
    let mut versions: Vec<&Template> = c
        .state()
        .templates
        .values()
        .filter(|t| t.id == id)
        .collect();
    if versions.is_empty() {
        return Err(NodeError::NotFound(format!("template {id}")));
    }
    versions.sort_by_key(|t| t.version);
    Ok(Json(TemplateVersions {
        id: id.to_string(),
        versions: versions.into_iter().map(value).collect::<Result<_, _>>()?,
    }))
}

#[utoipa::path(get, path = "/v1/projects/{id}", tag = "state", params(("id" = String, Path, pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")), responses((status = 200, description = "the project and its payments", body = ProjectJson), (status = 400, description = "bad input", body = ErrorBody), (status = 404, description = "not found", body = ErrorBody)))]
pub(super) async fn project(
    State(node): State<NodeHandle>,
    Path(id): Path<String>,
) -> Result<Json<Value>, NodeError> {
    let id = ref_id(&id)?;
    let c = node.lock()?;
    let p = c
        .state()
        .projects
        .get(&id)
        .ok_or_else(|| NodeError::NotFound(format!("project {id}")))?;
    to_json(p)
}

#[utoipa::path(get, path = "/v1/projects/{id}/trace", tag = "state", params(("id" = String, Path, pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")), responses((status = 200, description = "fund flows for a Sankey diagram", body = Vec<FlowJson>), (status = 400, description = "bad input", body = ErrorBody), (status = 404, description = "not found", body = ErrorBody)))]
pub(super) async fn fund_trace(
    State(node): State<NodeHandle>,
    Path(id): Path<String>,
) -> Result<Json<Value>, NodeError> {
    let id = ref_id(&id)?;
    let c = node.lock()?;
    let flows = views::fund_trace(c.state(), &id)
        .ok_or_else(|| NodeError::NotFound(format!("project {id}")))?;
    to_json(&flows)
}
