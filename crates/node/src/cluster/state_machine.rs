//! The replicated state machine: the chain itself. Applying a log entry
//! verifies its block exactly as start-up replay does and stores it
//! ([`apply_block`]); a block that does not verify halts this node rather
//! than letting it diverge. A snapshot is the stored state of the head
//! block, every log leaf hash, block 0 and the latest blocks, as a file of
//! frames (PROTOCOL.md §14, "Snapshots"; `store::FrameReader`): a member
//! whose head is within those blocks applies the ones it lacks, verifying
//! each; one further behind checks the snapshot against its head block and
//! installs it ([`crate::chain::verify_snapshot`]), replaying nothing.
//! Snapshots are built into, sent from, received into and installed from
//! files ([`SnapshotFile`]), never held whole in memory.

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use govchain_ledger::block::Block;
use openraft::storage::{RaftStateMachine, Snapshot, SnapshotMeta};
use openraft::{EntryPayload, LogId, RaftSnapshotBuilder, StorageError, StoredMembership};
use serde::{Deserialize, Serialize};

use super::log_store::{se as sm_error, RaftDb};
use super::{Applied, NodeId, TypeConfig};
use crate::error::NodeError;
use crate::handle::NodeHandle;

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

/// Raft's snapshot data: a file and where it is. Reads, writes and seeks
/// go to the file.
#[derive(Debug)]
pub struct SnapshotFile {
    file: tokio::fs::File,
    path: PathBuf,
}

impl SnapshotFile {
    async fn open(path: &Path) -> Result<Self, NodeError> {
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| file_error(&e))?;
        Ok(Self {
            file,
            path: path.to_owned(),
        })
    }
}

impl tokio::io::AsyncRead for SnapshotFile {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().file).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for SnapshotFile {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().file).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().file).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().file).poll_shutdown(cx)
    }
}

impl tokio::io::AsyncSeek for SnapshotFile {
    fn start_seek(self: Pin<&mut Self>, position: std::io::SeekFrom) -> std::io::Result<()> {
        Pin::new(&mut self.get_mut().file).start_seek(position)
    }

    fn poll_complete(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<u64>> {
        Pin::new(&mut self.get_mut().file).poll_complete(cx)
    }
}

/// The latest snapshot built or installed, what `get_current_snapshot`
/// serves to followers that need one: its meta here, its frames in a file.
/// Building writes `*.building` beside it and receiving `*.recv`; each is
/// renamed over it once complete (a sender still reading the previous one
/// keeps reading that).
#[derive(Debug, Clone)]
struct SnapshotCache {
    meta: Arc<Mutex<Option<Meta>>>,
    file: PathBuf,
}

impl SnapshotCache {
    /// Makes the complete snapshot file at `from` the current one.
    fn keep(&self, meta: &Meta, from: &Path) -> Result<(), NodeError> {
        std::fs::rename(from, &self.file).map_err(|e| file_error(&e))?;
        if let Ok(mut current) = self.meta.lock() {
            *current = Some(meta.clone());
        }
        Ok(())
    }

    fn receiving(&self) -> PathBuf {
        self.file.with_extension("recv")
    }

    async fn current(&self) -> Result<Option<Snapshot<TypeConfig>>, NodeError> {
        let Some(meta) = self.meta.lock().ok().and_then(|m| m.clone()) else {
            return Ok(None);
        };
        let snapshot = Box::new(SnapshotFile::open(&self.file).await?);
        Ok(Some(Snapshot { meta, snapshot }))
    }
}

fn file_error(e: &std::io::Error) -> NodeError {
    NodeError::Storage(format!("raft snapshot file: {e}"))
}

fn task_failed(e: &tokio::task::JoinError) -> NodeError {
    NodeError::Storage(format!("snapshot task: {e}"))
}

fn task_error(e: &tokio::task::JoinError) -> StorageError<NodeId> {
    sm_error(&task_failed(e))
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
        // Snapshots were one JSON document before they were frames.
        let _ = std::fs::remove_file(snapshot_file.with_extension("json"));
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
        let built = self.current.file.with_extension("building");
        let path = built.clone();
        // The stored head may be past the applied point by then: entries
        // replayed after installing are blocks it has, which are skipped.
        let info = tokio::task::spawn_blocking(move || reads.snapshot_file(recent, &path))
            .await
            .map_err(|e| task_error(&e))?
            .map_err(|e| sm_error(&e))?;
        let applied = self.applied.clone();
        let id = applied.log_id.map_or(0, |l| l.index);
        let meta = SnapshotMeta {
            last_log_id: applied.log_id,
            last_membership: applied.membership,
            snapshot_id: format!("{id}-{}", info.height),
        };
        self.current.keep(&meta, &built).map_err(|e| sm_error(&e))?;
        let snapshot = Box::new(
            SnapshotFile::open(&self.current.file)
                .await
                .map_err(|e| sm_error(&e))?,
        );
        Ok(Snapshot { meta, snapshot })
    }
}

/// Brings `core` to the head of the snapshot file at `file`: nothing if it
/// is there already (its blocks must be the snapshot's), the missing blocks
/// verified one by one if its head is within the snapshot's blocks,
/// otherwise the checked snapshot installed in place of its chain. The
/// blocks are read from the file as they are needed.
async fn catch_up(core: &NodeHandle, file: &Path) -> Result<(), NodeError> {
    let (head, reads) = {
        let c = core.lock()?;
        (c.height(), c.reads())
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Block>(2);
    let path = file.to_owned();
    let reader = tokio::task::spawn_blocking(move || {
        crate::store::leading_blocks(&path, |b| Ok(tx.blocking_send(b).is_ok()))
    });
    let mut install = false;
    let mut first = None;
    while let Some(block) = rx.recv().await {
        let height = block.header.height;
        let first = *first.get_or_insert(height);
        if height <= head {
            let ours = reads.block(height)?;
            if ours.as_ref().is_some_and(|o| *o != block) {
                let e = NodeError::Diverged(format!("snapshot block {height} differs"));
                return Err(match core.lock() {
                    Ok(mut c) => halt(&mut c, e),
                    Err(_) => e,
                });
            }
        } else if first <= head + 1 {
            // Blocks above the head either apply or halt the node.
            apply_block(core, block).await?;
        } else {
            install = true;
            break;
        }
    }
    drop(rx);
    reader.await.map_err(|e| task_failed(&e))??;
    if !install {
        return Ok(());
    }
    let genesis = reads
        .block(0)?
        .ok_or_else(|| NodeError::Corrupt("no block 0".into()))?;
    // Checked and stored off the runtime and without the node's lock.
    let store = core.lock()?.store();
    let path = file.to_owned();
    let verified = tokio::task::spawn_blocking(move || {
        crate::chain::verify_snapshot(&path, &genesis)
            .and_then(|v| v.store(&path, &store).map(|()| v))
    })
    .await
    .map_err(|e| task_failed(&e))?;
    core.lock()?.adopt_snapshot(verified?)?;
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
    ) -> Result<Box<SnapshotFile>, StorageError<NodeId>> {
        let path = self.current.receiving();
        let file = tokio::fs::File::create(&path)
            .await
            .map_err(|e| sm_error(&file_error(&e)))?;
        Ok(Box::new(SnapshotFile { file, path }))
    }

    async fn install_snapshot(
        &mut self,
        meta: &Meta,
        snapshot: Box<SnapshotFile>,
    ) -> Result<(), StorageError<NodeId>> {
        let SnapshotFile { mut file, path } = *snapshot;
        let synced = async {
            use tokio::io::AsyncWriteExt as _;
            file.flush().await?;
            file.sync_all().await
        };
        synced.await.map_err(|e| sm_error(&file_error(&e)))?;
        drop(file);
        catch_up(&self.core, &path)
            .await
            .map_err(|e| sm_error(&e))?;
        self.applied = AppliedPoint {
            log_id: meta.last_log_id,
            membership: meta.last_membership.clone(),
        };
        self.current.keep(meta, &path).map_err(|e| sm_error(&e))?;
        self.db
            .put("applied", &self.applied)
            .map_err(|e| sm_error(&e))?;
        Ok(())
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<Snapshot<TypeConfig>>, StorageError<NodeId>> {
        // None after a restart: openraft then builds one if it needs it.
        self.current.current().await.map_err(|e| sm_error(&e))
    }
}
