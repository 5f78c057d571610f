//! A node that lies: a proxy in front of a real node tampers with what the
//! workstation receives — a changed transaction in a block, a checkpoint
//! with a bad signature, a validly signed checkpoint of another root (split
//! view), and a forked history from another chain. Each is refused, raises an
//! alarm with its code, and leaves the verified state as it was; when the
//! node tells the truth again, sync continues. Needs no keychain.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use base64::Engine as _;
use govchain_ledger::crypto::SecretKey;
use govchain_ledger::note::Checkpoint;
use govchain_ledger::types::Hash32;
use govchain_ledger::ErrorCode;
use govchain_workstation::demo::DemoNode;
use govchain_workstation::dto::StatusState;
use govchain_workstation::Workstation;
use serde_json::Value;
use zeroize::Zeroizing;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Honest,
    TamperBlock,
    BadCheckpointSignature,
    SplitView,
    StateSplitView,
    Fork,
}

#[derive(Clone)]
struct Proxy {
    mode: Arc<Mutex<Mode>>,
    honest: String,
    fork: String,
    node_key: Arc<SecretKey>,
    http: reqwest::Client,
}

impl Proxy {
    fn upstream(&self) -> String {
        if *self.mode.lock().unwrap() == Mode::Fork {
            self.fork.clone()
        } else {
            self.honest.clone()
        }
    }
}

async fn blocks(
    State(p): State<Proxy>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<String, StatusCode> {
    let r = p
        .http
        .get(format!("{}/v1/blocks", p.upstream()))
        .query(&q)
        .send()
        .await
        .map_err(|_| StatusCode::BAD_GATEWAY)?;
    let text = r.text().await.map_err(|_| StatusCode::BAD_GATEWAY)?;
    if *p.mode.lock().unwrap() != Mode::TamperBlock {
        return Ok(text);
    }
    // Change one word in the last block's first transaction.
    let mut v: Value = serde_json::from_str(&text).unwrap();
    if let Some(b) = v["blocks"].as_array_mut().and_then(|a| a.last_mut()) {
        b["txs"][0]["body"]["payload"]["name"] = Value::String("篡改".into());
    }
    Ok(v.to_string())
}

async fn checkpoint(State(p): State<Proxy>) -> Result<String, StatusCode> {
    let note = p
        .http
        .get(format!("{}/v1/checkpoint", p.upstream()))
        .send()
        .await
        .map_err(|_| StatusCode::BAD_GATEWAY)?
        .text()
        .await
        .map_err(|_| StatusCode::BAD_GATEWAY)?;
    let mode = *p.mode.lock().unwrap();
    Ok(match mode {
        Mode::BadCheckpointSignature => {
            // Flip one bit of the signature (keep the base64 valid).
            let (body, line) = note.trim_end().rsplit_once('\n').unwrap();
            let (head, b64) = line.rsplit_once(' ').unwrap();
            let mut sig = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap();
            sig[10] ^= 1;
            let b64 = base64::engine::general_purpose::STANDARD.encode(sig);
            format!("{body}\n{head} {b64}\n")
        }
        Mode::SplitView => {
            // The node's own key signs another root of the same size.
            let honest = govchain_ledger::note::SignedNote::parse(&note).unwrap();
            let cp = Checkpoint::parse_body(&honest.text).unwrap();
            Checkpoint {
                root: Hash32::sha256(b"another history"),
                ..cp
            }
            .sign("demo.govchain.local", &p.node_key)
            .unwrap()
            .to_string()
        }
        Mode::StateSplitView => {
            // The same log, signed with another state root for its block.
            let honest = govchain_ledger::note::SignedNote::parse(&note).unwrap();
            let cp = Checkpoint::parse_body(&honest.text).unwrap();
            let line = cp.state_line().unwrap().expect("a state line");
            let other = govchain_ledger::note::StateLine {
                state_root: Hash32::sha256(b"another state"),
                ..line
            };
            Checkpoint {
                extensions: vec![other.to_line()],
                ..cp
            }
            .sign("demo.govchain.local", &p.node_key)
            .unwrap()
            .to_string()
        }
        _ => note,
    })
}

fn demo_node_key(dir: &std::path::Path) -> SecretKey {
    let text = std::fs::read_to_string(dir.join("demo-keys.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let mut seed = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(
        v["node-city-management"].as_str().unwrap(),
        seed.as_mut_slice(),
    )
    .unwrap();
    SecretKey::from_seed(&seed)
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("govchain-adv-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn newcomer(n: u64) -> govchain_ledger::crypto::PublicKey {
    SecretKey::from_seed(&Zeroizing::new(Hash32::sha256(&n.to_be_bytes()).0)).public_key()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_block_bad_checkpoint_split_view_and_fork_are_refused() {
    let (a_dir, b_dir, ws_dir) = (temp_dir("a"), temp_dir("b"), temp_dir("ws"));
    let a = DemoNode::start(&a_dir).await.unwrap();
    let b = DemoNode::start(&b_dir).await.unwrap();
    let proxy = Proxy {
        mode: Arc::new(Mutex::new(Mode::Honest)),
        honest: a.url().to_owned(),
        fork: b.url().to_owned(),
        node_key: Arc::new(demo_node_key(&a_dir)),
        http: reqwest::Client::new(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new()
        .route("/v1/blocks", get(blocks))
        .route("/v1/checkpoint", get(checkpoint))
        .with_state(proxy.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let ws = Workstation::open(&ws_dir, "govchain-test-unused", Arc::new(|_| {})).unwrap();
    ws.set_nodes(vec![url]).await.unwrap();
    ws.sync().await.unwrap();
    let set = |m| *proxy.mode.lock().unwrap() = m;
    let mut n = 0;
    let mut grow = |node: &DemoNode| {
        n += 1;
        node.register_user(&newcomer(n), &format!("新人{n}"))
            .unwrap();
    };

    let cases = [
        (Mode::TamperBlock, "block.tx_root"),
        (Mode::BadCheckpointSignature, "note.invalid_signature"),
        (Mode::SplitView, "checkpoint.split_view"),
        (Mode::StateSplitView, "checkpoint.split_view"),
    ];
    for (mode, code) in cases {
        grow(&a);
        let before = ws.status().unwrap();
        set(mode);
        let e = ws.sync().await.unwrap_err();
        assert_eq!(e.code(), "sync.verification_failed", "{mode:?}: {e}");
        let after = ws.status().unwrap();
        assert_eq!(
            after.alarms[0].code, code,
            "{mode:?}: {:?}",
            after.alarms[0]
        );
        assert_eq!(after.checkpoint_size, before.checkpoint_size, "{mode:?}");
        // Never "verified" while the alarm is open.
        assert_eq!(after.state, StatusState::Alarm, "{mode:?}");
        if mode == Mode::StateSplitView {
            let detail = &after.alarms[0].detail;
            assert!(detail.contains("state root"), "{detail}");
        }
        if mode == Mode::SplitView {
            // The same failure again is counted in the same alarm, not repeated.
            ws.sync().await.unwrap_err();
            let again = ws.status().unwrap();
            assert_eq!(again.alarms.len(), after.alarms.len(), "{:?}", again.alarms);
            assert_eq!(again.alarms[0].count, 2, "{:?}", again.alarms[0]);
            assert_ne!(again.alarms[0].first_at, again.alarms[0].last_at);
        }
        if mode == Mode::TamperBlock {
            // Blocks before the tampered one were fine and kept; not it.
            assert!(after.height < Some(a.height().unwrap()), "{mode:?}");
        }
        // The node tells the truth again: sync resumes from the last good state.
        set(Mode::Honest);
        let ok = ws.sync().await.unwrap();
        assert_eq!(ok.height, Some(a.height().unwrap()));
        assert_eq!(ok.checkpoint_size, Some(ok.log_size));
        // Verified again, but the alarm stays open until acknowledged.
        assert_eq!(ok.state, StatusState::Alarm, "{mode:?}");
        for a in ok.alarms.iter().filter(|a| !a.acknowledged) {
            ws.acknowledge_alarm(a.id).unwrap();
        }
        assert_eq!(
            ws.status().unwrap().state,
            StatusState::Verified,
            "{mode:?}"
        );
    }

    // Another chain with a longer history: the first block past ours does
    // not extend our chain.
    let ours = ws.status().unwrap().height.unwrap();
    while b.height().unwrap() <= ours + 1 {
        grow(&b);
    }
    set(Mode::Fork);
    let e = ws.sync().await.unwrap_err();
    assert_eq!(e.code(), "sync.verification_failed");
    let st = ws.status().unwrap();
    assert_eq!(st.alarms[0].code, "block.prev_hash", "{:?}", st.alarms[0]);
    assert_eq!(st.height, Some(ours));

    // The same through a restart: the cached chain still verifies.
    drop(ws);
    let ws = Workstation::open(&ws_dir, "govchain-test-unused", Arc::new(|_| {})).unwrap();
    assert_eq!(ws.status().unwrap().height, Some(ours));
    let st = ws.status().unwrap();
    assert_eq!(st.alarms.len(), 5);
    // Restarted: nothing verified in this session, and the fork's alarm is open.
    assert_eq!(st.state, StatusState::Alarm);
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}
