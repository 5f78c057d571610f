//! Signed reads (PROTOCOL.md §13): the sensitive queries — the access log,
//! certificates, the blacklist — answer only a request signed by a
//! registered official (RFC 9421, profile in `govchain_ledger::read`) who is
//! entitled to it, and only after the `access.record` the request carries
//! (signed by the same official, naming this query) is admitted, so that
//! every such read is on the ledger.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine as _;
use govchain_ledger::crypto::KeyId;
use govchain_ledger::read::{self, ReadError, ReadRequest, ACCESS_RECORD_HEADER};
use govchain_ledger::state::kinds::{DeptId, RecordAccess};
use govchain_ledger::state::State;
use govchain_ledger::tx::Envelope;
use govchain_ledger::types::{Hash32, Timestamp};
use govchain_ledger::ErrorCode;

use crate::api::Shared;
use crate::error::NodeError;

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

impl FromRequestParts<Shared> for SignedRead {
    type Rejection = NodeError;

    async fn from_request_parts(parts: &mut Parts, core: &Shared) -> Result<Self, NodeError> {
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
            let c = core
                .lock()
                .map_err(|_| NodeError::Storage("node state lock poisoned".into()))?;
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
        core: &Shared,
        dataset: &str,
        subject: Option<Hash32>,
        allowed: impl FnOnce(&State, &KeyId, &DeptId, Timestamp) -> bool,
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
            let c = core
                .lock()
                .map_err(|_| NodeError::Storage("node state lock poisoned".into()))?;
            if !allowed(c.state(), &self.official, &self.department, c.view_time()) {
                return Err(NodeError::Forbidden(format!(
                    "official {} of {} may not read {dataset}",
                    self.official, self.department
                )));
            }
        }
        let id = self.record.id().map_err(|e| NodeError::bad(&e))?;
        let (_, status) = crate::api::admit(core, vec![self.record])
            .await?
            .pop()
            .ok_or_else(|| NodeError::Storage("no admission result".into()))??;
        match status {
            crate::chain::TxStatus::Rejected { code, message } => {
                Err(NodeError::BadRequest { code, message })
            }
            _ => Ok(id),
        }
    }
}

/// Whether `official` may read the access log: an `auditor` in any
/// department, or an admin of their own.
pub fn may_read_access_log(s: &State, official: &KeyId, dept: &DeptId, now: Timestamp) -> bool {
    s.is_admin(official, dept, now)
        || s.grants_by_official.get(official).is_some_and(|ids| {
            ids.iter()
                .filter_map(|id| s.grants.get(id))
                .any(|g| g.role.as_str() == "auditor" && g.expires_at.is_none_or(|t| t > now))
        })
}
