//! The chain graph: the neighbourhood of one node (a block, transaction,
//! case, project, official, department or certificate) and what links them.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use govchain_ledger::block::Block;
use govchain_ledger::crypto::KeyId;
use govchain_ledger::state::kinds::{DeptId, Party, RefId};
use govchain_ledger::state::workflow::Case;
use govchain_ledger::state::State;

use crate::case_index::CaseIndex;
use crate::dto::{Graph, GraphEdge, GraphEdgeLabel, GraphNode, GraphNodeKind};
use crate::verify::{tx_key, LocalChain};

/// At most this many graph neighbours of each kind per node.
const MAX_NEIGHBOURS: usize = 40;

fn ref_of(id: &str) -> Option<RefId> {
    RefId::try_from(id.to_owned()).ok()
}

/// A case by id (keyed, not searched).
fn case_of<'s>(s: &'s State, id: &str) -> Option<Cow<'s, Case>> {
    s.case(&ref_of(id)?).ok().flatten()
}

/// The label of the edge from a project's party to the project.
fn party_label(party: Party) -> GraphEdgeLabel {
    match party {
        Party::Developer => GraphEdgeLabel::Developer,
        Party::Contractor => GraphEdgeLabel::Contractor,
        Party::Supervisor => GraphEdgeLabel::Supervisor,
        Party::Operator => GraphEdgeLabel::Operator,
    }
}

/// Graph builder: nodes by id, edges deduplicated.
#[derive(Default)]
struct G {
    nodes: BTreeMap<String, GraphNode>,
    edges: BTreeSet<(String, String, GraphEdgeLabel)>,
}

impl G {
    fn node(&mut self, id: String, kind: GraphNodeKind, label: String, detail: String) -> String {
        self.nodes.entry(id.clone()).or_insert_with(|| GraphNode {
            id: id.clone(),
            kind,
            label,
            detail,
        });
        id
    }

    fn edge(&mut self, source: &str, target: &str, label: GraphEdgeLabel) {
        self.edges
            .insert((source.to_owned(), target.to_owned(), label));
    }

    fn block(&mut self, b: &Block) -> String {
        let h = b.header.height;
        self.node(
            format!("block:{h}"),
            GraphNodeKind::Block,
            format!("#{h}"),
            format!("{} tx · {}", b.header.tx_count, b.header.time),
        )
    }

    fn official(&mut self, s: &State, id: &KeyId) -> String {
        let r = crate::views::official_ref(s, id);
        self.node(
            format!("official:{}", r.official_id),
            GraphNodeKind::Official,
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
        let node = self.node(
            format!("tx:{h}:{i}"),
            GraphNodeKind::Tx,
            kind.to_owned(),
            id.to_hex(),
        );
        let block = self.node(
            format!("block:{h}"),
            GraphNodeKind::Block,
            format!("#{h}"),
            String::new(),
        );
        self.edge(&block, &node, GraphEdgeLabel::Contains);
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
/// exist. The case `index` of the chain's head, if there is one, finds an
/// official's cases without reading every case.
pub fn graph(
    chain: &LocalChain,
    index: Option<&CaseIndex>,
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
        "official" => g.around_official(&chain.state, index, &KeyId::from_hex(key).ok()?)?,
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
                GraphNodeKind::Block,
                format!("#{}", h - 1),
                String::new(),
            );
            self.edge(&prev, &me, GraphEdgeLabel::Next);
        }
        for (i, tx) in b.txs.iter().enumerate().take(MAX_NEIGHBOURS) {
            let id = tx.id().map(|d| d.to_hex()).unwrap_or_default();
            let t = self.node(
                format!("tx:{h}:{i}"),
                GraphNodeKind::Tx,
                tx.body.kind.clone(),
                id,
            );
            self.edge(&me, &t, GraphEdgeLabel::Contains);
        }
    }

    fn around_tx(&mut self, state: &State, b: &Block, index: usize) -> Option<()> {
        let tx = b.txs.get(index)?;
        let h = b.header.height;
        let blk = self.block(b);
        let id = tx.id().map(|d| d.to_hex()).unwrap_or_default();
        let me = self.node(
            format!("tx:{h}:{index}"),
            GraphNodeKind::Tx,
            tx.body.kind.clone(),
            id,
        );
        self.edge(&blk, &me, GraphEdgeLabel::Contains);
        let signer = state
            .key_index
            .get(&tx.body.signer)
            .copied()
            .unwrap_or(tx.body.signer);
        let official = self.official(state, &signer);
        self.edge(&official, &me, GraphEdgeLabel::Signed);
        let payload = &tx.body.payload;
        if let Some(id) = payload["case_id"].as_str() {
            if let Some(case) = case_of(state, id) {
                let node = self.node(
                    format!("case:{id}"),
                    GraphNodeKind::Case,
                    id.to_owned(),
                    case.title.clone(),
                );
                self.edge(&me, &node, GraphEdgeLabel::ActsOn);
            }
        }
        if let Some(id) = payload["project_id"].as_str() {
            if let Some(project) = ref_of(id).and_then(|id| state.projects.get(&id)) {
                let node = self.node(
                    format!("project:{id}"),
                    GraphNodeKind::Project,
                    project.name.clone(),
                    id.to_owned(),
                );
                self.edge(&me, &node, GraphEdgeLabel::ActsOn);
            }
        }
        if let Some(id) = payload["cert_id"].as_str() {
            if let Some(cert) = ref_of(id).and_then(|id| state.certificates.get(&id)) {
                let node = self.node(
                    format!("certificate:{id}"),
                    GraphNodeKind::Certificate,
                    id.to_owned(),
                    cert.cert_type.to_string(),
                );
                self.edge(&me, &node, GraphEdgeLabel::ActsOn);
            }
        }
        Some(())
    }

    fn around_case(&mut self, chain: &LocalChain, key: &str) -> Option<()> {
        let state = &chain.state;
        let case = case_of(state, key)?;
        let me = self.node(
            format!("case:{key}"),
            GraphNodeKind::Case,
            key.to_owned(),
            case.title.clone(),
        );
        for e in case.events.iter().rev().take(MAX_NEIGHBOURS) {
            let tx = self.tx(chain, &e.tx_id, &format!("case.{}", e.action));
            self.edge(&tx, &me, GraphEdgeLabel::ActsOn);
            let official = self.official(state, &e.official);
            self.edge(&official, &tx, GraphEdgeLabel::Signed);
        }
        Some(())
    }

    fn around_project(&mut self, chain: &LocalChain, key: &str) -> Option<()> {
        let state = &chain.state;
        let project = state.projects.get(&ref_of(key)?)?;
        let me = self.node(
            format!("project:{key}"),
            GraphNodeKind::Project,
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
            self.edge(&official, &me, party_label(party));
        }
        let events = project.payments.values().flat_map(|pay| pay.events.iter());
        for e in events.take(MAX_NEIGHBOURS) {
            let tx = self.tx(chain, &e.tx_id, &format!("payment.{}", e.step));
            self.edge(&tx, &me, GraphEdgeLabel::ActsOn);
        }
        Some(())
    }

    fn around_official(
        &mut self,
        state: &State,
        index: Option<&CaseIndex>,
        id: &KeyId,
    ) -> Option<()> {
        let official = state.officials.get(id)?;
        let me = self.official(state, id);
        let dept = state.departments.get(&official.department)?;
        let node = self.node(
            format!("department:{}", dept.id),
            GraphNodeKind::Department,
            dept.name.clone(),
            dept.id.to_string(),
        );
        self.edge(&me, &node, GraphEdgeLabel::MemberOf);
        let cases: Vec<&Case> = match index {
            Some(index) => index
                .cases_of(id)
                .filter_map(|c| state.cases.resident().get(c))
                .take(MAX_NEIGHBOURS)
                .map(|c| &**c)
                .collect(),
            None => state
                .cases
                .resident()
                .values()
                .filter(|c| c.opener == *id || c.events.iter().any(|e| e.official == *id))
                .take(MAX_NEIGHBOURS)
                .map(|c| &**c)
                .collect(),
        };
        for case in cases {
            let node = self.node(
                format!("case:{}", case.id),
                GraphNodeKind::Case,
                case.id.to_string(),
                case.title.clone(),
            );
            self.edge(&me, &node, GraphEdgeLabel::Signed);
        }
        let projects = state.projects.values().filter(|p| {
            p.payments
                .values()
                .any(|pay| pay.events.iter().any(|e| e.official == *id))
        });
        for project in projects.take(MAX_NEIGHBOURS) {
            let node = self.node(
                format!("project:{}", project.id),
                GraphNodeKind::Project,
                project.name.clone(),
                project.id.to_string(),
            );
            self.edge(&me, &node, GraphEdgeLabel::Signed);
        }
        Some(())
    }

    fn around_department(&mut self, state: &State, key: &str) -> Option<()> {
        let dept = state
            .departments
            .get(&DeptId::try_from(key.to_owned()).ok()?)?;
        let me = self.node(
            format!("department:{key}"),
            GraphNodeKind::Department,
            dept.name.clone(),
            key.to_owned(),
        );
        let members = state.officials.values().filter(|o| o.department == dept.id);
        for official in members.take(MAX_NEIGHBOURS) {
            let node = self.official(state, &official.id);
            self.edge(&node, &me, GraphEdgeLabel::MemberOf);
        }
        Some(())
    }

    fn around_certificate(&mut self, chain: &LocalChain, key: &str) -> Option<()> {
        let state = &chain.state;
        let cert = state.certificates.get(&ref_of(key)?)?;
        let me = self.node(
            format!("certificate:{key}"),
            GraphNodeKind::Certificate,
            key.to_owned(),
            cert.cert_type.to_string(),
        );
        let issuer = self.official(state, &cert.issuer);
        self.edge(&issuer, &me, GraphEdgeLabel::Issued);
        for v in cert.verifications.iter().rev().take(MAX_NEIGHBOURS) {
            let tx = self.tx(chain, &v.tx_id, "certificate.verify");
            self.edge(&tx, &me, GraphEdgeLabel::ActsOn);
            let official = self.official(state, &v.official);
            self.edge(&official, &tx, GraphEdgeLabel::Signed);
        }
        Some(())
    }
}
