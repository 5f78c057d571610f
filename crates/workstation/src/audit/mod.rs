//! The auditor's queries over the verified chain: search (transaction id,
//! block height, case, project, official, certificate), the neighbourhood
//! graph (blocks → transactions → cases / projects / officials), dashboards
//! and a project's spending over time. Pure functions of the verified state;
//! blocks come from the cache through `block_at`.
//!
//! This module owns search; [`graph`] the chain graph, [`dashboard`] the
//! dashboards and spending over time.

mod dashboard;
mod graph;

use govchain_ledger::block::Block;
use govchain_ledger::tx::Envelope;

use govchain_ledger::state::workflow::Case;
use govchain_ledger::state::State;

use crate::case_index::CaseIndex;
use crate::dto::{SearchHit, SearchHitKind};
use crate::verify::{tx_key, LocalChain};
use crate::views::{case_matches, template};

pub use dashboard::{dashboard, rejections, spending};
pub use graph::graph;

/// At most this many search hits.
pub const MAX_HITS: usize = 50;

fn hit(kind: SearchHitKind, key: String, label: String, detail: String) -> SearchHit {
    SearchHit {
        kind,
        key,
        label,
        detail,
        height: None,
        index: None,
    }
}

/// Finds what `query` names. A number is a block height; 16–64 hex digits
/// are a transaction id prefix (or an official's key id); any text matches
/// case ids, titles and matter names (newest first with the case `index`
/// of this chain's head), project ids and names, official names and
/// fingerprints, certificate ids (case-insensitive substring).
pub fn search(
    chain: &LocalChain,
    index: Option<&CaseIndex>,
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
                SearchHitKind::Block,
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
        for FoundTx { height, index, tx } in find_txs(chain, &compact, &block_at) {
            let id = tx.id().map(|d| d.to_hex()).unwrap_or_default();
            let mut x = hit(
                SearchHitKind::Tx,
                id,
                tx.body.kind.clone(),
                format!("#{height} · {index}"),
            );
            x.height = Some(height);
            x.index = Some(index);
            hits.push(x);
        }
    }
    hits.extend(case_hits(s, index, &lower));
    for p in s.projects.values() {
        if p.id.as_str().to_lowercase().contains(&lower) || p.name.to_lowercase().contains(&lower) {
            hits.push(hit(
                SearchHitKind::Project,
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
                SearchHitKind::Official,
                o.id.to_hex(),
                o.name.clone(),
                format!("{dept} · {}", o.id.fingerprint()),
            ));
        }
    }
    for c in s.certificates.values() {
        if c.id.as_str().to_lowercase().contains(&lower) {
            hits.push(hit(
                SearchHitKind::Certificate,
                c.id.to_string(),
                c.id.to_string(),
                c.cert_type.to_string(),
            ));
        }
    }
    hits.truncate(MAX_HITS);
    hits
}

/// The cases whose id, title or matter name contains `lower`: newest
/// first from the case index, else by a scan.
fn case_hits(s: &State, index: Option<&CaseIndex>, lower: &str) -> Vec<SearchHit> {
    let case_hit = |c: &Case| {
        hit(
            SearchHitKind::Case,
            c.id.to_string(),
            c.id.to_string(),
            c.title.clone(),
        )
    };
    match index {
        Some(index) => index
            .matching(lower)
            .filter_map(|id| s.cases.resident().get(id))
            .take(MAX_HITS)
            .map(|c| case_hit(c))
            .collect(),
        None => s
            .cases
            .resident()
            .values()
            .filter(|c| template(s, c).is_some_and(|t| case_matches(c, t, lower)))
            .take(MAX_HITS)
            .map(|c| case_hit(c))
            .collect(),
    }
}

/// A verified transaction found by id: where it is, and the transaction.
#[derive(Debug, Clone)]
pub struct FoundTx {
    pub height: u64,
    /// Its index in the block.
    pub index: u32,
    pub tx: Envelope,
}

/// Verified transactions whose id (lowercase hex) starts with `prefix` (at
/// least 16 hex digits). The index finds
/// candidates by the first 8 bytes; the full id is compared here.
pub fn find_txs(
    chain: &LocalChain,
    prefix: &str,
    block_at: impl Fn(u64) -> Option<Block>,
) -> Vec<FoundTx> {
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
                .then_some(FoundTx { height, index, tx })
        })
        .collect()
}
