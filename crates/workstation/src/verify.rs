//! The workstation's verified copy of the chain: every block is checked the
//! way PROTOCOL.md §7.3 says (hash chain, roots, proposer signature), then
//! applied by the same state machine the nodes run (transaction signatures
//! in batches, every rule, the state root). Checkpoints are accepted only if
//! a department node key signed them and their root is the root this copy
//! computed at that size.

use std::collections::{BTreeMap, BTreeSet};

use govchain_ledger::block::{Block, ChainCursor};
use govchain_ledger::crypto::{BatchItem, PublicKey};
use govchain_ledger::merkle::Frontier;
use govchain_ledger::note::{self, NoteKey, SignedNote, ALG_COSIGNATURE_V1, ALG_ED25519};
use govchain_ledger::state::{EntryKey, SigCheck, State};
use govchain_ledger::tx::{Envelope, TxDigests};
use govchain_ledger::types::{ChainId, Hash32};
use govchain_ledger::ErrorCode;

use crate::error::WsError;

/// The verified chain: state, cursor and the log root at every block.
#[derive(Debug, Clone)]
pub struct LocalChain {
    pub state: State,
    pub cursor: ChainCursor,
    /// Log size → the last block ending there (checkpoints name one).
    roots: BTreeMap<u64, BlockEnd>,
    genesis_hash: Option<Hash32>,
    /// Finds a transaction by id without a table (cheap to clone).
    tx_index: crate::tx_index::TxIndex,
    /// State entries changed by blocks applied since the cache last stored
    /// the state ([`LocalChain::take_changes`]).
    changed: BTreeSet<EntryKey>,
    /// Those blocks' transaction search keys, packed per block.
    unsaved_tx_keys: Vec<(u64, Vec<u8>)>,
}

/// What the blocks applied since the last [`LocalChain::take_changes`]
/// changed: the cache writes it with those blocks, in one transaction, so
/// that a restart reads the state instead of re-applying every block.
#[derive(Debug)]
pub struct StateChanges {
    /// The height the state is now of.
    pub height: u64,
    /// Each changed entry's value now (`None`: removed).
    pub entries: Vec<(EntryKey, Option<Vec<u8>>)>,
    /// Per block, its transactions' search keys ([`pack_tx_keys`]).
    pub tx_keys: Vec<(u64, Vec<u8>)>,
    /// The log's frontier after the last block.
    pub frontier: Frontier,
}

/// A block's transaction search keys as stored: per transaction its id's
/// first 8 bytes, then its index in the block (4 bytes), big-endian.
pub fn pack_tx_keys(keys: &[(u64, u32)]) -> Vec<u8> {
    keys.iter()
        .flat_map(|(k, i)| k.to_be_bytes().into_iter().chain(i.to_be_bytes()))
        .collect()
}

/// The keys [`pack_tx_keys`] packed; `None` if the bytes are not such.
pub fn unpack_tx_keys(bytes: &[u8]) -> Option<Vec<(u64, u32)>> {
    if !bytes.len().is_multiple_of(12) {
        return None;
    }
    bytes
        .chunks_exact(12)
        .map(|c| {
            let (k, i) = c.split_at(8);
            Some((
                u64::from_be_bytes(k.try_into().ok()?),
                u32::from_be_bytes(i.try_into().ok()?),
            ))
        })
        .collect()
}

/// One cached block as [`LocalChain::restore`] needs it.
#[derive(Debug)]
pub struct CachedBlockEnd {
    pub hash: Hash32,
    pub header: govchain_ledger::block::BlockHeader,
    /// Its transactions' search keys.
    pub tx_keys: Vec<(u64, u32)>,
}

/// What a checkpoint of a block's log size is checked against.
#[derive(Debug, Clone, Copy)]
struct BlockEnd {
    log_root: Hash32,
    height: u64,
    state_root: Hash32,
}

/// The search key of a transaction id: its first 8 bytes.
pub fn tx_key(id: &[u8; 32]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&id[..8]);
    u64::from_be_bytes(b)
}

/// A checkpoint this copy verified: signed by a department node key and
/// matching the locally computed root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedCheckpoint {
    pub size: u64,
    pub root: Hash32,
    /// The note key name that signed it.
    pub signer: String,
    pub cosigners: Vec<String>,
    pub note: String,
}

/// `f` over `items` in up to `threads` contiguous chunks, in order.
pub(crate) fn par_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    if threads <= 1 || items.len() < 2 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|s| {
        let f = &f;
        let parts: Vec<_> = items
            .chunks(chunk)
            .map(|c| s.spawn(move || c.iter().map(f).collect::<Vec<R>>()))
            .collect();
        parts
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

/// Batch-verifies the signatures of `block` whose keys are known before it
/// (`keys[i]`), in up to `threads` batches at once. Returns which were
/// checked, or the index of a bad one.
fn verify_signatures(
    block: &Block,
    digests: &[TxDigests],
    keys: &[Option<PublicKey>],
    threads: usize,
) -> Result<Vec<bool>, usize> {
    let items = govchain_ledger::state::signature_batch(block, digests, keys);
    let chunk = items.len().div_ceil(threads.max(1)).max(64);
    let groups: Vec<&[(usize, BatchItem<'_>)]> = items.chunks(chunk).collect();
    let results = par_map(&groups, if groups.len() > 1 { threads } else { 1 }, |g| {
        let batch: Vec<BatchItem<'_>> = g.iter().map(|(_, b)| *b).collect();
        match govchain_ledger::crypto::verify_batch(&batch) {
            Ok(()) => None,
            Err(_) => g
                .iter()
                .find(|(_, b)| b.key.verify(b.msg, b.sig).is_err())
                .map_or(Some(g.first().map_or(0, |x| x.0)), |(i, _)| Some(*i)),
        }
    });
    if let Some(bad) = results.into_iter().flatten().min() {
        return Err(bad);
    }
    Ok(keys.iter().map(Option::is_some).collect())
}

/// Verifies a checkpoint note's origin (fixed at genesis) and its log
/// signature by one of the chain's department node keys, under the name its
/// signature line gives (PROTOCOL.md §8.5). Returns the verified checkpoint,
/// the key that signed it and that department's name.
pub fn verify_department_checkpoint(
    state: &State,
    text: &str,
) -> Result<(note::VerifiedCheckpoint, NoteKey, String), WsError> {
    let origin = state
        .origin
        .clone()
        .ok_or_else(|| WsError::verification("checkpoint.no_chain", "no genesis yet"))?;
    let parsed =
        SignedNote::parse(text).map_err(|e| WsError::verification(e.code(), e.to_string()))?;
    let (log_key, dept) = parsed
        .signatures
        .iter()
        .find_map(|s| {
            state
                .departments
                .values()
                .filter(|d| d.node_active())
                .find_map(|d| {
                    NoteKey::new(&s.name, ALG_ED25519, d.node_key)
                        .ok()
                        .filter(|k| k.key_id() == s.key_id)
                        .map(|k| (k, d.name.clone()))
                })
        })
        .ok_or_else(|| {
            WsError::verification(
                "checkpoint.missing_log_signature",
                "no signature by a department node of this chain",
            )
        })?;
    // Other departments' nodes may cosign (C2SP cosignature/v1) under the
    // names their signature lines give; each such line must verify. They
    // are counted by key — one per department, never the log's own — and
    // named by department id.
    let mut verified = note::verify_checkpoint(text, &origin, &log_key, &[], 0)
        .map_err(|e| WsError::verification(e.code(), e.to_string()))?;
    let mut counted = vec![log_key.key];
    for s in &parsed.signatures {
        let witness = state
            .departments
            .values()
            .filter(|d| d.node_active())
            .find_map(|d| {
                NoteKey::new(&s.name, ALG_COSIGNATURE_V1, d.node_key)
                    .ok()
                    .filter(|k| k.key_id() == s.key_id && k.key != log_key.key)
                    .map(|k| (k, d.id.to_string()))
            });
        let Some((k, dept)) = witness else { continue };
        let ts = note::verify_signature(&parsed.text, &k, s)
            .map_err(|e| WsError::verification(e.code(), e.to_string()))?;
        if let (Some(ts), false) = (ts, counted.contains(&k.key)) {
            counted.push(k.key);
            verified.cosigners.insert(dept, ts);
        }
    }
    Ok((verified, log_key, dept))
}

impl LocalChain {
    /// The names of the departments with ids `ids` (the id if unknown).
    pub fn department_names<'a>(&self, ids: impl Iterator<Item = &'a String>) -> Vec<String> {
        ids.map(|id| {
            self.state
                .departments
                .values()
                .find(|d| d.id.as_str() == id)
                .map_or_else(|| id.clone(), |d| d.name.clone())
        })
        .collect()
    }

    pub fn new(chain_id: ChainId) -> Self {
        Self {
            state: State::new(),
            cursor: ChainCursor::genesis(chain_id),
            roots: BTreeMap::new(),
            genesis_hash: None,
            tx_index: crate::tx_index::TxIndex::default(),
            changed: BTreeSet::new(),
            unsaved_tx_keys: Vec::new(),
        }
    }

    /// The verified chain as the cache stored it, without re-applying a
    /// block: `state` (read back and checked against the last block's state
    /// root), the log `frontier` after the last block, and every cached
    /// block from genesis in height order (their headers were verified when
    /// they were received). Checks the blocks' heights run on from 0 and
    /// that the state and frontier are the last block's.
    pub fn restore(
        state: State,
        frontier: Frontier,
        blocks: impl IntoIterator<Item = CachedBlockEnd>,
    ) -> Result<Self, WsError> {
        let bad = |what: String| WsError::verification("cache.state_mismatch", what);
        let mut chain: Option<Self> = None;
        let mut last = None;
        for b in blocks {
            let c = chain.get_or_insert_with(|| Self::new(b.header.chain_id.clone()));
            let height = b.header.height;
            if height != c.cursor.next_height {
                return Err(bad(format!(
                    "the cached blocks skip from {} to {height}",
                    c.cursor.next_height
                )));
            }
            if height == 0 {
                c.genesis_hash = Some(b.hash);
            }
            c.roots.insert(
                b.header.log_size,
                BlockEnd {
                    log_root: b.header.log_root,
                    height,
                    state_root: b.header.state_root,
                },
            );
            c.tx_index.add_block(height, b.tx_keys);
            c.cursor.next_height = height + 1;
            c.cursor.last_hash = b.hash;
            c.cursor.last_time = Some(b.header.time);
            last = Some(b.header);
        }
        let (Some(mut c), Some(head)) = (chain, last) else {
            return Err(bad("no cached blocks".into()));
        };
        if frontier.size != head.log_size || frontier.root() != head.log_root {
            return Err(bad(format!(
                "the stored log frontier is not block {}'s log",
                head.height
            )));
        }
        if state.state_root() != head.state_root {
            return Err(bad(format!(
                "the stored state is not block {}'s state",
                head.height
            )));
        }
        c.cursor.log = frontier;
        c.state = state;
        Ok(c)
    }

    /// What the blocks applied since the last call changed, for the cache
    /// to store with them.
    pub fn take_changes(&mut self) -> Result<StateChanges, WsError> {
        let entries = std::mem::take(&mut self.changed)
            .into_iter()
            .map(|k| {
                let v = self
                    .state
                    .entry(&k)
                    .map_err(|e| WsError::Storage(format!("state entry {k}: {e}")))?;
                Ok((k, v))
            })
            .collect::<Result<_, WsError>>()?;
        Ok(StateChanges {
            height: self.height().unwrap_or(0),
            entries,
            tx_keys: std::mem::take(&mut self.unsaved_tx_keys),
            frontier: self.cursor.log.clone(),
        })
    }

    /// `(height, index)` of every transaction whose id starts with the 8
    /// bytes `key`; callers compare the full id (8 bytes can collide).
    pub fn locate_tx(&self, key: u64) -> Vec<(u64, u32)> {
        self.tx_index.locate(key)
    }

    /// Log sizes at which a block ends, with the root there (ascending).
    pub fn roots(&self) -> impl DoubleEndedIterator<Item = (u64, Hash32)> + '_ {
        self.roots.iter().map(|(s, r)| (*s, r.log_root))
    }

    pub fn height(&self) -> Option<u64> {
        self.cursor.next_height.checked_sub(1)
    }

    pub fn log_size(&self) -> u64 {
        self.state.tx_count
    }

    pub fn genesis_hash(&self) -> Option<Hash32> {
        self.genesis_hash
    }

    /// The log root after the block that ended at `size` transactions.
    pub fn root_at(&self, size: u64) -> Option<Hash32> {
        self.roots.get(&size).map(|e| e.log_root)
    }

    /// Verifies `block` as the next one and applies it; on any failure
    /// nothing changes. `sigs` is `Verify` for anything received from a
    /// node; `Skip` only when replaying this workstation's own verified cache.
    /// Digests and signature batches are split over `threads` threads.
    pub fn apply(&mut self, block: &Block, sigs: SigCheck) -> Result<Hash32, WsError> {
        self.apply_with(block, sigs, 1)
    }

    /// [`LocalChain::apply`] using up to `threads` threads.
    pub fn apply_with(
        &mut self,
        block: &Block,
        sigs: SigCheck,
        threads: usize,
    ) -> Result<Hash32, WsError> {
        let height = block.header.height;
        let fail = |code: &str, e: &dyn std::fmt::Display| {
            WsError::verification(code, format!("block {height}: {e}"))
        };
        // Threads pay off from a few dozen transactions on.
        let threads = if block.txs.len() < 64 { 1 } else { threads };
        let digests = par_map(&block.txs, threads, Envelope::digests)
            .into_iter()
            .enumerate()
            .map(|(i, d)| d.map_err(|e| fail(e.code(), &format!("transaction {i}: {e}"))))
            .collect::<Result<Vec<_>, _>>()?;
        let leaves: Vec<Hash32> = digests.iter().map(|d| d.leaf_hash).collect();
        // Header first (PROTOCOL.md §7.3), then signatures and rules; block
        // 0's proposer is one of the nodes it creates, known only after it.
        let mut cursor = self.cursor.clone();
        let early = if height == 0 {
            None
        } else {
            Some(
                cursor
                    .verify_next_with_leaves(block, &leaves, |id| self.state.node_key(id))
                    .map_err(|e| fail(e.code(), &e))?,
            )
        };
        let verified = match sigs {
            SigCheck::Skip => vec![true; block.txs.len()],
            SigCheck::Verify => {
                let keys = self.state.block_keys(block);
                verify_signatures(block, &digests, &keys, threads).map_err(|i| {
                    fail(
                        "tx.bad_signature",
                        &format!("transaction {i}: the signature does not verify"),
                    )
                })?
            }
        };
        let next = self
            .state
            .apply_block_prepared(block, &digests, &verified)
            .map_err(|(i, r)| fail(r.code(), &format!("transaction {i}: {r}")))?;
        let hash = match early {
            Some(h) => h,
            None => cursor
                .verify_next_with_leaves(block, &leaves, |id| next.node_key(id))
                .map_err(|e| fail(e.code(), &e))?,
        };
        if next.state_root() != block.header.state_root {
            return Err(fail(
                "block.state_root",
                &"the state root is not the rules' result",
            ));
        }
        self.cursor = cursor;
        self.state = next;
        self.roots.insert(
            block.header.log_size,
            BlockEnd {
                log_root: block.header.log_root,
                height,
                state_root: block.header.state_root,
            },
        );
        let keys: Vec<(u64, u32)> = digests
            .iter()
            .zip(0u32..)
            .map(|(d, i)| (tx_key(&d.id.0), i))
            .collect();
        self.unsaved_tx_keys.push((height, pack_tx_keys(&keys)));
        self.tx_index.add_block(height, keys);
        self.changed
            .extend(self.state.last_commit().iter().map(|(k, _)| k.clone()));
        if height == 0 {
            self.genesis_hash = Some(hash);
        }
        Ok(hash)
    }

    /// Verifies a checkpoint note: the origin fixed at genesis, a valid log
    /// signature by one of the chain's department node keys (under the name
    /// its signature line gives), and its root equal to this copy's root at
    /// that size. A checkpoint beyond this copy's log is `Ok(None)` (sync
    /// further first).
    /// `quorum`: how many other departments must have cosigned it.
    pub fn verify_checkpoint(
        &self,
        text: &str,
        quorum: usize,
    ) -> Result<Option<TrustedCheckpoint>, WsError> {
        let (verified, log_key, _) = verify_department_checkpoint(&self.state, text)?;
        let cp = verified.checkpoint;
        if cp.size > self.log_size() {
            return Ok(None);
        }
        self.check_state_line(&cp)?;
        match self.root_at(cp.size) {
            // The history first (a contradiction is an alarm), then the quorum.
            Some(root) if root == cp.root && verified.cosigners.len() < quorum => {
                Err(WsError::NotWitnessed {
                    want: quorum,
                    got: verified.cosigners.len(),
                })
            }
            Some(root) if root == cp.root => Ok(Some(TrustedCheckpoint {
                size: cp.size,
                root: cp.root,
                signer: log_key.name,
                cosigners: self.department_names(verified.cosigners.keys()),
                note: text.to_owned(),
            })),
            Some(_) => Err(WsError::verification(
                "checkpoint.split_view",
                format!(
                    "a signed checkpoint of size {} has a different root than the verified chain: the node shows a forked history",
                    cp.size
                ),
            )),
            None => Err(WsError::verification(
                "checkpoint.not_a_block_boundary",
                format!("no block ends at log size {}", cp.size),
            )),
        }
    }

    /// The checkpoint's `state` line (PROTOCOL.md §8.3), if any, against
    /// the verified block that closes the log at its size: another state
    /// root for that block, or a verified block of another log size, is
    /// `checkpoint.split_view`. (A line naming an earlier block of the same
    /// size, behind empty blocks, or one not yet synced, is not compared.)
    pub(crate) fn check_state_line(&self, cp: &note::Checkpoint) -> Result<(), WsError> {
        let line = cp
            .state_line()
            .map_err(|e| WsError::verification(e.code(), e.to_string()))?;
        let (Some(line), Some(end)) = (line, self.roots.get(&cp.size)) else {
            return Ok(());
        };
        if line.height == end.height && line.state_root != end.state_root {
            return Err(WsError::verification(
                "checkpoint.split_view",
                format!(
                    "a signed checkpoint names state root {} for block {}, the verified chain has {}: the node shows another state",
                    line.state_root, line.height, end.state_root
                ),
            ));
        }
        // A later verified block with this log size would be `end`.
        if line.height > end.height && self.height().is_some_and(|h| line.height <= h) {
            return Err(WsError::verification(
                "checkpoint.split_view",
                format!(
                    "a signed checkpoint of size {} names block {}, but block {} closes the log there",
                    cp.size, line.height, end.height
                ),
            ));
        }
        Ok(())
    }
}
