//! Transaction kinds and their payloads: the typed form of `body.kind` +
//! `body.payload`. Parsing is strict (unknown members are errors) so that a
//! payload has one meaning everywhere.

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use super::ids::{DeptId, InvalidId, RefId, Role, Scope};
use super::rejection::Rejection;
use crate::crypto::{KeyId, PublicKey};
use crate::types::{Fen, Hash32, Timestamp};

/// A person's display name or free text, bounded.
fn text_ok(s: &str, max: usize) -> bool {
    s.chars().count() <= max && !s.chars().any(char::is_control)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSpec {
    pub name: String,
    pub public_key: PublicKey,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepartmentSpec {
    pub id: DeptId,
    pub name: String,
    /// Parent department, for hierarchical administration (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<DeptId>,
    /// The department node's key (signs blocks and checkpoints).
    pub node_key: PublicKey,
    pub admins: Vec<AdminSpec>,
    /// How many distinct admins must sign an admin action of this department.
    pub admin_threshold: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    /// Checkpoint origin line of this chain.
    pub origin: String,
    /// Distinct departments whose admins must sign a `department.add`.
    pub consortium_threshold: u32,
    pub departments: Vec<DepartmentSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterOfficial {
    pub department: DeptId,
    pub name: String,
    pub public_key: PublicKey,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetireNode {
    pub department: DeptId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeOfficial {
    pub official: KeyId,
    /// Why, for the record (at most 500 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateKey {
    pub new_public_key: PublicKey,
    /// First block height at which the new key signs (the old key signs below it).
    pub effective_height: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantRole {
    pub official: KeyId,
    pub department: DeptId,
    pub role: Role,
    pub scope: Scope,
    /// The role counts from this time on (a grant made in advance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeRole {
    pub grant: Hash32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnReject {
    /// A rejection ends the case.
    End,
    /// A rejection sends the case back to the stage `return_to` for rework.
    Return,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSpec {
    pub name: String,
    pub department: DeptId,
    pub role: Role,
    /// Approvals needed (k of the officials holding the role).
    pub threshold: u32,
    /// Consecutive stages with the same group may be signed in any order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Seconds of ledger time the stage may stay open once reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_secs: Option<u64>,
    pub on_reject: OnReject,
    /// For `on_reject: "return"`: the stage index to return to (≤ this stage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_to: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefineWorkflow {
    pub id: RefId,
    pub version: u32,
    pub name: String,
    pub stages: Vec<StageSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenCase {
    pub case_id: RefId,
    pub template: RefId,
    pub version: u32,
    pub scope: Scope,
    pub title: String,
    /// SHA-256 of the application documents (kept off-chain).
    pub documents: Vec<Hash32>,
    /// The applicant's identity hash under the consortium identity key
    /// ([`crate::identity`], PROTOCOL.md §12.9), if the case has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applicant: Option<Hash32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Reject,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignStep {
    pub case_id: RefId,
    pub stage: usize,
    pub decision: Decision,
    pub comment: String,
    pub attachments: Vec<Hash32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WithdrawCase {
    pub case_id: RefId,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    Developer,
    Contractor,
    Supervisor,
    Operator,
}

impl Party {
    pub fn as_str(self) -> &'static str {
        match self {
            Party::Developer => "developer",
            Party::Contractor => "contractor",
            Party::Supervisor => "supervisor",
            Party::Operator => "operator",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parties {
    pub developer: KeyId,
    pub contractor: KeyId,
    pub supervisor: KeyId,
    pub operator: KeyId,
}

impl Parties {
    pub fn get(&self, p: Party) -> KeyId {
        match p {
            Party::Developer => self.developer,
            Party::Contractor => self.contractor,
            Party::Supervisor => self.supervisor,
            Party::Operator => self.operator,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateProject {
    pub project_id: RefId,
    pub name: String,
    pub budget: Fen,
    pub parties: Parties,
    /// Who approves a confirmed payment, in order (developer and/or operator).
    pub approvers: Vec<Party>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayrollLine {
    /// The worker's identity hash under the project's payroll key
    /// ([`crate::identity`], PROTOCOL.md §12.9): no personal data on chain.
    pub worker: Hash32,
    pub amount: Fen,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestPayment {
    pub project_id: RefId,
    pub payment_id: RefId,
    pub amount: Fen,
    pub purpose: String,
    pub milestone: String,
    pub invoices: Vec<Hash32>,
    /// Wages paid straight to workers ("penetrating payment"), inline. Empty
    /// when the payroll is committed to instead (the three fields below).
    pub payroll: Vec<PayrollLine>,
    /// A large payroll: the RFC 6962 root over its lines
    /// ([`crate::state::funds::payroll_leaf_hash`]); the lines follow in
    /// `payment.payroll_chunk` transactions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payroll_root: Option<Hash32>,
    /// The committed payroll's total (fen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payroll_total: Option<Fen>,
    /// The committed payroll's number of lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payroll_lines: Option<u64>,
}

/// The next lines of a committed payroll, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayrollChunk {
    pub project_id: RefId,
    pub payment_id: RefId,
    /// How many lines were received before this chunk.
    pub offset: u64,
    pub lines: Vec<PayrollLine>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Accept,
    Refuse,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewPayment {
    pub project_id: RefId,
    pub payment_id: RefId,
    pub verdict: Verdict,
    pub comment: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecutePayment {
    pub project_id: RefId,
    pub payment_id: RefId,
    /// The bank's transfer reference.
    pub transfer_ref: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueCertificate {
    pub cert_id: RefId,
    /// What it certifies, e.g. `housing-fund-deposit`.
    pub cert_type: Role,
    /// `SHA-256(salt || document)`: the document stays off-chain.
    pub commitment: Hash32,
    /// The citizen's identity hash under the consortium identity key
    /// ([`crate::identity`], PROTOCOL.md §12.9).
    pub subject: Hash32,
    /// The citizen's own key: only it can grant consent.
    pub holder_key: PublicKey,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantConsent {
    pub consent_id: RefId,
    pub cert_id: RefId,
    /// The department allowed to verify the certificate.
    pub grantee: DeptId,
    pub until: Timestamp,
    pub purpose: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeConsent {
    pub consent_id: RefId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyCertificate {
    pub cert_id: RefId,
    pub consent_id: RefId,
    /// The commitment the verifier computed from the document and salt the
    /// citizen presented.
    pub commitment: Hash32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlacklistAdd {
    /// Identity hash under the consortium identity key (PROTOCOL.md §12.9;
    /// the key is off-chain).
    pub subject: Hash32,
    /// A reason code, e.g. `loan-default`.
    pub reason: Role,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlacklistRemove {
    pub subject: Hash32,
    pub reason: Role,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessEntry {
    /// The sensitive dataset, e.g. `housing-fund/accounts`.
    pub dataset: String,
    /// `read`, `export`, `update`, `delete` …
    pub operation: Role,
    /// Identity hash (PROTOCOL.md §12.9) of the person whose data was
    /// accessed, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Hash32>,
    pub purpose: String,
    /// When the access happened (the official's system clock).
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordAccess {
    pub entries: Vec<AccessEntry>,
}

/// A parsed transaction: what the state machine applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Genesis(Genesis),
    AddDepartment(DepartmentSpec),
    RetireNode(RetireNode),
    RegisterOfficial(RegisterOfficial),
    RevokeOfficial(RevokeOfficial),
    RotateKey(RotateKey),
    GrantRole(GrantRole),
    RevokeRole(RevokeRole),
    DefineWorkflow(DefineWorkflow),
    OpenCase(OpenCase),
    SignStep(SignStep),
    WithdrawCase(WithdrawCase),
    CreateProject(CreateProject),
    RequestPayment(RequestPayment),
    PayrollChunk(PayrollChunk),
    ConfirmPayment(ReviewPayment),
    ApprovePayment(ReviewPayment),
    ExecutePayment(ExecutePayment),
    IssueCertificate(IssueCertificate),
    GrantConsent(GrantConsent),
    RevokeConsent(RevokeConsent),
    VerifyCertificate(VerifyCertificate),
    BlacklistAdd(BlacklistAdd),
    BlacklistRemove(BlacklistRemove),
    RecordAccess(RecordAccess),
}

/// Every kind this version of the ledger knows, in PROTOCOL.md §12 order.
pub const KINDS: &[&str] = &[
    "consortium.genesis",
    "department.add",
    "department.retire_node",
    "official.register",
    "official.revoke",
    "key.rotate",
    "role.grant",
    "role.revoke",
    "workflow.define",
    "case.open",
    "case.sign_step",
    "case.withdraw",
    "project.create",
    "payment.request",
    "payment.payroll_chunk",
    "payment.confirm",
    "payment.approve",
    "payment.execute",
    "certificate.issue",
    "consent.grant",
    "consent.revoke",
    "certificate.verify",
    "blacklist.add",
    "blacklist.remove",
    "access.record",
];

fn payload<T: serde::de::DeserializeOwned>(kind: &str, v: &Value) -> Result<T, Rejection> {
    serde_json::from_value(v.clone()).map_err(|e| Rejection::BadPayload {
        kind: kind.to_owned(),
        detail: e.to_string(),
    })
}

fn check_text(kind: &str, field: &str, s: &str, max: usize) -> Result<(), Rejection> {
    if text_ok(s, max) {
        Ok(())
    } else {
        Err(Rejection::BadPayload {
            kind: kind.to_owned(),
            detail: format!("{field} must be at most {max} characters without control characters"),
        })
    }
}

impl Action {
    /// Parses `kind` + `payload` strictly.
    pub fn parse(kind: &str, v: &Value) -> Result<Self, Rejection> {
        let a = match kind {
            "consortium.genesis" => Action::Genesis(payload(kind, v)?),
            "department.add" => Action::AddDepartment(payload(kind, v)?),
            "department.retire_node" => Action::RetireNode(payload(kind, v)?),
            "official.register" => Action::RegisterOfficial(payload(kind, v)?),
            "official.revoke" => Action::RevokeOfficial(payload(kind, v)?),
            "key.rotate" => Action::RotateKey(payload(kind, v)?),
            "role.grant" => Action::GrantRole(payload(kind, v)?),
            "role.revoke" => Action::RevokeRole(payload(kind, v)?),
            "workflow.define" => Action::DefineWorkflow(payload(kind, v)?),
            "case.open" => Action::OpenCase(payload(kind, v)?),
            "case.sign_step" => Action::SignStep(payload(kind, v)?),
            "case.withdraw" => Action::WithdrawCase(payload(kind, v)?),
            "project.create" => Action::CreateProject(payload(kind, v)?),
            "payment.request" => Action::RequestPayment(payload(kind, v)?),
            "payment.payroll_chunk" => Action::PayrollChunk(payload(kind, v)?),
            "payment.confirm" => Action::ConfirmPayment(payload(kind, v)?),
            "payment.approve" => Action::ApprovePayment(payload(kind, v)?),
            "payment.execute" => Action::ExecutePayment(payload(kind, v)?),
            "certificate.issue" => Action::IssueCertificate(payload(kind, v)?),
            "consent.grant" => Action::GrantConsent(payload(kind, v)?),
            "consent.revoke" => Action::RevokeConsent(payload(kind, v)?),
            "certificate.verify" => Action::VerifyCertificate(payload(kind, v)?),
            "blacklist.add" => Action::BlacklistAdd(payload(kind, v)?),
            "blacklist.remove" => Action::BlacklistRemove(payload(kind, v)?),
            "access.record" => Action::RecordAccess(payload(kind, v)?),
            other => return Err(Rejection::UnknownKind(other.to_owned())),
        };
        a.check_texts(kind)?;
        Ok(a)
    }

    fn check_texts(&self, kind: &str) -> Result<(), Rejection> {
        match self {
            Action::Genesis(g) => {
                check_text(kind, "origin", &g.origin, 128)?;
                for d in &g.departments {
                    check_text(kind, "department name", &d.name, 64)?;
                    for a in &d.admins {
                        check_text(kind, "admin name", &a.name, 64)?;
                    }
                }
            }
            Action::AddDepartment(d) => check_text(kind, "name", &d.name, 64)?,
            Action::RegisterOfficial(r) => check_text(kind, "name", &r.name, 64)?,
            Action::DefineWorkflow(w) => {
                check_text(kind, "name", &w.name, 128)?;
                for s in &w.stages {
                    check_text(kind, "stage name", &s.name, 64)?;
                }
            }
            Action::OpenCase(c) => check_text(kind, "title", &c.title, 200)?,
            Action::SignStep(s) => check_text(kind, "comment", &s.comment, 2000)?,
            Action::WithdrawCase(w) => check_text(kind, "reason", &w.reason, 2000)?,
            Action::CreateProject(p) => check_text(kind, "name", &p.name, 128)?,
            Action::RequestPayment(p) => {
                check_text(kind, "purpose", &p.purpose, 500)?;
                check_text(kind, "milestone", &p.milestone, 128)?;
            }
            Action::ConfirmPayment(r) | Action::ApprovePayment(r) => {
                check_text(kind, "comment", &r.comment, 2000)?;
            }
            Action::ExecutePayment(e) => check_text(kind, "transfer_ref", &e.transfer_ref, 128)?,
            Action::GrantConsent(c) => check_text(kind, "purpose", &c.purpose, 500)?,
            Action::RecordAccess(r) => {
                for e in &r.entries {
                    check_text(kind, "dataset", &e.dataset, 128)?;
                    check_text(kind, "purpose", &e.purpose, 500)?;
                }
            }
            Action::RevokeOfficial(r) => {
                if let Some(reason) = &r.reason {
                    check_text(kind, "reason", reason, 500)?;
                }
            }
            Action::IssueCertificate(_)
            | Action::PayrollChunk(_)
            | Action::RevokeConsent(_)
            | Action::VerifyCertificate(_)
            | Action::BlacklistAdd(_)
            | Action::BlacklistRemove(_)
            | Action::RetireNode(_)
            | Action::RotateKey(_)
            | Action::GrantRole(_)
            | Action::RevokeRole(_) => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_kinds_and_members_are_rejected() {
        assert_eq!(
            Action::parse("case.fly", &serde_json::json!({}))
                .unwrap_err()
                .code(),
            "tx.unknown_kind"
        );
        let err = Action::parse(
            "case.withdraw",
            &serde_json::json!({"case_id": "c1", "reason": "x", "extra": 1}),
        )
        .unwrap_err();
        assert_eq!(err.code(), "tx.bad_payload");
    }

    use crate::ErrorCode;
}
