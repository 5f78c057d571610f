//! govchain department node.
//!
//! Owns a department's copy of the chain: durable storage in SQLite
//! ([`store`]), the verified state, mempool and block production ([`chain`]),
//! the one way into it ([`handle`]), the HTTP API ([`api`]) and consortium
//! replication ([`cluster`]). Every rule is the ledger crate's; the node adds
//! durability, admission, block cutting and serving.
//!
//! Module layers, each using only earlier ones: `error`, `config`,
//! `store`, `ratelimit`, `tls`, `witness` → `chain` → `handle` → `api`, `cluster`
//! (neither uses the other) → `loadgen`. This root wires them together.
//!
//! [`run`] serves the API on a listener and produces blocks until `shutdown`
//! resolves, then drains the mempool into a final block; [`run_cluster`]
//! serves a cluster member. Tests and the workstation's embedded mode run
//! them in-process on a random port.
#![forbid(unsafe_code)]

pub mod api;
pub mod chain;
pub mod cluster;
pub mod config;
pub mod demo_data;
pub mod error;
pub mod handle;
pub mod loadgen;
pub mod ratelimit;
pub mod store;
pub mod tls;
pub mod witness;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub use api::app;
pub use chain::{verify_chain, ChainReport, Clock, Core, Limits, Sealed, Sealing, TxStatus};
pub use error::NodeError;
pub use handle::{NodeHandle, Shared};

/// The node's signing key: in memory from a key file, or on a PKCS#11
/// token (`--pkcs11-module`). Blocks, checkpoints, cosignatures and Raft
/// RPCs are signed through it.
pub type NodeKey = std::sync::Arc<dyn Signer>;

use govchain_ledger::block::{Block, BlockDraft};
use govchain_ledger::crypto::{SecretKey, Signer};
use govchain_ledger::merkle::Frontier;
use govchain_ledger::state::kinds::Genesis;
use govchain_ledger::state::{SigCheck, State};
use govchain_ledger::tx::{Envelope, TxBody};
use govchain_ledger::types::{ChainId, Hash32, Timestamp};
use govchain_ledger::ErrorCode as _;

/// Builds block 0: the `consortium.genesis` transaction signed by `admin`
/// (one of the founding admins), sealed by `node` (one of the founding nodes)
/// with the resulting state root. Fails with the rule's code if the genesis
/// is invalid.
pub fn genesis_block(
    chain_id: &ChainId,
    genesis: &Genesis,
    admin: &SecretKey,
    node: &(impl Signer + ?Sized),
    time: Timestamp,
) -> Result<Block, NodeError> {
    let payload = serde_json::to_value(genesis).map_err(|e| NodeError::Config(e.to_string()))?;
    let tx = Envelope::sign(
        admin,
        TxBody {
            chain_id: chain_id.clone(),
            signer: admin.key_id(),
            seq: 1,
            kind: "consortium.genesis".into(),
            payload,
            created_at: time,
        },
    )
    .map_err(|e| NodeError::bad(&e))?;
    let draft = |digest| BlockDraft {
        chain_id: chain_id.clone(),
        height: 0,
        prev_hash: Hash32::ZERO,
        time,
        txs: vec![tx.clone()],
        state_root: digest,
    };
    let seal = |digest| {
        let d: BlockDraft = draft(digest);
        let leaves = govchain_ledger::block::tx_leaf_hashes(&d.txs)
            .map_err(|e| NodeError::Config(e.to_string()))?;
        Block::seal_with_signer(node, d, &leaves, &mut Frontier::default())
            .map_err(|e| NodeError::Config(e.to_string()))
    };
    let state = State::new()
        .apply_block(&seal(Hash32::ZERO)?, SigCheck::Verify)
        .map_err(|(_, r)| NodeError::Rejected(r))?;
    if !state
        .departments
        .values()
        .any(|d| d.node_key == node.public_key())
    {
        return Err(NodeError::Config(
            "the node key is not one of the genesis departments' node keys".into(),
        ));
    }
    seal(
        state
            .digest()
            .map_err(|e| NodeError::Config(e.to_string()))?,
    )
}

/// Serves `core` as a cluster member on `listener` until `shutdown`: the
/// node's API plus the Raft RPCs; block production while leading; the
/// in-cluster witnesses. Ends with an error if this node halted. Also
/// reachable as `cluster::run`.
pub async fn run_cluster(
    listener: tokio::net::TcpListener,
    core: Shared,
    cluster: cluster::Cluster,
    block_interval: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), NodeError> {
    let listener = tls::serve::NodeListener::plain(listener)
        .map_err(|e| NodeError::Config(format!("listener: {e}")))?;
    run_cluster_on(listener, core, cluster, block_interval, shutdown).await
}

/// [`run_cluster`] on a plain or TLS listener.
pub async fn run_cluster_on(
    listener: tls::serve::NodeListener,
    core: Shared,
    cluster: cluster::Cluster,
    block_interval: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), NodeError> {
    let api = app(core.clone());
    let node = NodeHandle::from(core);
    check_stored_cases(&node);
    cluster::serve(listener, node, cluster, api, block_interval, shutdown).await
}

/// Serves `core` on `listener`, cutting a block every `block_interval` (or
/// sooner when the mempool holds a full block), until `shutdown` completes.
/// On shutdown the HTTP server stops accepting, then pending transactions are
/// committed in a final block.
pub async fn run(
    listener: tokio::net::TcpListener,
    core: Shared,
    block_interval: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), NodeError> {
    let listener = tls::serve::NodeListener::plain(listener)
        .map_err(|e| NodeError::Config(format!("listener: {e}")))?;
    run_on(listener, core, block_interval, shutdown).await
}

/// Checks every stored case's value against the state root in the
/// background (a start reads only their hashes; each case is checked again
/// when read): a mismatch halts the node (`node.halted`, with the
/// `node.state_mismatch` message naming the fix in `/healthz`).
pub fn check_stored_cases(node: &NodeHandle) {
    let Ok(reads) = node.lock().map(|c| c.reads()) else {
        return;
    };
    let node = node.clone();
    std::thread::spawn(move || match reads.check_case_values() {
        Ok(n) => {
            tracing::info!("checked the {n} stored cases against the state root");
            if let Ok(mut c) = node.lock() {
                c.set_stored_cases_checked();
            }
        }
        Err(e) => {
            tracing::error!("error [{}] {e}: the node halts", e.code());
            if let Ok(mut c) = node.lock() {
                c.halt(e.to_string());
            }
        }
    });
}

/// [`run`] on a plain or TLS listener ([`tls::serve::NodeListener`]).
pub async fn run_on(
    listener: tls::serve::NodeListener,
    core: Shared,
    block_interval: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), NodeError> {
    let stop = Arc::new(AtomicBool::new(false));
    // If block production ends on its own (a panic, a poisoned lock), the
    // server stops too: better down, and restarted from the durable chain,
    // than accepting transactions no block will hold.
    let (ended, production_ended) = tokio::sync::oneshot::channel::<()>();
    let node = NodeHandle::from(core.clone());
    check_stored_cases(&node);
    let producer = {
        let node = node.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                produce_loop(&node, &stop, block_interval)
            }))
            .unwrap_or_else(|_| Err(NodeError::Storage("block producer panicked".into())));
            let _ = ended.send(());
            result
        })
    };
    let closing = node;
    let shutdown = async move {
        tokio::select! {
            () = shutdown => {}
            _ = production_ended => tracing::error!("block production stopped: shutting down"),
        }
        if let Ok(mut c) = closing.lock() {
            c.close_events();
        }
    };
    // The peer address is recorded for per-client rate limiting.
    let served = tls::serve::serve(listener, app(core.clone()), shutdown)
        .await
        .map_err(|e| NodeError::Storage(format!("http server: {e}")));
    stop.store(true, Ordering::SeqCst);
    let production = producer
        .join()
        .map_err(|_| NodeError::Storage("block producer panicked".into()))?;
    served?;
    production
}

fn produce_loop(node: &NodeHandle, stop: &AtomicBool, interval: Duration) -> Result<(), NodeError> {
    let lock = || node.lock();
    let tick = Duration::from_millis(5).min(interval);
    let mut since = Duration::ZERO;
    let mut backoff = Duration::ZERO;
    loop {
        let stopping = stop.load(Ordering::SeqCst);
        std::thread::sleep(tick);
        since += tick;
        // Full blocks back to back; on shutdown drain completely.
        loop {
            let job = {
                let mut c = lock()?;
                let full = c.full_block_waiting();
                if !(stopping || full || since >= interval) {
                    break;
                }
                since = Duration::ZERO;
                c.begin_block()
            };
            let Some(job) = job else { break };
            // Sealed and stored without the lock: admission goes on.
            let sealed = job.seal_and_store();
            if let Err(e) = lock()?.finish_block(sealed) {
                // Not stored: the block is open again. Retry, slower each
                // time (up to 5 s); on shutdown, give up.
                tracing::error!(code = e.code(), "block not stored, will retry: {e}");
                if stopping {
                    return Err(e);
                }
                backoff = (backoff * 2).clamp(tick, Duration::from_secs(5));
                std::thread::sleep(backoff);
                break;
            }
            backoff = Duration::ZERO;
        }
        if stopping {
            let c = lock()?;
            // A retired node cannot drain: what it holds was never committed.
            if c.mempool_len() == 0 || !c.may_propose() {
                return Ok(());
            }
        }
    }
}
