//! An index of the verified state's cases behind the case list and the
//! inbox. A district has hundreds of thousands of cases, and reading each
//! case (its own allocations, its events elsewhere) for every query costs
//! 70–150 ms at 300,000; the index keeps one compact row per case in list
//! order (most recently changed first) with what the filters need, and per
//! (department, role) the open cases waiting for it.
//!
//! Invariant: an index answers only for the state it was built from; the
//! service builds one per new head, off the lock, from a snapshot of the
//! state (a clone of the persistent maps), and answers a query from that
//! same snapshot. Its answers equal
//! [`crate::views::case_page`]'s and the ledger's full inbox scan (tests).

use std::collections::HashMap;

use govchain_ledger::crypto::KeyId;
use govchain_ledger::state::kinds::{DeptId, RefId, Role};
use govchain_ledger::state::views::{self, InboxItem};
use govchain_ledger::state::workflow::{Case, CaseStatus, Template};
use govchain_ledger::state::State;
use govchain_ledger::state::StoredStateError;
use govchain_ledger::types::Timestamp;

use crate::dto::{CasePage, CaseQuery};
use crate::views::{case_summary, query_text, template, u32_of, waiting_for};

/// One case as the filters see it.
#[derive(Debug)]
struct Row {
    id: RefId,
    status: CaseStatus,
    /// Unix ms after which the current group is expired (open cases with a
    /// deadline): the ledger's `expired_stage` is `now > expires`.
    expires: Option<i64>,
    /// The case id, title and template name, lower case, NUL-separated.
    text: Box<str>,
}

/// What a text search of cases looks in: the case id, title and matter
/// name, lower case, NUL-separated.
pub fn case_text(c: &Case, t: &Template) -> String {
    format!("{}\0{}\0{}", c.id.as_str(), c.title, t.name).to_lowercase()
}

/// The cases of one state, in list order.
#[derive(Debug)]
pub struct CaseIndex {
    rows: Vec<Row>,
    /// Rows of the cases each official opened or signed a step of.
    by_official: HashMap<KeyId, Vec<u32>>,
    /// Open cases (row numbers, ascending) by the department and role of a
    /// stage of their current group that still needs approvals.
    waiting: HashMap<(DeptId, Role), Vec<u32>>,
}

impl CaseIndex {
    /// Indexes every case of `s`.
    pub fn build(s: &State) -> Self {
        let mut order: Vec<(i64, &Case)> = s
            .cases
            .resident()
            .values()
            .filter(|c| template(s, c).is_some())
            .map(|c| {
                (
                    c.events.last().map_or(i64::MIN, |e| e.time.unix_millis()),
                    &**c,
                )
            })
            .collect();
        order.sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.id.cmp(&b.1.id)));
        let mut rows = Vec::with_capacity(order.len());
        let mut waiting: HashMap<(DeptId, Role), Vec<u32>> = HashMap::new();
        let mut by_official: HashMap<KeyId, Vec<u32>> = HashMap::new();
        for (n, (_, c)) in order.into_iter().enumerate() {
            let Some(t) = template(s, c) else { continue };
            let expires = (c.status == CaseStatus::Open)
                .then(|| {
                    t.group_of(c.current)
                        .filter_map(|i| t.stages[i].deadline_secs)
                        .map(|secs| {
                            let ms = i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX);
                            c.reached_at.unix_millis().saturating_add(ms)
                        })
                        .min()
                })
                .flatten();
            for i in c.waiting_stages(t) {
                let st = &t.stages[i];
                let list = waiting
                    .entry((st.department.clone(), st.role.clone()))
                    .or_default();
                if list.last() != Some(&u32_of(n)) {
                    list.push(u32_of(n));
                }
            }
            for who in std::iter::once(&c.opener).chain(c.events.iter().map(|e| &e.official)) {
                let list = by_official.entry(*who).or_default();
                if list.last() != Some(&u32_of(n)) {
                    list.push(u32_of(n));
                }
            }
            rows.push(Row {
                id: c.id.clone(),
                status: c.status,
                expires,
                text: case_text(c, t).into_boxed_str(),
            });
        }
        Self {
            rows,
            by_official,
            waiting,
        }
    }

    /// The cases whose id, title or matter name contains `lower` (lower
    /// case), in list order.
    pub fn matching<'a>(&'a self, lower: &'a str) -> impl Iterator<Item = &'a RefId> + 'a {
        // One searcher for every row (building one per row cost more than
        // the search itself with a long needle such as a transaction id).
        let finder = memchr::memmem::Finder::new(lower);
        self.rows
            .iter()
            .filter(move |r| finder.find(r.text.as_bytes()).is_some())
            .map(|r| &r.id)
    }

    /// The cases `official` opened or signed a step of, in list order.
    pub fn cases_of(&self, official: &KeyId) -> impl Iterator<Item = &RefId> + '_ {
        self.by_official
            .get(official)
            .into_iter()
            .flatten()
            .map(|n| &self.rows[*n as usize].id)
    }

    /// Rows of open cases waiting for a role `me` holds, in list order.
    fn candidates(&self, s: &State, me: &KeyId, now: Timestamp) -> Vec<u32> {
        let mut rows: Vec<u32> = views::roles_of(s, me, now)
            .into_iter()
            .filter_map(|r| self.waiting.get(&r))
            .flatten()
            .copied()
            .collect();
        rows.sort_unstable();
        rows.dedup();
        rows
    }

    /// [`crate::views::case_page`] from the index: the filters run over the
    /// rows; only a "waiting for me" candidate and the page's cases are read.
    pub fn page(&self, s: &State, me: Option<&KeyId>, now: Timestamp, q: &CaseQuery) -> CasePage {
        let text = query_text(q);
        let now_ms = now.unix_millis();
        let shown = |r: &Row| {
            if r.status == CaseStatus::Open && r.expires.is_some_and(|e| now_ms > e) {
                crate::dto::CaseStatus::Expired
            } else {
                r.status.into()
            }
        };
        let finder = text.as_deref().map(memchr::memmem::Finder::new);
        let fits = |r: &Row| {
            finder
                .as_ref()
                .is_none_or(|f| f.find(r.text.as_bytes()).is_some())
                && q.status.is_none_or(|st| shown(r) == st)
        };
        let case = |r: &Row| s.cases.resident().get(&r.id);
        let hits: Vec<&Row> = if q.waiting_for_me {
            let Some(me) = me else {
                return CasePage {
                    offset: q.offset,
                    total: 0,
                    items: Vec::new(),
                };
            };
            self.candidates(s, me, now)
                .into_iter()
                .map(|n| &self.rows[n as usize])
                .filter(|r| fits(r))
                .filter(|r| {
                    case(r).is_some_and(|c| {
                        template(s, c).is_some_and(|t| waiting_for(s, Some(me), c, t, now))
                    })
                })
                .collect()
        } else if text.is_none() && q.status.is_none() {
            self.rows.iter().collect()
        } else {
            self.rows.iter().filter(|r| fits(r)).collect()
        };
        let offset = q.offset as usize;
        CasePage {
            offset: q.offset,
            total: u32_of(hits.len()),
            items: hits
                .iter()
                .skip(offset)
                .take(q.limit as usize)
                .filter_map(|r| {
                    let c = case(r)?;
                    Some(case_summary(s, me, now, c, template(s, c)?))
                })
                .collect(),
        }
    }

    /// The ledger's inbox of `me`, read from the cases waiting for its roles.
    pub fn inbox(
        &self,
        s: &State,
        me: &KeyId,
        now: Timestamp,
    ) -> Result<Vec<InboxItem>, StoredStateError> {
        let ids: Vec<RefId> = self
            .candidates(s, me, now)
            .into_iter()
            .map(|n| self.rows[n as usize].id.clone())
            .collect();
        views::inbox_among(s, &ids, me, now)
    }
}
