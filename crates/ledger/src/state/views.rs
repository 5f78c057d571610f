//! Read models derived from the state for the screens: an official's inbox,
//! case timelines and a project's fund trace (flows for a Sankey diagram).
//! Pure functions of the state; the workstation computes them from its
//! verified copy, the node from its own.

use serde::Serialize;

use super::kinds::{DeptId, Party, RefId, Role};
use super::sharing::{AccessRecord, BlacklistEntry};
use super::workflow::{Case, Template};
use super::State;
use crate::crypto::KeyId;
use crate::types::{Fen, Hash32, Timestamp};

/// A case waiting for the official's signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InboxItem {
    pub case_id: RefId,
    pub title: String,
    pub template: String,
    pub stage: usize,
    pub stage_name: String,
    pub department: String,
    pub waiting_since: Timestamp,
    /// When the stage's deadline passes, if it has one.
    pub deadline: Option<Timestamp>,
}

/// Cases whose current stages the official may sign now (role, department
/// and scope at `now`; not yet signed by them), soonest deadline first.
/// Reads every case: a backed state's stored ones too.
pub fn inbox(
    s: &State,
    official: &KeyId,
    now: Timestamp,
) -> Result<Vec<InboxItem>, super::StoredStateError> {
    let mut items = Vec::new();
    s.each_case(|case| inbox_items(s, case, official, now, &mut items))?;
    sort_inbox(&mut items);
    Ok(items)
}

/// [`inbox`] over the cases `ids` only: what a node's index of waiting
/// cases ([`waiting_roles`]) names for the official's roles. Each case is
/// judged as [`inbox`] judges it, so an id that no longer waits is left
/// out.
pub fn inbox_among(
    s: &State,
    ids: &[RefId],
    official: &KeyId,
    now: Timestamp,
) -> Result<Vec<InboxItem>, super::StoredStateError> {
    let mut items = Vec::new();
    for id in ids {
        if let Some(case) = s.case(id)? {
            inbox_items(s, &case, official, now, &mut items);
        }
    }
    sort_inbox(&mut items);
    Ok(items)
}

fn sort_inbox(items: &mut [InboxItem]) {
    items.sort_by(|a, b| {
        let key = |i: &InboxItem| (i.deadline.is_none(), i.deadline, i.waiting_since);
        key(a).cmp(&key(b)).then_with(|| a.case_id.cmp(&b.case_id))
    });
}

/// Where a case waits: the department and role of each stage of its
/// current group that still needs approvals (none once it is closed), and
/// when that group expires (its earliest deadline), if it has a deadline.
pub fn waiting_roles(s: &State, case: &Case) -> (Vec<(DeptId, Role)>, Option<Timestamp>) {
    let Some(t) = s
        .templates
        .get(&Template::key(&case.template, case.version))
    else {
        return (Vec::new(), None);
    };
    let mut roles: Vec<(DeptId, Role)> = case
        .waiting_stages(t)
        .into_iter()
        .map(|i| (t.stages[i].department.clone(), t.stages[i].role.clone()))
        .collect();
    roles.sort();
    roles.dedup();
    if roles.is_empty() {
        return (roles, None);
    }
    let expires = t
        .group_of(case.current)
        .filter_map(|i| t.stages[i].deadline_secs)
        .min()
        .and_then(|secs| {
            let ms = i64::try_from(secs.saturating_mul(1000)).ok()?;
            Timestamp::from_unix_millis(case.reached_at.unix_millis().saturating_add(ms))
        });
    (roles, expires)
}

/// The departments and roles `official` holds at `now`.
pub fn roles_of(s: &State, official: &KeyId, now: Timestamp) -> Vec<(DeptId, Role)> {
    let mut roles: Vec<(DeptId, Role)> = s
        .grants_by_official
        .get(official)
        .into_iter()
        .flatten()
        .filter_map(|id| s.grants.get(id))
        .filter(|g| g.official == *official && g.counts_at(now))
        .map(|g| (g.department.clone(), g.role.clone()))
        .collect();
    roles.sort();
    roles.dedup();
    roles
}

/// The inbox items of one case.
fn inbox_items(
    s: &State,
    case: &Case,
    official: &KeyId,
    now: Timestamp,
    items: &mut Vec<InboxItem>,
) {
    let Some(t) = s
        .templates
        .get(&Template::key(&case.template, case.version))
    else {
        return;
    };
    if case.expired_stage(t, now).is_some() {
        return;
    }
    for stage in case.waiting_stages(t) {
        let st = &t.stages[stage];
        if case.approvals[stage].contains(official)
            || !s.has_role(official, &st.department, &st.role, &case.scope, now)
        {
            continue;
        }
        let deadline = st.deadline_secs.and_then(|secs| {
            let ms = i64::try_from(secs.saturating_mul(1000)).ok()?;
            Timestamp::from_unix_millis(case.reached_at.unix_millis().saturating_add(ms))
        });
        items.push(InboxItem {
            case_id: case.id.clone(),
            title: case.title.clone(),
            template: t.name.clone(),
            stage,
            stage_name: st.name.clone(),
            department: st.department.to_string(),
            waiting_since: case.reached_at,
            deadline,
        });
    }
}

/// The status a person should see: `expired` when an open case's current
/// stage passed its deadline at `now`.
pub fn case_status(s: &State, case: &Case, now: Timestamp) -> &'static str {
    let expired = s
        .templates
        .get(&Template::key(&case.template, case.version))
        .and_then(|t| case.expired_stage(t, now))
        .is_some();
    if expired {
        "expired"
    } else {
        case.status.as_str()
    }
}

/// One edge of the fund-flow graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flow {
    pub source: String,
    pub target: String,
    pub amount: Fen,
    /// `paid`, `pending` or `unallocated`.
    pub status: &'static str,
}

/// Where a project's money went: budget → each payment → contractor and
/// workers' payroll (a committed payroll's lines not yet received go to
/// `payroll-incomplete:<payment>`); the rest of the budget as `unallocated`. Every fen of
/// the budget appears exactly once on the budget's outgoing edges.
pub fn fund_trace(s: &State, project: &RefId) -> Option<Vec<Flow>> {
    let p = s.projects.get(project)?;
    let budget = format!("budget:{}", p.id);
    let contractor = format!("party:{}", Party::Contractor.as_str());
    let mut flows = Vec::new();
    let mut allocated = Fen::ZERO;
    for pay in p.payments.values() {
        let status = match pay.status {
            super::funds::PaymentStatus::Executed => "paid",
            st if st.is_pending() => "pending",
            _ => continue,
        };
        let node = format!("payment:{}", pay.id);
        allocated = allocated.checked_add(pay.amount).unwrap_or(Fen::MAX);
        flows.push(Flow {
            source: budget.clone(),
            target: node.clone(),
            amount: pay.amount,
            status,
        });
        let payroll = pay.payroll_total();
        for line in &pay.payroll {
            flows.push(Flow {
                source: node.clone(),
                target: format!("worker:{}", &line.worker.to_hex()[..12]),
                amount: line.amount,
                status,
            });
        }
        // A committed payroll whose chunks are still arriving: the lines not
        // yet on chain go to one node, not to the contractor.
        let committed = pay.payroll_commitment.as_ref().map_or(payroll, |c| c.total);
        let missing = committed.checked_sub(payroll).unwrap_or(Fen::ZERO);
        if missing > Fen::ZERO {
            flows.push(Flow {
                source: node.clone(),
                target: format!("payroll-incomplete:{}", pay.id),
                amount: missing,
                status,
            });
        }
        let rest = pay.amount.checked_sub(committed).unwrap_or(Fen::ZERO);
        if rest > Fen::ZERO {
            flows.push(Flow {
                source: node,
                target: contractor.clone(),
                amount: rest,
                status,
            });
        }
    }
    let unallocated = p.budget.checked_sub(allocated).unwrap_or(Fen::ZERO);
    if unallocated > Fen::ZERO {
        flows.push(Flow {
            source: budget,
            target: "unallocated".into(),
            amount: unallocated,
            status: "unallocated",
        });
    }
    Some(flows)
}

/// Active blacklist entries for an identity hash (§12.9), from every department.
pub fn blacklist_lookup(s: &State, subject: &Hash32) -> Vec<BlacklistEntry> {
    let prefix = format!("{subject}/");
    s.blacklist
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .map(|(_, e)| e.clone())
        .collect()
}

/// A filter over the access log; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct AccessQuery {
    pub official: Option<KeyId>,
    pub department: Option<DeptId>,
    pub dataset: Option<String>,
    /// Inclusive lower and exclusive upper bound on the access time.
    pub from: Option<Timestamp>,
    pub until: Option<Timestamp>,
    /// At most this many records, newest first.
    pub limit: usize,
}

/// Recorded accesses matching `q`, newest first.
pub fn access_log(s: &State, q: &AccessQuery) -> Vec<AccessRecord> {
    s.access_log
        .iter()
        .rev()
        .filter(|r| {
            q.official.is_none_or(|o| r.official == o)
                && q.department.as_ref().is_none_or(|d| r.department == *d)
                && q.dataset.as_ref().is_none_or(|d| r.entry.dataset == *d)
                && q.from.is_none_or(|t| r.entry.at >= t)
                && q.until.is_none_or(|t| r.entry.at < t)
        })
        .take(if q.limit == 0 { usize::MAX } else { q.limit })
        .map(|r| AccessRecord::clone(r))
        .collect()
}
