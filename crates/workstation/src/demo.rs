//! The embedded demo node: with no node configured, the workstation runs a
//! department node in-process on loopback (the real `govchain-node` code)
//! with a demo consortium — the departments of the old-city renovation case
//! and an engineering project — and demo data, and registers the user's key
//! so there is something to sign at once.
//!
//! The demo consortium's own keys (its node and admins, and the other
//! officials of the story) are demo material: they are kept as seeds in
//! `demo-keys.json` (mode 0600) in the demo node's directory. The official's
//! key is never among them: it stays in the OS keychain.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use govchain_ledger::crypto::{KeyId, PublicKey, SecretKey};
use govchain_ledger::state::fixtures::renovation_template;
use govchain_ledger::state::kinds::Genesis;
use govchain_ledger::tx::{Envelope, TxBody};
use govchain_ledger::types::{ChainId, Hash32};
use govchain_node::{Core, Limits, Shared};
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::error::WsError;

/// Chain id and origin of the demo chain.
pub const DEMO_CHAIN: &str = "gov-demo";
pub const DEMO_ORIGIN: &str = "govchain.local/gov-demo";
/// The demo renovation case waiting at the fire stage for the user.
pub const DEMO_CASE: &str = "HZ-2026-0042";
/// The demo engineering project the user supervises.
pub const DEMO_PROJECT: &str = "XA-2026-007";

/// The key of the node that runs here (the city's).
const NODE: &str = "node-city-management";

/// `(id, name)` of the demo departments.
const DEPARTMENTS: &[(&str, &str)] = &[
    ("city-management", "杭州市城市管理局"),
    ("fire", "杭州市消防救援支队"),
    ("construction", "杭州市住房和城乡建设局"),
    ("developer", "杭州城建开发有限公司"),
    ("contractor", "浙江华建工程有限公司"),
    ("supervision", "浙江正衡监理有限公司"),
    ("bank", "杭州银行代发中心"),
];

/// `(key name, department, display name)` of the demo officials.
const OFFICIALS: &[(&str, &str, &str)] = &[
    ("zhang", "city-management", "张伟"),
    ("wang", "construction", "王芳"),
    ("zhao", "developer", "赵磊"),
    ("dev", "developer", "陈静（建设单位）"),
    ("con", "contractor", "刘强（施工单位）"),
    ("op", "bank", "孙丽（代发银行）"),
];

fn err(e: impl std::fmt::Display) -> WsError {
    WsError::Embedded(e.to_string())
}

/// The demo's keys by name, created once and kept in the node's directory.
fn demo_keys(path: &Path) -> Result<BTreeMap<String, SecretKey>, WsError> {
    let mut names: Vec<String> = Vec::new();
    names.extend(DEPARTMENTS.iter().map(|(d, _)| format!("node-{d}")));
    names.extend(DEPARTMENTS.iter().map(|(d, _)| format!("{d}-admin")));
    names.extend(OFFICIALS.iter().map(|(n, _, _)| (*n).to_owned()));
    let mut seeds: BTreeMap<String, String> = match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map_err(err)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
        Err(e) => return Err(err(format!("{}: {e}", path.display()))),
    };
    let mut changed = false;
    for n in &names {
        if !seeds.contains_key(n) {
            let k = SecretKey::generate(&mut rand_core::OsRng);
            seeds.insert(n.clone(), hex::encode(k.to_seed().as_slice()));
            changed = true;
        }
    }
    if changed {
        let text = Zeroizing::new(serde_json::to_string_pretty(&seeds).map_err(err)?);
        write_private(path, text.as_bytes())?;
    }
    seeds
        .iter()
        .map(|(n, hex_seed)| {
            let mut bytes = Zeroizing::new([0u8; 32]);
            hex::decode_to_slice(hex_seed, bytes.as_mut_slice()).map_err(err)?;
            Ok((n.clone(), SecretKey::from_seed(&bytes)))
        })
        .collect()
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), WsError> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts
        .open(path)
        .map_err(|e| err(format!("{}: {e}", path.display())))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| err(format!("{}: {e}", path.display())))
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
}

impl DemoNode {
    /// Starts (creating and seeding on first use) the demo node whose data
    /// lives in `dir`, serving on a random loopback port.
    pub async fn start(dir: &Path) -> Result<Self, WsError> {
        std::fs::create_dir_all(dir).map_err(|e| err(format!("{}: {e}", dir.display())))?;
        let keys = demo_keys(&dir.join("demo-keys.json"))?;
        let db = dir.join("chain.sqlite");
        let fresh = !db.exists();
        let key = |n: &str| {
            keys.get(n)
                .ok_or_else(|| err(format!("demo key {n} missing")))
        };
        let chain: ChainId = DEMO_CHAIN.parse().map_err(err)?;
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
            Some(
                govchain_node::genesis_block(
                    &chain,
                    &g,
                    key("city-management-admin")?,
                    node_key,
                    govchain_node::api::now(),
                )
                .map_err(err)?,
            )
        } else {
            None
        };
        let node_key = SecretKey::from_seed(&key(NODE)?.to_seed());
        let core = Core::open(
            &db,
            node_key,
            "demo.govchain.local",
            genesis.as_ref(),
            Limits::default(),
        )
        .map_err(err)?;
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
        };
        if fresh {
            node.seed()?;
        }
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
        )
        .map_err(err)?;
        let now = c.now();
        c.submit(env, now).map_err(err)?;
        seqs.insert(principal, seq);
        Ok(())
    }

    /// Commits what is pending (the next transactions depend on it).
    fn commit(&self) -> Result<(), WsError> {
        let mut c = self.core.lock().map_err(|_| err("node lock poisoned"))?;
        let now = c.now();
        while c.produce(now).map_err(err)?.is_some() {}
        Ok(())
    }

    /// The demo story up to the point where the user's stage is next.
    fn seed(&self) -> Result<(), WsError> {
        for (name, dept, display) in OFFICIALS {
            let pk = self.key(name)?.public_key();
            self.submit(
                &format!("{dept}-admin"),
                "official.register",
                json!({"department": dept, "name": display, "public_key": pk}),
            )?;
        }
        self.commit()?;
        for (name, dept, role) in [
            ("zhang", "city-management", "approver"),
            ("wang", "construction", "approver"),
            ("zhao", "developer", "project-manager"),
        ] {
            self.submit(
                &format!("{dept}-admin"),
                "role.grant",
                json!({"official": self.id(name)?, "department": dept, "role": role, "scope": "hz"}),
            )?;
        }
        let template = serde_json::to_value(renovation_template()).map_err(err)?;
        self.submit("city-management-admin", "workflow.define", template)?;
        self.commit()?;
        for (id, title) in [
            (DEMO_CASE, "上城区北山街12号老旧小区改造"),
            ("HZ-2026-0051", "拱墅区大关西苑小区加装电梯及外立面改造"),
        ] {
            self.submit(
                "zhang",
                "case.open",
                json!({"case_id": id, "template": "old-city-renovation", "version": 1, "scope": "hz",
                       "title": title, "documents": [Hash32::sha256(format!("{id}/申请书.pdf").as_bytes()),
                                                     Hash32::sha256(format!("{id}/设计方案.pdf").as_bytes())]}),
            )?;
        }
        self.commit()?;
        // Audited reads of sensitive data by the case's officials.
        let at = |m: i64| {
            govchain_ledger::types::Timestamp::from_unix_millis(
                govchain_node::api::now().unix_millis() - m * 60_000,
            )
            .unwrap_or(govchain_ledger::types::Timestamp::UNIX_EPOCH)
        };
        for (who, dataset, purpose, minutes) in [
            (
                "zhang",
                "household-registry/residents",
                "核对改造范围内住户信息",
                90,
            ),
            ("zhang", "property-registry/titles", "核对房屋产权", 75),
            ("wang", "property-registry/titles", "施工许可前置核查", 40),
            (
                "zhao",
                "housing-fund/accounts",
                "住户公积金提取资格核对",
                20,
            ),
        ] {
            self.submit(
                who,
                "access.record",
                json!({"entries": [{"dataset": dataset, "operation": "read", "purpose": purpose,
                                    "subject": Hash32::sha256(format!("{DEMO_CASE}/{dataset}").as_bytes()),
                                    "at": at(minutes)}]}),
            )?;
        }
        self.submit(
            "zhang",
            "case.sign_step",
            json!({"case_id": DEMO_CASE, "stage": 0, "decision": "approve",
                   "comment": "符合城市更新规划，同意进入消防审查。", "attachments": []}),
        )?;
        self.commit()
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

    /// Registers the user's key as a fire inspector (the renovation case's
    /// next stage) and — for the first user — as the supervisor of a demo
    /// engineering project with a payment request waiting for confirmation.
    /// Does nothing if the key is already registered.
    pub fn register_user(&self, key: &PublicKey, name: &str) -> Result<bool, WsError> {
        if self.is_registered(key)? {
            return Ok(false);
        }
        let user = key.key_id();
        self.submit(
            "fire-admin",
            "official.register",
            json!({"department": "fire", "name": name, "public_key": key}),
        )?;
        self.commit()?;
        self.submit(
            "fire-admin",
            "role.grant",
            json!({"official": user, "department": "fire", "role": "fire-inspector", "scope": "hz"}),
        )?;
        let project_exists = {
            let c = self.core.lock().map_err(|_| err("node lock poisoned"))?;
            let id = DEMO_PROJECT.to_owned().try_into().map_err(err)?;
            c.state().projects.contains_key(&id)
        };
        if project_exists {
            return self.commit().map(|()| true);
        }
        self.submit(
            "dev",
            "project.create",
            json!({"project_id": DEMO_PROJECT, "name": "北山街片区雨污管网改造工程", "budget": 120_000_000,
                   "parties": {"developer": self.id("dev")?, "contractor": self.id("con")?,
                               "supervisor": user, "operator": self.id("op")?},
                   "approvers": ["developer"]}),
        )?;
        self.commit()?;
        let worker = |w: &str| Hash32::sha256(format!("worker:{w}").as_bytes());
        self.submit(
            "con",
            "payment.request",
            json!({"project_id": DEMO_PROJECT, "payment_id": "P-001", "amount": 38_000_000,
                   "purpose": "一期主管道铺设进度款", "milestone": "M1 主管道铺设完成",
                   "invoices": [Hash32::sha256(b"invoice-2026-118.pdf"), Hash32::sha256(b"invoice-2026-119.pdf")],
                   "payroll": [{"worker": worker("李建国"), "amount": 1_260_000},
                               {"worker": worker("周海涛"), "amount": 1_180_000},
                               {"worker": worker("吴晓梅"), "amount": 1_120_000}]}),
        )?;
        self.commit()?;
        Ok(true)
    }

    /// Stops serving; pending transactions are committed first.
    pub async fn stop(mut self) -> Result<(), WsError> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(h) = self.handle.take() {
            h.await.map_err(err)?.map_err(err)?;
        }
        Ok(())
    }
}
