//! Read-only queries on the verified chain: inbox, cases, projects, the
//! explorer's blocks and transactions, access log, fund trace, search,
//! graph, dashboards and spending.

use std::sync::Arc;

use govchain_ledger::block::Block;
use govchain_ledger::crypto::KeyId;
use govchain_ledger::state::{views, State};
use govchain_ledger::types::{Hash32, Timestamp};

use crate::case_index::CaseIndex;
use crate::dto::{FlowStatus, InboxEntry, OutboxStatus};
use crate::error::WsError;
use crate::verify::LocalChain;

use super::{now, ref_id, Inner, Workstation};

/// The most cases one `case_page` returns.
pub const CASE_PAGE_MAX: u32 = 500;
/// The most payroll lines one `payroll_page` returns.
pub const PAYROLL_PAGE_MAX: u32 = 5_000;

impl Workstation {
    /// Cases waiting for the active key's official, from the verified cache
    /// (the cases its case index names for the official's roles).
    pub fn inbox(&self) -> Result<Vec<InboxEntry>, WsError> {
        let entries = self.indexed(|s, index, me, t| {
            let Some(me) = me else {
                return Ok(Vec::new());
            };
            index.inbox(s, me, t).map(|items| {
                items
                    .into_iter()
                    .map(|i| InboxEntry {
                        case_id: i.case_id.to_string(),
                        title: i.title,
                        template: i.template,
                        stage: u32::try_from(i.stage).unwrap_or(u32::MAX),
                        stage_name: i.stage_name,
                        department_name: i
                            .department
                            .clone()
                            .try_into()
                            .ok()
                            .and_then(|d| s.departments.get(&d))
                            .map(|d| d.name.clone())
                            .unwrap_or_default(),
                        department: i.department,
                        waiting_since: i.waiting_since.to_string(),
                        deadline: i.deadline.map(|d| d.to_string()),
                    })
                    .collect()
            })
        })?;
        // A workstation's state holds every case: nothing to read fails.
        entries
            .transpose()
            .map(Option::unwrap_or_default)
            .map_err(|e| WsError::Storage(e.to_string()))
    }

    /// The active key's official and the view time, with the state.
    /// Like [`Self::view`], on a snapshot of the verified state with its
    /// case index.
    pub(super) fn indexed<R>(
        &self,
        f: impl FnOnce(&State, &CaseIndex, Option<&KeyId>, Timestamp) -> R,
    ) -> Result<Option<R>, WsError> {
        Ok(self
            .derived(|i| &mut i.case_index, CaseIndex::build)?
            .map(|(s, index, me, t)| f(&s, &index, me.as_ref(), t)))
    }

    /// A snapshot of the verified state (a clone of its persistent maps),
    /// the active official, the time, and what `build` derives from that
    /// state: kept in `slot` per head, built here off the lock when the head
    /// has moved (the snapshot is what it was built from, so both agree).
    #[allow(clippy::type_complexity)]
    fn derived<T>(
        &self,
        slot: fn(&mut Inner) -> &mut Option<(Hash32, Arc<T>)>,
        build: impl FnOnce(&State) -> T,
    ) -> Result<Option<(State, Arc<T>, Option<KeyId>, Timestamp)>, WsError> {
        let signer = self.active_key_id()?;
        let (state, me, t, head, kept) = {
            let mut inner = self.lock()?;
            let Some(chain) = inner.chain.as_ref() else {
                return Ok(None);
            };
            let me = signer.map(|k| chain.state.key_index.get(&k).copied().unwrap_or(k));
            let t = chain.state.time.map_or_else(now, |t| t.max(now()));
            let (state, head) = (chain.state.clone(), chain.cursor.last_hash);
            let kept = slot(&mut inner)
                .as_ref()
                .filter(|(h, _)| *h == head)
                .map(|(_, v)| v.clone());
            (state, me, t, head, kept)
        };
        let value = if let Some(v) = kept {
            v
        } else {
            let fresh = Arc::new(build(&state));
            let mut inner = self.lock()?;
            if inner
                .chain
                .as_ref()
                .is_some_and(|c| c.cursor.last_hash == head)
            {
                *slot(&mut inner) = Some((head, fresh.clone()));
            }
            fresh
        };
        Ok(Some((state, value, me, t)))
    }

    /// Builds what is derived once per head (the case index, the
    /// dashboards' figures) if the current head has none yet; the
    /// background loop calls this after a sync.
    pub fn warm_derived(&self) -> Result<(), WsError> {
        self.derived(|i| &mut i.case_index, CaseIndex::build)?;
        self.derived(|i| &mut i.dashboard, |s| crate::audit::dashboard(s, &[]))?;
        Ok(())
    }

    pub(super) fn view<R>(
        &self,
        f: impl FnOnce(&govchain_ledger::state::State, Option<&KeyId>, Timestamp) -> R,
    ) -> Result<Option<R>, WsError> {
        let signer = self.active_key_id()?;
        let inner = self.lock()?;
        let Some(chain) = inner.chain.as_ref() else {
            return Ok(None);
        };
        let me = signer.map(|k| chain.state.key_index.get(&k).copied().unwrap_or(k));
        let t = chain.state.time.map_or_else(now, |t| t.max(now()));
        Ok(Some(f(&chain.state, me.as_ref(), t)))
    }

    /// Every case (the case list pages with [`Self::case_page`]).
    pub fn cases(&self) -> Result<Vec<crate::dto::CaseSummary>, WsError> {
        Ok(self.view(crate::views::cases)?.unwrap_or_default())
    }

    /// The cases that match `q`, a page at a time (1 … [`CASE_PAGE_MAX`]).
    pub fn case_page(&self, q: &crate::dto::CaseQuery) -> Result<crate::dto::CasePage, WsError> {
        if q.limit == 0 || q.limit > CASE_PAGE_MAX {
            return Err(WsError::BadRequest(format!(
                "a page has 1 to {CASE_PAGE_MAX} cases, not {}",
                q.limit
            )));
        }
        if q.text.as_ref().is_some_and(|t| t.chars().count() > 200) {
            return Err(WsError::BadRequest(
                "search for at most 200 characters".into(),
            ));
        }
        Ok(self
            .indexed(|s, index, me, t| index.page(s, me, t, q))?
            .unwrap_or(crate::dto::CasePage {
                offset: q.offset,
                total: 0,
                items: Vec::new(),
            }))
    }

    pub fn case_detail(&self, case_id: &str) -> Result<crate::dto::CaseDetail, WsError> {
        let id = ref_id(case_id)?;
        self.view(|s, me, t| crate::views::case_detail(s, &id, me, t))?
            .flatten()
            .ok_or_else(|| WsError::NotFound(format!("case {case_id}")))
    }

    pub fn projects(&self) -> Result<Vec<crate::dto::ProjectSummary>, WsError> {
        Ok(self
            .view(|s, me, _| crate::views::projects(s, me))?
            .unwrap_or_default())
    }

    /// One project; each payment lists its first payroll lines
    /// ([`crate::views::PAYROLL_SHOWN`]).
    pub fn project_detail(&self, project_id: &str) -> Result<crate::dto::ProjectDetail, WsError> {
        self.project_with_payroll(project_id, crate::views::PAYROLL_SHOWN)
    }

    /// One project with up to `payroll_shown` payroll lines per payment.
    pub(crate) fn project_with_payroll(
        &self,
        project_id: &str,
        payroll_shown: usize,
    ) -> Result<crate::dto::ProjectDetail, WsError> {
        let id = ref_id(project_id)?;
        self.view(|s, me, _| crate::views::project_detail(s, &id, me, payroll_shown))?
            .flatten()
            .ok_or_else(|| WsError::NotFound(format!("project {project_id}")))
    }

    /// Up to `limit` (1 … [`PAYROLL_PAGE_MAX`]) payroll lines of a payment
    /// from line `offset`.
    pub fn payroll_page(
        &self,
        project_id: &str,
        payment_id: &str,
        offset: u32,
        limit: u32,
    ) -> Result<crate::dto::PayrollPage, WsError> {
        if limit == 0 || limit > PAYROLL_PAGE_MAX {
            return Err(WsError::BadRequest(format!(
                "a page has 1 to {PAYROLL_PAGE_MAX} payroll lines, not {limit}"
            )));
        }
        let (project, payment) = (ref_id(project_id)?, ref_id(payment_id)?);
        let (offset, limit) = (offset as usize, limit as usize);
        self.view(|s, _, _| crate::views::payroll_page(s, &project, &payment, offset, limit))?
            .flatten()
            .ok_or_else(|| {
                WsError::NotFound(format!("payment {payment_id} of project {project_id}"))
            })
    }

    /// Blocks of the verified cache below `before`, newest first.
    pub fn explorer_blocks(
        &self,
        before: Option<u64>,
        limit: u64,
    ) -> Result<Vec<crate::dto::BlockSummary>, WsError> {
        let inner = self.lock()?;
        let Some(chain) = inner.chain.as_ref() else {
            return Ok(Vec::new());
        };
        let cp = inner.cache.checkpoint()?.map(|c| c.size);
        inner
            .cache
            .headers_desc(before, limit.clamp(1, 200))?
            .iter()
            .map(|h| {
                Ok(crate::explorer::summary(
                    &chain.state,
                    &crate::explorer::parse_header(&h.header_json)?,
                    &h.hash,
                    cp,
                ))
            })
            .collect()
    }

    pub(super) fn cached_block(&self, height: u64) -> Result<(Block, String), WsError> {
        let stored = self
            .lock()?
            .cache
            .block_at(height)?
            .ok_or_else(|| WsError::NotFound(format!("block {height}")))?;
        Ok((crate::explorer::parse(&stored.json)?, stored.hash))
    }

    pub fn block_detail(&self, height: u64) -> Result<crate::dto::BlockDetail, WsError> {
        let (block, hash) = self.cached_block(height)?;
        let inner = self.lock()?;
        let cp = inner.cache.checkpoint()?.map(|c| c.size);
        let chain = inner.verified()?;
        crate::explorer::detail(&chain.state, &block, &hash, cp)
    }

    pub fn tx_detail(&self, height: u64, index: u32) -> Result<crate::dto::TxDetail, WsError> {
        let (block, _) = self.cached_block(height)?;
        let inner = self.lock()?;
        let chain = inner.verified()?;
        crate::explorer::tx_detail(&chain.state, &block, index as usize)
    }

    /// Recorded accesses to sensitive data, newest first, optionally of one
    /// department and/or one dataset; at most `limit` (≤ 1,000).
    pub fn access_log(
        &self,
        department: Option<&str>,
        dataset: Option<&str>,
        limit: u32,
    ) -> Result<Vec<crate::dto::AccessRow>, WsError> {
        let department = department
            .filter(|d| !d.is_empty())
            .map(|d| {
                d.to_owned()
                    .try_into()
                    .map_err(|e: govchain_ledger::state::kinds::InvalidId| {
                        WsError::BadRequest(e.to_string())
                    })
            })
            .transpose()?;
        let q = govchain_ledger::state::views::AccessQuery {
            department,
            dataset: dataset.filter(|d| !d.is_empty()).map(str::to_owned),
            limit: limit.clamp(1, 1000) as usize,
            ..Default::default()
        };
        Ok(self
            .view(|s, _, _| {
                views::access_log(s, &q)
                    .into_iter()
                    .map(|r| crate::dto::AccessRow {
                        at: r.entry.at.to_string(),
                        official: crate::views::official_ref(s, &r.official),
                        department_name: s
                            .departments
                            .get(&r.department)
                            .map(|d| d.name.clone())
                            .unwrap_or_default(),
                        department: r.department.to_string(),
                        dataset: r.entry.dataset.clone(),
                        operation: r.entry.operation.to_string(),
                        purpose: r.entry.purpose.clone(),
                        subject: r.entry.subject.map(|h| h.to_hex()),
                        height: r.height,
                        tx_id: r.tx_id.to_hex(),
                    })
                    .collect()
            })?
            .unwrap_or_default())
    }

    /// Where a project's money went, every fen of the budget on one edge.
    pub fn fund_trace(&self, project_id: &str) -> Result<Vec<crate::dto::FundFlow>, WsError> {
        let id = ref_id(project_id)?;
        let flows = self
            .view(|s, _, _| views::fund_trace(s, &id))?
            .flatten()
            .ok_or_else(|| WsError::NotFound(format!("project {project_id}")))?;
        flows
            .into_iter()
            .map(|f| {
                Ok(crate::dto::FundFlow {
                    status: FlowStatus::parse(f.status).ok_or_else(|| {
                        WsError::Storage(format!("unknown fund-flow status {}", f.status))
                    })?,
                    source: f.source,
                    target: f.target,
                    amount: f.amount.get(),
                })
            })
            .collect()
    }

    /// Runs `f` on the verified chain, its head's case index if one is
    /// built (callers that want it build it first) and a reader of cached
    /// blocks.
    pub(super) fn audit<R>(
        &self,
        f: impl FnOnce(&LocalChain, Option<&CaseIndex>, &dyn Fn(u64) -> Option<Block>) -> R,
    ) -> Result<Option<R>, WsError> {
        let inner = self.lock()?;
        let Some(chain) = inner.chain.as_ref() else {
            return Ok(None);
        };
        let index = inner
            .case_index
            .as_ref()
            .filter(|(head, _)| *head == chain.cursor.last_hash)
            .map(|(_, index)| index.as_ref());
        let cache = &inner.cache;
        let block_at = |h: u64| {
            cache
                .block_at(h)
                .ok()
                .flatten()
                .and_then(|b| Block::from_json(b.json.as_bytes()).ok())
        };
        Ok(Some(f(chain, index, &block_at)))
    }

    /// Search by transaction id, block height, case, project, official
    /// name or fingerprint, certificate id.
    pub fn search(&self, query: &str) -> Result<Vec<crate::dto::SearchHit>, WsError> {
        if query.len() > 200 {
            return Err(WsError::BadRequest("a search is at most 200 bytes".into()));
        }
        // The head's index (none only if a block arrived meanwhile: then
        // search scans).
        self.derived(|i| &mut i.case_index, CaseIndex::build)?;
        Ok(self
            .audit(|chain, index, block_at| crate::audit::search(chain, index, query, block_at))?
            .unwrap_or_default())
    }

    /// The neighbourhood of one graph node (`block:7`, `tx:7:0`, `case:ID`,
    /// `project:ID`, `official:KEYID`, `department:ID`).
    pub fn graph(&self, focus: &str) -> Result<crate::dto::Graph, WsError> {
        self.derived(|i| &mut i.case_index, CaseIndex::build)?;
        self.audit(|chain, index, block_at| crate::audit::graph(chain, index, focus, block_at))?
            .flatten()
            .ok_or_else(|| WsError::NotFound(format!("graph node {focus}")))
    }

    /// Approvals per department per week, median stage times, payments per
    /// project and the rejection codes this workstation's submissions met.
    pub fn dashboard(&self) -> Result<crate::dto::Dashboard, WsError> {
        let rejected: Vec<String> = self
            .lock()?
            .cache
            .outbox()?
            .into_iter()
            .filter(|r| r.status == OutboxStatus::Rejected)
            .filter_map(|r| r.code)
            .collect();
        let derived = self.derived(|i| &mut i.dashboard, |s| crate::audit::dashboard(s, &[]))?;
        let mut d = match derived {
            Some((_, d, _, _)) => (*d).clone(),
            None => crate::audit::dashboard(&govchain_ledger::state::State::new(), &[]),
        };
        d.rejections = crate::audit::rejections(&rejected);
        Ok(d)
    }

    /// A project's paid and pending money after each payment event.
    pub fn spending(&self, project_id: &str) -> Result<Vec<crate::dto::SpendPoint>, WsError> {
        self.view(|s, _, _| crate::audit::spending(s, project_id))?
            .flatten()
            .ok_or_else(|| WsError::NotFound(format!("project {project_id}")))
    }
}
