//! What the status bar shows, verification alarms, and the trust settings:
//! the pinned chain and how many witnesses a checkpoint needs.

use crate::cache::{Cache, MetaKey};
use crate::dto::{Alarm, StatusState, SyncStatus};
use crate::error::ErrorBody;
use crate::error::WsError;
use crate::verify::LocalChain;

use super::Workstation;

/// The most witnesses a workstation can require (a checkpoint note has at
/// most 100 signature lines, one of them the log's).
pub const MAX_WITNESS_QUORUM: u32 = 99;

/// The chain this workstation accepts, as the consortium published it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Pin {
    pub chain_id: String,
    /// Hash of the genesis block, hex.
    pub genesis_hash: String,
}

impl Workstation {
    /// The pinned chain, if one is pinned.
    pub(super) fn pinned(cache: &Cache) -> Result<Option<Pin>, WsError> {
        Ok(cache
            .meta(MetaKey::PinChainId)?
            .zip(cache.meta(MetaKey::PinGenesisHash)?)
            .map(|(chain_id, genesis_hash)| Pin {
                chain_id,
                genesis_hash,
            }))
    }

    /// Pins the chain this workstation accepts: its id and the hash of its
    /// genesis block, as the consortium published them. A node serving
    /// another chain is then refused from the first block (instead of the
    /// first chain seen being trusted). Empty values remove the pin. A pin
    /// that contradicts the chain already verified here is refused.
    pub fn pin_chain(&self, chain_id: &str, genesis_hash: &str) -> Result<(), WsError> {
        let inner = self.lock()?;
        if chain_id.is_empty() && genesis_hash.is_empty() {
            inner.cache.delete_meta(MetaKey::PinChainId)?;
            return inner.cache.delete_meta(MetaKey::PinGenesisHash);
        }
        let chain: govchain_ledger::types::ChainId = chain_id.parse()?;
        let genesis = govchain_ledger::types::Hash32::from_hex(genesis_hash)?;
        if let Some(c) = inner.chain.as_ref() {
            if c.cursor.chain_id != chain || c.genesis_hash() != Some(genesis) {
                return Err(WsError::BadRequest(format!(
                    "the active chain is {} (genesis {}); to use another chain, connect to its nodes (Settings → Nodes): each chain gets its own cache and pin",
                    c.cursor.chain_id,
                    c.genesis_hash().map(|h| h.to_hex()).unwrap_or_default()
                )));
            }
        }
        inner.cache.set_meta(MetaKey::PinChainId, chain.as_str())?;
        inner
            .cache
            .set_meta(MetaKey::PinGenesisHash, &genesis.to_hex())
    }

    /// How many other departments must have cosigned a checkpoint before
    /// this workstation accepts it (0: the producing node's signature
    /// suffices).
    pub(super) fn witness_quorum(cache: &Cache) -> Result<usize, WsError> {
        Ok(cache
            .meta(MetaKey::WitnessQuorum)?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// Requires checkpoints cosigned by `quorum` other departments' nodes
    /// (PROTOCOL.md §8.7); 0 turns the requirement off. Applies from the
    /// next sync.
    pub fn set_witness_quorum(&self, quorum: u32) -> Result<(), WsError> {
        if quorum > MAX_WITNESS_QUORUM {
            return Err(WsError::BadRequest(format!(
                "at most {MAX_WITNESS_QUORUM} witnesses can be required"
            )));
        }
        let mut inner = self.lock()?;
        if usize::try_from(quorum).unwrap_or(usize::MAX) > Self::witness_quorum(&inner.cache)? {
            // Accepted under a weaker requirement: not relied on any more.
            inner.cache.clear_checkpoint()?;
        }
        inner.witnesses.clear();
        inner
            .cache
            .set_meta(MetaKey::WitnessQuorum, &quorum.to_string())
    }

    /// Everything the status bar shows.
    pub fn status(&self) -> Result<SyncStatus, WsError> {
        let inner = self.lock()?;
        let cp = inner.cache.checkpoint()?;
        let pending = inner.cache.unsettled()?.len();
        let client = self.client.read().ok().and_then(|c| c.clone());
        let nodes = inner.cache.nodes()?;
        let pin = Self::pinned(&inner.cache)?;
        let alarms: Vec<Alarm> = inner
            .cache
            .alarms()?
            .into_iter()
            .map(|a| Alarm {
                id: a.id,
                at: a.last_at.clone(),
                code: a.code,
                node: a.node,
                detail: a.detail,
                acknowledged: a.acknowledged,
                count: u32::try_from(a.count).unwrap_or(u32::MAX),
                first_at: a.at,
                last_at: a.last_at,
            })
            .collect();
        let height = inner.chain.as_ref().and_then(LocalChain::height);
        let state = status_state(&Outcome {
            open_alarms: alarms.iter().any(|a| !a.acknowledged),
            syncing: inner.syncing,
            online: inner.online,
            synced: inner.last_sync_at.is_some(),
            last_error: inner.last_error.as_ref(),
            verified_height: height.is_some(),
            checkpoint: cp.is_some(),
        });
        Ok(SyncStatus {
            state,
            chain_id: inner.chain.as_ref().map(|c| c.cursor.chain_id.to_string()),
            genesis_hash: inner
                .chain
                .as_ref()
                .and_then(LocalChain::genesis_hash)
                .map(|h| h.to_hex()),
            pinned: pin.is_some(),
            online: inner.online,
            syncing: inner.syncing,
            node: client.as_ref().and_then(|c| c.current().map(str::to_owned)),
            embedded: inner.active.as_deref() == Some(crate::chains::DEMO),
            nodes,
            height,
            log_size: inner.chain.as_ref().map_or(0, LocalChain::log_size),
            checkpoint_size: cp.as_ref().map(|c| c.size),
            checkpoint_signer: cp.map(|c| c.signer),
            witness_quorum: u32::try_from(Self::witness_quorum(&inner.cache)?).unwrap_or(u32::MAX),
            checkpoint_witnesses: inner.witnesses.clone(),
            last_sync_at: inner.last_sync_at.clone(),
            last_error: inner.last_error.clone(),
            outbox_pending: u32::try_from(pending).unwrap_or(u32::MAX),
            alarms,
        })
    }

    /// Acknowledges an alarm (with every occurrence grouped in it).
    pub fn acknowledge_alarm(&self, id: i64) -> Result<(), WsError> {
        self.lock()?.cache.acknowledge_alarm(id)
    }
}

/// What the status state is derived from.
// Independent facts of one status report, not a state machine.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct Outcome<'a> {
    /// An unacknowledged alarm is open.
    pub open_alarms: bool,
    pub syncing: bool,
    pub online: bool,
    /// A sync succeeded in this session.
    pub synced: bool,
    /// Why the last sync failed, if it did.
    pub last_error: Option<&'a ErrorBody>,
    /// A block is verified locally.
    pub verified_height: bool,
    /// A checkpoint is verified and kept.
    pub checkpoint: bool,
}

/// What the status bar may claim. An open alarm wins over everything, and
/// `verified` needs a successful last sync with a verified checkpoint (a
/// resync running after it keeps it).
pub(crate) fn status_state(o: &Outcome<'_>) -> StatusState {
    if o.open_alarms {
        return StatusState::Alarm;
    }
    match o.last_error {
        Some(e) if e.code == crate::error::WsErrorCode::CheckpointNotWitnessed.as_str() => {
            StatusState::NotWitnessed
        }
        Some(_) if !o.online => StatusState::Offline,
        // A routine resync does not take back what the last one verified.
        None if o.synced && o.verified_height && o.checkpoint => StatusState::Verified,
        None if o.syncing => StatusState::Syncing,
        None if !o.online && o.synced => StatusState::Offline,
        // Failed, never synced, or nothing verified yet.
        Some(_) | None => StatusState::Unverified,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(code: &str) -> ErrorBody {
        ErrorBody {
            code: code.into(),
            message: String::new(),
            node: None,
            fingerprint: None,
        }
    }

    #[test]
    fn verified_only_when_verified() {
        let ok = Outcome {
            open_alarms: false,
            syncing: false,
            online: true,
            synced: true,
            last_error: None,
            verified_height: true,
            checkpoint: true,
        };
        assert_eq!(status_state(&ok), StatusState::Verified);
        let alarm = Outcome {
            open_alarms: true,
            ..ok
        };
        assert_eq!(status_state(&alarm), StatusState::Alarm);
        let bad = error("sync.verification_failed");
        let failed = Outcome {
            last_error: Some(&bad),
            ..ok
        };
        assert_eq!(status_state(&failed), StatusState::Unverified);
        let offline = error("sync.offline");
        let off = Outcome {
            online: false,
            last_error: Some(&offline),
            ..ok
        };
        assert_eq!(status_state(&off), StatusState::Offline);
        let short = error("checkpoint.not_witnessed");
        let nw = Outcome {
            last_error: Some(&short),
            ..ok
        };
        assert_eq!(status_state(&nw), StatusState::NotWitnessed);
        let no_cp = Outcome {
            checkpoint: false,
            ..ok
        };
        assert_eq!(status_state(&no_cp), StatusState::Unverified);
        let never = Outcome {
            synced: false,
            ..ok
        };
        assert_eq!(status_state(&never), StatusState::Unverified);
        let running = Outcome {
            syncing: true,
            ..never
        };
        assert_eq!(status_state(&running), StatusState::Syncing);
        let resync = Outcome {
            syncing: true,
            ..ok
        };
        assert_eq!(status_state(&resync), StatusState::Verified);
    }
}
