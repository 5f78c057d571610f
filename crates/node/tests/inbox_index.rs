//! The index of waiting cases behind `GET /v1/inbox/{official}`: on a
//! small nansha demo chain (returns, rejections, withdrawals, parallel and
//! two-approver stages, deadlines), every official's inbox from the index
//! is exactly the one a scan of every case gives, at several ledger times
//! (expired cases drop out), after a restart, and after the index is
//! dropped and rebuilt from the cases as a schema-5 database's would be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::AtomicI64;
use std::sync::Arc;

use govchain_ledger::crypto::KeyId;
use govchain_ledger::state::views;
use govchain_node::chain::Clock;
use govchain_node::demo_data::{run, DemoData, Profile};
use govchain_node::{Core, Limits};

const DAY: i64 = 86_400_000;
/// 2026-01-01T00:00:00Z.
const YEAR_START: i64 = 1_767_225_600_000;

fn open(dir: &std::path::Path) -> Core {
    let key = govchain_node::config::read_key(&dir.join("node.key")).unwrap();
    Core::open(
        &dir.join("chain.sqlite"),
        key,
        "node.demo.example",
        None,
        Limits::default(),
    )
    .unwrap()
}

fn officials(dir: &std::path::Path) -> Vec<KeyId> {
    std::fs::read_to_string(dir.join("officials.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap().parse().unwrap())
        .collect()
}

/// Every official's inbox from the index equals the scan's, at `times`;
/// returns how many items they held in all.
fn inboxes_match(core: &mut Core, people: &[KeyId], times: &[i64]) -> usize {
    let mut seen = 0;
    for &t in times {
        core.set_clock(Clock::Manual(Arc::new(AtomicI64::new(t))));
        let now = core.view_time();
        for id in people {
            let indexed = core.inbox(id).unwrap();
            let scanned = views::inbox(core.state(), id, now).unwrap();
            assert_eq!(indexed, scanned, "official {id} at {now}");
            seen += indexed.len();
        }
    }
    seen
}

#[test]
fn an_inbox_from_the_index_is_the_inbox_from_every_case() {
    let dir = std::env::temp_dir().join(format!("govchain-inbox-index-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    run(&DemoData {
        profile: Profile::Nansha,
        out: dir.clone(),
        seed: 3,
        scale: 0.002,
    })
    .unwrap();
    let people = officials(&dir);
    // The year's end (cases still waiting), and a day past it (the ones
    // with deadlines have expired), and mid-year.
    let times = [
        YEAR_START + 365 * DAY,
        YEAR_START + 380 * DAY,
        YEAR_START + 200 * DAY,
    ];
    let mut core = open(&dir);
    let seen = inboxes_match(&mut core, &people, &times);
    assert!(seen > 50, "{seen} inbox items: too few to compare");
    drop(core);

    // Without the index (as a database of schema 5 has none), a start
    // builds it from the cases.
    let conn = rusqlite::Connection::open(dir.join("chain.sqlite")).unwrap();
    conn.execute_batch(
        "DROP TABLE case_waiting; DROP TABLE case_waiting_built; PRAGMA user_version = 5;",
    )
    .unwrap();
    drop(conn);
    let mut core = open(&dir);
    assert_eq!(inboxes_match(&mut core, &people, &times), seen);
    let _ = std::fs::remove_dir_all(&dir);
}
