//! The queries behind the workstation's screens, on seed-scale chains
//! (numbers for BENCHMARKS.md, issue 20): the state of a `govchain-node
//! demo-data` directory is loaded whole (as the workstation's full mode
//! holds it), then each screen's query runs 200 times and its p50 / p99 /
//! max are printed.
//!
//! Then a workstation syncs the chain from an in-process node (full mode)
//! and the queries run again through its API (`through_workstation.rs`;
//! `--no-sync` skips this, `--ws-only` does only this).
//!
//! `cargo bench -p govchain-workstation --bench screens -- DIR [DIR …]`
//! (each DIR a `demo-data --out` directory); without DIR it generates
//! small nansha and xiongan chains first.
#![allow(clippy::unwrap_used, clippy::cast_precision_loss)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use govchain_ledger::crypto::KeyId;
use govchain_ledger::state::{views as ledger_views, State};
use govchain_ledger::types::Timestamp;
use govchain_workstation::case_index::CaseIndex;
use govchain_workstation::dto::{CaseQuery, CaseStatus};
use govchain_workstation::views;

#[path = "support/serve.rs"]
mod serve;
#[path = "screens/through_workstation.rs"]
mod through_workstation;

const RUNS: usize = 200;

/// Kernel's peak resident set of this process (MiB), from /proc.
fn peak_mib() -> u64 {
    proc_status_mib("VmHWM:")
}

/// A memory figure of this process (MiB) from /proc/self/status.
fn proc_status_mib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

/// Times `f(i)` for i in 0..RUNS; prints p50, p99 and max in ms.
fn measure<T>(name: &str, mut f: impl FnMut(usize) -> T) {
    let mut ms: Vec<f64> = (0..RUNS)
        .map(|i| {
            let t = Instant::now();
            std::hint::black_box(f(i));
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    let p = |percent: usize| ms[(percent * RUNS / 100).min(RUNS - 1)];
    println!(
        "  {name:<44} p50 {:>8.2} ms  p99 {:>8.2} ms  max {:>8.2} ms",
        p(50),
        p(99),
        ms[RUNS - 1]
    );
}

fn query(status: Option<CaseStatus>, text: Option<&str>, mine: bool, offset: u32) -> CaseQuery {
    CaseQuery {
        status,
        text: text.map(str::to_owned),
        waiting_for_me: mine,
        offset,
        limit: 50,
    }
}

fn screens(dir: &Path, sync: bool) {
    let store = govchain_node::store::Store::open(&dir.join("chain.sqlite")).unwrap();
    let head = store.head().unwrap().unwrap();
    let started = Instant::now();
    let s: State = store.load_state(&head.header, None).unwrap();
    let now: Timestamp = head.header.time;
    println!(
        "{}: height {}, {} cases, {} projects, {} officials; state loaded in {:.1} s, peak RSS {} MiB",
        dir.display(),
        head.header.height,
        s.cases.resident().len(),
        s.projects.len(),
        s.officials.len(),
        started.elapsed().as_secs_f64(),
        peak_mib()
    );
    if std::env::args().any(|a| a == "--ws-only") {
        through_workstation::run(dir, &s);
        return;
    }
    case_screens(&s, now);
    project_screens(&s);
    // Computed once per head by the workstation (then kept): timed once.
    let t = Instant::now();
    std::hint::black_box(govchain_workstation::audit::dashboard(&s, &[]));
    println!(
        "  dashboard figures computed in {:.0} ms (once per head)",
        t.elapsed().as_secs_f64() * 1000.0
    );
    if sync {
        through_workstation::run(dir, &s);
    }
}

/// A query of the case list: who asks, and what.
type Query<'a> = Box<dyn Fn(usize) -> (Option<KeyId>, CaseQuery) + 'a>;

/// The case list and the inbox, by scanning the cases and from the index.
fn case_screens(s: &State, now: Timestamp) {
    let officials: Vec<KeyId> = s.officials.keys().copied().collect();
    let official = |i: usize| officials[(i * 7919) % officials.len()];
    let cases = s.cases.resident().len();
    if cases > 0 {
        let last = u32::try_from(cases.saturating_sub(50)).unwrap_or(0);
        let queries: [(&str, Query); 5] = [
            (
                "first page",
                Box::new(|_| (None, query(None, None, false, 0))),
            ),
            (
                "last page",
                Box::new(move |_| (None, query(None, None, false, last))),
            ),
            (
                "status expired",
                Box::new(|_| (None, query(Some(CaseStatus::Expired), None, false, 0))),
            ),
            (
                "text search (a case number)",
                Box::new(move |i| {
                    let id = format!("{:06}", (i * 1543) % cases);
                    (None, query(None, Some(&id), false, 0))
                }),
            ),
            (
                "waiting for me (200 officials)",
                Box::new(|i| (Some(official(i)), query(None, None, true, 0))),
            ),
        ];
        for (name, q) in &queries {
            measure(&format!("cases, scan: {name}"), |i| {
                let (me, q) = q(i);
                views::case_page(s, me.as_ref(), now, &q)
            });
        }
        measure("inbox, scan (200 officials)", |i| {
            ledger_views::inbox(s, &official(i), now)
        });
        let started = Instant::now();
        let index = CaseIndex::build(s);
        println!(
            "  case index built in {:.0} ms, peak RSS {} MiB",
            started.elapsed().as_secs_f64() * 1000.0,
            peak_mib()
        );
        for (name, q) in &queries {
            measure(&format!("cases, index: {name}"), |i| {
                let (me, q) = q(i);
                index.page(s, me.as_ref(), now, &q)
            });
        }
        measure("inbox, index (200 officials)", |i| {
            index.inbox(s, &official(i), now)
        });
    }
}

/// The project screens.
fn project_screens(s: &State) {
    if !s.projects.is_empty() {
        let ids: Vec<_> = s.projects.keys().cloned().collect();
        let largest = s
            .projects
            .values()
            .max_by_key(|p| p.payments.values().map(|x| x.payroll.len()).sum::<usize>())
            .unwrap();
        let biggest_payment = largest
            .payments
            .values()
            .max_by_key(|x| x.payroll.len())
            .unwrap();
        println!(
            "  (largest project {}: {} payments, {} payroll lines; its largest payroll {} lines)",
            largest.id,
            largest.payments.len(),
            largest
                .payments
                .values()
                .map(|x| x.payroll.len())
                .sum::<usize>(),
            biggest_payment.payroll.len()
        );
        measure("projects", |_| views::projects(s, None));
        measure("project detail (random)", |i| {
            views::project_detail(s, &ids[(i * 31) % ids.len()], None, views::PAYROLL_SHOWN)
        });
        measure("project detail (largest)", |_| {
            views::project_detail(s, &largest.id, None, views::PAYROLL_SHOWN)
        });
        let lines = biggest_payment.payroll.len().max(1);
        measure("payroll page of 100 (largest payroll)", |i| {
            views::payroll_page(s, &largest.id, &biggest_payment.id, (i * 100) % lines, 100)
        });
        measure("fund trace (largest)", |_| {
            ledger_views::fund_trace(s, &largest.id)
        });
    }
}

fn main() {
    let sync = !std::env::args().any(|a| a == "--no-sync");
    let dirs: Vec<PathBuf> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .map(PathBuf::from)
        .collect();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_default();
    println!("cpu: {cpu}; {RUNS} runs per query, one thread");
    if dirs.is_empty() {
        let tmp = std::env::temp_dir().join(format!("govchain-screens-{}", std::process::id()));
        for (profile, scale) in [
            (govchain_node::demo_data::Profile::Nansha, 0.01),
            (govchain_node::demo_data::Profile::Xiongan, 0.05),
        ] {
            let out = tmp.join(format!("{profile:?}").to_lowercase());
            govchain_node::demo_data::run(&govchain_node::demo_data::DemoData {
                profile,
                out: out.clone(),
                seed: 1,
                scale,
            })
            .unwrap();
            screens(&out, sync);
        }
        let _ = std::fs::remove_dir_all(tmp);
    } else {
        for d in dirs {
            screens(&d, sync);
        }
    }
}
