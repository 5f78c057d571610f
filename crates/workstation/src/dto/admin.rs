//! Department administration: departments, officials and their roles,
//! pending threshold actions, workflow templates and their versions, and
//! what a registration request or a BPMN document holds.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::closed::closed_set;

use super::OfficialRef;

/// A department of the consortium.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct DepartmentView {
    pub id: String,
    pub name: String,
    pub parent: Option<String>,
    /// Distinct admins who must sign one of its admin actions.
    pub admin_threshold: u32,
    /// Its admins now (officials holding `admin` everywhere in it).
    pub admins: Vec<OfficialRef>,
    /// The active official is one of its admins.
    pub administered: bool,
}

/// A role granted to an official.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct GrantView {
    /// The grant's id (64 hex), what `role.revoke` names.
    pub id: String,
    pub department: String,
    pub role: String,
    /// `*`, or a scope path such as `hz/xihu`.
    pub scope: String,
    /// Block height of the grant.
    pub granted_at: u64,
    /// RFC 3339: counts from then on (granted in advance); none: at once.
    pub valid_from: Option<String>,
    /// RFC 3339; none: no expiry.
    pub expires_at: Option<String>,
    /// Counts at the chain's time (begun, not expired).
    pub active: bool,
    /// Made in advance: counts only from `valid_from`, still ahead.
    pub later: bool,
}

/// An official of a department the active official administers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct OfficialRow {
    pub official: OfficialRef,
    /// The key that signs now (64 hex).
    pub public_key: String,
    /// Keys the official has had (rotations + 1).
    pub key_count: u32,
    pub registered_at: u64,
    /// Block height of the revocation, if revoked.
    pub revoked_at: Option<u64>,
    pub grants: Vec<GrantView>,
}

closed_set! {
    /// Whose admins count toward a pending action.
    pub enum ProposalScope {
        /// Distinct admins of one department.
        Department = "department",
        /// Admins of distinct departments (`department.add`,
        /// `department.retire_node`).
        Consortium = "consortium",
    }
}

/// An admin action waiting for more admins' signatures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ProposalView {
    /// The action digest (64 hex): SHA-256 of `JCS({kind, payload})`.
    pub digest: String,
    pub kind: super::TxKind,
    pub scope: ProposalScope,
    /// The department whose admins sign (department scope).
    pub department: Option<String>,
    /// The action's payload as canonical JSON; none if the proposing
    /// transaction is not in this workstation's verified cache.
    pub payload: Option<String>,
    /// Who signed it so far, in ledger order of their key ids.
    pub approvals: Vec<OfficialRef>,
    /// How many of the approvals count (distinct admins or departments).
    pub counted: u32,
    pub needed: u32,
    /// Block height of the first signature.
    pub first_height: u64,
    /// The active official already signed it.
    pub signed_by_me: bool,
    /// The active official's signature would count (an admin of the right
    /// department, or of a department not yet counted).
    pub may_sign: bool,
}

closed_set! {
    /// What a rejection at a stage does.
    pub enum RejectAction {
        End = "end",
        Return = "return",
    }
}

/// One stage of a workflow template as the designer edits it (the
/// `workflow.define` payload's stage, PROTOCOL.md §12.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct StageDraft {
    pub name: String,
    pub department: String,
    pub role: String,
    /// Approvals needed (k of the officials holding the role).
    pub threshold: u32,
    /// Consecutive stages with one group are signed in any order.
    pub group: Option<String>,
    /// Seconds of ledger time the stage may stay open once reached.
    pub deadline_secs: Option<u64>,
    pub on_reject: RejectAction,
    /// For `return`: the stage index a rejection returns to.
    pub return_to: Option<u32>,
}

/// A workflow template version as the designer edits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct WorkflowDraft {
    pub id: String,
    pub version: u32,
    pub name: String,
    pub stages: Vec<StageDraft>,
}

/// A published version of a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct TemplateVersionView {
    pub draft: WorkflowDraft,
    pub defined_by: OfficialRef,
    /// Block height of its publication.
    pub defined_at: u64,
    /// Cases opened on this version.
    pub cases: u32,
}

/// A template and every published version, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct TemplateHistory {
    pub id: String,
    /// The department that defined its first version (only its admins
    /// publish versions).
    pub owner: String,
    pub owner_name: String,
    /// The active official administers the owner.
    pub mine: bool,
    pub versions: Vec<TemplateVersionView>,
}

/// Everything the administration screen shows, from the verified chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct AdminView {
    /// Every department (for pickers), parents before children.
    pub departments: Vec<DepartmentView>,
    /// Officials of the departments the active official administers.
    pub officials: Vec<OfficialRow>,
    pub proposals: Vec<ProposalView>,
    pub templates: Vec<TemplateHistory>,
    /// Role names in use on the chain (grants and templates), for pickers.
    pub roles: Vec<String>,
    /// Scopes in use on the chain (grants and cases), for pickers.
    pub scopes: Vec<String>,
    pub consortium_threshold: u32,
    /// Block height the view is of.
    pub height: u64,
}

/// What a registration request says, checked against the verified chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct RegistrationCheck {
    pub name: String,
    pub department: String,
    pub department_name: String,
    /// 64 hex.
    pub public_key: String,
    /// What to read out to the person to compare with their screen.
    pub fingerprint: String,
    /// Where the request says its key lives: `keychain`, or
    /// `pkcs11 <token label> (<serial>)`. The requester's word.
    pub key_storage: String,
    /// The key is already an official's (registered or revoked).
    pub registered_as: Option<OfficialRef>,
    /// The active official may register into `department`.
    pub may_register: bool,
}

/// One BPMN candidate group and the department and role it stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct BpmnGroup {
    pub group: String,
    pub department: String,
    pub role: String,
}

/// One reason a BPMN document was not imported, naming its element.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct BpmnProblem {
    pub code: String,
    pub element_id: Option<String>,
    pub element_type: String,
    pub message: String,
}

/// What importing a BPMN document gave: its candidate groups (mapped where
/// the admin or a `department:role` name says), and the template, or every
/// problem (nothing is half-imported).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct BpmnImport {
    /// Every candidate group of the process, with its mapping if known
    /// (empty department and role: not mapped yet).
    pub groups: Vec<BpmnGroup>,
    pub template: Option<WorkflowDraft>,
    pub problems: Vec<BpmnProblem>,
}

/// An admin of a department proposed with `department.add`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct DepartmentAdmin {
    pub name: String,
    /// 64 hex.
    pub public_key: String,
}
