//! Witnesses over HTTP: two other departments' nodes cosign a log's
//! checkpoints, the log serves them (`/v1/checkpoint?cosigned=k`), forged
//! and foreign cosignatures change nothing, and a witness refuses a log
//! that forks or rolls back — keeping its durable state as it was.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use govchain_ledger::crypto::SecretKey;
use govchain_ledger::note::{self, NoteKey, SignedNote, ALG_COSIGNATURE_V1, ALG_ED25519};
use govchain_ledger::types::ChainId;
use govchain_ledger::ErrorCode as _;
use govchain_node::witness::{Witness, WitnessConfig, WitnessError};
use govchain_node::{Core, Limits};
use serde_json::{json, Value};

mod support;
use support::{genesis, health, key, serve, tx, Running};

const T0: i64 = 1_795_000_000_000;
const ORIGIN: &str = "govchain.example/witnessed";
const LOG_NAME: &str = "city.node.example";
const DEPTS: [&str; 3] = ["city", "fire", "construction"];

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("govchain-witness-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

async fn log_node(dir: &Path) -> Running {
    let chain: ChainId = "witnessed".parse().unwrap();
    let core = Core::open(
        &dir.join("chain.sqlite"),
        key("node-city"),
        LOG_NAME,
        Some(&genesis(&chain, ORIGIN, &DEPTS, T0)),
        Limits::default(),
    )
    .unwrap();
    serve(core, 5).await
}

/// Registers officials `names` (signed by the city's admin from `seq`) and
/// waits until the log holds them.
async fn grow(node: &Running, seq: u64, names: &[&str]) {
    let chain: ChainId = "witnessed".parse().unwrap();
    let admin = key("city-admin");
    let http = reqwest::Client::new();
    for (i, name) in names.iter().enumerate() {
        let payload = json!({"department": "city", "name": name,
                             "public_key": key(name).public_key()});
        let env = tx(
            &chain,
            &admin,
            seq + i as u64,
            "official.register",
            payload,
            T0,
        );
        let r = http
            .post(format!("{}/v1/tx", node.url))
            .json(&env)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }
    let want = 1 + seq - 2 + names.len() as u64;
    for _ in 0..400 {
        if health(&node.url).await["log_size"].as_u64() == Some(want) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the log did not reach size {want}");
}

fn witness(log: &Running, dept: &str, state: &Path) -> Witness {
    let cfg = WitnessConfig {
        log_url: log.url.clone(),
        origin: ORIGIN.into(),
        log_key: NoteKey::new(LOG_NAME, ALG_ED25519, key("node-city").public_key()).unwrap(),
        name: format!("{dept}.witness.example"),
        state_file: state.to_owned(),
    };
    Witness::open(cfg, key(&format!("node-{dept}"))).unwrap()
}

fn witness_key(dept: &str) -> NoteKey {
    NoteKey::new(
        &format!("{dept}.witness.example"),
        ALG_COSIGNATURE_V1,
        key(&format!("node-{dept}")).public_key(),
    )
    .unwrap()
}

async fn checkpoint(node: &Running, cosigned: usize) -> (u16, String) {
    let r = reqwest::get(format!("{}/v1/checkpoint?cosigned={cosigned}", node.url))
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn post_note(node: &Running, text: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/v1/checkpoint/cosignatures", node.url))
        .body(text.to_owned())
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn witnesses_cosign_and_refuse_forks_and_rollbacks() {
    let a_dir = dir("a");
    let log = log_node(&a_dir).await;
    grow(&log, 2, &["a1"]).await;
    let (fire_state, construction_state) = (a_dir.join("fire.w"), a_dir.join("construction.w"));
    let mut fire = witness(&log, "fire", &fire_state);
    let mut construction = witness(&log, "construction", &construction_state);

    // None cosigned yet.
    let (status, body) = checkpoint(&log, 1).await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("node.not_found"));
    assert_eq!(checkpoint(&log, 1000).await.0, 400);

    let first = fire.step(1_795_000_100).await.unwrap();
    assert_eq!((first.size, first.cosignatures), (2, 1));
    let second = construction.step(1_795_000_101).await.unwrap();
    assert_eq!(second.cosignatures, 2);
    let (status, note_text) = checkpoint(&log, 2).await;
    assert_eq!(status, 200);
    let v = note::verify_checkpoint(
        &note_text,
        ORIGIN,
        &NoteKey::new(LOG_NAME, ALG_ED25519, key("node-city").public_key()).unwrap(),
        &[witness_key("fire"), witness_key("construction")],
        2,
    )
    .unwrap();
    assert_eq!(v.checkpoint.size, 2);
    assert_eq!(v.cosigners["fire.witness.example"], 1_795_000_100);

    // The same witness again replaces its line; a stranger's line is ignored.
    fire.step(1_795_000_102).await.unwrap();
    let parsed = SignedNote::parse(&note_text).unwrap();
    let stranger = SignedNote {
        text: parsed.text.clone(),
        signatures: vec![
            note::cosign_note(&parsed.text, "x.example", &key("stranger"), 1).unwrap(),
        ],
    };
    let (status, body) = post_note(&log, &stranger.to_string()).await;
    assert_eq!(
        (status, body["cosignatures"].as_u64()),
        (200, Some(2)),
        "{body}"
    );
    // A forged line under a department's key is refused outright.
    let mut forged =
        note::cosign_note(&parsed.text, "fire.witness.example", &key("stranger"), 1).unwrap();
    forged.key_id = witness_key("fire").key_id();
    let forged = SignedNote {
        text: parsed.text.clone(),
        signatures: vec![forged],
    };
    let (status, body) = post_note(&log, &forged.to_string()).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "note.invalid_signature");
    // The log's own key does not count as a witness.
    let own = SignedNote {
        text: parsed.text.clone(),
        signatures: vec![note::cosign_note(
            &parsed.text,
            "city.witness.example",
            &key("node-city"),
            1,
        )
        .unwrap()],
    };
    let (status, body) = post_note(&log, &own.to_string()).await;
    assert_eq!(
        (status, body["cosignatures"].as_u64()),
        (200, Some(2)),
        "{body}"
    );
    // A checkpoint the log never signed is not found.
    let other_text = parsed.text.replace("\n2\n", "\n7\n");
    assert_ne!(other_text, parsed.text);
    let other = SignedNote {
        text: other_text.clone(),
        signatures: vec![note::cosign_note(
            &other_text,
            "fire.witness.example",
            &key("node-fire"),
            1,
        )
        .unwrap()],
    };
    assert_eq!(post_note(&log, &other.to_string()).await.0, 404);
    assert_eq!(post_note(&log, "not a note").await.0, 400);
    // Served with exactly the log's line and one line per department.
    let served = checkpoint(&log, 2).await.1;
    assert_eq!(SignedNote::parse(&served).unwrap().signatures.len(), 3);

    // The log grows: the witness checks the consistency proof and cosigns.
    grow(&log, 3, &["a2"]).await;
    let grown = fire.step(1_795_000_200).await.unwrap();
    assert_eq!((grown.size, grown.cosignatures), (3, 1));
    assert_eq!(fire.last().unwrap().0, 3);

    // The log moves on between the two witnesses' rounds: the second joins
    // the first's checkpoint rather than cosigning a newer one alone, so a
    // checkpoint with two cosignatures keeps coming.
    grow(&log, 4, &["a3"]).await;
    let joined = construction.step(1_795_000_210).await.unwrap();
    assert_eq!((joined.size, joined.cosignatures), (3, 2));
    let both = checkpoint(&log, 2).await.1;
    assert!(both.contains("\n3\n"), "{both}");
    let led = fire.step(1_795_000_220).await.unwrap();
    assert_eq!((led.size, led.cosignatures), (4, 1));
    let joined = construction.step(1_795_000_230).await.unwrap();
    assert_eq!((joined.size, joined.cosignatures), (4, 2));

    // Another node with the same key and genesis but another history: first
    // behind the witness (a rollback), then ahead of it (a fork).
    let b_dir = dir("b");
    let fork = log_node(&b_dir).await;
    let mut fooled = witness(&fork, "fire", &fire_state);
    assert_eq!(fooled.last().unwrap().0, 4, "state survives a restart");
    let e = fooled.step(1_795_000_300).await.unwrap_err();
    assert!(
        matches!(e, WitnessError::Rollback { had: 4, got: 1 }),
        "{e}"
    );
    assert!(e.is_evidence());
    grow(&fork, 2, &["b1", "b2", "b3", "b4"]).await;
    let e = fooled.step(1_795_000_301).await.unwrap_err();
    assert_eq!(e.code(), "witness.split_view", "{e}");
    // Nothing was cosigned on the fork, and the state still names the log.
    assert_eq!(checkpoint(&fork, 1).await.0, 404);
    assert_eq!(witness(&log, "fire", &fire_state).last(), fire.last());

    fork.stop().await;
    log.stop().await;
    let _ = std::fs::remove_dir_all(&a_dir);
    let _ = std::fs::remove_dir_all(&b_dir);
}

#[test]
fn a_damaged_state_file_is_an_error_not_a_fresh_start() {
    let d = dir("state");
    let state = d.join("w");
    std::fs::write(&state, "garbage").unwrap();
    let cfg = WitnessConfig {
        log_url: "http://127.0.0.1:9".into(),
        origin: ORIGIN.into(),
        log_key: NoteKey::new(LOG_NAME, ALG_ED25519, key("node-city").public_key()).unwrap(),
        name: "fire.witness.example".into(),
        state_file: state,
    };
    let e =
        Witness::open(cfg, SecretKey::from_seed(&zeroize::Zeroizing::new([3; 32]))).unwrap_err();
    assert_eq!(e.code(), "witness.state");
    let _ = std::fs::remove_dir_all(&d);
}

/// A witness inside a department's node cosigns a checkpoint's state line
/// only once its own node verified that block with the same roots: behind,
/// it waits (`witness.behind`, not evidence, nothing recorded); another
/// state root is evidence (`witness.split_view`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_witness_with_a_chain_cosigns_only_the_state_it_verified() {
    use govchain_ledger::types::Hash32;
    use govchain_node::witness::OwnChain;
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};
    type Verified = BTreeMap<u64, (u64, Hash32, Hash32)>;

    let d = dir("own");
    let log = log_node(&d).await;
    grow(&log, 2, &["o1"]).await;
    let text = checkpoint(&log, 0).await.1;
    let cp = note::Checkpoint::parse_body(&SignedNote::parse(&text).unwrap().text).unwrap();
    let line = cp.state_line().unwrap().expect("a state line");
    let block: Value = reqwest::get(format!("{}/v1/blocks/{}", log.url, line.height))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let h = &block["header"];
    let hash = |v: &Value| Hash32::from_hex(v.as_str().unwrap()).unwrap();
    assert_eq!(hash(&h["state_root"]), line.state_root);
    assert_eq!(h["log_size"].as_u64(), Some(cp.size));

    let seen: Arc<Mutex<Verified>> = Arc::default();
    let own: OwnChain = {
        let seen = seen.clone();
        Arc::new(move |height| Ok(seen.lock().unwrap().get(&height).copied()))
    };
    let state = d.join("fire.w");
    let mut fire = witness(&log, "fire", &state).with_own_chain(own);
    let e = fire.step(1_795_000_100).await.unwrap_err();
    assert_eq!(e.code(), "witness.behind", "{e}");
    assert!(!e.is_evidence());
    assert!(fire.last().is_none() && !state.exists());

    // Its node computed another state for that block: evidence.
    let ours = (cp.size, cp.root, Hash32::sha256(b"another state"));
    seen.lock().unwrap().insert(line.height, ours);
    let e = fire.step(1_795_000_101).await.unwrap_err();
    assert_eq!(e.code(), "witness.split_view", "{e}");
    assert!(e.is_evidence());
    assert!(!state.exists());

    // The same block and state: cosigned, and the state line recorded.
    let ours = (cp.size, cp.root, line.state_root);
    seen.lock().unwrap().insert(line.height, ours);
    let done = fire.step(1_795_000_102).await.unwrap();
    assert_eq!((done.size, done.cosignatures), (cp.size, 1));
    let recorded = std::fs::read_to_string(&state).unwrap();
    assert!(recorded.contains(&line.state_root.to_hex()), "{recorded}");
    assert_eq!(witness(&log, "fire", &state).last(), fire.last());

    log.stop().await;
    let _ = std::fs::remove_dir_all(&d);
}
