//! Engineering projects: parties, payments, fund flows and spending.

use serde::Serialize;
use ts_rs::TS;

use crate::closed::closed_set;

use super::cases::OfficialRef;

/// A project in the project list (amounts in fen).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ProjectSummary {
    pub project_id: String,
    pub name: String,
    pub budget: u64,
    pub paid: u64,
    pub pending: u64,
    pub left: u64,
    pub payments: u32,
    /// Payments whose next step is the active official's.
    pub awaiting_me: u32,
    /// The active official's party in the project, if any.
    pub my_party: Option<Party>,
}

closed_set! {
    /// A party of an engineering project.
    pub enum Party {
        Developer = "developer",
        Contractor = "contractor",
        Supervisor = "supervisor",
        Operator = "operator",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct PartyView {
    pub party: Party,
    pub official: OfficialRef,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct PayrollLineView {
    /// Salted hash of the worker's identity.
    pub worker: String,
    pub amount: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct PaymentEventView {
    pub height: u64,
    pub time: String,
    pub tx_id: String,
    pub official: OfficialRef,
    pub step: PaymentStep,
    pub comment: String,
}

closed_set! {
    /// One step of a payment's history.
    pub enum PaymentStep {
        Request = "request",
        Confirm = "confirm",
        Approve = "approve",
        Refuse = "refuse",
        Execute = "execute",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct PaymentView {
    pub payment_id: String,
    pub amount: u64,
    pub purpose: String,
    pub milestone: String,
    pub invoices: Vec<String>,
    /// The first payroll lines (at most `views::PAYROLL_SHOWN`); the rest
    /// come in pages (`payroll_page`).
    pub payroll: Vec<PayrollLineView>,
    /// Payroll lines on chain (of a committed payroll: received so far).
    pub payroll_lines: u32,
    pub payroll_total: u64,
    pub status: PaymentStatus,
    /// The transaction kind of the next step, and whose it is.
    pub next_step: Option<PaymentNextStep>,
    pub next_party: Option<Party>,
    pub my_turn: bool,
    pub transfer_ref: Option<String>,
    pub events: Vec<PaymentEventView>,
}

closed_set! {
    /// Where a payment stands.
    pub enum PaymentStatus {
        Requested = "requested",
        Confirmed = "confirmed",
        Approved = "approved",
        Executed = "executed",
        Refused = "refused",
    }
}

closed_set! {
    /// The transaction kind of a payment's next step.
    pub enum PaymentNextStep {
        Confirm = "payment.confirm",
        Approve = "payment.approve",
        Execute = "payment.execute",
    }
}

/// A page of one payment's payroll lines, in payroll order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct PayrollPage {
    /// Index of the first line of `lines`.
    pub offset: u32,
    /// Lines on chain in all.
    pub total: u32,
    pub lines: Vec<PayrollLineView>,
}

/// Everything the project screen shows (amounts in fen).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ProjectDetail {
    pub project_id: String,
    pub name: String,
    pub budget: u64,
    pub paid: u64,
    pub pending: u64,
    pub left: u64,
    pub parties: Vec<PartyView>,
    pub approvers: Vec<String>,
    pub payments: Vec<PaymentView>,
    pub my_party: Option<Party>,
}

/// One edge of a project's fund flow (amount in fen): budget → payment →
/// contractor and workers' payroll, and the unallocated rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct FundFlow {
    /// `budget:<project>`, `payment:<id>`, `party:contractor`,
    /// `worker:<hash prefix>` or `unallocated`.
    pub source: String,
    pub target: String,
    pub amount: u64,
    pub status: FlowStatus,
}

closed_set! {
    /// Whether the money on a fund-flow edge is paid, still pending, or not
    /// allocated to any payment.
    pub enum FlowStatus {
        Paid = "paid",
        Pending = "pending",
        Unallocated = "unallocated",
    }
}

/// A project's money after one payment event (fen, cumulative).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct SpendPoint {
    pub time: String,
    pub paid: u64,
    pub pending: u64,
    /// The event: `request`, `execute` or `refuse` of `payment_id`, signed
    /// in transaction `tx_id` (block `height`).
    pub step: PaymentStep,
    pub payment_id: String,
    pub tx_id: String,
    pub height: u64,
}

impl From<govchain_ledger::state::kinds::Party> for Party {
    fn from(p: govchain_ledger::state::kinds::Party) -> Self {
        use govchain_ledger::state::kinds::Party as L;
        match p {
            L::Developer => Self::Developer,
            L::Contractor => Self::Contractor,
            L::Supervisor => Self::Supervisor,
            L::Operator => Self::Operator,
        }
    }
}

impl From<govchain_ledger::state::funds::PaymentStatus> for PaymentStatus {
    fn from(s: govchain_ledger::state::funds::PaymentStatus) -> Self {
        use govchain_ledger::state::funds::PaymentStatus as L;
        match s {
            L::Requested => Self::Requested,
            L::Confirmed => Self::Confirmed,
            L::Approved => Self::Approved,
            L::Executed => Self::Executed,
            L::Refused => Self::Refused,
        }
    }
}

closed_set! {
    /// Why a payroll row was refused.
    pub enum PayrollProblem {
        /// Not a valid identity number of its type (PROTOCOL.md §12.9).
        BadIdNumber = "bad_id_number",
        /// An unknown document type.
        BadDocType = "bad_doc_type",
        /// Not an amount in yuan above zero with at most two decimals.
        BadAmount = "bad_amount",
        /// The same worker as an earlier row.
        DuplicateWorker = "duplicate_worker",
    }
}

/// A refused payroll row, by its spreadsheet row number (the header is 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct PayrollRowError {
    pub row: u64,
    pub problem: PayrollProblem,
    /// Why, without the row's identity number.
    pub detail: String,
}

/// A payroll file read and hashed, held by the core until it is signed
/// into a payment request (or dropped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct PayrollImport {
    pub import_id: String,
    pub project_id: String,
    /// Lines accepted.
    pub lines: u64,
    pub total_fen: u64,
    /// Rows refused (the first 200 are in `errors`).
    pub refused: u64,
    pub errors: Vec<PayrollRowError>,
    /// `payment.payroll_chunk` transactions that will follow the request
    /// (0: the payroll fits in the request itself).
    pub chunks: u32,
    /// Key id of the project's payroll key the workers were hashed with.
    pub payroll_key: String,
    /// The first lines: worker hash (hex) and amount (fen).
    pub sample: Vec<PayrollLineView>,
}
