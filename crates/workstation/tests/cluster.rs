//! The workstation's node client against a consortium (three Raft members
//! in-process on loopback): it submits through any member, and when the
//! leader stops it fails over to the others until a new leader commits.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use govchain_ledger::state::kinds::Genesis;
use govchain_ledger::tx::Envelope;
use govchain_ledger::types::ChainId;
use govchain_node::cluster::{Cluster, ClusterFile, Member};
use govchain_node::{Core, Limits};
use govchain_workstation::client::{NodeClient, Submitted};
use serde_json::{json, Value};

mod support;
use support::{key, register};

async fn get(url: &str) -> Option<Value> {
    reqwest::get(url).await.ok()?.json().await.ok()
}

async fn committed_on(url: &str, env: &Envelope, within: Duration) -> bool {
    let id = env.id().unwrap().to_hex();
    let until = Instant::now() + within;
    while Instant::now() < until {
        if get(&format!("{url}/v1/tx/{id}"))
            .await
            .is_some_and(|v| v["status"] == "committed")
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

type Server = (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), govchain_node::NodeError>>,
);

/// Three departments' nodes (`d0`–`d2`) of `chain` serving as a Raft
/// cluster from `dir`: their URLs and servers.
async fn consortium(dir: &std::path::Path, chain: &ChainId) -> (Vec<String>, Vec<Option<Server>>) {
    let departments: Vec<Value> = (0..3)
        .map(|i| json!({"id": format!("d{i}"), "name": format!("d{i}"),
                        "node_key": key(&format!("node d{i}")).public_key(), "admin_threshold": 1,
                        "admins": [{"name": "admin", "public_key": key(&format!("admin d{i}")).public_key()}]}))
        .collect();
    let genesis: Genesis = serde_json::from_value(
        json!({"origin": "govchain.example/ws-cluster", "consortium_threshold": 1, "departments": departments}),
    )
    .unwrap();
    let block0 = govchain_node::genesis_block(
        chain,
        &genesis,
        &key("admin d0"),
        &key("node d0"),
        govchain_node::api::now(),
    )
    .unwrap();

    let mut listeners = Vec::new();
    for _ in 0..3 {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        listeners.push((l, url));
    }
    let urls: Vec<String> = listeners.iter().map(|(_, u)| u.clone()).collect();
    let members: Vec<Member> = (0..3)
        .map(|i| Member {
            id: i as u64 + 1,
            url: urls[i].clone(),
            name: format!("node.d{i}"),
            department: Some(format!("d{i}")),
            node_key: None,
            learner: false,
            tls_cert_sha256: None,
        })
        .collect();
    let mut servers: Vec<Option<Server>> = Vec::new();
    for (i, (listener, _)) in listeners.into_iter().enumerate() {
        let data = dir.join(format!("node{i}"));
        std::fs::create_dir_all(&data).unwrap();
        let core = Core::open(
            &data.join("chain.sqlite"),
            key(&format!("node d{i}")),
            &format!("node.d{i}"),
            Some(&block0),
            Limits {
                requests_per_sec: 0,
                ..Limits::default()
            },
        )
        .unwrap();
        let shared = Arc::new(Mutex::new(core));
        let file = ClusterFile {
            heartbeat_ms: 100,
            election_timeout_ms: 600,
            snapshot_every: 1000,
            snapshot_blocks: 256,
            snapshot_chunk_bytes: govchain_node::cluster::MAX_SNAPSHOT_CHUNK_BYTES,
            members: members.clone(),
        };
        let member = Cluster::start(
            shared.clone(),
            &data,
            Arc::new(key(&format!("node d{i}"))),
            i as u64 + 1,
            file,
        )
        .await
        .unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(govchain_node::cluster::run(
            listener,
            shared,
            member,
            Duration::from_millis(20),
            async {
                let _ = stopped.await;
            },
        ));
        servers.push(Some((stop, handle)));
    }
    (urls, servers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_fails_over_when_the_leader_stops() {
    let dir = std::env::temp_dir().join(format!("govchain-ws-cluster-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let chain: ChainId = "ws-cluster".parse().unwrap();
    let (urls, mut servers) = consortium(&dir, &chain).await;
    let until = Instant::now() + Duration::from_secs(15);
    let leader = loop {
        let mut found = None;
        for (i, url) in urls.iter().enumerate() {
            if get(&format!("{url}/healthz"))
                .await
                .is_some_and(|h| h["role"] == "leader")
            {
                found = Some(i);
            }
        }
        if let Some(l) = found {
            break l;
        }
        assert!(Instant::now() < until, "no leader");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };

    // The client lists the leader first, as an official might.
    let mut ordered = urls.clone();
    ordered.rotate_left(leader);
    let client = NodeClient::new(ordered).unwrap();
    let first = register(&chain, 2);
    assert_eq!(
        client
            .submit(&serde_json::to_string(&first).unwrap())
            .await
            .unwrap(),
        Submitted::Accepted
    );
    assert!(committed_on(&urls[leader], &first, Duration::from_secs(10)).await);

    // The leader stops; the client's next submission goes to the others,
    // passing over members without a leader until one is elected.
    let (stop, handle) = servers[leader].take().unwrap();
    let _ = stop.send(());
    handle.await.unwrap().unwrap();
    let second = register(&chain, 3);
    let text = serde_json::to_string(&second).unwrap();
    let until = Instant::now() + Duration::from_secs(15);
    loop {
        match client.submit(&text).await {
            Ok(Submitted::Accepted) => break,
            Ok(other) => panic!("refused: {other:?}"),
            Err(e) => {
                assert!(Instant::now() < until, "never accepted: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    assert_ne!(client.current(), Some(urls[leader].as_str()));
    let survivor = &urls[(leader + 1) % 3];
    assert!(committed_on(survivor, &second, Duration::from_secs(10)).await);
    assert!(committed_on(survivor, &first, Duration::from_secs(1)).await);
    for (stop, handle) in servers.into_iter().flatten() {
        let _ = stop.send(());
        handle.await.unwrap().unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}
