//! Server-sent events (`GET /v1/events`): each new block's summary and the
//! checkpoint signed after it. A slow subscriber skips what it missed.

use axum::extract::State;
use axum::response::IntoResponse;
use serde::Serialize;

use crate::chain::Event;
use crate::error::NodeError;
use crate::handle::NodeHandle;

/// The data of a `block` event (JSON; fields in the order always sent).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BlockEvent {
    #[schema(value_type = String)]
    pub hash: govchain_ledger::types::Hash32,
    pub height: u64,
    pub log_size: u64,
    pub tx_count: u64,
}

/// Server-sent events: `block` (JSON summary) and `checkpoint` (the note).
#[utoipa::path(get, path = "/v1/events", tag = "chain", responses((status = 200, description = "server-sent events: block (JSON: hash, height, log_size, tx_count) and checkpoint (note text)", content_type = "text/event-stream", body = String)))]
pub(super) async fn events(State(node): State<NodeHandle>) -> Result<impl IntoResponse, NodeError> {
    use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
    let rx = node.lock()?.subscribe();
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(Event::Block {
                    height,
                    hash,
                    tx_count,
                    log_size,
                }) => {
                    let data = BlockEvent {
                        hash,
                        height,
                        log_size,
                        tx_count,
                    };
                    let data = serde_json::to_string(&data).unwrap_or_default();
                    let ev = SseEvent::default().event("block").data(data);
                    return Some((Ok::<_, std::convert::Infallible>(ev), rx));
                }
                Ok(Event::Checkpoint(signed_note)) => {
                    return Some((
                        Ok(SseEvent::default().event("checkpoint").data(signed_note)),
                        rx,
                    ));
                }
                // A slow subscriber skips what it missed; it can re-read blocks.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
