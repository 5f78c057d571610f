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

    /// Admits envelopes: room in the mempool promised first, then the
    /// signatures of what fits batch-verified off the async runtime without
    /// the lock, then admission under the lock. One result per envelope, in
    /// order.
    ///
    /// Admission is bounded by expected delay: a submission is taken only
    /// while what is pending and being checked together is what the node
    /// commits within half of `max_queue_ms` at its service rate
    /// ([`Core::queue_room`]); the rest is refused at once (`node.busy`),
    /// its signatures unchecked, so a node offered more than it commits
    /// spends its cores on what it admits, and what it admits does not
    /// queue past the target. `node.busy` for the whole call if nothing
    /// fits.
    pub async fn admit(&self, mut envs: Vec<Envelope>) -> Result<Vec<Admitted>, NodeError> {
        let (mut room, keys) = {
            let mut c = self.lock()?;
            if let Some(why) = c.halted() {
                return Err(NodeError::Halted(why.to_owned()));
            }
            let taken = c.reserve_room(envs.len());
            if taken == 0 && !envs.is_empty() {
                return Err(c.busy());
            }
            let room = Room {
                node: self,
                promised: taken,
            };
            (room, c.keys_for(&envs[..taken.min(envs.len())]))
        };
        let over = envs.split_off(room.promised.min(envs.len()));
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
        c.release_room(std::mem::take(&mut room.promised));
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

    /// Admits one envelope; its id and status, or why it was refused.
    pub async fn admit_one(&self, env: Envelope) -> Admitted {
        self.admit(vec![env])
            .await?
            .pop()
            .ok_or_else(|| NodeError::Storage("no admission result".into()))?
    }
}

/// Room in the mempool promised to one submission while its signatures
/// are checked. Given back when dropped, so a submission whose client went
/// away (its handler dropped mid-check) or that failed does not keep it.
/// Dropped with the node's lock held only once emptied.
struct Room<'a> {
    node: &'a NodeHandle,
    promised: usize,
}

impl Drop for Room<'_> {
    fn drop(&mut self) {
        if self.promised > 0 {
            if let Ok(mut c) = self.node.lock() {
                c.release_room(self.promised);
            }
        }
    }
}
