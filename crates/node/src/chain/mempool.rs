//! The mempool part of [`Core`]: admitted transactions, already applied to
//! the state of the open block they joined, in the blocks they will be
//! written as; the block being sealed; rejections remembered for status
//! queries. Admission and transaction status live here.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use govchain_ledger::crypto::{KeyId, PublicKey};
use govchain_ledger::state::{Rejection, State};
use govchain_ledger::tx::{Envelope, Prepared};
use govchain_ledger::types::{Hash32, Timestamp};
use govchain_ledger::ErrorCode;

use super::{Core, TxStatus};
use crate::error::NodeError;

/// A block being filled: its height and time are fixed when it opens, and
/// each admitted transaction is applied to `state` at once, at that height
/// and time — exactly as replaying the block will apply it. So a transaction
/// that conflicts with one admitted before it (same sequence number, a step
/// already signed, a budget already used) is refused on submission, and the
/// rules run once per transaction.
#[derive(Debug)]
pub(super) struct OpenBlock {
    pub(super) height: u64,
    pub(super) time: Timestamp,
    /// The state after the blocks before this one and these transactions.
    pub(super) state: State,
    /// With id and leaf hash; the signed message is dropped.
    pub(super) txs: Vec<Prepared>,
    /// The signed messages' total size.
    pub(super) bytes: usize,
}

impl OpenBlock {
    /// Its transactions' ids and log leaf hashes, in order.
    pub(super) fn ids_and_leaves(&self) -> (Vec<Hash32>, Vec<Hash32>) {
        self.txs.iter().map(|p| (p.id, p.leaf_hash)).unzip()
    }
}

/// A block taken from the open ones and not yet the head.
#[derive(Debug)]
pub(super) struct Taken {
    pub(super) height: u64,
    pub(super) time: Timestamp,
    /// The state after it (before its commitment), which the next open
    /// block follows.
    pub(super) state: State,
    /// When it was taken: its service time ends when it is the head.
    pub(super) began: Instant,
}

/// What the node admitted and has not committed yet.
#[derive(Debug, Default)]
pub(super) struct Mempool {
    /// Admitted transactions, already applied, in the blocks they will be
    /// written as (oldest first; only the last one takes more).
    pub(super) open: VecDeque<OpenBlock>,
    /// Blocks taken from `open` and not yet the head (being sealed and
    /// stored; in a cluster also proposed and replicating), oldest first.
    /// The first open block follows the last one.
    pub(super) sealing: VecDeque<Taken>,
    /// Transactions in `open` and in the blocks being sealed, by id.
    pub(super) pending: HashSet<Hash32>,
    /// Room promised to submissions whose signatures are being checked.
    reserved: usize,
    rejected: HashMap<Hash32, (&'static str, String)>,
    rejected_order: VecDeque<Hash32>,
    /// The last [`SERVICE_WINDOW`] blocks made the head: when, how many
    /// transactions, and how long the node worked on each (from when it
    /// was taken, or the block before it was made the head if that was
    /// later). Their rate is the node's service rate.
    drained: VecDeque<(Instant, usize, Duration)>,
}

/// The smallest admission bound once the service rate is known.
const MIN_BOUND: usize = 100;

/// How many recent blocks the service rate is measured over. Whatever
/// their age: a node idle for a while still knows how fast it works.
const SERVICE_WINDOW: usize = 32;
/// The longest `Retry-After` the node advises (seconds).
const MAX_RETRY_AFTER: u64 = 30;

impl Core {
    /// Drops the open blocks, the blocks being sealed and the proposed ones:
    /// on a leader that lost leadership, or whose proposal failed. Their
    /// transactions were never reported committed; they become unknown.
    pub fn abandon_pending(&mut self) {
        let dropped = self.mempool.pending.len();
        self.mempool.open.clear();
        self.mempool.sealing.clear();
        self.cluster.proposed.clear();
        self.mempool.pending.clear();
        if dropped > 0 {
            tracing::warn!(
                dropped,
                "not leading any more: pending transactions dropped"
            );
        }
    }

    /// Whether a full block waits to be cut (by count or by bytes, or the
    /// mempool is at its admission bound): blocks are then cut back to back
    /// rather than on the interval.
    pub fn full_block_waiting(&self) -> bool {
        self.mempool.open.len() > 1
            || self.mempool.open.front().is_some_and(|b| {
                b.txs.len() >= self.limits.max_block_txs
                    || b.bytes >= self.limits.max_block_bytes
                    // Submissions wait for room: waiting for the interval
                    // would only add to their delay.
                    || self.mempool.pending.len() >= self.admission_bound()
            })
    }

    pub fn mempool_len(&self) -> usize {
        self.mempool.pending.len()
    }

    /// Notes that a block of `txs` transactions, taken at `began` (`None`:
    /// another node's block), was made the head.
    pub(super) fn record_drain(&mut self, txs: usize, began: Option<Instant>) {
        let now = Instant::now();
        let d = &mut self.mempool.drained;
        let previous = d.back().map(|(t, ..)| *t);
        let start = match (began, previous) {
            (Some(b), Some(p)) => b.max(p),
            (Some(t), None) | (None, Some(t)) => t,
            (None, None) => now,
        };
        d.push_back((now, txs, now.saturating_duration_since(start)));
        while d.len() > SERVICE_WINDOW {
            d.pop_front();
        }
    }

    /// Transactions per second of the node's work on its last blocks
    /// (up to [`SERVICE_WINDOW`]): what it commits while it has work, not
    /// the rate clients happen to submit at (which falls when they back
    /// off, and would shrink the admission bound with it). `None` before
    /// the first block.
    pub fn service_rate(&self) -> Option<f64> {
        let (txs, busy) = self
            .mempool
            .drained
            .iter()
            .fold((0usize, Duration::ZERO), |(n, b), (_, txs, s)| {
                (n + txs, b + *s)
            });
        let busy = busy.as_secs_f64();
        #[allow(clippy::cast_precision_loss)]
        (busy > 0.0 && txs > 0).then(|| txs as f64 / busy)
    }

    /// How many transactions the mempool takes, with the submissions being
    /// checked: what the node commits within half of
    /// `max_queue_ms` at its service rate, at least [`MIN_BOUND`] (the other
    /// half is the blocks ahead and its own: p99 submit→commit measured
    /// about `max_queue_ms` at overload); `min_queue` before any block; at
    /// most `max_mempool`. A slow node thus cuts smaller blocks rather than
    /// let a full block's worth wait longer than the target.
    pub fn admission_bound(&self) -> usize {
        let l = &self.limits;
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss
        )]
        let bound = self.service_rate().map_or(l.min_queue, |r| {
            ((r * l.max_queue_ms as f64 / 2000.0) as usize).max(MIN_BOUND)
        });
        bound.min(l.max_mempool)
    }

    /// Room for submissions: the admission bound less what is pending and
    /// promised. 0: a submission is refused at once.
    pub fn queue_room(&self) -> usize {
        let m = &self.mempool;
        self.admission_bound()
            .saturating_sub(m.pending.len() + m.reserved)
    }

    /// Promises room to up to `n` transactions of a submission (at most
    /// [`Core::queue_room`]) while their signatures are checked without the
    /// lock; how many. Given back with [`Core::release_room`].
    pub fn reserve_room(&mut self, n: usize) -> usize {
        let k = n.min(self.queue_room());
        self.mempool.reserved += k;
        k
    }

    /// Gives back room promised by [`Core::reserve_room`] (before admitting
    /// those transactions, or when the submission is dropped).
    pub fn release_room(&mut self, n: usize) {
        self.mempool.reserved = self.mempool.reserved.saturating_sub(n);
    }

    /// `429 node.busy`, with the seconds the waiting transactions take to
    /// commit at the measured rate (at least 1).
    pub fn busy(&self) -> NodeError {
        let pending = self.mempool.pending.len();
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss
        )]
        let secs = self
            .service_rate()
            .map_or(1, |r| (pending as f64 / r).ceil() as u64);
        NodeError::Busy {
            pending,
            retry_after: secs.clamp(1, MAX_RETRY_AFTER),
        }
    }

    /// Refuses a transaction the mempool has no room for (`node.busy`),
    /// unless it is pending or committed already: submission is idempotent
    /// even when the node is busy.
    pub fn refuse_busy(&self, id: Hash32) -> Result<(Hash32, TxStatus), NodeError> {
        if self.mempool.pending.contains(&id) {
            return Ok((id, TxStatus::Pending));
        }
        if let Some(loc) = self.committed(&id)? {
            return Ok((id, TxStatus::Committed(loc)));
        }
        Err(self.busy())
    }

    /// Admits a transaction to the mempool after checking it against the
    /// state of the open block it joins (signature, sequence, rules).
    /// Idempotent by id.
    pub fn submit(
        &mut self,
        env: Envelope,
        now: Timestamp,
    ) -> Result<(Hash32, TxStatus), NodeError> {
        let p = env.prepare().map_err(|e| NodeError::bad(&e))?;
        self.admit(p, now, false)
    }

    /// The public keys the envelopes' signers sign with now (None: unknown).
    pub fn keys_for(&self, envs: &[Envelope]) -> Vec<Option<PublicKey>> {
        envs.iter()
            .map(|e| {
                self.state
                    .key_for(&e.body.signer, self.cursor.next_height)
                    .ok()
            })
            .collect()
    }

    /// Admits envelopes whose signatures were checked by
    /// [`verify_signatures`] (`verified[i]`); the others get the full check.
    pub fn admit_batch(
        &mut self,
        envs: Vec<Result<Prepared, NodeError>>,
        verified: &[bool],
        now: Timestamp,
    ) -> Vec<Result<(Hash32, TxStatus), NodeError>> {
        envs.into_iter()
            .zip(verified)
            .map(|(p, ok)| self.admit(p?, now, *ok))
            .collect()
    }

    fn admit(
        &mut self,
        p: Prepared,
        now: Timestamp,
        sig_verified: bool,
    ) -> Result<(Hash32, TxStatus), NodeError> {
        let id = p.id;
        if self.mempool.pending.contains(&id) {
            return Ok((id, TxStatus::Pending));
        }
        if self.mempool.pending.len() >= self.admission_bound() {
            return self.refuse_busy(id);
        }
        let block = self.open_block(now);
        // Rules validate before they mutate: a rejected transaction leaves
        // the open block's state as it was.
        let applied = if sig_verified {
            block
                .state
                .apply_admitted(&p.env, id, block.height, block.time)
        } else {
            block.state.apply_tx(&p.env, block.height, block.time)
        };
        if let Err(r) = applied {
            // A block is opened for a transaction; it may not stay empty.
            if block.txs.is_empty() {
                self.mempool.open.pop_back();
            }
            // A committed transaction fails the rules again (its sequence
            // number is used): look it up only then.
            if let Some(loc) = self.committed(&id)? {
                return Ok((id, TxStatus::Committed(loc)));
            }
            // The node could not read its own stored state: not the
            // transaction's fault, so nothing is remembered against it.
            if let Rejection::Stored(e) = r {
                return Err(NodeError::from(e));
            }
            self.metrics.rejected_total += 1;
            self.remember_rejection(id, r.code(), r.to_string());
            return Err(NodeError::Rejected(r));
        }
        // The signed message is not needed any more.
        block.bytes += p.msg.len() + p.env.sig.as_bytes().len();
        block.txs.push(Prepared {
            msg: Vec::new(),
            ..p
        });
        self.mempool.rejected.remove(&id);
        self.mempool.pending.insert(id);
        self.metrics.admitted_total += 1;
        Ok((id, TxStatus::Pending))
    }

    /// The block new transactions go into: the last open one, or a new one
    /// after it (or after the chain's head) once it is full. A new block's
    /// time is `now`, never before the block it follows.
    fn open_block(&mut self, now: Timestamp) -> &mut OpenBlock {
        let full = self.mempool.open.back().is_none_or(|b| {
            b.txs.len() >= self.limits.max_block_txs || b.bytes >= self.limits.max_block_bytes
        });
        if full {
            let (height, time, mut state) =
                match (self.mempool.open.back(), self.mempool.sealing.back()) {
                    (Some(b), _) => (b.height + 1, b.time.max(now), b.state.clone()),
                    (None, Some(t)) => (t.height + 1, t.time.max(now), t.state.clone()),
                    (None, None) => (self.cursor.next_height, self.clock(now), self.state.clone()),
                };
            state.next_height = height;
            state.time = Some(time);
            self.mempool.open.push_back(OpenBlock {
                height,
                time,
                state,
                txs: Vec::new(),
                bytes: 0,
            });
        }
        let last = self.mempool.open.len() - 1;
        &mut self.mempool.open[last]
    }

    /// The last sequence number of the official or certificate holder
    /// behind `key_id` counting the transactions this node admitted and has
    /// not committed yet (the committed one when it admitted none; a
    /// follower passes submissions on, so it counts only committed ones).
    pub fn pending_seq(&self, key_id: &KeyId) -> u64 {
        let state = match (self.mempool.open.back(), self.mempool.sealing.back()) {
            (Some(b), _) => &b.state,
            (None, Some(t)) => &t.state,
            (None, None) => &self.state,
        };
        let principal = state.key_index.get(key_id).unwrap_or(key_id);
        state.seqs.get(principal).copied().unwrap_or(0)
    }

    pub fn status(&self, id: &Hash32) -> Result<TxStatus, NodeError> {
        if self.mempool.pending.contains(id) {
            return Ok(TxStatus::Pending);
        }
        if let Some(loc) = self.committed(id)? {
            return Ok(TxStatus::Committed(loc));
        }
        if let Some((code, message)) = self.mempool.rejected.get(id) {
            return Ok(TxStatus::Rejected {
                code,
                message: message.clone(),
            });
        }
        Ok(TxStatus::Unknown)
    }

    fn remember_rejection(&mut self, id: Hash32, code: &'static str, message: String) {
        if self.mempool.rejected.insert(id, (code, message)).is_none() {
            self.mempool.rejected_order.push_back(id);
        }
        while self.mempool.rejected_order.len() > self.limits.max_remembered_rejections {
            if let Some(old) = self.mempool.rejected_order.pop_front() {
                self.mempool.rejected.remove(&old);
            }
        }
    }
}
