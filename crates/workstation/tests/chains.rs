//! One cache per chain: the demo and a real consortium side by side, the
//! chain switcher, first-run connect with the administrator's pin, an older
//! single cache migrated, the outbox never crossing chains, and the managed
//! settings (`GOVCHAIN_NODES`, `workstation.toml`). Real Secret Service:
//! run under `scripts/with-keyring.sh`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use govchain_ledger::crypto::SecretKey;
use govchain_ledger::state::kinds::Genesis;
use govchain_ledger::types::{ChainId, Timestamp};
use govchain_ledger::ErrorCode as _;
use govchain_workstation::chains::{ChainsFile, Managed};
use govchain_workstation::demo::DEMO_CASE;
use govchain_workstation::dto::{SignRequest, StepDecision};
use govchain_workstation::Workstation;
use serde_json::{json, Value};

fn keyring_available() -> bool {
    if std::env::var_os("GOVCHAIN_KEYRING").is_some() {
        return true;
    }
    eprintln!("skipped: needs a Secret Service; run under scripts/with-keyring.sh");
    false
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("govchain-chains-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn open(dir: &Path, service: &str) -> Workstation {
    Workstation::open(dir, service, Arc::new(|_| {})).unwrap()
}

/// A real consortium of one department, chain `gov-real-test`, no cases:
/// a node from the node library on a loopback port.
struct RealNode {
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    genesis_hash: String,
}

impl RealNode {
    async fn start(dir: &Path) -> Self {
        let admin = SecretKey::generate(&mut rand_core::OsRng);
        let node_key = SecretKey::generate(&mut rand_core::OsRng);
        let chain: ChainId = "gov-real-test".parse().unwrap();
        let g: Genesis = serde_json::from_value(json!({
            "origin": "govchain.example/gov-real-test", "consortium_threshold": 1,
            "departments": [{"id": "water", "name": "水务局", "node_key": node_key.public_key(),
                "admin_threshold": 1, "admins": [{"name": "water-admin", "public_key": admin.public_key()}]}]}))
        .unwrap();
        let block = govchain_node::genesis_block(
            &chain,
            &g,
            &admin,
            &node_key,
            Timestamp::from_unix_millis(govchain_node::api::now().unix_millis()).unwrap(),
        )
        .unwrap();
        let genesis_hash = block.header.hash().unwrap().to_hex();
        let core = govchain_node::Core::open(
            &dir.join("chain.sqlite"),
            node_key,
            "node.water.example",
            Some(&block),
            govchain_node::Limits::default(),
        )
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(govchain_node::run(
            listener,
            Arc::new(Mutex::new(core)),
            Duration::from_millis(100),
            async {
                let _ = stopped.await;
            },
        ));
        Self {
            url,
            stop: Some(stop),
            genesis_hash,
        }
    }

    async fn health(&self) -> Value {
        reqwest::get(format!("{}/healthz", self.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

impl Drop for RealNode {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

async fn until_committed(ws: &Workstation, id: &str) -> u64 {
    for _ in 0..100 {
        let _ = ws.flush_outbox().await;
        let _ = ws.sync().await;
        if let Some(item) = ws.outbox().unwrap().into_iter().find(|o| o.id == id) {
            match item.status.as_str() {
                "committed" => return item.height.unwrap(),
                "rejected" => panic!("rejected: {item:?}"),
                _ => {}
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{id} not committed");
}

fn step() -> SignRequest {
    SignRequest::SignStep {
        case_id: DEMO_CASE.into(),
        stage: 1,
        decision: StepDecision::Approve,
        comment: "同意".into(),
        attachments: vec![],
    }
}

#[test]
fn managed_settings_files_then_environment() {
    let dir = temp_dir("managed");
    let system = dir.join("system.toml");
    let local = dir.join("workstation.toml");
    let genesis = "ab".repeat(32);
    std::fs::write(
        &system,
        format!("nodes = [\"https://a.example\", \"https://b.example\"]\nchain_id = \"gov-hz\"\ngenesis_hash = \"{genesis}\"\nwitness_quorum = 2\n"),
    )
    .unwrap();
    let m = Managed::load(&[system.clone(), dir.join("missing.toml")], None).unwrap();
    assert_eq!(m.nodes, ["https://a.example", "https://b.example"]);
    assert_eq!(m.pin(), Some(("gov-hz".to_owned(), genesis.clone())));
    assert_eq!(m.witness_quorum, Some(2));

    // The data directory's file overrides the system's, key by key.
    std::fs::write(&local, "witness_quorum = 1\n").unwrap();
    let m = Managed::load(&[system.clone(), local.clone()], None).unwrap();
    assert_eq!(m.nodes.len(), 2);
    assert_eq!(m.witness_quorum, Some(1));

    // GOVCHAIN_NODES overrides both.
    let m = Managed::load(
        &[system.clone(), local.clone()],
        Some(" https://c.example/ , http://d.example:8080,"),
    )
    .unwrap();
    assert_eq!(m.nodes, ["https://c.example", "http://d.example:8080"]);
    assert_eq!(m.pin().unwrap().0, "gov-hz");
    assert!(Managed::load(&[], Some("")).unwrap().nodes.is_empty());

    // Refused: unknown keys, half a pin, a bad hash, a URL without scheme.
    for bad in [
        "node = [\"https://a.example\"]\n",
        "chain_id = \"gov-hz\"\n",
        "chain_id = \"gov-hz\"\ngenesis_hash = \"xyz\"\n",
        "nodes = [\"a.example\"]\n",
    ] {
        std::fs::write(&local, bad).unwrap();
        let e = Managed::load(std::slice::from_ref(&local), None).unwrap_err();
        assert_eq!(e.code(), "request.invalid", "{bad}: {e}");
    }
    let e = Managed::load(&[], Some("ftp://x")).unwrap_err();
    assert_eq!(e.code(), "request.invalid");
}

/// Pinned node certificates: `[pinned_cert_sha256]` in the managed files
/// (merged key by key), the official's own pins in `chains.json` winning.
#[test]
fn managed_and_official_certificate_pins() {
    let dir = temp_dir("managed-pins");
    let (system, local) = (dir.join("system.toml"), dir.join("workstation.toml"));
    let (pin_a, pin_b, pin_c) = ("aa".repeat(32), "bb".repeat(32), "cc".repeat(32));
    std::fs::write(
        &system,
        format!("[pinned_cert_sha256]\n\"https://a.example\" = \"{pin_a}\"\n\"https://b.example\" = \"{pin_a}\"\n"),
    )
    .unwrap();
    std::fs::write(
        &local,
        format!(
            "[pinned_cert_sha256]\n\"https://b.example\" = \"{}\"\n",
            pin_b.to_uppercase()
        ),
    )
    .unwrap();
    let managed = Managed::load(&[system, local.clone()], None).unwrap();
    let mut file = ChainsFile::default();
    file.pinned_cert_sha256
        .insert("https://a.example".into(), pin_c.clone());
    let pins = govchain_workstation::chains::cert_pins(&managed, &file);
    assert_eq!(
        pins["https://a.example"].to_hex(),
        pin_c,
        "the official's pin wins"
    );
    assert_eq!(
        pins["https://b.example"].to_hex(),
        pin_b,
        "the later file wins"
    );
    // A pin that is not a fingerprint, or for a URL without a scheme.
    for bad in [
        "[pinned_cert_sha256]\n\"https://a.example\" = \"abc\"\n".to_owned(),
        format!("[pinned_cert_sha256]\n\"a.example\" = \"{pin_a}\"\n"),
    ] {
        std::fs::write(&local, &bad).unwrap();
        let refused = Managed::load(std::slice::from_ref(&local), None).unwrap_err();
        assert_eq!(refused.code(), "request.invalid", "{bad}: {refused}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_nodes_with_a_pin_skip_the_choice() {
    let dir = temp_dir("managed-open");
    let managed = Managed {
        nodes: vec!["http://127.0.0.1:9".into()],
        chain_id: Some("gov-hz".into()),
        genesis_hash: Some("cd".repeat(32)),
        witness_quorum: Some(1),
        ..Managed::default()
    };
    let ws =
        Workstation::open_with(&dir, "govchain-test-unused", Arc::new(|_| {}), managed).unwrap();
    assert!(!ws.needs_choice());
    let view = ws.chains().unwrap();
    let id = format!("gov-hz-{}", &"cd".repeat(8));
    assert_eq!(view.active.as_deref(), Some(id.as_str()));
    assert!(
        view.chains.iter().all(|c| !c.demo),
        "no demo offered: {view:?}"
    );
    assert_eq!(view.managed_nodes, ["http://127.0.0.1:9"]);
    assert_eq!(ws.nodes().unwrap(), ["http://127.0.0.1:9"]);
    let st = ws.status().unwrap();
    assert!(st.pinned && st.witness_quorum == 1, "{st:?}");
    assert!(dir.join("chains").join(&id).join("cache.sqlite").exists());
    // Nothing of the demo.
    assert!(!dir.join("embedded-node").exists());

    // Managed nodes without a pin: first run connects (no demo offered).
    let dir = temp_dir("managed-nopin");
    let managed = Managed {
        nodes: vec!["http://127.0.0.1:9".into()],
        ..Managed::default()
    };
    let ws =
        Workstation::open_with(&dir, "govchain-test-unused", Arc::new(|_| {}), managed).unwrap();
    let view = ws.chains().unwrap();
    assert!(view.needs_choice && view.chains.is_empty(), "{view:?}");

    // Once connected, the managed nodes (changed by the administrator)
    // are that chain's nodes at the next start.
    let real = RealNode::start(&dir).await;
    ws.connect_nodes(vec![real.url.clone()], None, true)
        .await
        .unwrap();
    let id = ws.active_chain().unwrap().unwrap();
    drop(ws);
    let moved = Managed {
        nodes: vec!["http://127.0.0.1:9".into(), real.url.clone()],
        ..Managed::default()
    };
    let ws = Workstation::open_with(&dir, "govchain-test-unused", Arc::new(|_| {}), moved).unwrap();
    assert_eq!(ws.active_chain().unwrap(), Some(id));
    assert_eq!(
        ws.nodes().unwrap(),
        ["http://127.0.0.1:9".to_owned(), real.url.clone()]
    );
    ws.start_network().await.unwrap();
    assert!(ws.sync().await.unwrap().pinned);
}

/// Demo and a real chain side by side: each with its own cache, inbox and
/// outbox; first-run connect refuses a pin the node contradicts; the
/// switcher goes back and forth; an item queued on the demo is never
/// delivered to the real node (not even when the client is pointed there
/// behind the switcher's back) and is delivered back on the demo.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_chain_its_own_cache_inbox_and_outbox() {
    if !keyring_available() {
        return;
    }
    let base = temp_dir("switch");
    let dir = base.join("ws");
    let service = format!("govchain-test-chains-{}", std::process::id());
    let real = RealNode::start(&base).await;
    let ws = open(&dir, &service);
    let fresh = ws.chains().unwrap();
    assert!(fresh.needs_choice && fresh.active.is_none(), "{fresh:?}");
    assert!(fresh.chains.iter().any(|c| c.demo));

    // The demo: its key registered there, its case in the inbox.
    ws.use_demo().await.unwrap();
    assert!(ws.embedded().await);
    let key = ws.create_key("王芳").await.unwrap();
    ws.sync().await.unwrap();
    assert!(
        ws.cases().unwrap().iter().any(|c| c.case_id == DEMO_CASE),
        "demo case in the demo's cases"
    );
    let demo_status = ws.status().unwrap();
    assert_eq!(demo_status.chain_id.as_deref(), Some("gov-demo"));

    // Signed and queued on the demo, not delivered yet.
    let p = ws.prepare(&step()).unwrap();
    let item = ws.confirm(&p.preview_id).unwrap();
    assert_eq!(ws.outbox().unwrap().len(), 1);

    // Defence in depth: the client pointed at the real node behind the
    // switcher's back; delivery checks the node's chain and sends nothing.
    ws.point_client_at_for_tests(vec![real.url.clone()])
        .unwrap();
    let e = ws.flush_outbox().await.unwrap_err();
    assert_eq!(e.code(), "sync.verification_failed", "{e}");
    assert!(e.to_string().contains("gov-real-test"), "{e}");
    assert_eq!(real.health().await["mempool"], 0);
    assert_eq!(ws.outbox().unwrap()[0].status, "queued");

    // First-run connect with the administrator's values: a wrong genesis
    // hash is refused and nothing changes.
    let wrong = ws
        .connect_nodes(
            vec![real.url.clone()],
            Some(("gov-real-test".into(), "00".repeat(32))),
            true,
        )
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), "sync.verification_failed", "{wrong}");
    assert!(wrong.to_string().contains("administrator"), "{wrong}");
    assert_eq!(ws.active_chain().unwrap().as_deref(), Some("demo"));
    let wrong_id = ws
        .connect_nodes(
            vec![real.url.clone()],
            Some(("gov-other".into(), String::new())),
            true,
        )
        .await
        .unwrap_err();
    assert_eq!(wrong_id.code(), "sync.verification_failed");

    // The right values: the real chain, its own cache, pinned.
    let probe = ws
        .connect_nodes(
            vec![real.url.clone()],
            Some(("gov-real-test".into(), real.genesis_hash.to_uppercase())),
            true,
        )
        .await
        .unwrap();
    assert_eq!(probe.genesis_hash, real.genesis_hash);
    let real_id = format!("gov-real-test-{}", &real.genesis_hash[..16]);
    assert_eq!(
        ws.active_chain().unwrap().as_deref(),
        Some(real_id.as_str())
    );
    assert!(!ws.embedded().await, "the demo stops");
    let st = ws.sync().await.unwrap();
    assert_eq!(st.chain_id.as_deref(), Some("gov-real-test"));
    assert!(st.pinned && st.alarms.is_empty(), "{st:?}");
    assert!(
        ws.cases().unwrap().is_empty(),
        "no demo case on the real chain"
    );
    assert!(ws.inbox().unwrap().is_empty());
    assert!(
        ws.outbox().unwrap().is_empty(),
        "the demo's outbox stays there"
    );
    // The key is the workstation's: the same on every chain.
    let keys = ws.keys().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].key_id, key.key_id);
    ws.flush_outbox().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let h = real.health().await;
    assert_eq!(h["mempool"], 0, "{h}");
    assert_eq!(h["height"], 0, "nothing reached the real chain: {h}");

    // The switcher lists both; back to the demo: its outbox is delivered
    // there.
    let view = ws.chains().unwrap();
    assert_eq!(view.chains.len(), 2, "{view:?}");
    assert!(view.chains.iter().any(|c| c.id == real_id && c.active));
    ws.switch_chain("demo").await.unwrap();
    assert!(ws.embedded().await);
    assert_eq!(ws.outbox().unwrap().len(), 1);
    let height = until_committed(&ws, &item.id).await;
    assert!(height > 0);
    assert!(ws.cases().unwrap().iter().any(|c| c.case_id == DEMO_CASE));
    assert_eq!(real.health().await["height"], 0);

    // Reopened: the active chain and both caches are remembered.
    drop(ws);
    let ws = open(&dir, &service);
    assert_eq!(ws.active_chain().unwrap().as_deref(), Some("demo"));
    ws.switch_chain(&real_id).await.unwrap();
    assert!(ws.cases().unwrap().is_empty());
    assert_eq!(
        ws.status().unwrap().chain_id.as_deref(),
        Some("gov-real-test")
    );
    assert!(ws.switch_chain("../etc").await.is_err());
    let file = ChainsFile::load(&dir).unwrap();
    assert_eq!(file.active.as_deref(), Some(real_id.as_str()));
    ws.delete_key(&key.key_id).unwrap();
    ws.shutdown().await.unwrap();
}

/// An older data directory (one `cache.sqlite` for whatever chain) moves
/// into the chains layout on open, keeping its verified blocks and its
/// outbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_single_cache_is_migrated_with_its_data() {
    let base = temp_dir("migrate");
    let real = RealNode::start(&base).await;
    let dir = base.join("ws");
    // Make an older layout: a synced cache of the real chain at the top.
    {
        let ws = open(&dir, "govchain-test-unused");
        ws.set_nodes(vec![real.url.clone()]).await.unwrap();
        ws.sync().await.unwrap();
        ws.shutdown().await.unwrap();
    }
    let real_id = format!("gov-real-test-{}", &real.genesis_hash[..16]);
    let layout = dir.join("chains").join(&real_id);
    for f in ["cache.sqlite", "cache.sqlite-wal", "cache.sqlite-shm"] {
        if layout.join(f).exists() {
            std::fs::rename(layout.join(f), dir.join(f)).unwrap();
        }
    }
    std::fs::remove_dir_all(dir.join("chains")).unwrap();
    std::fs::remove_file(dir.join("chains.json")).unwrap();

    let ws = open(&dir, "govchain-test-unused");
    assert!(!dir.join("cache.sqlite").exists(), "moved");
    assert!(layout.join("cache.sqlite").exists());
    assert_eq!(
        ws.active_chain().unwrap().as_deref(),
        Some(real_id.as_str())
    );
    let st = ws.status().unwrap();
    assert_eq!(st.chain_id.as_deref(), Some("gov-real-test"), "blocks kept");
    assert_eq!(ws.nodes().unwrap(), vec![real.url.clone()]);
    ws.start_network().await.unwrap();
    ws.sync().await.unwrap();
    assert!(!ws.embedded().await);

    // An older demo cache (no nodes) becomes the demo chain's.
    let demo_dir = base.join("ws-demo");
    std::fs::create_dir_all(&demo_dir).unwrap();
    {
        let ws = open(&demo_dir, "govchain-test-unused");
        ws.use_demo().await.unwrap();
        ws.sync().await.unwrap();
        ws.shutdown().await.unwrap();
    }
    for f in ["cache.sqlite", "cache.sqlite-wal", "cache.sqlite-shm"] {
        let p = demo_dir.join("chains/demo").join(f);
        if p.exists() {
            std::fs::rename(p, demo_dir.join(f)).unwrap();
        }
    }
    std::fs::remove_dir_all(demo_dir.join("chains")).unwrap();
    std::fs::remove_file(demo_dir.join("chains.json")).unwrap();
    let ws = open(&demo_dir, "govchain-test-unused");
    assert_eq!(ws.active_chain().unwrap().as_deref(), Some("demo"));
    assert_eq!(ws.status().unwrap().chain_id.as_deref(), Some("gov-demo"));
    assert!(ws.cases().unwrap().iter().any(|c| c.case_id == DEMO_CASE));
}
