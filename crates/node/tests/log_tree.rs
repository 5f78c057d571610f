//! The log's tree as a node holds it (`CompactTree`, from `LOG_FLOOR` up):
//! after more than a few chunks of 256 transactions, every inclusion and
//! consistency proof the node serves — for old leaves it no longer holds,
//! before and after a restart — is the one a whole tree over the stored
//! leaves gives, and a stored leaf hash altered on disk makes the proofs
//! that read it fail with `node.state_mismatch` instead of serving a wrong
//! path.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use govchain_ledger::block::Block;
use govchain_ledger::merkle::MerkleTree;
use govchain_ledger::types::ChainId;
use govchain_ledger::ErrorCode as _;
use govchain_node::{Core, Limits};

mod support;
use support::{genesis, key};

const T0: i64 = 1_795_000_000_000;

fn chain() -> ChainId {
    "log-tree".parse().unwrap()
}

fn block0() -> Block {
    genesis(&chain(), "govchain.example/log-tree", &["d"], T0)
}

fn open(db: &std::path::Path) -> Core {
    Core::open(
        db,
        key("node-d"),
        "node.d.example",
        Some(&block0()),
        Limits::default(),
    )
    .unwrap()
}

/// Every proof `core` serves at sizes around chunk edges equals `whole`'s.
fn proofs_match(core: &Core, whole: &MerkleTree) {
    let n = whole.len();
    assert_eq!(core.log_size(), n);
    let reads = core.reads();
    let sizes = [1, 255, 256, 257, 511, 512, 700, n - 1, n];
    for &size in sizes.iter().filter(|&&s| s <= n) {
        for index in [0, 1, 128, 255, 256, 300, size / 2, size - 1] {
            if index >= size {
                continue;
            }
            let id = tx_id(&reads, index);
            let (loc, leaf, proof) = core.inclusion_proof(&id, Some(size)).unwrap();
            assert_eq!(loc.leaf_index, index);
            assert_eq!(leaf, whole.leaf_hash_at(index).unwrap());
            assert_eq!(
                proof,
                whole.inclusion_proof(index, size).unwrap(),
                "{index} in {size}"
            );
        }
        for size1 in [1, 100, 256, 257, 600] {
            if size1 <= size {
                assert_eq!(
                    core.consistency_proof(size1, size).unwrap(),
                    whole.consistency_proof(size1, size).unwrap(),
                    "{size1} → {size}"
                );
            }
        }
    }
}

/// The id of the transaction at leaf `index`.
fn tx_id(reads: &govchain_node::store::ReadPool, index: u64) -> govchain_ledger::types::Hash32 {
    let mut seen = 0u64;
    for height in 0.. {
        let block = reads.block(height).unwrap().unwrap();
        let n = block.txs.len() as u64;
        if index < seen + n {
            return block.txs[usize::try_from(index - seen).unwrap()]
                .id()
                .unwrap();
        }
        seen += n;
    }
    unreachable!()
}

#[test]
fn a_node_proves_old_leaves_it_no_longer_holds_and_refuses_altered_ones() {
    let dir = std::env::temp_dir().join(format!("govchain-log-tree-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("chain.sqlite");
    let mut core = open(&db);
    let admin = key("d-admin");
    // 900 registrations in blocks of up to 200: three and a half chunks.
    for seq in 2..902u64 {
        let env = support::registration(&chain(), &admin, "d", seq, T0);
        let now = core.now();
        core.submit(env, now).unwrap();
        if seq % 200 == 0 {
            while core.produce().unwrap().is_some() {}
        }
    }
    while core.produce().unwrap().is_some() {}
    let whole = MerkleTree::from_leaf_hashes(&core.reads().leaf_hashes().unwrap().unwrap());
    assert!(whole.len() > 900);
    proofs_match(&core, &whole);
    drop(core);

    // Restarted: the same from what it stored.
    let core = open(&db);
    proofs_match(&core, &whole);

    // A leaf hash altered on disk in a finished chunk while it runs:
    // proofs that read that chunk are refused, others still served.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute(
        "UPDATE txs SET leaf_hash = zeroblob(32) WHERE leaf_index = 300",
        [],
    )
    .unwrap();
    drop(conn);
    let reads = core.reads();
    let e = core
        .inclusion_proof(&tx_id(&reads, 290), Some(whole.len()))
        .unwrap_err();
    assert_eq!(e.code(), "node.state_mismatch", "{e}");
    let e = core.consistency_proof(301, whole.len()).unwrap_err();
    assert_eq!(e.code(), "node.state_mismatch", "{e}");
    let (_, _, p) = core
        .inclusion_proof(&tx_id(&reads, 10), Some(whole.len()))
        .unwrap();
    assert_eq!(p, whole.inclusion_proof(10, whole.len()).unwrap());
    // And a start, which reads every leaf, refuses it.
    drop((core, reads));
    let e = Core::open(
        &db,
        key("node-d"),
        "node.d.example",
        Some(&block0()),
        Limits::default(),
    )
    .unwrap_err();
    assert_eq!(e.code(), "node.state_mismatch", "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
