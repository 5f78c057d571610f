//! The cluster view part of [`Core`]: the node's role in a consortium, the
//! membership Raft last reported, why the node halted, and the blocks it
//! proposed and has not applied yet; applying blocks from the replicated
//! log starts here.

use std::collections::VecDeque;

use govchain_ledger::block::Block;

use super::production::{ApplyJob, Proposal};
use super::{Core, Role};
use crate::error::NodeError;

/// What the node knows of its cluster.
#[derive(Debug, Default)]
pub(super) struct ClusterView {
    pub(super) role: Role,
    /// A cluster's voters and learners, as Raft last reported them.
    pub(super) membership: Option<(Vec<u64>, Vec<u64>)>,
    /// Why this node stopped (its copy disagrees with the cluster's).
    pub(super) halted: Option<String>,
    /// The blocks proposed to the cluster and not yet applied, oldest
    /// first (at most [`super::production::MAX_PROPOSALS`]).
    pub(super) proposed: VecDeque<Proposal>,
    /// How this node reaches the other members' APIs (pinned TLS, with
    /// this node's certificate), when the cluster pins certificates.
    pub(super) peer_http: Option<reqwest::Client>,
}

impl Core {
    pub fn role(&self) -> &Role {
        &self.cluster.role
    }

    /// Sets the node's cluster role; a node that stops leading drops the
    /// transactions it admitted and had not committed (their clients resend
    /// them, to the new leader).
    pub fn set_role(&mut self, role: Role) {
        if self.cluster.role == Role::Leader && role != Role::Leader {
            self.abandon_pending();
        }
        self.cluster.role = role;
    }

    /// A cluster's voters and learners (node ids).
    pub fn membership(&self) -> Option<&(Vec<u64>, Vec<u64>)> {
        self.cluster.membership.as_ref()
    }

    pub fn set_membership(&mut self, voters: Vec<u64>, learners: Vec<u64>) {
        self.cluster.membership = Some((voters, learners));
    }

    /// The HTTP client for other members' APIs (forwarding submissions),
    /// if the cluster pins certificates.
    pub fn peer_http(&self) -> Option<&reqwest::Client> {
        self.cluster.peer_http.as_ref()
    }

    pub fn set_peer_http(&mut self, http: reqwest::Client) {
        self.cluster.peer_http = Some(http);
    }

    /// Why the node halted, if it did.
    pub fn halted(&self) -> Option<&str> {
        self.cluster.halted.as_deref()
    }

    pub fn halt(&mut self, why: String) {
        self.cluster.halted = Some(why);
    }

    /// Records a sealed block as proposed to the cluster and returns it, to
    /// be replicated; [`Core::begin_apply`] recognizes it. `None` if the
    /// pending blocks were dropped while it was sealed (leadership lost):
    /// it is not proposed.
    pub fn propose(&mut self, p: Proposal) -> Option<Block> {
        // Only this node's producer takes blocks to seal, one at a time: a
        // height still being sealed is this block's.
        let height = p.open.height;
        if !self.mempool.sealing.iter().any(|t| t.height == height) {
            return None;
        }
        let block = p.block.clone();
        self.cluster.proposed.push_back(p);
        Some(block)
    }

    /// Starts applying a block from the replicated log. A block below this
    /// node's next height is skipped: every node applies the same log to the
    /// same chain, so every node skips the same entries (a leader's proposal
    /// that lost a race with its successor's, or an entry re-applied after a
    /// restart). Returns `None` for a skipped block. A block at the next
    /// height that does not extend the head, or above it, means this copy
    /// and the cluster's disagree: `node.diverged`.
    pub fn begin_apply(&mut self, block: Block) -> Result<Option<ApplyJob>, NodeError> {
        let hash = block
            .header
            .hash()
            .map_err(|e| NodeError::Diverged(format!("replicated block: {e}")))?;
        let ours = self.cluster.proposed.iter().any(|p| p.hash == hash);
        let (height, next) = (block.header.height, self.cursor.next_height);
        if height < next {
            tracing::warn!(
                height,
                head = self.height(),
                "stale replicated block: skipped"
            );
            if ours {
                self.abandon_pending();
            }
            return Ok(None);
        }
        if height > next || block.header.prev_hash != self.cursor.last_hash {
            return Err(NodeError::Diverged(format!(
                "replicated block {height} does not extend this node's block {}",
                self.height()
            )));
        }
        let known = if self
            .cluster
            .proposed
            .front()
            .is_some_and(|p| p.hash == hash)
        {
            self.cluster.proposed.pop_front()
        } else {
            // Another node's block: what this node had open builds on a
            // state that is not the chain's any more.
            self.abandon_pending();
            None
        };
        Ok(Some(ApplyJob {
            block,
            hash,
            known,
            first_leaf: self.tree.len(),
            state: self.state.clone(),
            cursor: self.cursor.clone(),
            store: self.store.clone(),
        }))
    }
}
