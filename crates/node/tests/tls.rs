//! The node serves HTTPS itself: with a certificate a department CA issued,
//! and with the self-signed one `init` makes (clients pin its fingerprint);
//! plain HTTP is refused on an address other machines reach; with members'
//! certificates pinned, a client presenting a stranger's certificate is
//! refused at the handshake.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

mod support;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use govchain_ledger::types::ChainId;
use govchain_node::tls::serve::NodeListener;
use govchain_node::tls::verify::{find_cause, pinned_client_config, CertRefused, PinnedClients};
use govchain_node::tls::{CertSha256, Identity};
use govchain_node::{Core, Limits};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

const BIN: &str = env!("CARGO_BIN_EXE_govchain-node");

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("govchain-node-tls-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write_private(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

/// A CA (PEM) and PEM files of a certificate for `localhost` it issued.
fn ca_issued(dir: &Path, ca_name: &str) -> (String, PathBuf, PathBuf) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, ca_name);
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let (cert_file, key_file) = (dir.join("node.pem"), dir.join("node-key.pem"));
    std::fs::write(&cert_file, cert.pem()).unwrap();
    write_private(&key_file, &key.serialize_pem());
    (ca.pem(), cert_file, key_file)
}

/// A self-signed identity (a stranger's, or a member's).
fn self_signed(name: &str) -> Identity {
    let made = rcgen::generate_simple_self_signed(vec![name.to_owned()]).unwrap();
    Identity {
        chain: vec![made.cert.der().clone()],
        key: rustls::pki_types::PrivateKeyDer::Pkcs8(made.signing_key.serialize_der().into()),
    }
}

fn core(dir: &Path) -> Core {
    let chain: ChainId = "tls-test".parse().unwrap();
    let block0 = support::genesis(
        &chain,
        "o",
        &["city"],
        govchain_node::api::now().unix_millis(),
    );
    Core::open(
        &dir.join("chain.sqlite"),
        support::key("node-city"),
        "node.city.example",
        Some(&block0),
        Limits::default(),
    )
    .unwrap()
}

/// Serves a node in-process over TLS with `config`; returns its port and a
/// stop handle.
async fn serve_tls(
    dir: &Path,
    config: Arc<rustls::ServerConfig>,
) -> (u16, tokio::sync::oneshot::Sender<()>) {
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let listener = NodeListener::tls(tcp, config).unwrap();
    let port = listener.local_addr().port();
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(govchain_node::run_on(
        listener,
        Arc::new(Mutex::new(core(dir))),
        Duration::from_millis(20),
        async move {
            let _ = rx.await;
        },
    ));
    (port, stop)
}

fn client(config: rustls::ClientConfig) -> reqwest::Client {
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// A client trusting only the CA in `ca_pem`.
fn trusting(ca_pem: &str) -> reqwest::Client {
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap())
        .unwrap();
    client(
        rustls::ClientConfig::builder_with_provider(govchain_node::tls::provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

async fn healthz(http: &reqwest::Client, url: &str) -> Result<serde_json::Value, reqwest::Error> {
    http.get(format!("{url}/healthz"))
        .send()
        .await?
        .json()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_a_certificate_from_the_departments_ca() {
    let dir = temp_dir("ca");
    let (ca, cert, key) = ca_issued(&dir, "Hangzhou departments CA");
    let (other_ca, _, _) = ca_issued(&temp_dir("ca-other"), "Someone else's CA");
    let identity = Identity::read(&cert, &key).unwrap();
    let (port, stop) = serve_tls(&dir, identity.server_config(None).unwrap()).await;
    let url = format!("https://localhost:{port}");

    let h = healthz(&trusting(&ca), &url).await.unwrap();
    assert_eq!(h["chain_id"], "tls-test", "{h}");
    // A client trusting another CA refuses the node.
    let e = healthz(&trusting(&other_ca), &url).await.unwrap_err();
    assert!(
        govchain_node::error::with_causes(&e).contains("UnknownIssuer"),
        "{e:?}"
    );
    // Plain HTTP to the TLS port gets no answer.
    assert!(reqwest::get(format!("http://localhost:{port}/healthz"))
        .await
        .is_err_and(|e| !e.is_status()));
    // A key file readable by others is refused, like other key files.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = Identity::read(&cert, &key).unwrap_err();
        assert_eq!(govchain_ledger::ErrorCode::code(&e), "node.key_permissions");
    }
    let _ = stop.send(());
}

fn run_ok(args: &[&str], dir: &Path) -> String {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn field(out: &str, label: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(label))
        .unwrap_or_else(|| panic!("no {label:?} in {out}"))
        .trim()
        .to_owned()
}

/// `init` makes a self-signed certificate (key mode 0600) and prints its
/// fingerprint, `tls-fingerprint` prints the same, and `run --tls` serves
/// it: a client pinning it gets answers, a client pinning another refuses
/// the node, naming what it was shown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_makes_a_self_signed_certificate_that_clients_pin() {
    let dir = temp_dir("self-signed");
    let pk = field(
        &run_ok(&["keygen", "--out", "node.key"], &dir),
        "public key",
    );
    let admin = field(
        &run_ok(&["keygen", "--out", "admin.key"], &dir),
        "public key",
    );
    std::fs::write(
        dir.join("genesis.toml"),
        format!(
            "chain_id = \"tls-cli\"\norigin = \"o/tls-cli\"\nconsortium_threshold = 1\n\n[[departments]]\n\
             id = \"city\"\nname = \"city\"\nnode_key = \"{pk}\"\nadmin_threshold = 1\n\
             admins = [{{ name = \"a\", public_key = \"{admin}\" }}]\n"
        ),
    )
    .unwrap();
    let init = run_ok(
        &[
            "init",
            "--genesis",
            "genesis.toml",
            "--data-dir",
            "data",
            "--node-key",
            "node.key",
            "--admin-key",
            "admin.key",
            "--tls-name",
            "localhost",
        ],
        &dir,
    );
    let printed = CertSha256::parse(&field(&init, "tls sha-256")).unwrap();
    assert_eq!(
        field(&init, "tls sha-256").split(' ').count(),
        16,
        "grouped"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.join("data/tls-key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = run_ok(&["tls-fingerprint", "--data-dir", "data"], &dir);
    assert_eq!(
        CertSha256::parse(&field(&again, "tls sha-256")).unwrap(),
        printed
    );

    let mut child = Command::new(BIN)
        .args([
            "run",
            "--tls",
            "--listen",
            "127.0.0.1:0",
            "--name",
            "n",
            "--data-dir",
            "data",
            "--node-key",
            "node.key",
        ])
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let addr = first.strip_prefix("listening on ").unwrap().to_owned();
    let served = lines.next().unwrap().unwrap();
    assert_eq!(
        CertSha256::parse(served.strip_prefix("tls sha-256").unwrap()).unwrap(),
        printed
    );
    let url = format!("https://{addr}");
    let pinned = client(pinned_client_config(vec![printed], None).unwrap());
    let h = healthz(&pinned, &url).await.unwrap();
    assert_eq!(h["chain_id"], "tls-cli");

    // The admin CLI reaches the node over HTTPS with the pin; a wrong pin
    // is a connection it refuses.
    let official = field(
        &run_ok(&["keygen", "--out", "official.key"], &dir),
        "public key",
    );
    let admin_cmd = |pin: &str| {
        Command::new(BIN)
            .args(["admin", "--node", &url, "--node-cert-sha256", pin])
            .args([
                "--key",
                "admin.key",
                "register-official",
                "--department",
                "city",
            ])
            .args(["--name", "official", "--public-key", &official])
            .current_dir(&dir)
            .output()
            .unwrap()
    };
    let out = admin_cmd(&CertSha256([9; 32]).to_hex());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("[cli.unreachable]"), "{err}");
    // (The node is another process: blocking here holds up nothing.)
    let out = admin_cmd(&printed.grouped());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("committed"));

    let stranger = CertSha256([7; 32]);
    let wrong = client(pinned_client_config(vec![stranger], None).unwrap());
    let e = healthz(&wrong, &url).await.unwrap_err();
    match find_cause::<CertRefused>(&e) {
        Some(CertRefused::NotPinned { presented, pinned }) => {
            assert_eq!(*presented, printed);
            assert_eq!(pinned, &vec![stranger]);
        }
        other => panic!("{other:?}: {e:?}"),
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Plain HTTP on a non-loopback address is refused before anything is
/// read or bound, with a code and what to do.
#[test]
fn plain_http_is_refused_off_loopback_without_the_flag() {
    let dir = temp_dir("plain");
    for listen in ["0.0.0.0:7700", "192.0.2.10:7700"] {
        let out = Command::new(BIN)
            .args([
                "run",
                "--listen",
                listen,
                "--name",
                "n",
                "--data-dir",
                "none",
                "--node-key",
                "none.key",
            ])
            .current_dir(&dir)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.starts_with("govchain-node: error [cli.plain_http]: "),
            "{err}"
        );
        assert!(
            err.contains("--tls") && err.contains("--insecure-plain-http"),
            "{err}"
        );
    }
    // With the flag the check passes (and the missing key is the error).
    let out = Command::new(BIN)
        .args([
            "run",
            "--listen",
            "192.0.2.10:7700",
            "--insecure-plain-http",
            "--name",
            "n",
            "--data-dir",
            "none",
            "--node-key",
            "none.key",
        ])
        .current_dir(&dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("[node.config]"), "{err}");
}

/// Mutual TLS: with members' certificates pinned, a client presenting a
/// stranger's certificate is refused at the handshake; a member's is
/// accepted; a client with none (a workstation) still reads the API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strangers_client_certificate_is_refused_at_the_handshake() {
    let dir = temp_dir("mtls");
    let server = self_signed("localhost");
    let member = self_signed("member");
    let stranger = self_signed("stranger");
    let clients = Arc::new(PinnedClients::new(vec![
        server.fingerprint(),
        member.fingerprint(),
    ]));
    let (port, stop) = serve_tls(&dir, server.server_config(Some(clients)).unwrap()).await;
    let url = format!("https://127.0.0.1:{port}");
    let pin = vec![server.fingerprint()];

    let as_member = client(pinned_client_config(pin.clone(), Some(&member)).unwrap());
    assert_eq!(
        healthz(&as_member, &url).await.unwrap()["chain_id"],
        "tls-test"
    );
    let anonymous = client(pinned_client_config(pin.clone(), None).unwrap());
    assert_eq!(
        healthz(&anonymous, &url).await.unwrap()["chain_id"],
        "tls-test"
    );
    let as_stranger = client(pinned_client_config(pin, Some(&stranger)).unwrap());
    let e = healthz(&as_stranger, &url).await.unwrap_err();
    let text = govchain_node::error::with_causes(&e);
    // The connection fails below HTTP: no status was ever answered. (TLS
    // 1.3: the client learns of the refusal when it reads, so the error is
    // an alert, a closed connection or a cancelled request, by timing.)
    assert!(e.status().is_none() && !e.is_decode(), "{text}");
    assert!(
        [
            "alert",
            "certificate",
            "closed",
            "not ready",
            "Canceled",
            "reset"
        ]
        .iter()
        .any(|w| text.contains(w)),
        "{text}"
    );
    let _ = stop.send(());
}
