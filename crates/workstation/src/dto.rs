//! What crosses IPC between the Rust core and the UI. TypeScript types are
//! generated from these with ts-rs into `ui/src/lib/bindings/`; the test
//! `bindings_are_current` fails when the committed files differ
//! (regenerate with `GOVCHAIN_BLESS=1 cargo test -p govchain-workstation
//! --lib bindings`). Heights, sizes and amounts are below 2^53 and cross as
//! numbers. No type here can hold a secret key.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub use crate::error::ErrorBody;

/// A signing key of this workstation (public facts only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct KeyInfo {
    /// Key id, 64 hex.
    pub key_id: String,
    /// First 16 bytes of the key id in 8 groups of 4 hex digits.
    pub fingerprint: String,
    pub public_key: String,
    pub label: String,
    pub created_at: String,
    /// The key this workstation signs with.
    pub active: bool,
    /// Whether the OS keychain holds its secret.
    pub in_keychain: bool,
    /// The official it is registered to on the verified chain, if any.
    pub official: Option<OfficialInfo>,
}

/// An official as the verified chain knows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct OfficialInfo {
    pub official_id: String,
    pub name: String,
    pub department: String,
    pub department_name: String,
    /// `role@department/scope` of every current grant.
    pub roles: Vec<String>,
    pub revoked: bool,
}

/// A registration request an admin turns into `official.register`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct RegistrationRequest {
    pub public_key: String,
    pub fingerprint: String,
    pub name: String,
    pub department: String,
    /// The request as JSON text, to send to the admin.
    pub text: String,
}

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
    pub kind: String,
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
}

/// One signed transaction in the durable outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct OutboxItem {
    pub id: String,
    pub kind: String,
    pub seq: u64,
    /// `queued`, `submitted`, `committed` or `rejected`.
    pub status: String,
    pub code: Option<String>,
    pub message: Option<String>,
    /// Height of the verified block that holds it.
    pub height: Option<u64>,
    pub attempts: u32,
    pub created_at: String,
}

/// A verification failure the official must not miss (a fork, a bad
/// checkpoint, a tampered block).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Alarm {
    pub id: i64,
    pub at: String,
    pub code: String,
    pub node: String,
    pub detail: String,
    pub acknowledged: bool,
}

/// The status bar.
// Independent facts of one status report, not a state machine.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct SyncStatus {
    /// The verified chain's id and genesis block hash (to compare with what
    /// the consortium published), once a block is verified.
    pub chain_id: Option<String>,
    pub genesis_hash: Option<String>,
    /// Whether a chain is pinned (`pin_chain`): only it is accepted.
    pub pinned: bool,
    pub online: bool,
    pub syncing: bool,
    /// The node that answered last.
    pub node: Option<String>,
    pub nodes: Vec<String>,
    /// Running the embedded demo node (no node configured).
    pub embedded: bool,
    /// Last verified block height.
    pub height: Option<u64>,
    pub log_size: u64,
    /// Size of the last verified checkpoint.
    pub checkpoint_size: Option<u64>,
    pub checkpoint_signer: Option<String>,
    /// How many other departments must cosign a checkpoint (Settings).
    pub witness_quorum: u32,
    /// The departments that cosigned the last accepted checkpoint (known
    /// after a sync in this session).
    pub checkpoint_witnesses: Vec<String>,
    pub last_sync_at: Option<String>,
    pub last_error: Option<ErrorBody>,
    pub outbox_pending: u32,
    pub alarms: Vec<Alarm>,
}

/// A node that answered "test connection".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct NodeProbe {
    pub url: String,
    pub chain_id: String,
    pub height: u64,
}

/// Sync progress, sent as events while blocks are fetched and verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct SyncProgress {
    pub height: u64,
    pub target: u64,
}

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
    /// `open`, `approved`, `rejected`, `withdrawn` or `expired`.
    pub status: String,
    pub current_stage: Option<u32>,
    pub current_stage_name: Option<String>,
    pub scope: String,
    pub opened_at: String,
    pub updated_at: String,
    pub waiting_for_me: bool,
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
    /// `done`, `current`, `pending`, `rejected` or `skipped`.
    pub state: String,
    /// Who approved it in the current round.
    pub approvals: Vec<OfficialRef>,
    pub deadline: Option<String>,
    /// Whether the active key's official may sign it now.
    pub mine: bool,
    /// How long the stage took (done) or has been waiting (current), in
    /// milliseconds of ledger time.
    pub duration_ms: Option<u64>,
    /// The stage that held the case longest so far.
    pub longest: bool,
}

/// One signature (or opening/withdrawal) on a case's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct TimelineEntry {
    pub height: u64,
    pub time: String,
    pub tx_id: String,
    pub official: OfficialRef,
    /// `open`, `approve`, `reject` or `withdraw`.
    pub action: String,
    pub stage: Option<u32>,
    pub stage_name: Option<String>,
    pub comment: String,
    pub attachments: Vec<String>,
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
    pub status: String,
    pub round: u32,
    pub documents: Vec<String>,
    pub opener: OfficialRef,
    pub stages: Vec<StageView>,
    pub timeline: Vec<TimelineEntry>,
}

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
    pub my_party: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct PartyView {
    /// `developer`, `contractor`, `supervisor` or `operator`.
    pub party: String,
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
    /// `request`, `confirm`, `approve`, `refuse` or `execute`.
    pub step: String,
    pub comment: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct PaymentView {
    pub payment_id: String,
    pub amount: u64,
    pub purpose: String,
    pub milestone: String,
    pub invoices: Vec<String>,
    pub payroll: Vec<PayrollLineView>,
    pub payroll_total: u64,
    /// `requested`, `confirmed`, `approved`, `executed` or `refused`.
    pub status: String,
    /// The transaction kind of the next step, and whose it is.
    pub next_step: Option<String>,
    pub next_party: Option<String>,
    pub my_turn: bool,
    pub transfer_ref: Option<String>,
    pub events: Vec<PaymentEventView>,
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
    pub my_party: Option<String>,
}

/// A block in the explorer's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct BlockSummary {
    pub height: u64,
    pub hash: String,
    pub time: String,
    /// The department whose node proposed it.
    pub proposer: String,
    pub tx_count: u64,
    pub log_size: u64,
    /// Covered by the last verified checkpoint.
    pub checkpointed: bool,
}

/// A transaction in a block's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct TxRow {
    pub index: u32,
    pub id: String,
    pub kind: String,
    pub signer: OfficialRef,
    pub seq: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct BlockDetail {
    pub summary: BlockSummary,
    pub prev_hash: String,
    pub tx_root: String,
    pub log_root: String,
    pub state_digest: String,
    pub txs: Vec<TxRow>,
}

/// One transaction, decoded, with its signature checked again here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct TxDetail {
    pub id: String,
    pub height: u64,
    pub index: u32,
    /// Position in the whole log (for inclusion proofs).
    pub leaf_index: u64,
    pub leaf_hash: String,
    pub kind: String,
    pub signer: OfficialRef,
    pub signer_key: String,
    pub seq: u64,
    pub created_at: String,
    /// The payload as indented JSON.
    pub payload: String,
    /// RFC 8785 canonical JSON of the body (what was signed).
    pub canonical_json: String,
    pub signature: String,
    /// The Ed25519 signature verifies for the signer's key (ZIP-215).
    pub signature_valid: bool,
}

/// One step of a proof check, as shown to the auditor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ProofStep {
    /// Stable id of the step (`leaf`, `path`, `root`, `checkpoint`, …).
    pub step: String,
    pub value: String,
    pub ok: bool,
    pub detail: String,
}

/// A proof checked in the app, step by step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ProofReport {
    /// `inclusion`, `consistency` or `checkpoint` (a checkpoint alone).
    pub kind: String,
    pub ok: bool,
    pub steps: Vec<ProofStep>,
    /// The checkpoint note checked, as text (to hand to someone else).
    pub note: String,
    /// The proof checked, as JSON text (empty for a checkpoint alone).
    pub proof: String,
}

/// A checkpoint this workstation verified and kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct CheckpointInfo {
    pub size: u64,
    pub root: String,
    /// The note key name that signed it.
    pub signer: String,
    /// The node it came from.
    pub node: String,
    /// When this workstation verified it.
    pub at: String,
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct SearchHit {
    /// `block`, `tx`, `case`, `project`, `official` or `certificate`.
    pub kind: String,
    /// What opens it: height, tx id, case/project/certificate id, key id.
    pub key: String,
    pub label: String,
    pub detail: String,
    /// Where a block or transaction is.
    pub height: Option<u64>,
    pub index: Option<u32>,
}

/// A node of the explorer graph; `id` is `kind:key` (`block:7`,
/// `tx:7:0`, `case:HZ-1`, `project:XA-1`, `official:<key id>`,
/// `department:fire`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct GraphNode {
    pub id: String,
    pub kind: String,
    pub label: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct GraphEdge {
    pub source: String,
    pub target: String,
    pub label: String,
}

/// A node's neighbourhood in the chain graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Graph {
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<GraphEdge>,
}

/// Approvals signed by a department's officials in one ISO week.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct WeekCount {
    /// e.g. `2026-W48`.
    pub week: String,
    pub department: String,
    pub department_name: String,
    pub count: u32,
}

/// Median time a workflow stage took, over the cases that finished it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct StageTime {
    pub template: String,
    pub stage: String,
    pub department_name: String,
    pub median_ms: u64,
    pub cases: u32,
}

/// A project's payments (fen).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ProjectPayments {
    pub project_id: String,
    pub name: String,
    pub budget: u64,
    pub paid: u64,
    pub pending: u64,
    pub refused: u64,
    pub payments: u32,
}

/// How often a rejection code occurred.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct CodeCount {
    pub code: String,
    pub count: u32,
}

/// The auditor's dashboards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Dashboard {
    pub approvals: Vec<WeekCount>,
    pub stage_times: Vec<StageTime>,
    pub payments: Vec<ProjectPayments>,
    /// Codes the node answered this workstation's refused submissions with.
    pub rejections: Vec<CodeCount>,
}

/// A project's money after one payment event (fen, cumulative).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct SpendPoint {
    pub time: String,
    pub paid: u64,
    pub pending: u64,
    /// The event: `request`, `execute` or `refuse` of `payment_id`, signed
    /// in transaction `tx_id` (block `height`).
    pub step: String,
    pub payment_id: String,
    pub tx_id: String,
    pub height: u64,
}

/// An audit report written to disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct SavedReport {
    /// Where it was written (chosen by the app, never by the page).
    pub path: String,
    pub bytes: u64,
    /// SHA-256 of the file, so a reader can confirm they hold this one.
    pub sha256: String,
}

/// One recorded access to sensitive data (`access.record`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct AccessRow {
    /// When the official accessed the data (their clock, as signed).
    pub at: String,
    pub official: OfficialRef,
    pub department: String,
    pub department_name: String,
    pub dataset: String,
    pub operation: String,
    pub purpose: String,
    /// Salted hash of the person concerned, if any.
    pub subject: Option<String>,
    pub height: u64,
    pub tx_id: String,
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
    /// `paid`, `pending` or `unallocated`.
    pub status: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every exported type with its file under `ui/src/lib/bindings/`.
    fn bindings() -> Vec<(std::path::PathBuf, String)> {
        let cfg = ts_rs::Config::new().with_large_int("number");
        macro_rules! each {
            ($($t:ty),* $(,)?) => {
                vec![$((
                    <$t as TS>::output_path().unwrap(),
                    <$t as TS>::export_to_string(&cfg).unwrap(),
                )),*]
            };
        }
        each!(
            ErrorBody,
            KeyInfo,
            OfficialInfo,
            RegistrationRequest,
            SignRequest,
            StepDecision,
            ReviewStep,
            Verdict,
            SignPreview,
            OutboxItem,
            Alarm,
            SyncStatus,
            SyncProgress,
            NodeProbe,
            InboxEntry,
            OfficialRef,
            CaseSummary,
            StageView,
            TimelineEntry,
            CaseDetail,
            ProjectSummary,
            PartyView,
            PayrollLineView,
            PaymentEventView,
            PaymentView,
            ProjectDetail,
            BlockSummary,
            TxRow,
            BlockDetail,
            TxDetail,
            ProofStep,
            ProofReport,
            AccessRow,
            FundFlow,
            CheckpointInfo,
            SearchHit,
            GraphNode,
            GraphEdge,
            Graph,
            WeekCount,
            StageTime,
            ProjectPayments,
            CodeCount,
            Dashboard,
            SpendPoint,
            SavedReport,
        )
    }

    #[test]
    fn bindings_are_current() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/lib/bindings");
        let bless = std::env::var_os("GOVCHAIN_BLESS").is_some();
        let mut stale = Vec::new();
        for (path, text) in bindings() {
            let file = dir.join(&path);
            if bless {
                std::fs::create_dir_all(file.parent().unwrap()).unwrap();
                std::fs::write(&file, &text).unwrap();
            }
            if std::fs::read_to_string(&file).ok().as_deref() != Some(text.as_str()) {
                stale.push(path.display().to_string());
            }
        }
        assert!(
            stale.is_empty(),
            "stale TypeScript bindings {stale:?}: GOVCHAIN_BLESS=1 cargo test -p govchain-workstation --lib bindings"
        );
    }
}
