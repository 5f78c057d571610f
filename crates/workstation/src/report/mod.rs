//! PDF audit reports of a case or a project, readable without the app:
//! what the verified chain says (stages, timeline, payments, fund flows),
//! every transaction id with its leaf hash, the inclusion proofs checked
//! here with their audit paths, and the checkpoint note they lead to, so a
//! reader can recompute each step with any SHA-256 and Ed25519 tool.
//!
//! Text is laid out in A4 pages with the PDF standard fonts: Helvetica and
//! Courier for Latin text, and the predefined Adobe-GB1 font STSong-Light
//! (`UniGB-UTF16-H`) for Chinese, which every PDF reader provides, so no font
//! file is embedded.
//!
//! This module owns what a report says; [`layout`] how it is laid out;
//! [`receipt`] the citizen's receipt of a case opened at the window.

mod layout;
mod receipt;

use crate::dto::{CaseDetail, FundFlow, ProjectDetail};

use layout::{Layout, Style};

pub use receipt::{case_receipt, certificate_pdf, qr_modules, receipt_link};

/// An inclusion proof as checked for the report.
#[derive(Debug, Clone)]
pub struct TxProof {
    pub tx_id: String,
    pub height: u64,
    pub leaf_index: u64,
    pub leaf_hash: String,
    pub path: Vec<String>,
    /// Whether every step passed, or why not / why it was not checked.
    pub result: ProofOutcome,
}

/// What checking a transaction's inclusion proof for a report gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProofOutcome {
    /// Every step passed in the workstation.
    Verified,
    /// Not verified: the step that failed (`step: detail`), or why it was
    /// not checked.
    NotVerified(String),
}

/// Facts about the verified chain the report is drawn from.
#[derive(Debug, Clone)]
pub struct Provenance {
    pub chain_id: String,
    pub generated_at: String,
    pub height: u64,
    /// The checkpoint the proofs lead to (signed note text), if any.
    pub checkpoint: Option<String>,
    /// Department node keys (`name  key-hex`) a reader checks the note with.
    pub node_keys: Vec<String>,
}

/// Yuan with two decimals from integer fen.
fn yuan(fen: u64) -> String {
    let s = (fen / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("¥{grouped}.{:02}", fen % 100)
}

fn duration(ms: u64) -> String {
    let h = ms / 3_600_000;
    if h >= 48 {
        format!("{} d {} h", h / 24, h % 24)
    } else {
        format!("{h} h {} min", ms % 3_600_000 / 60_000)
    }
}

/// A report's first lines: its title and where its data comes from; every
/// page's footer names the `kind` and `id`.
fn begin(kind: &str, id: &str, title: &str, p: &Provenance) -> Layout {
    let mut l = Layout::new(format!("govchain · {kind} {id} · {}", p.generated_at));
    l.para(&format!("{title} · {id}"), Style::Title, 0.0);
    l.y -= 4.0;
    provenance(&mut l, p);
    l
}

fn provenance(l: &mut Layout, p: &Provenance) {
    l.facts(&[
        ("链 Chain", p.chain_id.clone()),
        ("生成 Generated", p.generated_at.clone()),
        ("已验证高度 Verified height", p.height.to_string()),
    ]);
}

fn proofs(l: &mut Layout, p: &Provenance, proofs: &[TxProof]) {
    l.heading("证明 Proofs");
    l.para(
        "Each transaction's leaf hash is SHA-256(0x00 || JCS(envelope)) (RFC 6962). Its audit path \
         leads to the root of the signed checkpoint below (RFC 9162 §2.1.3.2); the checkpoint is a \
         C2SP signed note whose Ed25519 signature verifies under a department node key listed below.",
        Style::Small,
        0.0,
    );
    for t in proofs {
        let verdict = match &t.result {
            ProofOutcome::Verified => "VERIFIED in the workstation".to_owned(),
            ProofOutcome::NotVerified(why) => format!("NOT VERIFIED: {why}"),
        };
        l.y -= 3.0;
        l.para(
            &format!("{verdict} · block #{} · leaf {}", t.height, t.leaf_index),
            Style::Small,
            0.0,
        );
        l.para(&format!("tx   {}", t.tx_id), Style::Mono, 12.0);
        l.para(&format!("leaf {}", t.leaf_hash), Style::Mono, 12.0);
        for (i, h) in t.path.iter().enumerate() {
            l.para(&format!("path[{i}] {h}"), Style::Mono, 12.0);
        }
    }
    l.heading("检查点 Checkpoint");
    match &p.checkpoint {
        Some(note) => l.para(note, Style::Mono, 0.0),
        None => l.para("No verified checkpoint yet.", Style::Body, 0.0),
    }
    l.para("Department node keys:", Style::Small, 0.0);
    for k in &p.node_keys {
        l.para(k, Style::Mono, 12.0);
    }
}

/// The audit report of one case.
pub fn case_report(c: &CaseDetail, p: &Provenance, tx_proofs: &[TxProof]) -> Vec<u8> {
    let mut l = begin("case", &c.case_id, "案件审计报告 Case audit report", p);
    l.heading("案件 Case");
    l.facts(&[
        ("编号 Case id", c.case_id.clone()),
        ("标题 Title", c.title.clone()),
        (
            "流程 Template",
            format!("{} ({} v{})", c.template_name, c.template_id, c.version),
        ),
        ("状态 Status", format!("{} · round {}", c.status, c.round)),
        ("范围 Scope", c.scope.clone()),
        (
            "发起 Opened by",
            format!("{} · {}", c.opener.name, c.opener.department_name),
        ),
    ]);
    for d in &c.documents {
        l.facts(&[("文件 Document", d.clone())]);
    }
    l.heading("环节 Stages");
    let cols = [0.0, 18.0, 130.0, 235.0, 300.0, 370.0];
    l.row(
        &["#", "Stage", "Department", "State", "Time", "Signed by"]
            .iter()
            .zip(cols)
            .map(|(t, x)| (x, (*t).to_owned()))
            .collect::<Vec<_>>(),
        Style::Small,
    );
    for s in &c.stages {
        let mark = if s.longest { " (longest)" } else { "" };
        let signed: Vec<String> = s.approvals.iter().map(|o| o.name.clone()).collect();
        l.row(
            &[
                (cols[0], (s.index + 1).to_string()),
                (cols[1], s.name.clone()),
                (cols[2], s.department_name.clone()),
                (cols[3], s.state.to_string()),
                (
                    cols[4],
                    s.duration_ms.map(duration).unwrap_or_default() + mark,
                ),
                (cols[5], signed.join(", ")),
            ],
            Style::Body,
        );
    }
    l.heading("时间线 Timeline (signed transactions)");
    for e in &c.timeline {
        l.y -= 2.0;
        let stage = e.stage_name.clone().unwrap_or_default();
        l.para(
            &format!(
                "{} · {} {} · {} ({}) · block #{}",
                e.time, e.action, stage, e.official.name, e.official.department_name, e.height
            ),
            Style::Body,
            0.0,
        );
        l.para(&format!("tx {}", e.tx_id), Style::Mono, 12.0);
        if !e.comment.is_empty() {
            l.para(&format!("“{}”", e.comment), Style::Body, 12.0);
        }
    }
    proofs(&mut l, p, tx_proofs);
    l.finish(&format!("govchain case {}", c.case_id))
}

/// The audit report of one project: budget, payments with payroll and
/// invoices, where the money went, the signed events and their proofs.
pub fn project_report(
    d: &ProjectDetail,
    flows: &[FundFlow],
    p: &Provenance,
    tx_proofs: &[TxProof],
) -> Vec<u8> {
    let mut l = begin(
        "project",
        &d.project_id,
        "项目资金审计报告 Project audit report",
        p,
    );
    l.heading("项目 Project");
    l.facts(&[
        ("编号 Project id", d.project_id.clone()),
        ("名称 Name", d.name.clone()),
        ("预算 Budget", yuan(d.budget)),
        ("已付 Paid", yuan(d.paid)),
        ("待付 Pending", yuan(d.pending)),
        ("余额 Left", yuan(d.left)),
    ]);
    for party in &d.parties {
        l.facts(&[(
            "参与方 Party",
            format!(
                "{}: {} · {}",
                party.party, party.official.name, party.official.department_name
            ),
        )]);
    }
    l.heading("付款 Payments");
    for pay in &d.payments {
        l.y -= 2.0;
        l.para(
            &format!(
                "{} · {} · {} · {} · {}",
                pay.payment_id,
                yuan(pay.amount),
                pay.status,
                pay.purpose,
                pay.milestone
            ),
            Style::Body,
            0.0,
        );
        for line in &pay.payroll {
            l.para(
                &format!("wage {} → worker {}", yuan(line.amount), line.worker),
                Style::Mono,
                12.0,
            );
        }
        for inv in &pay.invoices {
            l.para(&format!("invoice {inv}"), Style::Mono, 12.0);
        }
        for e in &pay.events {
            l.para(
                &format!(
                    "{} · {} · {} ({}) · block #{}",
                    e.time, e.step, e.official.name, e.official.department_name, e.height
                ),
                Style::Small,
                12.0,
            );
            l.para(&format!("tx {}", e.tx_id), Style::Mono, 24.0);
        }
    }
    l.heading("资金流向 Fund flows");
    for f in flows {
        l.row(
            &[
                (0.0, f.source.clone()),
                (150.0, format!("→ {}", f.target)),
                (330.0, yuan(f.amount)),
                (420.0, f.status.to_string()),
            ],
            Style::Body,
        );
    }
    proofs(&mut l, p, tx_proofs);
    l.finish(&format!("govchain project {}", d.project_id))
}

#[cfg(test)]
mod tests {
    use super::layout::{truncate, width_of, wrap};
    use super::*;

    #[test]
    fn wraps_and_truncates_by_width() {
        let lines = wrap("aaaa bbbb cccc dddd", Style::Body, 9.0 * 0.52 * 10.0);
        assert!(lines.len() > 1, "{lines:?}");
        assert!(lines
            .iter()
            .all(|l| width_of(l, Style::Body) <= 9.0 * 0.52 * 10.5));
        let t = truncate(&"x".repeat(200), Style::Mono, 60.0);
        assert!(t.ends_with("...") && t.len() < 30);
        assert_eq!(yuan(123_456_789), "¥1,234,567.89");
        assert_eq!(yuan(5), "¥0.05");
    }

    #[test]
    fn a_long_report_is_paginated_and_well_formed() {
        let mut l = Layout::new("footer".into());
        for i in 0..200 {
            l.para(&format!("line {i} 第{i}行"), Style::Body, 0.0);
        }
        assert!(l.pages.len() >= 3);
        let pdf = l.finish("t");
        assert!(pdf.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("/STSong-Light"));
        assert!(text.trim_end().ends_with("%%EOF"));
        // CJK runs are UTF-16BE under the CJK font: 第 is U+7B2C.
        assert!(pdf.windows(2).any(|w| w == [0x7B, 0x2C]));
    }
}
