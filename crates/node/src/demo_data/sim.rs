//! The case simulation: cases opened on working days over a year, each
//! stage signed after an exponentially distributed wait (mean 20 hours) by
//! officials holding the stage's role at a scope covering the case's town;
//! about 3 % of signatures reject (returning the case to acceptance or
//! ending it), about 0.8 % of steps see the applicant withdraw, and a stage
//! whose deadline passes leaves its case expired. Events are taken in time
//! order from one queue; what a case does next follows the ledger's rules
//! (PROTOCOL.md §12.4), so every transaction is accepted.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use govchain_ledger::crypto::SecretKey;
use govchain_ledger::types::Hash32;
use serde_json::json;

use super::{Rng, Writer, BLOCK_MS};
use crate::error::NodeError;

/// A template's stage as the simulation needs it.
#[derive(Debug, Clone)]
pub(super) struct Stage {
    /// Index into the profile's departments.
    pub department: usize,
    pub threshold: u8,
    /// Stages sharing a group (consecutive) are signed in parallel.
    pub group: Option<usize>,
    pub deadline_ms: Option<i64>,
    /// A rejection returns the case to stage 0 (else it ends it).
    pub returns: bool,
}

#[derive(Debug, Clone)]
pub(super) struct Matter {
    pub id: String,
    pub name: String,
    pub stages: Vec<Stage>,
}

/// An official holding the reviewing role of their department, at the
/// whole district (`town` none) or one town.
#[derive(Debug)]
pub(super) struct Reviewer {
    pub key: SecretKey,
    pub town: Option<usize>,
}

pub(super) struct World {
    pub towns: usize,
    pub matters: Vec<Matter>,
    /// Per department; the window's stages are signed by `clerks`.
    pub reviewers: Vec<Vec<Reviewer>>,
    pub clerks: Vec<SecretKey>,
    /// Index of the department whose stages clerks sign.
    pub window: usize,
    pub town_names: Vec<&'static str>,
    pub year_start: i64,
    pub year_end: i64,
}

const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;
/// A signature is made only this long before its stage's deadline at the
/// latest: its block may be cut up to a block's wait later.
const MARGIN: i64 = BLOCK_MS + 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Open,
    Approved,
    Rejected,
    Withdrawn,
    Expired,
}

impl Status {
    fn name(self) -> &'static str {
        match self {
            Self::Open => "in progress",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Withdrawn => "withdrawn",
            Self::Expired => "expired",
        }
    }
}

struct Case {
    matter: u32,
    town: u8,
    opener: u32,
    /// First stage of the current group.
    current: u8,
    round: u8,
    /// When the current group was reached (ledger time, at the latest).
    reached: i64,
    /// Approvals still needed per stage of the current group.
    remaining: Vec<u8>,
    status: Status,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Open,
    Sign { stage: u8, round: u8, who: u32 },
}

/// When, in which order, for which case, what.
type Event = Reverse<(i64, u64, u32, Kind)>;

struct Sim<'a> {
    world: &'a World,
    rng: Rng,
    queue: BinaryHeap<Event>,
    order: u64,
    cases: Vec<Case>,
    /// Per department and town: the indices of the officials who may sign.
    eligible: Vec<Vec<Vec<u32>>>,
}

/// Opens `n` cases over the world's year and runs them to the year's end;
/// the cases' statuses then.
pub(super) fn run(
    world: &World,
    n: usize,
    seed: u64,
    w: &mut Writer,
) -> Result<BTreeMap<&'static str, u64>, NodeError> {
    let mut sim = Sim {
        world,
        rng: Rng::new(seed, "nansha cases"),
        queue: BinaryHeap::new(),
        order: 0,
        cases: Vec::with_capacity(n),
        eligible: eligible(world),
    };
    for _ in 0..n {
        let at = sim.open_time();
        sim.push(at, 0, Kind::Open);
    }
    let started = std::time::Instant::now();
    while let Some(Reverse((at, _, case, kind))) = sim.queue.pop() {
        if at >= world.year_end {
            break;
        }
        match kind {
            Kind::Open => {
                sim.open(at, w)?;
                let opened = sim.cases.len();
                if opened.is_multiple_of((n / 10).max(1)) {
                    tracing::info!(
                        "demo-data: {opened} of {n} cases opened, ledger time {}, {:.0} s",
                        govchain_ledger::types::Timestamp::from_unix_millis(at)
                            .map_or_else(|| at.to_string(), |t| t.to_string()),
                        started.elapsed().as_secs_f64()
                    );
                }
            }
            Kind::Sign { stage, round, who } => {
                sim.sign(case as usize, stage, round, who, at, w)?;
            }
        }
    }
    let mut statuses = BTreeMap::new();
    for c in &sim.cases {
        *statuses.entry(c.status.name()).or_insert(0) += 1;
    }
    let opened = sim.cases.len() as u64;
    *statuses.entry("not yet opened").or_insert(0) += n as u64 - opened;
    statuses.retain(|_, v| *v > 0);
    Ok(statuses)
}

fn eligible(world: &World) -> Vec<Vec<Vec<u32>>> {
    world
        .reviewers
        .iter()
        .enumerate()
        .map(|(d, list)| {
            (0..world.towns)
                .map(|town| {
                    let index = |i: usize| u32::try_from(i).unwrap_or(u32::MAX);
                    if d == world.window {
                        return (0..world.clerks.len()).map(index).collect();
                    }
                    (0..list.len())
                        .filter(|&i| list[i].town.is_none_or(|t| t == town))
                        .map(index)
                        .collect()
                })
                .collect()
        })
        .collect()
}

impl Sim<'_> {
    fn push(&mut self, at: i64, case: usize, kind: Kind) {
        self.order += 1;
        let case = u32::try_from(case).unwrap_or(u32::MAX);
        self.queue.push(Reverse((at, self.order, case, kind)));
    }

    /// A working day of the year, 09:00–17:30 China time.
    fn open_time(&mut self) -> i64 {
        let mut day = i64::try_from(self.rng.below(365)).unwrap_or(0);
        // 2026-01-01 is a Thursday (Monday = 0).
        let weekday = (day + 3) % 7;
        if weekday >= 5 {
            day += 7 - weekday;
        }
        #[allow(clippy::cast_possible_truncation)]
        let minute = (self.rng.unit() * 8.5 * 60.0) as i64;
        self.world.year_start + day * DAY + HOUR + minute * 60_000
    }

    /// Opens the next case (numbered in the order they open).
    fn open(&mut self, at: i64, w: &mut Writer) -> Result<(), NodeError> {
        let world = self.world;
        let case = self.cases.len();
        // A few matters are very common, most are rare.
        let matter = self.rng.skewed(world.matters.len(), 2.5);
        let town = 1 + self.rng.below(world.towns - 1);
        let opener = self.rng.below(world.clerks.len());
        let m = &world.matters[matter];
        let id = case_id(case);
        w.submit(
            &world.clerks[opener],
            "case.open",
            json!({"case_id": id, "template": m.id, "version": 1,
                "scope": format!("nansha/{}", world.town_names[town]),
                "title": format!("{} 申请 {}", m.name, case + 1),
                "documents": [Hash32::sha256(id.as_bytes())]}),
            at,
        )?;
        self.cases.push(Case {
            matter: u32::try_from(matter).unwrap_or(0),
            town: u8::try_from(town).unwrap_or(0),
            opener: u32::try_from(opener).unwrap_or(0),
            current: 0,
            round: 0,
            reached: at,
            remaining: Vec::new(),
            status: Status::Open,
        });
        self.reach(case, 0, at)
    }

    /// The case reaches the group starting at `first` at `at`: each of its
    /// stages gets `threshold` signatures from distinct officials.
    fn reach(&mut self, case: usize, first: usize, at: i64) -> Result<(), NodeError> {
        let world = self.world;
        let c = &self.cases[case];
        let stages = &world.matters[c.matter as usize].stages;
        let end = group_end(stages, first);
        let (round, town) = (c.round, usize::from(c.town));
        let mut events = Vec::new();
        let mut remaining = Vec::new();
        for (s, stage) in stages.iter().enumerate().take(end).skip(first) {
            let pool = &self.eligible[stage.department][town];
            let k = usize::from(stage.threshold);
            if pool.len() < k {
                return Err(NodeError::Config(format!(
                    "demo-data: department {} has {} officials for town {town}, a stage needs {k}",
                    stage.department,
                    pool.len()
                )));
            }
            remaining.push(stage.threshold);
            let start = self.rng.below(pool.len());
            for j in 0..k {
                let who = pool[(start + j) % pool.len()];
                let wait = self.rng.exp_ms(20 * HOUR).max(10 * 60_000);
                let stage = u8::try_from(s).unwrap_or(0);
                events.push((at + wait, Kind::Sign { stage, round, who }));
            }
        }
        let c = &mut self.cases[case];
        c.current = u8::try_from(first).unwrap_or(0);
        c.reached = at;
        c.remaining = remaining;
        for (t, kind) in events {
            self.push(t, case, kind);
        }
        Ok(())
    }

    fn sign(
        &mut self,
        case: usize,
        stage: u8,
        round: u8,
        who: u32,
        at: i64,
        w: &mut Writer,
    ) -> Result<(), NodeError> {
        let world = self.world;
        let c = &self.cases[case];
        if c.status != Status::Open || c.round != round {
            return Ok(());
        }
        let stages = &world.matters[c.matter as usize].stages;
        let st = &stages[usize::from(stage)];
        // Any stage of the group past its deadline closes the case.
        let first = usize::from(c.current);
        let deadline = stages[first..group_end(stages, first)]
            .iter()
            .filter_map(|s| s.deadline_ms)
            .min();
        if deadline.is_some_and(|d| at + MARGIN > c.reached + d) {
            self.cases[case].status = Status::Expired;
            return Ok(());
        }
        let signer = if st.department == world.window {
            &world.clerks[who as usize]
        } else {
            &world.reviewers[st.department][who as usize].key
        };
        let id = case_id(case);
        let roll = self.rng.unit();
        if roll < 0.008 {
            w.submit(
                &world.clerks[c.opener as usize],
                "case.withdraw",
                json!({"case_id": id, "reason": "申请人撤回申请"}),
                at,
            )?;
            self.cases[case].status = Status::Withdrawn;
            return Ok(());
        }
        if roll < 0.038 && round < 3 {
            let comment = if st.returns {
                "材料不齐全，请补正后重新提交"
            } else {
                "不符合审批条件，不予许可"
            };
            w.submit(
                signer,
                "case.sign_step",
                json!({"case_id": id, "stage": stage, "decision": "reject",
                    "comment": comment, "attachments": []}),
                at,
            )?;
            if st.returns {
                self.cases[case].round += 1;
                self.reach(case, 0, at)?;
            } else {
                self.cases[case].status = Status::Rejected;
            }
            return Ok(());
        }
        w.submit(
            signer,
            "case.sign_step",
            json!({"case_id": id, "stage": stage, "decision": "approve",
                "comment": "", "attachments": []}),
            at,
        )?;
        let c = &mut self.cases[case];
        let at_stage = usize::from(stage.saturating_sub(c.current));
        if let Some(r) = c.remaining.get_mut(at_stage) {
            *r = r.saturating_sub(1);
        }
        if c.remaining.iter().all(|r| *r == 0) {
            let next = group_end(stages, usize::from(c.current));
            if next >= stages.len() {
                c.status = Status::Approved;
            } else {
                self.reach(case, next, at)?;
            }
        }
        Ok(())
    }
}

/// The first stage after the group that starts at `first`.
fn group_end(stages: &[Stage], first: usize) -> usize {
    let g = stages.get(first).and_then(|s| s.group);
    let mut end = first + 1;
    while g.is_some() && stages.get(end).is_some_and(|s| s.group == g) {
        end += 1;
    }
    end
}

fn case_id(case: usize) -> String {
    format!("NS-2026-{:06}", case + 1)
}
