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

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo};
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use crate::dto::{CaseDetail, FundFlow, ProjectDetail};

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 48.0;
const BODY: f32 = 9.0;

/// Font resource names.
const SANS: &[u8] = b"F1";
const BOLD: &[u8] = b"F2";
const MONO: &[u8] = b"F3";
const CJK: &[u8] = b"F4";

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

#[derive(Debug, Clone, Copy, PartialEq)]
enum Style {
    Title,
    Heading,
    Body,
    Mono,
    Small,
}

impl Style {
    fn size(self) -> f32 {
        match self {
            Style::Title => 16.0,
            Style::Heading => 11.5,
            Style::Body => BODY,
            Style::Mono | Style::Small => 7.5,
        }
    }

    fn font(self) -> &'static [u8] {
        match self {
            Style::Title | Style::Heading => BOLD,
            Style::Mono => MONO,
            Style::Body | Style::Small => SANS,
        }
    }

    fn leading(self) -> f32 {
        self.size() * 1.45
    }
}

/// Approximate advance of `c` in ems (for wrapping only).
fn em(c: char, style: Style) -> f32 {
    if u32::from(c) > 0xFF {
        1.0
    } else if style == Style::Mono {
        0.6
    } else if c.is_ascii_uppercase() || c == 'm' || c == 'w' {
        0.68
    } else {
        0.52
    }
}

/// Lays out lines and cells on pages.
struct Layout {
    pages: Vec<Content>,
    y: f32,
    footer: String,
}

impl Layout {
    fn new(footer: String) -> Self {
        let mut l = Self {
            pages: Vec::new(),
            y: 0.0,
            footer,
        };
        l.new_page();
        l
    }

    fn new_page(&mut self) {
        self.pages.push(Content::new());
        self.y = PAGE_H - MARGIN;
    }

    fn need(&mut self, h: f32) {
        if self.y - h < MARGIN + 14.0 {
            self.new_page();
        }
    }

    fn page(&mut self) -> &mut Content {
        if self.pages.is_empty() {
            self.pages.push(Content::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn text_at(&mut self, x: f32, y: f32, text: &str, style: Style) {
        text_at(self.page(), x, y, text, style);
    }

    /// A paragraph, wrapped to the page width (indented by `indent`).
    fn para(&mut self, text: &str, style: Style, indent: f32) {
        let width = PAGE_W - 2.0 * MARGIN - indent;
        for line in wrap(text, style, width) {
            self.need(style.leading());
            self.y -= style.leading();
            let y = self.y;
            self.text_at(MARGIN + indent, y, &line, style);
        }
    }

    fn heading(&mut self, text: &str) {
        self.need(Style::Heading.leading() * 3.0);
        self.y -= 8.0;
        self.para(text, Style::Heading, 0.0);
        let y = self.y - 3.0;
        let c = self.page();
        c.set_line_width(0.5);
        c.move_to(MARGIN, y);
        c.line_to(PAGE_W - MARGIN, y);
        c.stroke();
        self.y -= 4.0;
    }

    /// `label: value` pairs, one per line.
    fn facts(&mut self, facts: &[(&str, String)]) {
        for (label, value) in facts {
            self.need(Style::Body.leading());
            let start = self.y;
            self.text_at(MARGIN, start - Style::Body.leading(), label, Style::Small);
            self.para(value, Style::Body, 120.0);
        }
    }

    /// A table row: cells at fixed x offsets, truncated to their column.
    fn row(&mut self, cells: &[(f32, String)], style: Style) {
        self.need(style.leading());
        self.y -= style.leading();
        let y = self.y;
        let width = PAGE_W - 2.0 * MARGIN;
        for (i, (x, text)) in cells.iter().enumerate() {
            let end = cells.get(i + 1).map_or(width, |n| n.0) - 4.0;
            let fit = truncate(text, style, end - x);
            self.text_at(MARGIN + x, y, &fit, style);
        }
    }

    fn finish(self, title: &str) -> Vec<u8> {
        let n = self.pages.len();
        let mut pdf = Pdf::new();
        let catalog = Ref::new(1);
        let tree = Ref::new(2);
        let info = Ref::new(3);
        let fonts = [Ref::new(4), Ref::new(5), Ref::new(6), Ref::new(7)];
        let cid = Ref::new(8);
        let descriptor = Ref::new(9);
        let first = 10;
        pdf.catalog(catalog).pages(tree);
        pdf.document_info(info)
            .title(TextStr(title))
            .creator(TextStr("govchain workstation"));
        let page_ids: Vec<Ref> = (0..n)
            .map(|i| Ref::new(first + 2 * i32::try_from(i).unwrap_or(0)))
            .collect();
        pdf.pages(tree)
            .kids(page_ids.iter().copied())
            .count(i32::try_from(n).unwrap_or(0));
        for (id, name) in fonts[..3]
            .iter()
            .zip([&b"Helvetica"[..], b"Helvetica-Bold", b"Courier"])
        {
            pdf.type1_font(*id)
                .base_font(Name(name))
                .encoding_predefined(Name(b"WinAnsiEncoding"));
        }
        pdf.type0_font(fonts[3])
            .base_font(Name(b"STSong-Light-UniGB-UTF16-H"))
            .encoding_predefined(Name(b"UniGB-UTF16-H"))
            .descendant_font(cid);
        pdf.cid_font(cid)
            .subtype(CidFontType::Type0)
            .base_font(Name(b"STSong-Light"))
            .system_info(SystemInfo {
                registry: Str(b"Adobe"),
                ordering: Str(b"GB1"),
                supplement: 4,
            })
            .font_descriptor(descriptor)
            .default_width(1000.0);
        pdf.font_descriptor(descriptor)
            .name(Name(b"STSong-Light"))
            .flags(FontFlags::SYMBOLIC)
            .bbox(Rect::new(-25.0, -254.0, 1000.0, 880.0))
            .italic_angle(0.0)
            .ascent(880.0)
            .descent(-120.0)
            .cap_height(880.0)
            .stem_v(93.0);
        for (i, (mut content, page)) in self.pages.into_iter().zip(&page_ids).enumerate() {
            // Footer: what this is and where in it.
            let footer = format!("{} · {}/{n}", self.footer, i + 1);
            text_at(&mut content, MARGIN, MARGIN - 16.0, &footer, Style::Small);
            let content_id = Ref::new(page.get() + 1);
            let mut p = pdf.page(*page);
            p.parent(tree)
                .media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H))
                .contents(content_id);
            let mut res = p.resources();
            let mut f = res.fonts();
            for (name, id) in [SANS, BOLD, MONO, CJK].iter().zip(fonts) {
                f.pair(Name(name), id);
            }
            f.finish();
            res.finish();
            p.finish();
            pdf.stream(content_id, &content.finish());
        }
        pdf.finish()
    }
}

/// Writes `text` at `(x, y)`: Latin-1 runs in the style's font, other runs
/// in the CJK font (UTF-16BE codes).
fn text_at(c: &mut Content, x: f32, y: f32, text: &str, style: Style) {
    let size = style.size();
    c.begin_text();
    c.set_text_matrix([1.0, 0.0, 0.0, 1.0, x, y]);
    let flush = |c: &mut Content, run: &str, ascii: bool| {
        if run.is_empty() {
            return;
        }
        if ascii {
            // WinAnsiEncoding is Latin-1 from 0xA0 on (·, ¥, ×, …).
            let bytes: Vec<u8> = run.chars().filter_map(|ch| u8::try_from(ch).ok()).collect();
            c.set_font(Name(style.font()), size);
            c.show(Str(&bytes));
        } else {
            let utf16: Vec<u8> = run.encode_utf16().flat_map(u16::to_be_bytes).collect();
            c.set_font(Name(CJK), size);
            c.show(Str(&utf16));
        }
    };
    let mut run = String::new();
    let mut run_ascii = true;
    let mut run_class = 0;
    for ch in text.chars() {
        let ch = if ch.is_control() { ' ' } else { ch };
        // Plain ASCII, Latin-1 and CJK runs apart: ASCII stays a literal
        // string (searchable in the file), the others are shown as bytes.
        let class = match u32::from(ch) {
            0..=0x7F => 0,
            0xA0..=0xFF => 1,
            _ => 2,
        };
        let ascii = class < 2;
        if class != run_class {
            run_class = class;
            flush(c, &run, run_ascii);
            run.clear();
            run_ascii = ascii;
        }
        run.push(ch);
    }
    flush(c, &run, run_ascii);
    c.end_text();
}

fn width_of(text: &str, style: Style) -> f32 {
    text.chars().map(|c| em(c, style)).sum::<f32>() * style.size()
}

fn truncate(text: &str, style: Style, width: f32) -> String {
    if width_of(text, style) <= width {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut w = em('…', style) * style.size();
    for c in text.chars() {
        w += em(c, style) * style.size();
        if w > width {
            break;
        }
        out.push(c);
    }
    out.push_str("...");
    out
}

/// Greedy wrap by estimated width; breaks at spaces when it can.
fn wrap(text: &str, style: Style, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        let mut w = 0.0;
        let mut last_space: Option<usize> = None;
        for c in para.chars() {
            let cw = em(c, style) * style.size();
            if w + cw > width && !line.is_empty() {
                match last_space.filter(|&i| i > 0) {
                    Some(i) => {
                        let rest = line.split_off(i);
                        lines.push(std::mem::take(&mut line));
                        line.push_str(rest.trim_start());
                    }
                    None => lines.push(std::mem::take(&mut line)),
                }
                w = width_of(&line, style);
                last_space = None;
            }
            if c == ' ' {
                last_space = Some(line.len());
            }
            line.push(c);
            w += cw;
        }
        lines.push(line);
    }
    lines
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
