//! The workstation: keys, signing, outbox, sync and views behind one handle
//! that the Tauri commands (and tests) call. It owns the cache and the
//! verified chain; the network is only ever a source of data to verify.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use govchain_ledger::block::Block;
use govchain_ledger::crypto::{KeyId, PublicKey};
use govchain_ledger::state::{views, SigCheck};
use govchain_ledger::tx::{Envelope, TxBody};
use govchain_ledger::types::Timestamp;
use govchain_ledger::ErrorCode;
use serde_json::json;

use crate::cache::{Cache, CheckpointRow, OutboxRow};
use crate::client::{NodeClient, Submitted};
use crate::demo::DemoNode;
use crate::dto::{
    Alarm, InboxEntry, KeyInfo, OfficialInfo, OutboxItem, RegistrationRequest, SignPreview,
    SignRequest, SyncProgress, SyncStatus,
};
use crate::error::{ErrorBody, WsError};
use crate::keys::{backup, Keychain};
use crate::signing::{self, Draft};
use crate::verify::LocalChain;

/// Blocks fetched per request while syncing.
pub const SYNC_PAGE: u64 = 100;
/// Longest wait between two delivery attempts of an outbox item.
const MAX_BACKOFF_MS: i64 = 5 * 60 * 1000;

/// What the UI hears about without asking.
#[derive(Debug, Clone)]
pub enum Event {
    Progress(SyncProgress),
    Status(SyncStatus),
    Outbox(OutboxItem),
}

pub type Notifier = Arc<dyn Fn(Event) + Send + Sync>;

struct Inner {
    cache: Cache,
    chain: Option<LocalChain>,
    previews: HashMap<String, Draft>,
    online: bool,
    syncing: bool,
    last_error: Option<ErrorBody>,
    last_sync_at: Option<String>,
    /// The departments that cosigned the checkpoint accepted last.
    witnesses: Vec<String>,
}

impl Inner {
    /// The verified chain, or `not_found` before the first verified block.
    fn verified(&self) -> Result<&LocalChain, WsError> {
        self.chain
            .as_ref()
            .ok_or_else(|| WsError::NotFound("no verified chain".into()))
    }
}

/// The most witnesses a workstation can require (a checkpoint note has at
/// most 100 signature lines, one of them the log's).
pub const MAX_WITNESS_QUORUM: u32 = 99;

/// How long an accepted transaction may stay out of every verified block
/// before it is sent again (the node may have lost its mempool).
const RESEND_AFTER_MS: i64 = 30_000;

pub struct Workstation {
    data_dir: PathBuf,
    keychain: Keychain,
    inner: Mutex<Inner>,
    client: RwLock<Option<Arc<NodeClient>>>,
    demo: tokio::sync::Mutex<Option<DemoNode>>,
    sync_lock: tokio::sync::Mutex<()>,
    notify: Notifier,
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

fn outbox_item(r: &OutboxRow) -> OutboxItem {
    OutboxItem {
        id: r.id.clone(),
        kind: r.kind.clone(),
        seq: r.seq,
        status: r.status.clone(),
        code: r.code.clone(),
        message: r.message.clone(),
        height: r.height,
        attempts: r.attempts,
        created_at: r.created_at.clone(),
    }
}

fn ref_id(s: &str) -> Result<govchain_ledger::state::kinds::RefId, WsError> {
    s.to_owned().try_into().map_err(WsError::BadRequest)
}

fn parse_key_id(s: &str) -> Result<KeyId, WsError> {
    KeyId::from_hex(s).map_err(|e| WsError::BadRequest(e.to_string()))
}

impl Workstation {
    /// Opens the workstation whose cache lives in `data_dir`, with keys in
    /// the keychain service `keychain_service`. The verified chain is rebuilt
    /// from the cache (hash chain, roots and state digests re-checked); a
    /// cache that no longer verifies is dropped and synced again.
    pub fn open(
        data_dir: &Path,
        keychain_service: &str,
        notify: Notifier,
    ) -> Result<Self, WsError> {
        let cache = Cache::open(&data_dir.join("cache.sqlite"))?;
        let mut inner = Inner {
            cache,
            chain: None,
            previews: HashMap::new(),
            online: false,
            syncing: false,
            last_error: None,
            last_sync_at: None,
            witnesses: Vec::new(),
        };
        inner.chain = match Self::replay(&inner.cache) {
            Ok(c) => c,
            Err(e) => {
                inner.cache.raise_alarm(
                    &now().to_string(),
                    e.code(),
                    "local cache",
                    &format!("the cached chain no longer verifies and was dropped: {e}"),
                )?;
                None
            }
        };
        Ok(Self {
            data_dir: data_dir.to_owned(),
            keychain: Keychain::new(keychain_service),
            inner: Mutex::new(inner),
            client: RwLock::new(None),
            demo: tokio::sync::Mutex::new(None),
            sync_lock: tokio::sync::Mutex::new(()),
            notify,
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

    // ------------------------------------------------------------ network

    /// Connects to the configured nodes, or — with none configured — starts
    /// the embedded demo node and uses it.
    pub async fn start_network(&self) -> Result<(), WsError> {
        let urls = self.lock()?.cache.nodes()?;
        let urls = if urls.is_empty() {
            let mut demo = self.demo.lock().await;
            if demo.is_none() {
                *demo = Some(DemoNode::start(&self.data_dir.join("embedded-node")).await?);
            }
            let url = demo
                .as_ref()
                .map(|d| d.url().to_owned())
                .unwrap_or_default();
            if let Some(key) = self.active_public_key()? {
                if let Some(d) = demo.as_ref() {
                    let label = self.key_label(&key)?;
                    d.register_user(&key, &label)?;
                }
            }
            vec![url]
        } else {
            if let Some(d) = self.demo.lock().await.take() {
                d.stop().await?;
            }
            urls
        };
        let client = Arc::new(NodeClient::new(urls)?);
        *self
            .client
            .write()
            .map_err(|_| WsError::Storage("client lock poisoned".into()))? = Some(client);
        Ok(())
    }

    /// Stops the embedded node, if it runs.
    pub async fn shutdown(&self) -> Result<(), WsError> {
        if let Some(d) = self.demo.lock().await.take() {
            d.stop().await?;
        }
        Ok(())
    }

    pub async fn embedded(&self) -> bool {
        self.demo.lock().await.is_some()
    }

    /// The embedded demo node's URL, if it runs.
    pub async fn embedded_url(&self) -> Option<String> {
        self.demo.lock().await.as_ref().map(|d| d.url().to_owned())
    }

    fn client(&self) -> Result<Arc<NodeClient>, WsError> {
        self.client
            .read()
            .map_err(|_| WsError::Storage("client lock poisoned".into()))?
            .clone()
            .ok_or_else(|| WsError::Offline("not connected yet".into()))
    }

    /// Checks that `url` answers as a govchain node (`/healthz`).
    pub async fn probe_node(url: &str) -> Result<crate::dto::NodeProbe, WsError> {
        let v = NodeClient::probe(url).await?;
        Ok(crate::dto::NodeProbe {
            url: url.to_owned(),
            chain_id: v["chain_id"].as_str().unwrap_or_default().to_owned(),
            height: v["height"].as_u64().unwrap_or(0),
        })
    }

    /// Replaces the node list (empty: use the embedded demo node).
    pub async fn set_nodes(&self, urls: Vec<String>) -> Result<(), WsError> {
        for u in &urls {
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                return Err(WsError::BadRequest(format!("{u} is not an http(s) URL")));
            }
        }
        self.lock()?.cache.set_nodes(&urls)?;
        self.start_network().await
    }

    pub fn nodes(&self) -> Result<Vec<String>, WsError> {
        self.lock()?.cache.nodes()
    }

    // ------------------------------------------------------------ keys

    fn active_key_id(&self) -> Result<Option<KeyId>, WsError> {
        self.lock()?
            .cache
            .meta("active_key")?
            .map(|s| parse_key_id(&s))
            .transpose()
    }

    fn active_public_key(&self) -> Result<Option<PublicKey>, WsError> {
        let Some(id) = self.active_key_id()? else {
            return Ok(None);
        };
        let inner = self.lock()?;
        for (key_id, pk, _, _) in inner.cache.keys()? {
            if key_id == id.to_hex() {
                return govchain_node::config::parse_public_key(&pk)
                    .map(Some)
                    .map_err(|e| WsError::Storage(e.to_string()));
            }
        }
        Ok(None)
    }

    fn key_label(&self, key: &PublicKey) -> Result<String, WsError> {
        let id = key.key_id().to_hex();
        Ok(self
            .lock()?
            .cache
            .keys()?
            .into_iter()
            .find(|k| k.0 == id)
            .map_or_else(|| "official".to_owned(), |k| k.2))
    }

    fn remember_key(&self, key: &PublicKey, label: &str) -> Result<(), WsError> {
        let inner = self.lock()?;
        inner.cache.add_key(
            &key.key_id().to_hex(),
            &key.to_hex(),
            label,
            &now().to_string(),
        )?;
        if inner.cache.meta("active_key")?.is_none() {
            inner.cache.set_meta("active_key", &key.key_id().to_hex())?;
        }
        Ok(())
    }

    /// In embedded mode, the demo consortium registers the new key.
    async fn register_with_demo(&self, key: &PublicKey, label: &str) -> Result<(), WsError> {
        if let Some(d) = self.demo.lock().await.as_ref() {
            d.register_user(key, label)?;
        }
        Ok(())
    }

    /// Creates a key in the OS keychain; the first key becomes active.
    pub async fn create_key(&self, label: &str) -> Result<KeyInfo, WsError> {
        let label = label.trim();
        if label.is_empty() || label.chars().count() > 64 {
            return Err(WsError::BadRequest("a name of 1 to 64 characters".into()));
        }
        let pk = self.keychain.generate()?;
        self.remember_key(&pk, label)?;
        self.register_with_demo(&pk, label).await?;
        self.key_info(&pk.key_id())
    }

    /// Imports a key from a passphrase-protected backup into the keychain.
    pub async fn import_key(
        &self,
        backup_text: &str,
        passphrase: &str,
        label: &str,
    ) -> Result<KeyInfo, WsError> {
        let key = backup::import(backup_text, passphrase)?;
        self.keychain.store(&key)?;
        let pk = key.public_key();
        drop(key);
        self.remember_key(&pk, label.trim())?;
        self.register_with_demo(&pk, label.trim()).await?;
        self.key_info(&pk.key_id())
    }

    /// A backup of the active key sealed with `passphrase` (the text of the
    /// file; it holds the key only encrypted).
    pub fn export_backup(&self, passphrase: &str) -> Result<String, WsError> {
        let id = self.active_key_id()?.ok_or(WsError::NoKey)?;
        let key = self.keychain.load(&id)?;
        backup::export(&key, passphrase)
    }

    /// Removes a key from the keychain and from this workstation.
    pub fn delete_key(&self, key_id: &str) -> Result<(), WsError> {
        let id = parse_key_id(key_id)?;
        self.keychain.delete(&id)?;
        let inner = self.lock()?;
        inner.cache.remove_key(&id.to_hex())?;
        if inner.cache.meta("active_key")?.as_deref() == Some(id.to_hex().as_str()) {
            inner.cache.delete_meta("active_key")?;
        }
        Ok(())
    }

    fn key_info(&self, id: &KeyId) -> Result<KeyInfo, WsError> {
        self.keys()?
            .into_iter()
            .find(|k| k.key_id == id.to_hex())
            .ok_or_else(|| WsError::NotFound(format!("key {}", id.fingerprint())))
    }

    /// The keys of this workstation, with what the verified chain says.
    pub fn keys(&self) -> Result<Vec<KeyInfo>, WsError> {
        self.promote_rotated_key()?;
        let active = self.active_key_id()?;
        let inner = self.lock()?;
        let rows = inner.cache.keys()?;
        let mut out = Vec::with_capacity(rows.len());
        for (key_id, public_key, label, created_at) in rows {
            let id = parse_key_id(&key_id)?;
            out.push(KeyInfo {
                fingerprint: id.fingerprint(),
                active: active == Some(id),
                in_keychain: self.keychain.contains(&id)?,
                official: inner.chain.as_ref().and_then(|c| official_info(c, &id)),
                key_id,
                public_key,
                label,
                created_at,
            });
        }
        Ok(out)
    }

    /// A registration request for the active key, for an admin.
    pub fn registration_request(
        &self,
        name: &str,
        department: &str,
    ) -> Result<RegistrationRequest, WsError> {
        let pk = self.active_public_key()?.ok_or(WsError::NoKey)?;
        let payload = json!({"department": department, "name": name, "public_key": pk});
        let text =
            serde_json::to_string_pretty(&json!({"kind": "official.register", "payload": payload}))
                .map_err(|e| WsError::BadRequest(e.to_string()))?;
        Ok(RegistrationRequest {
            public_key: pk.to_hex(),
            fingerprint: pk.key_id().fingerprint(),
            name: name.to_owned(),
            department: department.to_owned(),
            text,
        })
    }

    /// Signs a `key.rotate` with the active key naming a new keychain key
    /// effective from the next block; the new key becomes active once the
    /// verified chain makes it valid.
    pub fn rotate_key(&self) -> Result<OutboxItem, WsError> {
        let old = self.active_key_id()?.ok_or(WsError::NoKey)?;
        let label = {
            let inner = self.lock()?;
            inner
                .cache
                .keys()?
                .into_iter()
                .find(|k| k.0 == old.to_hex())
                .map_or_else(String::new, |k| k.2)
        };
        let new = self.keychain.generate()?;
        let (effective, body) = {
            let inner = self.lock()?;
            let chain = inner
                .chain
                .as_ref()
                .ok_or_else(|| WsError::Offline("no verified chain yet; sync first".into()))?;
            let effective = chain.cursor.next_height + 1;
            let seq = signing::next_seq(
                &chain.state,
                &old,
                inner.cache.max_seq(&principal_hex(chain, &old))?,
            );
            let body = TxBody {
                chain_id: chain.cursor.chain_id.clone(),
                signer: old,
                seq,
                kind: "key.rotate".into(),
                payload: json!({"new_public_key": new, "effective_height": effective}),
                created_at: now(),
            };
            (effective, body)
        };
        let item = self.sign_and_queue(body)?;
        let inner = self.lock()?;
        inner.cache.add_key(
            &new.key_id().to_hex(),
            &new.to_hex(),
            &format!("{label} (rotated)"),
            &now().to_string(),
        )?;
        inner.cache.set_meta(
            "pending_key",
            &format!("{}@{effective}", new.key_id().to_hex()),
        )?;
        Ok(item)
    }

    /// Makes a rotated key active once the verified chain accepts it.
    fn promote_rotated_key(&self) -> Result<(), WsError> {
        let inner = self.lock()?;
        let Some(pending) = inner.cache.meta("pending_key")? else {
            return Ok(());
        };
        let Some(chain) = inner.chain.as_ref() else {
            return Ok(());
        };
        let id = parse_key_id(pending.split('@').next().unwrap_or_default())?;
        if chain.state.signer(&id, chain.cursor.next_height).is_ok() {
            inner.cache.set_meta("active_key", &id.to_hex())?;
            inner.cache.delete_meta("pending_key")?;
        }
        Ok(())
    }

    // ------------------------------------------------------------ signing

    /// Builds the transaction for `req`, signed by the active key, and shows
    /// exactly what would be signed — and whether the ledger would refuse it
    /// on the verified cache. Nothing is signed yet.
    pub fn prepare(&self, req: &SignRequest) -> Result<SignPreview, WsError> {
        self.promote_rotated_key()?;
        let signer = self.active_key_id()?.ok_or(WsError::NoKey)?;
        let mut inner = self.lock()?;
        let chain = inner
            .chain
            .as_ref()
            .ok_or_else(|| WsError::Offline("no verified chain yet; sync first".into()))?;
        let last = inner.cache.max_seq(&principal_hex(chain, &signer))?;
        let seq = signing::next_seq(&chain.state, &signer, last);
        let d = signing::draft(&chain.state, signer, seq, req, now())?;
        let preview = SignPreview {
            preview_id: d.tx_id.to_hex(),
            kind: d.body.kind.clone(),
            canonical_json: d.canonical_json.clone(),
            sha256: d.sha256.to_hex(),
            tx_id: d.tx_id.to_hex(),
            signer_fingerprint: signer.fingerprint(),
            seq,
            would_reject: d.would_reject.as_ref().map(signing::rejection_body),
        };
        inner.previews.insert(preview.preview_id.clone(), d);
        Ok(preview)
    }

    /// Signs a previewed body with the key from the keychain and queues the
    /// envelope durably; delivery happens in the background.
    pub fn confirm(&self, preview_id: &str) -> Result<OutboxItem, WsError> {
        let draft = self
            .lock()?
            .previews
            .remove(preview_id)
            .ok_or(WsError::UnknownPreview)?;
        self.sign_and_queue(draft.body)
    }

    fn sign_and_queue(&self, body: TxBody) -> Result<OutboxItem, WsError> {
        let key = self.keychain.load(&body.signer)?;
        let env = Envelope::sign(&key, body).map_err(|e| WsError::BadRequest(e.to_string()))?;
        drop(key);
        let id = env.id().map_err(|e| WsError::BadRequest(e.to_string()))?;
        let text = serde_json::to_string(&env).map_err(|e| WsError::BadRequest(e.to_string()))?;
        let inner = self.lock()?;
        let official = inner.chain.as_ref().map_or_else(
            || env.body.signer.to_hex(),
            |c| principal_hex(c, &env.body.signer),
        );
        let row = OutboxRow {
            id: id.to_hex(),
            signer: official,
            seq: env.body.seq,
            kind: env.body.kind.clone(),
            envelope: text,
            status: "queued".into(),
            code: None,
            message: None,
            height: None,
            attempts: 0,
            next_try_ms: 0,
            created_at: now().to_string(),
        };
        inner.cache.queue(&row)?;
        let item = outbox_item(&row);
        drop(inner);
        (self.notify)(Event::Outbox(item.clone()));
        Ok(item)
    }

    pub fn outbox(&self) -> Result<Vec<OutboxItem>, WsError> {
        Ok(self
            .lock()?
            .cache
            .outbox()?
            .iter()
            .map(outbox_item)
            .collect())
    }

    /// Delivers due outbox items (idempotent by id: a resubmission of a
    /// transaction the node already has is harmless). Stops at the first
    /// transport failure and backs off.
    pub async fn flush_outbox(&self) -> Result<(), WsError> {
        let client = self.client()?;
        let due: Vec<OutboxRow> = {
            let inner = self.lock()?;
            let t = now().unix_millis();
            inner
                .cache
                .unsettled()?
                .into_iter()
                // Queued, or accepted long ago and still in no verified block.
                .filter(|r| r.next_try_ms <= t)
                .collect()
        };
        for row in due {
            let result = client.submit(&row.envelope).await;
            let at = now().to_string();
            let inner = self.lock()?;
            match result {
                Ok(Submitted::Accepted) => {
                    inner.cache.mark_submitted(
                        &row.id,
                        now().unix_millis() + RESEND_AFTER_MS,
                        &at,
                    )?;
                }
                Ok(Submitted::Rejected { code, message }) => {
                    inner.cache.set_status(
                        &row.id,
                        "rejected",
                        Some(&code),
                        Some(&message),
                        None,
                        &at,
                    )?;
                }
                Err(e) => {
                    let backoff = (1_000_i64 << row.attempts.min(20)).min(MAX_BACKOFF_MS);
                    inner.cache.retry_later(
                        &row.id,
                        now().unix_millis() + backoff,
                        &e.to_string(),
                        &at,
                    )?;
                    if matches!(e, WsError::Offline(_)) {
                        return Err(e);
                    }
                }
            }
            if let Some(r) = inner.cache.outbox_item(&row.id)? {
                (self.notify)(Event::Outbox(outbox_item(&r)));
            }
        }
        Ok(())
    }

    // ------------------------------------------------------------ sync

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
        let (mut chain, ours, mut from, pin) = {
            let inner = self.lock()?;
            let from = inner.chain.as_ref().map_or(0, |c| c.cursor.next_height);
            (
                inner.chain.clone(),
                Self::own_signers(&inner)?,
                from,
                Self::pinned(&inner.cache)?,
            )
        };
        let mut pending = fetch(from);
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
            let ours = ours.clone();
            let pin = pin.clone();
            let PageResult {
                chain: next_chain,
                verified,
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
                if !verified.is_empty() {
                    inner.cache.append_blocks(&verified)?;
                    inner.chain.clone_from(&chain);
                    let at = now().to_string();
                    for (id, h) in &committed {
                        inner
                            .cache
                            .set_status(id, "committed", None, None, Some(*h), &at)?;
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
            (self.notify)(Event::Progress(SyncProgress { height, target }));
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
    /// The pinned chain: `(chain id, genesis block hash)`.
    fn pinned(cache: &Cache) -> Result<Option<(String, String)>, WsError> {
        Ok(cache
            .meta("pin.chain_id")?
            .zip(cache.meta("pin.genesis_hash")?))
    }

    /// Pins the chain this workstation accepts: its id and the hash of its
    /// genesis block, as the consortium published them. A node serving
    /// another chain is then refused from the first block (instead of the
    /// first chain seen being trusted). Empty values remove the pin. A pin
    /// that contradicts the chain already verified here is refused.
    pub fn pin_chain(&self, chain_id: &str, genesis_hash: &str) -> Result<(), WsError> {
        let inner = self.lock()?;
        if chain_id.is_empty() && genesis_hash.is_empty() {
            inner.cache.delete_meta("pin.chain_id")?;
            return inner.cache.delete_meta("pin.genesis_hash");
        }
        let chain: govchain_ledger::types::ChainId = chain_id
            .parse()
            .map_err(|e: govchain_ledger::types::TypeError| WsError::BadRequest(e.to_string()))?;
        let genesis = govchain_ledger::types::Hash32::from_hex(genesis_hash)
            .map_err(|e| WsError::BadRequest(e.to_string()))?;
        if let Some(c) = inner.chain.as_ref() {
            if c.cursor.chain_id != chain || c.genesis_hash() != Some(genesis) {
                return Err(WsError::BadRequest(format!(
                    "this workstation already verified chain {} (genesis {}); a different chain needs a new data directory",
                    c.cursor.chain_id,
                    c.genesis_hash().map(|h| h.to_hex()).unwrap_or_default()
                )));
            }
        }
        inner.cache.set_meta("pin.chain_id", chain.as_str())?;
        inner.cache.set_meta("pin.genesis_hash", &genesis.to_hex())
    }

    /// How many other departments must have cosigned a checkpoint before
    /// this workstation accepts it (0: the producing node's signature
    /// suffices).
    fn witness_quorum(cache: &Cache) -> Result<usize, WsError> {
        Ok(cache
            .meta("witness.quorum")?
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
        inner.cache.set_meta("witness.quorum", &quorum.to_string())
    }

    fn own_signers(inner: &Inner) -> Result<HashSet<KeyId>, WsError> {
        inner
            .cache
            .keys()?
            .iter()
            .map(|k| parse_key_id(&k.0))
            .collect()
    }

    /// Everything the status bar shows.
    pub fn status(&self) -> Result<SyncStatus, WsError> {
        let inner = self.lock()?;
        let cp = inner.cache.checkpoint()?;
        let pending = inner.cache.unsettled()?.len();
        let client = self.client.read().ok().and_then(|c| c.clone());
        let nodes = inner.cache.nodes()?;
        let pin = Self::pinned(&inner.cache)?;
        Ok(SyncStatus {
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
            embedded: nodes.is_empty(),
            nodes,
            height: inner.chain.as_ref().and_then(LocalChain::height),
            log_size: inner.chain.as_ref().map_or(0, LocalChain::log_size),
            checkpoint_size: cp.as_ref().map(|c| c.size),
            checkpoint_signer: cp.map(|c| c.signer),
            witness_quorum: u32::try_from(Self::witness_quorum(&inner.cache)?).unwrap_or(u32::MAX),
            checkpoint_witnesses: inner.witnesses.clone(),
            last_sync_at: inner.last_sync_at.clone(),
            last_error: inner.last_error.clone(),
            outbox_pending: u32::try_from(pending).unwrap_or(u32::MAX),
            alarms: inner
                .cache
                .alarms()?
                .into_iter()
                .map(|a| Alarm {
                    id: a.id,
                    at: a.at,
                    code: a.code,
                    node: a.node,
                    detail: a.detail,
                    acknowledged: a.acknowledged,
                })
                .collect(),
        })
    }

    pub fn acknowledge_alarm(&self, id: i64) -> Result<(), WsError> {
        self.lock()?.cache.acknowledge_alarm(id)
    }

    // ------------------------------------------------------------ views

    /// Cases waiting for the active key's official, from the verified cache.
    pub fn inbox(&self) -> Result<Vec<InboxEntry>, WsError> {
        Ok(self
            .view(|s, me, t| {
                let Some(me) = me else {
                    return Vec::new();
                };
                views::inbox(s, me, t)
                    .into_iter()
                    .map(|i| InboxEntry {
                        case_id: i.case_id.to_string(),
                        title: i.title,
                        template: i.template,
                        stage: u32::try_from(i.stage).unwrap_or(u32::MAX),
                        stage_name: i.stage_name,
                        department_name: i
                            .department
                            .clone()
                            .try_into()
                            .ok()
                            .and_then(|d| s.departments.get(&d))
                            .map(|d| d.name.clone())
                            .unwrap_or_default(),
                        department: i.department,
                        waiting_since: i.waiting_since.to_string(),
                        deadline: i.deadline.map(|d| d.to_string()),
                    })
                    .collect()
            })?
            .unwrap_or_default())
    }

    /// The active key's official and the view time, with the state.
    fn view<R>(
        &self,
        f: impl FnOnce(&govchain_ledger::state::State, Option<&KeyId>, Timestamp) -> R,
    ) -> Result<Option<R>, WsError> {
        let signer = self.active_key_id()?;
        let inner = self.lock()?;
        let Some(chain) = inner.chain.as_ref() else {
            return Ok(None);
        };
        let me = signer.map(|k| chain.state.key_index.get(&k).copied().unwrap_or(k));
        let t = chain.state.time.map_or_else(now, |t| t.max(now()));
        Ok(Some(f(&chain.state, me.as_ref(), t)))
    }

    pub fn cases(&self) -> Result<Vec<crate::dto::CaseSummary>, WsError> {
        Ok(self.view(crate::views::cases)?.unwrap_or_default())
    }

    pub fn case_detail(&self, case_id: &str) -> Result<crate::dto::CaseDetail, WsError> {
        let id = ref_id(case_id)?;
        self.view(|s, me, t| crate::views::case_detail(s, &id, me, t))?
            .flatten()
            .ok_or_else(|| WsError::NotFound(format!("case {case_id}")))
    }

    pub fn projects(&self) -> Result<Vec<crate::dto::ProjectSummary>, WsError> {
        Ok(self
            .view(|s, me, _| crate::views::projects(s, me))?
            .unwrap_or_default())
    }

    pub fn project_detail(&self, project_id: &str) -> Result<crate::dto::ProjectDetail, WsError> {
        let id = ref_id(project_id)?;
        self.view(|s, me, _| crate::views::project_detail(s, &id, me))?
            .flatten()
            .ok_or_else(|| WsError::NotFound(format!("project {project_id}")))
    }

    /// Blocks of the verified cache below `before`, newest first.
    pub fn explorer_blocks(
        &self,
        before: Option<u64>,
        limit: u64,
    ) -> Result<Vec<crate::dto::BlockSummary>, WsError> {
        let inner = self.lock()?;
        let Some(chain) = inner.chain.as_ref() else {
            return Ok(Vec::new());
        };
        let cp = inner.cache.checkpoint()?.map(|c| c.size);
        inner
            .cache
            .headers_desc(before, limit.clamp(1, 200))?
            .iter()
            .map(|(hash, json)| {
                Ok(crate::explorer::summary(
                    &chain.state,
                    &crate::explorer::parse_header(json)?,
                    hash,
                    cp,
                ))
            })
            .collect()
    }

    fn cached_block(&self, height: u64) -> Result<(Block, String), WsError> {
        let (hash, json) = self
            .lock()?
            .cache
            .block_at(height)?
            .ok_or_else(|| WsError::NotFound(format!("block {height}")))?;
        Ok((crate::explorer::parse(&json)?, hash))
    }

    pub fn block_detail(&self, height: u64) -> Result<crate::dto::BlockDetail, WsError> {
        let (block, hash) = self.cached_block(height)?;
        let inner = self.lock()?;
        let cp = inner.cache.checkpoint()?.map(|c| c.size);
        let chain = inner.verified()?;
        Ok(crate::explorer::detail(&chain.state, &block, &hash, cp))
    }

    pub fn tx_detail(&self, height: u64, index: u32) -> Result<crate::dto::TxDetail, WsError> {
        let (block, _) = self.cached_block(height)?;
        let inner = self.lock()?;
        let chain = inner.verified()?;
        crate::explorer::tx_detail(&chain.state, &block, index as usize)
    }

    /// Fetches the inclusion proof of a cached transaction for the last
    /// verified checkpoint and checks it here, step by step.
    pub async fn verify_inclusion(
        &self,
        height: u64,
        index: u32,
    ) -> Result<crate::dto::ProofReport, WsError> {
        let (block, _) = self.cached_block(height)?;
        let tx = block
            .txs
            .get(index as usize)
            .ok_or_else(|| WsError::NotFound(format!("transaction {index} of block {height}")))?;
        let id = tx
            .id()
            .map_err(|e| WsError::BadRequest(e.to_string()))?
            .to_hex();
        let cp =
            self.lock()?.cache.checkpoint()?.ok_or_else(|| {
                WsError::NotFound("no verified checkpoint yet; sync first".into())
            })?;
        if block.header.log_size > cp.size {
            return Err(WsError::NotFound(format!(
                "block {height} is newer than the last verified checkpoint (size {}); sync first",
                cp.size
            )));
        }
        let answer = self.client()?.inclusion_proof(&id, cp.size).await?;
        let inner = self.lock()?;
        let chain = inner.verified()?;
        Ok(crate::proofs::check_inclusion(
            chain,
            &block,
            index as usize,
            &answer,
            &cp.note,
        ))
    }

    /// Recorded accesses to sensitive data, newest first, optionally of one
    /// department and/or one dataset; at most `limit` (≤ 1,000).
    pub fn access_log(
        &self,
        department: Option<&str>,
        dataset: Option<&str>,
        limit: u32,
    ) -> Result<Vec<crate::dto::AccessRow>, WsError> {
        let department = department
            .filter(|d| !d.is_empty())
            .map(|d| d.to_owned().try_into().map_err(WsError::BadRequest))
            .transpose()?;
        let q = govchain_ledger::state::views::AccessQuery {
            department,
            dataset: dataset.filter(|d| !d.is_empty()).map(str::to_owned),
            limit: limit.clamp(1, 1000) as usize,
            ..Default::default()
        };
        Ok(self
            .view(|s, _, _| {
                views::access_log(s, &q)
                    .into_iter()
                    .map(|r| crate::dto::AccessRow {
                        at: r.entry.at.to_string(),
                        official: crate::views::official_ref(s, &r.official),
                        department_name: s
                            .departments
                            .get(&r.department)
                            .map(|d| d.name.clone())
                            .unwrap_or_default(),
                        department: r.department.to_string(),
                        dataset: r.entry.dataset.clone(),
                        operation: r.entry.operation.to_string(),
                        purpose: r.entry.purpose.clone(),
                        subject: r.entry.subject.map(|h| h.to_hex()),
                        height: r.height,
                        tx_id: r.tx_id.to_hex(),
                    })
                    .collect()
            })?
            .unwrap_or_default())
    }

    /// Where a project's money went, every fen of the budget on one edge.
    pub fn fund_trace(&self, project_id: &str) -> Result<Vec<crate::dto::FundFlow>, WsError> {
        let id = ref_id(project_id)?;
        self.view(|s, _, _| views::fund_trace(s, &id))?
            .flatten()
            .map(|flows| {
                flows
                    .into_iter()
                    .map(|f| crate::dto::FundFlow {
                        source: f.source,
                        target: f.target,
                        amount: f.amount.get(),
                        status: f.status.to_owned(),
                    })
                    .collect()
            })
            .ok_or_else(|| WsError::NotFound(format!("project {project_id}")))
    }

    /// Runs `f` on the verified chain and a reader of cached blocks.
    fn audit<R>(
        &self,
        f: impl FnOnce(&LocalChain, &dyn Fn(u64) -> Option<Block>) -> R,
    ) -> Result<Option<R>, WsError> {
        let inner = self.lock()?;
        let Some(chain) = inner.chain.as_ref() else {
            return Ok(None);
        };
        let cache = &inner.cache;
        let block_at = |h: u64| {
            cache
                .block_at(h)
                .ok()
                .flatten()
                .and_then(|(_, json)| Block::from_json(json.as_bytes()).ok())
        };
        Ok(Some(f(chain, &block_at)))
    }

    /// Search by transaction id, block height, case, project, official
    /// name or fingerprint, certificate id.
    pub fn search(&self, query: &str) -> Result<Vec<crate::dto::SearchHit>, WsError> {
        if query.len() > 200 {
            return Err(WsError::BadRequest("a search is at most 200 bytes".into()));
        }
        Ok(self
            .audit(|chain, block_at| crate::audit::search(chain, query, block_at))?
            .unwrap_or_default())
    }

    /// The neighbourhood of one graph node (`block:7`, `tx:7:0`, `case:ID`,
    /// `project:ID`, `official:KEYID`, `department:ID`).
    pub fn graph(&self, focus: &str) -> Result<crate::dto::Graph, WsError> {
        self.audit(|chain, block_at| crate::audit::graph(chain, focus, block_at))?
            .flatten()
            .ok_or_else(|| WsError::NotFound(format!("graph node {focus}")))
    }

    /// Approvals per department per week, median stage times, payments per
    /// project and the rejection codes this workstation's submissions met.
    pub fn dashboard(&self) -> Result<crate::dto::Dashboard, WsError> {
        let rejected: Vec<String> = self
            .lock()?
            .cache
            .outbox()?
            .into_iter()
            .filter(|r| r.status == "rejected")
            .filter_map(|r| r.code)
            .collect();
        Ok(self
            .view(|s, _, _| crate::audit::dashboard(s, &rejected))?
            .unwrap_or_else(|| {
                crate::audit::dashboard(&govchain_ledger::state::State::new(), &rejected)
            }))
    }

    /// A project's paid and pending money after each payment event.
    pub fn spending(&self, project_id: &str) -> Result<Vec<crate::dto::SpendPoint>, WsError> {
        self.view(|s, _, _| crate::audit::spending(s, project_id))?
            .flatten()
            .ok_or_else(|| WsError::NotFound(format!("project {project_id}")))
    }

    /// The checkpoints this workstation verified, largest first.
    pub fn checkpoints(&self) -> Result<Vec<crate::dto::CheckpointInfo>, WsError> {
        Ok(self
            .lock()?
            .cache
            .checkpoints(200)?
            .into_iter()
            .map(|c| crate::dto::CheckpointInfo {
                size: c.size,
                root: c.root,
                signer: c.signer,
                node: c.node,
                at: c.at,
            })
            .collect())
    }

    /// Fetches the node's consistency proof between two verified
    /// checkpoints (`size2` = the latest if `None`) and checks it here.
    pub async fn verify_consistency(
        &self,
        size1: u64,
        size2: Option<u64>,
    ) -> Result<crate::dto::ProofReport, WsError> {
        let (older, newer) = {
            let inner = self.lock()?;
            let newer = match size2 {
                Some(s) => inner.cache.checkpoint_at(s)?,
                None => inner.cache.checkpoint()?,
            }
            .ok_or_else(|| WsError::NotFound("no verified checkpoint of that size".into()))?;
            let older = inner.cache.checkpoint_at(size1)?.ok_or_else(|| {
                WsError::NotFound(format!("no verified checkpoint of size {size1}"))
            })?;
            (older, newer)
        };
        if older.size > newer.size {
            return Err(WsError::BadRequest(format!(
                "the first checkpoint ({}) must not be larger than the second ({})",
                older.size, newer.size
            )));
        }
        let answer = self
            .client()?
            .consistency_proof(older.size, newer.size)
            .await?;
        let inner = self.lock()?;
        let chain = inner.verified()?;
        Ok(crate::proofs::check_consistency(
            chain,
            &older.note,
            &newer.note,
            &answer,
        ))
    }

    /// Checks a checkpoint note and optional proof pasted in as text.
    pub fn verify_pasted(
        &self,
        note: &str,
        proof: &str,
    ) -> Result<crate::dto::ProofReport, WsError> {
        if note.len() > govchain_ledger::note::MAX_NOTE_BYTES || proof.len() > 256 * 1024 {
            return Err(WsError::BadRequest("the pasted text is too long".into()));
        }
        self.audit(|chain, block_at| {
            let leaf_of = |id: &str| {
                if id.len() != 64 {
                    return None; // a full id, not a prefix
                }
                let (_, _, tx) = crate::audit::find_txs(chain, id, block_at)
                    .into_iter()
                    .next()?;
                tx.leaf_bytes()
                    .ok()
                    .map(|l| govchain_ledger::merkle::leaf_hash(&l))
            };
            crate::proofs::check_pasted(chain, note, proof, leaf_of)
        })?
        .ok_or_else(|| WsError::NotFound("no verified chain yet; sync first".into()))
    }

    /// Writes the PDF audit report of a case (`kind` = `case`) or project
    /// (`project`) into `dir` and returns where. Inclusion proofs of its
    /// transactions are fetched and checked when a node answers; offline,
    /// the report says they were not checked.
    pub async fn save_report(
        &self,
        kind: &str,
        id: &str,
        dir: &Path,
    ) -> Result<crate::dto::SavedReport, WsError> {
        let (bytes, name) = match kind {
            "case" => {
                let c = self.case_detail(id)?;
                let txs = c
                    .timeline
                    .iter()
                    .map(|e| (e.tx_id.clone(), e.height))
                    .collect();
                let (p, proofs) = self.report_proofs(txs).await?;
                (
                    crate::report::case_report(&c, &p, &proofs),
                    format!("case-{id}"),
                )
            }
            "project" => {
                let d = self.project_detail(id)?;
                let flows = self.fund_trace(id)?;
                let txs = d
                    .payments
                    .iter()
                    .flat_map(|p| p.events.iter().map(|e| (e.tx_id.clone(), e.height)))
                    .collect();
                let (p, proofs) = self.report_proofs(txs).await?;
                (
                    crate::report::project_report(&d, &flows, &p, &proofs),
                    format!("project-{id}"),
                )
            }
            _ => return Err(WsError::BadRequest(format!("no report of kind {kind}"))),
        };
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        std::fs::create_dir_all(dir)
            .map_err(|e| WsError::Storage(format!("{}: {e}", dir.display())))?;
        let path = dir.join(format!("govchain-{safe}.pdf"));
        std::fs::write(&path, &bytes)
            .map_err(|e| WsError::Storage(format!("{}: {e}", path.display())))?;
        Ok(crate::dto::SavedReport {
            path: path.display().to_string(),
            bytes: bytes.len() as u64,
            sha256: govchain_ledger::types::Hash32::sha256(&bytes).to_hex(),
        })
    }

    /// Provenance and checked inclusion proofs of `txs` (`(id, height)`,
    /// at most 100) for a report.
    async fn report_proofs(
        &self,
        txs: Vec<(String, u64)>,
    ) -> Result<(crate::report::Provenance, Vec<crate::report::TxProof>), WsError> {
        let (cp, p) = {
            let inner = self.lock()?;
            let chain = inner.verified()?;
            let cp = inner.cache.checkpoint()?;
            let s = &chain.state;
            let p = crate::report::Provenance {
                chain_id: chain.cursor.chain_id.to_string(),
                generated_at: now().to_string(),
                height: chain.height().unwrap_or(0),
                checkpoint: cp.as_ref().map(|c| c.note.clone()),
                node_keys: s
                    .departments
                    .values()
                    .map(|d| format!("{}  {}", d.id, d.node_key.to_hex()))
                    .collect(),
            };
            (cp, p)
        };
        let client = self.client().ok();
        let mut proofs = Vec::new();
        for (tx_id, height) in txs.into_iter().take(100) {
            // The block is known from the event: parse it once, find the tx.
            let Ok((block, _)) = self.cached_block(height) else {
                continue;
            };
            let Some((index, tx)) = block
                .txs
                .iter()
                .enumerate()
                .find(|(_, t)| t.id().is_ok_and(|id| id.to_hex() == tx_id))
            else {
                continue;
            };
            let leaf_index = block.header.log_size - block.header.tx_count + index as u64;
            let mut proof = crate::report::TxProof {
                tx_id: tx_id.clone(),
                height,
                leaf_index,
                leaf_hash: tx
                    .leaf_bytes()
                    .map(|l| govchain_ledger::merkle::leaf_hash(&l).to_hex())
                    .unwrap_or_default(),
                path: Vec::new(),
                result: Err("not checked: no verified checkpoint covers it yet".into()),
            };
            match (&cp, &client) {
                (Some(cp), Some(client)) if block.header.log_size <= cp.size => {
                    match client.inclusion_proof(&tx_id, cp.size).await {
                        Ok(answer) => {
                            let inner = self.lock()?;
                            if let Some(chain) = inner.chain.as_ref() {
                                let r = crate::proofs::check_inclusion(
                                    chain, &block, index, &answer, &cp.note,
                                );
                                proof.path = answer["proof"]["path"]
                                    .as_array()
                                    .map(|a| {
                                        a.iter()
                                            .filter_map(|h| h.as_str().map(str::to_owned))
                                            .collect()
                                    })
                                    .unwrap_or_default();
                                proof.result = match r.steps.iter().find(|s| !s.ok) {
                                    None if r.ok => Ok(()),
                                    Some(s) => Err(format!("{}: {}", s.step, s.detail)),
                                    None => Err("incomplete".into()),
                                };
                            }
                        }
                        Err(e) => proof.result = Err(format!("not checked: {e}")),
                    }
                }
                (Some(_), None) => proof.result = Err("not checked: offline".into()),
                _ => {}
            }
            proofs.push(proof);
        }
        Ok((p, proofs))
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

/// Threads used to verify received blocks.
const VERIFY_THREADS: usize = 2;

type Verified = Vec<(Block, govchain_ledger::types::Hash32, String)>;

/// What [`verify_page`] returns.
struct PageResult {
    chain: Option<LocalChain>,
    verified: Verified,
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
    pin: Option<&(String, String)>,
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
                verified.push((block, hash, raw.get().to_owned()));
            }
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    PageResult {
        chain,
        verified,
        committed,
        failure,
    }
}

/// A genesis block must be the pinned chain's, if one is pinned.
fn check_pin(
    block: &Block,
    hash: &govchain_ledger::types::Hash32,
    pin: Option<&(String, String)>,
) -> Result<(), WsError> {
    match pin {
        Some((chain, genesis)) if block.header.height == 0 => {
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

/// How long the background loop waits for a block event before it syncs
/// anyway.
const IDLE_SYNC: std::time::Duration = std::time::Duration::from_secs(5);

/// The app's background work: connect (or start the embedded node), then
/// forever deliver the outbox and sync — at once when the node announces a
/// block over SSE, otherwise every few seconds. Errors are shown in the
/// status, never fatal.
pub async fn run_background(ws: Arc<Workstation>) {
    if let Err(e) = ws.start_network().await {
        tracing::warn!(code = e.code(), "network start failed: {e}");
        if let Ok(mut inner) = ws.lock() {
            inner.last_error = Some(e.body());
        }
    }
    loop {
        if let Err(e) = ws.flush_outbox().await {
            tracing::debug!(code = e.code(), "outbox: {e}");
        }
        if let Err(e) = ws.sync().await {
            tracing::info!(code = e.code(), "sync: {e}");
        }
        let wait = async {
            match ws.client() {
                Ok(c) => {
                    if c.next_block_event().await.is_err() {
                        tokio::time::sleep(IDLE_SYNC).await;
                    }
                }
                Err(_) => tokio::time::sleep(IDLE_SYNC).await,
            }
        };
        let _ = tokio::time::timeout(IDLE_SYNC, wait).await;
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

fn official_info(chain: &LocalChain, key: &KeyId) -> Option<OfficialInfo> {
    let s = &chain.state;
    let id = s.key_index.get(key)?;
    let o = s.officials.get(id)?;
    let roles = s
        .grants_by_official
        .get(id)
        .map(|set| {
            set.iter()
                .filter_map(|g| s.grants.get(g))
                .map(|g| format!("{}@{}/{}", g.role, g.department, g.scope))
                .collect()
        })
        .unwrap_or_default();
    Some(OfficialInfo {
        official_id: id.to_hex(),
        name: o.name.clone(),
        department: o.department.to_string(),
        department_name: s
            .departments
            .get(&o.department)
            .map(|d| d.name.clone())
            .unwrap_or_default(),
        roles,
        revoked: o.revoked_at.is_some(),
    })
}
