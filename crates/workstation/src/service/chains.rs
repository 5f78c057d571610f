//! One cache per chain: the layout on disk, migrating an older single
//! cache, switching the active chain (demo or real), connecting to a
//! department's nodes from first run, and checking, before delivery, that a
//! node serves the chain an outbox belongs to.

use std::path::Path;

use govchain_ledger::block::Block;
use govchain_ledger::ErrorCode;

use crate::cache::{Cache, MetaKey};
use crate::chains::{self, ChainEntry, ChainsFile, Managed, DEMO};
use crate::client::NodeClient;
use crate::dto::{ChainInfo, ChainsView, NodeProbe};
use crate::error::WsError;
use crate::verify::LocalChain;

use super::{now, Workstation};

/// A chain's identity: its id and its genesis block's hash (hex).
type Identity = (String, String);

/// The identity a cache is for: its pin, else the chain it verified.
pub(super) fn cache_identity(
    cache: &Cache,
    chain: Option<&LocalChain>,
) -> Result<Option<Identity>, WsError> {
    if let Some(p) = Workstation::pinned(cache)? {
        return Ok(Some((p.chain_id, p.genesis_hash)));
    }
    Ok(chain.and_then(|c| {
        c.genesis_hash()
            .map(|g| (c.cursor.chain_id.to_string(), g.to_hex()))
    }))
}

/// The identity of an older cache from its pin or its first block.
fn legacy_identity(cache: &Cache) -> Result<Option<Identity>, WsError> {
    if let Some(p) = Workstation::pinned(cache)? {
        return Ok(Some((p.chain_id, p.genesis_hash)));
    }
    let Some(json) = cache.blocks_json(0, 1)?.into_iter().next() else {
        return Ok(None);
    };
    let b = Block::from_json(json.as_bytes())
        .map_err(|e| WsError::verification(e.code(), e.to_string()))?;
    Ok(Some((
        b.header.chain_id.to_string(),
        b.header.hash()?.to_hex(),
    )))
}

/// Moves an older `DATA_DIR/cache.sqlite` (one cache for whatever chain)
/// into the chains layout, keeping its data: to `chains/demo/` when it had
/// no nodes configured (the embedded demo), else to the directory of the
/// chain it verified or pinned.
pub(super) fn migrate_legacy(data_dir: &Path, file: &mut ChainsFile) -> Result<(), WsError> {
    let old = data_dir.join("cache.sqlite");
    if !old.exists() {
        return Ok(());
    }
    let entry = {
        let cache = Cache::open(&old)?;
        let nodes = cache.nodes()?;
        if nodes.is_empty() {
            ChainEntry {
                id: DEMO.into(),
                chain_id: String::new(),
                genesis_hash: String::new(),
                nodes,
            }
        } else if let Some((chain_id, genesis_hash)) = legacy_identity(&cache)? {
            ChainEntry {
                id: chains::chain_dir(&chain_id, &genesis_hash),
                chain_id,
                genesis_hash,
                nodes,
            }
        } else {
            ChainEntry {
                id: chains::nodes_dir(&nodes),
                chain_id: String::new(),
                genesis_hash: String::new(),
                nodes,
            }
        }
        // The cache closes here (its WAL checkpointed into the file).
    };
    let dest = chains::cache_path(data_dir, &entry.id);
    if dest.exists() {
        // Already migrated once (a copy came back): keep it aside, untouched.
        let aside = data_dir.join(format!("cache.sqlite.unmigrated-{}", now().unix_millis()));
        std::fs::rename(&old, &aside)
            .map_err(|e| WsError::Storage(format!("{}: {e}", old.display())))?;
        tracing::warn!("an older cache was kept aside as {}", aside.display());
        return Ok(());
    }
    if let Some(d) = dest.parent() {
        std::fs::create_dir_all(d)
            .map_err(|e| WsError::Storage(format!("{}: {e}", d.display())))?;
    }
    for suffix in ["-wal", "-shm", ""] {
        let from = data_dir.join(format!("cache.sqlite{suffix}"));
        if from.exists() {
            let to = dest.with_file_name(format!("cache.sqlite{suffix}"));
            std::fs::rename(&from, &to)
                .map_err(|e| WsError::Storage(format!("{}: {e}", from.display())))?;
        }
    }
    tracing::info!("the older cache moved to {}", dest.display());
    if file.active.is_none() {
        file.active = Some(entry.id.clone());
    }
    file.upsert(entry);
    Ok(())
}

/// The chains file after migrating an older cache and applying the managed
/// settings: managed nodes with a pin make that chain the active one;
/// without a pin they are the active real chain's nodes.
pub(super) fn prepare_layout(data_dir: &Path, managed: &Managed) -> Result<ChainsFile, WsError> {
    let mut file = ChainsFile::load(data_dir)?;
    let before = file.clone();
    migrate_legacy(data_dir, &mut file)?;
    if let (Some((chain_id, genesis_hash)), false) = (managed.pin(), managed.nodes.is_empty()) {
        let id = chains::chain_dir(&chain_id, &genesis_hash);
        file.upsert(ChainEntry {
            id: id.clone(),
            chain_id,
            genesis_hash,
            nodes: managed.nodes.clone(),
        });
        file.active = Some(id);
    } else if !managed.nodes.is_empty() {
        // Managed nodes without a pin: the nodes of the real chain first
        // run connected to (its pin and verification still apply).
        let active = file.active.clone();
        if let Some(c) = file
            .chains
            .iter_mut()
            .find(|c| Some(&c.id) == active.as_ref() && c.id != DEMO)
        {
            c.nodes.clone_from(&managed.nodes);
        }
    }
    if file != before {
        file.save(data_dir)?;
    }
    Ok(file)
}

/// Makes `to`'s key records those of `from` (the keychain's keys are the
/// workstation's, whatever the chain); a rotation in progress stays with
/// its chain.
fn copy_keys(from: &Cache, to: &Cache) -> Result<(), WsError> {
    let keep = from.keys()?;
    for k in to.keys()? {
        if !keep.iter().any(|r| r.key_id == k.key_id) {
            to.remove_key(&k.key_id)?;
        }
    }
    for k in &keep {
        to.add_key(&k.key_id, &k.public_key, &k.label, &k.created_at)?;
    }
    match from.meta(MetaKey::ActiveKey)? {
        Some(a) => to.set_meta(MetaKey::ActiveKey, &a),
        None => to.delete_meta(MetaKey::ActiveKey),
    }
}

/// The pin and the witness quorum of `from`, where `to` has none.
fn copy_trust(from: &Cache, to: &Cache) -> Result<(), WsError> {
    if Workstation::pinned(to)?.is_none() {
        if let Some(p) = Workstation::pinned(from)? {
            to.set_meta(MetaKey::PinChainId, &p.chain_id)?;
            to.set_meta(MetaKey::PinGenesisHash, &p.genesis_hash)?;
        }
    }
    if to.meta(MetaKey::WitnessQuorum)?.is_none() {
        if let Some(q) = from.meta(MetaKey::WitnessQuorum)? {
            to.set_meta(MetaKey::WitnessQuorum, &q)?;
        }
    }
    Ok(())
}

impl Workstation {
    /// The verified chain of `cache`: its stored state read back and
    /// checked against the last cached block; else (a cache from before
    /// states were stored, or a stored state that does not match, with an
    /// alarm) rebuilt by re-applying the cached blocks, and its state
    /// stored for the next start. None (with an alarm) when the cached
    /// blocks no longer verify.
    pub(super) fn load_chain(cache: &mut Cache) -> Result<Option<LocalChain>, WsError> {
        let restored = cache.stored_chain().and_then(|stored| {
            stored
                .map(|(state, frontier, blocks)| LocalChain::restore(state, frontier, blocks))
                .transpose()
        });
        match restored {
            Ok(Some(chain)) => return Ok(Some(chain)),
            Ok(None) => {}
            Err(e) => cache.raise_alarm(
                &now().to_string(),
                "cache.state_mismatch",
                "local cache",
                &format!(
                    "the stored state was not the last cached block's ({}: {e}); it is rebuilt from the cached blocks",
                    e.code()
                ),
            )?,
        }
        match Self::replay(cache) {
            Ok(Some(mut c)) => {
                // Not stored (e.g. a full disk): the next start re-applies again.
                if let Err(e) = c
                    .take_changes()
                    .and_then(|changes| cache.rewrite_state(&c.state, &changes))
                {
                    tracing::warn!(code = e.code(), "storing the verified state: {e}");
                }
                Ok(Some(c))
            }
            Ok(None) => Ok(None),
            Err(e) => {
                cache.raise_alarm(
                    &now().to_string(),
                    e.code(),
                    "local cache",
                    &format!("the cached chain no longer verifies and was dropped: {e}"),
                )?;
                Ok(None)
            }
        }
    }

    /// Closes the active chain's cache and opens `id`'s (the caller holds
    /// the sync lock, so no sync writes into the wrong one).
    fn activate(&self, entry: ChainEntry) -> Result<(), WsError> {
        if !chains::valid_id(&entry.id) {
            return Err(WsError::BadRequest(format!(
                "{} is not a chain id",
                entry.id
            )));
        }
        let mut inner = self.lock()?;
        if inner.active.as_deref() != Some(entry.id.as_str()) {
            let mut cache = Cache::open(&chains::cache_path(&self.data_dir, &entry.id))?;
            copy_keys(&inner.cache, &cache)?;
            if inner.active.is_none() {
                // Trust settings made before any chain was chosen (a pin,
                // a witness quorum) are the chosen chain's.
                copy_trust(&inner.cache, &cache)?;
            }
            let chain = Self::load_chain(&mut cache)?;
            inner.cache = cache;
            inner.chain = chain;
            inner.previews.clear();
            inner.online = false;
            inner.syncing = false;
            inner.last_error = None;
            inner.last_sync_at = None;
            inner.witnesses.clear();
            inner.active = Some(entry.id.clone());
        }
        inner.chains.active = Some(entry.id.clone());
        inner.chains.upsert(entry);
        inner.chains.save(&self.data_dir)
    }

    /// The chain switcher's view (and first run's).
    pub fn chains(&self) -> Result<ChainsView, WsError> {
        let inner = self.lock()?;
        let mut list: Vec<ChainInfo> = inner
            .chains
            .chains
            .iter()
            .map(|c| ChainInfo {
                id: c.id.clone(),
                chain_id: c.chain_id.clone(),
                genesis_hash: c.genesis_hash.clone(),
                nodes: if c.id == DEMO {
                    vec![]
                } else {
                    c.nodes.clone()
                },
                demo: c.id == DEMO,
                active: inner.active.as_deref() == Some(c.id.as_str()),
            })
            .collect();
        if !list.iter().any(|c| c.demo) && self.managed.nodes.is_empty() {
            list.push(ChainInfo {
                id: DEMO.into(),
                chain_id: String::new(),
                genesis_hash: String::new(),
                nodes: vec![],
                demo: true,
                active: false,
            });
        }
        Ok(ChainsView {
            active: inner.active.clone(),
            needs_choice: inner.active.is_none(),
            managed_nodes: self.managed.nodes.clone(),
            chains: list,
        })
    }

    /// Whether first run has yet to choose the demo or real nodes.
    pub fn needs_choice(&self) -> bool {
        self.lock().map_or(true, |i| i.active.is_none())
    }

    /// The active chain's id (`demo`, `<chain_id>-<genesis prefix>`).
    pub fn active_chain(&self) -> Result<Option<String>, WsError> {
        Ok(self.lock()?.active.clone())
    }

    /// Uses the embedded demo chain (its own cache; started if needed).
    pub async fn use_demo(&self) -> Result<(), WsError> {
        self.activate_demo().await?;
        self.start_network().await
    }

    pub(super) async fn activate_demo(&self) -> Result<(), WsError> {
        let _one = self.sync_lock.lock().await;
        self.activate(ChainEntry {
            id: DEMO.into(),
            chain_id: String::new(),
            genesis_hash: String::new(),
            nodes: vec![],
        })
    }

    /// Switches to a known chain: `demo`, or a real chain connected before
    /// (its nodes need not answer now: the cache works offline).
    pub async fn switch_chain(&self, id: &str) -> Result<(), WsError> {
        if id == DEMO {
            return self.use_demo().await;
        }
        let entry = self
            .lock()?
            .chains
            .get(id)
            .cloned()
            .ok_or_else(|| WsError::NotFound(format!("no known chain {id}")))?;
        {
            let _one = self.sync_lock.lock().await;
            self.activate(entry)?;
        }
        self.start_network().await
    }

    /// Connects to a department's nodes: asks each which chain it serves
    /// (`/healthz`), refuses nodes that disagree with each other or with
    /// what the administrator gave (`expect`: chain id and genesis hash),
    /// then makes that chain active — its own cache, pinned to what the
    /// nodes serve when `pin` — and uses the nodes. Nothing of the demo is started or cached on this path. Nodes
    /// that do not say which chain they serve get a cache of their own (or,
    /// on a real chain already, become its node list).
    pub async fn connect_nodes(
        &self,
        urls: Vec<String>,
        expect: Option<(String, String)>,
        pin: bool,
    ) -> Result<NodeProbe, WsError> {
        let urls: Vec<String> = urls
            .iter()
            .map(|u| u.trim().trim_end_matches('/').to_owned())
            .filter(|u| !u.is_empty())
            .collect();
        if urls.is_empty() {
            return Err(WsError::BadRequest("no node URL given".into()));
        }
        for u in &urls {
            chains::check_url(u)?;
        }
        let mut found: Option<NodeProbe> = None;
        let mut last_err = None;
        for u in &urls {
            match self.test_node(u).await {
                Ok(p) if !p.chain_id.is_empty() && !p.genesis_hash.is_empty() => match &found {
                    Some(f) if (f.chain_id.as_str(), f.genesis_hash.as_str())
                        != (p.chain_id.as_str(), p.genesis_hash.as_str()) =>
                    {
                        return Err(WsError::verification(
                            "chain.not_pinned",
                            format!(
                                "{} serves chain {} (genesis {}) but {} serves chain {} (genesis {}); these are not one consortium's nodes",
                                f.url, f.chain_id, f.genesis_hash, p.url, p.chain_id, p.genesis_hash
                            ),
                        ))
                    }
                    Some(_) => {}
                    None => found = Some(p),
                },
                Ok(_) => {}
                Err(e) => last_err = Some(e),
            }
        }
        if let Some((chain_id, genesis_hash)) = &expect {
            let chain_id = chain_id.trim();
            let genesis_hash = genesis_hash.trim().to_ascii_lowercase();
            let Some(f) = &found else {
                return Err(last_err.unwrap_or_else(|| {
                    WsError::Offline("no node said which chain it serves".into())
                }));
            };
            if (!chain_id.is_empty() && f.chain_id != chain_id)
                || (!genesis_hash.is_empty() && f.genesis_hash != genesis_hash)
            {
                return Err(WsError::verification(
                    "chain.not_pinned",
                    format!(
                        "the node serves chain {} with genesis {}, not chain {} with genesis {} as the administrator gave; not connected",
                        f.chain_id,
                        f.genesis_hash,
                        if chain_id.is_empty() { "(any)" } else { chain_id },
                        if genesis_hash.is_empty() { "(any)" } else { genesis_hash.as_str() },
                    ),
                ));
            }
        }
        let active = self.lock()?.active.clone();
        let entry = match &found {
            Some(f) => ChainEntry {
                id: chains::chain_dir(&f.chain_id, &f.genesis_hash),
                chain_id: f.chain_id.clone(),
                genesis_hash: f.genesis_hash.clone(),
                nodes: urls.clone(),
            },
            None => match active.as_deref() {
                Some(a) if a != DEMO => ChainEntry {
                    id: a.to_owned(),
                    chain_id: String::new(),
                    genesis_hash: String::new(),
                    nodes: urls.clone(),
                },
                _ => ChainEntry {
                    id: chains::nodes_dir(&urls),
                    chain_id: String::new(),
                    genesis_hash: String::new(),
                    nodes: urls.clone(),
                },
            },
        };
        {
            let _one = self.sync_lock.lock().await;
            self.activate(entry)?;
            self.lock()?.cache.set_nodes(&urls)?;
            if let (Some(f), true) = (&found, pin) {
                self.pin_chain(&f.chain_id, &f.genesis_hash)?;
            }
        }
        self.start_network().await?;
        Ok(found.unwrap_or(NodeProbe {
            url: urls[0].clone(),
            chain_id: String::new(),
            genesis_hash: String::new(),
            height: 0,
        }))
    }

    /// Before delivering an outbox: the node must serve the chain the
    /// outbox belongs to (its cache's pin or verified chain), and every
    /// envelope must name that chain. Defence in depth: outboxes live in
    /// their chain's cache already.
    pub(super) async fn check_delivery_chain(
        &self,
        client: &NodeClient,
        envelopes: &[&str],
    ) -> Result<(), WsError> {
        let expected = {
            let inner = self.lock()?;
            cache_identity(&inner.cache, inner.chain.as_ref())?
        };
        let Some((chain_id, genesis_hash)) = expected else {
            return Err(WsError::Offline(
                "this chain is not verified yet; nothing is delivered before it is".into(),
            ));
        };
        let health = client.health().await?;
        let (node_chain, node_genesis) = (
            health["chain_id"].as_str().unwrap_or_default(),
            health["genesis_hash"].as_str().unwrap_or_default(),
        );
        let node = client.current().unwrap_or("?").to_owned();
        if node_chain != chain_id || node_genesis != genesis_hash {
            let detail = format!(
                "{node} serves chain {node_chain:?} (genesis {node_genesis:?}), but this outbox belongs to chain {chain_id} (genesis {genesis_hash}); nothing was sent"
            );
            return Err(WsError::verification("chain.not_pinned", detail));
        }
        for e in envelopes {
            let v: serde_json::Value =
                serde_json::from_str(e).map_err(|e| WsError::Storage(e.to_string()))?;
            if v["body"]["chain_id"].as_str() != Some(chain_id.as_str()) {
                return Err(WsError::verification(
                    "chain.not_pinned",
                    format!("an outbox item names another chain than {chain_id}; nothing was sent"),
                ));
            }
        }
        Ok(())
    }

    /// Points the client at `urls` without changing the active chain: only
    /// for tests of the delivery check.
    #[doc(hidden)]
    pub fn point_client_at_for_tests(&self, urls: Vec<String>) -> Result<(), WsError> {
        let client = std::sync::Arc::new(NodeClient::with_pins(urls, &self.cert_pins()?)?);
        *self
            .client
            .write()
            .map_err(|_| WsError::Storage("client lock poisoned".into()))? = Some(client);
        Ok(())
    }
}
