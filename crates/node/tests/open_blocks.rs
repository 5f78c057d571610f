//! The mempool as open blocks: admitted transactions are applied at once,
//! so conflicts between pending transactions are refused on submission;
//! blocks are cut at `max_block_txs` or `max_block_bytes`; a refused
//! transaction never leaves an
//! empty block behind; the node's blocks replay to the same state.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use govchain_ledger::crypto::SecretKey;
use govchain_ledger::tx::Envelope;
use govchain_ledger::types::ChainId;
use govchain_ledger::ErrorCode as _;
use govchain_node::{Core, Limits, NodeError, TxStatus};
use serde_json::{json, Value};

mod support;
use support::{genesis, key};

const T0: i64 = 1_795_000_000_000;

fn tx(chain: &ChainId, k: &SecretKey, seq: u64, kind: &str, payload: Value) -> Envelope {
    support::tx(chain, k, seq, kind, payload, T0)
}

fn access(chain: &ChainId, k: &SecretKey, seq: u64, purpose: &str) -> Envelope {
    tx(
        chain,
        k,
        seq,
        "access.record",
        json!({"entries": [{"dataset": "d/x", "operation": "read", "subject": null,
                            "purpose": purpose, "at": "2026-11-24T08:00:00.000Z"}]}),
    )
}

fn open(dir: &std::path::Path, chain: &ChainId, max_block_txs: usize) -> Core {
    Core::open(
        &dir.join("node.db"),
        key("node-d"),
        "node-d",
        Some(&genesis(chain, "govchain/open-blocks", &["d"], T0)),
        Limits {
            max_block_txs,
            ..Limits::default()
        },
    )
    .unwrap()
}

/// A node cutting blocks of two with `names` registered by the admin
/// (pending, in order from `seq` 2; the genesis used 1).
fn with_officials(dir: &std::path::Path, chain: &ChainId, names: &[&str]) -> Core {
    let mut core = open(dir, chain, 2);
    let admin = key("d-admin");
    let now = core.now();
    for (seq, name) in (2..).zip(names) {
        let reg = tx(
            chain,
            &admin,
            seq,
            "official.register",
            json!({"department": "d", "name": name, "public_key": key(name).public_key()}),
        );
        core.submit(reg, now).unwrap();
    }
    core
}

#[test]
fn pending_transactions_are_judged_against_each_other() {
    let dir = std::env::temp_dir().join(format!("govchain-open-blocks-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let chain: ChainId = "open-blocks".parse().unwrap();
    let mut core = open(&dir, &chain, 3);
    let admin = key("d-admin");
    let now = core.now();
    // The admin's genesis transaction used seq 1.
    let register = |seq: u64, name: &str| {
        tx(
            &chain,
            &admin,
            seq,
            "official.register",
            json!({"department": "d", "name": name, "public_key": key(name).public_key()}),
        )
    };
    core.submit(register(2, "a"), now).unwrap();
    // Not committed yet, but already applied: the same seq again is a replay.
    let err = core.submit(register(2, "b"), now).unwrap_err();
    assert!(
        matches!(&err, NodeError::Rejected(r) if r.code() == "tx.replayed"),
        "{err:?}"
    );
    // The refused id is remembered for status queries.
    let refused = register(2, "b").id().unwrap();
    assert!(matches!(
        core.status(&refused).unwrap(),
        TxStatus::Rejected {
            code: "tx.replayed",
            ..
        }
    ));
    // A transaction by an official registered in the same open block.
    let a = key("a");
    let mine = access(&chain, &a, 1, "pending registration");
    let (id, status) = core.submit(mine.clone(), now).unwrap();
    assert_eq!(status, TxStatus::Pending);
    // Resubmitting a pending transaction is idempotent.
    assert_eq!(core.submit(mine, now).unwrap(), (id, TxStatus::Pending));
    for seq in 2..=5 {
        core.submit(access(&chain, &a, seq, "load"), now).unwrap();
    }
    assert_eq!(core.mempool_len(), 6);
    // Six transactions in blocks of three: two blocks, then nothing.
    assert_eq!(core.produce().unwrap(), Some(1));
    assert_eq!(core.produce().unwrap(), Some(2));
    assert_eq!(core.produce().unwrap(), None);
    assert_eq!(core.mempool_len(), 0);
    assert!(matches!(core.status(&id).unwrap(), TxStatus::Committed(l) if l.height == 1));

    // A refused transaction on its own leaves no empty block.
    let err = core
        .submit(access(&chain, &a, 5, "replay"), now)
        .unwrap_err();
    assert!(matches!(err, NodeError::Rejected(_)), "{err:?}");
    assert_eq!(core.produce().unwrap(), None);
    assert_eq!(core.height(), 2);

    // Reopening replays and re-verifies every stored block.
    let state = core.state().clone();
    drop(core);
    let again = open(&dir, &chain, 3);
    assert_eq!(again.height(), 2);
    assert_eq!(again.state().digest().unwrap(), state.digest().unwrap());
    assert_eq!(again.state().access_log.len(), 5);
    drop(again);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn blocks_are_stored_without_the_lock_and_a_failed_write_loses_nothing() {
    let dir = std::env::temp_dir().join(format!("govchain-sealing-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let chain: ChainId = "open-blocks".parse().unwrap();
    let mut core = with_officials(&dir, &chain, &["a", "b"]);
    let now = core.now();
    // Block 1 is being written; meanwhile admission goes on into block 2,
    // which follows block 1's state (official "a" is known there).
    let job = core.begin_block().expect("an open block");
    assert!(core.begin_block().is_none(), "one block at a time");
    let (id, _) = core
        .submit(access(&chain, &key("a"), 1, "while sealing"), now)
        .unwrap();
    assert_eq!(core.status(&id).unwrap(), TxStatus::Pending);
    // A write that fails (injected by a trigger) leaves the block open.
    let db = rusqlite::Connection::open(dir.join("node.db")).unwrap();
    db.execute_batch(
        "CREATE TRIGGER fail BEFORE INSERT ON blocks BEGIN SELECT RAISE(ABORT, 'injected'); END;",
    )
    .unwrap();
    let err = core.finish_block(job.seal_and_store()).unwrap_err();
    assert!(err.to_string().contains("injected"), "{err}");
    assert_eq!(core.height(), 0);
    assert_eq!(core.mempool_len(), 3);
    assert_eq!(core.status(&id).unwrap(), TxStatus::Pending);
    db.execute_batch("DROP TRIGGER fail;").unwrap();
    drop(db);
    // Retried: the same block 1, then block 2.
    assert_eq!(core.produce().unwrap(), Some(1));
    assert_eq!(core.produce().unwrap(), Some(2));
    assert_eq!(core.produce().unwrap(), None);
    assert!(matches!(core.status(&id).unwrap(), TxStatus::Committed(l) if l.height == 2));
    let digest = core.state().digest().unwrap();
    drop(core);
    let again = open(&dir, &chain, 2);
    assert_eq!(again.height(), 2);
    assert_eq!(again.state().digest().unwrap(), digest);
    drop(again);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_node_retries_a_block_it_could_not_store() {
    let dir = std::env::temp_dir().join(format!("govchain-retry-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let chain: ChainId = "open-blocks".parse().unwrap();
    let node = support::serve(open(&dir, &chain, 100), 5).await;
    let db = rusqlite::Connection::open(dir.join("node.db")).unwrap();
    db.execute_batch(
        "CREATE TRIGGER fail BEFORE INSERT ON blocks BEGIN SELECT RAISE(ABORT, 'disk on fire'); END;",
    )
    .unwrap();
    let admin = key("d-admin");
    let reg = tx(
        &chain,
        &admin,
        2,
        "official.register",
        json!({"department": "d", "name": "a", "public_key": key("a").public_key()}),
    );
    let r = reqwest::Client::new()
        .post(format!("{}/v1/tx", node.url))
        .json(&reg)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Production fails and says so; the transaction stays pending.
    let mut h = Value::Null;
    for _ in 0..200 {
        h = support::health(&node.url).await;
        if h["status"] == "degraded" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(h["status"], "degraded", "{h}");
    assert!(h["error"].as_str().unwrap().contains("disk on fire"), "{h}");
    assert_eq!(
        (h["height"].as_u64(), h["mempool"].as_u64()),
        (Some(0), Some(1))
    );
    let metrics = reqwest::get(format!("{}/metrics", node.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !metrics.contains("govchain_production_errors_total 0\n"),
        "{metrics}"
    );
    // The disk recovers: the same block is stored, the node is healthy.
    db.execute_batch("DROP TRIGGER fail;").unwrap();
    drop(db);
    for _ in 0..700 {
        h = support::health(&node.url).await;
        if h["height"] == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(
        (h["status"].as_str(), h["height"].as_u64()),
        (Some("ok"), Some(1)),
        "{h}"
    );
    node.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// A node whose department's node is retired on the chain proposes no
/// further block (its key would be refused as proposer) and refuses new
/// submissions; the block that retires it is its last.
#[tokio::test]
async fn a_retired_node_stops_proposing() {
    let dir = std::env::temp_dir().join(format!("govchain-retired-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let chain: ChainId = "retired".parse().unwrap();
    let core = Core::open(
        &dir.join("node.db"),
        key("node-d"),
        "node-d",
        Some(&genesis(&chain, "govchain/retired", &["d", "e"], T0)),
        Limits::default(),
    )
    .unwrap();
    assert!(core.may_propose());
    let node = support::serve(core, 10).await;
    let http = reqwest::Client::new();
    let submit = |env: Envelope| {
        let (http, url) = (http.clone(), node.url.clone());
        async move {
            http.post(format!("{url}/v1/tx"))
                .body(serde_json::to_vec(&env).unwrap())
                .send()
                .await
                .unwrap()
        }
    };
    let retire = tx(
        &chain,
        &key("d-admin"),
        2,
        "department.retire_node",
        json!({"department": "d"}),
    );
    assert!(submit(retire).await.status().is_success());
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while support::health(&node.url).await["height"] != 1 {
        assert!(
            std::time::Instant::now() < until,
            "the retiring block was not made"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let after = tx(
        &chain,
        &key("e-admin"),
        1,
        "access.record",
        json!({"entries": [{"dataset": "d/x", "operation": "read", "subject": null,
                            "purpose": "p", "at": "2026-11-24T08:00:00.000Z"}]}),
    );
    let refused = submit(after).await;
    assert_eq!(refused.status().as_u16(), 503);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "node.halted", "{body}");
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(support::health(&node.url).await["height"], 1);
    node.stop().await;
}

/// A block also closes at `max_block_bytes` of signed bodies: here about two
/// transactions' worth, so five make three blocks.
#[test]
fn blocks_are_also_cut_by_size() {
    let dir = std::env::temp_dir().join(format!("govchain-block-bytes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let chain: ChainId = "open-blocks".parse().unwrap();
    let admin = key("d-admin");
    let one = access(&chain, &admin, 2, "size");
    let size = one.body.signed_message().unwrap().len() + 64;
    let mut core = Core::open(
        &dir.join("node.db"),
        key("node-d"),
        "node-d",
        Some(&genesis(&chain, "govchain/open-blocks", &["d"], T0)),
        Limits {
            max_block_bytes: 2 * size,
            ..Limits::default()
        },
    )
    .unwrap();
    let now = core.now();
    assert!(!core.full_block_waiting());
    core.submit(one, now).unwrap();
    assert!(!core.full_block_waiting());
    for seq in 3..=6 {
        core.submit(access(&chain, &admin, seq, "size"), now)
            .unwrap();
    }
    assert!(core.full_block_waiting());
    assert_eq!(core.produce().unwrap(), Some(1));
    assert_eq!(core.produce().unwrap(), Some(2));
    assert_eq!(core.produce().unwrap(), Some(3));
    assert_eq!(core.produce().unwrap(), None);
    assert_eq!(core.log_size(), 6);
    drop(core);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A cluster leader's pipeline: the next block is sealed on top of the one
/// proposed before it, while that one replicates; each is recognized as
/// this node's own when the log applies it, also when the second is
/// proposed in the moment between applying the first and making it the
/// head; no third block is taken while two are proposed.
#[test]
fn a_leader_seals_the_next_block_while_the_last_replicates() {
    let dir = std::env::temp_dir().join(format!("govchain-pipeline-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let chain: ChainId = "open-blocks".parse().unwrap();
    // Blocks 1 and 2 (two registrations each) and block 3 (one).
    let mut core = with_officials(&dir, &chain, &["a", "b", "c", "e", "f"]);
    let first = core.begin_proposal().expect("an open block");
    assert!(
        core.begin_proposal().is_none(),
        "the block before is not proposed yet"
    );
    let b1 = core.propose(first.seal().unwrap()).unwrap();
    let second = core.begin_proposal().expect("a second block in flight");
    let p2 = second.seal().unwrap();
    // The log applies block 1 while block 2 is sealed.
    let job = core
        .begin_apply(b1.clone())
        .unwrap()
        .expect("block 1 applies");
    assert!(
        core.begin_proposal().is_none(),
        "block 1 is applied but not the head yet"
    );
    let b2 = core
        .propose(p2)
        .expect("block 2 is still this node's to propose");
    core.finish_block(job.run().unwrap()).unwrap();
    assert_eq!(core.height(), 1);
    assert_eq!(b2.header.height, 2);
    assert_eq!(b2.header.prev_hash, b1.header.hash().unwrap());
    let third = core.begin_proposal().expect("block 3 follows block 2");
    let b3 = core.propose(third.seal().unwrap()).unwrap();
    assert_eq!(b3.header.prev_hash, b2.header.hash().unwrap());
    assert!(
        core.begin_proposal().is_none(),
        "two blocks proposed: no third"
    );
    for b in [b2, b3] {
        let job = core.begin_apply(b).unwrap().expect("applies");
        core.finish_block(job.run().unwrap()).unwrap();
    }
    assert_eq!(core.height(), 3);
    assert_eq!(core.mempool_len(), 0);
    let digest = core.state().digest().unwrap();
    drop(core);
    // Stored as made: a restart verifies the chain to the same state.
    let again = open(&dir, &chain, 2);
    assert_eq!(again.height(), 3);
    assert_eq!(again.state().digest().unwrap(), digest);
    let _ = std::fs::remove_dir_all(&dir);
}
