use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::json;

use super::tree::Node;
use super::*;

/// The compact tree's root straight from the definition: recursion over
/// depths, one level at a time, on a sorted duplicate-free map.
fn reference_root(entries: &[(Hash32, Hash32)], depth: usize) -> Hash32 {
    match entries {
        [] => Hash32::ZERO,
        [(k, v)] => leaf_hash(k, v),
        _ => {
            assert!(depth < 256, "two entries with one key hash");
            let (l, r): (Vec<_>, Vec<_>) = entries.iter().partition(|(k, _)| bit(k, depth) == 0);
            node_hash(
                &reference_root(&l, depth + 1),
                &reference_root(&r, depth + 1),
            )
        }
    }
}

fn reference(model: &BTreeMap<Hash32, Hash32>) -> Hash32 {
    let entries: Vec<_> = model.iter().map(|(k, v)| (*k, *v)).collect();
    reference_root(&entries, 0)
}

fn h(label: &str) -> Hash32 {
    Hash32::sha256(label.as_bytes())
}

fn flip_bit(x: &Hash32, i: usize) -> Hash32 {
    let mut y = *x;
    y.0[i / 8] ^= 0x80 >> (i % 8);
    y
}

/// Key hashes with long shared prefixes (bytes mostly from a tiny set), so
/// that one-sided chains, deep branches and equal keys all occur.
fn clustered_hash() -> impl Strategy<Value = Hash32> {
    prop::array::uniform32(prop_oneof![
        4 => Just(0u8),
        2 => Just(0x80u8),
        1 => Just(1u8),
        1 => any::<u8>(),
    ])
    .prop_map(Hash32)
}

fn any_hash() -> impl Strategy<Value = Hash32> {
    prop::array::uniform32(any::<u8>()).prop_map(Hash32)
}

#[derive(Debug, Clone)]
enum Op {
    Insert(usize, Hash32),
    Remove(usize),
}

fn ops() -> impl Strategy<Value = (Vec<Hash32>, Vec<Op>)> {
    prop::collection::vec(prop_oneof![clustered_hash(), any_hash()], 1..24).prop_flat_map(|keys| {
        let n = keys.len();
        let op = prop_oneof![
            3 => (0..n, any_hash()).prop_map(|(i, v)| Op::Insert(i, v)),
            1 => (0..n).prop_map(Op::Remove),
        ];
        (Just(keys), prop::collection::vec(op, 0..60))
    })
}

/// Every way of spoiling `proof` a little, each of which must be rejected.
fn spoiled(proof: &StateProof, stride: usize) -> Vec<StateProof> {
    let mut out = Vec::new();
    for (s, sib) in proof.siblings.iter().enumerate() {
        for i in (s % stride..256).step_by(stride) {
            let mut p = proof.clone();
            p.siblings[s] = flip_bit(sib, i);
            out.push(p);
        }
    }
    if let Some(leaf) = &proof.leaf {
        for i in (0..256).step_by(stride) {
            let mut p = proof.clone();
            p.leaf.as_mut().unwrap().key = flip_bit(&leaf.key, i);
            out.push(p);
            let mut p = proof.clone();
            p.leaf.as_mut().unwrap().value = flip_bit(&leaf.value, i);
            out.push(p);
        }
        let mut p = proof.clone();
        p.leaf = None;
        out.push(p);
    }
    // Truncated at either end, extended at either end.
    if !proof.siblings.is_empty() {
        let mut p = proof.clone();
        p.siblings.pop();
        out.push(p);
        let mut p = proof.clone();
        p.siblings.remove(0);
        out.push(p);
    }
    for extra in [Hash32::ZERO, h("extra")] {
        let mut p = proof.clone();
        p.siblings.push(extra);
        out.push(p);
        let mut p = proof.clone();
        p.siblings.insert(0, extra);
        out.push(p);
    }
    out
}

fn check_proofs(tree: &StateTree, queries: &[Hash32], stride: usize) {
    let root = tree.root();
    for kh in queries {
        let proof = tree.prove(kh);
        let value = tree.get(kh);
        proof
            .verify_hashed(&root, kh, value.as_ref())
            .unwrap_or_else(|e| panic!("honest proof for {kh:?} rejected: {e}"));
        // The wrong claim fails.
        let wrong = match value {
            Some(v) => {
                assert_eq!(
                    proof.verify_hashed(&root, kh, None),
                    Err(StateProofError::NotAbsent)
                );
                Some(flip_bit(&v, 255))
            }
            None => Some(h("any value")),
        };
        assert!(proof.verify_hashed(&root, kh, wrong.as_ref()).is_err());
        for i in (0..256).step_by(stride) {
            assert!(proof
                .verify_hashed(&flip_bit(&root, i), kh, value.as_ref())
                .is_err());
        }
        for bad in spoiled(&proof, stride) {
            assert!(
                bad.verify_hashed(&root, kh, value.as_ref()).is_err(),
                "spoiled proof accepted for {kh:?}: {bad:?}"
            );
        }
        // A proof for one key says nothing about another.
        let other = flip_bit(kh, 255);
        if tree.get(&other) != value || proof.siblings.len() == 256 {
            assert!(proof.verify_hashed(&root, &other, value.as_ref()).is_err());
        }
        // Round trip through the wire form.
        let text = serde_json::to_string(&proof).unwrap();
        assert_eq!(serde_json::from_str::<StateProof>(&text).unwrap(), proof);
    }
}

/// A base of entries and a batch of changes to it large enough for
/// [`StateTree::apply`]'s two-thread path: updates, removals (some of keys
/// never present), new keys and keys changed twice.
type Batch = (Vec<(Hash32, Hash32)>, Vec<(Hash32, Option<Hash32>)>);

fn batch() -> impl Strategy<Value = Batch> {
    let key = || prop_oneof![1 => clustered_hash(), 6 => any_hash()];
    let n = tree::PARALLEL_BATCH;
    (prop::collection::vec((key(), any_hash()), n..n + 400)).prop_flat_map(move |base| {
        let m = base.len();
        let change = prop_oneof![
            3 => (0..m, any_hash()).prop_map(|(i, v)| (i, Some(v))),
            1 => (0..m).prop_map(|i| (i, None)),
        ];
        let fresh = (key(), prop::option::weighted(0.8, any_hash()));
        (
            Just(base.clone()),
            prop::collection::vec(change, n..n + 200),
            prop::collection::vec(fresh, 0..200),
        )
            .prop_map(|(base, changes, fresh)| {
                let mut batch: Vec<_> = changes.into_iter().map(|(i, v)| (base[i].0, v)).collect();
                batch.extend(fresh);
                (base, batch)
            })
    })
}

fn check_batch(
    base: &[(Hash32, Hash32)],
    changes: &[(Hash32, Option<Hash32>)],
) -> Result<(), TestCaseError> {
    let mut model: BTreeMap<Hash32, Hash32> = base.iter().copied().collect();
    let before = StateTree::from_entries(base.iter().copied());
    let before_root = before.root();
    for (k, v) in changes {
        match v {
            Some(v) => model.insert(*k, *v),
            None => model.remove(k),
        };
    }
    let mut tree = before.clone();
    tree.apply(changes);
    prop_assert_eq!(tree.root(), reference(&model));
    prop_assert_eq!(tree.len(), model.len());
    let want: Vec<_> = model.iter().map(|(k, v)| (*k, *v)).collect();
    prop_assert_eq!(tree.iter().collect::<Vec<_>>(), want);
    // The tree it was cloned from is untouched.
    prop_assert_eq!(before.root(), before_root);
    prop_assert_eq!(before.iter().collect::<Vec<_>>().len(), before.len());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn a_batch_equals_its_updates_one_by_one((base, changes) in batch()) {
        check_batch(&base, &changes)?;
    }
}

/// The two-thread path when a whole side of the root empties, or both do.
#[test]
fn a_batch_may_empty_a_side_or_the_tree() {
    let with_first_bit = |i: usize, one: bool| {
        let mut k = h(&format!("side/{i}"));
        k.0[0] = if one { k.0[0] | 0x80 } else { k.0[0] & 0x7F };
        k
    };
    let n = tree::PARALLEL_BATCH;
    let mut base: Vec<_> = (0..n)
        .map(|i| (with_first_bit(i, true), h(&format!("v{i}"))))
        .collect();
    base.push((with_first_bit(0, false), h("lonely")));
    let mut changes: Vec<_> = base.iter().skip(1).map(|(k, _)| (*k, None)).collect();
    changes.extend(base.iter().take(n / 2).map(|(k, _)| (*k, Some(h("new")))));
    check_batch(&base, &changes).unwrap();
    let everything: Vec<_> = base.iter().map(|(k, _)| (*k, None)).collect();
    check_batch(&base, &everything).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn root_matches_the_reference_after_any_updates((keys, ops) in ops()) {
        let mut tree = StateTree::new();
        let mut model = BTreeMap::new();
        for op in ops {
            let before = tree.clone();
            let before_root = before.root();
            let before_model = model.clone();
            match op {
                Op::Insert(i, v) => {
                    tree.insert(keys[i], v);
                    model.insert(keys[i], v);
                }
                Op::Remove(i) => {
                    prop_assert_eq!(tree.remove(&keys[i]), model.remove(&keys[i]).is_some());
                }
            }
            prop_assert_eq!(tree.len(), model.len());
            prop_assert_eq!(tree.root(), reference(&model));
            // The clone taken before the update is unchanged.
            prop_assert_eq!(before.root(), before_root);
            prop_assert_eq!(before.iter().collect::<BTreeMap<_, _>>(), before_model);
        }
        let bulk = StateTree::from_entries(model.iter().map(|(k, v)| (*k, *v)));
        prop_assert_eq!(bulk.root(), tree.root());
        prop_assert_eq!(bulk.len(), model.len());
        prop_assert_eq!(tree.is_empty(), model.is_empty());
        let listed: Vec<_> = tree.iter().collect();
        let want: Vec<_> = model.iter().map(|(k, v)| (*k, *v)).collect();
        prop_assert_eq!(listed, want);
        for k in &keys {
            prop_assert_eq!(tree.get(k), model.get(k).copied());
        }
    }

    #[test]
    fn proofs_verify_and_spoiled_ones_fail(
        entries in prop::collection::vec((prop_oneof![clustered_hash(), any_hash()], any_hash()), 0..12),
        extra in prop::collection::vec(prop_oneof![clustered_hash(), any_hash()], 1..4),
    ) {
        let tree = StateTree::from_entries(entries.clone());
        let mut queries: Vec<Hash32> = entries.iter().map(|e| e.0).collect();
        queries.extend(extra);
        check_proofs(&tree, &queries, 37);
    }

    #[test]
    fn proofs_over_raw_keys_and_values(
        entries in prop::collection::btree_map(prop::collection::vec(any::<u8>(), 0..12), prop::collection::vec(any::<u8>(), 0..12), 0..10),
        absent in prop::collection::vec(any::<u8>(), 13..14),
    ) {
        let tree = StateTree::from_entries(entries.iter().map(|(k, v)| (key_hash(k), value_hash(v))));
        let root = tree.root();
        for (k, v) in &entries {
            let proof = tree.prove(&key_hash(k));
            prop_assert_eq!(proof.verify(&root, k, Some(v)), Ok(()));
            let mut w = v.clone();
            w.push(0);
            prop_assert_eq!(proof.verify(&root, k, Some(&w)), Err(StateProofError::WrongValue));
            prop_assert_eq!(proof.verify(&root, k, None), Err(StateProofError::NotAbsent));
        }
        let proof = tree.prove(&key_hash(&absent));
        prop_assert_eq!(proof.verify(&root, &absent, None), Ok(()));
        prop_assert_eq!(proof.verify(&root, &absent, Some(b"x")), Err(StateProofError::NotPresent));
    }
}

#[test]
fn empty_and_single_entry_trees() {
    let empty = StateTree::new();
    assert_eq!(empty.root(), Hash32::ZERO);
    assert!(empty.is_empty());
    let p = empty.prove(&h("k"));
    assert_eq!(
        p,
        StateProof {
            leaf: None,
            siblings: vec![]
        }
    );
    assert_eq!(p.verify(&Hash32::ZERO, b"k", None), Ok(()));
    assert_eq!(
        p.verify(&Hash32::ZERO, b"k", Some(b"v")),
        Err(StateProofError::NotPresent)
    );

    let mut one = StateTree::new();
    one.insert(key_hash(b"k"), value_hash(b"v"));
    assert_eq!(one.root(), leaf_hash(&key_hash(b"k"), &value_hash(b"v")));
    assert_eq!(
        one.prove(&key_hash(b"k"))
            .verify(&one.root(), b"k", Some(b"v")),
        Ok(())
    );
    let absent = one.prove(&key_hash(b"other"));
    assert!(absent.leaf.is_some() && absent.siblings.is_empty());
    assert_eq!(absent.verify(&one.root(), b"other", None), Ok(()));
    assert!(one.remove(&key_hash(b"k")));
    assert!(!one.remove(&key_hash(b"k")));
    assert_eq!(one.root(), Hash32::ZERO);
    check_proofs(&one, &[h("x")], 1);
}

#[test]
fn keys_differing_in_the_first_or_the_last_bit() {
    for i in [0, 7, 8, 200, 254, 255] {
        let a = Hash32([0x5a; 32]);
        let b = flip_bit(&a, i);
        let c = flip_bit(&b, 255 - i.min(254));
        let mut tree = StateTree::new();
        let mut model = BTreeMap::new();
        for (k, v) in [(a, h("1")), (b, h("2")), (c, h("3"))] {
            tree.insert(k, v);
            model.insert(k, v);
            assert_eq!(tree.root(), reference(&model));
        }
        check_proofs(&tree, &[a, b, c, flip_bit(&a, 100), Hash32::ZERO], 61);
        for k in [b, a, c] {
            tree.remove(&k);
            model.remove(&k);
            assert_eq!(tree.root(), reference(&model));
        }
    }
    // A full 256-sibling proof: two keys differing only in the last bit.
    let a = Hash32([0; 32]);
    let b = flip_bit(&a, 255);
    let tree = StateTree::from_entries([(a, h("1")), (b, h("2"))]);
    let p = tree.prove(&a);
    assert_eq!(p.siblings.len(), 256);
    assert_eq!(p.verify_hashed(&tree.root(), &a, Some(&h("1"))), Ok(()));
    let mut long = p.clone();
    long.siblings.push(h("x"));
    assert_eq!(
        long.verify_hashed(&tree.root(), &a, Some(&h("1")))
            .map_err(|e| e.code()),
        Err("state_proof.malformed")
    );
}

#[test]
fn canonical_form_rejections_have_their_codes() {
    let tree = StateTree::from_entries((0..20).map(|i| (h(&format!("k{i}")), h(&format!("v{i}")))));
    let root = tree.root();
    let kh = h("k3");
    let p = tree.prove(&kh);
    // Deepest sibling ZERO.
    let mut q = p.clone();
    q.siblings.push(Hash32::ZERO);
    assert_eq!(
        q.verify_hashed(&root, &kh, Some(&h("v3")))
            .map_err(|e| e.code()),
        Err("state_proof.malformed")
    );
    // A leaf off the key's path.
    let mut q = p.clone();
    q.leaf.as_mut().unwrap().key = flip_bit(&kh, 0);
    assert_eq!(
        q.verify_hashed(&root, &kh, None).map_err(|e| e.code()),
        Err("state_proof.malformed")
    );
    // Too many siblings.
    let q = StateProof {
        leaf: None,
        siblings: vec![h("x"); 257],
    };
    assert_eq!(
        q.verify_hashed(&root, &kh, None).map_err(|e| e.code()),
        Err("state_proof.malformed")
    );
    // An empty position at depth 256.
    let q = StateProof {
        leaf: None,
        siblings: vec![h("x"); 256],
    };
    assert_eq!(
        q.verify_hashed(&root, &kh, None).map_err(|e| e.code()),
        Err("state_proof.malformed")
    );
    assert_eq!(
        p.verify_hashed(&h("r"), &kh, Some(&h("v3")))
            .map_err(|e| e.code()),
        Err("state_proof.root_mismatch")
    );
    assert_eq!(
        p.verify_hashed(&root, &kh, Some(&h("v4")))
            .map_err(|e| e.code()),
        Err("state_proof.wrong_value")
    );
    assert_eq!(
        p.verify_hashed(&root, &kh, None).map_err(|e| e.code()),
        Err("state_proof.not_absent")
    );
    let a = tree.prove(&h("nope"));
    assert_eq!(
        a.verify_hashed(&root, &h("nope"), Some(&h("v")))
            .map_err(|e| e.code()),
        Err("state_proof.not_present")
    );
    // Unknown members are refused on the wire.
    assert!(serde_json::from_str::<StateProof>(r#"{"leaf":null,"siblings":[],"x":1}"#).is_err());
}

#[test]
fn root_is_cached_and_clones_are_independent() {
    let mut a =
        StateTree::from_entries((0..500).map(|i| (h(&format!("k{i}")), h(&format!("v{i}")))));
    let r0 = a.root();
    assert_eq!(a.root(), r0);
    let b = a.clone();
    a.insert(h("k7"), h("changed"));
    a.insert(h("new"), h("v"));
    a.remove(&h("k9"));
    assert_ne!(a.root(), r0);
    assert_eq!(b.root(), r0);
    assert_eq!(b.get(&h("k7")), Some(h("v7")));
    assert_eq!(b.len(), 500);
    assert_eq!(a.len(), 500);
    // Re-inserting the same value changes nothing.
    let r1 = a.root();
    a.insert(h("k8"), h("v8"));
    assert_eq!(a.root(), r1);
    // Undoing the changes restores the root.
    a.insert(h("k7"), h("v7"));
    a.remove(&h("new"));
    a.insert(h("k9"), h("v9"));
    assert_eq!(a.root(), r0);
    assert_eq!(format!("{a:?}"), "StateTree { len: 500, .. }");
}

/// The worked example quoted by the documentation:
/// `docs/examples/state-tree.json`, regenerated with
/// `GOVCHAIN_BLESS=1 cargo test -p govchain-ledger --lib smt`.
#[test]
fn worked_example_is_current() {
    let entries = [
        (
            "department/city",
            json!({"name": "City Management Bureau", "kind": "department"}),
        ),
        (
            "department/fire",
            json!({"name": "Fire Brigade", "kind": "department"}),
        ),
        (
            "case/RC-1",
            json!({"template": "renovation", "stage": 2, "status": "open"}),
        ),
        (
            "official/alice",
            json!({"department": "city", "roles": ["inspector"]}),
        ),
    ];
    let mut tree = StateTree::new();
    let mut listed = Vec::new();
    for (key, value) in &entries {
        let value = String::from_utf8(crate::jcs::canonicalize(value).unwrap()).unwrap();
        let (kh, vh) = (key_hash(key.as_bytes()), value_hash(value.as_bytes()));
        tree.insert(kh, vh);
        listed.push(json!({
            "key": key, "value": value, "key_hash": kh, "value_hash": vh, "leaf_hash": leaf_hash(&kh, &vh),
        }));
    }
    let root = tree.root();
    let (present_key, present_value) =
        ("case/RC-1", listed[2]["value"].as_str().unwrap().to_owned());
    let presence = tree.prove(&key_hash(present_key.as_bytes()));
    assert_eq!(
        presence.verify(
            &root,
            present_key.as_bytes(),
            Some(present_value.as_bytes())
        ),
        Ok(())
    );
    let absent_key = "case/RC-2";
    let absence = tree.prove(&key_hash(absent_key.as_bytes()));
    assert_eq!(absence.verify(&root, absent_key.as_bytes(), None), Ok(()));
    let doc = json!({
        "about": "govchain state tree worked example (crates/ledger/src/smt.rs); values are JCS strings",
        "entries": listed,
        "root": root,
        "presence": {"key": present_key, "value": present_value, "proof": presence},
        "absence": {"key": absent_key, "proof": absence},
    });
    let text = serde_json::to_string_pretty(&doc).unwrap() + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/examples/state-tree.json");
    if std::env::var_os("GOVCHAIN_BLESS").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let kept = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        kept == text,
        "{} is stale: GOVCHAIN_BLESS=1 cargo test -p govchain-ledger --lib smt",
        path.display()
    );
    println!("{text}");
    // The exact values the documentation quotes.
    assert_eq!(serde_json::to_value(root).unwrap(), json!(ROOT));
    check_proofs(
        &tree,
        &[
            key_hash(present_key.as_bytes()),
            key_hash(absent_key.as_bytes()),
        ],
        1,
    );
}

const ROOT: &str = "4a52682486706d35a7cd433112c11dd81516418a8c2da7c99eeba9a6e8919df9";

/// The per-entry memory figure in the module documentation rests on this.
#[test]
fn nodes_stay_small() {
    assert!(
        std::mem::size_of::<Node>() <= 72,
        "{}",
        std::mem::size_of::<Node>()
    );
}
