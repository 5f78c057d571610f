//! Back-pressure: admission is bounded by queueing delay. Beyond the bound a
//! submission is refused `429 node.busy` with a `Retry-After` header (a
//! batch admits what fits and refuses the rest entry by entry); every
//! accepted transaction commits, and once the mempool drains submissions are
//! accepted again. `429 node.rate_limited` carries `Retry-After` too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use govchain_ledger::crypto::SecretKey;
use govchain_ledger::tx::Envelope;
use govchain_ledger::types::ChainId;
use govchain_ledger::ErrorCode as _;
use govchain_node::{Core, Limits, NodeError, TxStatus};
use serde_json::{json, Value};

mod support;
use support::{genesis, health, key, serve};

fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("govchain-busy-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `d-admin` registers official `o<seq>` (its genesis transaction used seq 1).
fn register(chain: &ChainId, admin: &SecretKey, seq: u64, t0: i64) -> Envelope {
    let name = format!("o{seq}");
    support::tx(
        chain,
        admin,
        seq,
        "official.register",
        json!({"department": "d", "name": name, "public_key": key(&name).public_key()}),
        t0,
    )
}

fn open(dir: &std::path::Path, chain: &ChainId, t0: i64, limits: Limits) -> Core {
    Core::open(
        &dir.join("node.db"),
        key("node-d"),
        "node-d",
        Some(&genesis(chain, "govchain/busy", &["d"], t0)),
        limits,
    )
    .unwrap()
}

/// A small queue bound (`min_queue` 3, no commit rate known yet): the fourth
/// submission is `node.busy` (429, retry after at least 1 s) and not
/// remembered; a busy node still answers `committed` for a committed one;
/// after a block, submissions are accepted again.
#[test]
fn the_core_refuses_beyond_its_bound_and_accepts_after_a_block() {
    let dir = temp_dir("core");
    let chain: ChainId = "busy".parse().unwrap();
    let t0 = now_ms() - 1000;
    let limits = Limits {
        min_queue: 3,
        ..Limits::default()
    };
    let mut core = open(&dir, &chain, t0, limits);
    let admin = key("d-admin");
    let now = core.now();
    for seq in 2..=4 {
        core.submit(register(&chain, &admin, seq, t0), now).unwrap();
    }
    assert_eq!(core.admission_bound(), 3);
    let refused = register(&chain, &admin, 5, t0);
    let err = core.submit(refused.clone(), now).unwrap_err();
    assert!(
        matches!(err, NodeError::Busy { pending: 3, retry_after } if retry_after >= 1),
        "{err:?}"
    );
    assert_eq!(err.code(), "node.busy");
    assert_eq!(err.status().as_u16(), 429);
    assert!(err.retry_after().unwrap() >= 1);
    assert_eq!(
        core.status(&refused.id().unwrap()).unwrap(),
        TxStatus::Unknown,
        "a busy refusal is not a rejection"
    );
    core.produce().unwrap().unwrap();
    assert_eq!(core.mempool_len(), 0);
    core.submit(refused, now).unwrap();
    // Fill the mempool again: a committed transaction is still `committed`.
    for seq in 6..=7 {
        core.submit(register(&chain, &admin, seq, t0), now).unwrap();
    }
    let (_, s) = core.submit(register(&chain, &admin, 2, t0), now).unwrap();
    assert!(matches!(s, TxStatus::Committed(_)), "{s:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Room promised to a submission while its signatures are checked is
/// given back if the submission is dropped (its client went away): the
/// node does not shrink its mempool for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_submission_gives_its_room_back() {
    let dir = temp_dir("dropped");
    let chain: ChainId = "busy".parse().unwrap();
    let t0 = now_ms() - 1000;
    let limits = Limits {
        min_queue: 2,
        ..Limits::default()
    };
    let node = govchain_node::NodeHandle::from(open(&dir, &chain, t0, limits));
    let admin = key("d-admin");
    let envs = vec![
        register(&chain, &admin, 2, t0),
        register(&chain, &admin, 3, t0),
    ];
    // Polled once (it promises the room and starts checking), then dropped.
    let mut first = Box::pin(node.admit(envs.clone()));
    assert!(
        futures_util::poll!(&mut first).is_pending(),
        "the signature check finished at once"
    );
    assert_eq!(node.lock().unwrap().queue_room(), 0, "the room is promised");
    drop(first);
    assert_eq!(node.lock().unwrap().queue_room(), 2);
    let admitted = node.admit(envs).await.unwrap();
    assert!(admitted
        .iter()
        .all(|a| matches!(a, Ok((_, TxStatus::Pending)))));
    drop(node);
    let _ = std::fs::remove_dir_all(&dir);
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    body: &impl serde::Serialize,
) -> (u16, Option<u64>, Value) {
    let r = client.post(url).json(body).send().await.unwrap();
    let status = r.status().as_u16();
    let retry_after = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
    (status, retry_after, r.json().await.unwrap())
}

async fn tx_status(client: &reqwest::Client, url: &str, id: impl std::fmt::Display) -> Value {
    client
        .get(format!("{url}/v1/tx/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Waits until the node's mempool is empty.
async fn drain(url: &str, deadline: Instant) {
    while health(url).await["mempool"] != 0 {
        assert!(Instant::now() < deadline, "the mempool did not drain");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Slow blocks (one every 2 s) and a queue bound of 8: a flood of 20
/// submissions in a batch admits 8 and answers `node.busy` for the other 12
/// (with `Retry-After` on the answer); single submissions and whole batches
/// meanwhile get `429 node.busy` with `Retry-After`. Every accepted one commits; after the
/// drain, the refused ones are accepted (honouring `Retry-After`) and commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_is_pushed_back_and_what_was_accepted_commits() {
    let dir = temp_dir("flood");
    let chain: ChainId = "busy".parse().unwrap();
    let t0 = now_ms() - 1000;
    let limits = Limits {
        min_queue: 8,
        requests_per_sec: 0,
        ..Limits::default()
    };
    let node = serve(open(&dir, &chain, t0, limits), 2000).await;
    let url = node.url.clone();
    let client = reqwest::Client::new();
    let admin = key("d-admin");
    let envs: Vec<Envelope> = (2..22)
        .map(|seq| register(&chain, &admin, seq, t0))
        .collect();

    // A 21st entry whose signature is another's: beyond the bound, it is
    // refused busy without its signature being checked.
    let mut flood = envs.clone();
    let mut forged = register(&chain, &admin, 22, t0);
    forged.sig = envs[0].sig;
    flood.push(forged);
    let (status, retry_after, answers) = post(&client, &format!("{url}/v1/txs"), &flood).await;
    assert_eq!(status, 200, "{answers}");
    let answers = answers.as_array().unwrap();
    assert_eq!(answers.len(), 21);
    assert_eq!(answers[20]["code"], "node.busy", "{answers:?}");
    let answers = &answers[..20];
    let accepted: Vec<&Value> = answers
        .iter()
        .filter(|a| a["status"] == "pending")
        .collect();
    let refused: Vec<usize> = (0..20)
        .filter(|&i| answers[i]["status"] == "error")
        .collect();
    assert_eq!(accepted.len(), 8, "{answers:?}");
    assert_eq!(refused.len(), 12, "{answers:?}");
    assert!(refused
        .iter()
        .all(|&i| answers[i]["code"] == "node.busy" && i >= 8));
    assert!(retry_after.is_some_and(|s| s >= 1), "{retry_after:?}");

    // Single submissions while the mempool is full: 429 node.busy (unless
    // a block was committed meanwhile). The next in sequence each time: a
    // later one admitted before it would leave a gap that it could never
    // fill (`tx.replayed`).
    let mut singles = Vec::new();
    for _ in 0..3 {
        singles.push(post(&client, &format!("{url}/v1/tx"), &envs[refused[0]]).await);
    }
    if health(&url).await["height"] == 0 {
        for (status, retry_after, body) in &singles {
            assert_eq!(*status, 429, "{body}");
            assert_eq!(body["code"], "node.busy");
            assert!(
                retry_after.is_some_and(|s| (1..=30).contains(&s)),
                "{retry_after:?}"
            );
        }
    }
    // A refusal is not remembered.
    let id = envs[refused[5]].id().unwrap();
    let s = tx_status(&client, &url, id).await;
    assert_eq!(s["status"], "unknown");
    // A batch while the mempool is full: refused whole, unread.
    let (status, retry_after, body) = post(
        &client,
        &format!("{url}/v1/txs"),
        &envs[refused[0]..].to_vec(),
    )
    .await;
    if health(&url).await["height"] == 0 {
        assert_eq!(status, 429, "{body}");
        assert_eq!(body["code"], "node.busy");
        assert!(retry_after.is_some_and(|s| s >= 1), "{retry_after:?}");
    }

    // Every accepted transaction commits.
    let deadline = Instant::now() + Duration::from_secs(40);
    drain(&url, deadline).await;
    for a in &accepted {
        let id = a["id"].as_str().unwrap();
        let s = tx_status(&client, &url, id).await;
        assert_eq!(s["status"], "committed", "{s}");
    }

    // After the drain: accepted again.
    let todo: Vec<Envelope> = refused.iter().map(|&i| envs[i].clone()).collect();
    resubmit(&client, &url, todo, deadline).await;
    drain(&url, deadline).await;
    assert_eq!(
        health(&url).await["log_size"],
        21,
        "genesis and 20 registrations"
    );
    node.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// `429 node.rate_limited` says when to retry too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_answer_carries_retry_after() {
    let dir = temp_dir("rate");
    let chain: ChainId = "busy".parse().unwrap();
    let limits = Limits {
        requests_per_sec: 1,
        ..Limits::default()
    };
    let node = serve(open(&dir, &chain, now_ms() - 1000, limits), 50).await;
    let client = reqwest::Client::new();
    let mut limited = None;
    for _ in 0..10 {
        let r = client
            .get(format!("{}/healthz", node.url))
            .send()
            .await
            .unwrap();
        if r.status().as_u16() == 429 {
            limited = Some(r);
            break;
        }
    }
    let r = limited.expect("a burst over twice the rate is limited");
    assert_eq!(r.headers()["retry-after"], "1");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["code"], "node.rate_limited");
    node.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Resubmits `todo` until all of it is accepted, waiting `Retry-After`
/// whenever some are refused; the first answer, after a drain, takes the
/// first 8 (the queue bound).
async fn resubmit(client: &reqwest::Client, url: &str, mut todo: Vec<Envelope>, deadline: Instant) {
    let mut first = true;
    while !todo.is_empty() {
        assert!(
            Instant::now() < deadline,
            "the refused ones were never accepted"
        );
        let (status, retry_after, answers) = post(client, &format!("{url}/v1/txs"), &todo).await;
        if status == 429 && !first {
            // Nothing fitted: the whole batch again, later.
            assert_eq!(answers["code"], "node.busy", "{answers}");
            let secs = retry_after.expect("a busy answer says when to retry");
            tokio::time::sleep(Duration::from_secs(secs.min(5))).await;
            continue;
        }
        assert_eq!(status, 200, "{answers}");
        let answers = answers.as_array().unwrap();
        if first {
            assert!(
                answers
                    .iter()
                    .take(8)
                    .all(|a| a["status"] == "pending" || a["status"] == "committed"),
                "{answers:?}"
            );
            first = false;
        }
        let mut left = Vec::new();
        for (a, env) in answers.iter().zip(&todo) {
            match a["status"].as_str().unwrap() {
                "pending" | "committed" => {}
                _ => {
                    assert_eq!(a["code"], "node.busy", "{a}");
                    left.push(env.clone());
                }
            }
        }
        if !left.is_empty() {
            let secs = retry_after.expect("a busy answer says when to retry");
            tokio::time::sleep(Duration::from_secs(secs.min(5))).await;
        }
        todo = left;
    }
}

/// A follower passes the leader's `429 node.busy` and its `Retry-After` on
/// (and a batch answer's `Retry-After`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_relays_the_leaders_busy_answer() {
    let dir = temp_dir("relay");
    let chain: ChainId = "busy".parse().unwrap();
    let t0 = now_ms() - 1000;
    let limits = Limits {
        min_queue: 2,
        requests_per_sec: 0,
        ..Limits::default()
    };
    let leader = serve(open(&dir, &chain, t0, limits), 5000).await;
    let follower_dir = temp_dir("relay-follower");
    let mut core = open(&follower_dir, &chain, t0, Limits::default());
    core.set_role(govchain_node::chain::Role::Follower {
        leader_url: Some(leader.url.clone()),
    });
    let follower = serve(core, 5000).await;
    let client = reqwest::Client::new();
    let admin = key("d-admin");
    let envs: Vec<Envelope> = (2..6)
        .map(|seq| register(&chain, &admin, seq, t0))
        .collect();
    let (status, retry_after, answers) = post(
        &client,
        &format!("{}/v1/txs", follower.url),
        &envs[..3].to_vec(),
    )
    .await;
    assert_eq!(status, 200, "{answers}");
    assert_eq!(answers[0]["status"], "pending", "{answers}");
    assert_eq!(answers[1]["status"], "pending", "{answers}");
    assert_eq!(answers[2]["code"], "node.busy", "{answers}");
    assert!(retry_after.is_some_and(|s| s >= 1), "{retry_after:?}");
    let (status, retry_after, body) =
        post(&client, &format!("{}/v1/tx", follower.url), &envs[3]).await;
    if health(&leader.url).await["height"] == 0 {
        assert_eq!(status, 429, "{body}");
        assert_eq!(body["code"], "node.busy");
        assert!(retry_after.is_some_and(|s| s >= 1), "{retry_after:?}");
    }
    follower.stop().await;
    leader.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&follower_dir);
}
