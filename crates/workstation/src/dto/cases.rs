//! Cases: the inbox, the case list and a case's stages and timeline.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::closed::closed_set;

/// A case waiting for this official (from the verified cache).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct InboxEntry {
    pub case_id: String,
    pub title: String,
    pub template: String,
    pub stage: u32,
    pub stage_name: String,
    pub department: String,
    pub department_name: String,
    pub waiting_since: String,
    pub deadline: Option<String>,
}

/// An official named in a view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct OfficialRef {
    pub official_id: String,
    pub fingerprint: String,
    pub name: String,
    pub department: String,
    pub department_name: String,
}

/// A case in the case list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct CaseSummary {
    pub case_id: String,
    pub title: String,
    pub template: String,
    pub status: CaseStatus,
    pub current_stage: Option<u32>,
    pub current_stage_name: Option<String>,
    pub scope: String,
    pub opened_at: String,
    pub updated_at: String,
    pub waiting_for_me: bool,
}

/// Which cases the case list shows: filtered and paged by the core, most
/// recently changed first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CaseQuery {
    /// Only cases with this status; every case without.
    pub status: Option<CaseStatus>,
    /// Only cases whose id, title or template name contain this text
    /// (letters in any case); none or blank: every case.
    pub text: Option<String>,
    /// Only the cases waiting for the active official's signature.
    pub waiting_for_me: bool,
    /// Cases to skip (of those that match).
    pub offset: u32,
    /// Cases on the page, 1 to 500.
    pub limit: u32,
}

/// One page of the case list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct CasePage {
    pub offset: u32,
    /// Cases that match the query in all.
    pub total: u32,
    pub items: Vec<CaseSummary>,
}

closed_set! {
    /// A case's status as the case list shows it.
    pub enum CaseStatus {
        Open = "open",
        Approved = "approved",
        Rejected = "rejected",
        Withdrawn = "withdrawn",
        /// Open, but a stage's deadline passed.
        Expired = "expired",
    }
}

/// One stage of a case's workflow as it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct StageView {
    pub index: u32,
    pub name: String,
    pub department: String,
    pub department_name: String,
    pub role: String,
    /// Parallel group: stages of one group are signed in any order.
    pub group: Option<String>,
    pub threshold: u32,
    pub state: StageState,
    /// Who approved it in the current round.
    pub approvals: Vec<OfficialRef>,
    pub deadline: Option<String>,
    /// Whether the active key's official may sign it now.
    pub mine: bool,
    /// Why the active key's official may not sign it (`None` when `mine`).
    pub sign_block: Option<SignBlock>,
    /// Officials who may still sign it now (holding the stage's role in its
    /// department for the case's scope, not yet signed), at most
    /// `SIGNABLE_SHOWN` of them, by name.
    pub signable_by: Vec<OfficialRef>,
    /// How many more may sign than `signable_by` lists.
    pub signable_more: u32,
    /// How long the stage took (done) or has been waiting (current), in
    /// milliseconds of ledger time.
    pub duration_ms: Option<u64>,
    /// The stage that held the case longest so far.
    pub longest: bool,
}

closed_set! {
    /// Where one stage of a case stands.
    pub enum StageState {
        Done = "done",
        Current = "current",
        Pending = "pending",
        Rejected = "rejected",
        Skipped = "skipped",
    }
}

closed_set! {
    /// Why the active key may not sign a stage, from the verified state.
    pub enum SignBlock {
        /// No active key on this workstation.
        NoKey = "no_key",
        /// The key is not a registered (or is a revoked) official's.
        NotRegistered = "not_registered",
        /// The case is approved, rejected or withdrawn.
        CaseClosed = "case_closed",
        /// This official already signed this stage in this round.
        AlreadySigned = "already_signed",
        /// The stage is not waiting for signatures (done or not reached).
        NotThisStage = "not_this_stage",
        /// The stage's deadline passed.
        Expired = "expired",
        /// The official holds the role in the department, but not for the
        /// case's scope.
        WrongScope = "wrong_scope",
        /// The official holds the role, but in another department.
        WrongDepartment = "wrong_department",
        /// The official does not hold the stage's role.
        NoRole = "no_role",
    }
}

/// One signature (or opening/withdrawal) on a case's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct TimelineEntry {
    pub height: u64,
    pub time: String,
    pub tx_id: String,
    pub official: OfficialRef,
    pub action: CaseAction,
    pub stage: Option<u32>,
    pub stage_name: Option<String>,
    pub comment: String,
    pub attachments: Vec<String>,
}

closed_set! {
    /// What an entry of a case's timeline did.
    pub enum CaseAction {
        Open = "open",
        Approve = "approve",
        Reject = "reject",
        Withdraw = "withdraw",
    }
}

/// Everything the case screen shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct CaseDetail {
    pub case_id: String,
    pub title: String,
    pub template_id: String,
    pub template_name: String,
    pub version: u32,
    pub scope: String,
    pub status: CaseStatus,
    pub round: u32,
    pub documents: Vec<String>,
    /// The applicant's identity hash (PROTOCOL.md §12.9), if recorded.
    pub applicant: Option<String>,
    pub opener: OfficialRef,
    pub stages: Vec<StageView>,
    pub timeline: Vec<TimelineEntry>,
}

impl From<govchain_ledger::state::workflow::CaseStatus> for CaseStatus {
    fn from(s: govchain_ledger::state::workflow::CaseStatus) -> Self {
        use govchain_ledger::state::workflow::CaseStatus as L;
        match s {
            L::Open => Self::Open,
            L::Approved => Self::Approved,
            L::Rejected => Self::Rejected,
            L::Withdrawn => Self::Withdrawn,
        }
    }
}
