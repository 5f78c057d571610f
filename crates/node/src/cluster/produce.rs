//! Block production on the cluster's leader: seal the oldest open block
//! without the lock, propose it through the [`Replicator`], one block in
//! flight.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use govchain_ledger::ErrorCode as _;

use super::Replicator;
use crate::handle::NodeHandle;

/// Block production on the leader: one block in flight; full blocks back to
/// back, otherwise every `interval`. A proposal that fails (leadership
/// lost) drops what this node had pending; clients resend.
pub(super) async fn produce<R: Replicator>(
    core: NodeHandle,
    replicator: Arc<R>,
    interval: Duration,
    stopping: Arc<AtomicBool>,
) {
    let tick = Duration::from_millis(5).min(interval);
    let mut since = Duration::ZERO;
    while !stopping.load(Ordering::SeqCst) {
        tokio::time::sleep(tick).await;
        since += tick;
        if !replicator.is_leader() {
            continue;
        }
        loop {
            let job = {
                let Ok(mut c) = core.lock() else { return };
                let full = c.full_block_waiting();
                if !(full || since >= interval) || c.halted().is_some() {
                    break;
                }
                since = Duration::ZERO;
                c.begin_block()
            };
            let Some(job) = job else { break };
            let sealed = tokio::task::spawn_blocking(move || job.seal()).await;
            let block = match sealed {
                Ok(Ok(p)) => match core.lock() {
                    Ok(mut c) => c.propose(p),
                    Err(_) => return,
                },
                Ok(Err(e)) => {
                    tracing::error!(code = e.code(), "sealing a block: {e}");
                    abandon(&core);
                    break;
                }
                Err(e) => {
                    tracing::error!("sealing task: {e}");
                    abandon(&core);
                    break;
                }
            };
            match replicator.replicate(block).await {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!("block not replicated: {e}");
                    abandon(&core);
                    break;
                }
            }
        }
    }
}

fn abandon(core: &NodeHandle) {
    if let Ok(mut c) = core.lock() {
        c.abandon_pending();
    }
}
