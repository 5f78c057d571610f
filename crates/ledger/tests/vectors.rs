//! Runs every published test vector: RFC 8785 (JCS) and RFC 6962/9162
//! (Merkle roots, inclusion and consistency proofs, including every
//! `wantErr: true` probe). Vectors are copied from `../shared/testvectors/`
//! into `tests/vectors/` so the crate tests without the shared folder.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use govchain_ledger::jcs;
use govchain_ledger::merkle::{self, MerkleTree};
use serde_json::Value;

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.extend(json_files(&p));
        } else if p.extension().is_some_and(|e| e == "json") {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn b64(v: &Value) -> Vec<u8> {
    B64.decode(v.as_str().unwrap()).unwrap()
}

fn b64_list(v: &Value) -> Vec<Vec<u8>> {
    match v {
        Value::Null => Vec::new(),
        Value::Array(items) => items.iter().map(b64).collect(),
        other => panic!("proof must be a list or null, got {other}"),
    }
}

#[test]
fn rfc8785_canonicalization_vectors() {
    let dir = vectors().join("rfc8785");
    let inputs = json_files(&dir.join("input"));
    assert_eq!(inputs.len(), 6, "expected all 6 RFC 8785 inputs");
    for input in &inputs {
        let name = input.file_name().unwrap();
        let want = fs::read(dir.join("output").join(name)).unwrap();
        let hex_path = dir.join("outhex").join(name).with_extension("txt");
        let want_hex: String = fs::read_to_string(hex_path)
            .unwrap()
            .split_whitespace()
            .collect();
        // Plain RFC 8785 (the vectors include numbers like 1E30 that the
        // protocol profile refuses), parsed with exact float round-tripping.
        let value: Value = serde_json::from_slice(&fs::read(input).unwrap()).unwrap();
        let got = jcs::canonicalize_any(&value).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want),
            "{name:?}"
        );
        assert_eq!(hex::encode(&got), want_hex.to_lowercase(), "{name:?} (hex)");
        // Canonical form is a fixed point.
        let again: Value = serde_json::from_slice(&got).unwrap();
        assert_eq!(jcs::canonicalize_any(&again).unwrap(), got);
        // Where the protocol profile accepts the input, it gives the same bytes.
        if let Ok(strict) = jcs::parse_strict(&fs::read(input).unwrap()) {
            assert_eq!(
                jcs::canonicalize(&strict).unwrap(),
                got,
                "{name:?} (profile)"
            );
        }
    }
    eprintln!(
        "rfc8785: {} of {} vector files pass",
        inputs.len(),
        inputs.len()
    );
}

#[test]
fn rfc6962_roots() {
    let v: Value =
        serde_json::from_slice(&fs::read(vectors().join("rfc6962/roots.json")).unwrap()).unwrap();
    let leaves: Vec<Vec<u8>> = v["leaf_inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| hex::decode(h.as_str().unwrap()).unwrap())
        .collect();
    let roots = v["root_by_size"].as_array().unwrap();
    assert_eq!(roots.len(), 9);
    let mut tree = MerkleTree::new();
    for (n, want) in roots.iter().enumerate() {
        if n > 0 {
            tree.push_leaf(&leaves[n - 1]);
        }
        assert_eq!(tree.root().to_hex(), want.as_str().unwrap(), "size {n}");
    }
    // Roots at every past size, from the full tree.
    for (n, want) in roots.iter().enumerate() {
        assert_eq!(
            tree.root_at(n as u64).unwrap().to_hex(),
            want.as_str().unwrap()
        );
    }
    eprintln!("rfc6962: roots.json passes (9 tree sizes)");
}

#[test]
fn rfc6962_inclusion_vectors() {
    let files = json_files(&vectors().join("rfc6962/inclusion"));
    assert!(
        files.len() >= 80,
        "only {} inclusion vectors found",
        files.len()
    );
    let (mut ok, mut rejected) = (0, 0);
    for f in &files {
        let v: Value = serde_json::from_slice(&fs::read(f).unwrap()).unwrap();
        let got = merkle::verify_inclusion(
            v["leafIdx"].as_u64().unwrap(),
            v["treeSize"].as_u64().unwrap(),
            &b64(&v["leafHash"]),
            &b64_list(&v["proof"]),
            &b64(&v["root"]),
        );
        let want_err = v["wantErr"].as_bool().unwrap();
        assert_eq!(got.is_err(), want_err, "{}: {got:?}", f.display());
        if want_err {
            rejected += 1;
        } else {
            ok += 1;
        }
    }
    eprintln!(
        "rfc6962 inclusion: {} vector files pass ({ok} accepted, {rejected} rejected as wanted)",
        files.len()
    );
}

#[test]
fn rfc6962_consistency_vectors() {
    let files = json_files(&vectors().join("rfc6962/consistency"));
    assert!(
        files.len() >= 80,
        "only {} consistency vectors found",
        files.len()
    );
    let (mut ok, mut rejected) = (0, 0);
    for f in &files {
        let v: Value = serde_json::from_slice(&fs::read(f).unwrap()).unwrap();
        let got = merkle::verify_consistency(
            v["size1"].as_u64().unwrap(),
            v["size2"].as_u64().unwrap(),
            &b64_list(&v["proof"]),
            &b64(&v["root1"]),
            &b64(&v["root2"]),
        );
        let want_err = v["wantErr"].as_bool().unwrap();
        assert_eq!(got.is_err(), want_err, "{}: {got:?}", f.display());
        if want_err {
            rejected += 1;
        } else {
            ok += 1;
        }
    }
    eprintln!(
        "rfc6962 consistency: {} vector files pass ({ok} accepted, {rejected} rejected as wanted)",
        files.len()
    );
}

/// The copy in this crate must equal the shared originals when they exist.
#[test]
fn vector_copy_matches_shared() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testvectors");
    if !shared.exists() {
        eprintln!("../shared/testvectors not present; using the in-repo copy only");
        return;
    }
    let ours = vectors();
    let mut n = 0;
    for sub in ["rfc6962", "rfc8785"] {
        for f in json_files(&shared.join(sub)) {
            let rel = f.strip_prefix(&shared).unwrap();
            assert_eq!(
                fs::read(&f).unwrap(),
                fs::read(ours.join(rel)).unwrap_or_default(),
                "{} differs from the shared copy",
                rel.display()
            );
            n += 1;
        }
    }
    eprintln!("vector copy: {n} files identical to ../shared/testvectors");
}
