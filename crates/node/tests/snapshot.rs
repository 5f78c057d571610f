//! Raft snapshots of the state (PROTOCOL.md §14, "Snapshots"), without a cluster: a
//! node's snapshot installs into a fresh node of the same chain, which then
//! holds the same head, state and log but only the last blocks (older ones
//! are `node.pruned`), restarts from what it stored, and passes
//! `verify-chain`; every kind of tampering with a snapshot is refused
//! before anything is stored.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use govchain_ledger::block::Block;
use govchain_ledger::types::ChainId;
use govchain_ledger::ErrorCode as _;
use govchain_node::chain::verify_snapshot;
use govchain_node::store::ChainSnapshot;
use govchain_node::{Core, Limits};
use serde_json::json;

mod support;
use support::{genesis, key, serve};

const T0: i64 = 1_795_000_000_000;
const ORIGIN: &str = "govchain.example/snap";

fn dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("govchain-snap-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn chain() -> ChainId {
    "snap".parse().unwrap()
}

fn block0() -> Block {
    genesis(&chain(), ORIGIN, &["d"], T0)
}

fn open(dir: &std::path::Path) -> Core {
    Core::open(
        &dir.join("chain.sqlite"),
        key("node-d"),
        "node.d.example",
        Some(&block0()),
        Limits::default(),
    )
    .unwrap()
}

/// A node with `blocks` blocks of one registration each, and an access
/// record in the last one.
fn grown(dir: &std::path::Path, blocks: u64) -> Core {
    let mut core = open(dir);
    let admin = key("d-admin");
    for seq in 2..2 + blocks {
        let name = format!("o{seq}");
        let payload =
            json!({"department": "d", "name": name, "public_key": key(&name).public_key()});
        let env = support::tx(&chain(), &admin, seq, "official.register", payload, T0);
        let now = core.now();
        core.submit(env, now).unwrap();
        assert!(core.produce().unwrap().is_some());
    }
    core
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_installs_into_a_fresh_node_and_tampering_is_refused() {
    let a_dir = dir("a");
    let a = grown(&a_dir, 10);
    let snap = a.reads().chain_snapshot(3).unwrap();
    assert_eq!(snap.height(), a.height());
    let heights: Vec<u64> = snap.blocks.iter().map(|b| b.header.height).collect();
    assert_eq!(heights, vec![8, 9, 10]);
    assert_eq!(snap.log_records().unwrap().len() as u64, a.log_size());

    for (what, bad, code) in tampered(&snap) {
        let e = verify_snapshot(&bad, &block0()).unwrap_err();
        assert_eq!(e.code(), code, "{what}: {e}");
    }

    let b_dir = dir("b");
    let mut b = open(&b_dir);
    let checked = verify_snapshot(&snap, &block0()).unwrap();
    assert_eq!(b.install_snapshot(&snap, checked).unwrap(), 10);
    assert_eq!(b.height(), a.height());
    assert_eq!(b.log_size(), a.log_size());
    assert_eq!(b.state().state_root(), a.state().state_root());
    // Both read their cases from their own stores: compare what is held.
    assert_eq!(b.state().officials, a.state().officials);
    assert_eq!(b.state().access_log, a.state().access_log);
    assert_eq!(b.reads().first_block().unwrap(), Some(8));
    assert_eq!(b.reads().block(9).unwrap(), a.reads().block(9).unwrap());
    // Every transaction's status and inclusion proof, held block or not.
    let old = a.reads().block(2).unwrap().unwrap().txs[0].id().unwrap();
    assert_eq!(
        b.inclusion_proof(&old, None).unwrap(),
        a.inclusion_proof(&old, None).unwrap()
    );
    // A snapshot of the installed node installs too (it ships what it has).
    let again = b.reads().chain_snapshot(10).unwrap();
    assert_eq!(again.blocks.first().map(|b| b.header.height), Some(8));
    assert_eq!(again.log, snap.log);
    assert!(verify_snapshot(&again, &block0()).is_ok());

    // Served: older blocks are pruned, with their own code.
    let node = serve(b, 10).await;
    for path in ["/v1/blocks/1", "/v1/blocks?from=3"] {
        let r = reqwest::get(format!("{}{path}", node.url)).await.unwrap();
        assert_eq!(r.status().as_u16(), 410, "{path}");
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["code"], "node.pruned", "{path}: {v}");
    }
    let r = reqwest::get(format!("{}/v1/blocks/0", node.url))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    node.stop().await;

    // It restarts from what it stored, and verify-chain checks it.
    let b = open(&b_dir);
    assert_eq!(b.state().state_root(), a.state().state_root());
    drop(b);
    let report = govchain_node::verify_chain(&b_dir.join("chain.sqlite"), false).unwrap();
    assert_eq!(report.first_block, Some(8));
    assert_eq!(report.height, 10);
    assert_eq!(report.state_root, a.state().state_root());
    let e = govchain_node::verify_chain(&b_dir.join("chain.sqlite"), true).unwrap_err();
    assert_eq!(e.code(), "node.config");

    // A snapshot of another chain is not this node's history.
    let c_dir = dir("c");
    let other = Core::open(
        &c_dir.join("chain.sqlite"),
        key("node-d"),
        "node.d.example",
        Some(&genesis(&"other".parse().unwrap(), ORIGIN, &["d"], T0)),
        Limits::default(),
    )
    .unwrap();
    let foreign = other.reads().chain_snapshot(3).unwrap();
    let e = verify_snapshot(&foreign, &block0()).unwrap_err();
    assert_eq!(e.code(), "node.diverged");
    for d in [a_dir, b_dir, c_dir] {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// One altered copy of `snap` per way a sender could lie, with the code it
/// must get.
fn tampered(snap: &ChainSnapshot) -> Vec<(&'static str, ChainSnapshot, &'static str)> {
    let mut out = Vec::new();
    let mut s = snap.clone();
    s.entries[0].1 = s.entries[0].1.replace('"', "'");
    out.push(("an altered entry", s, "node.cluster"));
    let mut s = snap.clone();
    let named = s
        .entries
        .iter_mut()
        .find(|e| e.1.contains("\"name\":\"o2\""))
        .unwrap();
    named.1 = named.1.replace("\"name\":\"o2\"", "\"name\":\"o2-forged\"");
    out.push((
        "an official renamed (a well-formed value)",
        s,
        "node.cluster",
    ));
    let mut s = snap.clone();
    s.entries.pop();
    out.push(("a missing entry", s, "node.cluster"));
    let mut s = snap.clone();
    s.entries
        .push(("official/".to_owned() + &"0".repeat(64), "{}".into()));
    out.push(("an extra entry", s, "node.cluster"));
    let mut s = snap.clone();
    let mut log = base64_decode(&s.log);
    log[76 * 3] ^= 1;
    s.log = base64_encode(&log);
    out.push(("a flipped leaf hash", s, "node.cluster"));
    let mut s = snap.clone();
    let mut log = base64_decode(&s.log);
    log.truncate(log.len() - 76);
    s.log = base64_encode(&log);
    out.push(("a short log", s, "node.cluster"));
    let mut s = snap.clone();
    let mut log = base64_decode(&s.log);
    let last = log.len() - 76;
    log[last + 40] ^= 1;
    s.log = base64_encode(&log);
    out.push(("a recent transaction's id", s, "node.cluster"));
    let mut s = snap.clone();
    s.blocks[1].txs.clear();
    out.push(("a block without its transactions", s, "node.cluster"));
    let mut s = snap.clone();
    s.blocks.remove(1);
    out.push(("a gap in the blocks", s, "node.cluster"));
    let mut s = snap.clone();
    let sig = s.blocks[2].sig;
    s.blocks[2].sig = s.blocks[1].sig;
    s.blocks[1].sig = sig;
    out.push(("a head signed by nobody", s, "node.cluster"));
    let mut s = snap.clone();
    s.blocks.clear();
    out.push(("no blocks", s, "node.cluster"));
    out
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}
