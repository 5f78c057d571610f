//! Criterion benchmark of large payrolls (PROTOCOL.md §12.5): applying the
//! `payment.payroll_chunk` transactions of a committed 5,000-line and
//! 40,000-line payroll, against the baseline of one `payment.request` with
//! an inline 600-line payroll, measured in the same run; and the state
//! digest once such a payroll is in the state. Prints the transaction count
//! and bytes on chain of each.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_wrap,
    clippy::cast_precision_loss,
    clippy::many_single_char_names
)]

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use govchain_ledger::block::{Block, BlockDraft};
use govchain_ledger::crypto::SecretKey;
use govchain_ledger::merkle::Frontier;
use govchain_ledger::state::funds;
use govchain_ledger::state::kinds::{PayrollLine, RefId};
use govchain_ledger::state::{SigCheck, State};
use govchain_ledger::tx::{Envelope, TxBody};
use govchain_ledger::types::{ChainId, Fen, Hash32, Timestamp};
use serde_json::{json, Value};
use zeroize::Zeroizing;

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

    fn block_at(&mut self, height: u64, txs: Vec<Envelope>) -> Block {
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
            &mut self.frontier.clone(),
        )
        .unwrap()
    }

    fn commit(&mut self, txs: Vec<Envelope>) {
        let b = self.block_at(self.state.next_height, txs);
        self.state = self.state.apply_block(&b, SigCheck::Skip).unwrap();
    }
}

fn lines(n: u64) -> Vec<PayrollLine> {
    (0..n)
        .map(|i| PayrollLine {
            worker: Hash32::sha256(&i.to_be_bytes()),
            amount: Fen::new(1_200_000 + (i % 7) * 10_000).unwrap(),
        })
        .collect()
}

/// A chain with the four parties and a project.
fn setup() -> Builder {
    let mut b = Builder {
        chain: "bench".parse().unwrap(),
        node: key("node"),
        state: State::new(),
        frontier: Frontier::default(),
        seqs: std::collections::HashMap::new(),
    };
    let g = b.tx(
        "developer-admin",
        "consortium.genesis",
        json!({"origin": "o", "consortium_threshold": 1, "departments": [
            {"id": "developer", "name": "d", "node_key": key("n").public_key(),
             "admins": [{"name": "a", "public_key": key("developer-admin").public_key()}], "admin_threshold": 1}]}),
    );
    b.commit(vec![g]);
    let txs = ["dev", "con", "sup", "op"]
        .iter()
        .map(|who| {
            b.tx(
                "developer-admin",
                "official.register",
                json!({"department": "developer", "name": who, "public_key": key(who).public_key()}),
            )
        })
        .collect();
    b.commit(txs);
    let parties = json!({"developer": key("dev").key_id(), "contractor": key("con").key_id(), "supervisor": key("sup").key_id(), "operator": key("op").key_id()});
    let p = b.tx(
        "dev",
        "project.create",
        json!({"project_id": "P", "name": "p", "budget": 9_000_000_000_000u64, "parties": parties, "approvers": ["developer"]}),
    );
    b.commit(vec![p]);
    b
}

fn bytes(txs: &[Envelope]) -> usize {
    txs.iter().map(|t| t.leaf_bytes().unwrap().len()).sum()
}

/// Commits a request for `n` committed lines; returns the state before the
/// chunks and the chunk transactions.
fn committed(b: &mut Builder, id: &str, n: u64) -> (State, Vec<Envelope>, usize) {
    let l = lines(n);
    let total: u64 = l.iter().map(|x| x.amount.get()).sum();
    let req = b.tx("con", "payment.request", json!({"project_id": "P", "payment_id": id, "amount": total, "purpose": "工资", "milestone": "m",
        "invoices": [], "payroll": [], "payroll_root": funds::payroll_root(&l), "payroll_total": total, "payroll_lines": n}));
    let req_bytes = bytes(std::slice::from_ref(&req));
    b.commit(vec![req]);
    let project: RefId = "P".to_owned().try_into().unwrap();
    let payment: RefId = id.to_owned().try_into().unwrap();
    let chunks: Vec<Envelope> = funds::payroll_chunks(&project, &payment, &l)
        .iter()
        .map(|c| {
            b.tx(
                "con",
                "payment.payroll_chunk",
                serde_json::to_value(c).unwrap(),
            )
        })
        .collect();
    (b.state.clone(), chunks, req_bytes)
}

fn payroll(c: &mut Criterion) {
    let mut b = setup();
    let base_state = b.state.clone();

    // Baseline: one request with an inline 600-line payroll.
    let l = lines(600);
    let total: u64 = l.iter().map(|x| x.amount.get()).sum();
    let inline = b.tx("con", "payment.request", json!({"project_id": "P", "payment_id": "I", "amount": total, "purpose": "工资", "milestone": "m",
        "invoices": [], "payroll": l}));
    eprintln!(
        "inline 600 lines: 1 tx, {} bytes",
        bytes(std::slice::from_ref(&inline))
    );
    let inline_block = b.block_at(base_state.next_height, vec![inline]);
    base_state
        .apply_block(&inline_block, SigCheck::Verify)
        .unwrap();

    let mut g = c.benchmark_group("payroll");
    g.throughput(Throughput::Elements(600));
    g.bench_function("inline_600_request", |bn| {
        bn.iter(|| {
            base_state
                .apply_block(&inline_block, SigCheck::Verify)
                .unwrap()
        });
    });

    for (id, n) in [("C5K", 5_000u64), ("C40K", 40_000)] {
        let mut b = setup();
        let (before, chunks, req_bytes) = committed(&mut b, id, n);
        eprintln!(
            "committed {n} lines: 1 request ({req_bytes} bytes) + {} chunks ({} bytes, largest {} bytes)",
            chunks.len(),
            bytes(&chunks),
            chunks.iter().map(|t| t.leaf_bytes().unwrap().len()).max().unwrap()
        );
        // All chunks in one block (a node fits ~80 per 4 MiB block).
        let one = b.block_at(before.next_height, chunks.clone());
        let after = before.apply_block(&one, SigCheck::Verify).unwrap();
        assert!(after
            .projects
            .values()
            .all(|p| p.payments.values().all(|pay| pay.payroll_complete())));
        g.throughput(Throughput::Elements(n));
        g.bench_function(format!("chunks_{n}_one_block"), |bn| {
            bn.iter(|| before.apply_block(&one, SigCheck::Verify).unwrap());
        });
        // One chunk per block: each block copies the project on write.
        let blocks: Vec<Block> = chunks
            .iter()
            .enumerate()
            .map(|(i, t)| b.block_at(before.next_height + i as u64, vec![t.clone()]))
            .collect();
        g.bench_function(format!("chunks_{n}_one_per_block"), |bn| {
            bn.iter(|| {
                let mut s = before.clone();
                for blk in &blocks {
                    s = s.apply_block(blk, SigCheck::Verify).unwrap();
                }
                s
            });
        });
        g.throughput(Throughput::Elements(1));
        g.bench_function(format!("state_root_with_{n}"), |bn| {
            bn.iter_batched(
                || after.clone(),
                |s| s.digest().unwrap(),
                BatchSize::SmallInput,
            );
        });
    }
    g.bench_function("state_root_baseline_no_payroll", |bn| {
        bn.iter_batched(
            || base_state.clone(),
            |s| s.digest().unwrap(),
            BatchSize::SmallInput,
        );
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3));
    targets = payroll
}
criterion_main!(benches);
