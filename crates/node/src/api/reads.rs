//! Signed reads (PROTOCOL.md §13): the sensitive queries — the access log,
//! certificates, the blacklist — answer only a request signed by a
//! registered official (RFC 9421, profile in `govchain_ledger::read`) who is
//! entitled to it (the rules are the ledger's, in
//! `govchain_ledger::state::entitlement`), and only after the
//! `access.record` the request carries (signed by the same official, naming
//! this query) is admitted, so that every such read is on the ledger.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::response::IntoResponse;
use axum::Json;
use base64::Engine as _;
use govchain_ledger::crypto::KeyId;
use govchain_ledger::read::{self, ReadError, ReadRequest, ACCESS_RECORD_HEADER};
use govchain_ledger::state::entitlement;
use govchain_ledger::state::kinds::{DeptId, RecordAccess};
use govchain_ledger::state::{views, EntryKey, State as LedgerState};
use govchain_ledger::state_proof::StateProofs;
use govchain_ledger::tx::Envelope;
use govchain_ledger::types::{Hash32, Timestamp};
use govchain_ledger::ErrorCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::schema::{AccessRecordJson, BlacklistEntryJson, ErrorBody};
use super::{key_id, page_size, parse_id, ref_id, value, Path, Query};
use crate::chain::TxStatus;
use crate::error::NodeError;
use crate::handle::NodeHandle;

/// Response header naming the admitted `access.record` of a signed read.
pub const ACCESS_TX_HEADER: &str = "govchain-access-tx";

/// Most access records returned by one query.
pub const MAX_ACCESS_PAGE: usize = 1000;

/// A verified signed read: who signed it and the access record it carries.
#[derive(Debug)]
pub struct SignedRead {
    pub official: KeyId,
    pub department: DeptId,
    record: Envelope,
}

fn unauthorized(e: &(impl ErrorCode + std::fmt::Display)) -> NodeError {
    NodeError::Unauthorized {
        code: e.code(),
        message: e.to_string(),
    }
}

impl FromRequestParts<NodeHandle> for SignedRead {
    type Rejection = NodeError;

    async fn from_request_parts(parts: &mut Parts, node: &NodeHandle) -> Result<Self, NodeError> {
        let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let (Some(input), Some(signature), Some(record)) = (
            header("signature-input"),
            header("signature"),
            header(ACCESS_RECORD_HEADER),
        ) else {
            return Err(unauthorized(&ReadError::Unsigned));
        };
        let (created, key_id, sig) =
            read::parse_headers(input, signature).map_err(|e| unauthorized(&e))?;
        let request = ReadRequest {
            method: parts.method.as_str().to_owned(),
            authority: header("host").unwrap_or_default().to_ascii_lowercase(),
            path: parts.uri.path().to_owned(),
            query: format!("?{}", parts.uri.query().unwrap_or_default()),
            access_record: record.to_owned(),
            created,
            key_id,
        };
        let (official, key, department, chain, now) = {
            let c = node.lock()?;
            let s = c.state();
            let (official, key) = s
                .signer(&key_id, c.height() + 1)
                .map_err(|r| unauthorized(&r))?;
            let department = s
                .officials
                .get(&official)
                .map(|o| o.department.clone())
                .ok_or_else(|| unauthorized(&govchain_ledger::state::Rejection::UnknownSigner))?;
            (official, key, department, c.chain_id().clone(), c.now())
        };
        request
            .verify(&key, &sig, &chain, now.unix_millis() / 1000)
            .map_err(|e| unauthorized(&e))?;
        let bad = |m: String| NodeError::BadRequest {
            code: "read.bad_access_record",
            message: m,
        };
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(record)
            .map_err(|_| {
                bad(format!(
                    "{ACCESS_RECORD_HEADER} must be base64url (no padding)"
                ))
            })?;
        let env = Envelope::from_json(&bytes).map_err(|e| bad(e.to_string()))?;
        if env.body.kind != "access.record" || env.body.signer != key_id {
            return Err(bad(
                "the access record must be an access.record signed with the request's key".into(),
            ));
        }
        Ok(SignedRead {
            official,
            department,
            record: env,
        })
    }
}

impl SignedRead {
    /// Checks that the access record names exactly this query (`dataset`,
    /// and `subject` when given), that `allowed` holds for the signer, then
    /// admits the record. Returns its transaction id.
    pub async fn record(
        self,
        node: &NodeHandle,
        dataset: &str,
        subject: Option<Hash32>,
        allowed: impl FnOnce(&LedgerState, &KeyId, &DeptId, Timestamp) -> bool,
    ) -> Result<Hash32, NodeError> {
        let payload: RecordAccess = serde_json::from_value(self.record.body.payload.clone())
            .map_err(|e| NodeError::BadRequest {
                code: "read.bad_access_record",
                message: e.to_string(),
            })?;
        let names_this_read = payload.entries.len() == 1
            && payload.entries.iter().all(|e| {
                e.dataset == dataset
                    && e.operation.as_str() == "read"
                    && subject.is_none_or(|s| e.subject == Some(s))
            });
        if !names_this_read {
            return Err(NodeError::BadRequest {
                code: "read.bad_access_record",
                message: format!(
                    "the access record must have one read entry of dataset {dataset:?}{}",
                    subject
                        .map(|s| format!(" and subject {s}"))
                        .unwrap_or_default()
                ),
            });
        }
        {
            let c = node.lock()?;
            if !allowed(c.state(), &self.official, &self.department, c.view_time()) {
                return Err(NodeError::Forbidden(format!(
                    "official {} of {} may not read {dataset}",
                    self.official, self.department
                )));
            }
        }
        let id = self.record.id().map_err(|e| NodeError::bad(&e))?;
        let (_, status) = node.admit_one(self.record).await?;
        match status {
            TxStatus::Rejected { code, message } => Err(NodeError::BadRequest { code, message }),
            _ => Ok(id),
        }
    }
}

/// A sensitive query's answer, naming the access record that logged it.
fn recorded(tx: Hash32, body: impl Serialize) -> impl IntoResponse {
    ([(ACCESS_TX_HEADER, tx.to_hex())], Json(body))
}

/// A certificate and the consents given for it (fields in the order always
/// sent).
#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateBody {
    /// The certificate: type, commitment, subject, holder key, issuer,
    /// department, validity and recorded verifications.
    #[schema(value_type = Object)]
    pub certificate: Value,
    /// Every consent its holder gave (grantee, until, purpose, revocation).
    #[schema(value_type = Vec<Object>)]
    pub consents: Value,
    /// The certificate's and the consents' state entries, proven against
    /// the head block's state root (PROTOCOL.md §12.7): what another city's
    /// centre checks without syncing the chain.
    #[schema(value_type = super::schema::StateProofsJson)]
    pub proofs: StateProofs,
}

#[utoipa::path(get, path = "/v1/certificates/{id}", tag = "state", params(("Signature-Input" = String, Header, description = "RFC 9421 signature input (PROTOCOL.md §13)"), ("Signature" = String, Header, description = "RFC 9421 signature"), ("govchain-access-record" = String, Header, description = "base64url of the access.record envelope that logs this read"), ("id" = String, Path, pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")), responses((status = 401, description = "unsigned, stale or badly signed request (read.*, auth.*)", body = ErrorBody), (status = 403, description = "the official may not read this (read.forbidden)", body = ErrorBody), (status = 200, description = "the certificate, its verifications and consents", body = CertificateBody), (status = 400, description = "bad input", body = ErrorBody), (status = 404, description = "not found", body = ErrorBody)))]
pub(super) async fn certificate(
    State(node): State<NodeHandle>,
    read: SignedRead,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, NodeError> {
    let id = ref_id(&id)?;
    let dataset = format!("govchain/certificates/{id}");
    let tx = read
        .record(&node, &dataset, None, |s, _, dept, now| {
            entitlement::may_read_certificate(s, &id, dept, now)
        })
        .await?;
    // The answer and its proofs come from one snapshot of the state.
    let snap = super::state_proofs::Snapshot::take(&node)?;
    let s = &snap.state;
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
    let mut keys = vec![EntryKey::Certificate(id.clone())];
    keys.extend(consents.iter().map(|x| EntryKey::Consent(x.id.clone())));
    let body = CertificateBody {
        certificate: value(cert)?,
        consents: value(&consents)?,
        proofs: snap.prove(&keys)?,
    };
    Ok(recorded(tx, body))
}

#[utoipa::path(get, path = "/v1/blacklist/{subject}", tag = "state", params(("Signature-Input" = String, Header, description = "RFC 9421 signature input (PROTOCOL.md §13)"), ("Signature" = String, Header, description = "RFC 9421 signature"), ("govchain-access-record" = String, Header, description = "base64url of the access.record envelope that logs this read"), ("subject" = String, Path, description = "salted identity hash (64 hex)", pattern = "^[0-9a-f]{64}$")), responses((status = 401, description = "unsigned, stale or badly signed request (read.*, auth.*)", body = ErrorBody), (status = 403, description = "the official may not read this (read.forbidden)", body = ErrorBody), (status = 200, description = "active entries from every department", body = Vec<BlacklistEntryJson>), (status = 400, description = "bad input", body = ErrorBody)))]
pub(super) async fn blacklist(
    State(node): State<NodeHandle>,
    read: SignedRead,
    Path(subject): Path<String>,
) -> Result<impl IntoResponse, NodeError> {
    let subject = parse_id(&subject)?;
    let tx = read
        .record(
            &node,
            "govchain/blacklist",
            Some(subject),
            entitlement::may_read_blacklist,
        )
        .await?;
    let c = node.lock()?;
    let found = views::blacklist_lookup(c.state(), &subject);
    Ok(recorded(tx, value(&found)?))
}

#[derive(Debug, Deserialize)]
pub(super) struct AccessParams {
    official: Option<String>,
    department: Option<String>,
    dataset: Option<String>,
    from: Option<String>,
    until: Option<String>,
    limit: Option<usize>,
}

#[utoipa::path(get, path = "/v1/access", tag = "state", params(("Signature-Input" = String, Header, description = "RFC 9421 signature input (PROTOCOL.md §13)"), ("Signature" = String, Header, description = "RFC 9421 signature"), ("govchain-access-record" = String, Header, description = "base64url of the access.record envelope that logs this read"), ("official" = Option<String>, Query, pattern = "^[0-9a-f]{64}$"), ("department" = Option<String>, Query, pattern = "^[a-z0-9][a-z0-9_-]{0,63}$"), ("dataset" = Option<String>, Query), ("from" = Option<String>, Query, description = "time (PROTOCOL.md §2.3)", pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$"), ("until" = Option<String>, Query, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$"), ("limit" = Option<usize>, Query, description = "at most 1000", minimum = 1, maximum = 1000)), responses((status = 401, description = "unsigned, stale or badly signed request (read.*, auth.*)", body = ErrorBody), (status = 403, description = "the official may not read this (read.forbidden)", body = ErrorBody), (status = 200, description = "matching access records, newest first", body = Vec<AccessRecordJson>), (status = 400, description = "bad input", body = ErrorBody)))]
pub(super) async fn access_log(
    State(node): State<NodeHandle>,
    read: SignedRead,
    Query(p): Query<AccessParams>,
) -> Result<impl IntoResponse, NodeError> {
    let tx = read
        .record(
            &node,
            "govchain/access-log",
            None,
            entitlement::may_read_access_log,
        )
        .await?;
    let time = |s: Option<String>| -> Result<Option<Timestamp>, NodeError> {
        s.map(|t| t.parse::<Timestamp>().map_err(|e| NodeError::bad(&e)))
            .transpose()
    };
    let department = p
        .department
        .map(|d| {
            DeptId::try_from(d).map_err(|e| NodeError::BadRequest {
                code: "node.bad_id",
                message: e.to_string(),
            })
        })
        .transpose()?;
    let q = views::AccessQuery {
        official: p.official.as_deref().map(key_id).transpose()?,
        department,
        dataset: p.dataset,
        from: time(p.from)?,
        until: time(p.until)?,
        limit: page_size(p.limit, MAX_ACCESS_PAGE, MAX_ACCESS_PAGE)?,
    };
    let c = node.lock()?;
    let rows = views::access_log(c.state(), &q);
    Ok(recorded(tx, value(&rows)?))
}
