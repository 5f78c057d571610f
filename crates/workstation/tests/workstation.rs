//! The workstation against real nodes (in-process, loopback) and a real
//! Secret Service (gnome-keyring in a private D-Bus session: run under
//! `scripts/with-keyring.sh`, as `make test` does; without it these tests
//! say so and pass vacuously only when GOVCHAIN_KEYRING is unset).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use govchain_ledger::crypto::KeyId;
use govchain_ledger::ErrorCode;
use govchain_workstation::demo::{DemoNode, DEMO_CASE, DEMO_PROJECT};
use govchain_workstation::dto::{Party, ReviewStep, SignRequest, StepDecision, Verdict};
use govchain_workstation::{Event, Workstation};

mod support;
use support::{capture_logs, keyring_available, temp_dir, until_committed};

/// Every value the UI would receive, as JSON text (to search for secrets).
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<String>>>);

impl Seen {
    fn push(&self, v: &impl serde::Serialize) {
        self.0
            .lock()
            .unwrap()
            .push(serde_json::to_string(v).unwrap());
    }
    fn all(&self) -> String {
        self.0.lock().unwrap().join("\n")
    }
}

fn open(dir: &Path, service: &str, seen: &Seen) -> Workstation {
    let s = seen.clone();
    Workstation::open(
        dir,
        service,
        Arc::new(move |e: Event| match e {
            Event::Progress(p) => s.push(&p),
            Event::Status(st) => s.push(&st),
            Event::Outbox(o) => s.push(&o),
        }),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_demo_sign_a_step_confirm_a_payment_rotate_and_leak_nothing() {
    if !keyring_available() {
        return;
    }
    let logs = capture_logs();
    let dir = temp_dir("ws-main");
    let service = format!("govchain-test-main-{}", std::process::id());
    let seen = Seen::default();
    let ws = open(&dir, &service, &seen);
    ws.keychain().check().unwrap();
    ws.start_network().await.unwrap();
    assert!(ws.embedded().await);

    // First run: a key in the keychain, registered by the demo consortium.
    let key = ws.create_key("李明").await.unwrap();
    seen.push(&key);
    assert!(key.active && key.in_keychain);
    let status = ws.sync().await.unwrap();
    seen.push(&status);
    assert!(
        status.online && status.checkpoint_size.is_some(),
        "{status:?}"
    );
    assert_eq!(status.checkpoint_size, Some(status.log_size));
    let keys = ws.keys().unwrap();
    seen.push(&keys);
    let official = keys[0].official.clone().expect("registered on the chain");
    assert_eq!(official.department, "fire");
    assert!(official
        .roles
        .iter()
        .any(|r| r.starts_with("fire-inspector@fire")));

    // The renovation case waits at the fire stage for this official.
    let inbox = ws.inbox().unwrap();
    seen.push(&inbox);
    let entry = inbox
        .iter()
        .find(|e| e.case_id == DEMO_CASE)
        .expect("case in inbox");
    assert_eq!(entry.stage, 1);

    // What you see is what you sign.
    let reject_without_comment = SignRequest::SignStep {
        case_id: DEMO_CASE.into(),
        stage: 1,
        decision: StepDecision::Reject,
        comment: String::new(),
        attachments: vec![],
    };
    let p = ws.prepare(&reject_without_comment).unwrap();
    seen.push(&p);
    assert_eq!(
        p.would_reject.as_ref().map(|r| r.code.as_str()),
        Some("workflow.comment_required")
    );
    let wrong_stage = SignRequest::SignStep {
        case_id: DEMO_CASE.into(),
        stage: 2,
        decision: StepDecision::Approve,
        comment: String::new(),
        attachments: vec![],
    };
    let p = ws.prepare(&wrong_stage).unwrap();
    assert_eq!(
        p.would_reject.as_ref().map(|r| r.code.as_str()),
        Some("workflow.out_of_order")
    );
    let approve = SignRequest::SignStep {
        case_id: DEMO_CASE.into(),
        stage: 1,
        decision: StepDecision::Approve,
        comment: "消防通道与喷淋系统设计符合规范。".into(),
        attachments: vec![],
    };
    let p = ws.prepare(&approve).unwrap();
    seen.push(&p);
    assert!(p.would_reject.is_none(), "{p:?}");
    let digest = govchain_ledger::types::Hash32::sha256(p.canonical_json.as_bytes());
    assert_eq!(p.sha256, digest.to_hex());
    assert!(p.canonical_json.starts_with("{\"chain_id\":\"gov-demo\""));
    let item = ws.confirm(&p.preview_id).unwrap();
    seen.push(&item);
    assert_eq!(
        (item.status.as_str(), item.id.as_str()),
        ("queued", p.tx_id.as_str())
    );
    assert_eq!(
        ws.confirm(&p.preview_id).unwrap_err().code(),
        "sign.unknown_preview"
    );
    let before = ws.case_detail(DEMO_CASE).unwrap();
    assert_eq!(before.stages[1].state, "current");
    assert!(before.stages[1].mine && !before.stages[2].mine);
    assert!(ws
        .cases()
        .unwrap()
        .iter()
        .any(|c| c.case_id == DEMO_CASE && c.waiting_for_me));
    let height = until_committed(&ws, &item.id).await;
    assert!(height > 0);
    assert!(ws.inbox().unwrap().iter().all(|e| e.case_id != DEMO_CASE));
    let case = ws.case_detail(DEMO_CASE).unwrap();
    seen.push(&case);
    assert_eq!(
        case.stages
            .iter()
            .map(|s| s.state.as_str())
            .collect::<Vec<_>>(),
        ["done", "done", "current", "pending"]
    );
    assert_eq!(case.stages[1].approvals[0].name, "李明");
    // Durations: the two done stages took some ledger time; one stage is the longest.
    assert!(
        case.stages[..3].iter().all(|s| s.duration_ms.is_some()),
        "{:?}",
        case.stages
    );
    assert!(case.stages[3].duration_ms.is_none());
    assert_eq!(case.stages.iter().filter(|s| s.longest).count(), 1);
    let last = case.timeline.last().unwrap();
    assert_eq!(
        (last.action.as_str(), last.stage, last.tx_id.as_str()),
        ("approve", Some(1), item.id.as_str())
    );
    assert_eq!(ws.case_detail("NOPE").unwrap_err().code(), "not_found");

    // The supervisor confirms the project's payment; an out-of-order
    // approval is refused before signing.
    let approve_payment = SignRequest::ReviewPayment {
        step: ReviewStep::Approve,
        project_id: DEMO_PROJECT.into(),
        payment_id: "P-001".into(),
        verdict: Verdict::Accept,
        comment: String::new(),
    };
    let p = ws.prepare(&approve_payment).unwrap();
    assert!(p.would_reject.is_some(), "{p:?}");
    let confirm = SignRequest::ReviewPayment {
        step: ReviewStep::Confirm,
        project_id: DEMO_PROJECT.into(),
        payment_id: "P-001".into(),
        verdict: Verdict::Accept,
        comment: "工程量与监理日志一致。".into(),
    };
    let p = ws.prepare(&confirm).unwrap();
    seen.push(&p);
    assert!(p.would_reject.is_none(), "{p:?}");
    let item = ws.confirm(&p.preview_id).unwrap();
    until_committed(&ws, &item.id).await;
    let status = ws
        .with_state(|s| {
            let id = DEMO_PROJECT.to_owned().try_into().unwrap();
            s.projects[&id]
                .payments
                .values()
                .next()
                .unwrap()
                .status
                .as_str()
        })
        .unwrap()
        .unwrap();
    assert_eq!(status, "confirmed");
    let project = ws.project_detail(DEMO_PROJECT).unwrap();
    seen.push(&project);
    assert_eq!(project.my_party.map(Party::as_str), Some("supervisor"));
    assert_eq!(
        (project.budget, project.pending, project.paid),
        (120_000_000, 38_000_000, 0)
    );
    let pay = &project.payments[0];
    assert_eq!((pay.status.as_str(), pay.my_turn), ("confirmed", false));
    assert_eq!(pay.payroll.len(), 3);
    assert_eq!(pay.payroll_total, 3_560_000);
    assert_eq!(
        pay.events
            .iter()
            .map(|e| e.step.as_str())
            .collect::<Vec<_>>(),
        ["request", "confirm"]
    );
    // Every fen of the budget on exactly one of the budget's outgoing edges.
    let flows = ws.fund_trace(DEMO_PROJECT).unwrap();
    let out: u64 = flows
        .iter()
        .filter(|f| f.source == format!("budget:{DEMO_PROJECT}"))
        .map(|f| f.amount)
        .sum();
    assert_eq!(out, 120_000_000);
    let wages: u64 = flows
        .iter()
        .filter(|f| f.target.starts_with("worker:"))
        .map(|f| f.amount)
        .sum();
    assert_eq!(wages, 3_560_000);
    assert_eq!(ws.fund_trace("NOPE").unwrap_err().code(), "not_found");
    let summary = ws.projects().unwrap();
    let demo = summary
        .iter()
        .find(|p| p.project_id == DEMO_PROJECT)
        .unwrap();
    assert_eq!((demo.left, demo.awaiting_me), (82_000_000, 0));

    // Backup: sealed with a passphrase, imported into another workstation.
    let backup = ws.export_backup("correct horse battery staple").unwrap();
    seen.push(&backup);
    let other_dir = temp_dir("ws-other");
    let other_service = format!("{service}-other");
    let other = open(&other_dir, &other_service, &seen);
    assert_eq!(
        other
            .import_key(&backup, "wrong passphrase!!", "李明")
            .await
            .unwrap_err()
            .code(),
        "backup.decrypt"
    );
    let imported = other
        .import_key(&backup, "correct horse battery staple", "李明")
        .await
        .unwrap();
    assert_eq!(imported.key_id, key.key_id);
    assert!(imported.in_keychain);

    // Rotation: signed with the old key, the new one active once committed.
    let old_id = KeyId::from_hex(&key.key_id).unwrap();
    let old_seed = ws.keychain().load(&old_id).unwrap().to_seed();
    let rot = ws.rotate_key().unwrap();
    seen.push(&rot);
    until_committed(&ws, &rot.id).await;
    let keys = ws.keys().unwrap();
    seen.push(&keys);
    let active = keys.iter().find(|k| k.active).unwrap();
    assert_ne!(active.key_id, key.key_id, "{keys:?}");
    assert_eq!(
        active.official.as_ref().unwrap().official_id,
        official.official_id
    );
    // The new key signs; the case list still knows who the official is.
    let p = ws
        .prepare(&SignRequest::WithdrawCase {
            case_id: "HZ-2026-0051".into(),
            reason: "测试".into(),
        })
        .unwrap();
    assert_eq!(
        p.signer_fingerprint,
        KeyId::from_hex(&active.key_id).unwrap().fingerprint()
    );
    let new_seed = ws
        .keychain()
        .load(&KeyId::from_hex(&active.key_id).unwrap())
        .unwrap()
        .to_seed();

    // No secret in the cache, the logs or anything sent to the UI.
    ws.shutdown().await.unwrap();
    let mut haystack = seen.all().into_bytes();
    let logged = logs.bytes();
    assert!(
        !logged.is_empty(),
        "nothing was logged: the log search would prove nothing"
    );
    haystack.extend_from_slice(&logged);
    // Every chain's cache (DATA_DIR/chains/<chain>/), and an older layout's.
    let mut caches_read = 0;
    for d in [&dir, &other_dir] {
        let mut dirs = vec![d.clone()];
        if let Ok(entries) = std::fs::read_dir(d.join("chains")) {
            dirs.extend(entries.map(|e| e.unwrap().path()));
        }
        for c in &dirs {
            for f in ["cache.sqlite", "cache.sqlite-wal"] {
                if let Ok(bytes) = std::fs::read(c.join(f)) {
                    caches_read += 1;
                    haystack.extend_from_slice(&bytes);
                }
            }
        }
    }
    assert!(
        caches_read >= 2,
        "the caches were not found: the search would prove nothing"
    );
    let haystack_text = String::from_utf8_lossy(&haystack).to_lowercase();
    for seed in [&old_seed, &new_seed] {
        let raw = seed.as_slice();
        assert!(!haystack.windows(32).any(|w| w == raw), "raw seed found");
        assert!(!haystack_text.contains(&hex::encode(raw)), "hex seed found");
        let b64 = base64::engine::general_purpose::STANDARD.encode(raw);
        assert!(
            !String::from_utf8_lossy(&haystack).contains(&b64),
            "base64 seed found"
        );
    }
    ws.keychain().delete(&old_id).unwrap();
    ws.delete_key(&active.key_id).unwrap();
    other.delete_key(&imported.key_id).unwrap();
    assert!(!ws.keychain().contains(&old_id).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_offline_restart_then_sync_commits() {
    if !keyring_available() {
        return;
    }
    let node_dir = temp_dir("ws-offline-node");
    let dir = temp_dir("ws-offline-ws");
    let service = format!("govchain-test-offline-{}", std::process::id());
    let seen = Seen::default();
    let node = DemoNode::start(&node_dir).await.unwrap();
    let ws = open(&dir, &service, &seen);
    ws.set_nodes(vec![node.url().to_owned()]).await.unwrap();
    assert!(!ws.embedded().await);
    let key = ws.create_key("离线测试").await.unwrap();
    let pk = govchain_node::config::parse_public_key(&key.public_key).unwrap();
    node.register_user(&pk, "离线测试").unwrap();
    ws.sync().await.unwrap();

    // The node goes away; signing still works and queues.
    node.stop().await.unwrap();
    let p = ws
        .prepare(&SignRequest::SignStep {
            case_id: DEMO_CASE.into(),
            stage: 1,
            decision: StepDecision::Approve,
            comment: "离线签署".into(),
            attachments: vec![],
        })
        .unwrap();
    assert!(p.would_reject.is_none());
    let item = ws.confirm(&p.preview_id).unwrap();
    assert_eq!(ws.flush_outbox().await.unwrap_err().code(), "sync.offline");
    let st = ws.sync().await.unwrap_err();
    assert_eq!(st.code(), "sync.offline");
    assert!(!ws.status().unwrap().online);
    drop(ws);

    // Restart the app and the node (new port): the outbox still holds it.
    let ws = open(&dir, &service, &seen);
    let queued = ws.outbox().unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].status, "queued");
    let node = DemoNode::start(&node_dir).await.unwrap();
    // The first configured node is down: requests fail over to the next.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    ws.set_nodes(vec![dead, node.url().to_owned()])
        .await
        .unwrap();
    let h = until_committed(&ws, &item.id).await;
    assert_eq!(ws.status().unwrap().node.as_deref(), Some(node.url()));
    assert!(h > 0);
    assert_eq!(ws.status().unwrap().outbox_pending, 0);
    ws.delete_key(&key.key_id).unwrap();
    node.stop().await.unwrap();
}

/// Without a Secret Service the workstation refuses to handle keys and says
/// what to install (checked in a child process whose D-Bus address leads
/// nowhere).
#[test]
fn no_keychain_is_a_clear_error_not_a_file() {
    if std::env::var_os("GOVCHAIN_NO_BUS_CHILD").is_some() {
        let dir = temp_dir("ws-nobus");
        let ws = Workstation::open(&dir, "govchain-test-nobus", Arc::new(|_| {})).unwrap();
        let e = ws.keychain().check().unwrap_err();
        assert_eq!(e.code(), "keychain.unavailable", "{e}");
        assert!(e.to_string().contains("gnome-keyring"), "{e}");
        let rt = tokio::runtime::Runtime::new().unwrap();
        let e = rt.block_on(ws.create_key("x")).unwrap_err();
        assert_eq!(e.code(), "keychain.unavailable");
        // Nothing was written anywhere in its place.
        let files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| !n.starts_with("cache.sqlite"))
            .collect();
        assert!(files.is_empty(), "{files:?}");
        assert!(ws.keys().unwrap().is_empty());
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "no_keychain_is_a_clear_error_not_a_file",
            "--exact",
            "--test-threads=1",
        ])
        .env("GOVCHAIN_NO_BUS_CHILD", "1")
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/govchain-bus",
        )
        .output()
        .unwrap();
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("1 passed"),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The demo's fire and construction nodes witness its checkpoints: a
/// workstation that requires two cosignatures accepts a checkpoint they
/// cosigned (and names them); requiring three is refused clearly, without
/// an alarm, keeping the verified blocks but no longer relying on the
/// checkpoint accepted under two.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_witness_quorum_is_required_of_checkpoints() {
    let node_dir = temp_dir("ws-witness-node");
    let dir = temp_dir("ws-witness-ws");
    let seen = Seen::default();
    let node = DemoNode::start(&node_dir).await.unwrap();
    let ws = open(&dir, "govchain-test-witness-unused", &seen);
    ws.set_nodes(vec![node.url().to_owned()]).await.unwrap();
    ws.set_witness_quorum(2).unwrap();
    let mut status = ws.status().unwrap();
    for _ in 0..100 {
        match ws.sync().await {
            Ok(s) => {
                status = s;
                break;
            }
            Err(e) => {
                // Until the witnesses' first round (every second).
                assert_eq!(e.code(), "checkpoint.not_witnessed", "{e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    assert_eq!(status.witness_quorum, 2);
    assert_eq!(
        status.checkpoint_witnesses,
        vec![
            "杭州市住房和城乡建设局".to_owned(),
            "杭州市消防救援支队".to_owned()
        ],
        "{status:?}"
    );
    let size = status.checkpoint_size.unwrap();
    assert!(size > 1 && size <= status.log_size);

    ws.set_witness_quorum(3).unwrap();
    let e = ws.sync().await.unwrap_err();
    assert_eq!(e.code(), "checkpoint.not_witnessed", "{e}");
    assert!(e.to_string().contains("by 3 other departments"), "{e}");
    let after = ws.status().unwrap();
    assert!(after.alarms.is_empty(), "not an alarm: {:?}", after.alarms);
    assert_eq!(
        after.checkpoint_size, None,
        "accepted under a lower quorum: dropped"
    );
    // Back to two: accepted again, never older than before.
    ws.set_witness_quorum(2).unwrap();
    let again = ws.sync().await.unwrap();
    assert!(again.checkpoint_size.unwrap() >= size, "{again:?}");
    assert_eq!(
        ws.set_witness_quorum(100).unwrap_err().code(),
        "request.invalid"
    );
    node.stop().await.unwrap();
}
