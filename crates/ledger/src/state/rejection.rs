//! Why the ledger refused a transaction: one enum, a stable code per case and
//! a message that tells the official what to do about it.

use crate::types::Fen;
use crate::ErrorCode;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    // --- the envelope ---
    #[error("this transaction belongs to chain {found}, not {expected}")]
    WrongChain { expected: String, found: String },
    #[error("sequence number {seq} was already used (last committed: {last}); sign again with a higher number")]
    Replayed { seq: u64, last: u64 },
    #[error("unknown transaction kind {0:?}; update the workstation")]
    UnknownKind(String),
    #[error("the {kind} payload is malformed: {detail}")]
    BadPayload { kind: String, detail: String },
    #[error("the signature does not verify for the signer's key")]
    BadSignature,

    // --- who signs ---
    #[error(
        "the signing key is not registered on this chain; ask your department admin to register it"
    )]
    UnknownSigner,
    #[error("the signing key was revoked at height {0}; use your current key or ask an admin")]
    KeyRevoked(u64),
    #[error("the signing key was replaced at height {0}; sign with your new key")]
    KeyRotated(u64),
    #[error("the signer is not an admin of department {0}")]
    NotAdmin(String),
    #[error("the signer lacks role {role} in department {department} for scope {scope}; ask an admin to grant it")]
    RoleMissing {
        role: String,
        department: String,
        scope: String,
    },

    // --- consortium and identity ---
    #[error("the chain already has a genesis")]
    GenesisExists,
    #[error("the chain has no genesis yet; the first transaction must be consortium.genesis")]
    NoGenesis,
    #[error("department {0} already exists")]
    DepartmentExists(String),
    #[error("unknown department {0}")]
    UnknownDepartment(String),
    #[error("department {0} runs no node any more")]
    NodeRetired(String),
    #[error("department {0} runs the last active node; the chain needs one to go on")]
    LastNode(String),
    #[error("the key is already registered (official {0})")]
    KeyInUse(String),
    #[error("unknown official {0}")]
    UnknownOfficial(String),
    #[error("the official {0} has been revoked")]
    OfficialRevoked(String),
    #[error("the public key cannot be registered: {0}")]
    WeakKey(String),
    #[error(
        "a key rotation must take effect after the current height {current}; {requested} requested"
    )]
    RotationHeight { current: u64, requested: u64 },
    #[error("this approval is already counted (same admin or same department); waiting for {missing} more")]
    AlreadyApproved { missing: usize },

    // --- roles ---
    #[error("unknown role grant {0}")]
    UnknownGrant(String),

    // --- workflows ---
    #[error("workflow template {0} already exists at that version; publish a higher version")]
    TemplateExists(String),
    #[error("unknown workflow template {0}")]
    UnknownTemplate(String),
    #[error("the workflow template is invalid: {0}")]
    BadTemplate(String),
    #[error("case {0} already exists")]
    CaseExists(String),
    #[error("unknown case {0}")]
    UnknownCase(String),
    #[error("case {case} is waiting for stage {expected}, not stage {found}")]
    OutOfOrder {
        case: String,
        expected: String,
        found: usize,
    },
    #[error("you already signed stage {stage} of case {case}")]
    AlreadySigned { case: String, stage: usize },
    #[error("case {case} is {status}; it cannot be signed or changed")]
    CaseClosed { case: String, status: String },
    #[error("stage {stage} of case {case} passed its deadline; the case has expired")]
    Expired { case: String, stage: usize },
    #[error("only the official who opened case {0} can withdraw it")]
    NotOpener(String),
    #[error("template {template} belongs to department {owner}; only its admins publish versions")]
    NotOwner { template: String, owner: String },
    #[error("a rejection needs a comment saying why")]
    CommentRequired,

    // --- engineering funds ---
    #[error("project {0} already exists")]
    ProjectExists(String),
    #[error("unknown project {0}")]
    UnknownProject(String),
    #[error("payment {0} already exists")]
    PaymentExists(String),
    #[error("unknown payment {0}")]
    UnknownPayment(String),
    #[error("over budget: {requested} requested but only {available} left (budget {budget}, paid {paid}, pending {pending})")]
    OverBudget {
        requested: Fen,
        available: Fen,
        budget: Fen,
        paid: Fen,
        pending: Fen,
    },
    #[error("payroll lines total {payroll}, more than the payment amount {amount}")]
    PayrollExceedsAmount { payroll: Fen, amount: Fen },
    #[error("payment {payment} is {status}; the next step is {next}")]
    PaymentOutOfOrder {
        payment: String,
        status: String,
        next: String,
    },
    #[error("this step of project {project} must be signed by its {party}")]
    WrongParty { project: String, party: String },
    #[error("amount overflow: {0}")]
    AmountOverflow(String),
    #[error("payment {payment} has {received} of its {lines} payroll lines; send the rest (payment.payroll_chunk) before it is confirmed, or refuse it")]
    PayrollIncomplete {
        payment: String,
        received: u64,
        lines: u64,
    },
    #[error("payment {payment} has received {received} payroll lines; the next chunk must have offset {received}, not {offset}")]
    PayrollOffset {
        payment: String,
        received: u64,
        offset: u64,
    },
    #[error("the payroll lines of payment {payment} do not match its commitment: {detail}")]
    PayrollMismatch { payment: String, detail: String },

    // --- data sharing and audit ---
    #[error("certificate {0} already exists")]
    CertificateExists(String),
    #[error("unknown certificate {0}")]
    UnknownCertificate(String),
    #[error("certificate {0} has expired")]
    CertificateExpired(String),
    #[error("only the certificate's holder can sign this, with the key named in the certificate")]
    NotHolder,
    #[error("consent {0} already exists")]
    ConsentExists(String),
    #[error("unknown consent {0}")]
    UnknownConsent(String),
    #[error("no valid consent: {0}; ask the citizen to grant consent to your department")]
    ConsentInvalid(String),
    #[error("subject is already blacklisted by this department for {0}")]
    BlacklistExists(String),
    #[error("no blacklist entry of this department for that subject and reason")]
    BlacklistUnknown,

    // --- the node, not the transaction ---
    /// The node's stored state could not be read as the state root commits
    /// to (a node fault: its operator must repair or restore the store).
    #[error("the node could not read its stored state: {0}; the node's operator must check its database (govchain-node verify-chain)")]
    Stored(#[from] super::StoredStateError),
}

impl ErrorCode for Rejection {
    fn code(&self) -> &'static str {
        match self {
            Self::Stored(e) => e.code(),
            Self::WrongChain { .. } => "tx.wrong_chain",
            Self::Replayed { .. } => "tx.replayed",
            Self::UnknownKind(_) => "tx.unknown_kind",
            Self::BadPayload { .. } => "tx.bad_payload",
            Self::BadSignature => "tx.bad_signature",
            Self::UnknownSigner => "auth.unknown_signer",
            Self::KeyRevoked(_) => "auth.key_revoked",
            Self::KeyRotated(_) => "auth.key_rotated",
            Self::NotAdmin(_) => "auth.not_admin",
            Self::RoleMissing { .. } => "auth.role_missing",
            Self::GenesisExists => "consortium.genesis_exists",
            Self::NoGenesis => "consortium.no_genesis",
            Self::DepartmentExists(_) => "consortium.department_exists",
            Self::UnknownDepartment(_) => "consortium.unknown_department",
            Self::NodeRetired(_) => "consortium.node_retired",
            Self::LastNode(_) => "consortium.last_node",
            Self::KeyInUse(_) => "identity.key_in_use",
            Self::UnknownOfficial(_) => "identity.unknown_official",
            Self::OfficialRevoked(_) => "identity.official_revoked",
            Self::WeakKey(_) => "identity.weak_key",
            Self::RotationHeight { .. } => "identity.rotation_height",
            Self::AlreadyApproved { .. } => "admin.already_approved",
            Self::UnknownGrant(_) => "role.unknown_grant",
            Self::TemplateExists(_) => "workflow.template_exists",
            Self::UnknownTemplate(_) => "workflow.unknown_template",
            Self::BadTemplate(_) => "workflow.bad_template",
            Self::CaseExists(_) => "workflow.case_exists",
            Self::UnknownCase(_) => "workflow.unknown_case",
            Self::OutOfOrder { .. } => "workflow.out_of_order",
            Self::AlreadySigned { .. } => "workflow.already_signed",
            Self::CaseClosed { .. } => "workflow.case_closed",
            Self::Expired { .. } => "workflow.expired",
            Self::NotOpener(_) => "workflow.not_opener",
            Self::NotOwner { .. } => "workflow.not_owner",
            Self::CommentRequired => "workflow.comment_required",
            Self::ProjectExists(_) => "funds.project_exists",
            Self::UnknownProject(_) => "funds.unknown_project",
            Self::PaymentExists(_) => "funds.payment_exists",
            Self::UnknownPayment(_) => "funds.unknown_payment",
            Self::OverBudget { .. } => "funds.over_budget",
            Self::PayrollExceedsAmount { .. } => "funds.payroll_exceeds_amount",
            Self::PaymentOutOfOrder { .. } => "funds.out_of_order",
            Self::WrongParty { .. } => "funds.wrong_party",
            Self::AmountOverflow(_) => "funds.amount_overflow",
            Self::PayrollIncomplete { .. } => "funds.payroll_incomplete",
            Self::PayrollOffset { .. } => "funds.payroll_offset",
            Self::PayrollMismatch { .. } => "funds.payroll_mismatch",
            Self::CertificateExists(_) => "sharing.certificate_exists",
            Self::UnknownCertificate(_) => "sharing.unknown_certificate",
            Self::CertificateExpired(_) => "sharing.certificate_expired",
            Self::NotHolder => "sharing.not_holder",
            Self::ConsentExists(_) => "sharing.consent_exists",
            Self::UnknownConsent(_) => "sharing.unknown_consent",
            Self::ConsentInvalid(_) => "sharing.consent_invalid",
            Self::BlacklistExists(_) => "blacklist.exists",
            Self::BlacklistUnknown => "blacklist.unknown",
        }
    }
}
