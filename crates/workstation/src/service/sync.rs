//! Syncing: fetching blocks page by page, verifying them (in parallel, off
//! the async runtime) on top of the verified chain, then the checkpoint.

use std::collections::HashSet;
use std::sync::Arc;

use govchain_ledger::block::Block;
use govchain_ledger::crypto::KeyId;
use govchain_ledger::state::SigCheck;
use govchain_ledger::ErrorCode;

use crate::cache::{CheckpointRow, VerifiedBlock};
use crate::client::NodeClient;
use crate::dto::{OutboxStatus, SyncProgress, SyncStatus};
use crate::error::WsError;
use crate::verify::{LocalChain, StateChanges};

use super::outbox::outbox_item;
use super::status::Pin;
use super::{now, parse_key_id, Event, Inner, Workstation};

/// Blocks fetched per request while syncing.
pub const SYNC_PAGE: u64 = 100;

impl Workstation {
    /// Fetches and verifies everything new, then the node's checkpoint. On a
    /// verification failure it keeps the last good state, records an alarm
    /// and returns the error.
    pub async fn sync(&self) -> Result<SyncStatus, WsError> {
        let _one = self.sync_lock.lock().await;
        let client = self.client()?;
        self.lock()?.syncing = true;
        let result = self.sync_with(&client).await;
        {
            let mut inner = self.lock()?;
            inner.syncing = false;
            match &result {
                Ok(()) => {
                    inner.online = true;
                    inner.last_error = None;
                    inner.last_sync_at = Some(now().to_string());
                }
                Err(e) => {
                    inner.online = !matches!(e, WsError::Offline(_));
                    inner.last_error = Some(e.body());
                    if let WsError::Verification { code, detail } = e {
                        let node = client.current().unwrap_or("?").to_owned();
                        inner
                            .cache
                            .raise_alarm(&now().to_string(), code, &node, detail)?;
                    }
                    // A pinned node's changed certificate is an alarm like
                    // a chain mismatch: nothing is exchanged with it until
                    // the official pins the new one (or not).
                    if let WsError::CertificateChanged { url, .. } = e {
                        inner.cache.raise_alarm(
                            &now().to_string(),
                            "network.certificate_changed",
                            url,
                            &e.to_string(),
                        )?;
                    }
                }
            }
        }
        let status = self.status()?;
        (self.notify)(Event::Status(status.clone()));
        result.map(|()| status)
    }

    async fn sync_with(&self, client: &Arc<NodeClient>) -> Result<(), WsError> {
        let quorum = Self::witness_quorum(&self.lock()?.cache)?;
        for _ in 0..3 {
            self.fetch_blocks(client).await?;
            let (source, note) = match client.checkpoint(quorum).await {
                // None cosigned enough: the latest says how many it has.
                Err(WsError::Node { status: 404, .. }) if quorum > 0 => {
                    client.checkpoint(0).await?
                }
                r => r?,
            };
            let chain = self.lock()?.chain.clone();
            let Some(chain) = chain else {
                return Ok(());
            };
            if let Some(cp) = chain.verify_checkpoint(&note, quorum)? {
                let mut inner = self.lock()?;
                let old = inner.cache.checkpoint()?;
                if old.as_ref().is_some_and(|o| o.size > cp.size) {
                    // An older witnessed one (the node forgot cosignatures):
                    // the newer checkpoint already accepted stays.
                    return Ok(());
                }
                if let Some(old) = old {
                    // The verified chain is append-only, so an older
                    // checkpoint's root must still be the root at its size.
                    if chain.root_at(old.size).map(|r| r.to_hex()) != Some(old.root.clone()) {
                        return Err(WsError::verification(
                            "checkpoint.inconsistent",
                            format!(
                                "the checkpoint of size {} seen before is not part of this chain",
                                old.size
                            ),
                        ));
                    }
                }
                inner.witnesses.clone_from(&cp.cosigners);
                inner.cache.set_checkpoint(&CheckpointRow {
                    size: cp.size,
                    root: cp.root.to_hex(),
                    signer: cp.signer,
                    note: cp.note,
                    node: source,
                    at: now().to_string(),
                })?;
                return Ok(());
            }
            // The checkpoint is ahead of the blocks fetched: fetch again.
        }
        Ok(())
    }

    async fn fetch_blocks(&self, client: &Arc<NodeClient>) -> Result<(), WsError> {
        let fetch = |from: u64| {
            let c = client.clone();
            tokio::spawn(async move { c.blocks(from, SYNC_PAGE).await })
        };
        let (mut chain, mut from, pin) = {
            let inner = self.lock()?;
            let from = inner.chain.as_ref().map_or(0, |c| c.cursor.next_height);
            (inner.chain.clone(), from, Self::pinned(&inner.cache)?)
        };
        let mut pending = fetch(from);
        let (first, started) = (from, std::time::Instant::now());
        loop {
            let (_, page) = pending
                .await
                .map_err(|e| WsError::Offline(format!("fetch task: {e}")))??;
            if page.blocks.is_empty() {
                return Ok(());
            }
            let target = page.height;
            from += page.blocks.len() as u64;
            // The next page downloads while this one is verified.
            pending = fetch(from);
            // Whose transactions to mark, read after the page arrived: what
            // the outbox relayed meanwhile is in it.
            let ours = Self::own_signers(&*self.lock()?)?;
            let pin = pin.clone();
            let PageResult {
                chain: next_chain,
                verified,
                changes,
                committed,
                failure,
            } = tokio::task::spawn_blocking(move || {
                verify_page(chain, &page.blocks, &ours, pin.as_ref())
            })
            .await
            .map_err(|e| WsError::Storage(format!("verification task: {e}")))?;
            chain = next_chain;
            let height = {
                let mut inner = self.lock()?;
                if let (false, Some(changes), Some(c)) =
                    (verified.is_empty(), &changes, chain.as_ref())
                {
                    inner.cache.append_verified(&verified, &c.state, changes)?;
                    inner.chain.clone_from(&chain);
                    let at = now().to_string();
                    for (id, h) in &committed {
                        inner.cache.set_status(
                            id,
                            OutboxStatus::Committed,
                            None,
                            None,
                            Some(*h),
                            &at,
                        )?;
                    }
                }
                inner
                    .chain
                    .as_ref()
                    .and_then(LocalChain::height)
                    .unwrap_or(0)
            };
            for (id, _) in &committed {
                if let Some(r) = self.lock()?.cache.outbox_item(id)? {
                    (self.notify)(Event::Outbox(outbox_item(&r)));
                }
            }
            (self.notify)(Event::Progress(progress(height, target, first, started)));
            if let Some(e) = failure {
                pending.abort();
                return Err(e);
            }
            if height >= target {
                pending.abort();
                return Ok(());
            }
        }
    }

    /// Key ids this workstation signs with (to spot its own transactions).
    /// This workstation's keys, and the signers of what its outbox still
    /// waits for (a citizen's consent it relays).
    fn own_signers(inner: &Inner) -> Result<HashSet<KeyId>, WsError> {
        let keys = inner.cache.keys()?;
        let relayed = inner.cache.unsettled()?;
        keys.iter()
            .map(|k| k.key_id.as_str())
            .chain(relayed.iter().map(|r| r.signer.as_str()))
            .map(parse_key_id)
            .collect()
    }
}

/// Where a sync that began at block `first` at `started` stands, with its
/// pace and the time left at that pace.
fn progress(height: u64, target: u64, first: u64, started: std::time::Instant) -> SyncProgress {
    let ms = started.elapsed().as_millis();
    let done = u128::from((height + 1).saturating_sub(first));
    let known = ms >= 1000 && done > 0;
    let small = |v: u128| u32::try_from(v).unwrap_or(u32::MAX);
    SyncProgress {
        height,
        target,
        blocks_per_second: known.then(|| small(done * 1000 / ms)),
        seconds_left: known
            .then(|| small(u128::from(target.saturating_sub(height)) * ms / done / 1000)),
    }
}

/// Threads used to verify received blocks.
const VERIFY_THREADS: usize = 2;

/// What [`verify_page`] returns.
struct PageResult {
    chain: Option<LocalChain>,
    verified: Vec<VerifiedBlock>,
    /// What the verified blocks changed, to store with them.
    changes: Option<StateChanges>,
    /// This workstation's transactions among them: `(id, height)`.
    committed: Vec<(String, u64)>,
    failure: Option<WsError>,
}

/// Parses (in parallel) and verifies a page of blocks on top of `chain`.
/// Returns the chain after the last good block, the good blocks with their
/// hashes and wire text, this workstation's transactions among them
/// (`(id, height)`), and the failure that stopped it, if any.
fn verify_page(
    mut chain: Option<LocalChain>,
    raws: &[Box<serde_json::value::RawValue>],
    ours: &HashSet<KeyId>,
    pin: Option<&Pin>,
) -> PageResult {
    let parsed = crate::verify::par_map(raws, VERIFY_THREADS, |raw| {
        Block::from_json(raw.get().as_bytes())
    });
    let mut verified = Vec::with_capacity(raws.len());
    let mut committed = Vec::new();
    let mut failure = None;
    for (raw, block) in raws.iter().zip(parsed) {
        let block = match block {
            Ok(b) => b,
            Err(e) => {
                failure = Some(WsError::verification(e.code(), e.to_string()));
                break;
            }
        };
        let c = chain.get_or_insert_with(|| LocalChain::new(block.header.chain_id.clone()));
        match c
            .apply_with(&block, SigCheck::Verify, VERIFY_THREADS)
            .and_then(|hash| check_pin(&block, &hash, pin).map(|()| hash))
        {
            Ok(hash) => {
                for tx in block.txs.iter().filter(|t| ours.contains(&t.body.signer)) {
                    if let Ok(id) = tx.id() {
                        committed.push((id.to_hex(), block.header.height));
                    }
                }
                verified.push(VerifiedBlock {
                    block,
                    hash,
                    json: raw.get().to_owned(),
                });
            }
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    let changes = match chain.as_mut().map(LocalChain::take_changes).transpose() {
        Ok(c) => c,
        Err(e) => {
            // Nothing of this page is stored: the next sync verifies it again.
            verified.clear();
            failure = Some(e);
            None
        }
    };
    PageResult {
        chain,
        verified,
        changes,
        committed,
        failure,
    }
}

/// A genesis block must be the pinned chain's, if one is pinned.
fn check_pin(
    block: &Block,
    hash: &govchain_ledger::types::Hash32,
    pin: Option<&Pin>,
) -> Result<(), WsError> {
    match pin {
        Some(Pin {
            chain_id: chain,
            genesis_hash: genesis,
        }) if block.header.height == 0 => {
            if block.header.chain_id.as_str() == chain && hash.to_hex() == *genesis {
                Ok(())
            } else {
                Err(WsError::verification(
                    "chain.not_pinned",
                    format!(
                        "the node serves chain {} with genesis {}, not the pinned chain {chain} with genesis {genesis}",
                        block.header.chain_id,
                        hash.to_hex()
                    ),
                ))
            }
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    #[test]
    fn progress_gives_the_pace_and_time_left_once_a_second_has_passed() {
        let now = Instant::now();
        let p = super::progress(10, 100, 0, now);
        assert_eq!((p.blocks_per_second, p.seconds_left), (None, None));
        let two_s_ago = now.checked_sub(Duration::from_secs(2)).unwrap();
        // Blocks 1000..=2999 (2,000) in 2 s: 1,000 a second, 4 s for 4,000 more.
        let p = super::progress(2_999, 6_999, 1_000, two_s_ago);
        assert_eq!(p.blocks_per_second, Some(1_000));
        assert_eq!(p.seconds_left, Some(4));
        assert_eq!((p.height, p.target), (2_999, 6_999));
    }
}
