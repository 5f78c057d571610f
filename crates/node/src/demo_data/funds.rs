//! The payment simulation of the `xiongan` profile. Each project is created
//! by its developer; its contractor then requests, in working hours,
//!
//! - a **wage payment** each month for the builders on its team that month
//!   (amount = the payroll; inline up to [`INLINE_LINES`] lines, else
//!   committed and delivered in chunks, PROTOCOL.md §12.5), and
//! - **progress payments** (materials, milestones) spread over the year,
//!   at most what the budget leaves after the wages.
//!
//! The supervisor confirms each (about 4 % refused), the approvers approve
//! in order (about 1.5 % refused) and the operator executes; a refused wage
//! payment is requested again, a refused progress payment usually too.
//! Labour inspectors read some paid payrolls and auditors export project
//! records; both leave `access.record`s. Events are taken in time order
//! from one queue and follow the ledger's rules, so every transaction is
//! accepted; nothing is requested that would overrun a budget.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashSet};

use govchain_ledger::state::funds::{payroll_root, PAYROLL_CHUNK_LINES};
use govchain_ledger::state::kinds::PayrollLine;
use govchain_ledger::types::Hash32;
use serde_json::{json, Value};

use super::xiongan::{Approver, World};
use super::{float, floor, ts, Rng, Writer, DAY};
use crate::error::NodeError;

/// A payroll longer than this is committed and sent in chunks.
pub(super) const INLINE_LINES: usize = 100;
const HOUR: i64 = 3_600_000;

/// What the year left on chain.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    pub requests: u64,
    /// Fen executed.
    pub paid: u64,
    pub lines: u64,
    /// Payment requests whose payroll was committed and sent in chunks.
    pub chunked: u64,
    pub workers_listed: u64,
    pub workers_paid: u64,
    pub access_entries: u64,
    /// Payment requests by status.
    pub statuses: BTreeMap<&'static str, u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Planned,
    Requested,
    Confirmed,
    Approved,
    Executed,
    Refused,
    /// Not requested: it would have overrun the budget.
    Withheld,
}

impl Status {
    fn name(self) -> &'static str {
        match self {
            Self::Planned => "not yet requested",
            Self::Requested => "requested",
            Self::Confirmed => "confirmed",
            Self::Approved => "approved",
            Self::Executed => "executed",
            Self::Refused => "refused",
            Self::Withheld => "withheld (budget)",
        }
    }
}

struct Payment {
    project: u32,
    id: String,
    /// Fen.
    amount: u64,
    purpose: String,
    milestone: String,
    /// (worker, fen); empty for a progress payment.
    lines: Vec<(u32, u64)>,
    status: Status,
    /// Requests of the same payment so far (0 for the first).
    retry: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Create,
    Request,
    Confirm,
    Approve(u8),
    Execute,
    Inspect,
    Audit,
}

/// When, in which order, for which project, payment or official, what.
type Event = Reverse<(i64, u64, u32, Step)>;

struct Sim<'a> {
    world: &'a World,
    rng: Rng,
    queue: BinaryHeap<Event>,
    order: u64,
    payments: Vec<Payment>,
    /// Per project: fen paid and pending.
    committed: Vec<u64>,
    transfers: u64,
    out: Outcome,
    paid_workers: HashSet<u32>,
    listed_workers: HashSet<u32>,
}

/// Runs the world's year with about `n` payment requests (wages first,
/// progress payments the rest).
pub(super) fn run(
    world: &World,
    n: usize,
    seed: u64,
    w: &mut Writer,
) -> Result<Outcome, NodeError> {
    let mut sim = Sim {
        world,
        rng: Rng::new(seed, "xiongan payments"),
        queue: BinaryHeap::new(),
        order: 0,
        payments: Vec::new(),
        committed: vec![0; world.projects.len()],
        transfers: 0,
        out: Outcome::default(),
        paid_workers: HashSet::new(),
        listed_workers: HashSet::new(),
    };
    for (p, project) in world.projects.iter().enumerate() {
        sim.push(project.created, p, Step::Create);
    }
    let wages = sim.plan_wages();
    sim.plan_progress(n.saturating_sub(wages), &wages_by_project(&sim));
    for a in 0..world.auditors.len() {
        let at = world.year_start + 10 * DAY + sim.rng.exp_ms(7 * DAY);
        let at = sim.working(at);
        sim.push(at, a, Step::Audit);
    }
    let started = std::time::Instant::now();
    let mut done = 0;
    while let Some(Reverse((at, _, i, step))) = sim.queue.pop() {
        if at >= world.year_end {
            break;
        }
        let i = i as usize;
        match step {
            Step::Create => sim.create(i, at, w)?,
            Step::Request => {
                sim.request(i, at, w)?;
                done += 1;
                if done % (n / 10).max(1) == 0 {
                    tracing::info!(
                        "demo-data: {done} payment requests, ledger time {}, {:.0} s",
                        ts(at).map_or_else(|_| at.to_string(), |t| t.to_string()),
                        started.elapsed().as_secs_f64()
                    );
                }
            }
            Step::Confirm => sim.review(i, None, at, w)?,
            Step::Approve(k) => sim.review(i, Some(k), at, w)?,
            Step::Execute => sim.execute(i, at, w)?,
            Step::Inspect => sim.inspect(i, at, w)?,
            Step::Audit => sim.audit(i, at, w)?,
        }
    }
    for p in &sim.payments {
        *sim.out.statuses.entry(p.status.name()).or_insert(0) += 1;
    }
    sim.out.workers_paid = sim.paid_workers.len() as u64;
    sim.out.workers_listed = sim.listed_workers.len() as u64;
    Ok(sim.out)
}

fn wages_by_project(sim: &Sim<'_>) -> Vec<u64> {
    let mut by = vec![0u64; sim.world.projects.len()];
    for p in &sim.payments {
        by[p.project as usize] += p.amount;
    }
    by
}

fn index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

impl Sim<'_> {
    fn push(&mut self, at: i64, i: usize, step: Step) {
        self.order += 1;
        self.queue.push(Reverse((at, self.order, index(i), step)));
    }

    /// `at`, or the next working time after it: 09:00–17:30 China time
    /// (01:00–09:30 UTC), Monday to Friday.
    fn working(&mut self, at: i64) -> i64 {
        let start = self.world.year_start;
        let day = (at - start).div_euclid(DAY);
        let into = at - start - day * DAY;
        // 2026-01-01 is a Thursday (Monday = 0).
        let weekday = |d: i64| (d + 3).rem_euclid(7);
        if weekday(day) < 5 && (HOUR..HOUR + 17 * HOUR / 2).contains(&into) {
            return at;
        }
        let mut d = if into < HOUR { day } else { day + 1 };
        while weekday(d) >= 5 {
            d += 1;
        }
        let minutes = i64::try_from(self.rng.below(150)).unwrap_or(0);
        start + d * DAY + HOUR + minutes * 60_000
    }

    fn wait(&mut self, at: i64, mean: i64) -> i64 {
        let later = at + self.rng.exp_ms(mean).max(10 * 60_000);
        self.working(later)
    }

    /// One wage payment per project and month with builders on its team,
    /// requested in the next month's second week. Returns how many.
    fn plan_wages(&mut self) -> usize {
        let world = self.world;
        let mut count = 0;
        for (p, project) in world.projects.iter().enumerate() {
            for month in 0..11u8 {
                let mut lines = Vec::new();
                for &i in &project.team {
                    let wk = &world.workers[i as usize];
                    if (wk.first_month..wk.first_month + wk.months).contains(&month) {
                        // Days worked: 70–100 % of a month, in whole yuan.
                        let fen =
                            floor(float(wk.wage) * (0.7 + 0.3 * self.rng.unit()) / 100.0) * 100;
                        lines.push((i, fen.max(100)));
                    }
                }
                if lines.is_empty() {
                    continue;
                }
                let next = self.month_start(i64::from(month) + 1) + 7 * DAY;
                let at = self.wait(next, DAY);
                let amount = lines.iter().map(|(_, f)| f).sum();
                self.payments.push(Payment {
                    project: index(p),
                    id: format!("{}-W{:02}", project.id, month + 1),
                    amount,
                    purpose: format!("2026年{}月建设者工资（专户直发）", month + 1),
                    milestone: String::new(),
                    lines,
                    status: Status::Planned,
                    retry: 0,
                });
                self.push(at, self.payments.len() - 1, Step::Request);
                count += 1;
            }
        }
        count
    }

    /// `n` progress payments over the projects (in proportion to the
    /// square root of their budgets), each project's adding up to 35–55 %
    /// of its budget and never more than 95 % less its `wages`.
    fn plan_progress(&mut self, n: usize, wages: &[u64]) {
        const PURPOSES: [&str; 4] = ["工程进度款", "材料款", "设备采购款", "工程预付款"];
        let world = self.world;
        let weights: Vec<f64> = world
            .projects
            .iter()
            .map(|p| float(p.budget).sqrt())
            .collect();
        let sum: f64 = weights.iter().sum();
        for (p, project) in world.projects.iter().enumerate() {
            let k = usize::try_from(floor((weights[p] / sum * float(n as u64)).round()))
                .unwrap_or(1)
                .max(1);
            let share = floor(float(project.budget) * (0.35 + 0.2 * self.rng.unit()));
            let total = share.min((project.budget / 20 * 19).saturating_sub(wages[p]));
            let parts: Vec<f64> = (0..k).map(|_| 0.3 + self.rng.exp(1.0)).collect();
            let whole: f64 = parts.iter().sum();
            let from = project.created + 20 * DAY;
            let span = (world.year_end - 5 * DAY - from).max(DAY);
            let mut times: Vec<i64> = (0..k)
                .map(|_| {
                    let t = i64::try_from(floor(self.rng.unit() * float(span.unsigned_abs())))
                        .unwrap_or(0);
                    from + t
                })
                .collect();
            times.sort_unstable();
            for (j, (part, at)) in parts.iter().zip(times).enumerate() {
                // Whole yuan; nothing below ¥1,000.
                let amount = floor(float(total) * part / whole / 100.0) * 100;
                if amount < 100_000 {
                    continue;
                }
                let at = self.working(at);
                self.payments.push(Payment {
                    project: index(p),
                    id: format!("{}-J{:03}", project.id, j + 1),
                    amount,
                    purpose: PURPOSES[self.rng.skewed(PURPOSES.len(), 2.0)].to_owned(),
                    milestone: format!("第{}期计量", j + 1),
                    lines: Vec::new(),
                    status: Status::Planned,
                    retry: 0,
                });
                self.push(at, self.payments.len() - 1, Step::Request);
            }
        }
    }

    fn month_start(&self, month: i64) -> i64 {
        const STARTS: [i64; 13] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];
        let m = usize::try_from(month.clamp(0, 12)).unwrap_or(12);
        self.world.year_start + STARTS[m] * DAY
    }

    fn create(&mut self, p: usize, at: i64, w: &mut Writer) -> Result<(), NodeError> {
        let world = self.world;
        let project = &world.projects[p];
        let approvers: Vec<&str> = project
            .approvers
            .iter()
            .map(|a| match a {
                Approver::Developer => "developer",
                Approver::Operator => "operator",
            })
            .collect();
        w.submit(
            &world.developers[project.developer],
            "project.create",
            json!({"project_id": project.id, "name": project.name, "budget": project.budget,
                "parties": {
                    "developer": world.developers[project.developer].key_id(),
                    "contractor": world.contractors[project.contractor].key_id(),
                    "supervisor": world.supervisors[project.supervisor].key_id(),
                    "operator": world.operators[project.operator].key_id()},
                "approvers": approvers}),
            at,
        )
    }

    fn request(&mut self, i: usize, at: i64, w: &mut Writer) -> Result<(), NodeError> {
        let world = self.world;
        let pay = &self.payments[i];
        let p = pay.project as usize;
        let project = &world.projects[p];
        if self.committed[p] + pay.amount > project.budget {
            self.payments[i].status = Status::Withheld;
            return Ok(());
        }
        let contractor = &world.contractors[project.contractor];
        let lines: Vec<Value> = pay
            .lines
            .iter()
            .map(|&(wk, fen)| json!({"worker": world.workers[wk as usize].payroll, "amount": fen}))
            .collect();
        let invoices: Vec<Hash32> = if pay.lines.is_empty() {
            (0..=pay.id.len() % 3)
                .map(|k| Hash32::sha256(format!("{}/invoice-{k}.pdf", pay.id).as_bytes()))
                .collect()
        } else {
            vec![Hash32::sha256(
                format!("{}/attendance.xlsx", pay.id).as_bytes(),
            )]
        };
        let mut payload = json!({"project_id": project.id, "payment_id": pay.id,
            "amount": pay.amount, "purpose": pay.purpose, "milestone": pay.milestone,
            "invoices": invoices, "payroll": []});
        let committed = lines.len() > INLINE_LINES;
        if committed {
            let typed: Vec<PayrollLine> = serde_json::from_value(Value::Array(lines.clone()))
                .map_err(|e| NodeError::Config(format!("demo-data: payroll: {e}")))?;
            payload["payroll_root"] = json!(payroll_root(&typed));
            payload["payroll_total"] = json!(pay.amount);
            payload["payroll_lines"] = json!(lines.len());
        } else {
            payload["payroll"] = Value::Array(lines.clone());
        }
        w.submit(contractor, "payment.request", payload, at)?;
        if committed {
            self.out.chunked += 1;
            for (k, chunk) in lines.chunks(PAYROLL_CHUNK_LINES).enumerate() {
                w.submit(
                    contractor,
                    "payment.payroll_chunk",
                    json!({"project_id": project.id, "payment_id": pay.id,
                        "offset": k * PAYROLL_CHUNK_LINES, "lines": chunk}),
                    at,
                )?;
            }
        }
        self.committed[p] += pay.amount;
        self.out.requests += 1;
        self.out.lines += pay.lines.len() as u64;
        self.listed_workers
            .extend(self.payments[i].lines.iter().map(|(wk, _)| *wk));
        self.payments[i].status = Status::Requested;
        let next = self.wait(at, 36 * HOUR);
        self.push(next, i, Step::Confirm);
        Ok(())
    }

    /// The supervisor's confirmation (`approver` none) or the approver's
    /// approval number `approver`.
    fn review(
        &mut self,
        i: usize,
        approver: Option<u8>,
        at: i64,
        w: &mut Writer,
    ) -> Result<(), NodeError> {
        let world = self.world;
        let pay = &self.payments[i];
        let project = &world.projects[pay.project as usize];
        let (who, kind, refuse) = match approver {
            None => (
                &world.supervisors[project.supervisor],
                "payment.confirm",
                0.04,
            ),
            Some(k) => match project.approvers.get(usize::from(k)) {
                Some(Approver::Operator) => {
                    (&world.operators[project.operator], "payment.approve", 0.015)
                }
                _ => (
                    &world.developers[project.developer],
                    "payment.approve",
                    0.015,
                ),
            },
        };
        let refused = self.rng.chance(refuse);
        let comment = match (refused, approver) {
            (true, None) if !pay.lines.is_empty() => "工资表与考勤记录不符，请核对后重新申报。",
            (true, None) => "计量资料不全，请补充后重新申报。",
            (true, Some(_)) => "支付依据不足，暂不同意。",
            (false, None) => "现场计量属实。",
            (false, Some(_)) => "同意支付。",
        };
        w.submit(
            who,
            kind,
            json!({"project_id": project.id, "payment_id": pay.id,
                "verdict": if refused { "refuse" } else { "accept" }, "comment": comment}),
            at,
        )?;
        if refused {
            self.refused(i, at);
            return Ok(());
        }
        let next = approver.map_or(0, |k| k + 1);
        if usize::from(next) < project.approvers.len() {
            self.payments[i].status = Status::Confirmed;
            let t = self.wait(at, DAY);
            self.push(t, i, Step::Approve(next));
        } else {
            self.payments[i].status = Status::Approved;
            let t = self.wait(at, 12 * HOUR);
            self.push(t, i, Step::Execute);
        }
        Ok(())
    }

    /// A refusal releases the amount; a wage payment is requested again
    /// (the payroll corrected), a progress payment mostly too, for up to
    /// 20 % less.
    fn refused(&mut self, i: usize, at: i64) {
        let pay = &mut self.payments[i];
        pay.status = Status::Refused;
        self.committed[pay.project as usize] -= pay.amount;
        let wage = !pay.lines.is_empty();
        if pay.retry >= 3 || !(wage || self.rng.chance(0.6)) {
            return;
        }
        let pay = &self.payments[i];
        let mut again = Payment {
            project: pay.project,
            id: format!(
                "{}-R{}",
                pay.id.split("-R").next().unwrap_or(&pay.id),
                pay.retry + 1
            ),
            amount: pay.amount,
            purpose: pay.purpose.clone(),
            milestone: pay.milestone.clone(),
            lines: pay.lines.clone(),
            status: Status::Planned,
            retry: pay.retry + 1,
        };
        if !wage {
            let less = floor(float(again.amount) * (0.8 + 0.2 * self.rng.unit()) / 100.0) * 100;
            again.amount = less.max(100);
        }
        self.payments.push(again);
        let t = self.wait(at, 3 * DAY);
        self.push(t, self.payments.len() - 1, Step::Request);
    }

    fn execute(&mut self, i: usize, at: i64, w: &mut Writer) -> Result<(), NodeError> {
        let world = self.world;
        let pay = &self.payments[i];
        let project = &world.projects[pay.project as usize];
        self.transfers += 1;
        let day = ts(at)?.to_string();
        let date: String = day.chars().filter(char::is_ascii_digit).take(8).collect();
        w.submit(
            &world.operators[project.operator],
            "payment.execute",
            json!({"project_id": project.id, "payment_id": pay.id,
                "transfer_ref": format!("XAJG{date}{:06}", self.transfers)}),
            at,
        )?;
        self.out.paid += pay.amount;
        self.paid_workers
            .extend(pay.lines.iter().map(|(wk, _)| *wk));
        self.payments[i].status = Status::Executed;
        if !self.payments[i].lines.is_empty() && self.rng.chance(0.25) {
            let t = self.wait(at, 2 * DAY);
            self.push(t, i, Step::Inspect);
        }
        Ok(())
    }

    /// A labour inspector reads some builders' lines of a paid payroll.
    fn inspect(&mut self, i: usize, at: i64, w: &mut Writer) -> Result<(), NodeError> {
        let world = self.world;
        let who = self.rng.below(world.inspectors.len());
        let pay = &self.payments[i];
        let k = 1 + self.rng.below(20.min(pay.lines.len()));
        let from = self.rng.below(pay.lines.len() - k + 1);
        let when = ts(at - 60_000)?;
        let entries: Vec<Value> = pay.lines[from..from + k]
            .iter()
            .map(|(wk, _)| {
                json!({"dataset": "funds/payroll", "operation": "read",
                    "subject": world.workers[*wk as usize].identity,
                    "purpose": format!("建设者工资支付核查 {}", pay.id), "at": when})
            })
            .collect();
        self.out.access_entries += entries.len() as u64;
        w.submit(
            &world.inspectors[who],
            "access.record",
            json!({"entries": entries}),
            at,
        )
    }

    /// An auditor exports some projects' payment records, about weekly.
    fn audit(&mut self, a: usize, at: i64, w: &mut Writer) -> Result<(), NodeError> {
        let world = self.world;
        let k = 1 + self.rng.below(5);
        let when = ts(at - 120_000)?;
        let entries: Vec<Value> = (0..k)
            .map(|_| {
                let p = &world.projects[self.rng.below(world.projects.len())];
                json!({"dataset": "funds/payments",
                    "operation": if self.rng.chance(0.3) { "export" } else { "read" },
                    "purpose": format!("工程资金专项审计 {}", p.id), "at": when})
            })
            .collect();
        self.out.access_entries += entries.len() as u64;
        w.submit(
            &world.auditors[a],
            "access.record",
            json!({"entries": entries}),
            at,
        )?;
        let next = self.wait(at, 7 * DAY);
        self.push(next, a, Step::Audit);
        Ok(())
    }
}
