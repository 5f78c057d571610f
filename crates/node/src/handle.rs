//! [`NodeHandle`]: the one way into a running node's [`Core`]. It owns the
//! `Arc<Mutex<Core>>` and the two things every caller needs from it: taking
//! the lock (a poisoned lock is `node.storage`, never a panic) and admitting
//! envelopes (signatures batch-verified without the lock). The HTTP API, the
//! signed reads and the cluster all go through it.

use std::sync::{Arc, Mutex, MutexGuard};

use govchain_ledger::tx::Envelope;
use govchain_ledger::types::Hash32;

use crate::chain::{verify_signatures, Core, TxStatus};
use crate::error::NodeError;

/// A node's state shared between the API, block production and the cluster.
pub type Shared = Arc<Mutex<Core>>;

/// What admitting one envelope gave: its id and status, or why it failed.
pub type Admitted = Result<(Hash32, TxStatus), NodeError>;

/// A cheap, cloneable handle on a node's [`Core`].
#[derive(Debug, Clone)]
pub struct NodeHandle {
    core: Shared,
}

impl From<Shared> for NodeHandle {
    fn from(core: Shared) -> Self {
        Self { core }
    }
}

impl From<Core> for NodeHandle {
    fn from(core: Core) -> Self {
        Self::from(Arc::new(Mutex::new(core)))
    }
}

impl NodeHandle {
    /// The shared core, for APIs that take [`Shared`].
    pub fn shared(&self) -> &Shared {
        &self.core
    }

    /// The node's state, or `node.storage` if an earlier panic poisoned it.
    pub fn lock(&self) -> Result<MutexGuard<'_, Core>, NodeError> {
        self.core
            .lock()
            .map_err(|_| NodeError::Storage("node state lock poisoned by an earlier panic".into()))
    }

    /// Runs `read` on the node under its lock, and again, with the lock
    /// released between tries, while it meets `state.superseded`: a
    /// block was stored and is being made the head (at most 200 tries,
    /// 1 ms apart; then the error goes to the client, who retries).
    pub async fn read_head<R>(
        &self,
        mut read: impl FnMut(&Core) -> Result<R, NodeError>,
    ) -> Result<R, NodeError> {
        let mut tries = 0;
        loop {
            let result = {
                let c = self.lock()?;
                read(&c)
            };
            match result {
                Err(NodeError::Superseded(_)) if tries < 200 => {
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                }
                other => return other,
            }
        }
    }

    /// Admits envelopes: keys looked up under the lock, signatures
    /// batch-verified off the async runtime without the lock, then admission
    /// under the lock. One result per envelope, in order.
    ///
    /// A batch that does not fit in the mempool waits for room, re-checked
    /// under the lock (so waiting batches cannot overshoot together) after
    /// each committed block, at most `max_queue_ms`; then admission refuses
    /// what still does not fit (`node.busy`). A burst is thus queued for a
    /// moment instead of costing its client a whole `Retry-After` second
    /// while the node idles, and latency stays bounded by twice
    /// `max_queue_ms`.
    pub async fn admit(&self, envs: Vec<Envelope>) -> Result<Vec<Admitted>, NodeError> {
        let keys = self.lock()?.keys_for(&envs);
        let (envs, verified) = tokio::task::spawn_blocking(move || {
            let prepared: Vec<_> = envs
                .into_iter()
                .map(|e| e.prepare().map_err(|e| NodeError::bad(&e)))
                .collect();
            let ok = verify_signatures(&prepared, &keys);
            (prepared, ok)
        })
        .await
        .map_err(|e| NodeError::Storage(format!("signature check task: {e}")))?;
        let n = envs.len();
        let mut waiting = None;
        let mut give_up = false;
        loop {
            {
                let mut c = self.lock()?;
                if let Some(why) = c.halted() {
                    return Err(NodeError::Halted(why.to_owned()));
                }
                let bound = c.admission_bound();
                if give_up || c.mempool_len() + n.min(bound) <= bound {
                    let t = c.now();
                    return Ok(c.admit_batch(envs, &verified, t));
                }
                if waiting.is_none() {
                    let wait = std::time::Duration::from_millis(c.limits().max_queue_ms);
                    waiting = Some((c.subscribe(), tokio::time::Instant::now() + wait));
                }
            }
            if let Some((events, deadline)) = waiting.as_mut() {
                match tokio::time::timeout_at(*deadline, events.recv()).await {
                    Err(_) | Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => {
                        give_up = true;
                    }
                    Ok(_) => {}
                }
            }
        }
    }

    /// Admits one envelope; its id and status, or why it was refused.
    pub async fn admit_one(&self, env: Envelope) -> Admitted {
        self.admit(vec![env])
            .await?
            .pop()
            .ok_or_else(|| NodeError::Storage("no admission result".into()))?
    }
}
