//! What crosses IPC between the Rust core and the UI. TypeScript types are
//! generated from these with ts-rs into `ui/src/lib/bindings/`; the test
//! `bindings_are_current` fails when the committed files differ
//! (regenerate with `GOVCHAIN_BLESS=1 cargo test -p govchain-workstation
//! --lib bindings`). Heights, sizes and amounts are below 2^53 and cross as
//! numbers. No type here can hold a secret key. Closed sets of names are
//! enums (`closed_set!`) that cross as exactly their strings and become
//! string unions in TypeScript. One file per screen area; everything is
//! re-exported here.

mod admin;
mod audit;
mod cases;
mod certificates;
mod chains;
mod documents;
mod explorer;
mod keys;
mod people;
mod projects;
mod signing;
mod sync;

pub use crate::error::{ErrorBody, WsErrorCode};

pub use admin::{
    AdminView, BpmnGroup, BpmnImport, BpmnProblem, DepartmentAdmin, DepartmentView, GrantView,
    OfficialRow, ProposalScope, ProposalView, RegistrationCheck, RejectAction, StageDraft,
    TemplateHistory, TemplateVersionView, WorkflowDraft,
};
pub use audit::{
    CodeCount, Dashboard, Graph, GraphEdge, GraphEdgeLabel, GraphNode, GraphNodeKind,
    ProjectPayments, SavedReport, SearchHit, SearchHitKind, StageTime, WeekCount,
};
pub use cases::{
    CaseAction, CaseDetail, CasePage, CaseQuery, CaseStatus, CaseSummary, InboxEntry, OfficialRef,
    SignBlock, StageState, StageView, TimelineEntry,
};
pub use certificates::{CertificateView, ConsentRequestView, ConsentView, VerificationView};
pub use chains::{ChainInfo, ChainsView};
pub use documents::{DocumentCheck, DocumentState, StoredDocument};
pub use explorer::{
    AccessRow, BlockDetail, BlockSummary, ProofKind, ProofReport, ProofStep, ProofStepId, TxDetail,
    TxRow,
};
pub use keys::{
    KeyInfo, OfficialInfo, RegistrationRequest, TokenKeyView, TokenOverview, TokenRef,
    TokenSigning, TokenView,
};
pub use people::{
    BlacklistEntryView, BlacklistLookup, Capabilities, Capability, LookupCheck, TemplateOption,
};
pub use projects::{
    FlowStatus, FundFlow, Party, PartyView, PaymentEventView, PaymentNextStep, PaymentStatus,
    PaymentStep, PaymentView, PayrollImport, PayrollLineView, PayrollPage, PayrollProblem,
    PayrollRowError, ProjectDetail, ProjectSummary, SpendPoint,
};
pub use signing::{
    OutboxItem, OutboxStatus, PersonRef, ReviewStep, SignPreview, SignRequest, StepDecision,
    TxKind, Verdict,
};
pub use sync::{Alarm, CheckpointInfo, NodeProbe, StatusState, SyncProgress, SyncStatus};

#[cfg(test)]
mod tests {
    use super::*;
    use ts_rs::TS;

    /// Every exported type with its file under `ui/src/lib/bindings/`.
    #[allow(clippy::too_many_lines)] // one line per exported type
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
            WsErrorCode,
            KeyInfo,
            TokenRef,
            TokenOverview,
            TokenView,
            TokenKeyView,
            TokenSigning,
            OfficialInfo,
            RegistrationRequest,
            SignRequest,
            StepDecision,
            ReviewStep,
            Verdict,
            SignPreview,
            OutboxItem,
            Alarm,
            StatusState,
            SyncStatus,
            SyncProgress,
            NodeProbe,
            ChainInfo,
            ChainsView,
            InboxEntry,
            OfficialRef,
            CaseSummary,
            CaseQuery,
            CasePage,
            StageView,
            TimelineEntry,
            CaseDetail,
            ProjectSummary,
            PartyView,
            PayrollLineView,
            PayrollPage,
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
            OutboxStatus,
            CaseStatus,
            StageState,
            SignBlock,
            CaseAction,
            Party,
            PaymentStatus,
            PaymentStep,
            PaymentNextStep,
            FlowStatus,
            ProofKind,
            ProofStepId,
            SearchHitKind,
            GraphNodeKind,
            GraphEdgeLabel,
            TxKind,
            PersonRef,
            StoredDocument,
            DocumentCheck,
            DocumentState,
            Capability,
            Capabilities,
            TemplateOption,
            BlacklistEntryView,
            BlacklistLookup,
            PayrollProblem,
            PayrollRowError,
            PayrollImport,
            LookupCheck,
            CertificateView,
            ConsentView,
            VerificationView,
            ConsentRequestView,
            DepartmentView,
            DepartmentAdmin,
            GrantView,
            OfficialRow,
            ProposalScope,
            ProposalView,
            RejectAction,
            StageDraft,
            WorkflowDraft,
            TemplateVersionView,
            TemplateHistory,
            AdminView,
            RegistrationCheck,
            BpmnGroup,
            BpmnProblem,
            BpmnImport,
        )
    }

    #[test]
    fn tx_kinds_are_the_ledgers() {
        let ours: Vec<&str> = TxKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(ours, govchain_ledger::state::kinds::KINDS);
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
