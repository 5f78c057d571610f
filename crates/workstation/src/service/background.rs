//! The app's background loop: connect, then deliver the outbox and sync,
//! woken by the node's block events or a timer.

use std::sync::Arc;

use govchain_ledger::ErrorCode;

use super::Workstation;

/// How long the background loop waits for a block event before it syncs
/// anyway.
const IDLE_SYNC: std::time::Duration = std::time::Duration::from_secs(5);

/// The app's background work: connect (or start the embedded node), then
/// forever deliver the outbox and sync — at once when the node announces a
/// block over SSE, otherwise every few seconds. Errors are shown in the
/// status, never fatal.
pub async fn run_background(ws: Arc<Workstation>) {
    // First run chooses the demo or a department's nodes first (nothing of
    // the demo starts before); the choice starts the network itself.
    while ws.needs_choice() {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    if let Err(e) = ws.start_network().await {
        tracing::warn!(code = e.code(), "network start failed: {e}");
        if let Ok(mut inner) = ws.lock() {
            inner.last_error = Some(e.body());
        }
    }
    loop {
        if let Err(e) = ws.flush_outbox().await {
            tracing::debug!(code = e.code(), "outbox: {e}");
        }
        if let Err(e) = ws.sync().await {
            tracing::info!(code = e.code(), "sync: {e}");
        }
        // The case list, inbox and dashboards answer at once after a new block.
        let warm = ws.clone();
        if let Ok(Err(e)) = tokio::task::spawn_blocking(move || warm.warm_derived()).await {
            tracing::debug!(code = e.code(), "derived views: {e}");
        }
        let wait = async {
            match ws.client() {
                Ok(c) => {
                    if c.next_block_event().await.is_err() {
                        tokio::time::sleep(IDLE_SYNC).await;
                    }
                }
                Err(_) => tokio::time::sleep(IDLE_SYNC).await,
            }
        };
        let _ = tokio::time::timeout(IDLE_SYNC, wait).await;
    }
}
