//! The flow pass: follows the sequence flows from the start event and checks
//! they form one path of stages — single user tasks, and parallel gateway
//! forks of single user tasks into one join — to an end event. Boundary
//! timers become the deadlines of their tasks.

use std::collections::{HashMap, HashSet};

use crate::error::{codes, Problem};
use crate::parse::{Kind, Model};

/// A step of the path: one stage, or a parallel group of stages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unit {
    Single(usize),
    Group { name: String, tasks: Vec<usize> },
}

struct Graph {
    outs: HashMap<usize, Vec<usize>>,
    ins: HashMap<usize, Vec<usize>>,
    ends: Vec<(usize, usize)>,
}

impl Graph {
    fn outs(&self, n: usize) -> &[usize] {
        self.outs.get(&n).map_or(&[], Vec::as_slice)
    }
    fn ins(&self, n: usize) -> &[usize] {
        self.ins.get(&n).map_or(&[], Vec::as_slice)
    }
}

struct Walker<'m> {
    m: &'m mut Model,
    g: Graph,
    seen: HashSet<usize>,
}

impl Walker<'_> {
    fn problem(&mut self, code: &'static str, node: usize, message: String) {
        let n = &self.m.nodes[node];
        let p = Problem::new(code, Some(&n.id), &n.ty, message);
        self.m.problems.push(p);
    }

    fn target(&self, flow: usize) -> usize {
        self.g.ends[flow].1
    }

    fn is_task(&self, n: usize) -> bool {
        matches!(self.m.nodes[n].kind, Kind::Task(_))
    }

    /// A fork at `fork`: its branches, each one task into the same join.
    /// Returns the group and the join.
    fn fork(&mut self, fork: usize, name: String) -> Option<(Unit, usize)> {
        if self.g.ins(fork).len() != 1 {
            let n = self.g.ins(fork).len();
            self.problem(codes::PARALLEL, fork, format!("joins {n} flows without a fork before them; a parallel gateway forks single user tasks that meet at one joining parallel gateway"));
            return None;
        }
        let mut tasks = Vec::new();
        let mut join = None;
        let mut ok = true;
        for &f in &self.g.outs(fork).to_vec() {
            let t = self.target(f);
            let outs = self.g.outs(t).to_vec();
            let joins_at = match outs.as_slice() {
                [o] if self.is_task(t) && self.g.ins(t).len() == 1 => Some(self.target(*o)),
                _ => None,
            };
            let joins_at = joins_at.filter(|j| matches!(self.m.nodes[*j].kind, Kind::Parallel(_)));
            match (joins_at, join) {
                (Some(j), None) => join = Some(j),
                (Some(j), Some(k)) if j == k => {}
                _ => {
                    let id = self.m.nodes[t].id.clone();
                    self.problem(codes::PARALLEL, fork, format!("its branch through {id:?} is not one userTask leading to the joining parallel gateway; each branch of a fork is a single user task and all branches meet at one join"));
                    ok = false;
                    continue;
                }
            }
            self.seen.insert(t);
            tasks.push(t);
        }
        let join = join.filter(|_| ok)?;
        if self.g.ins(join).len() != tasks.len() {
            self.problem(
                codes::PARALLEL,
                join,
                format!(
                    "joins {} flows but its fork has {} branches",
                    self.g.ins(join).len(),
                    tasks.len()
                ),
            );
            return None;
        }
        if tasks.is_empty() {
            self.problem(codes::PARALLEL, fork, "forks into no task".into());
            return None;
        }
        Some((Unit::Group { name, tasks }, join))
    }
}

/// Follows the path; problems go to `m.problems`.
pub fn walk(m: &mut Model) -> Vec<Unit> {
    let mut g = Graph {
        outs: HashMap::new(),
        ins: HashMap::new(),
        ends: Vec::new(),
    };
    let mut bad_refs = Vec::new();
    for (i, f) in m.flows.iter().enumerate() {
        let (s, t) = (m.by_id.get(&f.source), m.by_id.get(&f.target));
        if let (Some(&s), Some(&t)) = (s, t) {
            g.outs.entry(s).or_default().push(i);
            g.ins.entry(t).or_default().push(i);
            g.ends.push((s, t));
        } else {
            bad_refs.push(Problem::new(
                codes::FLOW,
                Some(&f.id),
                "sequenceFlow",
                format!(
                    "connects {:?} to {:?}, not both elements of the process",
                    f.source, f.target
                ),
            ));
            g.ends.push((usize::MAX, usize::MAX));
        }
    }
    m.problems.extend(bad_refs);
    loops(m, &g);
    let mut w = Walker {
        m,
        g,
        seen: HashSet::new(),
    };
    timers(&mut w);
    let starts: Vec<usize> = (0..w.m.nodes.len())
        .filter(|&i| matches!(w.m.nodes[i].kind, Kind::Start))
        .collect();
    let Some(&start) = starts.first() else {
        w.m.problems.push(Problem::new(
            codes::EVENTS,
            None,
            "process",
            "has no start event".into(),
        ));
        return Vec::new();
    };
    for &extra in &starts[1..] {
        w.problem(
            codes::EVENTS,
            extra,
            "is a second start event; a template has one start".into(),
        );
    }
    let before = w.m.problems.len();
    let (units, complete) = follow(&mut w, start);
    if complete && w.m.problems.len() == before {
        for i in 0..w.m.nodes.len() {
            if !w.seen.contains(&i) && !matches!(w.m.nodes[i].kind, Kind::Other) {
                w.problem(
                    codes::UNREACHABLE,
                    i,
                    "is not on the path from the start event to the end event".into(),
                );
            }
        }
    }
    units
}

/// Follows the flows from `start`; whether the path reached an end event.
fn follow(w: &mut Walker<'_>, start: usize) -> (Vec<Unit>, bool) {
    let mut units = Vec::new();
    let mut cur = start;
    w.seen.insert(start);
    loop {
        let outs = w.g.outs(cur).to_vec();
        if matches!(w.m.nodes[cur].kind, Kind::End) {
            if !outs.is_empty() {
                w.problem(
                    codes::FLOW,
                    cur,
                    "an end event has no outgoing flows".into(),
                );
            }
            return (units, true);
        }
        let [f] = outs.as_slice() else {
            if matches!(w.m.nodes[cur].kind, Kind::Other) {
                // Already refused for what it is.
                return (units, false);
            }
            let msg = if outs.is_empty() {
                "has no outgoing sequence flow; the path must reach an end event".to_owned()
            } else {
                let ids: Vec<&str> = outs.iter().map(|&f| w.m.flows[f].id.as_str()).collect();
                format!("has {} outgoing sequence flows ({}); a template is one path: every case passes every stage in order (use a parallel gateway for stages signed together)", outs.len(), ids.join(", "))
            };
            w.problem(codes::FLOW, cur, msg);
            return (units, false);
        };
        let t = w.target(*f);
        if w.seen.contains(&t) && !matches!(w.m.nodes[t].kind, Kind::End) {
            // A loop, reported by `loops`.
            return (units, false);
        }
        w.seen.insert(t);
        match w.m.nodes[t].kind.clone() {
            // Other: already refused; walk on through it to find more problems.
            Kind::End | Kind::Other => {}
            Kind::Task(_) => {
                let n = w.g.ins(t).len();
                if n != 1 {
                    w.problem(codes::FLOW, t, format!("is reached by {n} sequence flows; a stage is reached from the one before it only"));
                }
                units.push(Unit::Single(t));
            }
            Kind::Parallel(name) => match w.fork(t, name) {
                Some((unit, join)) => {
                    units.push(unit);
                    w.seen.insert(join);
                    cur = join;
                    continue;
                }
                None => return (units, false),
            },
            Kind::Start | Kind::Timer { .. } => {
                w.problem(
                    codes::FLOW,
                    t,
                    "a sequence flow cannot lead into a start or boundary event".into(),
                );
                return (units, false);
            }
        }
        cur = t;
    }
}

/// Attaches each boundary timer's duration to its task; its flow may only
/// lead to an end event.
fn timers(w: &mut Walker<'_>) {
    for i in 0..w.m.nodes.len() {
        let Kind::Timer { task, secs } = w.m.nodes[i].kind.clone() else {
            continue;
        };
        w.seen.insert(i);
        let target = w.m.by_id.get(&task).copied();
        match target.map(|t| &mut w.m.nodes[t].kind) {
            Some(Kind::Task(t)) if t.deadline.is_none() => t.deadline = Some(secs),
            Some(Kind::Task(_)) => w.problem(
                codes::TIMER,
                i,
                format!("is a second timer on {task:?}; a stage has one deadline"),
            ),
            _ => w.problem(
                codes::TIMER,
                i,
                format!("is attached to {task:?}, not a user task"),
            ),
        }
        if !w.g.ins(i).is_empty() {
            w.problem(
                codes::FLOW,
                i,
                "a boundary event has no incoming flows".into(),
            );
        }
        let outs = w.g.outs(i).to_vec();
        if outs.len() > 1 {
            w.problem(codes::TIMER, i, "has several outgoing flows; when a deadline passes the stage expires: lead the timer to an end event".into());
        }
        for f in outs {
            let t = w.target(f);
            if matches!(w.m.nodes[t].kind, Kind::End) {
                w.seen.insert(t);
            } else {
                let id = w.m.nodes[t].id.clone();
                w.problem(codes::TIMER, i, format!("leads to {id:?}; when a deadline passes the stage expires and the case stops: lead the timer to an end event"));
            }
        }
    }
}

/// Every flow that closes a cycle (a back edge of a depth-first search from
/// each element in document order).
fn loops(m: &mut Model, g: &Graph) {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut mark = vec![Mark::New; m.nodes.len()];
    let mut back = Vec::new();
    for root in 0..m.nodes.len() {
        if mark[root] != Mark::New {
            continue;
        }
        // (node, index of the next outgoing flow to follow)
        let mut stack = vec![(root, 0)];
        mark[root] = Mark::Open;
        while let Some(&mut (n, ref mut next)) = stack.last_mut() {
            let outs = g.outs(n);
            if *next == outs.len() {
                mark[n] = Mark::Done;
                stack.pop();
                continue;
            }
            let f = outs[*next];
            *next += 1;
            let t = g.ends[f].1;
            match mark[t] {
                Mark::Open => back.push(f),
                Mark::New => {
                    mark[t] = Mark::Open;
                    stack.push((t, 0));
                }
                Mark::Done => {}
            }
        }
    }
    back.sort_unstable();
    for f in back {
        let to = &m.nodes[g.ends[f].1].id;
        let p = Problem::new(codes::LOOP, Some(&m.flows[f].id), "sequenceFlow", format!("goes back to {to:?}, a loop; a template has no loops (rework after a rejection is the stage's on_reject \"return\")"));
        m.problems.push(p);
    }
}
