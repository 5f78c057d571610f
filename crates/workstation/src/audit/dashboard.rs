//! The auditor's dashboards (approvals per week, median stage times,
//! payments per project, rejection codes met) and a project's spending over
//! time.

use std::collections::BTreeMap;

use chrono::Datelike;
use govchain_ledger::state::funds::PaymentStatus;
use govchain_ledger::state::workflow::{CaseStatus, Template};
use govchain_ledger::state::State;
use govchain_ledger::types::Timestamp;

use crate::dto::{
    CodeCount, Dashboard, PaymentStep, ProjectPayments, SpendPoint, StageTime, WeekCount,
};
use crate::views::u32_of;

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
    for c in s.cases.resident().values() {
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
    for c in s.cases.resident().values() {
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

/// How often each rejection code was met, most frequent first.
pub fn rejections(codes: &[String]) -> Vec<CodeCount> {
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
            let Some(step) = PaymentStep::parse(&e.step) else {
                continue;
            };
            let (dp, dq) = match step {
                PaymentStep::Request => (0, amount),
                PaymentStep::Execute => (amount, -amount),
                PaymentStep::Refuse => (0, -amount),
                PaymentStep::Confirm | PaymentStep::Approve => continue,
            };
            events.push((e, step, pay.id.to_string(), dp, dq));
        }
    }
    events.sort_by_key(|e| (e.0.time, e.0.height));
    let (mut paid, mut pending) = (0i128, 0i128);
    Some(
        events
            .into_iter()
            .map(|(e, step, payment_id, dp, dq)| {
                paid += dp;
                pending += dq;
                SpendPoint {
                    time: e.time.to_string(),
                    paid: u64::try_from(paid).unwrap_or(0),
                    pending: u64::try_from(pending).unwrap_or(0),
                    step,
                    payment_id,
                    tx_id: e.tx_id.to_hex(),
                    height: e.height,
                }
            })
            .collect(),
    )
}
