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
use govchain_node::store::{Frame, FrameWriter};
use govchain_node::{Core, Limits};

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
        let env = support::registration(&chain(), &admin, "d", seq, T0);
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
    let file = a_dir.join("snapshot.jsonl");
    let info = a.reads().snapshot_file(3, &file).unwrap();
    assert_eq!(info.height, a.height());
    assert_eq!((info.first_block, info.counts.blocks), (8, 3));
    assert_eq!(info.counts.log, a.log_size());
    let snap = frames(&file);
    let heights: Vec<u64> = snap
        .iter()
        .filter_map(|f| match f {
            Frame::Block(b) => Some(b.header.height),
            _ => None,
        })
        .collect();
    assert_eq!(heights, vec![8, 9, 10]);

    let bad = a_dir.join("tampered.jsonl");
    for (what, tampered, code) in tampered(&snap) {
        std::fs::write(&bad, tampered).unwrap();
        let e = verify_snapshot(&bad, &block0()).unwrap_err();
        assert_eq!(e.code(), code, "{what}: {e}");
    }

    let b_dir = dir("b");
    let mut b = open(&b_dir);
    let checked = verify_snapshot(&file, &block0()).unwrap();
    assert_eq!(b.install_snapshot(&file, checked).unwrap(), 10);
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
    // A snapshot of the installed node installs too (it ships what it has),
    // byte for byte the same file.
    let again = b_dir.join("again.jsonl");
    let info = b.reads().snapshot_file(10, &again).unwrap();
    assert_eq!(info.first_block, 8);
    assert_eq!(
        std::fs::read(&again).unwrap(),
        std::fs::read(&file).unwrap()
    );
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
    let foreign = c_dir.join("snapshot.jsonl");
    other.reads().snapshot_file(3, &foreign).unwrap();
    let e = verify_snapshot(&foreign, &block0()).unwrap_err();
    assert_eq!(e.code(), "node.diverged");
    for d in [a_dir, b_dir, c_dir] {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// A snapshot file's frames, `end` included.
fn frames(path: &std::path::Path) -> Vec<Frame> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `frames` (without their `end`) as a file with a true `end` frame.
fn file_of(frames: &[Frame]) -> Vec<u8> {
    let mut w = FrameWriter::new(Vec::new());
    for f in frames.iter().filter(|f| !matches!(f, Frame::End(_))) {
        w.put(f).unwrap();
    }
    w.finish().unwrap().0
}

fn entries(snap: &mut [Frame]) -> &mut Vec<(String, String)> {
    snap.iter_mut()
        .find_map(|f| match f {
            Frame::Entries(e) => Some(e),
            _ => None,
        })
        .unwrap()
}

fn log(snap: &mut [Frame]) -> &mut Vec<govchain_node::store::LogRecord> {
    snap.iter_mut()
        .rev()
        .find_map(|f| match f {
            Frame::Log(l) => Some(&mut l.0),
            _ => None,
        })
        .unwrap()
}

fn blocks(snap: &mut [Frame]) -> Vec<&mut Block> {
    snap.iter_mut()
        .filter_map(|f| match f {
            Frame::Block(b) => Some(&mut **b),
            _ => None,
        })
        .collect()
}

/// One altered copy of the snapshot file `snap` per way a sender could
/// lie (or a transfer could break), with the code it must get.
fn tampered(snap: &[Frame]) -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let mut out = Vec::new();
    let mut s = snap.to_vec();
    let e = entries(&mut s);
    e[0].1 = e[0].1.replace('"', "'");
    out.push(("an altered entry", file_of(&s), "node.cluster"));
    let mut s = snap.to_vec();
    let named = entries(&mut s)
        .iter_mut()
        .find(|e| e.1.contains("\"name\":\"o2\""))
        .unwrap();
    named.1 = named.1.replace("\"name\":\"o2\"", "\"name\":\"o2-forged\"");
    out.push((
        "an official renamed (a well-formed value)",
        file_of(&s),
        "node.cluster",
    ));
    let mut s = snap.to_vec();
    entries(&mut s).pop();
    out.push(("a missing entry", file_of(&s), "node.cluster"));
    let mut s = snap.to_vec();
    entries(&mut s).push(("official/".to_owned() + &"0".repeat(64), "{}".into()));
    out.push(("an extra entry", file_of(&s), "node.cluster"));
    let mut s = snap.to_vec();
    log(&mut s)[3].leaf_hash.0[0] ^= 1;
    out.push(("a flipped leaf hash", file_of(&s), "node.cluster"));
    let mut s = snap.to_vec();
    log(&mut s).pop();
    out.push(("a short log", file_of(&s), "node.cluster"));
    let mut s = snap.to_vec();
    log(&mut s).last_mut().unwrap().id.0[8] ^= 1;
    out.push(("a recent transaction's id", file_of(&s), "node.cluster"));
    let mut s = snap.to_vec();
    blocks(&mut s)[1].txs.clear();
    out.push((
        "a block without its transactions",
        file_of(&s),
        "node.cluster",
    ));
    let mut s = snap.to_vec();
    let at = s.iter().position(|f| matches!(f, Frame::Block(_))).unwrap();
    s.remove(at + 1);
    out.push(("a gap in the blocks", file_of(&s), "node.cluster"));
    let mut s = snap.to_vec();
    let mut b = blocks(&mut s);
    let sig = b[2].sig;
    b[2].sig = b[1].sig;
    b[1].sig = sig;
    out.push(("a head signed by nobody", file_of(&s), "node.cluster"));
    let mut s = snap.to_vec();
    s.retain(|f| !matches!(f, Frame::Block(_)));
    out.push(("no blocks", file_of(&s), "node.cluster"));
    // Frames and lines themselves.
    let whole = file_of(snap);
    let lines: Vec<&[u8]> = whole.split(|b| *b == b'\n').collect();
    let cut = lines[..lines.len() - 2].join(&b'\n');
    out.push(("a file without its end frame", cut, "node.cluster"));
    let mut s = snap.to_vec();
    let at = s
        .iter()
        .position(|f| matches!(f, Frame::Entries(_)))
        .unwrap();
    let entries_frame = s.remove(at);
    s.insert(1, entries_frame);
    out.push(("entries before the blocks", file_of(&s), "node.cluster"));
    let mut s = snap.to_vec();
    s.insert(1, s[0].clone());
    out.push(("block 0 twice", file_of(&s), "node.cluster"));
    let mut s = snap.to_vec();
    if let Some(Frame::End(counts)) = s.last_mut() {
        counts.entries += 1;
    }
    let lines: Vec<Vec<u8>> = s.iter().map(|f| serde_json::to_vec(f).unwrap()).collect();
    out.push((
        "an end frame that miscounts",
        lines.join(&b'\n'),
        "node.cluster",
    ));
    let mut broken = whole.clone();
    let at = whole
        .windows(11)
        .position(|w| w == b"{\"entries\":")
        .unwrap();
    broken[at + 20] = b'\n';
    out.push(("a broken line", broken, "node.cluster"));
    out
}
