//! The outbox survives a killed app: a child process (this test binary
//! again) signs and queues transactions, then delivers them; the parent
//! kills it with SIGKILL mid-delivery, five times at different moments. After
//! each kill a restarted workstation finds every signed transaction still in
//! its outbox, delivers the rest, and the chain holds each exactly once.
//! Needs a Secret Service (run under `scripts/with-keyring.sh`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use govchain_workstation::demo::DemoNode;
use govchain_workstation::dto::SignRequest;
use govchain_workstation::Workstation;

const PER_ROUND: usize = 25;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The child: queue `PER_ROUND` signed access records, say so, deliver.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_child() {
    let (Some(dir), Some(service), Some(url)) = (
        env("GOVCHAIN_CHILD_DIR"),
        env("GOVCHAIN_CHILD_SERVICE"),
        env("GOVCHAIN_CHILD_URL"),
    ) else {
        return; // only runs as the child of the test below
    };
    let ws = Workstation::open(dir.as_ref(), &service, Arc::new(|_| {})).unwrap();
    ws.set_nodes(vec![url]).await.unwrap();
    ws.sync().await.unwrap();
    for i in 0..PER_ROUND {
        let p = ws
            .prepare(&SignRequest::RecordAccess {
                dataset: "housing-fund/accounts".into(),
                operation: "read".into(),
                subject: None,
                purpose: format!("复核第{i}笔公积金提取"),
            })
            .unwrap();
        ws.confirm(&p.preview_id).unwrap();
    }
    println!("queued");
    loop {
        let _ = ws.flush_outbox().await;
        let _ = ws.sync().await;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_survives_sigkill_mid_submit_without_duplicates() {
    if std::env::var_os("GOVCHAIN_KEYRING").is_none() || env("GOVCHAIN_CHILD_DIR").is_some() {
        eprintln!("skipped: needs a Secret Service; run under scripts/with-keyring.sh");
        return;
    }
    let node_dir = std::env::temp_dir().join(format!("govchain-kill-node-{}", std::process::id()));
    let dir = std::env::temp_dir().join(format!("govchain-kill-ws-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&node_dir);
    let _ = std::fs::remove_dir_all(&dir);
    let service = format!("govchain-test-kill-{}", std::process::id());
    let node = DemoNode::start(&node_dir).await.unwrap();
    let key_id;
    {
        let ws = Workstation::open(&dir, &service, Arc::new(|_| {})).unwrap();
        ws.set_nodes(vec![node.url().to_owned()]).await.unwrap();
        let key = ws.create_key("审计测试").await.unwrap();
        let pk = govchain_node::config::parse_public_key(&key.public_key).unwrap();
        node.register_user(&pk, "审计测试").unwrap();
        ws.sync().await.unwrap();
        key_id = key.key_id;
    }
    let exe = std::env::current_exe().unwrap();
    for round in 1..=5u64 {
        let mut child = Command::new(&exe)
            .args(["outbox_child", "--exact", "--nocapture", "--test-threads=1"])
            .env("GOVCHAIN_CHILD_DIR", &dir)
            .env("GOVCHAIN_CHILD_SERVICE", &service)
            .env("GOVCHAIN_CHILD_URL", node.url())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        loop {
            match lines.next() {
                Some(Ok(l)) if l.contains("queued") => break,
                Some(_) => {}
                None => panic!("child ended before queueing"),
            }
        }
        // Kill at a different moment of delivery each round.
        tokio::time::sleep(Duration::from_millis((round - 1) * 2)).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        let ws = Workstation::open(&dir, &service, Arc::new(|_| {})).unwrap();
        let expected = PER_ROUND * usize::try_from(round).unwrap();
        let at_kill = ws.outbox().unwrap();
        assert_eq!(at_kill.len(), expected, "round {round}: lost");
        let count = |s: &str| at_kill.iter().filter(|i| i.status == s).count();
        println!(
            "round {round}: killed with {} queued, {} submitted, {} committed",
            count("queued"),
            count("submitted"),
            count("committed")
        );
        ws.set_nodes(vec![node.url().to_owned()]).await.unwrap();
        for _ in 0..200 {
            ws.flush_outbox().await.unwrap();
            ws.sync().await.unwrap();
            if ws.status().unwrap().outbox_pending == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let items = ws.outbox().unwrap();
        assert!(
            items.iter().all(|i| i.status == "committed"),
            "round {round}: {:?}",
            items
                .iter()
                .filter(|i| i.status != "committed")
                .collect::<Vec<_>>()
        );
        // On the verified chain: one access record per signed transaction.
        let on_chain = ws
            .with_state(|s| {
                let official =
                    s.key_index[&govchain_ledger::crypto::KeyId::from_hex(&key_id).unwrap()];
                s.access_log
                    .iter()
                    .filter(|r| r.official == official)
                    .count()
            })
            .unwrap()
            .unwrap();
        assert_eq!(
            on_chain, expected,
            "round {round}: duplicates or losses on chain"
        );
        // The auditor's view of the same records.
        let rows = ws
            .access_log(Some("fire"), Some("housing-fund/accounts"), 1000)
            .unwrap();
        assert_eq!(rows.len(), expected);
        assert!(rows
            .iter()
            .all(|r| r.official.name == "审计测试" && r.operation == "read"));
        assert!(rows.windows(2).all(|w| w[0].height >= w[1].height));
        assert!(ws.access_log(Some("bank"), None, 1000).unwrap().is_empty());
        assert!(ws.access_log(None, Some("other"), 1000).unwrap().is_empty());
        println!("round {round}: {expected} signed, {on_chain} on chain, none lost or doubled");
    }
    let ws = Workstation::open(&dir, &service, Arc::new(|_| {})).unwrap();
    ws.delete_key(&key_id).unwrap();
    node.stop().await.unwrap();
}
