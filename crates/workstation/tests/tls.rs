//! A node behind TLS (here a TLS-terminating proxy; the node can also serve
//! HTTPS itself): the workstation speaks HTTPS with the operating system's
//! trust store (here `SSL_CERT_FILE`, as on Linux), refuses a certificate
//! from a CA it does not trust with the fingerprint to pin, accepts a
//! pinned certificate, and raises the alarm when a pinned node presents
//! another one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::Arc;

use govchain_ledger::ErrorCode as _;
use govchain_node::tls::CertSha256;
use govchain_workstation::demo::DemoNode;
use govchain_workstation::Workstation;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("govchain-tls-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A CA, and a certificate for `localhost` it signed: (CA PEM, cert, key).
fn ca_and_server_cert(ca_name: &str) -> (String, CertificateDer<'static>, PrivateKeyDer<'static>) {
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
    (
        ca.pem(),
        cert.der().clone(),
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
}

/// A TLS-terminating proxy on a random port in front of `upstream`
/// (`host:port`), as a department would deploy; returns its port.
async fn tls_proxy(
    upstream: String,
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
) -> u16 {
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let acceptor = acceptor.clone();
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut plain = tokio::net::TcpStream::connect(upstream).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncs_over_https_and_refuses_an_untrusted_certificate() {
    let dir = temp_dir("main");
    let node = DemoNode::start(&dir.join("node")).await.unwrap();
    let upstream = node.url().trim_start_matches("http://").to_owned();

    let (trusted_ca, cert, key) = ca_and_server_cert("Hangzhou departments CA");
    let (_, foreign_cert, foreign_key) = ca_and_server_cert("Someone else's CA");
    let foreign_sha = CertSha256::of(&foreign_cert);
    std::fs::write(dir.join("ca.pem"), trusted_ca).unwrap();
    // The trust store the client loads (rustls-native-certs reads it).
    std::env::set_var("SSL_CERT_FILE", dir.join("ca.pem"));
    let good = tls_proxy(upstream.clone(), cert, key).await;
    let foreign = tls_proxy(upstream, foreign_cert, foreign_key).await;
    let foreign_url = format!("https://localhost:{foreign}");
    let good_url = format!("https://localhost:{good}");

    let ws = Workstation::open(
        &dir.join("ws"),
        "govchain-test-tls-unused",
        Arc::new(|_| {}),
    )
    .unwrap();
    // First contact with a node whose certificate no trusted CA issued:
    // refused, and the error shows the fingerprint to compare and pin.
    ws.set_nodes(vec![foreign_url.clone()]).await.unwrap();
    let e = ws.sync().await.unwrap_err();
    assert_eq!(e.code(), "network.untrusted_certificate", "{e}");
    assert!(e.to_string().contains(&foreign_sha.to_string()), "{e}");
    assert!(e.to_string().contains("UnknownIssuer"), "{e}");
    // What crosses IPC carries the node and the fingerprint for the UI.
    let body = e.body();
    assert_eq!(body.fingerprint, Some(foreign_sha.to_string()));
    assert_eq!(body.node.as_deref(), Some(foreign_url.as_str()));
    assert_eq!(ws.status().unwrap().height, None, "nothing accepted");
    let probe = ws.test_node(&foreign_url).await.unwrap_err();
    assert_eq!(probe.code(), "network.untrusted_certificate", "{probe}");

    // The OS store path: a certificate of the trusted CA syncs.
    ws.set_nodes(vec![good_url.clone()]).await.unwrap();
    let status = ws.sync().await.unwrap();
    assert!(status.online && status.height.unwrap() > 0, "{status:?}");
    assert!(status.checkpoint_size.is_some(), "{status:?}");

    // Pinning the untrusted node's fingerprint (as the operator confirmed
    // it) makes it usable.
    ws.pin_node_certificate(&foreign_url, &foreign_sha.grouped())
        .unwrap();
    assert_eq!(ws.cert_pins().unwrap()[&foreign_url], foreign_sha);
    ws.set_nodes(vec![foreign_url.clone()]).await.unwrap();
    let status = ws.sync().await.unwrap();
    assert!(status.online, "{status:?}");
    assert_eq!(
        ws.test_node(&foreign_url).await.unwrap().chain_id,
        "gov-demo"
    );

    // A pin is exact: the trusted-CA node pinned to another fingerprint is
    // a changed certificate — refused, with the chain-mismatch alarm.
    ws.pin_node_certificate(&good_url, &foreign_sha.to_hex())
        .unwrap();
    ws.set_nodes(vec![good_url.clone()]).await.unwrap();
    let e = ws.sync().await.unwrap_err();
    assert_eq!(e.code(), "network.certificate_changed", "{e}");
    assert!(e.to_string().contains(&foreign_sha.to_string()), "{e}");
    let s = ws.status().unwrap();
    assert!(
        s.alarms
            .iter()
            .any(|a| a.code == "network.certificate_changed" && a.node == good_url),
        "{:?}",
        s.alarms
    );
    // Unpinning returns the node to the OS store.
    ws.pin_node_certificate(&good_url, "").unwrap();
    ws.set_nodes(vec![good_url]).await.unwrap();
    ws.sync().await.unwrap();
    // A pin that is not a fingerprint is refused.
    assert_eq!(
        ws.pin_node_certificate(&foreign_url, "abc")
            .unwrap_err()
            .code(),
        "request.invalid"
    );
    node.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
