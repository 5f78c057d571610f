//! Criterion benchmarks of the protocol primitives (figures in BENCHMARKS.md):
//! signing, single and batch verification (with one-by-one baselines measured
//! in the same run), Merkle append, proof generation and verification, and
//! canonical encoding of a transaction.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::many_single_char_names
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use govchain_ledger::crypto::{self, BatchItem, PublicKey, SecretKey, Signature};
use govchain_ledger::merkle::{self, Frontier, MerkleTree};
use govchain_ledger::tx::{Envelope, TxBody};
use govchain_ledger::types::Hash32;
use serde_json::json;
use zeroize::Zeroizing;

fn key(i: u32) -> SecretKey {
    let mut seed = [0u8; 32];
    seed[..4].copy_from_slice(&i.to_le_bytes());
    seed[31] = 0x5a;
    SecretKey::from_seed(&Zeroizing::new(seed))
}

struct Signed {
    keys: Vec<PublicKey>,
    msgs: Vec<Vec<u8>>,
    sigs: Vec<Signature>,
}

fn signed(n: u32) -> Signed {
    let secrets: Vec<SecretKey> = (0..n).map(key).collect();
    let msgs: Vec<Vec<u8>> = (0..n)
        .map(|i| format!("govchain/v1/tx/bench\0{{\"seq\":{i}}}").into_bytes())
        .collect();
    Signed {
        keys: secrets.iter().map(SecretKey::public_key).collect(),
        sigs: secrets
            .iter()
            .zip(&msgs)
            .map(|(k, m)| k.sign_raw(m))
            .collect(),
        msgs,
    }
}

fn signatures(c: &mut Criterion) {
    let mut g = c.benchmark_group("ed25519");
    let s = signed(1);
    let k = key(0);
    g.bench_function("sign", |b| b.iter(|| k.sign_raw(black_box(&s.msgs[0]))));
    g.bench_function("verify_single_zip215", |b| {
        b.iter(|| s.keys[0].verify(black_box(&s.msgs[0]), &s.sigs[0]).unwrap());
    });
    // Baseline for the single-verify figure: ed25519-dalek's strict rule.
    let vk = ed25519_dalek::VerifyingKey::from_bytes(s.keys[0].as_bytes()).unwrap();
    let dsig = ed25519_dalek::Signature::from_bytes(s.sigs[0].as_bytes());
    g.bench_function("verify_single_dalek_strict", |b| {
        b.iter(|| vk.verify_strict(black_box(&s.msgs[0]), &dsig).unwrap());
    });
    for n in [64u32, 1024] {
        let s = signed(n);
        let items: Vec<BatchItem<'_>> = (0..n as usize)
            .map(|i| BatchItem {
                key: &s.keys[i],
                msg: &s.msgs[i],
                sig: &s.sigs[i],
            })
            .collect();
        g.throughput(Throughput::Elements(u64::from(n)));
        g.bench_with_input(BenchmarkId::new("verify_batch", n), &items, |b, items| {
            b.iter(|| crypto::verify_batch(black_box(items)).unwrap());
        });
        g.bench_with_input(
            BenchmarkId::new("verify_one_by_one", n),
            &items,
            |b, items| {
                b.iter(|| {
                    for it in items {
                        it.key.verify(it.msg, it.sig).unwrap();
                    }
                });
            },
        );
    }
    g.finish();
}

fn leaves(n: u64) -> Vec<Hash32> {
    (0..n)
        .map(|i| merkle::leaf_hash(&i.to_be_bytes()))
        .collect()
}

fn merkle_log(c: &mut Criterion) {
    const N: u64 = 1 << 20;
    let mut g = c.benchmark_group("merkle");
    let hashes = leaves(N);
    let mut tree = MerkleTree::new();
    for h in &hashes {
        tree.push_hash(*h);
    }
    let root = tree.root();

    g.throughput(Throughput::Elements(1));
    // Appending to a tree that already holds 2^20 leaves (it keeps growing).
    let mut growing = tree.clone();
    let mut i = 0u64;
    g.bench_function("append_tree_1M", |b| {
        b.iter(|| {
            i += 1;
            growing.push_hash(merkle::leaf_hash(&i.to_le_bytes()));
        });
    });
    let mut frontier = Frontier::default();
    for h in &hashes {
        frontier.push_hash(*h);
    }
    g.bench_function("append_frontier_1M", |b| {
        b.iter(|| {
            i += 1;
            frontier.push_hash(merkle::leaf_hash(&i.to_le_bytes()));
        });
    });
    let mut idx = 0u64;
    g.bench_function("inclusion_proof_gen_1M", |b| {
        b.iter(|| {
            idx = (idx + 7919) % N;
            tree.inclusion_proof(black_box(idx), N).unwrap()
        });
    });
    let proofs: Vec<_> = (0..256u64)
        .map(|k| {
            let i = (k * 4099) % N;
            (i, tree.inclusion_proof(i, N).unwrap())
        })
        .collect();
    let mut k = 0usize;
    g.bench_function("inclusion_proof_verify_1M", |b| {
        b.iter(|| {
            k = (k + 1) % proofs.len();
            let (i, p) = &proofs[k];
            let leaf = hashes[*i as usize];
            merkle::verify_inclusion(*i, N, &leaf.0, &p.path, &root.0).unwrap();
        });
    });
    let cons = tree.consistency_proof(N - 12_345, N).unwrap();
    let old_root = tree.root_at(N - 12_345).unwrap();
    g.bench_function("consistency_proof_gen_1M", |b| {
        b.iter(|| tree.consistency_proof(black_box(N - 12_345), N).unwrap());
    });
    g.bench_function("consistency_proof_verify_1M", |b| {
        b.iter(|| {
            merkle::verify_consistency(N - 12_345, N, &cons.path, &old_root.0, &root.0).unwrap();
        });
    });

    // The tree a node holds (levels 8 and up); leaves below come from a
    // source, here memory, so this is the tree's own cost: reading a chunk
    // of 256 leaves, checking it against the kept node, and hashing the
    // path's lower levels from it.
    let compact = tree.clone().into_compact(8);
    let source = InMemory(&hashes);
    let mut growing = compact.clone();
    let mut i = 0u64;
    g.bench_function("append_compact_1M", |b| {
        b.iter(|| {
            i += 1;
            growing.push_hash(merkle::leaf_hash(&i.to_le_bytes()));
        });
    });
    g.bench_function("inclusion_proof_gen_compact_1M", |b| {
        b.iter(|| {
            idx = (idx + 7919) % N;
            compact.inclusion_proof(black_box(idx), N, &source).unwrap()
        });
    });
    g.bench_function("consistency_proof_gen_compact_1M", |b| {
        b.iter(|| {
            compact
                .consistency_proof(black_box(N - 12_345), N, &source)
                .unwrap()
        });
    });
    g.finish();
}

/// Leaf hashes from memory, as a node's store would give them.
struct InMemory<'a>(&'a [Hash32]);

impl merkle::LeafSource for InMemory<'_> {
    type Error = std::convert::Infallible;
    fn leaf_hashes(&self, from: u64, to: u64) -> Result<Vec<Hash32>, Self::Error> {
        Ok(self.0[from as usize..to as usize].to_vec())
    }
}

fn encoding(c: &mut Criterion) {
    let k = key(1);
    let body = TxBody {
        chain_id: "bench".parse().unwrap(),
        signer: k.key_id(),
        seq: 42,
        kind: "payment.request".into(),
        payload: json!({
            "project_id": "XA-2026-007",
            "amount_fen": 125_000_000,
            "purpose": "二期土方工程进度款",
            "milestone": "M3",
            "invoices": ["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
            "payroll": (0..20).map(|i| json!({"worker": format!("{i:064x}"), "amount_fen": 650_000})).collect::<Vec<_>>(),
        }),
        created_at: "2026-11-24T08:00:00.000Z".parse().unwrap(),
    };
    let env = Envelope::sign(&k, body.clone()).unwrap();
    let bytes = serde_json::to_vec(&env).unwrap();
    let mut g = c.benchmark_group("tx");
    g.bench_function("tx_id", |b| b.iter(|| black_box(&body).id().unwrap()));
    g.bench_function("parse_envelope", |b| {
        b.iter(|| Envelope::from_json(black_box(&bytes)).unwrap());
    });
    g.bench_function("parse_and_verify", |b| {
        let pk = k.public_key();
        b.iter(|| {
            Envelope::from_json(black_box(&bytes))
                .unwrap()
                .verify(&pk)
                .unwrap();
        });
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = signatures, merkle_log, encoding
}
criterion_main!(benches);
