//! The replicated state machine: the chain itself. Applying a log entry
//! verifies its block exactly as start-up replay does and stores it
//! ([`apply_block`]); a block that does not verify halts this node rather
//! than letting it diverge. A snapshot is the stored state of the head
//! block, every log leaf hash, block 0 and the latest blocks
//! ([`ChainSnapshot`], PROTOCOL.md §14, "Snapshots"): a member whose head is within
//! those blocks applies the ones it lacks, verifying each; one further
//! behind checks the snapshot against its head block and installs it
//! ([`crate::chain::verify_snapshot`]), replaying nothing.

use std::io::Cursor;
use std::sync::{Arc, Mutex};

use govchain_ledger::block::Block;
use openraft::storage::{RaftStateMachine, Snapshot, SnapshotMeta};
use openraft::{EntryPayload, LogId, RaftSnapshotBuilder, StorageError, StoredMembership};
use serde::{Deserialize, Serialize};

use super::log_store::{se as sm_error, RaftDb};
use super::{Applied, NodeId, TypeConfig};
use crate::error::NodeError;
use crate::handle::NodeHandle;
use crate::store::ChainSnapshot;

type Membership = StoredMembership<NodeId, openraft::BasicNode>;

/// Applies one replicated block to `core`: checks that it follows the head,
/// verifies it (unless this node proposed it), stores it and makes it the
/// head. `Ok(None)`: skipped, as on every node (it did not follow the head).
/// A block that does not verify halts the node (`node.diverged`).
pub async fn apply_block(core: &NodeHandle, block: Block) -> Result<Option<u64>, NodeError> {
    let job = core.lock()?.begin_apply(block);
    let ran = match job {
        Ok(None) => return Ok(None),
        Ok(Some(job)) => tokio::task::spawn_blocking(move || job.run())
            .await
            .map_err(|e| NodeError::Storage(format!("apply task: {e}")))?,
        Err(e) => Err(e),
    };
    let mut c = core.lock()?;
    match ran {
        Ok(sealed) => c.finish_block(sealed),
        Err(e) => Err(halt(&mut c, e)),
    }
}

/// Records why this node stops (`node.diverged`: its copy and the cluster's
/// disagree); Raft then stops and the process exits with the reason.
fn halt(c: &mut crate::chain::Core, e: NodeError) -> NodeError {
    if matches!(e, NodeError::Diverged(_)) {
        tracing::error!("HALTING: {e}");
        c.halt(e.to_string());
    }
    e
}

/// What the state machine records after each batch of entries.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct AppliedPoint {
    log_id: Option<LogId<NodeId>>,
    membership: Membership,
}

type Meta = SnapshotMeta<NodeId, openraft::BasicNode>;

/// The latest snapshot built or installed, what `get_current_snapshot`
/// serves to followers that need one: its meta here, its bytes in a file
/// (a snapshot of a seed-scale state is a gigabyte; it is not kept in
/// memory between uses).
#[derive(Debug, Clone)]
struct SnapshotCache {
    meta: Arc<Mutex<Option<Meta>>>,
    file: std::path::PathBuf,
}

impl SnapshotCache {
    /// Keeps `bytes` as the current snapshot (written to a temporary file,
    /// then renamed over the last one).
    fn keep(&self, meta: &Meta, bytes: &[u8]) -> Result<(), NodeError> {
        let tmp = self.file.with_extension("json.tmp");
        std::fs::write(&tmp, bytes)
            .and_then(|()| std::fs::rename(&tmp, &self.file))
            .map_err(|e| file_error(&e))?;
        if let Ok(mut current) = self.meta.lock() {
            *current = Some(meta.clone());
        }
        Ok(())
    }

    fn current(&self) -> Result<Option<(Meta, Vec<u8>)>, NodeError> {
        let Some(meta) = self.meta.lock().ok().and_then(|m| m.clone()) else {
            return Ok(None);
        };
        let bytes = std::fs::read(&self.file).map_err(|e| file_error(&e))?;
        Ok(Some((meta, bytes)))
    }
}

fn file_error(e: &std::io::Error) -> NodeError {
    NodeError::Storage(format!("raft snapshot file: {e}"))
}

#[derive(Debug)]
pub struct StateMachine {
    core: NodeHandle,
    db: RaftDb,
    applied: AppliedPoint,
    current: SnapshotCache,
    /// Blocks a snapshot carries besides the state.
    recent_blocks: u64,
}

impl StateMachine {
    /// `snapshot_file`: where the current snapshot's bytes are kept.
    pub fn new(
        core: NodeHandle,
        db: RaftDb,
        recent_blocks: u64,
        snapshot_file: std::path::PathBuf,
    ) -> Result<Self, NodeError> {
        let applied = db
            .get::<AppliedPoint>("applied")
            .map_err(|e| NodeError::Storage(e.to_string()))?
            .unwrap_or_default();
        Ok(Self {
            core,
            db,
            applied,
            current: SnapshotCache {
                meta: Arc::default(),
                file: snapshot_file,
            },
            recent_blocks,
        })
    }
}

/// Builds snapshots of the stored chain.
#[derive(Debug)]
pub struct SnapshotBuilder {
    core: NodeHandle,
    applied: AppliedPoint,
    current: SnapshotCache,
    recent_blocks: u64,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<NodeId>> {
        let reads = self.core.lock().map_err(|e| sm_error(&e))?.reads();
        let recent = self.recent_blocks;
        // The stored head may be past the applied point by then: entries
        // replayed after installing are blocks it has, which are skipped.
        let (height, bytes) = tokio::task::spawn_blocking(move || {
            let snap = reads.chain_snapshot(recent)?;
            let bytes = serde_json::to_vec(&snap).map_err(|e| NodeError::Storage(e.to_string()))?;
            Ok::<_, NodeError>((snap.height(), bytes))
        })
        .await
        .map_err(|e| sm_error(&NodeError::Storage(e.to_string())))?
        .map_err(|e| sm_error(&e))?;
        let applied = self.applied.clone();
        let id = applied.log_id.map_or(0, |l| l.index);
        let meta = SnapshotMeta {
            last_log_id: applied.log_id,
            last_membership: applied.membership,
            snapshot_id: format!("{id}-{height}"),
        };
        let (current, kept) = (self.current.clone(), meta.clone());
        let bytes =
            tokio::task::spawn_blocking(move || current.keep(&kept, &bytes).map(|()| bytes))
                .await
                .map_err(|e| sm_error(&NodeError::Storage(e.to_string())))?
                .map_err(|e| sm_error(&e))?;
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(bytes)),
        })
    }
}

/// Brings `core` to the snapshot's head: nothing if it is there already
/// (its blocks must be the snapshot's), the missing blocks verified one by
/// one if its head is within the snapshot's blocks, otherwise the checked
/// snapshot installed in place of its chain.
async fn catch_up(core: &NodeHandle, snap: ChainSnapshot) -> Result<(), NodeError> {
    let (head, reads) = {
        let c = core.lock()?;
        (c.height(), c.reads())
    };
    for block in snap.blocks.iter().filter(|b| b.header.height <= head) {
        let height = block.header.height;
        let ours = reads.block(height)?;
        if ours.as_ref().is_some_and(|o| o != block) {
            let e = NodeError::Diverged(format!("snapshot block {height} differs"));
            return Err(match core.lock() {
                Ok(mut c) => halt(&mut c, e),
                Err(_) => e,
            });
        }
    }
    if snap.height() <= head {
        return Ok(());
    }
    let first = snap.blocks.first().map_or(0, |b| b.header.height);
    if first <= head + 1 {
        for block in snap.blocks.into_iter().filter(|b| b.header.height > head) {
            // Blocks above the head either apply or halt the node.
            apply_block(core, block).await?;
        }
        return Ok(());
    }
    let genesis = reads
        .block(0)?
        .ok_or_else(|| NodeError::Corrupt("no block 0".into()))?;
    // Checked and stored off the runtime and without the node's lock.
    let store = core.lock()?.store();
    let (snap, verified) = tokio::task::spawn_blocking(move || {
        let v = crate::chain::verify_snapshot(&snap, &genesis)
            .and_then(|v| v.store(&snap, &store).map(|()| v));
        (snap, v)
    })
    .await
    .map_err(|e| NodeError::Storage(format!("snapshot task: {e}")))?;
    core.lock()?.adopt_snapshot(&snap, verified?)?;
    Ok(())
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<NodeId>>, Membership), StorageError<NodeId>> {
        Ok((self.applied.log_id, self.applied.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Applied>, StorageError<NodeId>>
    where
        I: IntoIterator<Item = openraft::Entry<TypeConfig>> + Send,
        I::IntoIter: Send,
    {
        let mut out = Vec::new();
        for entry in entries {
            let height = match entry.payload {
                EntryPayload::Blank => None,
                EntryPayload::Normal(block) => apply_block(&self.core, block)
                    .await
                    .map_err(|e| sm_error(&e))?,
                EntryPayload::Membership(m) => {
                    self.applied.membership = StoredMembership::new(Some(entry.log_id), m);
                    None
                }
            };
            self.applied.log_id = Some(entry.log_id);
            out.push(Applied { height });
        }
        // Behind the stored blocks at worst: re-applying a stored block
        // skips it.
        self.db
            .put("applied", &self.applied)
            .map_err(|e| sm_error(&e))?;
        Ok(out)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        SnapshotBuilder {
            core: self.core.clone(),
            applied: self.applied.clone(),
            current: self.current.clone(),
            recent_blocks: self.recent_blocks,
        }
    }

    async fn begin_receiving_snapshot(
        &mut self,
    ) -> Result<Box<Cursor<Vec<u8>>>, StorageError<NodeId>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &Meta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError<NodeId>> {
        let bytes = snapshot.into_inner();
        let snap: ChainSnapshot = serde_json::from_slice(&bytes)
            .map_err(|e| sm_error(&NodeError::Cluster(format!("snapshot: {e}"))))?;
        catch_up(&self.core, snap).await.map_err(|e| sm_error(&e))?;
        self.applied = AppliedPoint {
            log_id: meta.last_log_id,
            membership: meta.last_membership.clone(),
        };
        let (current, kept) = (self.current.clone(), meta.clone());
        tokio::task::spawn_blocking(move || current.keep(&kept, &bytes))
            .await
            .map_err(|e| sm_error(&NodeError::Storage(e.to_string())))?
            .map_err(|e| sm_error(&e))?;
        self.db
            .put("applied", &self.applied)
            .map_err(|e| sm_error(&e))?;
        Ok(())
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<Snapshot<TypeConfig>>, StorageError<NodeId>> {
        // None after a restart: openraft then builds one if it needs it.
        let cache = self.current.clone();
        let current = tokio::task::spawn_blocking(move || cache.current())
            .await
            .map_err(|e| sm_error(&NodeError::Storage(e.to_string())))?
            .map_err(|e| sm_error(&e))?;
        Ok(current.map(|(meta, bytes)| Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(bytes)),
        }))
    }
}
