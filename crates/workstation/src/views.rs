//! Screen models computed from the verified state: the case list and a case
//! with its stages and timeline, the project list and a project with its
//! payments. Pure functions of the state, the active official and the time.

use std::collections::HashMap;

use govchain_ledger::crypto::KeyId;
use govchain_ledger::state::funds::Project;
use govchain_ledger::state::kinds::{Party, PayrollLine, RefId};
use govchain_ledger::state::views;
use govchain_ledger::state::workflow::{Case, CaseStatus, Template};
use govchain_ledger::state::State;
use govchain_ledger::types::{Hash32, Timestamp};

use crate::dto::{
    CaseAction, CaseDetail, CasePage, CaseQuery, CaseSummary, OfficialRef, PartyView,
    PaymentEventView, PaymentNextStep, PaymentStep, PaymentView, PayrollLineView, PayrollPage,
    ProjectDetail, ProjectSummary, SignBlock, StageState, StageView, TimelineEntry,
};

/// How many of the officials who may still sign a stage are listed.
pub const SIGNABLE_SHOWN: usize = 8;

/// A case's status as shown: the ledger's, or `expired` once a stage's
/// deadline passed.
pub(crate) fn case_status(s: &State, c: &Case, now: Timestamp) -> crate::dto::CaseStatus {
    if views::case_status(s, c, now) == "expired" {
        crate::dto::CaseStatus::Expired
    } else {
        c.status.into()
    }
}

pub(crate) fn u32_of(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Name and department of an official (or just the id if unknown).
pub fn official_ref(s: &State, id: &KeyId) -> OfficialRef {
    let o = s.officials.get(id);
    let department = o.map(|o| o.department.to_string()).unwrap_or_default();
    OfficialRef {
        official_id: id.to_hex(),
        fingerprint: id.fingerprint(),
        name: o.map_or_else(|| id.fingerprint(), |o| o.name.clone()),
        department_name: o
            .and_then(|o| s.departments.get(&o.department))
            .map(|d| d.name.clone())
            .unwrap_or_default(),
        department,
    }
}

pub(crate) fn template<'a>(s: &'a State, c: &Case) -> Option<&'a Template> {
    s.templates.get(&Template::key(&c.template, c.version))
}

fn may_sign(
    s: &State,
    me: Option<&KeyId>,
    c: &Case,
    t: &Template,
    stage: usize,
    now: Timestamp,
) -> bool {
    let Some(me) = me else {
        return false;
    };
    let st = &t.stages[stage];
    c.waiting_stages(t).contains(&stage)
        && c.expired_stage(t, now).is_none()
        && !c.approvals[stage].contains(me)
        && s.has_role(me, &st.department, &st.role, &c.scope, now)
}

/// Why `me` may not sign stage `stage` of the case now (`None`: it may).
pub(crate) fn sign_block(
    s: &State,
    me: Option<&KeyId>,
    c: &Case,
    t: &Template,
    stage: usize,
    now: Timestamp,
) -> Option<SignBlock> {
    let Some(me) = me else {
        return Some(SignBlock::NoKey);
    };
    if s.officials.get(me).is_none_or(|o| o.revoked_at.is_some()) {
        return Some(SignBlock::NotRegistered);
    }
    if c.status != CaseStatus::Open {
        return Some(SignBlock::CaseClosed);
    }
    if c.approvals[stage].contains(me) {
        return Some(SignBlock::AlreadySigned);
    }
    if !c.waiting_stages(t).contains(&stage) {
        return Some(SignBlock::NotThisStage);
    }
    if c.expired_stage(t, now).is_some() {
        return Some(SignBlock::Expired);
    }
    let st = &t.stages[stage];
    if s.has_role(me, &st.department, &st.role, &c.scope, now) {
        return None;
    }
    let roles: Vec<_> = s
        .grants_by_official
        .get(me)
        .into_iter()
        .flatten()
        .filter_map(|id| s.grants.get(id))
        .filter(|g| g.role == st.role && g.counts_at(now))
        .collect();
    Some(if roles.iter().any(|g| g.department == st.department) {
        SignBlock::WrongScope
    } else if roles.is_empty() {
        SignBlock::NoRole
    } else {
        SignBlock::WrongDepartment
    })
}

/// The officials who may still sign stage `stage` now (the stage's role in
/// its department for the case's scope, registered, not yet signed), by
/// name: the first `SIGNABLE_SHOWN` and how many more.
pub(crate) fn signable_by(
    s: &State,
    c: &Case,
    t: &Template,
    stage: usize,
    now: Timestamp,
) -> (Vec<OfficialRef>, u32) {
    if !c.waiting_stages(t).contains(&stage) || c.expired_stage(t, now).is_some() {
        return (Vec::new(), 0);
    }
    let st = &t.stages[stage];
    let ids: std::collections::BTreeSet<&KeyId> = s
        .grants
        .values()
        .filter(|g| {
            g.department == st.department
                && g.role == st.role
                && g.scope.covers(&c.scope)
                && g.counts_at(now)
                && !c.approvals[stage].contains(&g.official)
                && s.officials
                    .get(&g.official)
                    .is_some_and(|o| o.revoked_at.is_none())
        })
        .map(|g| &g.official)
        .collect();
    let mut all: Vec<OfficialRef> = ids.into_iter().map(|id| official_ref(s, id)).collect();
    all.sort_by(|a, b| {
        a.name
            .cmp(&b.name)
            .then_with(|| a.official_id.cmp(&b.official_id))
    });
    let more = all.len().saturating_sub(SIGNABLE_SHOWN);
    all.truncate(SIGNABLE_SHOWN);
    (all, u32_of(more))
}

/// Every case, most recently changed first.
pub fn cases(s: &State, me: Option<&KeyId>, now: Timestamp) -> Vec<CaseSummary> {
    let all = CaseQuery {
        limit: u32::MAX,
        ..CaseQuery::default()
    };
    case_page(s, me, now, &all).items
}

/// The cases that match `q`, most recently changed first, from `q.offset`:
/// the filters run over the cases themselves (each template looked up once),
/// only the cases up to the page's end are put in order, and only the
/// page's cases become summaries.
pub fn case_page(s: &State, me: Option<&KeyId>, now: Timestamp, q: &CaseQuery) -> CasePage {
    let text = query_text(q);
    let mut templates: HashMap<(&RefId, u32), Option<&Template>> = HashMap::new();
    let mut hits: Vec<(i64, &Case, &Template)> = Vec::new();
    for c in s.cases.resident().values() {
        let Some(t) = *templates
            .entry((&c.template, c.version))
            .or_insert_with(|| template(s, c))
        else {
            continue;
        };
        let matches = text.as_deref().is_none_or(|w| case_matches(c, t, w))
            && q.status.is_none_or(|st| case_status(s, c, now) == st)
            && (!q.waiting_for_me || waiting_for(s, me, c, t, now));
        if matches {
            let changed = c.events.last().map_or(i64::MIN, |e| e.time.unix_millis());
            hits.push((changed, c, t));
        }
    }
    let newest_first = |a: &(i64, &Case, &Template), b: &(i64, &Case, &Template)| {
        b.0.cmp(&a.0).then_with(|| a.1.id.cmp(&b.1.id))
    };
    let offset = q.offset as usize;
    let end = offset.saturating_add(q.limit as usize).min(hits.len());
    if end > 0 && end < hits.len() {
        hits.select_nth_unstable_by(end - 1, newest_first);
    }
    hits[..end].sort_unstable_by(newest_first);
    CasePage {
        offset: q.offset,
        total: u32_of(hits.len()),
        items: hits[offset.min(end)..end]
            .iter()
            .map(|(_, c, t)| case_summary(s, me, now, c, t))
            .collect(),
    }
}

/// The text a case query searches for: trimmed, lower case; `None` if
/// there is none.
pub(crate) fn query_text(q: &CaseQuery) -> Option<String> {
    q.text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
}

/// Whether a case's id, title or matter name contains `lower` (lower
/// case): the text search of the case list and of search.
pub(crate) fn case_matches(c: &Case, t: &Template, lower: &str) -> bool {
    [c.id.as_str(), c.title.as_str(), t.name.as_str()]
        .iter()
        .any(|f| contains_folded(f, lower))
}

/// Whether `hay` contains `needle` (already lower case), letters in any
/// case; without allocating when `needle` is ASCII.
fn contains_folded(hay: &str, needle: &str) -> bool {
    if needle.is_ascii() {
        let (h, n) = (hay.as_bytes(), needle.as_bytes());
        n.len() <= h.len() && h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
    } else {
        hay.to_lowercase().contains(needle)
    }
}

pub(crate) fn waiting_for(
    s: &State,
    me: Option<&KeyId>,
    c: &Case,
    t: &Template,
    now: Timestamp,
) -> bool {
    (0..t.stages.len()).any(|i| may_sign(s, me, c, t, i, now))
}

pub(crate) fn case_summary(
    s: &State,
    me: Option<&KeyId>,
    now: Timestamp,
    c: &Case,
    t: &Template,
) -> CaseSummary {
    let open = c.status == CaseStatus::Open;
    let time = |e: Option<&govchain_ledger::state::workflow::CaseEvent>| {
        e.map(|e| e.time.to_string()).unwrap_or_default()
    };
    CaseSummary {
        case_id: c.id.to_string(),
        title: c.title.clone(),
        template: t.name.clone(),
        status: case_status(s, c, now),
        current_stage: open.then(|| u32_of(c.current)),
        current_stage_name: open
            .then(|| t.stages.get(c.current).map(|st| st.name.clone()))
            .flatten(),
        scope: c.scope.to_string(),
        opened_at: time(c.events.first()),
        updated_at: time(c.events.last()),
        waiting_for_me: waiting_for(s, me, c, t, now),
    }
}

/// How long each stage took: from the moment the case reached it (the
/// previous stage's last signature, or the opening) to its own last
/// signature; the current group until `now`. Also the longest stage.
pub(crate) fn stage_durations(
    c: &Case,
    t: &Template,
    group: &std::ops::Range<usize>,
    now: Timestamp,
) -> (Vec<Option<u64>>, Option<usize>) {
    let mut durations: Vec<Option<u64>> = vec![None; t.stages.len()];
    let mut reached = c.events.first().map(|e| e.time);
    for e in &c.events {
        if let (Some(i), Some(from)) = (e.stage, reached) {
            if e.action == "approve" || e.action == "reject" {
                if let Some(d) = durations.get_mut(i) {
                    let ms = e.time.unix_millis().saturating_sub(from.unix_millis());
                    *d = Some(u64::try_from(ms).unwrap_or(0));
                }
                reached = Some(e.time);
            }
        }
    }
    if c.status == CaseStatus::Open {
        let ms = now.unix_millis().saturating_sub(c.reached_at.unix_millis());
        for i in group.clone() {
            if let Some(d) = durations.get_mut(i) {
                *d = Some(u64::try_from(ms).unwrap_or(0));
            }
        }
    }
    let longest = durations
        .iter()
        .enumerate()
        .filter_map(|(i, d)| d.map(|d| (d, i)))
        .max()
        .map(|(_, i)| i);
    (durations, longest)
}

/// One case: stages as they stand and the signed timeline.
pub fn case_detail(
    s: &State,
    id: &RefId,
    me: Option<&KeyId>,
    now: Timestamp,
) -> Option<CaseDetail> {
    let c = s.cases.resident().get(id)?;
    let t = template(s, c)?;
    let group = t.group_of(c.current);
    let (durations, longest) = stage_durations(c, t, &group, now);
    let stages = t
        .stages
        .iter()
        .enumerate()
        .map(|(i, st)| {
            let state = match c.status {
                CaseStatus::Approved => StageState::Done,
                CaseStatus::Open if group.contains(&i) => {
                    if c.approvals[i].len() >= st.threshold as usize {
                        StageState::Done
                    } else {
                        StageState::Current
                    }
                }
                CaseStatus::Open if i < group.start => StageState::Done,
                CaseStatus::Open => StageState::Pending,
                CaseStatus::Rejected if group.contains(&i) => StageState::Rejected,
                _ if i < group.start => StageState::Done,
                _ => StageState::Skipped,
            };
            let deadline = (state == StageState::Current)
                .then(|| {
                    st.deadline_secs.and_then(|secs| {
                        let ms = i64::try_from(secs.saturating_mul(1000)).ok()?;
                        Timestamp::from_unix_millis(c.reached_at.unix_millis().saturating_add(ms))
                    })
                })
                .flatten()
                .map(|d| d.to_string());
            let (signable, more) = signable_by(s, c, t, i, now);
            StageView {
                index: u32_of(i),
                name: st.name.clone(),
                department: st.department.to_string(),
                department_name: s
                    .departments
                    .get(&st.department)
                    .map(|d| d.name.clone())
                    .unwrap_or_default(),
                role: st.role.to_string(),
                group: st.group.clone(),
                threshold: st.threshold,
                state,
                approvals: c.approvals[i].iter().map(|o| official_ref(s, o)).collect(),
                deadline,
                mine: may_sign(s, me, c, t, i, now),
                sign_block: sign_block(s, me, c, t, i, now),
                signable_by: signable,
                signable_more: more,
                duration_ms: durations[i],
                longest: longest == Some(i),
            }
        })
        .collect();
    let timeline = c
        .events
        .iter()
        // The ledger records only the actions of `CaseAction`.
        .filter_map(|e| {
            Some(TimelineEntry {
                height: e.height,
                time: e.time.to_string(),
                tx_id: e.tx_id.to_hex(),
                official: official_ref(s, &e.official),
                action: CaseAction::parse(&e.action)?,
                stage: e.stage.map(u32_of),
                stage_name: e
                    .stage
                    .and_then(|i| t.stages.get(i))
                    .map(|st| st.name.clone()),
                comment: e.comment.clone(),
                attachments: e.attachments.iter().map(Hash32::to_hex).collect(),
            })
        })
        .collect();
    Some(CaseDetail {
        case_id: c.id.to_string(),
        title: c.title.clone(),
        template_id: c.template.to_string(),
        template_name: t.name.clone(),
        version: c.version,
        scope: c.scope.to_string(),
        status: case_status(s, c, now),
        round: c.round,
        documents: c.documents.iter().map(Hash32::to_hex).collect(),
        applicant: c.applicant.as_ref().map(Hash32::to_hex),
        opener: official_ref(s, &c.opener),
        stages,
        timeline,
    })
}

fn my_party(p: &Project, me: Option<&KeyId>) -> Option<Party> {
    let me = me?;
    [
        Party::Developer,
        Party::Contractor,
        Party::Supervisor,
        Party::Operator,
    ]
    .into_iter()
    .find(|&party| p.parties.get(party) == *me)
}

fn left(p: &Project) -> u64 {
    p.budget
        .get()
        .saturating_sub(p.paid.get())
        .saturating_sub(p.pending.get())
}

fn my_turn(p: &Project, pay: &govchain_ledger::state::funds::Payment, me: Option<&KeyId>) -> bool {
    me.is_some_and(|me| {
        p.next_step(pay)
            .is_some_and(|(_, party)| p.parties.get(party) == *me)
    })
}

/// Every project.
pub fn projects(s: &State, me: Option<&KeyId>) -> Vec<ProjectSummary> {
    s.projects
        .values()
        .map(|p| ProjectSummary {
            project_id: p.id.to_string(),
            name: p.name.clone(),
            budget: p.budget.get(),
            paid: p.paid.get(),
            pending: p.pending.get(),
            left: left(p),
            payments: u32_of(p.payments.len()),
            awaiting_me: u32_of(
                p.payments
                    .values()
                    .filter(|pay| my_turn(p, pay, me))
                    .count(),
            ),
            my_party: my_party(p, me).map(Into::into),
        })
        .collect()
}

/// Payroll lines a payment lists at first; the rest come in pages.
pub const PAYROLL_SHOWN: usize = 100;

fn line_view(l: &PayrollLine) -> PayrollLineView {
    PayrollLineView {
        worker: l.worker.to_hex(),
        amount: l.amount.get(),
    }
}

/// Lines `offset..offset + limit` of a payment's payroll.
pub fn payroll_page(
    s: &State,
    project: &RefId,
    payment: &RefId,
    offset: usize,
    limit: usize,
) -> Option<PayrollPage> {
    let pay = s.projects.get(project)?.payments.get(payment)?;
    Some(PayrollPage {
        offset: u32_of(offset),
        total: u32_of(pay.payroll.len()),
        lines: pay
            .payroll
            .iter()
            .skip(offset)
            .take(limit)
            .map(line_view)
            .collect(),
    })
}

/// One project with its payments, each listing its first `payroll_shown`
/// payroll lines.
pub fn project_detail(
    s: &State,
    id: &RefId,
    me: Option<&KeyId>,
    payroll_shown: usize,
) -> Option<ProjectDetail> {
    let p = s.projects.get(id)?;
    let parties = [
        Party::Developer,
        Party::Contractor,
        Party::Supervisor,
        Party::Operator,
    ]
    .into_iter()
    .map(|party| PartyView {
        party: party.into(),
        official: official_ref(s, &p.parties.get(party)),
    })
    .collect();
    let payments = p
        .payments
        .values()
        .map(|pay| {
            let next = p.next_step(pay);
            PaymentView {
                payment_id: pay.id.to_string(),
                amount: pay.amount.get(),
                purpose: pay.purpose.clone(),
                milestone: pay.milestone.clone(),
                invoices: pay.invoices.iter().map(Hash32::to_hex).collect(),
                payroll: pay
                    .payroll
                    .iter()
                    .take(payroll_shown)
                    .map(line_view)
                    .collect(),
                payroll_lines: u32_of(pay.payroll.len()),
                payroll_total: pay.payroll_total().get(),
                status: pay.status.into(),
                next_step: next.and_then(|(kind, _)| PaymentNextStep::parse(kind)),
                next_party: next.map(|(_, party)| party.into()),
                my_turn: my_turn(p, pay, me),
                transfer_ref: pay.transfer_ref.clone(),
                events: pay
                    .events
                    .iter()
                    // The ledger records only the steps of `PaymentStep`.
                    .filter_map(|e| {
                        Some(PaymentEventView {
                            height: e.height,
                            time: e.time.to_string(),
                            tx_id: e.tx_id.to_hex(),
                            official: official_ref(s, &e.official),
                            step: PaymentStep::parse(&e.step)?,
                            comment: e.comment.clone(),
                        })
                    })
                    .collect(),
            }
        })
        .collect();
    Some(ProjectDetail {
        project_id: p.id.to_string(),
        name: p.name.clone(),
        budget: p.budget.get(),
        paid: p.paid.get(),
        pending: p.pending.get(),
        left: left(p),
        parties,
        approvers: p.approvers.iter().map(|a| a.as_str().to_owned()).collect(),
        payments,
        my_party: my_party(p, me).map(Into::into),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use govchain_ledger::state::kinds::{OnReject, StageSpec};
    use govchain_ledger::state::workflow::Template;
    use govchain_ledger::state::{Grant, Official};

    fn id(n: u8) -> KeyId {
        KeyId::from_bytes([n; 32])
    }

    fn slug<T: TryFrom<String, Error = govchain_ledger::state::kinds::InvalidId>>(s: &str) -> T {
        T::try_from(s.to_owned()).unwrap()
    }

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_unix_millis(ms).unwrap()
    }

    fn official(s: &mut State, n: u8, dept: &str) {
        s.officials.insert(
            id(n),
            Official {
                id: id(n),
                name: format!("official {n:02}"),
                department: slug(dept),
                keys: Vec::new(),
                revoked_at: None,
                registered_at: 0,
            },
        );
    }

    fn grant(s: &mut State, n: u8, dept: &str, role: &str, scope: &str) {
        let gid = Hash32([n.wrapping_add(100); 32]);
        s.grants.insert(
            gid,
            Grant {
                id: gid,
                official: id(n),
                department: slug(dept),
                role: slug(role),
                scope: slug(scope),
                granted_at: 0,
                expires_at: None,
                valid_from: None,
            },
        );
        s.grants_by_official.entry(id(n)).or_default().insert(gid);
    }

    /// A one-stage case needing 2 fire inspectors' signatures in `hz/xh`;
    /// official 1 signed; 2..=13 are fire inspectors for `hz`; 20 is a
    /// fire inspector for `nb` only, 21 a construction inspector, 22 holds
    /// no role.
    fn state() -> (State, RefId) {
        let mut s = State::default();
        let stage = StageSpec {
            name: "fire".into(),
            department: slug("fire"),
            role: slug("inspector"),
            threshold: 2,
            group: None,
            deadline_secs: None,
            on_reject: OnReject::End,
            return_to: None,
        };
        let t = Template {
            id: slug("reno"),
            version: 1,
            name: "renovation".into(),
            stages: vec![stage],
            defined_by: id(1),
            defined_at: 0,
        };
        s.templates.insert(Template::key(&t.id, 1), t);
        for n in 1..=13 {
            official(&mut s, n, "fire");
            grant(&mut s, n, "fire", "inspector", "hz");
        }
        official(&mut s, 20, "fire");
        grant(&mut s, 20, "fire", "inspector", "nb");
        official(&mut s, 21, "construction");
        grant(&mut s, 21, "construction", "inspector", "hz");
        official(&mut s, 22, "fire");
        let case: RefId = slug("C-1");
        s.cases.insert(
            case.clone(),
            Case {
                id: case.clone(),
                template: slug("reno"),
                version: 1,
                scope: slug("hz/xh"),
                title: "case".into(),
                documents: Vec::new(),
                applicant: None,
                opener: id(1),
                status: CaseStatus::Open,
                current: 0,
                reached_at: at(0),
                approvals: vec![vec![id(1)]],
                round: 0,
                events: Vec::new(),
            },
        );
        (s, case)
    }

    #[test]
    fn k_of_n_stage_lists_who_signed_and_who_may_still_sign() {
        let (s, case) = state();
        let d = case_detail(&s, &case, Some(&id(2)), at(1)).unwrap();
        let st = &d.stages[0];
        assert_eq!((st.threshold, st.approvals.len()), (2, 1));
        assert_eq!(st.approvals[0].official_id, id(1).to_hex());
        // 2..=13 may sign (12), not 1 (signed), 20 (scope), 21 (department),
        // 22 (no role): the first SIGNABLE_SHOWN by name, then a count.
        assert_eq!(st.signable_by.len(), SIGNABLE_SHOWN);
        assert_eq!(st.signable_more, 12 - u32_of(SIGNABLE_SHOWN));
        assert_eq!(st.signable_by[0].name, "official 02");
        assert!(st.mine && st.sign_block.is_none());
    }

    #[test]
    fn sign_block_says_why() {
        let (mut s, case) = state();
        let block = |s: &State, me: Option<u8>| {
            let me = me.map(id);
            case_detail(s, &case, me.as_ref(), at(1)).unwrap().stages[0].sign_block
        };
        assert_eq!(block(&s, None), Some(SignBlock::NoKey));
        assert_eq!(block(&s, Some(99)), Some(SignBlock::NotRegistered));
        assert_eq!(block(&s, Some(1)), Some(SignBlock::AlreadySigned));
        assert_eq!(block(&s, Some(20)), Some(SignBlock::WrongScope));
        assert_eq!(block(&s, Some(21)), Some(SignBlock::WrongDepartment));
        assert_eq!(block(&s, Some(22)), Some(SignBlock::NoRole));
        assert_eq!(block(&s, Some(3)), None);
        let c = s.cases.get_mut_resident(&case).unwrap();
        c.approvals[0].push(id(2));
        // Both signatures in: the stage no longer waits, nobody else may sign.
        assert_eq!(block(&s, Some(3)), Some(SignBlock::NotThisStage));
        let d = case_detail(&s, &case, Some(&id(3)), at(1)).unwrap();
        assert!(d.stages[0].signable_by.is_empty());
        s.cases.get_mut_resident(&case).unwrap().status = CaseStatus::Withdrawn;
        assert_eq!(block(&s, Some(3)), Some(SignBlock::CaseClosed));
    }

    /// The fixture's case and 120 more: every third titled 消防验收, every
    /// other approved; `varied`: half on a template with a one-second
    /// deadline (expired at `at(5_000)`), and changed at various times.
    fn many_cases(varied: bool) -> State {
        let (mut s, case) = state();
        let base = Case::clone(s.cases.resident().get(&case).unwrap());
        if varied {
            let mut t = template(&s, &base).unwrap().clone();
            t.id = slug("reno-fast");
            t.name = "fast renovation".into();
            t.stages[0].deadline_secs = Some(1);
            s.templates.insert(Template::key(&t.id, 1), t);
        }
        for i in 0..120 {
            let mut c = base.clone();
            c.id = slug(&format!("C-{:03}", i + 2));
            c.title = if i % 3 == 0 {
                format!("消防验收 {i}")
            } else {
                format!("Case {i}")
            };
            if i % 2 == 1 {
                c.status = CaseStatus::Approved;
            }
            if varied {
                if i % 4 < 2 {
                    c.template = slug("reno-fast");
                }
                c.events.push(govchain_ledger::state::workflow::CaseEvent {
                    height: 1,
                    time: at(i64::from(i % 7) * 1_000),
                    tx_id: Hash32::ZERO,
                    official: id(1),
                    action: "open".into(),
                    stage: None,
                    comment: String::new(),
                    attachments: Vec::new(),
                });
            }
            s.cases.insert(c.id.clone(), c);
        }
        s
    }

    #[test]
    fn the_case_index_answers_as_the_scan() {
        use crate::dto::CaseStatus as Shown;
        let s = many_cases(true);
        let index = crate::case_index::CaseIndex::build(&s);
        let now = at(5_000);
        let mut checked = 0;
        for me in [None, Some(2), Some(20), Some(22)] {
            let me = me.map(id);
            for status in [
                None,
                Some(Shown::Open),
                Some(Shown::Approved),
                Some(Shown::Expired),
            ] {
                for text in [None, Some("消防"), Some("CASE 1"), Some("FAST")] {
                    for waiting_for_me in [false, true] {
                        for (offset, limit) in [(0, 50), (50, 50), (100, 50), (0, 500), (7, 3)] {
                            let q = CaseQuery {
                                status,
                                text: text.map(str::to_owned),
                                waiting_for_me,
                                offset,
                                limit,
                            };
                            let scan = case_page(&s, me.as_ref(), now, &q);
                            assert_eq!(index.page(&s, me.as_ref(), now, &q), scan, "{q:?} {me:?}");
                            checked += usize::from(scan.total > 0);
                        }
                    }
                }
            }
        }
        assert!(checked > 300, "{checked}");
        for n in [1, 2, 13, 20, 21, 22] {
            assert_eq!(
                index.inbox(&s, &id(n), at(500)).unwrap(),
                views::inbox(&s, &id(n), at(500)).unwrap()
            );
        }
        assert!(!index.inbox(&s, &id(2), at(500)).unwrap().is_empty());
    }

    /// Search's and the graph's reads of the index (cases by text, an
    /// official's cases) equal a scan of every case, in list order.
    #[test]
    fn the_case_index_finds_text_and_an_officials_cases_as_a_scan() {
        let mut s = many_cases(true);
        let ids: Vec<RefId> = s.cases.resident().keys().cloned().collect();
        for (i, case) in ids.iter().enumerate().filter(|(i, _)| i % 5 == 0) {
            let c = s.cases.get_mut_resident(case).unwrap();
            let mut e = c.events[0].clone();
            e.official = id(20);
            e.time = at(i64::try_from(i).unwrap() * 10);
            c.events.push(e);
        }
        let index = crate::case_index::CaseIndex::build(&s);
        let q = CaseQuery {
            status: None,
            text: None,
            waiting_for_me: false,
            offset: 0,
            limit: 500,
        };
        let in_order: Vec<String> = case_page(&s, None, at(0), &q)
            .items
            .into_iter()
            .map(|c| c.case_id)
            .collect();
        let ordered = |mut found: Vec<String>| {
            found.sort_by_key(|c| in_order.iter().position(|x| x == c));
            found
        };
        for who in [1, 2, 20, 99] {
            let scan: Vec<String> = s
                .cases
                .resident()
                .values()
                .filter(|c| c.opener == id(who) || c.events.iter().any(|e| e.official == id(who)))
                .map(|c| c.id.to_string())
                .collect();
            let from_index: Vec<String> =
                index.cases_of(&id(who)).map(ToString::to_string).collect();
            assert_eq!(from_index, ordered(scan), "official {who}");
        }
        assert_eq!(index.cases_of(&id(20)).count(), 25);
        for text in ["消防", "case 1", "fast", "c-00", "nothing"] {
            let scan: Vec<String> = s
                .cases
                .resident()
                .values()
                .filter(|c| template(&s, c).is_some_and(|t| case_matches(c, t, text)))
                .map(|c| c.id.to_string())
                .collect();
            let from_index: Vec<String> = index.matching(text).map(ToString::to_string).collect();
            assert_eq!(from_index, ordered(scan), "{text}");
        }
        assert!(index.matching("nothing").next().is_none());
        assert_eq!(index.matching("fast").count(), 60);
    }

    #[test]
    fn the_case_list_filters_and_pages_in_the_core() {
        let s = many_cases(false);
        let q = |status, text: Option<&str>, waiting_for_me, offset, limit| CaseQuery {
            status,
            text: text.map(str::to_owned),
            waiting_for_me,
            offset,
            limit,
        };
        let page = |me: Option<u8>, q: &CaseQuery| case_page(&s, me.map(id).as_ref(), at(1), q);
        let first = page(None, &q(None, None, false, 0, 50));
        assert_eq!((first.total, first.items.len()), (121, 50));
        let mut seen: Vec<String> = Vec::new();
        for offset in [0, 50, 100] {
            let p = page(None, &q(None, None, false, offset, 50));
            assert_eq!(p.offset, offset);
            seen.extend(p.items.into_iter().map(|c| c.case_id));
        }
        assert_eq!(seen.len(), 121);
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 121, "pages overlap");
        assert!(page(None, &q(None, None, false, 200, 50)).items.is_empty());

        let approved = page(
            None,
            &q(Some(crate::dto::CaseStatus::Approved), None, false, 0, 500),
        );
        assert_eq!(approved.total, 60);
        assert!(approved
            .items
            .iter()
            .all(|c| c.status == crate::dto::CaseStatus::Approved));
        // Text in the title, the id or the template's name, letters in any case.
        assert_eq!(page(None, &q(None, Some("消防"), false, 0, 500)).total, 40);
        assert_eq!(
            page(None, &q(None, Some("  case "), false, 0, 500)).total,
            81
        );
        assert_eq!(page(None, &q(None, Some("c-00"), false, 0, 500)).total, 8);
        assert_eq!(
            page(None, &q(None, Some("RENOVATION"), false, 0, 500)).total,
            121
        );
        assert_eq!(page(None, &q(None, Some(" "), false, 0, 500)).total, 121);
        // Waiting for the official: the open cases a fire inspector of hz may sign.
        let mine = page(Some(2), &q(None, None, true, 0, 500));
        assert_eq!(mine.total, 61);
        assert!(mine.items.iter().all(|c| c.waiting_for_me));
        assert_eq!(page(Some(22), &q(None, None, true, 0, 500)).total, 0);
        assert_eq!(cases(&s, None, at(1)).len(), 121);
    }
}
