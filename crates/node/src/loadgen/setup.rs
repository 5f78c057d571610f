//! The load test's setup: keys from labels, a node database with genesis,
//! registered officials and, for `--preload-cases`, a state of the seed's
//! size opened through the node's own admission.

use govchain_ledger::crypto::SecretKey;
use govchain_ledger::state::kinds::Genesis;
use govchain_ledger::tx::{Envelope, TxBody};
use govchain_ledger::types::{ChainId, Hash32};
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::error::NodeError;
use crate::{api, Core, Limits};

pub(super) fn key(label: &str) -> SecretKey {
    SecretKey::from_seed(&Zeroizing::new(Hash32::sha256(label.as_bytes()).0))
}

pub(super) fn err(e: impl std::fmt::Display) -> NodeError {
    NodeError::Config(format!("bench: {e}"))
}

pub(super) fn tx(
    chain: &ChainId,
    k: &SecretKey,
    seq: u64,
    kind: &str,
    payload: Value,
) -> Result<Envelope, NodeError> {
    Envelope::sign(
        k,
        TxBody {
            chain_id: chain.clone(),
            signer: k.key_id(),
            seq,
            kind: kind.into(),
            payload,
            created_at: api::now(),
        },
    )
    .map_err(|e| NodeError::bad(&e))
}

/// Node `i`'s key; node `i` is department `d{i}`'s.
pub(super) fn node_key(i: usize) -> SecretKey {
    key(&format!("bench node {i}"))
}

/// Clerks who open the preloaded cases (so the measured officials' `seq`
/// numbers start at 1).
const CLERKS: usize = 16;

/// One client drives the whole load (and polls /healthz every
/// millisecond): the per-client rate limit is off for the measurement.
fn limits() -> Limits {
    Limits {
        requests_per_sec: 0,
        ..Limits::default()
    }
}

/// Opens the node of [`setup`]'s database again, as a restart does; and
/// how long that took (seconds).
/// `max_queue_ms`: the node's admission bound (`run --max-queue-ms`).
pub(super) fn reopen(db: &std::path::Path, max_queue_ms: u64) -> Result<(Core, f64), NodeError> {
    let started = std::time::Instant::now();
    let limits = Limits {
        max_queue_ms,
        ..limits()
    };
    let core = Core::open(db, node_key(0), "bench.node", None, limits)?;
    Ok((core, started.elapsed().as_secs_f64()))
}

/// A Raft snapshot of `core`'s chain (stored at `db`; PROTOCOL.md §14)
/// made, checked and installed into a fresh node in `dir`, timed; and, as
/// the baseline, a full replay of the same chain (`verify-chain`).
pub(super) fn snapshot_figures(
    core: &Core,
    db: &std::path::Path,
    dir: &std::path::Path,
) -> Result<super::SnapshotFigures, NodeError> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(err)?;
    let file = dir.join("snapshot.jsonl");
    reset_peak_rss();
    let rss_before = rss_mib();
    let t = std::time::Instant::now();
    core.reads().snapshot_file(256, &file)?;
    let make_secs = t.elapsed().as_secs_f64();
    let bytes = std::fs::metadata(&file).map_err(err)?.len();
    let genesis = core
        .reads()
        .block(0)?
        .ok_or_else(|| NodeError::Corrupt("no block 0".into()))?;
    let t = std::time::Instant::now();
    let checked = crate::chain::verify_snapshot(&file, &genesis)?;
    let check_secs = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    let mut fresh = Core::open(
        &dir.join("chain.sqlite"),
        node_key(0),
        "bench.node",
        Some(&genesis),
        limits(),
    )?;
    fresh.install_snapshot(&file, checked)?;
    let install_secs = t.elapsed().as_secs_f64();
    drop(fresh);
    let peak_mib = peak_rss_mib() - rss_before;
    let t = std::time::Instant::now();
    let replay = crate::chain::verify_chain(db, false)?;
    Ok(super::SnapshotFigures {
        bytes,
        make_secs,
        check_secs,
        install_secs,
        peak_mib,
        replay_secs: t.elapsed().as_secs_f64(),
        blocks: replay.height + 1,
    })
}

/// A node database with genesis (`nodes` departments; the officials are
/// `d0`'s), `people` registered as officials and, when `preload` > 0, a
/// one-stage template and `preload` open cases (`case.open` by [`CLERKS`]
/// clerks, through the node's own admission and block production).
pub(super) fn setup(
    db: &std::path::Path,
    chain: &ChainId,
    people: &[SecretKey],
    nodes: usize,
    preload: usize,
) -> Result<Core, NodeError> {
    let (node, admin) = (node_key(0), key("bench admin"));
    let departments: Vec<Value> = (0..nodes.max(1))
        .map(|i| {
            let admin = if i == 0 { admin.public_key() } else { key(&format!("bench admin {i}")).public_key() };
            json!({"id": format!("d{i}"), "name": format!("d{i}"), "node_key": node_key(i).public_key(),
                   "admin_threshold": 1, "admins": [{"name": "admin", "public_key": admin}]})
        })
        .collect();
    let genesis: Genesis = serde_json::from_value(json!({
        "origin": "govchain.example/bench", "consortium_threshold": 1, "departments": departments}))
    .map_err(err)?;
    let block = crate::genesis_block(chain, &genesis, &admin, &node, api::now())?;
    let mut core = Core::open(db, node, "bench.node", Some(&block), limits())?;
    for (i, p) in people.iter().enumerate() {
        let reg = tx(
            chain,
            &admin,
            i as u64 + 2,
            "official.register",
            json!({"department": "d0", "name": format!("o{i}"), "public_key": p.public_key()}),
        )?;
        core.submit(reg, api::now())?;
        // Within the node's admission bound: a block cut when it is reached.
        if core.full_block_waiting() {
            core.produce()?;
        }
    }
    while core.produce()?.is_some() {}
    if preload > 0 {
        preload_cases(&mut core, chain, &admin, people.len() as u64 + 2, preload)?;
    }
    Ok(core)
}

/// Registers the clerks and a template (admin `seq` from `seq`), then opens
/// `n` cases.
fn preload_cases(
    core: &mut Core,
    chain: &ChainId,
    admin: &SecretKey,
    seq: u64,
    n: usize,
) -> Result<(), NodeError> {
    let clerks: Vec<SecretKey> = (0..CLERKS).map(|i| key(&format!("clerk {i}"))).collect();
    let mut setup_txs = Vec::new();
    for (i, c) in clerks.iter().enumerate() {
        setup_txs.push(tx(
            chain,
            admin,
            seq + i as u64,
            "official.register",
            json!({"department": "d0", "name": format!("clerk{i}"), "public_key": c.public_key()}),
        )?);
    }
    setup_txs.push(tx(chain, admin, seq + CLERKS as u64, "workflow.define",
        json!({"id": "bench-case", "version": 1, "name": "bench", "stages": [
            {"name": "review", "department": "d0", "role": "approver", "threshold": 1, "on_reject": "end"}]}))?);
    for t in setup_txs {
        core.submit(t, api::now())?;
    }
    while core.produce()?.is_some() {}
    let open = |i: usize| {
        tx(
            chain,
            &clerks[i % CLERKS],
            (i / CLERKS) as u64 + 1,
            "case.open",
            json!({"case_id": format!("PRE-{i}"), "template": "bench-case", "version": 1,
                   "scope": "d0", "title": "preloaded case", "documents": [Hash32::sha256(&i.to_le_bytes())]}),
        )
    };
    for i in 0..n {
        let mut env = open(i)?;
        loop {
            match core.submit(env, api::now()) {
                Err(NodeError::Busy { .. }) => {
                    core.produce()?;
                    env = open(i)?;
                }
                r => {
                    r?;
                    break;
                }
            }
        }
        if core.full_block_waiting() {
            core.produce()?;
        }
    }
    while core.produce()?.is_some() {}
    Ok(())
}

/// The process's resident memory in MiB (Linux `/proc/self/status`; 0
/// elsewhere).
pub(super) fn rss_mib() -> f64 {
    status_mib("VmRSS:")
}

/// The process's peak resident memory in MiB since the last
/// [`reset_peak_rss`] (Linux; 0 elsewhere).
fn peak_rss_mib() -> f64 {
    status_mib("VmHWM:")
}

/// Starts a new peak for [`peak_rss_mib`] (Linux `clear_refs`; a no-op
/// elsewhere).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn status_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}
