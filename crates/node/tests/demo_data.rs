//! `govchain-node demo-data` at a small scale: the chain it writes replays
//! with full verification (every signature and rule), a node opens it with
//! the node key written beside it, its cases end in every way the profile
//! models, and the same seed gives the same chain while another seed does
//! not.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::many_single_char_names
)]

use govchain_ledger::ErrorCode as _;
use govchain_node::demo_data::{run, DemoData, Profile};
use govchain_node::{Core, Limits};

fn opts(dir: &std::path::Path, seed: u64) -> DemoData {
    DemoData {
        profile: Profile::Nansha,
        out: dir.to_owned(),
        seed,
        scale: 0.002,
    }
}

fn dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("govchain-demo-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn a_nansha_chain_verifies_serves_and_is_deterministic() {
    let a = dir("a");
    let s = run(&opts(&a, 7)).unwrap();
    assert_eq!(s.departments, 19);
    assert_eq!(s.cases, 600);
    assert_eq!(s.templates, 4);
    assert_eq!(s.statuses.values().sum::<u64>(), 600, "{s}");
    for status in ["approved", "in progress"] {
        assert!(s.statuses.get(status).is_some_and(|n| *n > 0), "{s}");
    }
    let ended_otherwise: u64 = ["rejected", "withdrawn", "expired"]
        .iter()
        .filter_map(|k| s.statuses.get(k))
        .sum();
    assert!(ended_otherwise > 0, "{s}");
    assert!(s.transactions > 3_000, "{s}");
    assert!(s.last_time.unix_millis() - s.first_time.unix_millis() > 300 * 86_400_000);

    // Everything replays, fully verified, to the stored state.
    let db = a.join("chain.sqlite");
    let report = govchain_node::verify_chain(&db, false).unwrap();
    assert_eq!(report.height + 1, s.blocks);
    assert_eq!(report.transactions, s.transactions);

    // A node opens it with the key written beside it.
    let key = govchain_node::config::read_key(&a.join("node.key")).unwrap();
    let core = Core::open(&db, key, "node.demo.example", None, Limits::default()).unwrap();
    assert_eq!(core.height() + 1, s.blocks);
    drop(core);
    let csv = std::fs::read_to_string(a.join("officials.csv")).unwrap();
    assert_eq!(csv.lines().count(), s.officials + 1);
    assert!(a.join("keys/ns-zwfw-admin.key").exists());

    // The same seed: the same chain. Another: another.
    let b = dir("b");
    run(&opts(&b, 7)).unwrap();
    let again = govchain_node::verify_chain(&b.join("chain.sqlite"), false).unwrap();
    assert_eq!(again.state_root, report.state_root);
    assert_eq!(again.height, report.height);
    let c = dir("c");
    run(&opts(&c, 8)).unwrap();
    let other = govchain_node::verify_chain(&c.join("chain.sqlite"), false)
        .map(|r| r.state_root)
        .unwrap();
    assert_ne!(other, report.state_root);

    // A directory that already holds a chain is refused.
    let e = run(&opts(&a, 7)).unwrap_err();
    assert_eq!(e.code(), "node.config", "{e}");
    for d in [a, b, c] {
        let _ = std::fs::remove_dir_all(d);
    }
}
