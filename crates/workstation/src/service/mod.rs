//! The workstation: keys, signing, outbox, sync and views behind one handle
//! that the Tauri commands (and tests) call. It owns the cache and the
//! verified chain; the network is only ever a source of data to verify.
//!
//! This module owns the [`Workstation`] handle itself (its state, opening
//! and replaying the cache); each concern is an `impl Workstation` block of
//! its own:
//!
//! * [`admin`] — department administration: officials, roles, proposals, BPMN.
//! * [`network`] — node list, connecting, the embedded demo node.
//! * [`chains`] — one cache per chain, switching, first-run connect.
//! * [`keys`] — keys of this workstation, backups, rotation.
//! * [`tokens`] — signing with the keychain or a hardware token; token keys.
//! * [`outbox`] — preview, sign, queue and deliver transactions.
//! * [`people`] — capabilities, the identity key, templates, the blacklist.
//! * [`certificates`] — certificates, consent requests for citizens, their signed answers.
//! * [`payments`] — payroll keys, payroll imports, officials to choose parties from.
//! * [`documents`] — attached files received into the local store.
//! * [`sync`] — fetching and verifying blocks and checkpoints.
//! * [`status`] — the status bar, alarms, the pinned chain, witness quorum.
//! * [`queries`] — screen models and explorer/audit queries.
//! * [`proofs`] — inclusion and consistency proofs checked here.
//! * [`reports`] — PDF audit reports.
//! * [`background`] — the app's background delivery and sync loop.

mod admin;
mod background;
mod certificates;
mod chains;
mod documents;
mod keys;
mod network;
mod outbox;
mod payments;
mod people;
mod proofs;
mod queries;
mod reports;
mod status;
mod sync;
mod tokens;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use govchain_ledger::block::Block;
use govchain_ledger::crypto::KeyId;
use govchain_ledger::state::SigCheck;
use govchain_ledger::types::Timestamp;
use govchain_ledger::ErrorCode;

use crate::cache::Cache;
use crate::chains::{ChainsFile, Managed};
use crate::client::NodeClient;
use crate::demo::DemoNode;
use crate::dto::{OutboxItem, SyncProgress, SyncStatus};
use crate::error::{ErrorBody, WsError};
use crate::keys::Keychain;
use crate::signing::Draft;
use crate::verify::LocalChain;

pub use background::run_background;
pub use status::MAX_WITNESS_QUORUM;
pub use sync::SYNC_PAGE;

/// What the UI hears about without asking. A handful per sync, each sent
/// once and dropped: the size of the status variant does not matter.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum Event {
    Progress(SyncProgress),
    Status(SyncStatus),
    Outbox(OutboxItem),
}

pub type Notifier = Arc<dyn Fn(Event) + Send + Sync>;

/// Documents being received by upload id: `(started, upload)`.
type Uploads = HashMap<String, (std::time::Instant, crate::documents::Upload)>;

/// Payroll imports by id: `(project, lines)`.
type Imports = HashMap<String, (String, crate::payroll::ImportedPayroll)>;

struct Inner {
    cache: Cache,
    chain: Option<LocalChain>,
    /// What is derived from the verified state once per head — the case
    /// index, the dashboards' figures — with the head it was built for
    /// (rebuilt for a new head when a query or the background loop needs it).
    case_index: Option<(
        govchain_ledger::types::Hash32,
        Arc<crate::case_index::CaseIndex>,
    )>,
    dashboard: Option<(govchain_ledger::types::Hash32, Arc<crate::dto::Dashboard>)>,
    previews: HashMap<String, Draft>,
    /// The highest sequence number put in a citizen's consent request
    /// (by holder key), so that two requests open at once never share one.
    requested: HashMap<KeyId, u64>,
    online: bool,
    syncing: bool,
    last_error: Option<ErrorBody>,
    last_sync_at: Option<String>,
    /// The departments that cosigned the checkpoint accepted last.
    witnesses: Vec<String>,
    /// The active chain (its directory under `chains/`); none before first
    /// run chose (the cache is then in memory only).
    active: Option<String>,
    /// `DATA_DIR/chains.json`.
    chains: ChainsFile,
}

impl Inner {
    /// The verified chain, or `not_found` before the first verified block.
    fn verified(&self) -> Result<&LocalChain, WsError> {
        self.chain
            .as_ref()
            .ok_or_else(|| WsError::NotFound("no verified chain".into()))
    }
}

pub struct Workstation {
    data_dir: PathBuf,
    keychain: Keychain,
    inner: Mutex<Inner>,
    client: RwLock<Option<Arc<NodeClient>>>,
    demo: tokio::sync::Mutex<Option<DemoNode>>,
    sync_lock: tokio::sync::Mutex<()>,
    notify: Notifier,
    managed: Managed,
    /// Documents being received ([`documents`]).
    uploads: Mutex<Uploads>,
    /// Payroll imports by id ([`payments`]).
    payrolls: Mutex<Imports>,
    /// The key id of the identity key of a key scope, once read ([`people`]).
    known_identity_key: Mutex<Option<(String, Option<String>)>>,
    /// The open session with a hardware token ([`tokens`]).
    tokens: crate::hardware::TokenSessions,
}

impl std::fmt::Debug for Workstation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workstation")
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

fn now() -> Timestamp {
    govchain_node::Clock::System.now()
}

fn ref_id(s: &str) -> Result<govchain_ledger::state::kinds::RefId, WsError> {
    s.to_owned()
        .try_into()
        .map_err(|e: govchain_ledger::state::kinds::InvalidId| WsError::BadRequest(e.to_string()))
}

fn parse_key_id(s: &str) -> Result<KeyId, WsError> {
    Ok(KeyId::from_hex(s)?)
}

impl Workstation {
    /// Opens the workstation whose data lives in `data_dir`, with keys in
    /// the keychain service `keychain_service`, without managed settings
    /// (see [`Workstation::open_with`]).
    pub fn open(
        data_dir: &Path,
        keychain_service: &str,
        notify: Notifier,
    ) -> Result<Self, WsError> {
        Self::open_with(data_dir, keychain_service, notify, Managed::default())
    }

    /// Opens the workstation whose data lives in `data_dir` (one cache per
    /// chain under `chains/`; an older single `cache.sqlite` is moved
    /// there), with keys in the keychain service `keychain_service` and the
    /// install's `managed` settings. The active chain's verified chain is
    /// rebuilt from its cache (hash chain, roots and state roots
    /// re-checked); a cache that no longer verifies is dropped and synced
    /// again. Before first run chose a chain, the cache is in memory only.
    pub fn open_with(
        data_dir: &Path,
        keychain_service: &str,
        notify: Notifier,
        managed: Managed,
    ) -> Result<Self, WsError> {
        let chains = chains::prepare_layout(data_dir, &managed)?;
        let active = chains.active.clone();
        let mut cache = match &active {
            Some(id) => Cache::open(&crate::chains::cache_path(data_dir, id))?,
            None => Cache::open(Path::new(":memory:"))?,
        };
        if let (Some(id), Some(entry)) = (&active, active.as_deref().and_then(|a| chains.get(a))) {
            if id != crate::chains::DEMO && !entry.nodes.is_empty() {
                cache.set_nodes(&entry.nodes)?;
            }
        }
        if let (Some((chain_id, genesis)), false) = (managed.pin(), managed.nodes.is_empty()) {
            if Self::pinned(&cache)?.is_none() {
                cache.set_meta(crate::cache::MetaKey::PinChainId, &chain_id)?;
                cache.set_meta(crate::cache::MetaKey::PinGenesisHash, &genesis)?;
            }
        }
        if let Some(q) = managed.witness_quorum {
            cache.set_meta(crate::cache::MetaKey::WitnessQuorum, &q.to_string())?;
        }
        let chain = Self::load_chain(&mut cache)?;
        let inner = Inner {
            cache,
            chain,
            case_index: None,
            dashboard: None,
            previews: HashMap::new(),
            requested: HashMap::new(),
            online: false,
            syncing: false,
            last_error: None,
            last_sync_at: None,
            witnesses: Vec::new(),
            active,
            chains,
        };
        Ok(Self {
            data_dir: data_dir.to_owned(),
            keychain: Keychain::new(keychain_service),
            inner: Mutex::new(inner),
            client: RwLock::new(None),
            demo: tokio::sync::Mutex::new(None),
            sync_lock: tokio::sync::Mutex::new(()),
            notify,
            managed,
            uploads: Mutex::new(HashMap::new()),
            payrolls: Mutex::new(HashMap::new()),
            known_identity_key: Mutex::new(None),
            tokens: crate::hardware::TokenSessions::new(crate::hardware::idle_lock()),
        })
    }

    fn replay(cache: &Cache) -> Result<Option<LocalChain>, WsError> {
        let mut chain: Option<LocalChain> = None;
        let mut from = 0;
        loop {
            let page = cache.blocks_json(from, 1000)?;
            if page.is_empty() {
                return Ok(chain);
            }
            for json in &page {
                let b = Block::from_json(json.as_bytes())
                    .map_err(|e| WsError::verification(e.code(), e.to_string()))?;
                let c = chain.get_or_insert_with(|| LocalChain::new(b.header.chain_id.clone()));
                // Signatures were verified when the block was received.
                c.apply(&b, SigCheck::Skip)?;
            }
            from += page.len() as u64;
        }
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>, WsError> {
        self.inner
            .lock()
            .map_err(|_| WsError::Storage("workstation state lock poisoned".into()))
    }

    pub fn keychain(&self) -> &Keychain {
        &self.keychain
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Runs `f` on the verified chain (for read-only checks).
    pub fn with_chain<R>(&self, f: impl FnOnce(&LocalChain) -> R) -> Result<Option<R>, WsError> {
        Ok(self.lock()?.chain.as_ref().map(f))
    }

    /// Runs `f` on the verified state (for read-only views).
    pub fn with_state<R>(
        &self,
        f: impl FnOnce(&govchain_ledger::state::State) -> R,
    ) -> Result<Option<R>, WsError> {
        Ok(self.lock()?.chain.as_ref().map(|c| f(&c.state)))
    }
}

fn principal_hex(chain: &LocalChain, signer: &KeyId) -> String {
    chain
        .state
        .key_index
        .get(signer)
        .copied()
        .unwrap_or(*signer)
        .to_hex()
}
