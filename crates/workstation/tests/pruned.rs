//! A workstation configured with a consortium member that joined from a
//! snapshot (and so holds block 0 and its latest blocks only, answering
//! older ones `410 node.pruned`, PROTOCOL.md §14) and a member that holds
//! every block: its sync passes over the first for the second. With the
//! pruned member alone the error keeps the node's code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use govchain_ledger::state::kinds::Genesis;
use govchain_ledger::types::ChainId;
use govchain_node::chain::verify_snapshot;
use govchain_node::{Core, Limits};
use govchain_workstation::client::NodeClient;
use serde_json::{json, Value};

mod support;
use support::{key, register};

fn open(dir: &std::path::Path, block0: &govchain_ledger::block::Block) -> Core {
    std::fs::create_dir_all(dir).unwrap();
    Core::open(
        &dir.join("chain.sqlite"),
        key("node d0"),
        "node.d0",
        Some(block0),
        Limits::default(),
    )
    .unwrap()
}

type Server = (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), govchain_node::NodeError>>,
);

async fn serve(core: Core) -> (String, Server) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(govchain_node::run(
        l,
        Arc::new(Mutex::new(core)),
        Duration::from_millis(20),
        async {
            let _ = stopped.await;
        },
    ));
    (url, (stop, handle))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_passes_over_a_member_without_the_old_blocks() {
    let dir = std::env::temp_dir().join(format!("govchain-ws-pruned-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let chain: ChainId = "pruned".parse().unwrap();
    let departments = json!([{"id": "d0", "name": "d0", "node_key": key("node d0").public_key(),
        "admin_threshold": 1, "admins": [{"name": "admin", "public_key": key("admin d0").public_key()}]}]);
    let genesis: Genesis = serde_json::from_value(json!({"origin": "govchain.example/pruned",
        "consortium_threshold": 1, "departments": departments}))
    .unwrap();
    let now = govchain_node::api::now();
    let block0 =
        govchain_node::genesis_block(&chain, &genesis, &key("admin d0"), &key("node d0"), now)
            .unwrap();

    // A member with 8 blocks, and one that installed its snapshot of the
    // last 2.
    let mut full = open(&dir.join("full"), &block0);
    for seq in 2..10 {
        let env = register(&chain, seq);
        let t = full.now();
        full.submit(env, t).unwrap();
        full.produce().unwrap().unwrap();
    }
    let snap = dir.join("snapshot.jsonl");
    full.reads().snapshot_file(2, &snap).unwrap();
    let mut pruned = open(&dir.join("pruned"), &block0);
    let checked = verify_snapshot(&snap, &block0).unwrap();
    pruned.install_snapshot(&snap, checked).unwrap();
    let (full_url, full_server) = serve(full).await;
    let (pruned_url, pruned_server) = serve(pruned).await;

    let alone = NodeClient::new(vec![pruned_url.clone()]).unwrap();
    let e = alone.blocks(1, 100).await.unwrap_err();
    assert_eq!(e.body().code, "node.pruned", "{e}");
    // Its own blocks it serves.
    let (_, page) = alone.blocks(7, 100).await.unwrap();
    assert_eq!(page.height, 8);

    let both = NodeClient::new(vec![pruned_url, full_url.clone()]).unwrap();
    let (from, page) = both.blocks(1, 100).await.unwrap();
    assert_eq!(from, full_url);
    let first: Value = serde_json::from_str(page.blocks[0].get()).unwrap();
    assert_eq!(first["header"]["height"], 1);
    assert_eq!(both.current(), Some(full_url.as_str()));

    for (stop, handle) in [full_server, pruned_server] {
        let _ = stop.send(());
        let _ = handle.await;
    }
    let _ = std::fs::remove_dir_all(&dir);
}
