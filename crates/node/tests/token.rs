//! A department whose node key and admin key live on a PKCS#11 token
//! (SoftHSM2, a real module), through the `govchain-node` binary: keys made
//! on the token, block 0 sealed with the token's node key, the node run
//! with it (every block it seals, and its checkpoints, signed on the
//! token), an admin command signed with the token's admin key (and one
//! with a key from the OS keychain, as a workstation keeps it), the whole
//! chain re-verified; a wrong PIN refused with its code before anything
//! starts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use govchain_token::softhsm::SoftHsm;

const BIN: &str = env!("CARGO_BIN_EXE_govchain-node");
const PIN: &str = "Hsm-Pin-42";
const TOKEN: &str = "DeptHSM";

fn node(args: &[&str], pin: &str) -> Output {
    Command::new(BIN)
        .args(args)
        .env("GOVCHAIN_PKCS11_PIN", pin)
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn field<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(label).map(str::trim))
        .unwrap_or_else(|| panic!("no {label:?} in {text}"))
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn a_node_and_its_admin_sign_with_keys_on_a_token() {
    let dir = std::env::temp_dir().join(format!("govchain-node-token-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // The children inherit SOFTHSM2_CONF from this process.
    let hsm = SoftHsm::in_dir(&dir.join("hsm")).unwrap();
    hsm.init_token(TOKEN, PIN).unwrap();
    let module = p(&hsm.module).to_owned();
    let on_token = |label: &'static str| {
        vec![
            "--pkcs11-module".to_owned(),
            module.clone(),
            "--pkcs11-token".to_owned(),
            TOKEN.to_owned(),
            "--pkcs11-key".to_owned(),
            label.to_owned(),
        ]
    };
    let keygen = |label: &str, pin: &str| {
        node(
            &[
                "token-keygen",
                "--pkcs11-module",
                &module,
                "--pkcs11-token",
                TOKEN,
                "--label",
                label,
            ],
            pin,
        )
    };

    // A wrong PIN makes nothing, with the token's code and exit status 2.
    let out = keygen("node", "000000");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("[token.pin_incorrect]"));
    let node_pk = field(&ok(&keygen("node", PIN)), "public key").to_owned();
    let token_admin_pk = field(&ok(&keygen("admin", PIN)), "public key").to_owned();
    // A second key under a taken label is refused.
    assert_eq!(keygen("node", PIN).status.code(), Some(2));

    // The founding admin signs the genesis from a key file; the node's key,
    // on the token, seals block 0.
    let founder = dir.join("founder.key");
    let founder_pk = field(
        &ok(&node(&["keygen", "--out", p(&founder)], "")),
        "public key",
    )
    .to_owned();
    std::fs::write(
        dir.join("genesis.toml"),
        format!(
            "chain_id = \"token-test\"\norigin = \"govchain.example/token-test\"\nconsortium_threshold = 1\n\
             [[departments]]\nid = \"hpf-haikou\"\nname = \"海口市住房公积金管理局\"\nnode_key = \"{node_pk}\"\nadmin_threshold = 1\n\
             admins = [{{ name = \"founder\", public_key = \"{founder_pk}\" }}, {{ name = \"ukey admin\", public_key = \"{token_admin_pk}\" }}]\n"
        ),
    )
    .unwrap();
    let data = dir.join("data");
    let mut init: Vec<String> = [
        "init",
        "--genesis",
        p(&dir.join("genesis.toml")),
        "--data-dir",
        p(&data),
    ]
    .map(str::to_owned)
    .to_vec();
    init.extend(on_token("node"));
    init.extend(["--admin-key".to_owned(), p(&founder).to_owned()]);
    let init: Vec<&str> = init.iter().map(String::as_str).collect();
    let out = ok(&node(&init, PIN));
    assert!(out.contains("token-test"), "{out}");

    // A wrong PIN: `run` refuses before it serves.
    let mut run: Vec<String> = [
        "run",
        "--data-dir",
        p(&data),
        "--listen",
        "127.0.0.1:0",
        "--name",
        "node.haikou.example",
        "--block-ms",
        "20",
    ]
    .map(str::to_owned)
    .to_vec();
    run.extend(on_token("node"));
    let run: Vec<&str> = run.iter().map(String::as_str).collect();
    let out = node(&run, "000000");
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("[token.pin_incorrect]"));

    let mut child = Command::new(BIN)
        .args(&run)
        .env("GOVCHAIN_PKCS11_PIN", PIN)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = format!(
        "http://{}",
        line.trim().strip_prefix("listening on ").expect(&line)
    );

    // An admin command signed on the token; the node seals its block there.
    let official = dir.join("official.key");
    let official_pk = field(
        &ok(&node(&["keygen", "--out", p(&official)], "")),
        "public key",
    )
    .to_owned();
    let mut admin: Vec<String> = vec!["admin".into(), "--node".into(), url.clone()];
    admin.extend(on_token("admin"));
    admin.extend(
        [
            "register-official",
            "--department",
            "hpf-haikou",
            "--name",
            "李审核",
            "--public-key",
            &official_pk,
        ]
        .map(str::to_owned),
    );
    let admin: Vec<&str> = admin.iter().map(String::as_str).collect();
    let out = ok(&node(&admin, PIN));
    assert!(out.contains("committed"), "{out}");
    // The admin command without any key says what to give.
    let out = node(
        &[
            "admin",
            "--node",
            &url,
            "register-official",
            "--department",
            "hpf-haikou",
            "--name",
            "x",
            "--public-key",
            &official_pk,
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--pkcs11-module"));

    // The founder signs from the OS keychain entry a workstation keeps
    // (not the file): the CLI's third way to an admin key.
    if std::env::var_os("GOVCHAIN_KEYRING").is_some() {
        let service = format!("govchain-node-test-{}", std::process::id());
        let founder_key = govchain_node::config::read_key(&founder).unwrap();
        let founder_id = founder_key.key_id().to_hex();
        let by_keychain = |id: &str, pk: &str| {
            node(
                &[
                    "admin",
                    "--node",
                    &url,
                    "--keychain-service",
                    &service,
                    "--keychain-key",
                    id,
                    "register-official",
                    "--department",
                    "hpf-haikou",
                    "--name",
                    "王窗口",
                    "--public-key",
                    pk,
                ],
                "",
            )
        };
        let other = dir.join("other.key");
        let other_pk = field(
            &ok(&node(&["keygen", "--out", p(&other)], "")),
            "public key",
        )
        .to_owned();
        // Not in the keychain yet: refused with its code, exit status 2.
        let out = by_keychain(&founder_id, &other_pk);
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("[cli.keychain]"));
        let entry = keyring::Entry::new(&service, &format!("official-key:{founder_id}")).unwrap();
        entry.set_secret(founder_key.to_seed().as_slice()).unwrap();
        let out = ok(&by_keychain(&founder_id, &other_pk));
        assert!(out.contains("committed"), "{out}");
        entry.delete_credential().unwrap();
    }

    // The node's checkpoint is signed by the token's key.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let checkpoint = rt.block_on(async {
        reqwest::get(format!("{url}/v1/checkpoint"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    let log_key = govchain_ledger::note::NoteKey::new(
        "node.haikou.example",
        govchain_ledger::note::ALG_ED25519,
        govchain_ledger::crypto::PublicKey::from_hex(&node_pk).unwrap(),
    )
    .unwrap();
    let note = govchain_ledger::note::SignedNote::parse(&checkpoint).unwrap();
    let sig = note
        .signatures
        .iter()
        .find(|s| s.name == log_key.name && s.key_id == log_key.key_id())
        .expect("the log's signature");
    govchain_ledger::note::verify_signature(&note.text, &log_key, sig).unwrap();

    child.kill().unwrap();
    child.wait().unwrap();
    // Every block, sealed on the token, verifies against the node key.
    let out = ok(&node(&["verify-chain", "--data-dir", p(&data)], ""));
    assert!(out.contains("matches the replay"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}
