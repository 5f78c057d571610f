//! Criterion benchmark of the state machine: applying one block of 2,000
//! mixed transactions (case.open, case.sign_step, payment.request,
//! access.record) with and without signature checks, and the state
//! commitment of a 2,000-transaction block at 10k, 100k and 1M cases.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_wrap)]

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use govchain_ledger::block::{Block, BlockDraft};
use govchain_ledger::crypto::SecretKey;
use govchain_ledger::merkle::Frontier;
use govchain_ledger::state::fixtures::renovation_template;
use govchain_ledger::state::{SigCheck, State};
use govchain_ledger::tx::{Envelope, TxBody};
use govchain_ledger::types::{ChainId, Hash32, Timestamp};
use serde_json::{json, Value};
use zeroize::Zeroizing;

const OFFICIALS: usize = 200;
const T0: i64 = 1_795_000_000_000;

fn key(name: &str) -> SecretKey {
    SecretKey::from_seed(&Zeroizing::new(Hash32::sha256(name.as_bytes()).0))
}

struct Builder {
    chain: ChainId,
    node: SecretKey,
    state: State,
    frontier: Frontier,
    seqs: std::collections::HashMap<String, u64>,
}

impl Builder {
    fn tx(&mut self, who: &str, kind: &str, payload: Value) -> Envelope {
        let k = key(who);
        let seq = self.seqs.entry(who.to_owned()).or_insert(0);
        *seq += 1;
        Envelope::sign(
            &k,
            TxBody {
                chain_id: self.chain.clone(),
                signer: k.key_id(),
                seq: *seq,
                kind: kind.into(),
                payload,
                created_at: Timestamp::from_unix_millis(T0).unwrap(),
            },
        )
        .unwrap()
    }

    fn block(&mut self, txs: Vec<Envelope>) -> Block {
        let height = self.state.next_height;
        Block::seal(
            &self.node,
            BlockDraft {
                chain_id: self.chain.clone(),
                height,
                prev_hash: Hash32::ZERO,
                time: Timestamp::from_unix_millis(T0 + height as i64 * 1000).unwrap(),
                txs,
                state_root: Hash32::ZERO,
            },
            &mut self.frontier,
        )
        .unwrap()
    }

    fn commit(&mut self, txs: Vec<Envelope>) {
        let b = self.block(txs);
        self.state = self.state.apply_block(&b, SigCheck::Skip).unwrap();
    }
}

/// A chain with 200 approvers and the renovation template.
fn setup_builder() -> (State, Builder) {
    let mut b = Builder {
        chain: "bench".parse().unwrap(),
        node: key("node"),
        state: State::new(),
        frontier: Frontier::default(),
        seqs: std::collections::HashMap::new(),
    };
    let depts: Vec<Value> = ["city-management", "fire", "construction", "developer"]
        .iter()
        .map(|d| json!({"id": d, "name": d, "node_key": key(&format!("n-{d}")).public_key(),
                        "admins": [{"name": "a", "public_key": key(&format!("{d}-admin")).public_key()}], "admin_threshold": 1}))
        .collect();
    let g = b.tx(
        "city-management-admin",
        "consortium.genesis",
        json!({"origin": "o", "consortium_threshold": 1, "departments": depts}),
    );
    b.commit(vec![g]);
    let mut txs = Vec::new();
    for i in 0..OFFICIALS {
        let name = format!("o{i}");
        txs.push(b.tx("city-management-admin", "official.register", json!({"department": "city-management", "name": name, "public_key": key(&name).public_key()})));
        txs.push(b.tx("city-management-admin", "role.grant", json!({"official": key(&name).key_id(), "department": "city-management", "role": "approver", "scope": "*"})));
    }
    for who in ["dev", "con", "sup", "op"] {
        txs.push(b.tx(
            "developer-admin",
            "official.register",
            json!({"department": "developer", "name": who, "public_key": key(who).public_key()}),
        ));
    }
    txs.push(b.tx(
        "city-management-admin",
        "workflow.define",
        serde_json::to_value(renovation_template()).unwrap(),
    ));
    b.commit(txs);
    (b.state.clone(), b)
}

/// [`setup_builder`], 500 open cases and a project; returns it with a
/// 2,000-transaction block ready to apply.
fn setup() -> (State, Block) {
    let (_, mut b) = setup_builder();
    let parties = json!({"developer": key("dev").key_id(), "contractor": key("con").key_id(), "supervisor": key("sup").key_id(), "operator": key("op").key_id()});
    let mut txs = vec![b.tx("dev", "project.create", json!({"project_id": "P", "name": "p", "budget": 9_000_000_000_000u64, "parties": parties, "approvers": ["developer"]}))];
    for i in 0..500 {
        txs.push(b.tx(&format!("o{}", i % OFFICIALS), "case.open", json!({"case_id": format!("S{i}"), "template": "old-city-renovation", "version": 1, "scope": "hz", "title": "t", "documents": []})));
    }
    b.commit(txs);

    let mut txs = Vec::with_capacity(2000);
    for i in 0..500 {
        let who = format!("o{}", i % OFFICIALS);
        txs.push(b.tx(&who, "case.open", json!({"case_id": format!("N{i}"), "template": "old-city-renovation", "version": 1, "scope": "hz", "title": "新案件", "documents": [Hash32::ZERO]})));
        txs.push(b.tx(&who, "case.sign_step", json!({"case_id": format!("S{i}"), "stage": 0, "decision": "approve", "comment": "同意", "attachments": []})));
        txs.push(b.tx(&who, "access.record", json!({"entries": [{"dataset": "fund/accounts", "operation": "read", "purpose": "审核", "at": Timestamp::from_unix_millis(T0).unwrap()}]})));
        txs.push(b.tx("con", "payment.request", json!({"project_id": "P", "payment_id": format!("R{i}"), "amount": 100_000, "purpose": "x", "milestone": "m",
            "invoices": [Hash32::ZERO], "payroll": [{"worker": Hash32::ZERO, "amount": 50_000}]})));
    }
    let block = b.block(txs);
    (b.state, block)
}

fn apply(c: &mut Criterion) {
    let (state, block) = setup();
    // Sanity: the block applies.
    state.apply_block(&block, SigCheck::Verify).unwrap();
    let mut g = c.benchmark_group("state");
    g.throughput(Throughput::Elements(block.txs.len() as u64));
    g.bench_function("apply_2000_mixed_skip_sigs", |b| {
        b.iter(|| state.apply_block(&block, SigCheck::Skip).unwrap());
    });
    g.bench_function("apply_2000_mixed_verify_sigs", |b| {
        b.iter(|| state.apply_block(&block, SigCheck::Verify).unwrap());
    });
    g.finish();
}

/// The state commitment at the seed's scale: a state holding N open cases
/// (plus the officials and template), then one block of 2,000 `case.open`
/// and `case.sign_step`. Measures `State::commit` alone (the changed
/// entries re-hashed into the tree) and the whole block apply (rules +
/// commit), at N = 10k, 100k and 1M (`GOVCHAIN_BENCH_MAX_CASES` caps N).
fn commit_at_scale(c: &mut Criterion) {
    let max: usize = std::env::var("GOVCHAIN_BENCH_MAX_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let (mut state, mut b) = setup_builder();
    let mut g = c.benchmark_group("state_commit");
    let mut have = 0usize;
    for n in [10_000usize, 100_000, 1_000_000] {
        if n > max {
            break;
        }
        while have < n {
            let txs = (have..(have + 2000).min(n))
                .map(|i| b.tx(&format!("o{}", i % OFFICIALS), "case.open", json!({"case_id": format!("C{i}"), "template": "old-city-renovation", "version": 1, "scope": "hz", "title": "案件", "documents": [Hash32::ZERO]})))
                .collect();
            let blk = b.block(txs);
            state = state.apply_block(&blk, SigCheck::Skip).unwrap();
            b.state = state.clone();
            have = (have + 2000).min(n);
        }
        let mut txs = Vec::with_capacity(2000);
        for i in 0..1000 {
            let who = format!("o{}", i % OFFICIALS);
            txs.push(b.tx(&who, "case.open", json!({"case_id": format!("X{n}-{i}"), "template": "old-city-renovation", "version": 1, "scope": "hz", "title": "新案件", "documents": []})));
            txs.push(b.tx(&who, "case.sign_step", json!({"case_id": format!("C{}", i * (n / 1000)), "stage": 0, "decision": "approve", "comment": "同意", "attachments": []})));
        }
        let blk = b.block(txs);
        let h = blk.header.height;
        let time = blk.header.time;
        let mut uncommitted = state.clone();
        for env in &blk.txs {
            uncommitted
                .apply_admitted(env, env.id().unwrap(), h, time)
                .unwrap();
        }
        assert!(uncommitted.has_uncommitted_changes());
        g.bench_function(format!("commit_2000_tx_block_at_{n}_cases"), |bn| {
            bn.iter_batched(
                || uncommitted.clone(),
                |mut s| s.commit().unwrap(),
                BatchSize::LargeInput,
            );
        });
        g.bench_function(format!("apply_2000_tx_block_at_{n}_cases"), |bn| {
            bn.iter(|| state.apply_block(&blk, SigCheck::Skip).unwrap());
        });
        // The incremental root is the rebuilt one.
        let next = state.apply_block(&blk, SigCheck::Skip).unwrap();
        if n <= 100_000 {
            assert_eq!(next.state_root(), next.rebuild_tree().unwrap().root());
        }
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3));
    targets = apply, commit_at_scale
}
criterion_main!(benches);
