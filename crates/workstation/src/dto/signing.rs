//! What the official asks to sign, the preview shown before signing, and the outbox of signed transactions.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::closed::closed_set;
use crate::dto::Party;
use crate::error::{ErrorBody, WsError};

/// What the official asks to sign; the workstation builds the transaction.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SignRequest {
    /// `case.sign_step`: approve or reject a stage (a comment is required to
    /// reject).
    SignStep {
        case_id: String,
        stage: u32,
        decision: StepDecision,
        comment: String,
        /// SHA-256 hex of attached documents.
        attachments: Vec<String>,
    },
    /// `case.withdraw`.
    WithdrawCase { case_id: String, reason: String },
    /// `payment.confirm` (supervisor) or `payment.approve` (approvers).
    ReviewPayment {
        step: ReviewStep,
        project_id: String,
        payment_id: String,
        verdict: Verdict,
        comment: String,
    },
    /// `access.record`: this official accessed sensitive data.
    RecordAccess {
        /// e.g. `housing-fund/accounts`.
        dataset: String,
        /// `read`, `export`, `update`, `delete`.
        operation: String,
        /// Salted SHA-256 hex of the person concerned, if any.
        subject: Option<String>,
        purpose: String,
    },
    /// `payment.execute` (operator).
    ExecutePayment {
        project_id: String,
        payment_id: String,
        transfer_ref: String,
    },
    /// `case.open` (窗口受理): a case from a published template version.
    OpenCase {
        /// Empty: the workstation makes one (`C-<date>-<8 hex>`).
        case_id: String,
        template: String,
        version: u32,
        scope: String,
        title: String,
        /// The applicant, hashed with the consortium identity key before
        /// anything is built (the number itself goes nowhere).
        applicant: Option<PersonRef>,
        /// SHA-256 hex of files in the local document store
        /// (`document_begin` … `document_finish`); the files never leave this
        /// computer.
        documents: Vec<String>,
    },
    /// `blacklist.add` (role `blacklist-officer`).
    BlacklistAdd {
        subject: PersonRef,
        /// Reason code, e.g. `loan-default`.
        reason: String,
    },
    /// `blacklist.remove`: the same department's entry.
    BlacklistRemove { subject: PersonRef, reason: String },
    /// `project.create`, signed by the project's developer.
    CreateProject {
        project_id: String,
        name: String,
        budget_fen: u64,
        /// Official ids (64 hex) of the four parties.
        developer: String,
        contractor: String,
        supervisor: String,
        operator: String,
        /// Who approves a confirmed payment, in order.
        approvers: Vec<Party>,
    },
    /// `payment.request` by the contractor, with the payroll imported by
    /// `import_payroll` (inline when small, else committed to by its root
    /// and delivered in `payment.payroll_chunk` transactions signed with it).
    RequestPayment {
        project_id: String,
        /// Empty: the workstation makes one (`P-<date>-<4 hex>`).
        payment_id: String,
        amount_fen: u64,
        purpose: String,
        milestone: String,
        /// SHA-256 hex of invoices in the local document store.
        invoices: Vec<String>,
        /// The `import_id` of an imported payroll, if wages are paid
        /// straight to workers.
        payroll: Option<String>,
    },
    /// `certificate.issue` (role `certificate-issuer`): a certificate of the
    /// stored `document` for the citizen holding `holder_key`. The
    /// workstation draws the salt, commits to `SHA-256(salt ‖ document)` and
    /// keeps the salt to print the citizen's certificate.
    IssueCertificate {
        /// Empty: the workstation makes one (`CERT-<date>-<8 hex>`).
        cert_id: String,
        /// e.g. `housing-fund-deposit`.
        cert_type: String,
        subject: PersonRef,
        /// The citizen's public key (64 hex), from their signer.
        holder_key: String,
        /// SHA-256 hex of the certified document in the local store.
        document: String,
        /// RFC 3339; none: no expiry.
        expires_at: Option<String>,
    },
    /// `certificate.verify`: the document the citizen presents, with the
    /// salt from their certificate (its 64 hex, or the text of its QR
    /// code), checked against the commitment on the ledger under a consent
    /// granted to this department.
    VerifyCertificate {
        cert_id: String,
        consent_id: String,
        /// SHA-256 hex of the presented document in the local store.
        document: String,
        salt: String,
    },
    /// `official.register` (department admin): the person of a checked
    /// registration request.
    RegisterOfficial {
        department: String,
        name: String,
        /// 64 hex.
        public_key: String,
    },
    /// `official.revoke` (department admin).
    RevokeOfficial {
        /// Official id (64 hex).
        official: String,
        /// Why, for the record.
        reason: String,
    },
    /// `role.grant` (department admin).
    GrantRole {
        official: String,
        department: String,
        role: String,
        /// `*` or a scope path (`hz/xihu`).
        scope: String,
        /// RFC 3339, the chain's time from which the role counts; none: at once.
        valid_from: Option<String>,
        /// RFC 3339; none: no expiry.
        expires_at: Option<String>,
    },
    /// `role.revoke` (department admin).
    RevokeRole {
        /// The grant's id (64 hex).
        grant: String,
    },
    /// `workflow.define` (admin of the template's department): a version
    /// from the designer or a BPMN import.
    DefineWorkflow { template: super::WorkflowDraft },
    /// `department.add`: proposes (or co-signs) a new consortium member, a
    /// consortium action needing admins of `consortium_threshold` departments.
    AddDepartment {
        id: String,
        name: String,
        parent: Option<String>,
        /// The new department's node key (64 hex).
        node_key: String,
        admin_threshold: u32,
        admins: Vec<super::DepartmentAdmin>,
    },
    /// Co-signs a pending admin action: the same kind and payload as the
    /// proposal with `digest`, signed by this admin.
    CoSign {
        /// The action digest (64 hex).
        digest: String,
    },
}

/// A citizen named in a request: the identity number as the clerk typed it
/// (hashed here with the chain's consortium identity key from the OS
/// keychain, PROTOCOL.md §12.9; the number is never stored, logged or
/// sent), or an identity hash already known (e.g. of a listed entry).
#[derive(Clone, PartialEq, Eq, Deserialize, TS)]
#[serde(tag = "form", rename_all = "snake_case")]
pub enum PersonRef {
    Number {
        /// `cn-rid` (resident ID) or `passport` (`<ICAO state>:<number>`).
        doc_type: String,
        number: String,
    },
    /// 64 hex.
    Hash { hash: String },
}

impl std::fmt::Debug for PersonRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Number { doc_type, .. } => write!(f, "PersonRef::Number({doc_type}, <hidden>)"),
            Self::Hash { hash } => write!(f, "PersonRef::Hash({hash})"),
        }
    }
}

impl Drop for PersonRef {
    fn drop(&mut self) {
        if let Self::Number { number, .. } = self {
            zeroize::Zeroize::zeroize(number);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum StepDecision {
    Approve,
    Reject,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStep {
    Confirm,
    Approve,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Accept,
    Refuse,
}

/// "What you see is what you sign": the exact canonical JSON of the
/// transaction body and its SHA-256, shown before the official confirms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct SignPreview {
    pub preview_id: String,
    pub kind: TxKind,
    /// RFC 8785 canonical JSON of the body: the bytes that are signed (after
    /// the domain tag, PROTOCOL.md §5.3).
    pub canonical_json: String,
    /// SHA-256 of `canonical_json`, hex.
    pub sha256: String,
    /// The transaction id it will have (SHA-256 of the signed message).
    pub tx_id: String,
    pub signer_fingerprint: String,
    pub seq: u64,
    /// The ledger's answer on the cached state, if it would refuse.
    pub would_reject: Option<ErrorBody>,
    /// Transactions signed with this one (the `payment.payroll_chunk`s of
    /// a committed payroll), each with the next sequence number.
    pub follow_ups: u32,
    /// For a `certificate.verify`: whether the presented document and salt
    /// match the certificate's commitment on the verified chain (a
    /// mismatch is recorded on the ledger for good, not refused).
    pub commitment_matches: Option<bool>,
    /// The signer's key is on a hardware token: which, and whether the
    /// dialog must ask for its PIN.
    pub token: Option<super::TokenSigning>,
}

/// One signed transaction in the durable outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct OutboxItem {
    pub id: String,
    pub kind: TxKind,
    pub seq: u64,
    pub status: OutboxStatus,
    pub code: Option<String>,
    pub message: Option<String>,
    /// Height of the verified block that holds it.
    pub height: Option<u64>,
    pub attempts: u32,
    pub created_at: String,
}

closed_set! {
    /// Where a signed transaction in the outbox stands.
    pub enum OutboxStatus {
        /// Signed, not yet accepted by a node.
        Queued = "queued",
        /// Accepted by a node, in no verified block yet.
        Submitted = "submitted",
        /// In a block this workstation verified (final).
        Committed = "committed",
        /// Refused by the node (`code`, `message`).
        Rejected = "rejected",
    }
}

closed_set! {
    /// A transaction kind: every kind this version of the ledger knows
    /// (`govchain_ledger::state::kinds::KINDS`, PROTOCOL.md §12 order).
    pub enum TxKind {
        ConsortiumGenesis = "consortium.genesis",
        DepartmentAdd = "department.add",
        DepartmentRetireNode = "department.retire_node",
        OfficialRegister = "official.register",
        OfficialRevoke = "official.revoke",
        KeyRotate = "key.rotate",
        RoleGrant = "role.grant",
        RoleRevoke = "role.revoke",
        WorkflowDefine = "workflow.define",
        CaseOpen = "case.open",
        CaseSignStep = "case.sign_step",
        CaseWithdraw = "case.withdraw",
        ProjectCreate = "project.create",
        PaymentRequest = "payment.request",
        PaymentPayrollChunk = "payment.payroll_chunk",
        PaymentConfirm = "payment.confirm",
        PaymentApprove = "payment.approve",
        PaymentExecute = "payment.execute",
        CertificateIssue = "certificate.issue",
        ConsentGrant = "consent.grant",
        ConsentRevoke = "consent.revoke",
        CertificateVerify = "certificate.verify",
        BlacklistAdd = "blacklist.add",
        BlacklistRemove = "blacklist.remove",
        AccessRecord = "access.record",
    }
}

impl TxKind {
    /// The kind named `kind`; an unknown one is a request the ledger would
    /// refuse (`tx.unknown_kind`).
    pub fn of(kind: &str) -> Result<Self, WsError> {
        Self::parse(kind).ok_or_else(|| {
            WsError::WouldReject(govchain_ledger::state::Rejection::UnknownKind(
                kind.to_owned(),
            ))
        })
    }
}
