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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use govchain_ledger::crypto::{KeyId, PublicKey, SecretKey};
use govchain_ledger::note::{NoteKey, ALG_ED25519};
use govchain_ledger::state::fixtures::renovation_template;
use govchain_ledger::state::kinds::Genesis;
use govchain_ledger::tx::{Envelope, TxBody};
use govchain_ledger::types::{ChainId, Hash32, Timestamp};
use govchain_node::witness::{Witness, WitnessConfig};
use govchain_node::{Clock, Core, Limits, Shared};
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

/// An earlier renovation case of the demo history. Times are in tenths of
/// a day: opened after the chain's start, then how long each stage took.
struct Past {
    id: &'static str,
    title: &'static str,
    opened: i64,
    stages: [i64; 4],
    /// Sent back by the fire review after `.0`, resubmitted by the city
    /// after `.1`, before the fire review's final `stages[1]`.
    sent_back: Option<(i64, i64)>,
}

const HISTORY: [Past; 6] = [
    Past {
        id: "HZ-2026-0011",
        title: "上城区望江街道清波小区改造",
        opened: 20,
        stages: [25, 180, 50, 10],
        sent_back: None,
    },
    Past {
        id: "HZ-2026-0015",
        title: "西湖区翠苑一区管线入地",
        opened: 60,
        stages: [30, 125, 40, 20],
        sent_back: None,
    },
    Past {
        id: "HZ-2026-0019",
        title: "拱墅区和睦新村加装电梯",
        opened: 110,
        stages: [15, 90, 70, 10],
        sent_back: Some((60, 30)),
    },
    Past {
        id: "HZ-2026-0023",
        title: "滨江区浦沿老街外立面整治",
        opened: 170,
        stages: [40, 155, 30, 15],
        sent_back: None,
    },
    Past {
        id: "HZ-2026-0027",
        title: "上城区紫阳街道海潮社区改造",
        opened: 240,
        stages: [20, 210, 60, 10],
        sent_back: None,
    },
    Past {
        id: "HZ-2026-0031",
        title: "西湖区文新街道屏基山社区改造",
        opened: 310,
        stages: [35, 110, 55, 20],
        sent_back: None,
    },
];

/// Who signs each stage of the renovation template in the history, and why.
const SIGNERS: [(&str, &str); 4] = [
    ("zhang", "符合城市更新规划，同意。"),
    ("zhou", "消防通道与消防设施设计符合规范，同意。"),
    ("wang", "施工组织方案完备，准予施工。"),
    ("zhao", "建设单位确认实施。"),
];
const SENT_BACK: &str = "消防车道宽度不足 4 米，请调整总平面布置后重新报审。";
const RESUBMITTED: &str = "已按消防意见调整总平面，同意再次报审。";

/// One step of the replayed history.
enum Event {
    Open(&'static str, &'static str),
    Sign(&'static str, u32, &'static str, &'static str, &'static str),
    /// Any other transaction: signer, kind, payload.
    Tx(&'static str, &'static str, Value),
}

/// `(id, amount in fen, purpose, milestone, requested on, refusal)`.
type PastPayment = (
    &'static str,
    u64,
    &'static str,
    &'static str,
    i64,
    Option<&'static str>,
);

/// The history's engineering project, whose payments went through.
const PAST_PROJECT: &str = "XA-2026-003";

/// Its payments: id, amount (fen), purpose, milestone, day requested (in
/// tenths; all before the open demo cases), and the supervisor's refusal if
/// any. Each accepted payment is
/// confirmed after 2 days, approved after 3 and executed after 4; the last
/// one is still waiting for the developer's approval.
const PAST_PAYMENTS: [PastPayment; 5] = [
    (
        "P-01",
        150_000_000,
        "管网一期材料及人工",
        "M1 沟槽开挖完成",
        90,
        None,
    ),
    (
        "P-02",
        120_000_000,
        "管网二期铺设进度款",
        "M2 主管铺设完成",
        220,
        None,
    ),
    (
        "P-03",
        90_000_000,
        "检查井砌筑进度款",
        "M3 检查井完成",
        350,
        Some("计量与现场进度不符，请核实后重新申报。"),
    ),
    (
        "P-04",
        100_000_000,
        "检查井砌筑进度款（复报）",
        "M3 检查井完成",
        420,
        None,
    ),
    (
        "P-05",
        80_000_000,
        "路面恢复进度款",
        "M4 路面恢复",
        540,
        None,
    ),
];

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
                    Timestamp::from_unix_millis(
                        govchain_node::api::now().unix_millis() - HISTORY_DAYS * DAY_MS,
                    )
                    .unwrap_or(Timestamp::UNIX_EPOCH),
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
            NODE_NAME,
            genesis.as_ref(),
            Limits::default(),
        )
        .map_err(err)?;
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
        )
        .map_err(err)?;
        let now = c.now();
        c.submit(env, now).map_err(err)?;
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
                while c.produce().map_err(err)?.is_some() {}
                if c.mempool_len() == 0 {
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(1));
        }
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
            ("zhou", "fire", "fire-inspector"),
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
        self.history()?;
        // The two open cases: the user's (waiting at the fire stage for six
        // days) and one just opened. Times in tenths of a day from now.
        let now = govchain_node::api::now().unix_millis();
        let day = |tenths: i64| now + tenths * DAY_MS / 10;
        self.at(day(-92));
        self.open_case(DEMO_CASE, "上城区北山街12号老旧小区改造")?;
        // Audited reads of sensitive data by the case's officials, and the
        // city's approval of the user's case, in time order.
        let reads = [
            (
                "zhang",
                "household-registry/residents",
                "核对改造范围内住户信息",
                day(-81),
            ),
            (
                "zhang",
                "property-registry/titles",
                "核对房屋产权",
                day(-79),
            ),
            (
                "wang",
                "property-registry/titles",
                "施工许可前置核查",
                day(-15),
            ),
            (
                "zhao",
                "housing-fund/accounts",
                "住户公积金提取资格核对",
                day(-4),
            ),
        ];
        let (before, after) = reads.split_at(2);
        self.reads(before)?;
        self.at(day(-63));
        self.step(
            DEMO_CASE,
            0,
            "zhang",
            "approve",
            "符合城市更新规划，同意进入消防审查。",
        )?;
        self.at(day(-26));
        self.open_case("HZ-2026-0051", "拱墅区大关西苑小区加装电梯及外立面改造")?;
        self.reads(after)?;
        self.at(day(-1));
        self.commit()
    }

    /// `access.record`s of the user's case: `(official, dataset, purpose, when)`.
    fn reads(&self, reads: &[(&str, &str, &str, i64)]) -> Result<(), WsError> {
        for &(who, dataset, purpose, when) in reads {
            self.at(when);
            let at = Timestamp::from_unix_millis(when).unwrap_or(Timestamp::UNIX_EPOCH);
            self.submit(
                who,
                "access.record",
                json!({"entries": [{"dataset": dataset, "operation": "read", "purpose": purpose,
                                    "subject": Hash32::sha256(format!("{DEMO_CASE}/{dataset}").as_bytes()),
                                    "at": at}]}),
            )?;
            self.commit()?;
        }
        Ok(())
    }

    /// Moves the scripted clock forward to `ms` (never back).
    fn at(&self, ms: i64) {
        self.clock.fetch_max(ms, Ordering::SeqCst);
    }

    fn open_case(&self, id: &str, title: &str) -> Result<(), WsError> {
        self.submit(
            "zhang",
            "case.open",
            json!({"case_id": id, "template": "old-city-renovation", "version": 1, "scope": "hz",
                   "title": title, "documents": [Hash32::sha256(format!("{id}/申请书.pdf").as_bytes()),
                                                 Hash32::sha256(format!("{id}/设计方案.pdf").as_bytes())]}),
        )?;
        self.commit()
    }

    fn step(
        &self,
        case: &str,
        stage: u32,
        who: &str,
        decision: &str,
        comment: &str,
    ) -> Result<(), WsError> {
        self.submit(
            who,
            "case.sign_step",
            json!({"case_id": case, "stage": stage, "decision": decision,
                   "comment": comment, "attachments": []}),
        )?;
        self.commit()
    }

    /// Earlier renovation cases ([`HISTORY`]), replayed in ledger time.
    fn history(&self) -> Result<(), WsError> {
        let start = self.clock.load(Ordering::SeqCst);
        let mut events: Vec<(i64, Event)> = Vec::new();
        for h in HISTORY {
            let mut t = start + h.opened * DAY_MS / 10;
            events.push((t, Event::Open(h.id, h.title)));
            for (stage, tenths) in (0u32..).zip(h.stages) {
                if stage == 1 {
                    if let Some((fire, city)) = h.sent_back {
                        t += fire * DAY_MS / 10;
                        events.push((t, Event::Sign(h.id, 1, "zhou", "reject", SENT_BACK)));
                        t += city * DAY_MS / 10;
                        events.push((t, Event::Sign(h.id, 0, "zhang", "approve", RESUBMITTED)));
                    }
                }
                t += tenths * DAY_MS / 10;
                let (who, comment) = SIGNERS[stage as usize];
                events.push((t, Event::Sign(h.id, stage, who, "approve", comment)));
            }
        }
        events.extend(self.past_project(start)?);
        events.sort_by_key(|e| e.0);
        for (t, e) in events {
            self.at(t);
            match e {
                Event::Open(id, title) => self.open_case(id, title)?,
                Event::Sign(id, stage, who, decision, comment) => {
                    self.step(id, stage, who, decision, comment)?;
                }
                Event::Tx(who, kind, payload) => {
                    self.submit(who, kind, payload)?;
                    self.commit()?;
                }
            }
        }
        Ok(())
    }

    /// The history's engineering project and its payments ([`PAST_PAYMENTS`]).
    fn past_project(&self, start: i64) -> Result<Vec<(i64, Event)>, WsError> {
        let day = |tenths: i64| start + tenths * DAY_MS / 10;
        let mut out = vec![(
            day(30),
            Event::Tx(
                "dev",
                "project.create",
                json!({"project_id": PAST_PROJECT, "name": "清波片区老旧小区配套管网工程", "budget": 600_000_000,
                       "parties": {"developer": self.id("dev")?, "contractor": self.id("con")?,
                                   "supervisor": self.id("qian")?, "operator": self.id("op")?},
                       "approvers": ["developer"]}),
            ),
        )];
        let worker = |w: &str| Hash32::sha256(format!("worker:{w}").as_bytes());
        for (n, (id, amount, purpose, milestone, at, refused)) in
            PAST_PAYMENTS.into_iter().enumerate()
        {
            let wage = amount / 10;
            out.push((
                day(at),
                Event::Tx(
                    "con",
                    "payment.request",
                    json!({"project_id": PAST_PROJECT, "payment_id": id, "amount": amount,
                           "purpose": purpose, "milestone": milestone,
                           "invoices": [Hash32::sha256(format!("{PAST_PROJECT}/{id}/invoice.pdf").as_bytes())],
                           "payroll": [{"worker": worker(&format!("{n}-a")), "amount": wage},
                                       {"worker": worker(&format!("{n}-b")), "amount": wage}]}),
                ),
            ));
            let review = |verdict: &str, comment: &str| json!({"project_id": PAST_PROJECT, "payment_id": id, "verdict": verdict, "comment": comment});
            if let Some(why) = refused {
                out.push((
                    day(at + 20),
                    Event::Tx("qian", "payment.confirm", review("refuse", why)),
                ));
                continue;
            }
            out.push((
                day(at + 20),
                Event::Tx(
                    "qian",
                    "payment.confirm",
                    review("accept", "现场计量属实。"),
                ),
            ));
            if n + 1 == PAST_PAYMENTS.len() {
                continue;
            }
            out.push((
                day(at + 30),
                Event::Tx("dev", "payment.approve", review("accept", "同意支付。")),
            ));
            out.push((
                day(at + 40),
                Event::Tx(
                    "op",
                    "payment.execute",
                    json!({"project_id": PAST_PROJECT, "payment_id": id,
                           "transfer_ref": format!("HZB-2026-{:04}", 310 + n)}),
                ),
            ));
        }
        Ok(out)
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

    fn start_witnesses(&mut self) -> Result<(), WsError> {
        let log_key = NoteKey::new(
            NODE_NAME,
            ALG_ED25519,
            self.keys
                .get(NODE)
                .ok_or_else(|| err("demo node key missing"))?
                .public_key(),
        )
        .map_err(err)?;
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
            let witness = Witness::open(cfg, SecretKey::from_seed(&key.to_seed())).map_err(err)?;
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
            h.await.map_err(err)?.map_err(err)?;
        }
        Ok(())
    }
}
