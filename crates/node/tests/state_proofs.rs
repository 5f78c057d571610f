//! Proven state over HTTP (`GET /v1/state/{key}`, PROTOCOL.md §12.7): an
//! entry's value, or its absence, proven against the head block's signed
//! header and checkpoint, checked here with the ledger crate alone; forged
//! answers and bad keys are refused with their codes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use govchain_ledger::crypto::KeyId;
use govchain_ledger::note::{Checkpoint, NoteKey, SignedNote, StateLine, ALG_ED25519};
use govchain_ledger::state::EntryKey;
use govchain_ledger::state_proof::{CheckpointTrust, StateProofs};
use govchain_ledger::types::{ChainId, Hash32};
use govchain_ledger::ErrorCode as _;
use govchain_node::{Core, Limits};
use serde_json::{json, Value};

mod support;
use support::{genesis, key, serve};

const T0: i64 = 1_795_000_000_000;

async fn get(url: &str) -> (u16, Value) {
    let r = reqwest::get(url).await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn entries_are_proven_against_a_signed_header_and_checkpoint() {
    let dir = std::env::temp_dir().join(format!("govchain-state-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let chain: ChainId = "state".parse().unwrap();
    let core = Core::open(
        &dir.join("chain.sqlite"),
        key("node-haikou"),
        "node.haikou.example",
        Some(&genesis(
            &chain,
            "govchain.example/state",
            &["haikou", "sanya"],
            T0,
        )),
        Limits::default(),
    )
    .unwrap();
    let node = serve(core, 10).await;
    let trust = CheckpointTrust {
        origin: "govchain.example/state".into(),
        log_key: NoteKey::new(
            "node.haikou.example",
            ALG_ED25519,
            key("node-haikou").public_key(),
        )
        .unwrap(),
        witnesses: vec![],
        quorum: 0,
    };
    let nodes = [
        key("node-haikou").public_key(),
        key("node-sanya").public_key(),
    ];
    let node_key = |id: &KeyId| nodes.iter().copied().find(|k| k.key_id() == *id);
    let prove = |v: Value| serde_json::from_value::<StateProofs>(v).unwrap();

    // Present entries: the chain's meta and a department.
    let (s, v) = get(&format!("{}/v1/state/department/sanya", node.url)).await;
    assert_eq!(s, 200, "{v}");
    let proofs = prove(v);
    let got = proofs.verify(&chain, node_key, &trust).unwrap();
    assert_eq!(
        got[0].key,
        EntryKey::Department("sanya".to_owned().try_into().unwrap())
    );
    let dept = got[0].value.clone().unwrap();
    assert_eq!(dept["node_key"], json!(key("node-sanya").public_key()));
    let (_, v) = get(&format!("{}/v1/state/meta", node.url)).await;
    let meta = prove(v).verify(&chain, node_key, &trust).unwrap();
    assert_eq!(meta[0].value.as_ref().unwrap()["chain_id"], "state");

    // An absent entry is proven absent.
    let (s, v) = get(&format!("{}/v1/state/case/RC-404", node.url)).await;
    assert_eq!(s, 200, "{v}");
    assert!(v["entries"][0]["value"].is_null());
    let absent = prove(v);
    assert!(absent.verify(&chain, node_key, &trust).unwrap()[0]
        .value
        .is_none());

    // Forgeries fail, each with its code.
    let mut f = proofs.clone();
    f.entries[0].value.as_mut().unwrap()["name"] = json!("not sanya");
    assert!(f
        .verify(&chain, node_key, &trust)
        .unwrap_err()
        .code()
        .starts_with("state_proof."));
    let mut f = absent.clone();
    f.entries[0].value = Some(json!({"id": "RC-404"}));
    assert!(f
        .verify(&chain, node_key, &trust)
        .unwrap_err()
        .code()
        .starts_with("state_proof."));
    let mut f = proofs.clone();
    f.block.header.state_root = Hash32::sha256(b"another state");
    assert_eq!(
        f.verify(&chain, node_key, &trust).unwrap_err().code(),
        "state_proof.header_signature"
    );
    let mut f = proofs.clone();
    f.entries[0].key = "department/haikou".into();
    assert!(f.verify(&chain, node_key, &trust).is_err());
    let other: ChainId = "other".parse().unwrap();
    assert_eq!(
        proofs.verify(&other, node_key, &trust).unwrap_err().code(),
        "state_proof.wrong_chain"
    );
    state_line_binds_the_header(&proofs, &chain, &node_key, &trust);
    let stranger = |_: &KeyId| None;
    assert_eq!(
        proofs.verify(&chain, stranger, &trust).unwrap_err().code(),
        "state_proof.unknown_proposer"
    );

    // Bad keys and sensitive collections are refused.
    for (path, code) in [
        ("case/", "state.bad_key"),
        ("nothing/x", "state.bad_key"),
        ("template/t@01", "state.bad_key"),
        ("payment/P-1", "state.bad_key"),
        ("certificate/C-1", "state.sensitive"),
        ("consent/K-1", "state.sensitive"),
    ] {
        let (s, v) = get(&format!("{}/v1/state/{path}", node.url)).await;
        assert_eq!((s, v["code"].as_str()), (400, Some(code)), "{path}: {v}");
    }
    node.stop().await;
}

/// The checkpoint names the header's block and state root in its state
/// line, which the witnesses cosign; one signed by the log key without it,
/// or with another state root, does not stand for the header.
fn state_line_binds_the_header(
    proofs: &StateProofs,
    chain: &ChainId,
    node_key: &dyn Fn(&KeyId) -> Option<govchain_ledger::crypto::PublicKey>,
    trust: &CheckpointTrust,
) {
    let signed = SignedNote::parse(&proofs.checkpoint).unwrap();
    let cp = Checkpoint::parse_body(&signed.text).unwrap();
    assert_eq!(
        cp.state_line().unwrap(),
        Some(StateLine {
            height: proofs.block.header.height,
            state_root: proofs.block.header.state_root
        })
    );
    let resign = |extensions: Vec<String>| {
        let mut f = proofs.clone();
        f.checkpoint = Checkpoint {
            extensions,
            ..cp.clone()
        }
        .sign("node.haikou.example", &key("node-haikou"))
        .unwrap()
        .to_string();
        f.verify(chain, node_key, trust).unwrap_err().code()
    };
    assert_eq!(resign(vec![]), "state_proof.checkpoint_mismatch");
    let forged = StateLine {
        height: proofs.block.header.height,
        state_root: Hash32::sha256(b"another state"),
    };
    assert_eq!(
        resign(vec![forged.to_line()]),
        "state_proof.checkpoint_mismatch"
    );
}
