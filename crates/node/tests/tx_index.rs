//! The transaction id index (`store/tx_ids.rs`): every committed
//! transaction is found by its id whether its id still waits in memory or
//! was merged into `tx_ids`, after a restart, after an 8-byte prefix
//! collision, and after a schema-4 database is migrated.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use govchain_ledger::crypto::SecretKey;
use govchain_ledger::types::{ChainId, Hash32, Timestamp};
use govchain_node::chain::TxStatus;
use govchain_node::{Core, Limits};
use serde_json::json;

mod support;
use support::{genesis, key};

const T0: i64 = 1_795_000_000_000;
const DEPTS: [&str; 2] = ["city-management", "fire"];
/// More blocks than the index has slices (64), so ids have been merged,
/// and some still wait.
const BLOCKS: usize = 150;

fn chain() -> ChainId {
    "txindex".parse().unwrap()
}

fn open(db: &std::path::Path) -> Core {
    Core::open(
        db,
        key("node-city-management"),
        "node.cm.example",
        Some(&genesis(&chain(), "govchain.example/txindex", &DEPTS, T0)),
        Limits::default(),
    )
    .unwrap()
}

fn submit(
    core: &mut Core,
    who: &SecretKey,
    seq: u64,
    kind: &str,
    payload: serde_json::Value,
) -> Hash32 {
    let env = support::tx(&chain(), who, seq, kind, payload, T0);
    let id = env.id().unwrap();
    let now = core.now();
    core.submit(env, now).unwrap();
    id
}

/// Every id is committed where its block says.
fn assert_all_found(core: &Core, ids: &[Hash32]) {
    for id in ids {
        let TxStatus::Committed(loc) = core.status(id).unwrap() else {
            panic!("{id} not found");
        };
        let block = core.reads().block(loc.height).unwrap().unwrap();
        assert_eq!(block.txs[loc.index].id().unwrap(), *id);
    }
}

fn count(db: &std::path::Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn every_committed_transaction_is_found_by_its_id() {
    let dir = std::env::temp_dir().join(format!("govchain-txindex-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("chain.sqlite");
    let mut core = open(&db);
    let admin = key("city-management-admin");
    let zhang = key("zhang");
    let mut ids = vec![submit(
        &mut core,
        &admin,
        2,
        "official.register",
        json!({"department": "city-management", "name": "zhang", "public_key": zhang.public_key()}),
    )];
    core.produce().unwrap();
    let mut seq = 0;
    for b in 0..BLOCKS {
        for _ in 0..=(b % 3) {
            seq += 1;
            let entry = json!({"dataset": "fund/accounts", "operation": "read", "purpose": "audit", "at": Timestamp::from_unix_millis(T0).unwrap()});
            ids.push(submit(
                &mut core,
                &zhang,
                seq,
                "access.record",
                json!({"entries": [entry]}),
            ));
        }
        core.produce().unwrap();
    }
    assert_all_found(&core, &ids);
    // Most ids are merged; the rest wait in memory (at most 64 blocks).
    let merged = count(&db, "SELECT COUNT(*) FROM tx_ids");
    let all = count(&db, "SELECT COUNT(*) FROM txs");
    assert!(merged > all / 2 && merged < all, "{merged} of {all} merged");
    // An id never committed is unknown, as is one sharing a committed
    // one's 8-byte prefix.
    let mut twin = ids[10];
    twin.0[31] ^= 1;
    assert_eq!(core.status(&twin).unwrap(), TxStatus::Unknown);
    assert_eq!(core.status(&Hash32([7; 32])).unwrap(), TxStatus::Unknown);
    drop(core);

    // A restart reads the waiting ids back from the stored transactions.
    let core = open(&db);
    assert_all_found(&core, &ids);
    drop(core);

    // Two ids with the same prefix: each lookup compares the whole id.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "INSERT INTO tx_ids (prefix, leaf) SELECT prefix, leaf + 1 FROM tx_ids WHERE leaf > 5",
    )
    .unwrap();
    drop(conn);
    let core = open(&db);
    assert_all_found(&core, &ids);
    drop(core);

    // A schema-4 database (the id was `txs`'s primary key) is migrated.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "BEGIN;
         CREATE TABLE old_txs (id BLOB PRIMARY KEY, height INTEGER NOT NULL REFERENCES blocks(height),
             idx INTEGER NOT NULL, leaf_index INTEGER NOT NULL UNIQUE, kind TEXT NOT NULL,
             signer BLOB NOT NULL, leaf_hash BLOB);
         INSERT INTO old_txs SELECT id, height, idx, leaf_index, kind, signer, leaf_hash FROM txs;
         DROP TABLE txs; ALTER TABLE old_txs RENAME TO txs;
         CREATE INDEX txs_signer ON txs(signer);
         DROP TABLE tx_ids; DROP TABLE case_waiting; DROP TABLE case_waiting_built; DROP TABLE tx_ids_merged;
         PRAGMA user_version = 4;
         COMMIT;",
    )
    .unwrap();
    drop(conn);
    let core = open(&db);
    assert_all_found(&core, &ids);
    drop(core);
    assert_eq!(count(&db, "PRAGMA user_version"), 6);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM tx_ids"), all);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 'txs_signer'"
        ),
        0
    );
    let _ = std::fs::remove_dir_all(&dir);
}
