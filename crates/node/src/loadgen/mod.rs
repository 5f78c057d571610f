//! `govchain-node bench`: a load test of a real node — or of a consortium of
//! `nodes` Raft members ([`crate::cluster`]) — over loopback HTTP.
//!
//! Starts the node(s) in-process on temporary databases, registers officials,
//! pre-signs `txs` transactions (`access.record`, spread over the officials),
//! measures the raw batch-verification rate of exactly those signatures,
//! then submits them in batches and reports committed tx/s and
//! submit→commit latency (p50/p99), from the moment a batch was sent to the
//! first time `/healthz` shows the log covering each transaction.

// Rates and percentiles are floating-point statistics over counts far below
// 2^52; the run is one linear script, clearer unsplit.
#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::too_many_lines
)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use govchain_ledger::crypto::{self, BatchItem, PublicKey, SecretKey};
use govchain_ledger::tx::Envelope;
use govchain_ledger::types::ChainId;
use serde_json::{json, Value};

use crate::error::NodeError;
use crate::{api, Core};

/// What `bench` measured.
#[derive(Debug, Clone)]
pub struct Report {
    pub txs: usize,
    /// 1: a standalone node; more: a Raft cluster, load sent to its leader.
    pub nodes: usize,
    pub raw_verify_per_sec: f64,
    /// Admission and block production in-process, without HTTP.
    pub direct_per_sec: f64,
    pub committed_per_sec: f64,
    /// The offered load, if the submissions were paced.
    pub offered_per_sec: Option<f64>,
    /// Submit→commit from the first time each transaction was sent
    /// (including the waits of refused attempts).
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Submissions refused `429 node.busy` (unpaced: each resubmitted
    /// after the answer's `Retry-After`; paced: not offered again).
    pub refused: usize,
    /// Submit→commit from the submission that was accepted.
    pub accepted_p99_ms: f64,
    /// Cases opened before measuring, the time it took (setup included)
    /// and the process's resident memory right after.
    pub preload_cases: usize,
    pub preload_secs: f64,
    pub rss_after_preload_mib: f64,
    /// Opening the node again on the preloaded database (a restart: the
    /// stored state loaded and checked, nothing replayed).
    pub restart_secs: f64,
    /// From serving to the end of the start-up background check of every
    /// stored case (the HTTP load starts after it).
    pub case_check_secs: f64,
    /// A Raft snapshot of the preloaded chain (`--snapshot`).
    pub snapshot: Option<SnapshotFigures>,
}

/// A Raft snapshot made, checked and installed into a fresh node.
#[derive(Debug, Clone)]
pub struct SnapshotFigures {
    pub bytes: u64,
    pub make_secs: f64,
    pub check_secs: f64,
    pub install_secs: f64,
    /// The most the process's resident memory rose above where it was
    /// while the snapshot was made, checked and installed (Linux).
    pub peak_mib: f64,
    /// The baseline: `verify-chain`'s full replay of the same chain.
    pub replay_secs: f64,
    pub blocks: u64,
}

mod setup;
mod submit;

use setup::{err, key, node_key, rss_mib, setup, tx};

/// The node's own work without HTTP: admission (prepare, batch verify,
/// rules) in `batch`-sized chunks and block production, on one thread.
fn direct_rate(mut core: Core, envs: &[Envelope], batch: usize) -> Result<f64, NodeError> {
    let started = Instant::now();
    for chunk in envs.chunks(batch) {
        let mut todo = chunk.to_vec();
        while !todo.is_empty() {
            let keys = core.keys_for(&todo);
            let prepared: Vec<_> = todo
                .iter()
                .map(|e| e.clone().prepare().map_err(|x| NodeError::bad(&x)))
                .collect();
            let ok = crate::chain::verify_signatures(&prepared, &keys);
            let now = core.now();
            let mut busy = Vec::new();
            for (r, env) in core.admit_batch(prepared, &ok, now).into_iter().zip(todo) {
                match r {
                    Err(NodeError::Busy { .. }) => busy.push(env),
                    r => drop(r?),
                }
            }
            if core.full_block_waiting() || !busy.is_empty() {
                core.produce()?;
            }
            todo = busy;
        }
    }
    while core.produce()?.is_some() {}
    Ok(envs.len() as f64 / started.elapsed().as_secs_f64())
}

type Server = (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), NodeError>>,
);

/// Serves `core` (its database in `dir/node0`) and, for a cluster, copies
/// of it as nodes 1.. of a Raft cluster on loopback. Returns the URL to load
/// (the leader's) and the servers.
async fn serve(
    dir: &std::path::Path,
    core: Core,
    nodes: usize,
    interval: Duration,
    tls: Option<&crate::tls::Identity>,
) -> Result<(String, Vec<Server>), NodeError> {
    let mut listeners = Vec::new();
    for _ in 0..nodes.max(1) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(err)?;
        let url = format!("http://{}", l.local_addr().map_err(err)?);
        listeners.push((l, url));
    }
    let mut servers = Vec::new();
    if nodes <= 1 {
        let (listener, url) = listeners.pop().ok_or_else(|| err("no listener"))?;
        let (listener, url) = match tls {
            Some(id) => (
                crate::tls::serve::NodeListener::tls(listener, id.server_config(None)?),
                url.replacen("http://", "https://", 1),
            ),
            None => (crate::tls::serve::NodeListener::plain(listener), url),
        };
        let listener = listener.map_err(err)?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shared = Arc::new(Mutex::new(core));
        let handle = tokio::spawn(crate::run_on(listener, shared, interval, async {
            let _ = stopped.await;
        }));
        servers.push((stop, handle));
        return Ok((url, servers));
    }
    if tls.is_some() {
        return Err(err("--tls is for a standalone node (--nodes 1)"));
    }
    let limits = core.limits().clone();
    drop(core);
    // A consistent copy with what is still in the WAL (a copy of the file
    // alone can miss the latest commits).
    let source = rusqlite::Connection::open(dir.join("node0/chain.sqlite")).map_err(err)?;
    for i in 1..nodes {
        std::fs::create_dir_all(dir.join(format!("node{i}"))).map_err(err)?;
        let to = dir.join(format!("node{i}/chain.sqlite"));
        source
            .execute("VACUUM INTO ?1", [to.to_string_lossy()])
            .map_err(err)?;
    }
    drop(source);
    let members: Vec<crate::cluster::Member> = listeners
        .iter()
        .enumerate()
        .map(|(i, (_, url))| crate::cluster::Member {
            id: i as u64 + 1,
            url: url.clone(),
            name: format!("bench.node{i}"),
            department: Some(format!("d{i}")),
            node_key: None,
            learner: false,
            tls_cert_sha256: None,
        })
        .collect();
    let urls: Vec<String> = listeners.iter().map(|(_, u)| u.clone()).collect();
    for (i, (listener, _)) in listeners.into_iter().enumerate() {
        let data = dir.join(format!("node{i}"));
        let core = Core::open(
            &data.join("chain.sqlite"),
            node_key(i),
            &format!("bench.node{i}"),
            None,
            limits.clone(),
        )?;
        let shared = Arc::new(Mutex::new(core));
        let file = crate::cluster::ClusterFile {
            heartbeat_ms: 100,
            election_timeout_ms: 1000,
            snapshot_every: 1000,
            snapshot_blocks: 256,
            snapshot_chunk_bytes: crate::cluster::MAX_SNAPSHOT_CHUNK_BYTES,
            members: members.clone(),
        };
        let key = Arc::new(node_key(i));
        let member =
            crate::cluster::Cluster::start(shared.clone(), &data, key, i as u64 + 1, file).await?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(crate::cluster::run(
            listener,
            shared,
            member,
            interval,
            async {
                let _ = stopped.await;
            },
        ));
        servers.push((stop, handle));
    }
    let client = reqwest::Client::new();
    for _ in 0..1000 {
        for url in &urls {
            let h: Value = match client.get(format!("{url}/healthz")).send().await {
                Ok(r) => r.json().await.unwrap_or(Value::Null),
                Err(_) => Value::Null,
            };
            if h["role"] == "leader" {
                return Ok((url.clone(), servers));
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(err("no leader was elected within 20 s"))
}

/// What `bench` runs.
#[derive(Debug, Clone, clap::Args)]
pub struct Load {
    /// Transactions to pre-sign and submit.
    #[arg(long, default_value_t = 20_000)]
    pub txs: usize,
    /// Transactions per `POST /v1/txs`.
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
    /// Batches uncommitted at once (unpaced: a batch leaves once the one
    /// this many before it is committed; with `--rate` every batch leaves
    /// when it is due).
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// The node's block interval (milliseconds).
    #[arg(long, default_value_t = 50)]
    pub block_ms: u64,
    /// Run a Raft cluster of this many nodes on loopback and load its
    /// leader (1: a standalone node).
    #[arg(long, default_value_t = 1)]
    pub nodes: usize,
    /// Pace the submissions at this many transactions per second, an
    /// open-loop offered load: batches leave on time whatever the node has
    /// not answered, and each official signs one transaction (default: as
    /// fast as the node admits them).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Open this many cases before measuring, so the load meets a state of
    /// the seed's size (e.g. 1000000).
    #[arg(long, default_value_t = 0)]
    pub preload_cases: usize,
    /// Serve and load the (standalone) node over HTTPS, with a self-signed
    /// certificate the load generator pins.
    #[arg(long)]
    pub tls: bool,
    /// Keep the databases (in the temporary directory stderr names), e.g.
    /// to time `run` or `verify-chain` on a preloaded chain.
    #[arg(long)]
    pub keep: bool,
    /// Also time a Raft snapshot of the preloaded chain: made, checked and
    /// installed into a fresh node (PROTOCOL.md §14).
    #[arg(long)]
    pub snapshot: bool,
    /// The measured node's admission bound: what it commits in this many
    /// milliseconds (`run --max-queue-ms`).
    #[arg(long, default_value_t = crate::Limits::default().max_queue_ms)]
    pub max_queue_ms: u64,
}

/// Runs the load test.
pub async fn run(load: Load) -> Result<Report, NodeError> {
    let Load {
        txs,
        batch,
        concurrency,
        block_ms,
        nodes,
        rate,
        preload_cases,
        tls,
        keep,
        snapshot,
        max_queue_ms,
    } = load;
    // Unpaced, each official's transactions go in sequence order (see the
    // submission below). An offered load is open-loop: batches leave on
    // time whatever is still waiting, and refused entries are resubmitted
    // later, so each official signs one transaction (no sequence gaps).
    let officials = match rate {
        Some(r) if r > 0.0 => txs.max(1),
        _ => batch.max(1) * concurrency.max(1),
    };
    let dir = std::env::temp_dir().join(format!("govchain-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(err)?;
    let chain: ChainId = "bench".parse().map_err(err)?;
    let people: Vec<SecretKey> = (0..officials)
        .map(|i| key(&format!("official {i}")))
        .collect();
    std::fs::create_dir_all(dir.join("node0")).map_err(err)?;
    let started = Instant::now();
    let core = setup(
        &dir.join("node0/chain.sqlite"),
        &chain,
        &people,
        nodes,
        preload_cases,
    )?;
    let preload_secs = started.elapsed().as_secs_f64();
    let rss_after_preload_mib = rss_mib();
    drop(core);
    let (core, restart_secs) = setup::reopen(&dir.join("node0/chain.sqlite"), max_queue_ms)?;
    let snapshot = if snapshot {
        Some(setup::snapshot_figures(
            &core,
            &dir.join("node0/chain.sqlite"),
            &dir.join("snapshot"),
        )?)
    } else {
        None
    };

    // Pre-sign the load.
    let entry = json!({"dataset": "fund/accounts", "operation": "read", "purpose": "bench", "at": api::now()});
    let envs: Vec<Envelope> = (0..txs)
        .map(|i| {
            tx(
                &chain,
                &people[i % officials],
                (i / officials) as u64 + 1,
                "access.record",
                json!({"entries": [entry]}),
            )
        })
        .collect::<Result<_, _>>()?;

    // Baseline in the same run: batch-verify exactly these signatures.
    let msgs: Vec<Vec<u8>> = envs
        .iter()
        .map(|e| e.body.signed_message().map_err(|x| NodeError::bad(&x)))
        .collect::<Result<_, _>>()?;
    let keys: Vec<PublicKey> = (0..txs)
        .map(|i| people[i % officials].public_key())
        .collect();
    let started = Instant::now();
    for chunk in (0..txs).collect::<Vec<_>>().chunks(1024) {
        let items: Vec<BatchItem<'_>> = chunk
            .iter()
            .map(|&i| BatchItem {
                key: &keys[i],
                msg: &msgs[i],
                sig: &envs[i].sig,
            })
            .collect();
        crypto::verify_batch(&items).map_err(err)?;
    }
    let raw_verify_per_sec = txs as f64 / started.elapsed().as_secs_f64();
    // The core alone runs on a copy of the preloaded chain (with what is
    // still in its WAL), opened as a restart does.
    let direct_db = dir.join("direct.sqlite");
    rusqlite::Connection::open(dir.join("node0/chain.sqlite"))
        .and_then(|c| c.execute("VACUUM INTO ?1", [direct_db.to_string_lossy()]))
        .map_err(err)?;
    let direct_per_sec = direct_rate(
        setup::reopen(&direct_db, max_queue_ms)?.0,
        &envs,
        batch.max(1),
    )?;

    let base = core.log_size();
    let identity = if tls {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).map_err(err)?;
        Some(crate::tls::Identity {
            chain: vec![made.cert.der().clone()],
            key: rustls::pki_types::PrivateKeyDer::Pkcs8(made.signing_key.serialize_der().into()),
        })
    } else {
        None
    };
    let (url, servers) = Box::pin(serve(
        &dir,
        core,
        nodes,
        Duration::from_millis(block_ms),
        identity.as_ref(),
    ))
    .await?;
    let client = match &identity {
        Some(id) => crate::tls::verify::pinned_http_client(
            vec![id.fingerprint()],
            None,
            reqwest::Client::builder(),
        )?,
        None => reqwest::Client::new(),
    };

    // A start checks every stored case in the background, on one of the
    // machine's cores: measure the load after it.
    let case_check_secs = {
        let started = Instant::now();
        loop {
            let metrics = match client.get(format!("{url}/metrics")).send().await {
                Ok(r) => r.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if metrics
                .lines()
                .any(|l| l == "govchain_stored_cases_check_done 1")
            {
                break started.elapsed().as_secs_f64();
            }
            if started.elapsed() > Duration::from_mins(10) {
                return Err(err(
                    "the start-up check of the stored cases did not finish in 10 minutes",
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };

    // Watch the log grow: (time, log_size) samples; the latest size also
    // goes to the unpaced submitters.
    let (grown, log_size) = tokio::sync::watch::channel(0u64);
    // How many transactions were accepted, once all were submitted: the
    // watcher stops when the log holds them.
    let (accepted_tx, accepted_rx) = tokio::sync::watch::channel(None::<u64>);
    let watcher = {
        let client = client.clone();
        let url = url.clone();
        tokio::spawn(async move {
            let mut samples = Vec::new();
            loop {
                let h: Value = match client.get(format!("{url}/healthz")).send().await {
                    Ok(r) => r.json().await.unwrap_or(Value::Null),
                    Err(_) => Value::Null,
                };
                let size = h["log_size"].as_u64().unwrap_or(0);
                samples.push((Instant::now(), size));
                grown.send_replace(size);
                if accepted_rx.borrow().is_some_and(|n| size >= base + n) {
                    return samples;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
    };
    // Unpaced: `concurrency` batches uncommitted at most; a batch leaves
    // once the one `concurrency` places before it was answered and the log
    // holds as many transactions as the batches up to that one (a client
    // waiting for its commits, not one the node must push back);
    // `officials` is at least `concurrency × batch`, so one official's
    // transactions are admitted in sequence order. Paced: every batch
    // leaves when it is due.
    let t0 = Instant::now();
    let batch = batch.max(1);
    let window = concurrency.max(1);
    let paced = rate.is_some_and(|r| r > 0.0);
    let sent = futures_util::stream::iter(envs.chunks(batch).enumerate().map(|(k, chunk)| {
        let client = client.clone();
        let url = url.clone();
        let mut log_size = log_size.clone();
        async move {
            if let Some(rate) = rate.filter(|r| *r > 0.0) {
                // An offered load: batch k leaves at k × batch / rate.
                let due = t0 + Duration::from_secs_f64((k * batch) as f64 / rate);
                tokio::time::sleep_until(due.into()).await;
            } else if let Some(before) = k.checked_sub(window) {
                let needed = base + ((before + 1) * batch) as u64;
                log_size.wait_for(|s| *s >= needed).await.map_err(err)?;
            }
            submit::batch(&client, &url, chunk, paced).await
        }
    }))
    .buffered(if paced {
        txs.div_ceil(batch).max(1)
    } else {
        window
    })
    .collect::<Vec<_>>()
    .await;
    // (first sent, accepted) per transaction, in the order they were
    // accepted: the order the log takes them in.
    let mut times = Vec::with_capacity(txs);
    let mut refused = 0;
    for r in sent {
        let (accepted, n) = r?;
        times.extend(accepted);
        refused += n;
    }
    accepted_tx.send_replace(Some(times.len() as u64));
    times.sort_by_key(|(_, accepted)| *accepted);
    let sent_at: Vec<Instant> = times.iter().map(|(first, _)| *first).collect();
    let accepted_at: Vec<Instant> = times.iter().map(|(_, accepted)| *accepted).collect();
    let samples = watcher.await.map_err(err)?;
    let mut handles = Vec::new();
    for (stop, handle) in servers {
        let _ = stop.send(());
        handles.push(handle);
    }
    for handle in handles {
        handle.await.map_err(err)??;
    }
    if keep {
        tracing::info!("bench: databases kept in {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }

    let commit_time = |i: usize| {
        samples
            .iter()
            .find(|(_, s)| *s > base + i as u64)
            .map(|(t, _)| *t)
    };
    let latencies = |from: &[Instant]| {
        let mut lat: Vec<f64> = (0..from.len())
            .filter_map(|i| {
                commit_time(i).map(|t| t.duration_since(from[i]).as_secs_f64() * 1000.0)
            })
            .collect();
        lat.sort_by(f64::total_cmp);
        lat
    };
    let (from_first, from_accepted) = (latencies(&sent_at), latencies(&accepted_at));
    let pct = |lat: &[f64], p: f64| {
        lat.get(((lat.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    let finished = samples.last().map_or(t0, |(t, _)| *t);
    Ok(Report {
        txs,
        nodes: nodes.max(1),
        raw_verify_per_sec,
        direct_per_sec,
        committed_per_sec: accepted_at.len() as f64 / finished.duration_since(t0).as_secs_f64(),
        offered_per_sec: rate,
        p50_ms: pct(&from_first, 0.5),
        p99_ms: pct(&from_first, 0.99),
        refused,
        accepted_p99_ms: pct(&from_accepted, 0.99),
        preload_cases,
        preload_secs,
        rss_after_preload_mib,
        restart_secs,
        case_check_secs,
        snapshot,
    })
}
