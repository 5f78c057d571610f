//! govchain department node.
//!
//! Owns a department's copy of the chain: durable storage in SQLite
//! ([`store`]), the verified state, mempool and block production ([`chain`]),
//! and the HTTP API ([`api`]). Every rule is the ledger crate's; the node adds
//! durability, admission, block cutting and serving.
//!
//! [`run`] serves the API on a listener and produces blocks until `shutdown`
//! resolves, then drains the mempool into a final block; tests and the
//! workstation's embedded mode run it in-process on a random port.
#![forbid(unsafe_code)]

pub mod api;
pub mod chain;
pub mod error;
pub mod store;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use api::{app, Shared};
pub use chain::{Core, Limits, TxStatus};
pub use error::NodeError;

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
    let stop = Arc::new(AtomicBool::new(false));
    let producer = {
        let core = core.clone();
        let stop = stop.clone();
        std::thread::spawn(move || produce_loop(&core, &stop, block_interval))
    };
    let served = axum::serve(listener, app(core.clone()))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| NodeError::Storage(format!("http server: {e}")));
    stop.store(true, Ordering::SeqCst);
    let production = producer
        .join()
        .map_err(|_| NodeError::Storage("block producer panicked".into()))?;
    served?;
    production
}

fn produce_loop(
    core: &Mutex<Core>,
    stop: &AtomicBool,
    interval: Duration,
) -> Result<(), NodeError> {
    let tick = Duration::from_millis(5).min(interval);
    let mut since = Duration::ZERO;
    loop {
        let stopping = stop.load(Ordering::SeqCst);
        std::thread::sleep(tick);
        since += tick;
        let mut c = core
            .lock()
            .map_err(|_| NodeError::Storage("node state lock poisoned".into()))?;
        let full = c.mempool_len() >= c.limits().max_block_txs;
        if stopping || full || since >= interval {
            since = Duration::ZERO;
            // Drain completely on shutdown; otherwise one block per tick.
            while c.produce(api::now())?.is_some() && stopping {}
        }
        if stopping && c.mempool_len() == 0 {
            return Ok(());
        }
    }
}
