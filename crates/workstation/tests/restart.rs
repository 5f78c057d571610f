//! A restart reads the verified state the cache stored with its blocks
//! instead of re-applying every block; a stored state that does not match
//! the last cached block is rebuilt from the blocks (with an alarm), and a
//! cache from before states were stored gets one. Needs no keychain.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;

use govchain_ledger::types::Hash32;
use govchain_workstation::demo::DemoNode;
use govchain_workstation::Workstation;

fn open(dir: &Path) -> Workstation {
    Workstation::open(dir, "govchain-test-unused", Arc::new(|_| {})).unwrap()
}

/// The verified chain's state root, height and log root.
fn head(ws: &Workstation) -> (Hash32, Option<u64>, Hash32) {
    ws.with_chain(|c| (c.state.state_root(), c.height(), c.cursor.log.root()))
        .unwrap()
        .unwrap()
}

/// How often each alarm code was raised.
fn alarms(ws: &Workstation) -> Vec<(String, u32)> {
    let mut seen: std::collections::BTreeMap<String, u32> = std::collections::BTreeMap::new();
    for a in ws.status().unwrap().alarms {
        *seen.entry(a.code).or_default() += a.count;
    }
    seen.into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_reads_the_stored_state_and_rebuilds_a_bad_one() {
    let base = std::env::temp_dir().join(format!("govchain-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let node = DemoNode::start(&base.join("node")).await.unwrap();
    let dir = base.join("ws");
    let ws = open(&dir);
    ws.set_nodes(vec![node.url().to_owned()]).await.unwrap();
    ws.sync().await.unwrap();
    let synced = head(&ws);
    let (_, Some(top), _) = synced else {
        panic!("nothing synced")
    };
    let search = ws.search(&ws.block_detail(1).unwrap().txs[0].id).unwrap();
    let cache =
        govchain_workstation::chains::cache_path(&dir, &ws.active_chain().unwrap().unwrap());
    drop(ws);
    let db = rusqlite::Connection::open(&cache).unwrap();
    let sql = |q: &str| db.execute_batch(q).unwrap();

    // The stored state is read back, not recomputed: with the last block's
    // body damaged (a replay would refuse it), the chain is still there,
    // the same, with no alarm; transactions are found by id as before.
    let body: String = db
        .query_row("SELECT block FROM blocks WHERE height = ?1", [top], |r| {
            r.get(0)
        })
        .unwrap();
    db.execute("UPDATE blocks SET block = '{}' WHERE height = ?1", [top])
        .unwrap();
    let ws = open(&dir);
    assert_eq!(head(&ws), synced);
    assert!(alarms(&ws).is_empty(), "{:?}", alarms(&ws));
    assert_eq!(ws.search(&search[0].key).unwrap(), search);
    drop(ws);
    db.execute(
        "UPDATE blocks SET block = ?1 WHERE height = ?2",
        rusqlite::params![body, top],
    )
    .unwrap();

    // A damaged state row: rebuilt from the blocks, with an alarm, and
    // stored again, so the next start reads it without one.
    sql("UPDATE state_entries SET value = CAST('{}' AS BLOB) WHERE key = (SELECT MIN(key) FROM state_entries WHERE key LIKE 'case/%')");
    let ws = open(&dir);
    assert_eq!(head(&ws), synced);
    assert_eq!(alarms(&ws), vec![("cache.state_mismatch".to_owned(), 1)]);
    drop(ws);
    let ws = open(&dir);
    assert_eq!(alarms(&ws), vec![("cache.state_mismatch".to_owned(), 1)]);
    drop(ws);

    // A row the state does not have, and a stale log frontier: the same.
    sql("INSERT INTO state_entries (key, value) VALUES ('case/ZZ-EXTRA', CAST('{}' AS BLOB))");
    let ws = open(&dir);
    assert_eq!(head(&ws), synced);
    assert_eq!(alarms(&ws), vec![("cache.state_mismatch".to_owned(), 2)]);
    drop(ws);
    sql("UPDATE meta SET value = '{\"size\":1,\"peaks\":[]}' WHERE key = 'state.log_frontier'");
    let ws = open(&dir);
    assert_eq!(head(&ws), synced);
    assert_eq!(alarms(&ws), vec![("cache.state_mismatch".to_owned(), 3)]);
    drop(ws);

    // A cache from before states were stored re-applies its blocks once,
    // silently, and stores the state.
    sql("DELETE FROM state_head; UPDATE blocks SET tx_keys = NULL;");
    let ws = open(&dir);
    assert_eq!(head(&ws), synced);
    assert_eq!(alarms(&ws).len(), 1);
    drop(ws);
    let stored: u64 = db
        .query_row("SELECT height FROM state_head", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, top);

    // New blocks synced after a restart are stored with their state too.
    let ws = open(&dir);
    ws.set_nodes(vec![node.url().to_owned()]).await.unwrap();
    let key = govchain_ledger::crypto::SecretKey::from_seed(&zeroize::Zeroizing::new([77; 32]))
        .public_key();
    assert!(node.register_user(&key, "重启后登记").unwrap());
    let mut later = head(&ws);
    for _ in 0..100 {
        ws.sync().await.unwrap();
        later = head(&ws);
        if later.1 > Some(top) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(later.1 > Some(top), "no new block");
    drop(ws);
    let ws = open(&dir);
    assert_eq!(head(&ws), later);
    assert_eq!(alarms(&ws).len(), 1);
    drop(ws);
    node.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(&base);
}
