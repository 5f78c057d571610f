//! Every rejection code over HTTP: the ledger's rule scenarios
//! (`crates/ledger/tests/transcripts/rules.json`, written by the ledger's
//! `rules` test) replayed against an in-process node, one node per scenario,
//! with the node's clock set to each block's time. Every transaction the
//! rules accepted must commit; every one they refused must be refused by the
//! node with the same code — at submission (422) or when its block is cut.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use govchain_ledger::block::{Block, BlockDraft};
use govchain_ledger::crypto::SecretKey;
use govchain_ledger::merkle::Frontier;
use govchain_ledger::state::{SigCheck, State};
use govchain_ledger::tx::Envelope;
use govchain_ledger::types::{Hash32, Timestamp};
use govchain_node::{Clock, Core, Limits};
use serde::Deserialize;
use serde_json::Value;
use zeroize::Zeroizing;

#[derive(Deserialize)]
struct Attempt {
    time: i64,
    txs: Vec<Envelope>,
    rejected: Option<(usize, String)>,
}

/// Codes a node can never return over HTTP, and why.
const NOT_REACHABLE_OVER_HTTP: &[(&str, &str)] = &[(
    "consortium.no_genesis",
    "a node always starts from a genesis block",
)];

/// The scenarios' key convention (rules.rs): the seed is SHA-256 of the name.
fn key(name: &str) -> SecretKey {
    SecretKey::from_seed(&Zeroizing::new(Hash32::sha256(name.as_bytes()).0))
}

fn seal_genesis(tx: &Envelope, time: i64, node: &SecretKey) -> Block {
    let draft = |digest| BlockDraft {
        chain_id: tx.body.chain_id.clone(),
        height: 0,
        prev_hash: Hash32::ZERO,
        time: Timestamp::from_unix_millis(time).unwrap(),
        txs: vec![tx.clone()],
        state_root: digest,
    };
    let probe = Block::seal(node, draft(Hash32::ZERO), &mut Frontier::default()).unwrap();
    let state = State::new().apply_block(&probe, SigCheck::Verify).unwrap();
    Block::seal(
        node,
        draft(state.digest().unwrap()),
        &mut Frontier::default(),
    )
    .unwrap()
}

async fn status(client: &reqwest::Client, base: &str, id: &str) -> Value {
    for _ in 0..500 {
        let v: Value = client
            .get(format!("{base}/v1/tx/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if v["status"] != "pending" {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("{id} never left pending");
}

/// Replays one scenario; returns the codes the node answered with and how
/// many multi-transaction rejected blocks were skipped.
async fn replay(n: usize, attempts: &[Attempt]) -> (BTreeSet<String>, usize) {
    let first = &attempts[0];
    assert_eq!(first.txs[0].body.kind, "consortium.genesis");
    let node = key("node-city-management");
    let genesis = seal_genesis(&first.txs[0], first.time, &node);
    let dir = std::env::temp_dir().join(format!(
        "govchain-node-rejections-{n}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let clock = Arc::new(AtomicI64::new(first.time));
    let mut core = Core::open(
        &dir.join("chain.sqlite"),
        node,
        "node.city.example",
        Some(&genesis),
        Limits::default(),
    )
    .unwrap();
    core.set_clock(Clock::Manual(clock.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(govchain_node::run(
        listener,
        Arc::new(Mutex::new(core)),
        Duration::from_millis(2),
        async move {
            let _ = rx.await;
        },
    ));
    let client = reqwest::Client::new();
    let mut codes = BTreeSet::new();
    let mut committed: HashSet<String> = HashSet::new();
    committed.insert(first.txs[0].id().unwrap().to_hex());
    let mut skipped = 0;
    for (i, a) in attempts.iter().enumerate().skip(1) {
        let what = format!("scenario {n} block {i}");
        clock.store(a.time, Ordering::SeqCst);
        match &a.rejected {
            // A block refused as a whole because of one of several
            // transactions: a node's mempool judges each on its own.
            Some(_) if a.txs.len() > 1 => skipped += 1,
            Some((_, expected)) => {
                let tx = &a.txs[0];
                let id = tx.id().unwrap().to_hex();
                let r = client
                    .post(format!("{base}/v1/tx"))
                    .body(serde_json::to_vec(tx).unwrap())
                    .send()
                    .await
                    .unwrap();
                let http = r.status().as_u16();
                let v: Value = r.json().await.unwrap();
                if committed.contains(&id) {
                    // The very same transaction again: submission is
                    // idempotent, the chain does not change.
                    assert_eq!(
                        (http, v["status"].as_str()),
                        (200, Some("committed")),
                        "{what}: {v}"
                    );
                    continue;
                }
                let answered = if http == 422 {
                    v["code"].as_str().unwrap().to_owned()
                } else {
                    assert_eq!(http, 200, "{what}: {v}");
                    let s = status(&client, &base, &id).await;
                    assert_eq!(s["status"], "rejected", "{what}: {s}");
                    s["code"].as_str().unwrap().to_owned()
                };
                assert_eq!(&answered, expected, "{what}: {v}");
                assert!(!v["message"].as_str().unwrap_or("x").is_empty());
                codes.insert(answered);
            }
            None => {
                let body = serde_json::to_vec(&a.txs).unwrap();
                let r = client
                    .post(format!("{base}/v1/txs"))
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status().as_u16(), 200, "{what}");
                let v: Value = r.json().await.unwrap();
                for (tx, item) in a.txs.iter().zip(v.as_array().unwrap()) {
                    assert!(item.get("code").is_none(), "{what}: {item}");
                    let id = tx.id().unwrap().to_hex();
                    let s = status(&client, &base, &id).await;
                    assert_eq!(s["status"], "committed", "{what} ({}): {s}", tx.body.kind);
                    committed.insert(id);
                }
            }
        }
    }
    let _ = stop.send(());
    handle.await.unwrap().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    (codes, skipped)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rejection_code_is_returned_over_http() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ledger");
    let text = std::fs::read_to_string(dir.join("tests/transcripts/rules.json")).unwrap();
    let scenarios: Vec<Vec<Attempt>> = serde_json::from_str(&text).unwrap();
    assert!(scenarios.len() >= 10);
    let mut reached = BTreeSet::new();
    let mut skipped = 0;
    for (n, attempts) in scenarios.iter().enumerate() {
        let (codes, s) = replay(n, attempts).await;
        reached.extend(codes);
        skipped += s;
    }
    let src = std::fs::read_to_string(dir.join("src/state/rejection.rs")).unwrap();
    let all: BTreeSet<String> = src
        .lines()
        .filter_map(|l| l.split("=> \"").nth(1).and_then(|r| r.split('"').next()))
        .map(str::to_owned)
        .collect();
    assert!(all.len() >= 40, "found only {} codes", all.len());
    let exempt: BTreeSet<String> = NOT_REACHABLE_OVER_HTTP
        .iter()
        .map(|(c, _)| (*c).to_owned())
        .collect();
    let missing: Vec<&String> = all
        .iter()
        .filter(|c| !reached.contains(*c) && !exempt.contains(*c))
        .collect();
    assert!(
        missing.is_empty(),
        "codes never returned over HTTP: {missing:?}"
    );
    println!(
        "{} of {} rejection codes returned over HTTP ({} exempt, {skipped} whole-block rejections skipped)",
        reached.len(),
        all.len(),
        exempt.len()
    );
}
