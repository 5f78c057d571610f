//! The `govchain-node` binary end to end: keygen, init from a genesis TOML,
//! run, an admin command, then SIGKILL and restart — the acknowledged
//! transaction is still there and the chain re-verifies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

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
    let mut child = Command::new(BIN)
        .args([
            "run",
            "--listen",
            "127.0.0.1:0",
            "--name",
            "node.city.example",
            "--block-ms",
            "20",
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

/// Submits transactions while killing the node with SIGKILL at varying
/// moments, five times over: every transaction the node reported committed
/// before a kill is still committed after the restart, and the restarted node
/// re-verified the whole chain (it refuses to start otherwise).
#[test]
fn sigkill_under_load_loses_no_committed_transaction() {
    use govchain_ledger::crypto::SecretKey;
    use govchain_ledger::tx::{Envelope, TxBody};
    use zeroize::Zeroizing;

    let dir = std::env::temp_dir().join(format!("govchain-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
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
    let admin = SecretKey::from_seed(&s);

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
}
