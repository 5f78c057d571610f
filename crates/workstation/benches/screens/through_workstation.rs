//! The same chain served by an in-process node and synced by a workstation
//! in full mode (every block verified): the first sync against one core's
//! raw batch verification of the same signatures, then every screen's
//! query through the workstation's own API (its lock, snapshot and caches
//! included), as the app's IPC calls it.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use govchain_ledger::crypto::{self, BatchItem, KeyId, PublicKey};
use govchain_ledger::state::State;
use govchain_node::{Core, Limits};
use govchain_workstation::dto::CaseQuery;
use govchain_workstation::Workstation;

use super::serve::serve;
use super::{measure, proc_status_mib};

/// Signatures in the raw-verification sample.
const SAMPLE: usize = 200_000;

/// One core's batch verification rate (signatures/s) over up to
/// [`SAMPLE`] transactions of the chain, in chain order.
fn raw_verify_rate(store: &govchain_node::store::Store, s: &State, top: u64) -> f64 {
    let keys: HashMap<KeyId, PublicKey> = s
        .officials
        .values()
        .flat_map(|o| o.keys.iter().map(|k| (k.key.key_id(), k.key)))
        .collect();
    let mut items: Vec<(PublicKey, Vec<u8>, crypto::Signature)> = Vec::new();
    for h in 0..=top {
        let Some(b) = store.block(h).unwrap() else {
            break;
        };
        for e in b.txs {
            if let Some(k) = keys.get(&e.body.signer) {
                items.push((*k, e.body.signed_message().unwrap(), e.sig));
            }
        }
        if items.len() >= SAMPLE {
            break;
        }
    }
    let started = Instant::now();
    for chunk in items.chunks(1024) {
        let batch: Vec<BatchItem<'_>> = chunk
            .iter()
            .map(|(key, msg, sig)| BatchItem { key, msg, sig })
            .collect();
        crypto::verify_batch(&batch).unwrap();
    }
    items.len() as f64 / started.elapsed().as_secs_f64()
}

/// Serves `dir` in-process, syncs a fresh workstation from it, measures.
pub fn run(dir: &Path, s: &State) {
    let store = govchain_node::store::Store::open(&dir.join("chain.sqlite")).unwrap();
    let top = store.head().unwrap().unwrap().header.height;
    let raw = raw_verify_rate(&store, s, top);
    drop(store);
    let key = govchain_node::config::read_key(&dir.join("node.key")).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // GOVCHAIN_BENCH_WS_DIR keeps the workstation's data (a second run
    // then starts from its stored state); else a fresh one is removed after.
    let kept = std::env::var_os("GOVCHAIN_BENCH_WS_DIR").map(std::path::PathBuf::from);
    let base = kept.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("govchain-screens-ws-{}", std::process::id()))
    });
    if kept.is_none() {
        let _ = std::fs::remove_dir_all(&base);
    }
    rt.block_on(async {
        let core = Core::open(
            &dir.join("chain.sqlite"),
            key,
            "node.demo.example",
            None,
            Limits::default(),
        )
        .unwrap();
        let served = serve(core).await;
        let t = Instant::now();
        let ws = Workstation::open(&base, "govchain-bench-unused", Arc::new(|_| {})).unwrap();
        let opened = t.elapsed().as_secs_f64();
        if ws.with_chain(|_| ()).unwrap().is_some() {
            println!("  (a kept workstation, opened in {opened:.2} s)");
        }
        ws.set_nodes(vec![served.url.clone()]).await.unwrap();
        let rss_before = proc_status_mib("VmRSS:");
        let t = Instant::now();
        let status = ws.sync().await.unwrap();
        let secs = t.elapsed().as_secs_f64();
        let n = status.log_size as f64;
        println!(
            "  workstation, full mode: first sync of {} transactions in {secs:.1} s ({:.0} tx/s); RSS {} -> {} MiB",
            status.log_size,
            n / secs,
            rss_before,
            proc_status_mib("VmRSS:")
        );
        println!(
            "  raw batch verification, one core: {raw:.0} signatures/s -> {:.1} s for these; sync = {:.2} x raw",
            n / raw,
            secs / (n / raw)
        );
        let t = Instant::now();
        ws.warm_derived().unwrap();
        println!(
            "  derived views (case index, dashboard) built in {:.0} ms",
            t.elapsed().as_secs_f64() * 1000.0
        );
        screens(&ws, s, top);
        let root = ws.with_chain(|c| c.state.state_root()).unwrap();
        drop(ws);
        let t = Instant::now();
        let ws = Workstation::open(&base, "govchain-bench-unused", Arc::new(|_| {})).unwrap();
        println!(
            "  restart (open the cache, read the stored state back): {:.2} s",
            t.elapsed().as_secs_f64()
        );
        assert_eq!(ws.with_chain(|c| c.state.state_root()).unwrap(), root);
        drop(ws);
        served.stop().await;
    });
    if kept.is_none() {
        let _ = std::fs::remove_dir_all(&base);
    }
}

/// Each screen's query through the workstation.
fn screens(ws: &Workstation, s: &State, top: u64) {
    let height = |i: usize| 1 + (i as u64 * 7919) % top;
    let cases: Vec<String> = s
        .cases
        .resident()
        .values()
        .map(|c| c.id.to_string())
        .collect();
    let officials: Vec<(String, String)> = s
        .officials
        .values()
        .map(|o| (o.id.to_hex(), o.name.clone()))
        .collect();
    let projects: Vec<String> = s.projects.keys().map(ToString::to_string).collect();
    let tx_ids: Vec<String> = (0..20)
        .filter_map(|i| {
            let b = ws.block_detail(height(i)).ok()?;
            Some(b.txs.get(i % b.txs.len().max(1))?.id.clone())
        })
        .collect();
    let pick = |v: &[String], i: usize| v[(i * 7919) % v.len()].clone();
    measure("ws: case list, first page", |_| {
        ws.case_page(&CaseQuery {
            status: None,
            text: None,
            waiting_for_me: false,
            offset: 0,
            limit: 50,
        })
        .unwrap()
    });
    measure("ws: explorer, a page of 30 blocks", |i| {
        ws.explorer_blocks(Some(height(i) + 1), 30).unwrap()
    });
    measure("ws: block detail", |i| ws.block_detail(height(i)).unwrap());
    measure("ws: access log, newest 200", |_| {
        ws.access_log(None, None, 200).unwrap()
    });
    measure("ws: access log, one dataset (none such)", |_| {
        ws.access_log(None, Some("none/such"), 200).unwrap()
    });
    measure("ws: dashboard", |_| ws.dashboard().unwrap());
    if !tx_ids.is_empty() {
        measure("ws: search, a transaction id", |i| {
            ws.search(&tx_ids[i % tx_ids.len()]).unwrap()
        });
        measure("ws: graph, a transaction", |i| {
            ws.graph(&format!("tx:{}:0", height(i))).unwrap()
        });
    }
    measure("ws: search, no match", |_| {
        ws.search("不存在的案件").unwrap()
    });
    measure("ws: graph, a block", |i| {
        ws.graph(&format!("block:{}", height(i))).unwrap()
    });
    if !officials.is_empty() {
        measure("ws: search, an official's name", |i| {
            ws.search(&officials[(i * 7919) % officials.len()].1)
                .unwrap()
        });
        measure("ws: graph, an official", |i| {
            ws.graph(&format!(
                "official:{}",
                officials[(i * 7919) % officials.len()].0
            ))
            .unwrap()
        });
    }
    if !cases.is_empty() {
        measure("ws: search, a case number", |i| {
            ws.search(&pick(&cases, i)).unwrap()
        });
        measure("ws: case detail", |i| {
            ws.case_detail(&pick(&cases, i)).unwrap()
        });
        measure("ws: graph, a case", |i| {
            ws.graph(&format!("case:{}", pick(&cases, i))).unwrap()
        });
    }
    if !projects.is_empty() {
        measure("ws: projects", |_| ws.projects().unwrap());
        measure("ws: project detail", |i| {
            ws.project_detail(&pick(&projects, i)).unwrap()
        });
        measure("ws: graph, a project", |i| {
            ws.graph(&format!("project:{}", pick(&projects, i)))
                .unwrap()
        });
        measure("ws: fund trace", |i| {
            ws.fund_trace(&pick(&projects, i)).unwrap()
        });
    }
}
