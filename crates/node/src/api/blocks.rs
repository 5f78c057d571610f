//! Committed blocks: a page by height (`GET /v1/blocks`) and one block
//! (`GET /v1/blocks/{height}`), sent as stored (their JSON is not parsed
//! again), never above the height the node has announced.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Deserialize;

use super::schema::{BlockJson, BlocksPage, ErrorBody};
use super::{page_size, Path, Query, MAX_BLOCKS_PER_PAGE, MAX_PAGE_BYTES};
use crate::error::NodeError;
use crate::handle::NodeHandle;

#[derive(Debug, Deserialize)]
pub(super) struct Range {
    from: Option<u64>,
    limit: Option<u64>,
}

/// The first blocks of `page` whose JSON (with separators) stays within
/// `max` bytes; at least the first block.
fn cap_page(page: Vec<String>, max: usize) -> Vec<String> {
    let mut bytes = 0;
    page.into_iter()
        .enumerate()
        .take_while(|(i, b)| {
            bytes += b.len() + 1;
            *i == 0 || bytes <= max
        })
        .map(|(_, b)| b)
        .collect()
}

/// A JSON response from text that is already JSON (stored blocks).
/// `node.pruned` for a block below the first one a member that joined
/// from a snapshot holds.
fn held(reads: &crate::store::ReadPool, height: u64) -> Result<(), NodeError> {
    match reads.first_block()? {
        Some(first) if height > 0 && height < first => Err(NodeError::Pruned { height, first }),
        _ => Ok(()),
    }
}

fn raw_json(text: String) -> axum::response::Response {
    ([(header::CONTENT_TYPE, "application/json")], text).into_response()
}

#[utoipa::path(get, path = "/v1/blocks", tag = "chain", params(("from" = Option<u64>, Query, description = "first height", minimum = 0, maximum = 9_223_372_036_854_775_807_u64), ("limit" = Option<u64>, Query, description = "at most 100", minimum = 1, maximum = 100)), responses((status = 400, description = "bad input", body = ErrorBody), (status = 410, description = "`from` is below the first block a member that joined from a snapshot holds (node.pruned)", body = ErrorBody), (status = 200, description = "`{blocks, height}`: blocks in height order (fewer than `limit` when they would pass 96 MiB; always at least one if any), and the node's height", body = BlocksPage)))]
pub(super) async fn blocks(
    State(node): State<NodeHandle>,
    Query(r): Query<Range>,
) -> Result<axum::response::Response, NodeError> {
    // Read from the pool, up to the height the node has announced (never a
    // block its checkpoint does not cover yet).
    let (reads, height) = {
        let c = node.lock()?;
        (c.reads(), c.height())
    };
    let from = r.from.unwrap_or(0);
    if i64::try_from(from).is_err() {
        return Err(NodeError::BadRequest {
            code: "node.bad_query",
            message: format!("from {from} is beyond any height (at most 2^63-1)"),
        });
    }
    let limit = page_size(r.limit, MAX_BLOCKS_PER_PAGE, MAX_BLOCKS_PER_PAGE)?;
    held(&reads, from)?;
    let to = from.saturating_add(limit - 1).min(height);
    let page = tokio::task::spawn_blocking(move || {
        if from > to {
            Ok(Vec::new())
        } else {
            reads.blocks_json(from, to)
        }
    })
    .await
    .map_err(|e| NodeError::Storage(format!("block read task: {e}")))??;
    let page = cap_page(page, MAX_PAGE_BYTES);
    let mut text = String::with_capacity(page.iter().map(String::len).sum::<usize>() + 64);
    text.push_str("{\"blocks\":[");
    text.push_str(&page.join(","));
    text.push_str("],\"height\":");
    text.push_str(&height.to_string());
    text.push('}');
    Ok(raw_json(text))
}

#[utoipa::path(get, path = "/v1/blocks/{height}", tag = "chain", params(("height" = u64, Path, minimum = 0)), responses((status = 400, description = "bad input", body = ErrorBody), (status = 200, description = "the block (PROTOCOL.md §7.2)", body = BlockJson), (status = 404, description = "not found", body = ErrorBody), (status = 410, description = "below the first block a member that joined from a snapshot holds (node.pruned)", body = ErrorBody)))]
pub(super) async fn block(
    State(node): State<NodeHandle>,
    Path(height): Path<u64>,
) -> Result<axum::response::Response, NodeError> {
    let (reads, top) = {
        let c = node.lock()?;
        (c.reads(), c.height())
    };
    let found = if height > top {
        None
    } else {
        held(&reads, height)?;
        reads.block_json(height)?
    };
    found
        .map(raw_json)
        .ok_or_else(|| NodeError::NotFound(format!("block {height}")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_page_of_blocks_stops_before_its_byte_limit() {
        let page = |sizes: &[usize]| sizes.iter().map(|n| "x".repeat(*n)).collect::<Vec<_>>();
        let lens = |p: Vec<String>| p.iter().map(String::len).collect::<Vec<_>>();
        assert_eq!(lens(super::cap_page(page(&[3, 3, 3]), 8)), [3, 3]);
        assert_eq!(lens(super::cap_page(page(&[3, 3, 3]), 100)), [3, 3, 3]);
        // One block larger than the limit still goes alone.
        assert_eq!(lens(super::cap_page(page(&[50, 1]), 8)), [50]);
        assert!(super::cap_page(Vec::new(), 8).is_empty());
    }
}
