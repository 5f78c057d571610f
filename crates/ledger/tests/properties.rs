//! Property tests: canonical encoding is a fixed point and round-trips typed
//! values; Merkle proofs verify for random trees and fail after any bit flip;
//! block chains fail after any tamper.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_wrap,
    clippy::cast_possible_truncation
)]

use govchain_ledger::block::{Block, BlockDraft, ChainCursor};
use govchain_ledger::crypto::SecretKey;
use govchain_ledger::jcs;
use govchain_ledger::merkle::{self, MerkleTree};
use govchain_ledger::tx::{Envelope, TxBody};
use govchain_ledger::types::{ChainId, Hash32, Timestamp};
use proptest::prelude::*;
use serde_json::{Map, Number, Value};
use zeroize::Zeroizing;

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-(1i64 << 53) + 1..(1i64 << 53)).prop_map(|i| Value::Number(i.into())),
        // Doubles within the profile's range (larger ones are refused, tested in jcs.rs).
        (-9.007_199_254_740_991e15f64..9.007_199_254_740_991e15)
            .prop_map(|f| Value::Number(Number::from_f64(f).unwrap())),
        "\\PC{0,12}".prop_map(Value::String),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((any::<String>(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn key(n: u8) -> SecretKey {
    SecretKey::from_seed(&Zeroizing::new([n; 32]))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    /// canonical → parse → canonical is the identity, and the parsed value
    /// equals the original numerically.
    #[test]
    fn jcs_is_a_fixed_point(v in json_value()) {
        let c = jcs::canonicalize(&v).unwrap();
        let back = jcs::parse_strict(&c).unwrap();
        prop_assert_eq!(jcs::canonicalize(&back).unwrap(), c.clone());
        // Pretty-printing the same value canonicalizes to the same bytes.
        let pretty = serde_json::to_vec_pretty(&v).unwrap();
        prop_assert_eq!(jcs::canonicalize(&jcs::parse_strict(&pretty).unwrap()).unwrap(), c);
    }

    /// A signed envelope survives any re-encoding and still verifies; its id
    /// is the same.
    #[test]
    fn envelopes_round_trip(seq in 0u64..(1 << 53), payload in json_value(), n in 1u8..=255, ms in 0i64..4_102_444_800_000) {
        let k = key(n);
        let payload = match payload { Value::Object(m) => Value::Object(m), other => serde_json::json!({ "v": other }) };
        let body = TxBody {
            chain_id: "prop-chain".parse().unwrap(),
            signer: k.key_id(),
            seq,
            kind: "prop.test".into(),
            payload,
            created_at: Timestamp::from_unix_millis(ms).unwrap(),
        };
        let env = Envelope::sign(&k, body).unwrap();
        let pretty = serde_json::to_vec_pretty(&env).unwrap();
        let back = Envelope::from_json(&pretty).unwrap();
        back.verify(&k.public_key()).unwrap();
        prop_assert_eq!(back.id().unwrap(), env.id().unwrap());
        prop_assert_eq!(back.leaf_bytes().unwrap(), env.leaf_bytes().unwrap());
        // A different key never verifies it.
        prop_assert!(back.verify(&key(n.wrapping_add(1)).public_key()).is_err());
    }

    /// Inclusion proofs verify for random trees and indices and fail after any
    /// single bit flip in the leaf, the path or the root.
    #[test]
    fn inclusion_proofs_and_bit_flips(size in 1u64..300, idx_seed in any::<u64>(), flip in any::<(usize, u8)>()) {
        let mut t = MerkleTree::new();
        for i in 0..size {
            t.push_leaf(&i.to_le_bytes());
        }
        let idx = idx_seed % size;
        let root = t.root();
        let leaf = t.leaf_hash_at(idx).unwrap();
        let p = t.inclusion_proof(idx, size).unwrap();
        merkle::verify_inclusion(idx, size, &leaf.0, &p.path, &root.0).unwrap();

        let bit = flip.1 % 8;
        let slots = 2 + p.path.len();
        let which = flip.0 % slots;
        let (mut leaf2, mut path2, mut root2) = (leaf, p.path.clone(), root);
        let target: &mut Hash32 = match which {
            0 => &mut leaf2,
            1 => &mut root2,
            i => &mut path2[i - 2],
        };
        target.0[(flip.0 / slots) % 32] ^= 1 << bit;
        prop_assert!(merkle::verify_inclusion(idx, size, &leaf2.0, &path2, &root2.0).is_err());
        // Wrong index or size fails too (unless the tree shape makes them equivalent, which it never does for size ≥ 2).
        if size >= 2 {
            prop_assert!(merkle::verify_inclusion((idx + 1) % size, size, &leaf.0, &p.path, &root.0).is_err());
        }
    }

    /// Consistency proofs verify for random size pairs and fail after any bit flip.
    #[test]
    fn consistency_proofs_and_bit_flips(size2 in 1u64..300, s1_seed in any::<u64>(), flip in any::<(usize, u8)>()) {
        let mut t = MerkleTree::new();
        for i in 0..size2 {
            t.push_leaf(&i.to_be_bytes());
        }
        let size1 = 1 + s1_seed % size2;
        let r1 = t.root_at(size1).unwrap();
        let r2 = t.root();
        let p = t.consistency_proof(size1, size2).unwrap();
        merkle::verify_consistency(size1, size2, &p.path, &r1.0, &r2.0).unwrap();

        let slots = 2 + p.path.len();
        let which = flip.0 % slots;
        let (mut a, mut b, mut path) = (r1, r2, p.path.clone());
        let target: &mut Hash32 = match which {
            0 => &mut a,
            1 => &mut b,
            i => &mut path[i - 2],
        };
        target.0[(flip.0 / slots) % 32] ^= 1 << (flip.1 % 8);
        prop_assert!(merkle::verify_consistency(size1, size2, &path, &a.0, &b.0).is_err());
    }
}

/// Which part of a chain a tamper hits.
#[derive(Debug, Clone, Copy)]
enum Tamper {
    TxPayload,
    TxSig,
    DropTx,
    HeaderTime,
    HeaderState,
    HeaderPrev,
    HeaderLogRoot,
    BlockSig,
    Reorder,
}

fn tamper() -> impl Strategy<Value = Tamper> {
    prop_oneof![
        Just(Tamper::TxPayload),
        Just(Tamper::TxSig),
        Just(Tamper::DropTx),
        Just(Tamper::HeaderTime),
        Just(Tamper::HeaderState),
        Just(Tamper::HeaderPrev),
        Just(Tamper::HeaderLogRoot),
        Just(Tamper::BlockSig),
        Just(Tamper::Reorder),
    ]
}

fn chain_of(lens: &[usize]) -> (ChainId, SecretKey, Vec<Block>) {
    let chain: ChainId = "prop-chain".parse().unwrap();
    let node = key(200);
    let official = key(7);
    let mut log = merkle::Frontier::default();
    let mut blocks = Vec::new();
    let mut prev = Hash32::ZERO;
    let mut seq = 0;
    for (h, &n) in lens.iter().enumerate() {
        let txs = (0..n)
            .map(|_| {
                seq += 1;
                Envelope::sign(
                    &official,
                    TxBody {
                        chain_id: chain.clone(),
                        signer: official.key_id(),
                        seq,
                        kind: "prop.test".into(),
                        payload: serde_json::json!({ "n": seq }),
                        created_at: Timestamp::from_unix_millis(1_700_000_000_000).unwrap(),
                    },
                )
                .unwrap()
            })
            .collect();
        let b = Block::seal(
            &node,
            BlockDraft {
                chain_id: chain.clone(),
                height: h as u64,
                prev_hash: prev,
                time: Timestamp::from_unix_millis(1_700_000_000_000 + h as i64 * 1000).unwrap(),
                txs,
                state_root: Hash32::sha256(&[h as u8]),
            },
            &mut log,
        )
        .unwrap();
        prev = b.header.hash().unwrap();
        blocks.push(b);
    }
    (chain, node, blocks)
}

fn verify(chain: &ChainId, node: &SecretKey, blocks: &[Block]) -> bool {
    let pk = node.public_key();
    let mut c = ChainCursor::genesis(chain.clone());
    blocks.iter().all(|b| {
        c.verify_next(b, |id| (*id == pk.key_id()).then_some(pk))
            .is_ok()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn any_block_tamper_is_detected(lens in prop::collection::vec(1usize..5, 2..6), which in any::<usize>(), t in tamper()) {
        let (chain, node, mut blocks) = chain_of(&lens);
        prop_assert!(verify(&chain, &node, &blocks));
        let bi = which % blocks.len();
        let b = &mut blocks[bi];
        let ti = which % b.txs.len();
        match t {
            Tamper::TxPayload => b.txs[ti].body.payload["n"] = serde_json::json!(-1),
            Tamper::TxSig => {
                let mut s = *b.txs[ti].sig.as_bytes();
                s[0] ^= 1;
                b.txs[ti].sig = govchain_ledger::crypto::Signature::from_bytes(s);
            }
            Tamper::DropTx => { b.txs.remove(ti); }
            Tamper::HeaderTime => b.header.time = Timestamp::from_unix_millis(b.header.time.unix_millis() + 1).unwrap(),
            Tamper::HeaderState => b.header.state_root.0[0] ^= 1,
            Tamper::HeaderPrev => b.header.prev_hash.0[31] ^= 1,
            Tamper::HeaderLogRoot => b.header.log_root.0[5] ^= 1,
            Tamper::BlockSig => {
                let mut s = *b.sig.as_bytes();
                s[63] ^= 0x10;
                b.sig = govchain_ledger::crypto::Signature::from_bytes(s);
            }
            Tamper::Reorder => {
                let j = (bi + 1) % blocks.len();
                blocks.swap(bi, j);
            }
        }
        prop_assert!(!verify(&chain, &node, &blocks), "{:?} on block {} went unnoticed", t, bi);
    }
}
