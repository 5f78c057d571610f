//! Per-client request rate limiting: a token bucket per client IP address
//! (`Limits::requests_per_sec`, bursts of twice that). A client over its
//! rate gets `429` `{code: "node.rate_limited"}`; others are unaffected.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::NodeError;

/// Clients remembered at most; beyond it, idle buckets (full again) are
/// dropped first.
const MAX_CLIENTS: usize = 10_000;

#[derive(Debug)]
pub struct RateLimiter {
    per_sec: u32,
    buckets: Mutex<HashMap<Option<IpAddr>, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(per_sec: u32) -> Self {
        Self {
            per_sec,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn burst(&self) -> f64 {
        f64::from(self.per_sec) * 2.0
    }

    /// Takes one token from `client`'s bucket at `now`.
    pub fn allow(&self, client: Option<IpAddr>, now: Instant) -> bool {
        if self.per_sec == 0 {
            return true;
        }
        let Ok(mut buckets) = self.buckets.lock() else {
            return true; // never refuse service over a poisoned lock
        };
        let (burst, rate) = (self.burst(), f64::from(self.per_sec));
        if buckets.len() >= MAX_CLIENTS && !buckets.contains_key(&client) {
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < burst
            });
        }
        let (tokens, at) = buckets.entry(client).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The middleware: the client is the peer address when the server records
/// it (`run` does), otherwise one shared bucket.
pub async fn limit(
    State(limiter): State<Arc<RateLimiter>>,
    request: Request,
    next: Next,
) -> Response {
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if limiter.allow(client, Instant::now()) {
        next.run(request).await
    } else {
        NodeError::RateLimited(limiter.per_sec).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_bucket_allows_bursts_then_the_rate_and_clients_are_apart() {
        let l = RateLimiter::new(10);
        let t = Instant::now();
        let a = Some(IpAddr::from([10, 0, 0, 1]));
        let b = Some(IpAddr::from([10, 0, 0, 2]));
        assert_eq!(
            (0..30).filter(|_| l.allow(a, t)).count(),
            20,
            "burst of 2 s"
        );
        assert!(l.allow(b, t), "another client has its own bucket");
        assert!(!l.allow(a, t));
        let later = t + Duration::from_millis(500);
        assert_eq!((0..10).filter(|_| l.allow(a, later)).count(), 5);
        assert!(RateLimiter::new(0).allow(a, t), "0 turns it off");
    }
}
