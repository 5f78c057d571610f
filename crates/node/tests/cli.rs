//! The `govchain-node` binary end to end: keygen, init from a genesis TOML,
//! run, an admin command, then SIGKILL and restart — the acknowledged
//! transaction is still there and the chain re-verifies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_govchain-node");

fn keygen(path: &Path) -> String {
    let out = Command::new(BIN)
        .args(["keygen", "--out"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("public key  "))
        .unwrap()
        .to_owned()
}

fn start(dir: &Path) -> (Child, String) {
    start_with(dir, "20")
}

/// `run` cutting a block every `block_ms` when transactions wait.
fn start_with(dir: &Path, block_ms: &str) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args([
            "run",
            "--listen",
            "127.0.0.1:0",
            "--name",
            "node.city.example",
            "--block-ms",
            block_ms,
            // These tests load the node from one client as fast as they can.
            "--rate-limit",
            "0",
            "--data-dir",
        ])
        .arg(dir.join("data"))
        .arg("--node-key")
        .arg(dir.join("node.key"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{line}"))
        .to_owned();
    (child, format!("http://{addr}"))
}

fn get_text(url: &str) -> (u16, String) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let r = reqwest::get(url).await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    })
}

fn health(url: &str) -> serde_json::Value {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        reqwest::get(format!("{url}/healthz"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    })
}

#[test]
fn keygen_init_run_admin_kill_restart() {
    let dir = std::env::temp_dir().join(format!("govchain-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let node_pk = keygen(&dir.join("node.key"));
    let admin_pk = keygen(&dir.join("admin.key"));
    let official_pk = keygen(&dir.join("official.key"));
    let fire_pk = keygen(&dir.join("fire-node.key"));
    let fire_admin_pk = keygen(&dir.join("fire-admin.key"));
    // keygen never overwrites a key.
    assert!(!Command::new(BIN)
        .args(["keygen", "--out"])
        .arg(dir.join("node.key"))
        .status()
        .unwrap()
        .success());

    std::fs::write(
        dir.join("genesis.toml"),
        format!(
            "chain_id = \"cli-test\"\norigin = \"govchain.example/cli-test\"\nconsortium_threshold = 1\n\n\
             [[departments]]\nid = \"city-management\"\nname = \"城市管理局\"\nnode_key = \"{node_pk}\"\nadmin_threshold = 1\n\
             admins = [{{ name = \"王主任\", public_key = \"{admin_pk}\" }}]\n\n\
             [[departments]]\nid = \"fire\"\nname = \"消防救援支队\"\nnode_key = \"{fire_pk}\"\nadmin_threshold = 1\n\
             admins = [{{ name = \"赵队长\", public_key = \"{fire_admin_pk}\" }}]\n"
        ),
    )
    .unwrap();
    // A bad genesis file is refused with the file and field named.
    std::fs::write(dir.join("bad.toml"), "chain_id = \"Bad Id\"\n").unwrap();
    let out = Command::new(BIN)
        .args(["init", "--genesis"])
        .arg(dir.join("bad.toml"))
        .arg("--data-dir")
        .arg(dir.join("bad"))
        .arg("--node-key")
        .arg(dir.join("node.key"))
        .arg("--admin-key")
        .arg(dir.join("admin.key"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bad.toml"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = Command::new(BIN)
        .args(["init", "--genesis"])
        .arg(dir.join("genesis.toml"))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .arg("--node-key")
        .arg(dir.join("node.key"))
        .arg("--admin-key")
        .arg(dir.join("admin.key"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (mut child, url) = start(&dir);
    // The fire department's node witnesses the city's checkpoints.
    let mut witness = Command::new(BIN)
        .args([
            "witness",
            "--log",
            &url,
            "--origin",
            "govchain.example/cli-test",
        ])
        .args([
            "--log-name",
            "node.city.example",
            "--log-public-key",
            &node_pk,
        ])
        .arg("--node-key")
        .arg(dir.join("fire-node.key"))
        .args([
            "--name",
            "node.fire.example",
            "--interval-ms",
            "50",
            "--state",
        ])
        .arg(dir.join("fire-witness.state"))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut cosigned = String::new();
    for _ in 0..300 {
        let (status, text) = get_text(&format!("{url}/v1/checkpoint?cosigned=1"));
        if status == 200 {
            cosigned = text;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(cosigned.contains("— node.fire.example "), "{cosigned}");
    witness.kill().unwrap();
    witness.wait().unwrap();
    let state = std::fs::read_to_string(dir.join("fire-witness.state")).unwrap();
    assert!(state.starts_with("1 "), "{state}");
    let out = Command::new(BIN)
        .args(["admin", "--node", &url, "--key"])
        .arg(dir.join("admin.key"))
        .args([
            "register-official",
            "--department",
            "city-management",
            "--name",
            "张三",
            "--public-key",
            &official_pk,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id_of = |pk: &str| {
        govchain_ledger::crypto::PublicKey::from_hex(pk)
            .unwrap()
            .key_id()
            .to_hex()
    };
    // Wait for the registration before the project names the new official.
    for _ in 0..300 {
        if health(&url)["log_size"] == 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = Command::new(BIN)
        .args(["admin", "--node", &url, "--key"])
        .arg(dir.join("admin.key"))
        .args([
            "create-project",
            "--project-id",
            "XA-1",
            "--name",
            "道路",
            "--budget",
            "100000000",
            "--developer",
            &id_of(&admin_pk),
            "--contractor",
            &id_of(&official_pk),
            "--supervisor",
            &id_of(&admin_pk),
            "--operator",
            &id_of(&admin_pk),
            "--approvers",
            "developer,operator",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A rejected admin command exits non-zero with the rule's code.
    let out = Command::new(BIN)
        .args(["admin", "--node", &url, "--key"])
        .arg(dir.join("official.key"))
        .args([
            "register-official",
            "--department",
            "city-management",
            "--name",
            "x",
            "--public-key",
            &node_pk,
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("auth.not_admin"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Acknowledged = committed: wait for it, then kill -9.
    let mut committed = false;
    for _ in 0..300 {
        if health(&url)["log_size"] == 3 {
            committed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(committed);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let (mut child, url) = start(&dir);
    let h = health(&url);
    assert_eq!(
        (h["height"].as_u64(), h["log_size"].as_u64()),
        (Some(2), Some(3)),
        "{h}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

/// A fresh data directory under `dir` holding chain `crash-test` (one
/// department `d`, admin `a`); returns the admin's key.
fn init_small_chain(dir: &Path) -> govchain_ledger::crypto::SecretKey {
    use govchain_ledger::crypto::SecretKey;
    use zeroize::Zeroizing;

    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let node_pk = keygen(&dir.join("node.key"));
    let admin_pk = keygen(&dir.join("admin.key"));
    std::fs::write(
        dir.join("genesis.toml"),
        format!(
            "chain_id = \"crash-test\"\norigin = \"o\"\nconsortium_threshold = 1\n[[departments]]\nid = \"d\"\nname = \"d\"\n\
             node_key = \"{node_pk}\"\nadmin_threshold = 1\nadmins = [{{ name = \"a\", public_key = \"{admin_pk}\" }}]\n"
        ),
    )
    .unwrap();
    let status = Command::new(BIN)
        .args(["init", "--genesis"])
        .arg(dir.join("genesis.toml"))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .arg("--node-key")
        .arg(dir.join("node.key"))
        .arg("--admin-key")
        .arg(dir.join("admin.key"))
        .status()
        .unwrap();
    assert!(status.success());
    let seed = std::fs::read_to_string(dir.join("admin.key")).unwrap();
    let mut s = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(seed.trim(), s.as_mut_slice()).unwrap();
    SecretKey::from_seed(&s)
}

/// Runs `verify-chain` on `dir`'s data directory: (success, stdout, stderr).
fn verify_chain(dir: &Path, extra: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(["verify-chain", "--data-dir"])
        .arg(dir.join("data"))
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Submits transactions while killing the node with SIGKILL at varying
/// moments, five times over: every transaction the node reported committed
/// before a kill is still committed after the restart. The restarted node
/// starts from its stored state (it refuses to if the state is not the head
/// block's), and `verify-chain` finds that state equal to a full replay.
#[test]
fn sigkill_under_load_loses_no_committed_transaction() {
    use govchain_ledger::crypto::SecretKey;
    use govchain_ledger::tx::{Envelope, TxBody};
    use zeroize::Zeroizing;

    let dir = std::env::temp_dir().join(format!("govchain-crash-{}", std::process::id()));
    let admin = init_small_chain(&dir);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = reqwest::Client::new();
    let mut seq = 1u64;
    let mut committed: Vec<String> = Vec::new();
    for round in 0..5u64 {
        let (mut child, url) = start(&dir);
        // Everything committed before is still committed.
        rt.block_on(async {
            for id in &committed {
                let v: serde_json::Value = client
                    .get(format!("{url}/v1/tx/{id}"))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                assert_eq!(v["status"], "committed", "round {round}: {id} lost: {v}");
            }
        });
        let h: serde_json::Value = rt.block_on(async {
            reqwest::get(format!("{url}/healthz"))
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        });
        seq = seq.max(h["log_size"].as_u64().unwrap()); // every committed tx is the admin's
                                                        // Submit for a while; kill at a different moment each round.
        let deadline = std::time::Instant::now() + Duration::from_millis(150 + 70 * round);
        let mut sent = Vec::new();
        rt.block_on(async {
            while std::time::Instant::now() < deadline {
                seq += 1;
                let k = SecretKey::from_seed(&Zeroizing::new(govchain_ledger::types::Hash32::sha256(&seq.to_be_bytes()).0));
                let env = Envelope::sign(&admin, TxBody {
                    chain_id: "crash-test".parse().unwrap(),
                    signer: admin.key_id(),
                    seq,
                    kind: "official.register".into(),
                    payload: serde_json::json!({"department": "d", "name": format!("o{seq}"), "public_key": k.public_key()}),
                    created_at: govchain_node::api::now(),
                }).unwrap();
                let r = client.post(format!("{url}/v1/tx")).body(serde_json::to_vec(&env).unwrap()).send().await.unwrap();
                assert!(r.status().is_success());
                sent.push(env.id().unwrap().to_hex());
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
            for id in &sent {
                let v: serde_json::Value = client.get(format!("{url}/v1/tx/{id}")).send().await.unwrap().json().await.unwrap();
                if v["status"] == "committed" {
                    committed.push(id.clone());
                }
            }
        });
        child.kill().unwrap();
        child.wait().unwrap();
    }
    assert!(
        committed.len() > 10,
        "the load committed only {} transactions",
        committed.len()
    );
    let (ok, out, err) = verify_chain(&dir, &[]);
    assert!(
        ok && out.contains("stored state  matches the replay"),
        "{out}{err}"
    );
}

/// A node refuses to start on a state table that is not the head block's
/// state (`node.state_mismatch`, naming the fix); `verify-chain` finds the
/// same, and `--rebuild-state` rewrites the state from the blocks. A
/// database without a stored state (as before it was stored) is replayed
/// once at start and its state stored.
#[test]
fn a_tampered_state_table_is_refused_until_rebuilt() {
    let dir = std::env::temp_dir().join(format!("govchain-tamper-{}", std::process::id()));
    init_small_chain(&dir);
    let (ok, out, err) = verify_chain(&dir, &[]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("blocks 0..=0 verified"), "{out}");
    let height = |url: &str| health(url)["height"].as_u64().unwrap();
    let (mut child, url) = start(&dir);
    assert_eq!(height(&url), 0);
    child.kill().unwrap();
    child.wait().unwrap();

    let db = dir.join("data/chain.sqlite");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let changed = conn
        .execute(
            "UPDATE state_entries SET value = CAST(replace(CAST(value AS TEXT), '\"name\":\"a\"', '\"name\":\"z\"') AS BLOB) WHERE key LIKE 'official/%'",
            [],
        )
        .unwrap();
    assert_eq!(changed, 1);
    drop(conn);
    let run = Command::new(BIN)
        .args([
            "run",
            "--listen",
            "127.0.0.1:0",
            "--name",
            "n",
            "--data-dir",
        ])
        .arg(dir.join("data"))
        .arg("--node-key")
        .arg(dir.join("node.key"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    assert!(
        stderr.contains("error [node.state_mismatch]") && stderr.contains("--rebuild-state"),
        "{stderr}"
    );
    let (ok, out, err) = verify_chain(&dir, &[]);
    assert!(!ok && err.contains("node.state_mismatch"), "{out}{err}");
    let (ok, out, err) = verify_chain(&dir, &["--rebuild-state"]);
    assert!(ok && out.contains("rebuilt from the replay"), "{out}{err}");
    let (ok, out, err) = verify_chain(&dir, &[]);
    assert!(ok && out.contains("matches the replay"), "{out}{err}");

    // No stored state at all: replayed once at start, then stored.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("DELETE FROM state_head; UPDATE txs SET leaf_hash = NULL;")
        .unwrap();
    drop(conn);
    let (mut child, url) = start(&dir);
    assert_eq!(height(&url), 0);
    child.kill().unwrap();
    child.wait().unwrap();
    let (ok, out, err) = verify_chain(&dir, &[]);
    assert!(ok && out.contains("matches the replay"), "{out}{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `docs/examples/`, which these tests load so the examples stay valid.
fn example(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/examples")
        .join(name)
}

/// Replaces each `${NAME}` of an example file.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut text = template.to_owned();
    for (name, value) in values {
        text = text.replace(&format!("${{{name}}}"), value);
    }
    let left: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains("${"))
        .collect();
    assert!(left.is_empty(), "placeholders left: {left:?}");
    text
}

/// A CLI run: exit status, stdout, stderr.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn cli(args: &[&str]) -> Run {
    let out = Command::new(BIN).args(args).output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// `admin --node URL --key KEY ARGS…`.
fn admin(url: &str, key: &Path, args: &[&str]) -> Run {
    let key = key.to_str().unwrap();
    let mut all = vec!["admin", "--node", url, "--key", key];
    all.extend_from_slice(args);
    cli(&all)
}

/// A succeeded CLI run's stdout.
fn ok(r: Run) -> String {
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    r.stdout
}

fn key_id_of(pk: &str) -> String {
    govchain_ledger::crypto::PublicKey::from_hex(pk)
        .unwrap()
        .key_id()
        .to_hex()
}

/// A field of the CLI's text output (`label  value`).
fn field<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(label).map(str::trim))
        .unwrap_or_else(|| panic!("no {label:?} in {text}"))
}

/// `init --genesis` from a genesis text; returns init's stdout.
fn init_chain(dir: &Path, genesis: &str) -> String {
    std::fs::write(dir.join("genesis.toml"), genesis).unwrap();
    let p = |n: &str| dir.join(n).to_str().unwrap().to_owned();
    ok(cli(&[
        "init",
        "--genesis",
        &p("genesis.toml"),
        "--data-dir",
        &p("data"),
        "--node-key",
        &p("node.key"),
        "--admin-key",
        &p("admin.key"),
    ]))
}

fn fresh_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("govchain-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The admin commands a new IT officer runs, back to back: a registration
/// from the workstation's request file, role grants naming the official by
/// request file, public key and key id, the example workflows; each waits
/// for its commit, prints what it registered, and refusals carry the
/// node's code (or the CLI's own) with a hint and a distinct exit status.
#[test]
fn admin_commands_back_to_back_with_readable_output_and_refusals() {
    let dir = fresh_dir("cli-admin");
    let node_pk = keygen(&dir.join("node.key"));
    let admin_pk = keygen(&dir.join("admin.key"));
    let official_pk = keygen(&dir.join("official.key"));
    let second_pk = keygen(&dir.join("second.key"));
    let third_pk = keygen(&dir.join("third.key"));
    // The example workflows' departments, all run by this node's admin.
    let mut genesis = "chain_id = \"cli-admin\"\norigin = \"govchain.example/cli-admin\"\nconsortium_threshold = 1\n".to_owned();
    for (i, d) in ["city-management", "fire", "construction", "developer"]
        .iter()
        .enumerate()
    {
        let node = if i == 0 {
            node_pk.clone()
        } else {
            keygen(&dir.join(format!("{d}.node.key")))
        };
        let admin = if i == 0 {
            admin_pk.clone()
        } else {
            keygen(&dir.join(format!("{d}.admin.key")))
        };
        writeln!(
            genesis,
            "\n[[departments]]\nid = \"{d}\"\nname = \"{d}\"\nnode_key = \"{node}\"\nadmin_threshold = 1\n\
             admins = [{{ name = \"admin\", public_key = \"{admin}\" }}]"
        )
        .unwrap();
    }
    init_chain(&dir, &genesis);
    let (mut child, url) = start(&dir);
    let admin_key = dir.join("admin.key");

    // register-official from the workstation's registration request.
    let request = dir.join("request.json");
    std::fs::write(
        &request,
        fill(
            &std::fs::read_to_string(example("registration-request.json")).unwrap(),
            &[("OFFICIAL_PUBLIC_KEY", &official_pk)],
        ),
    )
    .unwrap();
    let req = request.to_str().unwrap();
    let out = ok(admin(
        &url,
        &admin_key,
        &["register-official", "--request", req],
    ));
    let official = key_id_of(&official_pk);
    assert_eq!(field(&out, "official id"), official, "{out}");
    assert_eq!(field(&out, "key id"), official, "{out}");
    let fingerprint = govchain_ledger::crypto::KeyId::from_hex(&official)
        .unwrap()
        .fingerprint();
    assert_eq!(field(&out, "fingerprint"), fingerprint, "{out}");
    assert_eq!(field(&out, "official "), "张三 (city-management)", "{out}");
    assert_eq!(field(&out, "tx").len(), 64, "{out}");
    assert!(
        field(&out, "status").starts_with("committed at height "),
        "{out}"
    );

    // Back to back, no waiting in between: the official named by
    // request file (both spellings), public key and key id.
    let at_req = format!("@{req}");
    for (who, scope) in [
        (["--official", at_req.as_str()], "xa/beilin"),
        (["--request", req], "xa/yanta"),
        (["--official", official_pk.as_str()], "xa/lianhu"),
        (["--official", official.as_str()], "xa/xincheng"),
    ] {
        let mut args = vec!["grant-role"];
        args.extend(who.iter().copied());
        args.extend([
            "--department",
            "city-management",
            "--role",
            "approver",
            "--scope",
            scope,
        ]);
        let out = ok(admin(&url, &admin_key, &args));
        assert_eq!(field(&out, "official id"), official, "{out}");
        assert!(field(&out, "status").starts_with("committed"), "{out}");
    }

    // --json: one JSON object with the same facts.
    let out = ok(admin(
        &url,
        &admin_key,
        &[
            "register-official",
            "--json",
            "--department",
            "city-management",
            "--name",
            "李四",
            "--public-key",
            &second_pk,
        ],
    ));
    assert_eq!(out.lines().count(), 1, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let second = key_id_of(&second_pk);
    assert_eq!(v["official"], second.as_str(), "{v}");
    assert_eq!(v["key_id"], second.as_str(), "{v}");
    assert_eq!(v["kind"], "official.register", "{v}");
    assert_eq!(v["status"], "committed", "{v}");
    assert_eq!(v["registered"], true, "{v}");
    assert!(
        v["height"].as_u64().is_some() && v["seq"].as_u64().is_some(),
        "{v}"
    );
    assert_eq!(v["tx"].as_str().map(str::len), Some(64), "{v}");

    // --no-wait returns at once with the pending status.
    let out = ok(admin(
        &url,
        &admin_key,
        &[
            "grant-role",
            "--no-wait",
            "--json",
            "--official",
            &second,
            "--department",
            "city-management",
            "--role",
            "inspector",
        ],
    ));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["status"], "pending", "{v}");
    let pending = v["tx"].as_str().unwrap().to_owned();
    for _ in 0..300 {
        if get_text(&format!("{url}/v1/tx/{pending}"))
            .1
            .contains("committed")
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }

    // The example workflow templates publish and commit.
    for file in ["workflow-renovation.json", "workflow-joint-acceptance.json"] {
        let path = example(file);
        let out = ok(admin(
            &url,
            &admin_key,
            &["define-workflow", "--file", path.to_str().unwrap()],
        ));
        assert!(
            field(&out, "status").starts_with("committed"),
            "{file}: {out}"
        );
    }

    // Refusals: the node's (or the chain's) code and message, a
    // hint where the message alone is unclear, exit status 1.
    let unknown = admin(
        &url,
        &admin_key,
        &[
            "grant-role",
            "--official",
            &third_pk,
            "--department",
            "city-management",
            "--role",
            "approver",
        ],
    );
    assert_eq!(unknown.code, 1, "{}", unknown.stderr);
    assert!(
        unknown
            .stderr
            .starts_with("govchain-node: error [identity.unknown_official]: "),
        "{}",
        unknown.stderr
    );
    assert!(
        unknown.stderr.contains("hint: ") && unknown.stderr.contains("key id"),
        "{}",
        unknown.stderr
    );
    let replayed = admin(
        &url,
        &admin_key,
        &[
            "register-official",
            "--seq",
            "1",
            "--department",
            "city-management",
            "--name",
            "王五",
            "--public-key",
            &third_pk,
        ],
    );
    assert_eq!(replayed.code, 1, "{}", replayed.stderr);
    assert!(
        replayed
            .stderr
            .starts_with("govchain-node: error [tx.replayed]: "),
        "{}",
        replayed.stderr
    );
    assert!(replayed.stderr.contains("--seq"), "{}", replayed.stderr);
    // A rule that fails when the block is applied, not on submission, would
    // be reported the same way; an admin of another department is refused.
    let foreign = admin(
        &url,
        &dir.join("fire.admin.key"),
        &[
            "register-official",
            "--department",
            "city-management",
            "--name",
            "x",
            "--public-key",
            &third_pk,
        ],
    );
    assert_eq!(foreign.code, 1, "{}", foreign.stderr);
    assert!(
        foreign.stderr.contains("error [auth.not_admin]: "),
        "{}",
        foreign.stderr
    );
    // Bad local input: the CLI's own code, exit status 2.
    for args in [
        vec![
            "register-official",
            "--department",
            "fire",
            "--name",
            "x",
            "--public-key",
            "zz",
        ],
        vec![
            "grant-role",
            "--official",
            "not-hex",
            "--department",
            "fire",
            "--role",
            "r",
        ],
        vec![
            "register-official",
            "--request",
            "/nonexistent/request.json",
        ],
        vec!["define-workflow", "--file", "/nonexistent/workflow.json"],
    ] {
        let r = admin(&url, &admin_key, &args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr
                .starts_with("govchain-node: error [cli.bad_input]: "),
            "{args:?}: {}",
            r.stderr
        );
    }
    // A command line that does not parse: cli.usage, exit status 2.
    let r = admin(
        &url,
        &admin_key,
        &["grant-role", "--department", "fire", "--role", "r"],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.starts_with("govchain-node: error [cli.usage]: ")
            && r.stderr.contains("--official"),
        "{}",
        r.stderr
    );
    // A node that cannot be reached: cli.unreachable, exit status 3.
    let down = admin(
        "http://127.0.0.1:9",
        &admin_key,
        &[
            "grant-role",
            "--official",
            &official,
            "--department",
            "fire",
            "--role",
            "r",
        ],
    );
    assert_eq!(down.code, 3, "{}", down.stderr);
    assert!(
        down.stderr
            .starts_with("govchain-node: error [cli.unreachable]: "),
        "{}",
        down.stderr
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

/// A closed stdout (`govchain-node keygen | head -1`) is a normal exit,
/// never a panic (issue 18, point 7): here the pipe is closed before the
/// command writes.
#[test]
fn a_closed_stdout_is_no_panic() {
    let dir = fresh_dir("cli-pipe");
    for args in [
        vec!["keygen", "--out", "a.key"],
        vec!["--help"],
        vec!["keygen", "--help"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(BIN)
            .current_dir(&dir)
            .args(&args)
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(out.status.success(), "{args:?}: {stderr}");
    }
    // The key was written all the same.
    assert!(dir.join("a.key").exists());
    // A refusal with stderr closed too: the exit status still tells.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let status = Command::new(BIN)
        .current_dir(&dir)
        .args(["keygen", "--out", "a.key"])
        .stdout(Stdio::null())
        .stderr(writer)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1));
    // `keygen | head -1` for real, through a shell.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("'{BIN}' keygen --out b.key | head -1"))
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("public key  "),
        "{out:?}"
    );
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "{out:?}"
    );
}

/// docs/examples/genesis.toml (keys filled in) makes a chain whose
/// `init` prints the chain id and genesis hash a workstation pins;
/// docs/examples/cluster.toml parses as the node reads it.
#[test]
fn example_genesis_and_cluster_files_load() {
    let dir = fresh_dir("cli-examples");
    let template = std::fs::read_to_string(example("genesis.toml")).unwrap();
    let mut values: Vec<(&str, String)> = Vec::new();
    for name in [
        "CITY_FUND_NODE_KEY",
        "CITY_FUND_ADMIN_KEY",
        "PROVINCIAL_FUND_NODE_KEY",
        "PROVINCIAL_FUND_ADMIN_KEY",
        "HOUSING_BUREAU_NODE_KEY",
        "HOUSING_BUREAU_ADMIN_KEY_1",
        "HOUSING_BUREAU_ADMIN_KEY_2",
        "HOUSING_BUREAU_ADMIN_KEY_3",
    ] {
        let file = match name {
            "CITY_FUND_NODE_KEY" => "node.key".to_owned(),
            "CITY_FUND_ADMIN_KEY" => "admin.key".to_owned(),
            other => format!("{other}.key"),
        };
        values.push((name, keygen(&dir.join(file))));
    }
    let values: Vec<(&str, &str)> = values.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let out = init_chain(&dir, &fill(&template, &values));
    assert_eq!(field(&out, "chain id"), "housing-fund", "{out}");
    // The hash of block 0 as written for the other nodes (and as a
    // workstation's verifier computes it): 64 lowercase hex digits.
    let block0 = std::fs::read(dir.join("data/block0.json")).unwrap();
    let block = govchain_ledger::block::Block::from_json(&block0).unwrap();
    assert_eq!(
        field(&out, "genesis hash"),
        block.header.hash().unwrap().to_hex(),
        "{out}"
    );
    assert_eq!(field(&out, "height"), "0", "{out}");
    // The node serves the same hash on /healthz.
    let (mut child, url) = start(&dir);
    assert_eq!(
        health(&url)["genesis_hash"].as_str(),
        Some(field(&out, "genesis hash")),
        "{out}"
    );
    child.kill().unwrap();
    child.wait().unwrap();

    let cluster = govchain_node::cluster::read_cluster(&example("cluster.toml")).unwrap();
    let departments: Vec<_> = cluster
        .members
        .iter()
        .filter(|m| !m.learner)
        .map(|m| m.department.clone().unwrap())
        .collect();
    assert_eq!(
        departments,
        ["city-fund", "provincial-fund", "housing-bureau"],
        "the cluster file's voters are the genesis file's departments"
    );
    for d in &departments {
        assert!(template.contains(&format!("id = \"{d}\"")), "{d}");
    }
    assert!(cluster.members.iter().any(|m| m.learner));
}

/// Commands sent without waiting for each other's commit (`--no-wait`) take
/// consecutive sequence numbers: the node's `pending_seq` counts the
/// transactions it admitted and has not committed yet.
#[test]
fn no_wait_commands_in_a_row_take_consecutive_seqs() {
    let dir = fresh_dir("cli-nowait");
    let node_pk = keygen(&dir.join("node.key"));
    let admin_pk = keygen(&dir.join("admin.key"));
    init_chain(
        &dir,
        &format!(
            "chain_id = \"cli-nowait\"\norigin = \"o\"\nconsortium_threshold = 1\n[[departments]]\nid = \"d\"\nname = \"d\"\n\
             node_key = \"{node_pk}\"\nadmin_threshold = 1\nadmins = [{{ name = \"a\", public_key = \"{admin_pk}\" }}]\n"
        ),
    );
    // Slow blocks: the second command comes while the first is pending.
    let (mut child, url) = start_with(&dir, "1500");
    let mut sent = Vec::new();
    for name in ["a", "b", "c"] {
        let pk = keygen(&dir.join(format!("{name}.key")));
        let out = ok(admin(
            &url,
            &dir.join("admin.key"),
            &[
                "register-official",
                "--no-wait",
                "--json",
                "--department",
                "d",
                "--name",
                name,
                "--public-key",
                &pk,
            ],
        ));
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["status"], "pending", "{v}");
        sent.push((
            v["seq"].as_u64().unwrap(),
            v["tx"].as_str().unwrap().to_owned(),
        ));
    }
    assert_eq!(
        sent.iter()
            .map(|(seq, _)| seq - sent[0].0)
            .collect::<Vec<_>>(),
        [0, 1, 2]
    );
    for (_, tx) in &sent {
        let mut status = String::new();
        for _ in 0..500 {
            status = get_text(&format!("{url}/v1/tx/{tx}")).1;
            if !status.contains("pending") {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(status.contains("\"committed\""), "{status}");
    }
    // All committed: nothing pending any more.
    let (_, signer) = get_text(&format!("{url}/v1/signers/{}", key_id_of(&admin_pk)));
    let signer: serde_json::Value = serde_json::from_str(&signer).unwrap();
    assert_eq!(signer["seq"], sent[2].0, "{signer}");
    assert_eq!(signer["pending_seq"], sent[2].0, "{signer}");
    child.kill().unwrap();
    child.wait().unwrap();
}

/// A key file its group or others may read is refused, for `init`, `run`
/// and `admin` alike, with `node.key_permissions`, the file, its mode and the
/// `chmod 600` that fixes it; the same file at `0600` works.
#[cfg(unix)]
#[test]
fn key_files_readable_by_others_are_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = fresh_dir("cli-keyperm");
    let node_pk = keygen(&dir.join("node.key"));
    let admin_pk = keygen(&dir.join("admin.key"));
    let mode = |name: &str, m: u32| {
        std::fs::set_permissions(dir.join(name), std::fs::Permissions::from_mode(m)).unwrap();
    };
    // keygen writes 0600.
    let written = std::fs::metadata(dir.join("node.key")).unwrap();
    assert_eq!(written.permissions().mode() & 0o777, 0o600);
    let genesis = format!(
        "chain_id = \"perm-test\"\norigin = \"govchain.example/perm-test\"\nconsortium_threshold = 1\n\n\
         [[departments]]\nid = \"city-management\"\nname = \"城市管理局\"\nnode_key = \"{node_pk}\"\nadmin_threshold = 1\n\
         admins = [{{ name = \"王主任\", public_key = \"{admin_pk}\" }}]\n"
    );
    std::fs::write(dir.join("genesis.toml"), &genesis).unwrap();
    let p = |n: &str| dir.join(n).to_str().unwrap().to_owned();
    let init = || {
        cli(&[
            "init",
            "--genesis",
            &p("genesis.toml"),
            "--data-dir",
            &p("data"),
            "--node-key",
            &p("node.key"),
            "--admin-key",
            &p("admin.key"),
        ])
    };
    let refused = |r: &Run, file: &str, m: &str| {
        assert_eq!(r.code, 1, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
        assert!(
            r.stderr.contains("node.key_permissions")
                && r.stderr.contains(&p(file))
                && r.stderr.contains(m)
                && r.stderr.contains(&format!("chmod 600 {}", p(file))),
            "{}",
            r.stderr
        );
    };
    for (file, m) in [
        ("node.key", 0o644),
        ("admin.key", 0o640),
        ("admin.key", 0o604),
    ] {
        mode(file, m);
        refused(&init(), file, &format!("{m:04o}"));
        assert!(!dir.join("data").exists(), "nothing is created");
        mode(file, 0o600);
    }
    ok(init());

    // run: a node key readable by others is refused before the node starts.
    mode("node.key", 0o644);
    let r = cli(&[
        "run",
        "--data-dir",
        &p("data"),
        "--node-key",
        &p("node.key"),
        "--listen",
        "127.0.0.1:0",
        "--name",
        "node.city.example",
    ]);
    refused(&r, "node.key", "0644");
    mode("node.key", 0o600);

    // admin: the key is checked before the node is contacted; with 0600 the
    // same command reaches the node (here none listens: cli.unreachable).
    mode("admin.key", 0o644);
    let args = [
        "register-official",
        "--department",
        "city-management",
        "--name",
        "张三",
        "--public-key",
        &node_pk,
    ];
    let r = admin("http://127.0.0.1:9", &dir.join("admin.key"), &args);
    refused(&r, "admin.key", "0644");
    mode("admin.key", 0o600);
    let r = admin("http://127.0.0.1:9", &dir.join("admin.key"), &args);
    assert_eq!(r.code, 3, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert!(r.stderr.contains("cli.unreachable"), "{}", r.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

fn bpmn_fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../bpmn/tests/fixtures")
        .join(name)
        .to_str()
        .unwrap()
        .to_owned()
}

/// `admin import-bpmn`: a Flowable process with the admins' group map
/// becomes the `workflow.define` payload (`--dry-run`, no node or key
/// needed) and commits like `define-workflow`; `export-bpmn` fetches it
/// from the node as BPMN that imports again to the same template; a
/// refused process lists its elements under `bpmn.refused`.
#[test]
fn bpmn_import_dry_run_submit_export_and_refusal() {
    let dir = fresh_dir("cli-bpmn");
    let node_pk = keygen(&dir.join("node.key"));
    let admin_pk = keygen(&dir.join("admin.key"));
    let mut genesis = "chain_id = \"cli-bpmn\"\norigin = \"govchain.example/cli-bpmn\"\nconsortium_threshold = 1\n".to_owned();
    for d in ["city-management", "fire", "construction", "developer"] {
        let (node, admin) = if d == "city-management" {
            (node_pk.clone(), admin_pk.clone())
        } else {
            (
                keygen(&dir.join(format!("{d}.node.key"))),
                keygen(&dir.join(format!("{d}.admin.key"))),
            )
        };
        writeln!(
            genesis,
            "\n[[departments]]\nid = \"{d}\"\nname = \"{d}\"\nnode_key = \"{node}\"\nadmin_threshold = 1\n\
             admins = [{{ name = \"admin\", public_key = \"{admin}\" }}]"
        )
        .unwrap();
    }
    init_chain(&dir, &genesis);
    let flowable = bpmn_fixture("flowable-renovation.bpmn20.xml");
    let groups = bpmn_fixture("groups.toml");

    let dry = ok(cli(&[
        "admin",
        "import-bpmn",
        &flowable,
        "--groups",
        &groups,
        "--dry-run",
    ]));
    let payload: serde_json::Value = serde_json::from_str(&dry).unwrap();
    assert_eq!(payload["id"], "old-city-renovation", "{payload}");
    assert_eq!(payload["version"], 1);
    assert_eq!(payload["stages"].as_array().unwrap().len(), 4);
    assert_eq!(payload["stages"][1]["department"], "fire");
    assert_eq!(payload["stages"][1]["deadline_secs"], 2_592_000);
    // Without the map: every unmapped group named, bad input of a kind.
    let r = cli(&["admin", "import-bpmn", &flowable, "--dry-run"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .starts_with("govchain-node: error [bpmn.refused]: ")
            && r.stderr.contains("消防救援支队"),
        "{}",
        r.stderr
    );
    let r = cli(&[
        "admin",
        "import-bpmn",
        &bpmn_fixture("refused-exclusive-script.bpmn"),
        "--groups",
        &groups,
        "--dry-run",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    for id in [
        "Gateway_amount",
        "Task_fee",
        "Flow_big",
        "Flow_rework",
        "Task_notify",
    ] {
        assert!(r.stderr.contains(id), "{id}: {}", r.stderr);
    }

    let (mut child, url) = start(&dir);
    let admin_key = dir.join("admin.key");
    let out = ok(admin(
        &url,
        &admin_key,
        &[
            "import-bpmn",
            &flowable,
            "--groups",
            &groups,
            "--id",
            "renovation-bpmn",
            "--version",
            "3",
        ],
    ));
    assert_eq!(field(&out, "workflow"), "renovation-bpmn@3", "{out}");
    assert!(field(&out, "status").starts_with("committed"), "{out}");

    let exported = dir.join("exported.bpmn");
    let exported = exported.to_str().unwrap();
    ok(cli(&[
        "admin",
        "--node",
        &url,
        "export-bpmn",
        "--template",
        "renovation-bpmn",
        "--out",
        exported,
    ]));
    let again = ok(cli(&["admin", "import-bpmn", exported, "--dry-run"]));
    let mut want = payload.clone();
    want["id"] = "renovation-bpmn".into();
    want["version"] = 3.into();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&again).unwrap(),
        want
    );
    let r = cli(&[
        "admin",
        "--node",
        &url,
        "export-bpmn",
        "--template",
        "renovation-bpmn",
        "--version",
        "9",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let r = cli(&["admin", "--node", &url, "export-bpmn", "--template", "nope"]);
    assert!(
        r.stderr
            .starts_with("govchain-node: error [node.not_found]: "),
        "{}",
        r.stderr
    );
    // A signing command without --key is a usage error.
    let r = cli(&[
        "admin",
        "--node",
        &url,
        "import-bpmn",
        &flowable,
        "--groups",
        &groups,
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    child.kill().unwrap();
    child.wait().unwrap();
}
