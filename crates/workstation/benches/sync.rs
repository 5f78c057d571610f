//! Workstation benchmarks, one run each (numbers for BENCHMARKS.md):
//!
//! * sync + full verification of `--txs` transactions (default 1,000,000)
//!   from a local node over loopback HTTP, against the raw single-core batch
//!   verification of the same signatures measured in the same run;
//! * the auditor's queries on that verified 1M-transaction chain (search,
//!   graph, block and transaction detail, access log, dashboards): p50 and
//!   p99 of 200 runs each, against the goal p99 < 50 ms;
//! * sign one workflow step (preview + keychain + sign + durable outbox),
//!   median and p99 of 50, when a Secret Service is available
//!   (`scripts/with-keyring.sh`).
//!
//! `cargo bench -p govchain-workstation --bench sync -- --txs 1000000`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::too_many_lines
)]

#[path = "support/serve.rs"]
mod serve;

use std::sync::Arc;
use std::time::Instant;

use serve::serve;

use govchain_ledger::crypto::{self, BatchItem, SecretKey};
use govchain_ledger::state::kinds::Genesis;
use govchain_ledger::tx::{Envelope, TxBody};
use govchain_ledger::types::{ChainId, Hash32};
use govchain_node::{Core, Limits};
use govchain_workstation::Workstation;
use serde_json::json;
use zeroize::Zeroizing;

const OFFICIALS: usize = 2000;

fn key(label: &str) -> SecretKey {
    SecretKey::from_seed(&Zeroizing::new(Hash32::sha256(label.as_bytes()).0))
}

fn sign(
    chain: &ChainId,
    k: &SecretKey,
    seq: u64,
    kind: &str,
    payload: serde_json::Value,
) -> Envelope {
    Envelope::sign(
        k,
        TxBody {
            chain_id: chain.clone(),
            signer: k.key_id(),
            seq,
            kind: kind.into(),
            payload,
            created_at: govchain_node::api::now(),
        },
    )
    .unwrap()
}

/// A node database holding `txs` `access.record` transactions from 2,000
/// officials, in blocks of 2,000; and the envelopes.
fn build_chain(dir: &std::path::Path, txs: usize) -> Vec<Envelope> {
    std::fs::create_dir_all(dir).unwrap();
    let chain: ChainId = "bench".parse().unwrap();
    let (node, admin) = (key("bench node"), key("bench admin"));
    let genesis: Genesis = serde_json::from_value(json!({
        "origin": "govchain.example/bench", "consortium_threshold": 1,
        "departments": [{"id": "d", "name": "d", "node_key": node.public_key(), "admin_threshold": 1,
                         "admins": [{"name": "admin", "public_key": admin.public_key()}]}]}))
    .unwrap();
    let block =
        govchain_node::genesis_block(&chain, &genesis, &admin, &node, govchain_node::api::now())
            .unwrap();
    let mut core = Core::open(
        &dir.join("chain.sqlite"),
        node,
        "bench.node",
        Some(&block),
        Limits::default(),
    )
    .unwrap();
    let people: Vec<SecretKey> = (0..OFFICIALS)
        .map(|i| key(&format!("official {i}")))
        .collect();
    for (i, p) in people.iter().enumerate() {
        let reg = sign(
            &chain,
            &admin,
            i as u64 + 2,
            "official.register",
            json!({"department": "d", "name": format!("o{i}"), "public_key": p.public_key()}),
        );
        core.submit(reg, core.now()).unwrap();
    }
    while core.produce().unwrap().is_some() {}
    // Sign on both cores.
    let entry = json!({"dataset": "fund/accounts", "operation": "read", "purpose": "bench", "at": govchain_node::api::now()});
    let half = txs / 2;
    let envs: Vec<Envelope> = std::thread::scope(|s| {
        let parts: Vec<_> = [(0, half), (half, txs)]
            .into_iter()
            .map(|(a, b)| {
                let (people, chain, entry) = (&people, &chain, &entry);
                s.spawn(move || {
                    (a..b)
                        .map(|i| {
                            sign(
                                chain,
                                &people[i % OFFICIALS],
                                (i / OFFICIALS) as u64 + 1,
                                "access.record",
                                json!({"entries": [entry]}),
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        parts.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    for chunk in envs.chunks(2000) {
        let keys = core.keys_for(chunk);
        let prepared: Vec<_> = chunk
            .iter()
            .map(|e| {
                e.clone()
                    .prepare()
                    .map_err(|x| govchain_node::NodeError::bad(&x))
            })
            .collect();
        let ok = govchain_node::chain::verify_signatures(&prepared, &keys);
        let now = core.now();
        for r in core.admit_batch(prepared, &ok, now) {
            r.unwrap();
        }
        core.produce().unwrap();
    }
    while core.produce().unwrap().is_some() {}
    envs
}

fn raw_verify_rate(envs: &[Envelope]) -> f64 {
    let people: Vec<_> = (0..OFFICIALS)
        .map(|i| key(&format!("official {i}")).public_key())
        .collect();
    let msgs: Vec<Vec<u8>> = envs
        .iter()
        .map(|e| e.body.signed_message().unwrap())
        .collect();
    let started = Instant::now();
    for (c, chunk) in envs.chunks(1024).enumerate() {
        let items: Vec<BatchItem<'_>> = chunk
            .iter()
            .enumerate()
            .map(|(j, e)| {
                let i = c * 1024 + j;
                BatchItem {
                    key: &people[i % OFFICIALS],
                    msg: &msgs[i],
                    sig: &e.sig,
                }
            })
            .collect();
        crypto::verify_batch(&items).unwrap();
    }
    envs.len() as f64 / started.elapsed().as_secs_f64()
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let txs = arg("--txs", 1_000_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let base = std::env::temp_dir().join(format!("govchain-sync-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();

    let started = Instant::now();
    let envs = build_chain(&base.join("node"), txs);
    eprintln!(
        "chain of {txs} transactions built in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let raw = raw_verify_rate(&envs);
    drop(envs);

    rt.block_on(async {
        let core = Core::open(
            &base.join("node/chain.sqlite"),
            key("bench node"),
            "bench.node",
            None,
            Limits::default(),
        )
        .unwrap();
        let served = serve(core).await;
        let ws =
            Workstation::open(&base.join("ws"), "govchain-bench-unused", Arc::new(|_| {})).unwrap();
        ws.set_nodes(vec![served.url.clone()]).await.unwrap();
        let t = Instant::now();
        let status = ws.sync().await.unwrap();
        let secs = t.elapsed().as_secs_f64();
        assert!(status.log_size >= txs as u64 && status.checkpoint_size == Some(status.log_size));
        let n = status.log_size as f64;
        println!(
            "sync + verify       {} transactions in {secs:.2} s ({:.0} tx/s)",
            status.log_size,
            n / secs
        );
        println!(
            "raw batch verify    {raw:.0} tx/s (one core, same signatures) -> {:.2} s for these",
            n / raw
        );
        println!(
            "ratio               {:.2} x raw batch verification time",
            secs / (n / raw)
        );
        queries(&ws, status.height.unwrap());
        served.stop().await;

        if std::env::var_os("GOVCHAIN_KEYRING").is_some() {
            sign_latency(&base).await;
        } else {
            println!("sign one step       skipped (run under scripts/with-keyring.sh)");
        }
    });
    let _ = std::fs::remove_dir_all(&base);
}

/// Preview + confirm of a workflow step with the key in the real keychain.
async fn sign_latency(base: &std::path::Path) {
    use govchain_workstation::demo::{DemoNode, DEMO_CASE};
    use govchain_workstation::dto::{SignRequest, StepDecision};
    let node = DemoNode::start(&base.join("demo")).await.unwrap();
    let ws = Workstation::open(
        &base.join("ws-sign"),
        &format!("govchain-bench-{}", std::process::id()),
        Arc::new(|_| {}),
    )
    .unwrap();
    ws.set_nodes(vec![node.url().to_owned()]).await.unwrap();
    let key = ws.create_key("基准").await.unwrap();
    node.register_user(
        &govchain_node::config::parse_public_key(&key.public_key).unwrap(),
        "基准",
    )
    .unwrap();
    ws.sync().await.unwrap();
    let req = SignRequest::SignStep {
        case_id: DEMO_CASE.into(),
        stage: 1,
        decision: StepDecision::Approve,
        comment: "同意".into(),
        attachments: vec![],
    };
    let mut ms: Vec<f64> = (0..50)
        .map(|_| {
            let t = Instant::now();
            let p = ws.prepare(&req).unwrap();
            ws.confirm(&p.preview_id).unwrap();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    println!("sign one step       median {:.1} ms, p99 {:.1} ms (preview, keychain, sign, durable outbox; 50 runs)", ms[25], ms[49]);
    ws.delete_key(&key.key_id).unwrap();
    node.stop().await.unwrap();
}

/// p50 and p99 (ms) of `runs` calls of `f(i)`.
fn time_query(name: &str, runs: usize, mut f: impl FnMut(usize)) -> f64 {
    let mut ms: Vec<f64> = (0..runs)
        .map(|i| {
            let t = Instant::now();
            f(i);
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    let (p50, p99) = (ms[runs / 2], ms[runs * 99 / 100]);
    println!(
        "query {name:<28} p50 {p50:7.2} ms  p99 {p99:7.2} ms  {}",
        if p99 < 50.0 { "ok" } else { "OVER 50 ms" }
    );
    p99
}

/// The explorer's queries on the verified chain of `top + 1` blocks.
fn queries(ws: &Workstation, top: u64) {
    const RUNS: usize = 200;
    // A deterministic spread of heights and transactions.
    let height = |i: usize| 1 + (i as u64 * 7919) % top;
    let ids: Vec<(u64, String)> = (0..RUNS)
        .map(|i| {
            let b = ws.block_detail(height(i)).unwrap();
            let row = &b.txs[(i * 31) % b.txs.len()];
            (b.summary.height, row.id.clone())
        })
        .collect();
    let worst = [
        time_query("explorer_blocks (page)", RUNS, |i| {
            assert!(!ws
                .explorer_blocks(Some(height(i) + 1), 30)
                .unwrap()
                .is_empty());
        }),
        time_query("block_detail (2,000 tx)", RUNS, |i| {
            ws.block_detail(height(i)).unwrap();
        }),
        time_query("tx_detail", RUNS, |i| {
            ws.tx_detail(height(i), (i * 13 % 2000) as u32).unwrap();
        }),
        time_query("search tx id", RUNS, |i| {
            let hits = ws.search(&ids[i].1).unwrap();
            assert_eq!(hits[0].height, Some(ids[i].0));
        }),
        time_query("search tx id prefix (16)", RUNS, |i| {
            assert!(!ws.search(&ids[i].1[..16]).unwrap().is_empty());
        }),
        time_query("search block height", RUNS, |i| {
            assert!(!ws.search(&height(i).to_string()).unwrap().is_empty());
        }),
        time_query("search official name", RUNS, |i| {
            assert!(!ws
                .search(&format!("o{}", i * 7 % OFFICIALS))
                .unwrap()
                .is_empty());
        }),
        time_query("search (no match)", RUNS, |_| {
            assert!(ws.search("不存在的案件").unwrap().is_empty());
        }),
        time_query("graph block", RUNS, |i| {
            ws.graph(&format!("block:{}", height(i))).unwrap();
        }),
        time_query("graph tx", RUNS, |i| {
            ws.graph(&format!("tx:{}:{}", height(i), i % 2000)).unwrap();
        }),
        time_query("access_log (newest 200)", RUNS, |_| {
            assert_eq!(ws.access_log(None, None, 200).unwrap().len(), 200);
        }),
        time_query("access_log (dataset, none)", RUNS, |_| {
            assert!(ws
                .access_log(None, Some("none/such"), 200)
                .unwrap()
                .is_empty());
        }),
        time_query("dashboard", RUNS, |_| {
            ws.dashboard().unwrap();
        }),
        time_query("checkpoints", RUNS, |_| {
            assert!(!ws.checkpoints().unwrap().is_empty());
        }),
    ];
    println!(
        "queries             worst p99 {:.2} ms on {} verified transactions (goal < 50 ms)",
        worst.iter().copied().fold(0.0, f64::max),
        ws.status().unwrap().log_size
    );
}
