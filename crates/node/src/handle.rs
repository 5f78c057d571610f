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

    /// Admits envelopes: room in the mempool claimed first, then the
    /// signatures of what fits batch-verified off the async runtime without
    /// the lock, then admission under the lock. One result per envelope, in
    /// order.
    ///
    /// Admission is bounded by expected delay: a submission is taken only
    /// while what is pending, being checked and waiting for room together
    /// is what the node commits within `max_queue_ms` at its service rate
    /// ([`Core::queue_room`]); the rest is refused at once (`node.busy`),
    /// its signatures unchecked, so a node offered more than it commits
    /// spends its cores on what it admits. What is taken waits for room in
    /// the mempool, re-checked after each committed block, which the bound
    /// makes come within `max_queue_ms` (after that, what still does not
    /// fit is refused). A burst thus waits a moment instead of costing its
    /// client a whole `Retry-After` second while the node idles.
    ///
    /// `node.busy` for the whole call if nothing is taken.
    pub async fn admit(&self, mut envs: Vec<Envelope>) -> Result<Vec<Admitted>, NodeError> {
        let held = {
            let mut c = self.lock()?;
            if let Some(why) = c.halted() {
                return Err(NodeError::Halted(why.to_owned()));
            }
            c.hold_room(envs.len())
        };
        if held == 0 && !envs.is_empty() {
            return Err(self.lock()?.busy());
        }
        let room = self.claim_room(held).await?;
        let over = envs.split_off(room.min(envs.len()));
        let keys = self.lock()?.keys_for(&envs);
        let checked = tokio::task::spawn_blocking(move || {
            let prepare = |e: Envelope| e.prepare().map_err(|e| NodeError::bad(&e));
            let prepared: Vec<_> = envs.into_iter().map(prepare).collect();
            let ok = verify_signatures(&prepared, &keys);
            (
                prepared,
                ok,
                over.into_iter().map(prepare).collect::<Vec<_>>(),
            )
        })
        .await;
        let mut c = self.lock()?;
        c.release_room(room);
        let (envs, verified, over) =
            checked.map_err(|e| NodeError::Storage(format!("signature check task: {e}")))?;
        if let Some(why) = c.halted() {
            return Err(NodeError::Halted(why.to_owned()));
        }
        let t = c.now();
        let mut admitted = c.admit_batch(envs, &verified, t);
        admitted.extend(over.into_iter().map(|p| c.refuse_busy(p?.id)));
        Ok(admitted)
    }

    /// Waits for room in the mempool for `held` transactions queued by
    /// [`Core::hold_room`], re-checked after each committed block, at most
    /// `max_queue_ms`; then takes whatever room there is. The room returned
    /// is promised until released.
    async fn claim_room(&self, held: usize) -> Result<usize, NodeError> {
        let mut waiting = None;
        loop {
            let last_try = waiting
                .as_ref()
                .is_some_and(|(_, deadline)| tokio::time::Instant::now() >= *deadline);
            {
                let mut c = self.lock()?;
                if let Some(taken) = c.claim_room(held, last_try) {
                    return Ok(taken);
                }
                if waiting.is_none() {
                    let longest = std::time::Duration::from_millis(c.limits().max_queue_ms);
                    waiting = Some((c.subscribe(), tokio::time::Instant::now() + longest));
                }
            }
            if let Some((events, deadline)) = waiting.as_mut() {
                let heard = tokio::time::timeout_at(*deadline, events.recv()).await;
                if let Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) = heard {
                    *deadline = tokio::time::Instant::now();
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
