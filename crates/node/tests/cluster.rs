//! Consortium fault tests: three `govchain-node` processes on loopback
//! replicate one chain with Raft. Each node reaches each other node through
//! its own proxy (one per direction), which the test can cut to partition a
//! node. Afterwards every node's database is replayed and verified in full
//! (`verify_chain`, which also checks the state each node stored) and the
//! nodes' heights and state roots must agree.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::too_many_lines,
    clippy::needless_range_loop,
    clippy::format_push_string
)]

mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use govchain_ledger::crypto::SecretKey;
use govchain_ledger::tx::Envelope;
use govchain_ledger::types::ChainId;
use govchain_node::tls::verify::pinned_client_config;
use govchain_node::tls::{CertSha256, Identity};
use govchain_node::{Core, Limits};
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};

const BIN: &str = env!("CARGO_BIN_EXE_govchain-node");
const DEPTS: [&str; 3] = ["d1", "d2", "d3"];
const CHAIN: &str = "cluster-test";

/// A TCP proxy that can be cut: new connections are dropped and open ones
/// closed while it is blocked.
struct Proxy {
    addr: SocketAddr,
    blocked: tokio::sync::watch::Sender<bool>,
}

async fn proxy(to: SocketAddr) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (blocked, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let mut rx = rx.clone();
            tokio::spawn(async move {
                if *rx.borrow() {
                    return;
                }
                let Ok(mut out) = TcpStream::connect(to).await else {
                    return;
                };
                tokio::select! {
                    _ = tokio::io::copy_bidirectional(&mut inbound, &mut out) => {}
                    _ = rx.wait_for(|b| *b) => {}
                }
            });
        }
    });
    Proxy { addr, blocked }
}

/// A port free now, taken below Linux's ephemeral range (32768–60999):
/// the nodes' own outgoing connections take their local ports from that
/// range, and one of them could hold a port picked there by the time its
/// node starts listening (`Address already in use`).
fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let start = std::process::id() % 12_000;
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = u16::try_from(20_000 + (start + n * 7) % 12_000).unwrap();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// What runs as node 3, besides the three voters of `DEPTS`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fourth {
    Nothing,
    /// An auditor's read-only learner.
    Auditor,
    /// The node of a department `d4` that the chain does not have yet.
    NewDepartment,
}

struct Consortium {
    fourth: Fourth,
    /// Members serve HTTPS with their `init` certificates, pinned in the
    /// cluster files (mutual TLS).
    tls: bool,
    dir: PathBuf,
    ports: Vec<u16>,
    /// `links[(i, j)]`: how node i reaches node j.
    links: HashMap<(usize, usize), Proxy>,
    children: Vec<Option<Child>>,
}

/// Node `i`'s department, or `auditor` for an auditor's learner.
fn label(i: usize, fourth: Fourth) -> &'static str {
    match (DEPTS.get(i), fourth) {
        (Some(d), _) => d,
        (None, Fourth::NewDepartment) => "d4",
        (None, _) => "auditor",
    }
}

impl Consortium {
    /// `snapshot_every`: log entries between snapshots (and compactions).
    async fn new(name: &str, snapshot_every: u64, fourth: Fourth) -> Self {
        Self::new_with(name, snapshot_every, fourth, false).await
    }

    /// With `tls`, over mutual TLS with pinned certificates.
    async fn new_with(name: &str, snapshot_every: u64, fourth: Fourth, tls: bool) -> Self {
        let n = if fourth == Fourth::Nothing { 3 } else { 4 };
        let dir = std::env::temp_dir().join(format!("govchain-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let chain: ChainId = CHAIN.parse().unwrap();
        let block0 = support::genesis(&chain, "o", &DEPTS, govchain_node::api::now().unix_millis());
        std::fs::write(
            dir.join("block0.json"),
            serde_json::to_vec(&block0).unwrap(),
        )
        .unwrap();
        let ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
        let mut links = HashMap::new();
        for i in 0..n {
            for j in 0..n {
                if i != j {
                    let to: SocketAddr = format!("127.0.0.1:{}", ports[j]).parse().unwrap();
                    links.insert((i, j), proxy(to).await);
                }
            }
        }
        let mut pins = Vec::new();
        for i in 0..n {
            let d = label(i, fourth);
            let key = support::key(&format!("node-{d}"));
            let key_file = dir.join(format!("{d}.key"));
            std::fs::write(&key_file, hex::encode(*key.to_seed())).unwrap();
            // Key files readable by others are refused (§16.1).
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600))
                    .unwrap();
            }
            let out = Command::new(BIN)
                .args(["init", "--from-block"])
                .arg(dir.join("block0.json"))
                .arg("--data-dir")
                .arg(dir.join(d))
                .arg("--node-key")
                .arg(&key_file)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let printed = String::from_utf8(out.stdout).unwrap();
            let sha = printed
                .lines()
                .find_map(|l| l.strip_prefix("tls sha-256"))
                .unwrap();
            pins.push(CertSha256::parse(sha).unwrap());
        }
        if tls {
            TEST_PINS.lock().unwrap().extend(pins.iter().copied());
        }
        let scheme = if tls { "https" } else { "http" };
        for i in 0..n {
            let d = label(i, fourth);
            let mut toml = format!(
                "heartbeat_ms = 100\nelection_timeout_ms = 800\nsnapshot_every = {snapshot_every}\nsnapshot_blocks = 4\nsnapshot_chunk_bytes = 4096\n"
            );
            for j in 0..n {
                let dj = label(j, fourth);
                let url = if i == j {
                    format!("{scheme}://127.0.0.1:{}", ports[j])
                } else {
                    format!("{scheme}://{}", links[&(i, j)].addr)
                };
                let role = if dj == "auditor" {
                    "learner = true".to_owned()
                } else {
                    format!("department = \"{dj}\"")
                };
                toml += &format!(
                    "[[members]]\nid = {}\nurl = \"{url}\"\nname = \"node-{dj}\"\n{role}\n",
                    j + 1
                );
                if tls {
                    toml += &format!("tls_cert_sha256 = \"{}\"\n", pins[j]);
                }
            }
            std::fs::write(dir.join(format!("cluster-{d}.toml")), toml).unwrap();
        }
        let mut c = Self {
            fourth,
            tls,
            dir,
            ports,
            links,
            children: (0..n).map(|_| None).collect(),
        };
        for i in 0..n {
            c.start(i);
        }
        c
    }

    fn url(&self, i: usize) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.ports[i])
    }

    /// The voters' URLs.
    fn urls(&self) -> Vec<String> {
        (0..3).map(|i| self.url(i)).collect()
    }

    fn command(&self, i: usize) -> Command {
        let d = label(i, self.fourth);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("{d}.log")))
            .unwrap();
        let mut cmd = Command::new(BIN);
        cmd.args(["run", "--listen", &format!("127.0.0.1:{}", self.ports[i])])
            .args([
                "--name",
                &format!("node-{d}"),
                "--block-ms",
                "20",
                "--rate-limit",
                "0",
            ])
            .arg("--data-dir")
            .arg(self.dir.join(d))
            .arg("--node-key")
            .arg(self.dir.join(format!("{d}.key")))
            .args(self.tls.then_some("--tls"))
            .arg("--cluster")
            .arg(self.dir.join(format!("cluster-{d}.toml")))
            .args(["--node-id", &(i + 1).to_string()])
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log));
        cmd
    }

    fn start(&mut self, i: usize) {
        let mut child = self.command(i).spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.starts_with("listening on"), "node {i}: {line:?}");
        self.children[i] = Some(child);
    }

    /// SIGKILL.
    fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.children[i].take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    /// Cuts (or heals) every link to and from node `i`.
    fn partition(&self, i: usize, cut: bool) {
        for ((a, b), p) in &self.links {
            if *a == i || *b == i {
                p.blocked.send_replace(cut);
            }
        }
    }

    async fn leader(&self) -> Option<usize> {
        for i in 0..3 {
            if self.children[i].is_some() {
                if let Some(h) = health(&self.url(i)).await {
                    if h["role"] == "leader" {
                        return Some(i);
                    }
                }
            }
        }
        None
    }

    async fn wait_leader(&self, within: Duration) -> usize {
        let until = Instant::now() + within;
        loop {
            if let Some(l) = self.leader().await {
                return l;
            }
            assert!(Instant::now() < until, "no leader within {within:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the running nodes report the same height and head.
    async fn wait_converged(&self, within: Duration) -> u64 {
        let until = Instant::now() + within;
        loop {
            let mut heads = Vec::new();
            for i in (0..self.children.len()).filter(|&i| self.children[i].is_some()) {
                heads.push(head(&self.url(i)).await);
            }
            if heads.iter().all(|h| h.is_some() && *h == heads[0]) {
                return heads[0].as_ref().unwrap().0;
            }
            assert!(Instant::now() < until, "nodes did not converge: {heads:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops every node and verifies each database but `skip`'s in full
    /// (every block replayed, the stored state compared); all heights and
    /// state roots must be equal.
    fn verify_all(&mut self, skip: &[usize]) -> u64 {
        for i in 0..self.children.len() {
            self.kill(i);
        }
        let mut seen = Vec::new();
        let checked = (0..self.children.len()).filter(|i| !skip.contains(i));
        for d in checked.map(|i| label(i, self.fourth)) {
            let r = govchain_node::verify_chain(&self.dir.join(d).join("chain.sqlite"), false)
                .unwrap_or_else(|e| panic!("{d}'s chain does not verify: {e}"));
            seen.push((r.height, r.state_root));
        }
        assert!(seen.iter().all(|s| *s == seen[0]), "{seen:?}");
        seen[0].0
    }
}

impl Drop for Consortium {
    fn drop(&mut self) {
        for c in self.children.iter_mut().flatten() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The certificates of the TLS consortia's members, which the tests'
/// client accepts (as a workstation pinning them would).
static TEST_PINS: Mutex<Vec<CertSha256>> = Mutex::new(Vec::new());

fn http() -> reqwest::Client {
    let pins = TEST_PINS.lock().unwrap().clone();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .use_preconfigured_tls(pinned_client_config(pins, None).unwrap())
        .build()
        .unwrap()
}

/// A GET's JSON answer; `None` if the node does not answer.
async fn get_json(url: &str) -> Option<Value> {
    http().get(url).send().await.ok()?.json().await.ok()
}

async fn health(url: &str) -> Option<Value> {
    get_json(&format!("{url}/healthz")).await
}

/// Height and head block hash.
async fn head(url: &str) -> Option<(u64, String)> {
    let h = health(url).await?;
    let height = h["height"].as_u64()?;
    let block = get_json(&format!("{url}/v1/blocks/{height}")).await?;
    Some((height, block["header"]["log_root"].as_str()?.to_owned()))
}

async fn tx_status(url: &str, id: &str) -> Option<String> {
    let v = get_json(&format!("{url}/v1/tx/{id}")).await?;
    v["status"].as_str().map(str::to_owned)
}

/// `n` official registrations by department `d`'s admin from `seq`.
fn registrations(d: &str, seq: u64, n: u64) -> Vec<Envelope> {
    let admin = support::key(&format!("{d}-admin"));
    let chain: ChainId = CHAIN.parse().unwrap();
    (seq..seq + n)
        .map(|s| {
            let k = support::key(&format!("official-{d}-{s}"));
            support::tx(
                &chain,
                &admin,
                s,
                "official.register",
                json!({"department": d, "name": format!("o-{d}-{s}"), "public_key": k.public_key()}),
                govchain_node::api::now().unix_millis(),
            )
        })
        .collect()
}

fn ids(envs: &[Envelope]) -> Vec<String> {
    envs.iter().map(|e| e.id().unwrap().to_hex()).collect()
}

/// Submits `envs` (one signer, consecutive sequence numbers) through any
/// node that answers — as a client with several node URLs fails over — and
/// resubmits until the last one is committed (then all are). Returns
/// whether that happened within `within`.
async fn commit(urls: &[String], envs: &[Envelope], within: Duration) -> bool {
    let body = serde_json::to_vec(envs).unwrap();
    let last = ids(envs).pop().unwrap();
    let until = Instant::now() + within;
    let mut k = 0;
    while Instant::now() < until {
        let url = &urls[k % urls.len()];
        k += 1;
        let sent = http()
            .post(format!("{url}/v1/txs"))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await;
        if !sent.is_ok_and(|r| r.status().is_success()) {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        let polled_until = Instant::now() + Duration::from_millis(1500);
        while Instant::now() < polled_until {
            if tx_status(url, &last).await.as_deref() == Some("committed") {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }
    false
}

/// Keeps each department's admin registering officials, 40 at a time,
/// until `stop`; returns the ids acknowledged as committed.
fn load(urls: Vec<String>, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<Vec<String>> {
    tokio::spawn(async move {
        let acked = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (i, d) in DEPTS.iter().enumerate() {
            let (urls, stop, acked) = (urls.clone(), stop.clone(), acked.clone());
            // The first department's admin signed the genesis (seq 1).
            let mut seq = if i == 0 { 2 } else { 1 };
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let envs = registrations(d, seq, 40);
                    // Start from a different node each time.
                    let mut order = urls.clone();
                    order.rotate_left((usize::try_from(seq / 40).unwrap() + i) % urls.len());
                    assert!(
                        commit(&order, &envs, Duration::from_secs(30)).await,
                        "{d}: batch from seq {seq} not committed within 30 s"
                    );
                    acked.lock().unwrap().extend(ids(&envs));
                    seq += 40;
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let out = acked.lock().unwrap().clone();
        out
    })
}

async fn all_committed_everywhere(c: &Consortium, acked: &[String]) {
    for i in 0..3 {
        for id in acked {
            assert_eq!(
                tx_status(&c.url(i), id).await.as_deref(),
                Some("committed"),
                "node {i} lacks acknowledged transaction {id}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_killed_under_load_fails_over_and_catches_up() {
    let mut c = Consortium::new("failover", 6, Fourth::Nothing).await;
    let leader = c.wait_leader(Duration::from_secs(15)).await;
    let stop = Arc::new(AtomicBool::new(false));
    let running = load(c.urls(), stop.clone());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = c.wait_converged(Duration::from_secs(10)).await;
    assert!(before > 0, "the load committed nothing");

    c.kill(leader);
    let killed = Instant::now();
    let next = c.wait_leader(Duration::from_secs(10)).await;
    let failover = killed.elapsed();
    assert_ne!(next, leader);
    assert!(
        failover < Duration::from_secs(5),
        "new leader after {failover:?}"
    );
    eprintln!("new leader after {failover:?}");

    // The load goes on through the survivors, then the old leader returns.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    c.start(leader);
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::SeqCst);
    let acked = running.await.unwrap();
    let height = c.wait_converged(Duration::from_secs(20)).await;
    assert!(height > before, "nothing committed after the failover");
    all_committed_everywhere(&c, &acked).await;
    assert_eq!(c.verify_all(&[]), height);
    eprintln!("{} acknowledged transactions, height {height}", acked.len());
}

/// A member down while the others commit more blocks than a snapshot
/// carries (4 here) and compact their logs past them comes back: it
/// installs the leader's snapshot — the state, the log's leaf hashes and
/// the last blocks — instead of replaying the chain, serves block 0 and
/// those blocks but not older ones (`node.pruned`), goes on applying new
/// blocks, restarts from its stored state, and its state and log check out
/// against its head block.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_far_behind_installs_a_snapshot_of_the_state() {
    let mut c = Consortium::new("snapshot", 6, Fourth::Nothing).await;
    let leader = c.wait_leader(Duration::from_secs(15)).await;
    let behind = (leader + 1) % 3;
    c.wait_converged(Duration::from_secs(10)).await;
    c.kill(behind);
    let others: Vec<String> = (0..3).filter(|&i| i != behind).map(|i| c.url(i)).collect();
    let mut old_id = None;
    for s in 2..16 {
        let one = registrations("d1", s, 1);
        old_id.get_or_insert_with(|| ids(&one).pop().unwrap());
        assert!(commit(&others, &one, Duration::from_secs(20)).await);
    }
    let top = head(&others[0]).await.unwrap().0;
    assert!(top >= 14, "{top}");
    c.start(behind);
    let height = c.wait_converged(Duration::from_secs(30)).await;
    assert!(height >= top);
    let url = c.url(behind);
    let old = http()
        .get(format!("{url}/v1/blocks/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(old.status().as_u16(), 410);
    let body: Value = old.json().await.unwrap();
    assert_eq!(body["code"], "node.pruned", "{body}");
    // The snapshot it received and installed is kept in a file of frames
    // (not in memory), whole: the receiving file became it.
    let member = c.dir.join(label(behind, c.fourth));
    let kept = member.join("raft-snapshot.jsonl");
    let mut frames = govchain_node::store::FrameReader::open(&kept).unwrap();
    let mut blocks = 0;
    while let Some(f) = frames.next_frame().unwrap() {
        blocks += u32::from(matches!(f, govchain_node::store::Frame::Block(_)));
    }
    assert!(blocks > 0, "{kept:?}");
    assert!(!member.join("raft-snapshot.recv").exists());
    let page = http()
        .get(format!("{url}/v1/blocks?from=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 410);
    for h in [0, height] {
        let mine = get_json(&format!("{url}/v1/blocks/{h}")).await.unwrap();
        let theirs = get_json(&format!("{}/v1/blocks/{h}", others[0]))
            .await
            .unwrap();
        assert_eq!(mine, theirs, "block {h}");
    }
    // The log is whole there: witnesses get consistency proofs from any
    // earlier size.
    let proof = get_json(&format!("{url}/v1/proof/consistency?size1=3&size2=5"))
        .await
        .unwrap();
    let theirs = get_json(&format!(
        "{}/v1/proof/consistency?size1=3&size2=5",
        others[0]
    ))
    .await
    .unwrap();
    assert!(proof["path"].is_array(), "{proof}");
    assert_eq!(proof, theirs);
    // A transaction of a block it does not hold: committed, with the same
    // inclusion proof as a member that holds the block.
    let old_id = old_id.unwrap();
    assert_eq!(tx_status(&url, &old_id).await.as_deref(), Some("committed"));
    let path = format!("/v1/proof/inclusion/{old_id}?tree_size=5");
    let mine = get_json(&format!("{url}{path}")).await.unwrap();
    assert_eq!(
        mine,
        get_json(&format!("{}{path}", others[0])).await.unwrap()
    );
    assert!(mine["proof"]["path"].is_array(), "{mine}");
    // It follows new blocks, and restarts from what it stored.
    assert!(
        commit(
            &c.urls(),
            &registrations("d1", 16, 3),
            Duration::from_secs(20)
        )
        .await
    );
    c.kill(behind);
    c.start(behind);
    let after = c.wait_converged(Duration::from_secs(20)).await;
    assert!(after > height);
    assert_eq!(c.verify_all(&[]), after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_follower_cannot_commit_and_converges_after_heal() {
    let mut c = Consortium::new("partition", 1000, Fourth::Auditor).await;
    let leader = c.wait_leader(Duration::from_secs(15)).await;
    let urls = c.urls();
    assert!(commit(&urls, &registrations("d1", 2, 10), Duration::from_secs(20)).await);
    let f = (leader + 1) % 3;
    c.wait_converged(Duration::from_secs(10)).await;
    let cut_at = head(&c.url(f)).await.unwrap();

    c.partition(f, true);
    // Longer than an election timeout: the follower has lost the leader.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let refused = http()
        .post(format!("{}/v1/txs", c.url(f)))
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&registrations("d3", 1, 5)).unwrap())
        .send()
        .await
        .unwrap();
    let code = refused.status().as_u16();
    let body: Value = refused.json().await.unwrap();
    assert!(code == 503 || code == 502, "{code} {body}");
    // The majority goes on committing.
    let majority: Vec<String> = (0..3).filter(|&i| i != f).map(|i| c.url(i)).collect();
    assert!(
        commit(
            &majority,
            &registrations("d2", 1, 20),
            Duration::from_secs(20)
        )
        .await
    );
    assert_eq!(
        head(&c.url(f)).await.unwrap(),
        cut_at,
        "the partitioned node moved"
    );
    assert!(head(&majority[0]).await.unwrap().0 > cut_at.0);

    // The auditor's learner follows the majority; it never counted.
    let until = Instant::now() + Duration::from_secs(10);
    while head(&c.url(3)).await != head(&majority[0]).await {
        assert!(Instant::now() < until, "the auditor's node did not follow");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(health(&c.url(3)).await.unwrap()["role"], "follower");

    c.partition(f, false);
    let height = c.wait_converged(Duration::from_secs(20)).await;
    assert!(commit(&urls, &registrations("d3", 1, 5), Duration::from_secs(20)).await);
    let after = c.wait_converged(Duration::from_secs(10)).await;
    assert!(after > height);
    assert_eq!(c.verify_all(&[]), after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_node_refuses_to_join_and_strangers_cannot_inject() {
    let mut c = Consortium::new("tamper", 1000, Fourth::Nothing).await;
    let leader = c.wait_leader(Duration::from_secs(15)).await;
    let urls = c.urls();
    assert!(commit(&urls, &registrations("d1", 2, 10), Duration::from_secs(20)).await);
    c.wait_converged(Duration::from_secs(10)).await;

    // A stranger's Raft requests are refused: no signature, a non-member's
    // signature, a member's signature over other bytes or over a vote that
    // is not its own.
    let leader_url = c.url(leader);
    let vote = json!({"vote": {"leader_id": {"term": 99, "node_id": 7}, "committed": false}, "last_log_id": null});
    let stranger = SecretKey::from_seed(&zeroize::Zeroizing::new([7u8; 32]));
    let signed_by = |k: &SecretKey, from: u64, body: &[u8]| {
        let ms = govchain_node::api::now().unix_millis();
        let msg = format!(
            "govchain-raft/v1\n{CHAIN}\n{from}\n{}\n/raft/vote\n{ms}\n{}",
            leader + 1,
            govchain_ledger::types::Hash32::sha256(body).to_hex()
        );
        format!(
            "{from} {} {ms} {}",
            leader + 1,
            k.sign_raw(msg.as_bytes()).to_hex()
        )
    };
    let body = serde_json::to_vec(&vote).unwrap();
    let member = support::key(&format!("node-{}", DEPTS[(leader + 1) % 3]));
    let member_id = ((leader + 1) % 3 + 1) as u64;
    for header in [
        None,
        Some(signed_by(&stranger, 7, &body)),
        Some(signed_by(&stranger, member_id, &body)),
        Some(signed_by(&member, member_id, b"other bytes")),
        // A member's own signature, but the vote is another node's.
        Some(signed_by(&member, member_id, &body)),
    ] {
        let mut req = http()
            .post(format!("{leader_url}/raft/vote"))
            .body(body.clone());
        if let Some(h) = header {
            req = req.header("govchain-raft-auth", h);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status().as_u16(), 401);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["code"], "node.unauthorized_peer");
    }
    assert_eq!(
        c.leader().await,
        Some(leader),
        "a refused vote changed the leader"
    );

    // A follower's database is tampered with while it is down: an edited
    // block is found by `verify-chain`; an edited head block makes the node
    // refuse to start, and the others go on.
    let f = (leader + 1) % 3;
    c.kill(f);
    let db = c.dir.join(label(f, c.fourth)).join("chain.sqlite");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let changed = conn
        .execute(
            "UPDATE blocks SET block = replace(block, '\"o-d1-5\"', '\"o-d1-X\"') WHERE height > 0",
            [],
        )
        .unwrap();
    assert_eq!(changed, 1);
    support::assert_chain_corrupt(&db);
    support::tamper_head_block(&conn);
    drop(conn);
    let out = c.command(f).output().unwrap();
    assert!(!out.status.success());
    let log = std::fs::read_to_string(c.dir.join(format!("{}.log", label(f, c.fourth)))).unwrap();
    assert!(log.contains("node.corrupt"), "{log}");
    let majority: Vec<String> = (0..3).filter(|&i| i != f).map(|i| c.url(i)).collect();
    assert!(
        commit(
            &majority,
            &registrations("d2", 1, 10),
            Duration::from_secs(20)
        )
        .await
    );
}

#[test]
fn a_cluster_file_must_match_the_chain() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("cluster-config-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let chain: ChainId = CHAIN.parse().unwrap();
    let block0 = support::genesis(&chain, "o", &DEPTS, 1_700_000_000_000);
    let core = Core::open(
        &dir.join("chain.sqlite"),
        support::key("node-d1"),
        "n",
        Some(&block0),
        Limits::default(),
    )
    .unwrap();
    let shared = Arc::new(Mutex::new(core));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let member = |id: u64, dept: &str| {
        format!("[[members]]\nid = {id}\nurl = \"http://127.0.0.1:1\"\nname = \"n{id}\"\ndepartment = \"{dept}\"\n")
    };
    let cases = [
        (member(1, "d2") + &member(2, "d1"), "is not department"),
        (
            member(1, "d1") + "[[members]]\nid = 2\nurl = \"http://127.0.0.1:1\"\nname = \"n2\"\n",
            "needs a department",
        ),
        (member(1, "d1") + &member(1, "d2"), "appears twice"),
        (member(2, "d2"), "not a member"),
    ];
    for (text, expect) in cases {
        let file: govchain_node::cluster::ClusterFile = toml::from_str(&text).unwrap();
        let key = shared.lock().unwrap().node_key();
        let err = rt
            .block_on(govchain_node::cluster::Cluster::start(
                shared.clone(),
                &dir,
                key,
                1,
                file,
            ))
            .unwrap_err();
        assert!(err.to_string().contains(expect), "{err}");
        assert_eq!(govchain_ledger::ErrorCode::code(&err), "node.config");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_department_added_on_the_chain_joins_as_a_voter_and_leaves_when_retired() {
    let mut c = Consortium::new("join", 1000, Fourth::NewDepartment).await;
    let leader = c.wait_leader(Duration::from_secs(15)).await;
    let h = health(&c.url(leader)).await.unwrap();
    assert_eq!(h["voters"], json!([1, 2, 3]), "{h}");
    // d4's node runs, but is nobody's member: it has only block 0.
    assert_eq!(head(&c.url(3)).await.unwrap().0, 0);

    // The consortium (threshold 1) adds department d4 with its node key.
    let chain: ChainId = CHAIN.parse().unwrap();
    let spec = json!({"id": "d4", "name": "d4", "node_key": support::key("node-d4").public_key(),
                      "admins": [{"name": "admin", "public_key": support::key("d4-admin").public_key()}],
                      "admin_threshold": 1});
    let add = support::tx(
        &chain,
        &support::key("d1-admin"),
        2,
        "department.add",
        spec,
        govchain_node::api::now().unix_millis(),
    );
    let urls = c.urls();
    assert!(commit(&urls, &[add], Duration::from_secs(20)).await);
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let h = health(&c.url(leader)).await.unwrap();
        if h["voters"] == json!([1, 2, 3, 4]) {
            break;
        }
        assert!(
            Instant::now() < until,
            "d4's node did not become a voter: {h}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.wait_converged(Duration::from_secs(20)).await;

    // Four voters need three: with one of the first three down, commits
    // need d4's node.
    let down = (leader + 1) % 3;
    c.kill(down);
    let mut live: Vec<String> = (0..4).filter(|&i| i != down).map(|i| c.url(i)).collect();
    assert!(commit(&live, &registrations("d4", 1, 10), Duration::from_secs(20)).await);
    live.rotate_left(1);
    assert!(commit(&live, &registrations("d2", 1, 10), Duration::from_secs(20)).await);
    c.start(down);
    c.wait_converged(Duration::from_secs(20)).await;

    // The consortium retires d4's node: the leader removes it from the
    // voters, and the three go on without it.
    let retire = support::tx(
        &chain,
        &support::key("d1-admin"),
        3,
        "department.retire_node",
        json!({"department": "d4"}),
        govchain_node::api::now().unix_millis(),
    );
    assert!(commit(&urls, &[retire], Duration::from_secs(20)).await);
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let leader = c.wait_leader(Duration::from_secs(10)).await;
        let h = health(&c.url(leader)).await.unwrap();
        if h["voters"] == json!([1, 2, 3]) {
            break;
        }
        assert!(Instant::now() < until, "d4's node is still a voter: {h}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.kill(3);
    assert!(commit(&urls, &registrations("d3", 1, 5), Duration::from_secs(20)).await);
    let height = c.wait_converged(Duration::from_secs(20)).await;
    assert_eq!(c.verify_all(&[3]), height);
}

/// The members speak mutual TLS with the certificates `init` made, pinned
/// in the cluster files: the failover works over it, a client presenting a
/// stranger's certificate is refused at the handshake, and a member's
/// correctly signed Raft request is refused over a connection without its
/// certificate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_mutual_tls_the_leader_fails_over_and_strangers_are_refused() {
    let mut c = Consortium::new_with("mtls", 6, Fourth::Nothing, true).await;
    let leader = c.wait_leader(Duration::from_secs(15)).await;
    let leader_url = c.url(leader);
    assert!(leader_url.starts_with("https://"));

    let pins = TEST_PINS.lock().unwrap().clone();
    let made = rcgen::generate_simple_self_signed(vec!["stranger".to_owned()]).unwrap();
    let stranger = Identity {
        chain: vec![made.cert.der().clone()],
        key: rustls::pki_types::PrivateKeyDer::Pkcs8(made.signing_key.serialize_der().into()),
    };
    let as_stranger = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .use_preconfigured_tls(pinned_client_config(pins, Some(&stranger)).unwrap())
        .build()
        .unwrap();
    let refused = as_stranger
        .get(format!("{leader_url}/healthz"))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status);
    assert!(refused.is_err(), "a stranger's certificate was accepted");

    // A member's signature is not enough without the member's certificate.
    let from = ((leader + 1) % 3 + 1) as u64;
    let member = support::key(&format!("node-{}", DEPTS[(leader + 1) % 3]));
    let body = serde_json::to_vec(&json!({"vote": {"leader_id": {"term": 99, "node_id": from}, "committed": false}, "last_log_id": null})).unwrap();
    let ms = govchain_node::api::now().unix_millis();
    let msg = format!(
        "govchain-raft/v1\n{CHAIN}\n{from}\n{}\n/raft/vote\n{ms}\n{}",
        leader + 1,
        govchain_ledger::types::Hash32::sha256(&body).to_hex()
    );
    let header = format!(
        "{from} {} {ms} {}",
        leader + 1,
        member.sign_raw(msg.as_bytes()).to_hex()
    );
    let r = http()
        .post(format!("{leader_url}/raft/vote"))
        .header("govchain-raft-auth", header)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["code"], "node.unauthorized_peer");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("pinned TLS certificate"),
        "{v}"
    );

    // The failover, as over plain HTTP.
    let stop = Arc::new(AtomicBool::new(false));
    let running = load(c.urls(), stop.clone());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = c.wait_converged(Duration::from_secs(10)).await;
    assert!(before > 0, "the load committed nothing");
    c.kill(leader);
    let killed = Instant::now();
    let next = c.wait_leader(Duration::from_secs(10)).await;
    assert_ne!(next, leader);
    assert!(
        killed.elapsed() < Duration::from_secs(5),
        "new leader after {:?}",
        killed.elapsed()
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    c.start(leader);
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::SeqCst);
    let acked = running.await.unwrap();
    let height = c.wait_converged(Duration::from_secs(20)).await;
    assert!(height > before, "nothing committed after the failover");
    all_committed_everywhere(&c, &acked).await;
    // The members witness one another over mutual TLS too.
    let cosigned = http()
        .get(format!("{}/v1/checkpoint?cosigned=1", c.url(next)))
        .send()
        .await
        .unwrap();
    assert_eq!(cosigned.status().as_u16(), 200, "no cosigned checkpoint");
    // What they cosigned names a block and its state root, as stored.
    let note = cosigned.text().await.unwrap();
    let parsed = govchain_ledger::note::SignedNote::parse(&note).unwrap();
    let cp = govchain_ledger::note::Checkpoint::parse_body(&parsed.text).unwrap();
    let line = cp.state_line().unwrap().expect("a state line");
    let block: Value = http()
        .get(format!("{}/v1/blocks/{}", c.url(next), line.height))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        block["header"]["state_root"].as_str(),
        Some(line.state_root.to_hex().as_str())
    );
    assert_eq!(block["header"]["log_size"].as_u64(), Some(cp.size));
    assert_eq!(c.verify_all(&[]), height);
}
