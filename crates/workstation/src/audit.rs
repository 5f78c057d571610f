//! The auditor's queries over the verified chain: search (transaction id,
//! block height, case, project, official, certificate), the neighbourhood
//! graph (blocks → transactions → cases / projects / officials), dashboards
//! and a project's spending over time. Pure functions of the verified state;
//! blocks come from the cache through `block_at`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Datelike;
use govchain_ledger::block::Block;
use govchain_ledger::crypto::KeyId;
use govchain_ledger::state::funds::PaymentStatus;
use govchain_ledger::state::kinds::Party;
use govchain_ledger::state::workflow::{CaseStatus, Template};
use govchain_ledger::state::State;
use govchain_ledger::tx::Envelope;
use govchain_ledger::types::Timestamp;

use crate::dto::{
    CodeCount, Dashboard, Graph, GraphEdge, GraphNode, ProjectPayments, SearchHit, SpendPoint,
    StageTime, WeekCount,
};
use crate::verify::{tx_key, LocalChain};
use crate::views::u32_of;

/// At most this many search hits and graph neighbours per node.
pub const MAX_HITS: usize = 50;
const MAX_NEIGHBOURS: usize = 40;

fn hit(kind: &str, key: String, label: String, detail: String) -> SearchHit {
    SearchHit {
        kind: kind.to_owned(),
        key,
        label,
        detail,
        height: None,
        index: None,
    }
}

/// Finds what `query` names. A number is a block height; 16–64 hex digits
/// are a transaction id prefix (or an official's key id); any text matches
/// case ids and titles, project ids and names, official names and
/// fingerprints, certificate ids (case-insensitive substring).
pub fn search(
    chain: &LocalChain,
    query: &str,
    block_at: impl Fn(u64) -> Option<Block>,
) -> Vec<SearchHit> {
    let q = query.trim();
    if q.is_empty() {
        return Vec::new();
    }
    let s = &chain.state;
    let lower = q.to_lowercase();
    let compact: String = lower.chars().filter(|c| !c.is_whitespace()).collect();
    let mut hits = Vec::new();
    if let Ok(h) = q.parse::<u64>() {
        if let Some(b) = block_at(h) {
            let mut x = hit(
                "block",
                h.to_string(),
                format!("#{h}"),
                format!("{} tx · {}", b.header.tx_count, b.header.time),
            );
            x.height = Some(h);
            hits.push(x);
        }
    }
    let is_hex = compact.len() >= 16
        && compact.len() <= 64
        && compact.bytes().all(|c| c.is_ascii_hexdigit());
    if is_hex {
        for (height, index, tx) in find_txs(chain, &compact, &block_at) {
            let id = tx.id().map(|d| d.to_hex()).unwrap_or_default();
            let mut x = hit(
                "tx",
                id,
                tx.body.kind.clone(),
                format!("#{height} · {index}"),
            );
            x.height = Some(height);
            x.index = Some(index);
            hits.push(x);
        }
    }
    for c in s.cases.values() {
        if c.id.as_str().to_lowercase().contains(&lower) || c.title.to_lowercase().contains(&lower)
        {
            hits.push(hit(
                "case",
                c.id.to_string(),
                c.id.to_string(),
                c.title.clone(),
            ));
        }
    }
    for p in s.projects.values() {
        if p.id.as_str().to_lowercase().contains(&lower) || p.name.to_lowercase().contains(&lower) {
            hits.push(hit(
                "project",
                p.id.to_string(),
                p.id.to_string(),
                p.name.clone(),
            ));
        }
    }
    for o in s.officials.values() {
        let fp = o.id.fingerprint().to_lowercase().replace(' ', "");
        if o.name.to_lowercase().contains(&lower)
            || (compact.len() >= 4
                && (fp.starts_with(&compact) || o.id.to_hex().starts_with(&compact)))
        {
            let dept = s
                .departments
                .get(&o.department)
                .map(|d| d.name.clone())
                .unwrap_or_default();
            hits.push(hit(
                "official",
                o.id.to_hex(),
                o.name.clone(),
                format!("{dept} · {}", o.id.fingerprint()),
            ));
        }
    }
    for c in s.certificates.values() {
        if c.id.as_str().to_lowercase().contains(&lower) {
            hits.push(hit(
                "certificate",
                c.id.to_string(),
                c.id.to_string(),
                c.cert_type.to_string(),
            ));
        }
    }
    hits.truncate(MAX_HITS);
    hits
}

/// Verified transactions whose id (lowercase hex) starts with `prefix` (at
/// least 16 hex digits): `(height, index, envelope)`. The index finds
/// candidates by the first 8 bytes; the full id is compared here.
pub fn find_txs(
    chain: &LocalChain,
    prefix: &str,
    block_at: impl Fn(u64) -> Option<Block>,
) -> Vec<(u64, u32, Envelope)> {
    let mut key = [0u8; 32];
    let Some(first) = prefix.get(..16) else {
        return Vec::new();
    };
    if hex::decode_to_slice(first, &mut key[..8]).is_err() {
        return Vec::new();
    }
    chain
        .locate_tx(tx_key(&key))
        .into_iter()
        .filter_map(|(height, index)| {
            let tx = block_at(height)?.txs.get(index as usize)?.clone();
            tx.id()
                .ok()?
                .to_hex()
                .starts_with(prefix)
                .then_some((height, index, tx))
        })
        .collect()
}

/// Graph builder: nodes by id, edges deduplicated.
#[derive(Default)]
struct G {
    nodes: BTreeMap<String, GraphNode>,
    edges: BTreeSet<(String, String, String)>,
}

impl G {
    fn node(&mut self, id: String, kind: &str, label: String, detail: String) -> String {
        self.nodes.entry(id.clone()).or_insert_with(|| GraphNode {
            id: id.clone(),
            kind: kind.to_owned(),
            label,
            detail,
        });
        id
    }

    fn edge(&mut self, source: &str, target: &str, label: &str) {
        self.edges
            .insert((source.to_owned(), target.to_owned(), label.to_owned()));
    }

    fn block(&mut self, b: &Block) -> String {
        let h = b.header.height;
        self.node(
            format!("block:{h}"),
            "block",
            format!("#{h}"),
            format!("{} tx · {}", b.header.tx_count, b.header.time),
        )
    }

    fn official(&mut self, s: &State, id: &KeyId) -> String {
        let r = crate::views::official_ref(s, id);
        self.node(
            format!("official:{}", r.official_id),
            "official",
            r.name,
            format!("{} · {}", r.department_name, r.fingerprint),
        )
    }

    fn tx(
        &mut self,
        chain: &LocalChain,
        id: &govchain_ledger::types::Hash32,
        kind: &str,
    ) -> String {
        let (h, i) = chain
            .locate_tx(tx_key(&id.0))
            .first()
            .copied()
            .unwrap_or_default();
        let node = self.node(format!("tx:{h}:{i}"), "tx", kind.to_owned(), id.to_hex());
        let block = self.node(
            format!("block:{h}"),
            "block",
            format!("#{h}"),
            String::new(),
        );
        self.edge(&block, &node, "contains");
        node
    }

    fn finish(self) -> Graph {
        Graph {
            nodes: self.nodes.into_values().collect(),
            edges: self
                .edges
                .into_iter()
                .filter(|(s, t, _)| s != t)
                .map(|(source, target, label)| GraphEdge {
                    source,
                    target,
                    label,
                })
                .collect(),
        }
    }
}

/// The neighbourhood of one node (`block:H`, `tx:H:I`, `case:ID`,
/// `project:ID`, `official:KEYID`, `department:ID`, `certificate:ID`): the
/// node and what it links to, at most 40 of each kind. `None` if it does not
/// exist.
pub fn graph(
    chain: &LocalChain,
    focus: &str,
    block_at: impl Fn(u64) -> Option<Block>,
) -> Option<Graph> {
    let (kind, key) = focus.split_once(':')?;
    let mut g = G::default();
    match kind {
        "block" => g.around_block(&block_at(key.parse().ok()?)?),
        "tx" => {
            let (height, index) = key.split_once(':')?;
            let block = block_at(height.parse().ok()?)?;
            g.around_tx(&chain.state, &block, index.parse().ok()?)?;
        }
        "case" => g.around_case(chain, key)?,
        "project" => g.around_project(chain, key)?,
        "official" => g.around_official(&chain.state, &KeyId::from_hex(key).ok()?)?,
        "department" => g.around_department(&chain.state, key)?,
        "certificate" => g.around_certificate(chain, key)?,
        _ => return None,
    }
    Some(g.finish())
}

impl G {
    fn around_block(&mut self, b: &Block) {
        let me = self.block(b);
        let h = b.header.height;
        if h > 0 {
            let prev = self.node(
                format!("block:{}", h - 1),
                "block",
                format!("#{}", h - 1),
                String::new(),
            );
            self.edge(&prev, &me, "next");
        }
        for (i, tx) in b.txs.iter().enumerate().take(MAX_NEIGHBOURS) {
            let id = tx.id().map(|d| d.to_hex()).unwrap_or_default();
            let t = self.node(format!("tx:{h}:{i}"), "tx", tx.body.kind.clone(), id);
            self.edge(&me, &t, "contains");
        }
    }

    fn around_tx(&mut self, state: &State, b: &Block, index: usize) -> Option<()> {
        let tx = b.txs.get(index)?;
        let h = b.header.height;
        let blk = self.block(b);
        let id = tx.id().map(|d| d.to_hex()).unwrap_or_default();
        let me = self.node(format!("tx:{h}:{index}"), "tx", tx.body.kind.clone(), id);
        self.edge(&blk, &me, "contains");
        let signer = state
            .key_index
            .get(&tx.body.signer)
            .copied()
            .unwrap_or(tx.body.signer);
        let official = self.official(state, &signer);
        self.edge(&official, &me, "signed");
        let payload = &tx.body.payload;
        if let Some(id) = payload["case_id"].as_str() {
            if let Some(case) = state.cases.values().find(|c| c.id.as_str() == id) {
                let node = self.node(
                    format!("case:{id}"),
                    "case",
                    id.to_owned(),
                    case.title.clone(),
                );
                self.edge(&me, &node, "acts on");
            }
        }
        if let Some(id) = payload["project_id"].as_str() {
            if let Some(project) = state.projects.values().find(|p| p.id.as_str() == id) {
                let node = self.node(
                    format!("project:{id}"),
                    "project",
                    project.name.clone(),
                    id.to_owned(),
                );
                self.edge(&me, &node, "acts on");
            }
        }
        if let Some(id) = payload["cert_id"].as_str() {
            if let Some(cert) = state.certificates.values().find(|c| c.id.as_str() == id) {
                let node = self.node(
                    format!("certificate:{id}"),
                    "certificate",
                    id.to_owned(),
                    cert.cert_type.to_string(),
                );
                self.edge(&me, &node, "acts on");
            }
        }
        Some(())
    }

    fn around_case(&mut self, chain: &LocalChain, key: &str) -> Option<()> {
        let state = &chain.state;
        let case = state.cases.values().find(|c| c.id.as_str() == key)?;
        let me = self.node(
            format!("case:{key}"),
            "case",
            key.to_owned(),
            case.title.clone(),
        );
        for e in case.events.iter().rev().take(MAX_NEIGHBOURS) {
            let tx = self.tx(chain, &e.tx_id, &format!("case.{}", e.action));
            self.edge(&tx, &me, "acts on");
            let official = self.official(state, &e.official);
            self.edge(&official, &tx, "signed");
        }
        Some(())
    }

    fn around_project(&mut self, chain: &LocalChain, key: &str) -> Option<()> {
        let state = &chain.state;
        let project = state.projects.values().find(|p| p.id.as_str() == key)?;
        let me = self.node(
            format!("project:{key}"),
            "project",
            project.name.clone(),
            key.to_owned(),
        );
        for party in [
            Party::Developer,
            Party::Contractor,
            Party::Supervisor,
            Party::Operator,
        ] {
            let official = self.official(state, &project.parties.get(party));
            self.edge(&official, &me, party.as_str());
        }
        let events = project.payments.values().flat_map(|pay| pay.events.iter());
        for e in events.take(MAX_NEIGHBOURS) {
            let tx = self.tx(chain, &e.tx_id, &format!("payment.{}", e.step));
            self.edge(&tx, &me, "acts on");
        }
        Some(())
    }

    fn around_official(&mut self, state: &State, id: &KeyId) -> Option<()> {
        let official = state.officials.get(id)?;
        let me = self.official(state, id);
        let dept = state.departments.get(&official.department)?;
        let node = self.node(
            format!("department:{}", dept.id),
            "department",
            dept.name.clone(),
            dept.id.to_string(),
        );
        self.edge(&me, &node, "member of");
        let cases = state
            .cases
            .values()
            .filter(|c| c.opener == *id || c.events.iter().any(|e| e.official == *id));
        for case in cases.take(MAX_NEIGHBOURS) {
            let node = self.node(
                format!("case:{}", case.id),
                "case",
                case.id.to_string(),
                case.title.clone(),
            );
            self.edge(&me, &node, "signed");
        }
        let projects = state.projects.values().filter(|p| {
            p.payments
                .values()
                .any(|pay| pay.events.iter().any(|e| e.official == *id))
        });
        for project in projects.take(MAX_NEIGHBOURS) {
            let node = self.node(
                format!("project:{}", project.id),
                "project",
                project.name.clone(),
                project.id.to_string(),
            );
            self.edge(&me, &node, "signed");
        }
        Some(())
    }

    fn around_department(&mut self, state: &State, key: &str) -> Option<()> {
        let dept = state.departments.values().find(|d| d.id.as_str() == key)?;
        let me = self.node(
            format!("department:{key}"),
            "department",
            dept.name.clone(),
            key.to_owned(),
        );
        let members = state.officials.values().filter(|o| o.department == dept.id);
        for official in members.take(MAX_NEIGHBOURS) {
            let node = self.official(state, &official.id);
            self.edge(&node, &me, "member of");
        }
        Some(())
    }

    fn around_certificate(&mut self, chain: &LocalChain, key: &str) -> Option<()> {
        let state = &chain.state;
        let cert = state.certificates.values().find(|c| c.id.as_str() == key)?;
        let me = self.node(
            format!("certificate:{key}"),
            "certificate",
            key.to_owned(),
            cert.cert_type.to_string(),
        );
        let issuer = self.official(state, &cert.issuer);
        self.edge(&issuer, &me, "issued");
        for v in cert.verifications.iter().rev().take(MAX_NEIGHBOURS) {
            let tx = self.tx(chain, &v.tx_id, "certificate.verify");
            self.edge(&tx, &me, "acts on");
            let official = self.official(state, &v.official);
            self.edge(&official, &tx, "signed");
        }
        Some(())
    }
}

fn median(v: &mut [u64]) -> u64 {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

/// ISO week of a ledger time, e.g. `2026-W48`.
fn iso_week(t: Timestamp) -> String {
    let w = t.as_datetime().iso_week();
    format!("{}-W{:02}", w.year(), w.week())
}

/// The dashboards: approvals per department per ISO week, the median time
/// of each workflow stage (finished stages), payments per project, and the
/// rejection codes this workstation's submissions met (`rejected`).
pub fn dashboard(s: &State, rejected: &[String]) -> Dashboard {
    Dashboard {
        approvals: approvals_per_week(s),
        stage_times: stage_times(s),
        payments: payments(s),
        rejections: rejections(rejected),
    }
}

fn department_name(s: &State, id: &str) -> String {
    s.departments
        .values()
        .find(|d| d.id.as_str() == id)
        .map(|d| d.name.clone())
        .unwrap_or_default()
}

fn approvals_per_week(s: &State) -> Vec<WeekCount> {
    let mut weeks: BTreeMap<(String, String), u32> = BTreeMap::new();
    for c in s.cases.values() {
        for e in c.events.iter().filter(|e| e.action == "approve") {
            let dept = s
                .officials
                .get(&e.official)
                .map(|o| o.department.to_string())
                .unwrap_or_default();
            *weeks.entry((iso_week(e.time), dept)).or_default() += 1;
        }
    }
    weeks
        .into_iter()
        .map(|((week, department), count)| WeekCount {
            department_name: department_name(s, &department),
            week,
            department,
            count,
        })
        .collect()
}

fn stage_times(s: &State) -> Vec<StageTime> {
    let mut stage_ms: BTreeMap<(String, u32), Vec<u64>> = BTreeMap::new();
    for c in s.cases.values() {
        let Some(t) = s.templates.get(&Template::key(&c.template, c.version)) else {
            continue;
        };
        // Only finished stages count: the current group is still waiting.
        let group = if c.status == CaseStatus::Open {
            t.group_of(c.current)
        } else {
            0..0
        };
        let now = s.time.unwrap_or(Timestamp::UNIX_EPOCH);
        let (durations, _) = crate::views::stage_durations(c, t, &group, now);
        for (i, d) in durations.iter().enumerate() {
            if let Some(d) = d.filter(|_| !group.contains(&i)) {
                stage_ms
                    .entry((Template::key(&c.template, c.version), u32_of(i)))
                    .or_default()
                    .push(d);
            }
        }
    }
    stage_ms
        .into_iter()
        .filter_map(|((template, i), mut ms)| {
            let t = s.templates.get(&template)?;
            let st = t.stages.get(i as usize)?;
            Some(StageTime {
                template: t.name.clone(),
                stage: st.name.clone(),
                department_name: department_name(s, st.department.as_str()),
                cases: u32_of(ms.len()),
                median_ms: median(&mut ms),
            })
        })
        .collect()
}

fn payments(s: &State) -> Vec<ProjectPayments> {
    s.projects
        .values()
        .map(|p| ProjectPayments {
            project_id: p.id.to_string(),
            name: p.name.clone(),
            budget: p.budget.get(),
            paid: p.paid.get(),
            pending: p.pending.get(),
            refused: p
                .payments
                .values()
                .filter(|x| x.status == PaymentStatus::Refused)
                .map(|x| x.amount.get())
                .sum(),
            payments: u32_of(p.payments.len()),
        })
        .collect()
}

fn rejections(codes: &[String]) -> Vec<CodeCount> {
    let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
    for c in codes {
        *counts.entry(c).or_default() += 1;
    }
    let mut out: Vec<CodeCount> = counts
        .into_iter()
        .map(|(code, count)| CodeCount {
            code: code.to_owned(),
            count,
        })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.code.cmp(&b.code)));
    out
}

/// A project's money over ledger time: after each payment event, how much
/// was paid and how much was committed but not yet paid.
pub fn spending(s: &State, project_id: &str) -> Option<Vec<SpendPoint>> {
    let p = s.projects.values().find(|p| p.id.as_str() == project_id)?;
    let mut events = Vec::new();
    for pay in p.payments.values() {
        let amount = i128::from(pay.amount.get());
        for e in &pay.events {
            let (dp, dq) = match e.step.as_str() {
                "request" => (0, amount),
                "execute" => (amount, -amount),
                "refuse" => (0, -amount),
                _ => continue,
            };
            events.push((e, pay.id.to_string(), dp, dq));
        }
    }
    events.sort_by_key(|e| (e.0.time, e.0.height));
    let (mut paid, mut pending) = (0i128, 0i128);
    Some(
        events
            .into_iter()
            .map(|(e, payment_id, dp, dq)| {
                paid += dp;
                pending += dq;
                SpendPoint {
                    time: e.time.to_string(),
                    paid: u64::try_from(paid).unwrap_or(0),
                    pending: u64::try_from(pending).unwrap_or(0),
                    step: e.step.clone(),
                    payment_id,
                    tx_id: e.tx_id.to_hex(),
                    height: e.height,
                }
            })
            .collect(),
    )
}
