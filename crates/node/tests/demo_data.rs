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
use govchain_node::demo_data::{run, DemoData, Profile, Summary};
use govchain_node::{Core, Limits};

fn opts(dir: &std::path::Path, seed: u64) -> DemoData {
    DemoData {
        profile: Profile::Nansha,
        out: dir.to_owned(),
        seed,
        scale: 0.002,
    }
}

fn xiongan(dir: &std::path::Path, seed: u64) -> DemoData {
    DemoData {
        profile: Profile::Xiongan,
        out: dir.to_owned(),
        seed,
        scale: 0.02,
    }
}

fn dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("govchain-demo-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Everything in `dir` replays, fully verified, to the stored state; a node
/// opens it with the key written beside it.
fn replay_and_open(dir: &std::path::Path, s: &Summary) -> (govchain_node::ChainReport, Core) {
    let db = dir.join("chain.sqlite");
    let report = govchain_node::verify_chain(&db, false).unwrap();
    assert_eq!(report.height + 1, s.blocks);
    assert_eq!(report.transactions, s.transactions);
    let key = govchain_node::config::read_key(&dir.join("node.key")).unwrap();
    let core = Core::open(&db, key, "node.demo.example", None, Limits::default()).unwrap();
    assert_eq!(core.height() + 1, s.blocks);
    (report, core)
}

#[test]
fn a_nansha_chain_verifies_serves_and_is_deterministic() {
    let a = dir("a");
    let s = run(&opts(&a, 7)).unwrap();
    assert_eq!(s.count("departments"), 19);
    assert_eq!(s.count("cases"), 600);
    assert_eq!(s.count("matter templates"), 4);
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

    let (report, core) = replay_and_open(&a, &s);
    drop(core);
    let csv = std::fs::read_to_string(a.join("officials.csv")).unwrap();
    assert_eq!(
        csv.lines().count(),
        usize::try_from(s.count("officials")).unwrap() + 1
    );
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

#[test]
fn a_xiongan_chain_pays_builders_within_budgets_and_verifies() {
    let a = dir("xa");
    let s = run(&xiongan(&a, 3)).unwrap();
    assert_eq!(s.count("departments"), 9, "{s}");
    assert_eq!(s.count("projects"), 2, "{s}");
    assert_eq!(s.count("budgets (yuan)"), 40_000_000, "{s}");
    assert!(s.count("firms") >= 40, "{s}");
    // Every payment request ends in a status; most are paid, some refused
    // and requested again, none would have overrun a budget.
    let requests = s.count("payment requests");
    assert!(requests >= 100, "{s}");
    let requested: u64 = s
        .statuses
        .iter()
        .filter(|(k, _)| !["not yet requested", "withheld (budget)"].contains(k))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(requested, requests, "{s}");
    assert!(
        s.statuses
            .get("executed")
            .is_some_and(|n| *n * 10 > requests * 8),
        "{s}"
    );
    assert!(s.statuses.get("refused").is_some_and(|n| *n > 0), "{s}");
    assert!(!s.statuses.contains_key("withheld (budget)"), "{s}");
    assert!(s.count("paid (yuan)") < 40_000_000, "{s}");
    // Wages reach the builders, some payrolls in chunks.
    assert!(s.count("payrolls in chunks") > 0, "{s}");
    assert!(
        s.count("payroll lines") > s.count("builders on payroll"),
        "{s}"
    );
    assert!(s.count("builders paid") * 10 > 800 * 9, "{s}");
    assert!(s.count("builders on payroll") <= 800, "{s}");
    assert!(s.count("access entries") > 0, "{s}");

    let (report, core) = replay_and_open(&a, &s);
    let project = core.state().projects.values().next().cloned().unwrap();
    assert!(project.paid.get() > 0 && project.paid <= project.budget);
    drop(core);

    // The officials' list, the workers' list and the identity keys are
    // beside the chain; a builder's payroll hash follows from their id
    // number and the payroll key.
    let officials = std::fs::read_to_string(a.join("officials.csv")).unwrap();
    let accounts = s.count("firms") + s.count("officials");
    assert_eq!(
        officials.lines().count(),
        usize::try_from(accounts).unwrap() + 1
    );
    let workers = std::fs::read_to_string(a.join("workers.csv")).unwrap();
    assert_eq!(workers.lines().count(), 801);
    let line: Vec<&str> = workers.lines().nth(1).unwrap().split(',').collect();
    let hex = std::fs::read_to_string(a.join("keys/payroll.key.hex")).unwrap();
    let payroll = govchain_ledger::identity::IdentityKey::from_hex(hex.trim()).unwrap();
    let id = govchain_ledger::identity::normalize(
        govchain_ledger::identity::DocumentType::CnResidentId,
        line[1],
    )
    .unwrap();
    assert_eq!(payroll.hash(&id).to_hex(), line[3]);

    // The same seed: the same chain.
    let b = dir("xb");
    run(&xiongan(&b, 3)).unwrap();
    let again = govchain_node::verify_chain(&b.join("chain.sqlite"), false).unwrap();
    assert_eq!(again.state_root, report.state_root);
    for d in [a, b] {
        let _ = std::fs::remove_dir_all(d);
    }
}
