//! Block production on the cluster's leader: seal the oldest open block
//! without the lock and propose it through the [`Replicator`]; the next
//! block is sealed and proposed while the ones before it replicate (at most
//! [`MAX_PROPOSALS`] in flight).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesOrdered, StreamExt as _};
use govchain_ledger::ErrorCode as _;

use super::{Committing, Replicator};
use crate::chain::MAX_PROPOSALS;
use crate::handle::NodeHandle;

/// Block production on the leader: full blocks back to back, otherwise
/// every `interval`, up to [`MAX_PROPOSALS`] replicating at once. A
/// proposal that fails (leadership lost) drops what this node had pending;
/// clients resend.
pub(super) async fn produce<R: Replicator>(
    core: NodeHandle,
    replicator: Arc<R>,
    interval: Duration,
    stopping: Arc<AtomicBool>,
) {
    let tick = Duration::from_millis(5).min(interval);
    let mut last_cut = Instant::now();
    let mut in_flight: FuturesOrdered<Committing> = FuturesOrdered::new();
    while !stopping.load(Ordering::SeqCst) {
        tokio::select! {
            biased;
            Some(done) = in_flight.next(), if !in_flight.is_empty() => {
                if let Err(e) = done {
                    tracing::warn!("block not replicated: {e}");
                    in_flight = FuturesOrdered::new();
                    abandon(&core);
                }
            }
            () = tokio::time::sleep(tick) => {}
        }
        if !replicator.is_leader() {
            continue;
        }
        while in_flight.len() < MAX_PROPOSALS {
            let job = {
                let Ok(mut c) = core.lock() else { return };
                let full = c.full_block_waiting();
                if !(full || last_cut.elapsed() >= interval) || c.halted().is_some() {
                    break;
                }
                c.begin_proposal()
            };
            let Some(job) = job else { break };
            last_cut = Instant::now();
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
            // Dropped while it was sealed: leadership was lost.
            let Some(block) = block else { break };
            match replicator.propose(block).await {
                Ok(committing) => in_flight.push_back(committing),
                Err(e) => {
                    tracing::warn!("block not proposed: {e}");
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
