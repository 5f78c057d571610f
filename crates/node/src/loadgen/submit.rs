//! One batch of `bench`'s load: submitted to `POST /v1/txs`, refused
//! entries resubmitted after the node's `Retry-After` (unpaced) or dropped
//! (an offered load).

use std::time::{Duration, Instant};

use govchain_ledger::tx::Envelope;
use serde_json::Value;

use super::setup::err;
use crate::error::NodeError;

/// The longest a refused batch waits before resubmitting, whatever its
/// `Retry-After` says.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(5);

/// Submits `chunk`: when each accepted entry was first sent and when the
/// submission that was accepted was sent, and how many refusals there were.
/// `paced`: refused entries are not offered again.
pub(super) async fn batch(
    client: &reqwest::Client,
    url: &str,
    chunk: &[Envelope],
    paced: bool,
) -> Result<(Vec<(Instant, Instant)>, usize), NodeError> {
    let first = Instant::now();
    // Per entry: when it was first sent and when it was accepted.
    let mut sent: Vec<Option<Instant>> = vec![None; chunk.len()];
    let mut refused = 0usize;
    loop {
        let todo: Vec<usize> = (0..chunk.len()).filter(|&i| sent[i].is_none()).collect();
        if todo.is_empty() {
            break;
        }
        let body: Vec<&Envelope> = todo.iter().map(|&i| &chunk[i]).collect();
        let body = serde_json::to_vec(&body).map_err(err)?;
        let now = Instant::now();
        let r = client
            .post(format!("{url}/v1/txs"))
            .body(body)
            .send()
            .await
            .map_err(err)?;
        // Bounded: a node's advice is not followed past MAX_RETRY_WAIT.
        let wait = r
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            .map_or(Duration::from_secs(1), Duration::from_secs)
            .min(MAX_RETRY_WAIT);
        // The whole batch refused, unread.
        if r.status() == reqwest::StatusCode::TOO_MANY_REQUESTS {
            refused += todo.len();
            if paced {
                break;
            }
            tokio::time::sleep(wait).await;
            continue;
        }
        let answers: Value = r.json().await.map_err(err)?;
        let answers = answers
            .as_array()
            .filter(|a| a.len() == todo.len())
            .ok_or_else(|| err(format!("not one answer per envelope: {answers}")))?;
        let mut busy = false;
        for (&i, x) in todo.iter().zip(answers) {
            if x["status"] == "pending" {
                sent[i] = Some(now);
            } else if x["code"] == "node.busy" {
                refused += 1;
                busy = true;
            } else {
                return Err(err(format!("a submission was not admitted: {x}")));
            }
        }
        // An offered load's refused transactions are not offered
        // again (that would be more load than offered).
        if busy && paced {
            break;
        }
        if busy {
            tokio::time::sleep(wait).await;
        }
    }
    let accepted: Vec<(Instant, Instant)> =
        sent.into_iter().flatten().map(|t| (first, t)).collect();
    Ok((accepted, refused))
}
