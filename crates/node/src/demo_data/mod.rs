//! `govchain-node demo-data`: a chain of the seed's size for evaluation
//! and benchmarks (issue 20). It writes a node's data directory — a real
//! chain, every transaction signed and every block produced and verified by
//! the node's own admission and rules ([`Core`]), its node key, a list of
//! the officials and key files for a sample of them — that `govchain-node
//! run` serves as it is. Ledger time is simulated (a manual clock): a
//! year of work in minutes.
//!
//! Deterministic: the same profile, seed and scale give the same chain,
//! byte for byte. Owns the profiles' worlds ([`nansha`], [`xiongan`]),
//! their simulations ([`sim`]: cases; [`funds`]: payments) and [`Writer`],
//! which signs, submits and cuts blocks at simulated times.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use govchain_ledger::crypto::{KeyId, SecretKey};
use govchain_ledger::tx::{Envelope, TxBody};
use govchain_ledger::types::{ChainId, Hash32, Timestamp};
use serde_json::Value;
use zeroize::Zeroizing;

use crate::chain::Clock;
use crate::error::NodeError;
use crate::{Core, Limits};

mod funds;
mod nansha;
mod sim;
mod xiongan;

/// Which of the seed's systems a chain models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    /// Nansha's approval platform: 19 departments, 2,000 matters, 1,500
    /// officials, 300,000 cases over a year.
    Nansha,
    /// Xiong'an's engineering-fund platform: 1,000+ firms, 100 projects
    /// with budgets adding up to ¥2 billion, 5,000 payment requests, wages
    /// paid to 40,000 builders, and the access records of their checks.
    Xiongan,
}

/// `demo-data`'s options.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoData {
    /// The system to model.
    #[arg(long, value_enum)]
    pub profile: Profile,
    /// A new (or empty) directory for the node's data.
    #[arg(long)]
    pub out: PathBuf,
    /// Every key, choice and time follows from this value.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Multiplies the counts (officials, templates and cases; firms,
    /// projects, budgets, payments and workers), e.g. 0.01 for a quick
    /// chain; the departments stay.
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
}

/// What a generated chain holds.
#[derive(Debug, Clone)]
pub struct Summary {
    /// What the world holds, in the order shown: `("departments", 19)` …
    pub counts: Vec<(&'static str, u64)>,
    /// The count that `statuses` breaks down (`cases`, `payment requests`).
    pub statuses_of: &'static str,
    /// Those objects by their status at the chain's last block.
    pub statuses: BTreeMap<&'static str, u64>,
    pub blocks: u64,
    pub transactions: u64,
    pub first_time: Timestamp,
    pub last_time: Timestamp,
    pub secs: f64,
    pub bytes: u64,
}

/// Transactions in a block at most (the node's default).
const BLOCK_TXS: usize = 2000;
/// A block is cut once its first transaction has waited this long in
/// ledger time (at 300,000 cases a year: about 120 transactions a block in
/// working hours, 15,000 blocks a year).
pub(crate) const BLOCK_MS: i64 = 600_000;

/// Writes the chain of `opts` into `opts.out`.
pub fn run(opts: &DemoData) -> Result<Summary, NodeError> {
    if !(opts.scale > 0.0 && opts.scale <= 10.0) {
        return Err(NodeError::Config(
            "demo-data: --scale must be above 0 and at most 10".into(),
        ));
    }
    let db = opts.out.join("chain.sqlite");
    if db.exists() {
        return Err(NodeError::Config(format!(
            "demo-data: {} exists; give a new directory",
            db.display()
        )));
    }
    std::fs::create_dir_all(opts.out.join("keys")).map_err(|e| io(&e))?;
    let started = std::time::Instant::now();
    let mut summary = match opts.profile {
        Profile::Nansha => nansha::generate(opts, &db)?,
        Profile::Xiongan => xiongan::generate(opts, &db)?,
    };
    summary.secs = started.elapsed().as_secs_f64();
    summary.bytes = ["chain.sqlite", "chain.sqlite-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(opts.out.join(f)).ok())
        .map(|m| m.len())
        .sum();
    Ok(summary)
}

impl Summary {
    /// The count labelled `what` (0 if the profile has none).
    pub fn count(&self, what: &str) -> u64 {
        self.counts
            .iter()
            .find(|(k, _)| *k == what)
            .map_or(0, |(_, n)| *n)
    }
}

/// 2026-01-01T00:00:00Z: the simulated year starts here.
pub(crate) const YEAR_START: i64 = 1_767_225_600_000;
pub(crate) const DAY: i64 = 86_400_000;

/// `n` × `scale`, at least 1.
pub(crate) fn scaled(n: usize, scale: f64) -> usize {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let s = (n as f64 * scale).round() as usize;
    s.max(1)
}

/// `n` as a float (the generator's counts and amounts are far below 2^52).
#[allow(clippy::cast_precision_loss)]
pub(crate) fn float(n: u64) -> f64 {
    n as f64
}

/// `x` rounded down to a whole number (0 if negative).
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub(crate) fn floor(x: f64) -> u64 {
    x.max(0.0) as u64
}

pub(crate) fn ts(ms: i64) -> Result<Timestamp, NodeError> {
    Timestamp::from_unix_millis(ms)
        .ok_or_else(|| NodeError::Config(format!("demo-data: time {ms} out of range")))
}

/// A department: id, name, parent.
pub(crate) type Department = (&'static str, &'static str, Option<&'static str>);

/// Founds the chain `<profile>-demo` (origin `govchain.example/<profile>`)
/// at `start` with `departments`, each with one admin (threshold 1) and a
/// node key; the first department's node produces the blocks and its key
/// is written to `node.key`. Returns the admins' keys and the writer.
pub(crate) fn found(
    opts: &DemoData,
    db: &std::path::Path,
    profile: &str,
    departments: &[Department],
    start: i64,
) -> Result<(Vec<SecretKey>, Writer), NodeError> {
    let key_of = |what: &str| -> Vec<SecretKey> {
        departments
            .iter()
            .map(|(id, ..)| key(opts.seed, &format!("{what} {id}")))
            .collect()
    };
    let (admins, nodes) = (key_of("admin"), key_of("node"));
    let list: Vec<Value> = departments
        .iter()
        .zip(admins.iter().zip(&nodes))
        .map(|((id, name, parent), (admin, node))| {
            let mut d = serde_json::json!({"id": id, "name": name, "node_key": node.public_key(),
                "admin_threshold": 1,
                "admins": [{"name": format!("{id}-admin"), "public_key": admin.public_key()}]});
            if let Some(p) = parent {
                d["parent"] = serde_json::json!(p);
            }
            d
        })
        .collect();
    let genesis: govchain_ledger::state::kinds::Genesis =
        serde_json::from_value(serde_json::json!({
            "origin": format!("govchain.example/{profile}"), "consortium_threshold": 1,
            "departments": list}))
        .map_err(|e| NodeError::Config(format!("demo-data: genesis: {e}")))?;
    let chain: ChainId = format!("{profile}-demo")
        .parse()
        .map_err(|e| NodeError::Config(format!("demo-data: {e}")))?;
    let (Some(first_admin), Some(node_key)) = (admins.first(), nodes.into_iter().next()) else {
        return Err(NodeError::Config("demo-data: no departments".into()));
    };
    let block0 = crate::genesis_block(&chain, &genesis, first_admin, &node_key, ts(start)?)?;
    crate::config::write_key(&opts.out.join("node.key"), &node_key)?;
    let w = Writer::open(
        db,
        node_key,
        &block0,
        HashMap::from([(first_admin.key_id(), 1)]),
    )?;
    for ((id, ..), admin) in departments.iter().zip(&admins) {
        write_key(&opts.out, &format!("{id}-admin"), admin)?;
    }
    Ok((admins, w))
}

fn io(e: &std::io::Error) -> NodeError {
    NodeError::Storage(format!("demo-data: {e}"))
}

/// The key labelled `label` under `seed`.
pub(crate) fn key(seed: u64, label: &str) -> SecretKey {
    let h = Hash32::sha256(format!("govchain demo-data {seed} {label}").as_bytes());
    SecretKey::from_seed(&Zeroizing::new(h.0))
}

/// SplitMix64: a small deterministic generator (not for keys).
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64, stream: &str) -> Self {
        let h = Hash32::sha256(format!("{seed} {stream}").as_bytes());
        let mut b = [0u8; 8];
        b.copy_from_slice(&h.0[..8]);
        Self(u64::from_le_bytes(b))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        #[allow(clippy::cast_precision_loss)] // 53 bits fit
        let u = (self.next_u64() >> 11) as f64;
        u / 9_007_199_254_740_992.0
    }

    /// Uniform in `0..n` (`n` > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.skewed(n, 1.0)
    }

    /// In `0..n` (`n` > 0), `u^power` of a uniform `u`: with `power` > 1
    /// the low indices are the common ones.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    pub(crate) fn skewed(&mut self, n: usize, power: f64) -> usize {
        let i = (self.unit().powf(power) * n as f64) as usize;
        i.min(n.saturating_sub(1))
    }

    /// Exponentially distributed milliseconds with mean `mean_ms`.
    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
    pub(crate) fn exp_ms(&mut self, mean_ms: i64) -> i64 {
        self.exp(mean_ms as f64) as i64
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Exponentially distributed with mean `mean`.
    pub(crate) fn exp(&mut self, mean: f64) -> f64 {
        -(1.0 - self.unit()).ln() * mean
    }
}

/// Signs and submits transactions at simulated times, tracking each
/// signer's `seq`, and cuts a block when one is full or its first
/// transaction has waited [`BLOCK_MS`]. A refusal is a generator bug and
/// stops it with the node's code.
pub(crate) struct Writer {
    core: Core,
    clock: Arc<AtomicI64>,
    chain: ChainId,
    seqs: HashMap<KeyId, u64>,
    pending: usize,
    pending_since: Option<i64>,
    now: i64,
}

impl Writer {
    /// Opens the chain at `db` from `block0`, its node signing with
    /// `node_key`; `seqs`: signers that signed block 0.
    pub(crate) fn open(
        db: &std::path::Path,
        node_key: SecretKey,
        block0: &govchain_ledger::block::Block,
        seqs: HashMap<KeyId, u64>,
    ) -> Result<Self, NodeError> {
        let limits = Limits {
            // Admission never refuses: blocks are cut here, by count.
            max_queue_ms: 3_600_000,
            ..Limits::default()
        };
        let now = block0.header.time.unix_millis();
        let mut core = Core::open(db, node_key, "node.demo.example", Some(block0), limits)?;
        let clock = Arc::new(AtomicI64::new(now));
        core.set_clock(Clock::Manual(clock.clone()));
        Ok(Self {
            core,
            clock,
            chain: block0.header.chain_id.clone(),
            seqs,
            pending: 0,
            pending_since: None,
            now,
        })
    }

    /// Submits `kind`/`payload` signed by `by` at ledger time `at` (ms; not
    /// before the last one).
    pub(crate) fn submit(
        &mut self,
        by: &SecretKey,
        kind: &str,
        payload: Value,
        at: i64,
    ) -> Result<(), NodeError> {
        if self.pending_since.is_some_and(|t| at > t + BLOCK_MS) {
            self.block()?;
        }
        self.now = self.now.max(at);
        self.clock.store(self.now, Ordering::SeqCst);
        let seq = self.seqs.entry(by.key_id()).or_insert(0);
        *seq += 1;
        let created_at = Timestamp::from_unix_millis(self.now).ok_or_else(|| {
            NodeError::Config(format!("demo-data: time {} out of range", self.now))
        })?;
        let env = Envelope::sign(
            by,
            TxBody {
                chain_id: self.chain.clone(),
                signer: by.key_id(),
                seq: *seq,
                kind: kind.into(),
                payload,
                created_at,
            },
        )
        .map_err(|e| NodeError::bad(&e))?;
        self.core.submit(env, created_at)?;
        self.pending += 1;
        self.pending_since.get_or_insert(self.now);
        if self.pending >= BLOCK_TXS {
            self.block()?;
        }
        Ok(())
    }

    /// Registers `official` as `name` in `department` and grants it `role`
    /// at `scope`, both signed by the department's `admin`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn enrol(
        &mut self,
        admin: &SecretKey,
        department: &str,
        name: &str,
        official: &SecretKey,
        role: &str,
        scope: &str,
        at: i64,
    ) -> Result<(), NodeError> {
        self.submit(
            admin,
            "official.register",
            serde_json::json!({"department": department, "name": name,
                "public_key": official.public_key()}),
            at,
        )?;
        self.submit(
            admin,
            "role.grant",
            serde_json::json!({"official": official.key_id(), "department": department,
                "role": role, "scope": scope}),
            at,
        )
    }

    /// Cuts the waiting transactions into blocks at the current time.
    pub(crate) fn block(&mut self) -> Result<(), NodeError> {
        while self.core.produce()?.is_some() {}
        self.pending = 0;
        self.pending_since = None;
        Ok(())
    }

    /// The last simulated time.
    pub(crate) fn now(&self) -> i64 {
        self.now
    }

    /// Cuts what waits and returns the node.
    pub(crate) fn finish(mut self) -> Result<Core, NodeError> {
        self.block()?;
        Ok(self.core)
    }
}

/// Writes `key` to `dir/keys/<name>.key` (mode 0600).
pub(crate) fn write_key(
    dir: &std::path::Path,
    name: &str,
    key: &SecretKey,
) -> Result<(), NodeError> {
    crate::config::write_key(&dir.join("keys").join(format!("{name}.key")), key)
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (what, n) in &self.counts {
            writeln!(f, "{what:<19} {n}")?;
            if *what == self.statuses_of {
                for (status, n) in &self.statuses {
                    writeln!(f, "  {status:<17} {n}")?;
                }
            }
        }
        writeln!(f, "blocks              {}", self.blocks)?;
        writeln!(f, "transactions        {}", self.transactions)?;
        writeln!(
            f,
            "ledger time         {} … {}",
            self.first_time, self.last_time
        )?;
        writeln!(f, "generated in        {:.1} s", self.secs)?;
        write!(f, "database            {} MiB", self.bytes / 1_048_576)
    }
}
