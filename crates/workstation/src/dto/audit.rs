//! The auditor's search, chain graph, dashboards and saved reports.

use serde::Serialize;
use ts_rs::TS;

use crate::closed::closed_set;

/// One search result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct SearchHit {
    pub kind: SearchHitKind,
    /// What opens it: height, tx id, case/project/certificate id, key id.
    pub key: String,
    pub label: String,
    pub detail: String,
    /// Where a block or transaction is.
    pub height: Option<u64>,
    pub index: Option<u32>,
}

closed_set! {
    /// What a search hit is.
    pub enum SearchHitKind {
        Block = "block",
        Tx = "tx",
        Case = "case",
        Project = "project",
        Official = "official",
        Certificate = "certificate",
    }
}

/// A node of the explorer graph; `id` is `kind:key` (`block:7`,
/// `tx:7:0`, `case:HZ-1`, `project:XA-1`, `official:<key id>`,
/// `department:fire`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct GraphNode {
    pub id: String,
    pub kind: GraphNodeKind,
    pub label: String,
    pub detail: String,
}

closed_set! {
    /// What a node of the chain graph is (the prefix of its id).
    pub enum GraphNodeKind {
        Block = "block",
        Tx = "tx",
        Case = "case",
        Project = "project",
        Official = "official",
        Department = "department",
        Certificate = "certificate",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct GraphEdge {
    pub source: String,
    pub target: String,
    pub label: GraphEdgeLabel,
}

closed_set! {
    /// How two nodes of the chain graph are linked.
    pub enum GraphEdgeLabel {
        /// A block contains a transaction.
        Contains = "contains",
        /// A block follows another.
        Next = "next",
        /// An official signed a transaction (or a case, a project).
        Signed = "signed",
        /// A transaction acts on a case, project or certificate.
        ActsOn = "acts on",
        /// An official is a member of a department.
        MemberOf = "member of",
        /// An official issued a certificate.
        Issued = "issued",
        /// An official is a project's developer, contractor, supervisor or
        /// operator.
        Developer = "developer",
        Contractor = "contractor",
        Supervisor = "supervisor",
        Operator = "operator",
    }
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

/// An audit report written to disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct SavedReport {
    /// Where it was written (chosen by the app, never by the page).
    pub path: String,
    pub bytes: u64,
    /// SHA-256 of the file, so a reader can confirm they hold this one.
    pub sha256: String,
}
