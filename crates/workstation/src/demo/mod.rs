//! The embedded demo node: with no node configured, the workstation runs a
//! department node in-process on loopback (the real `govchain-node` code)
//! with a demo consortium — the departments of the old-city renovation case
//! and an engineering project — and demo data, and registers the user's key
//! so there is something to sign at once.
//!
//! A fresh demo chain starts ten weeks in the past: its history (earlier
//! renovation cases, one sent back by the fire department, each stage taking
//! days or weeks) is replayed with a scripted node clock, so the case
//! timelines and dashboards have something to show; then the clock is the
//! system's again.
//!
//! The demo consortium's own keys (its node and admins, and the other
//! officials of the story) are demo material: they are kept as seeds in
//! `demo-keys.json` (mode 0600) in the demo node's directory. The official's
//! key is never among them: it stays in the OS keychain.
//!
//! This module owns the node's lifecycle (start, serve, witnesses, stop)
//! and signing demo transactions; [`keys`] the demo key file, [`story`] the
//! scripted history, mostly as tables of scripted steps.

mod keys;
mod story;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use govchain_ledger::crypto::{KeyId, PublicKey, SecretKey};
use govchain_ledger::note::{NoteKey, ALG_ED25519};
use govchain_ledger::state::kinds::Genesis;
use govchain_ledger::tx::{Envelope, TxBody};
use govchain_ledger::types::{ChainId, Timestamp};
use govchain_node::witness::{Witness, WitnessConfig};
use govchain_node::{Clock, Core, Limits, Shared};
use serde_json::{json, Value};

use crate::error::WsError;

use keys::demo_keys;
pub use story::demo_payroll_key;

/// Chain id and origin of the demo chain.
pub const DEMO_CHAIN: &str = "gov-demo";
pub const DEMO_ORIGIN: &str = "govchain.local/gov-demo";
/// The demo renovation case waiting at the fire stage for the user.
pub const DEMO_CASE: &str = "HZ-2026-0042";
/// The demo engineering project the user supervises.
pub const DEMO_PROJECT: &str = "XA-2026-007";
/// The demo engineering project the user is the contractor of.
pub const DEMO_CONTRACT: &str = "XA-2026-011";

/// The demo chain's consortium identity key (PROTOCOL.md §12.9). Demo
/// material: derived from a public label, so never for real identities.
pub fn demo_identity_key() -> govchain_ledger::identity::IdentityKey {
    govchain_ledger::identity::IdentityKey::from_bytes(
        govchain_ledger::types::Hash32::sha256(b"govchain demo consortium identity key").0,
    )
}

/// The key of the node that runs here (the city's).
const NODE: &str = "node-city-management";
/// The name the demo node signs checkpoints under.
const NODE_NAME: &str = "demo.govchain.local";

/// `(id, name)` of the demo departments.
const DEPARTMENTS: &[(&str, &str)] = &[
    ("city-management", "杭州市城市管理局"),
    ("fire", "杭州市消防救援支队"),
    ("construction", "杭州市住房和城乡建设局"),
    ("developer", "杭州城建开发有限公司"),
    ("contractor", "浙江华建工程有限公司"),
    ("supervision", "浙江正衡监理有限公司"),
    ("bank", "杭州银行代发中心"),
    // Hainan's housing-fund centres (deposit certificates verified by the
    // other city's centre under the citizen's consent).
    ("hpf-haikou", "海口市住房公积金管理局"),
    ("hpf-sanya", "三亚市住房公积金管理局"),
];

/// `(key name, department, display name)` of the demo officials.
const OFFICIALS: &[(&str, &str, &str)] = &[
    ("zhang", "city-management", "张伟"),
    ("wang", "construction", "王芳"),
    ("zhao", "developer", "赵磊"),
    ("zhou", "fire", "周敏"),
    ("qian", "supervision", "钱峰（监理单位）"),
    ("dev", "developer", "陈静（建设单位）"),
    ("con", "contractor", "刘强（施工单位）"),
    ("op", "bank", "孙丽（代发银行）"),
];

fn err(e: impl std::fmt::Display) -> WsError {
    WsError::Embedded(e.to_string())
}

/// The running demo node.
#[derive(Debug)]
pub struct DemoNode {
    url: String,
    core: Shared,
    keys: BTreeMap<String, SecretKey>,
    seqs: Mutex<BTreeMap<KeyId, u64>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<Result<(), govchain_node::NodeError>>>,
    dir: PathBuf,
    /// The scripted clock while a fresh chain's history is replayed (ms).
    clock: Arc<AtomicI64>,
    /// The other departments' nodes witnessing this one's checkpoints.
    witnesses: Vec<tokio::task::JoinHandle<()>>,
}

/// The departments whose nodes cosign the demo node's checkpoints (each
/// with its own node key, from its own state file).
const WITNESSES: &[&str] = &["fire", "construction"];

const DAY_MS: i64 = 24 * 3600 * 1000;
/// How far back a fresh demo chain starts.
const HISTORY_DAYS: i64 = 70;

impl DemoNode {
    /// Starts (creating and seeding on first use) the demo node whose data
    /// lives in `dir`, serving on a random loopback port.
    pub async fn start(dir: &Path) -> Result<Self, WsError> {
        std::fs::create_dir_all(dir).map_err(|e| err(format!("{}: {e}", dir.display())))?;
        let keys = demo_keys(&dir.join("demo-keys.json"))?;
        let db = dir.join("chain.sqlite");
        let fresh = !db.exists();
        if fresh {
            // A new chain: the witnesses start over with it.
            for dept in WITNESSES {
                let _ = std::fs::remove_file(dir.join(format!("witness-{dept}.state")));
            }
        }
        let key = |n: &str| {
            keys.get(n)
                .ok_or_else(|| err(format!("demo key {n} missing")))
        };
        let chain: ChainId = DEMO_CHAIN.parse()?;
        let genesis = if fresh {
            let departments: Vec<Value> = DEPARTMENTS
                .iter()
                .map(|(id, name)| {
                    let admin = key(&format!("{id}-admin"))?;
                    // Only the city's node runs (here); the others exist on
                    // the chain.
                    let node_key = key(&format!("node-{id}"))?.public_key();
                    Ok(json!({"id": id, "name": name, "node_key": node_key, "admin_threshold": 1,
                              "admins": [{"name": format!("{id}-admin"), "public_key": admin.public_key()}]}))
                })
                .collect::<Result<_, WsError>>()?;
            let g: Genesis = serde_json::from_value(json!({
                "origin": DEMO_ORIGIN, "consortium_threshold": 2, "departments": departments}))
            .map_err(err)?;
            let node_key = key(NODE)?;
            Some(govchain_node::genesis_block(
                &chain,
                &g,
                key("city-management-admin")?,
                node_key,
                Timestamp::from_unix_millis(
                    govchain_node::api::now().unix_millis() - HISTORY_DAYS * DAY_MS,
                )
                .unwrap_or(Timestamp::UNIX_EPOCH),
            )?)
        } else {
            None
        };
        let node_key = SecretKey::from_seed(&key(NODE)?.to_seed());
        let core = Core::open(
            &db,
            node_key,
            NODE_NAME,
            genesis.as_ref(),
            Limits::default(),
        )?;
        let clock = Arc::new(AtomicI64::new(
            govchain_node::api::now().unix_millis() - HISTORY_DAYS * DAY_MS + 60_000,
        ));
        let mut core = core;
        if fresh {
            core.set_clock(Clock::Manual(clock.clone()));
        }
        let core: Shared = Arc::new(Mutex::new(core));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(err)?;
        let url = format!("http://{}", listener.local_addr().map_err(err)?);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(govchain_node::run(
            listener,
            core.clone(),
            Duration::from_millis(100),
            async {
                let _ = stopped.await;
            },
        ));
        let node = Self {
            url,
            core,
            keys,
            seqs: Mutex::new(BTreeMap::new()),
            stop: Some(stop),
            handle: Some(handle),
            dir: dir.to_owned(),
            clock,
            witnesses: Vec::new(),
        };
        if fresh {
            let seeded = node.seed();
            node.core
                .lock()
                .map_err(|_| err("node lock poisoned"))?
                .set_clock(Clock::System);
            seeded?;
        }
        let mut node = node;
        node.start_witnesses()?;
        Ok(node)
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn key(&self, name: &str) -> Result<&SecretKey, WsError> {
        self.keys
            .get(name)
            .ok_or_else(|| err(format!("demo key {name} missing")))
    }

    fn id(&self, name: &str) -> Result<KeyId, WsError> {
        Ok(self.key(name)?.key_id())
    }

    /// Signs and admits one demo transaction.
    fn submit(&self, who: &str, kind: &str, payload: Value) -> Result<(), WsError> {
        let k = self.key(who)?;
        let mut c = self.core.lock().map_err(|_| err("node lock poisoned"))?;
        let mut seqs = self.seqs.lock().map_err(|_| err("seq lock poisoned"))?;
        let principal = c
            .state()
            .key_index
            .get(&k.key_id())
            .copied()
            .unwrap_or(k.key_id());
        let committed = c.state().seqs.get(&principal).copied().unwrap_or(0);
        let seq = seqs.get(&principal).copied().unwrap_or(0).max(committed) + 1;
        let env = Envelope::sign(
            k,
            TxBody {
                chain_id: c.chain_id().clone(),
                signer: k.key_id(),
                seq,
                kind: kind.into(),
                payload,
                created_at: c.now(),
            },
        )?;
        let now = c.now();
        c.submit(env, now)?;
        seqs.insert(principal, seq);
        Ok(())
    }

    /// Commits what is pending (the next transactions depend on it, and on
    /// the scripted time): until the mempool is empty, also of a block the
    /// node's producer is storing meanwhile (the lock is released between
    /// tries so that it can finish).
    fn commit(&self) -> Result<(), WsError> {
        loop {
            {
                let mut c = self.core.lock().map_err(|_| err("node lock poisoned"))?;
                while c.produce()?.is_some() {}
                if c.mempool_len() == 0 {
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Moves the scripted clock forward to `ms` (never back).
    fn at(&self, ms: i64) {
        self.clock.fetch_max(ms, Ordering::SeqCst);
    }

    /// The demo chain's height.
    pub fn height(&self) -> Result<u64, WsError> {
        Ok(self
            .core
            .lock()
            .map_err(|_| err("node lock poisoned"))?
            .height())
    }

    /// Whether `key` is registered on the demo chain.
    pub fn is_registered(&self, key: &PublicKey) -> Result<bool, WsError> {
        let c = self.core.lock().map_err(|_| err("node lock poisoned"))?;
        Ok(c.state().key_index.contains_key(&key.key_id()))
    }

    fn start_witnesses(&mut self) -> Result<(), WsError> {
        let log_key = NoteKey::new(
            NODE_NAME,
            ALG_ED25519,
            self.keys
                .get(NODE)
                .ok_or_else(|| err("demo node key missing"))?
                .public_key(),
        )?;
        for dept in WITNESSES {
            let name = format!("node-{dept}");
            let key = self
                .keys
                .get(&name)
                .ok_or_else(|| err(format!("demo key {name} missing")))?;
            let cfg = WitnessConfig {
                log_url: self.url.clone(),
                origin: DEMO_ORIGIN.to_owned(),
                log_key: log_key.clone(),
                name: format!("{dept}.demo.govchain.local"),
                state_file: self.dir.join(format!("witness-{dept}.state")),
            };
            let witness = Witness::open(cfg, SecretKey::from_seed(&key.to_seed()))?;
            self.witnesses.push(tokio::spawn(async move {
                let never = std::future::pending::<()>();
                if let Err(e) = witness.run(Duration::from_secs(1), never).await {
                    tracing::error!("demo witness stopped: {e}");
                }
            }));
        }
        Ok(())
    }

    /// Stops serving; pending transactions are committed first.
    pub async fn stop(mut self) -> Result<(), WsError> {
        for w in self.witnesses.drain(..) {
            w.abort();
        }
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(h) = self.handle.take() {
            h.await.map_err(err)??;
        }
        Ok(())
    }
}

impl DemoNode {
    /// Registers `key` as an official of `department` named `name`, holding
    /// each of `roles` everywhere (`*`), signed by that department's demo
    /// admin: how a test or an evaluator puts a second workstation's key in
    /// another department of the demo consortium.
    pub fn register_official(
        &self,
        key: &PublicKey,
        department: &str,
        name: &str,
        roles: &[&str],
    ) -> Result<(), WsError> {
        let admin = format!("{department}-admin");
        self.submit(
            &admin,
            "official.register",
            json!({"department": department, "name": name, "public_key": key}),
        )?;
        self.commit()?;
        for role in roles {
            self.submit(
                &admin,
                "role.grant",
                json!({"official": key.key_id(), "department": department, "role": role, "scope": "*"}),
            )?;
        }
        self.commit()
    }
}
