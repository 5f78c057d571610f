//! Which TLS certificate of a node this workstation accepts: the one the
//! official pinned for that node (its SHA-256 fingerprint, PROTOCOL.md
//! §16.4), or else any certificate the operating system's trust store
//! accepts for the node's name. A pin is exact: a node presenting another
//! certificate is refused even if a trusted CA issued it.
//!
//! A refusal names the fingerprint presented, so the official can compare
//! it with the one the node's operator gives (`govchain-node
//! tls-fingerprint`) and pin it (`network.untrusted_certificate`), or be
//! alarmed by a changed one (`network.certificate_changed`).

use std::sync::Arc;

use govchain_node::tls::verify::{check_tls12, check_tls13, find_cause, CertRefused};
use govchain_node::tls::{provider, CertSha256};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::DigitallySignedStruct;

use crate::error::WsError;

/// The verifier of one node's certificate.
#[derive(Debug)]
struct NodeVerifier {
    pin: Option<CertSha256>,
    /// The OS trust store's verifier; `None` when the store holds no CA.
    store: Option<Arc<WebPkiServerVerifier>>,
    algs: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for NodeVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let presented = CertSha256::of(end_entity);
        match (self.pin, &self.store) {
            (Some(pin), _) if pin == presented => Ok(ServerCertVerified::assertion()),
            (Some(pin), _) => Err(CertRefused::NotPinned {
                presented,
                pinned: vec![pin],
            }
            .into_rustls()),
            (None, Some(store)) => store
                .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
                .map_err(|e| {
                    let reason = match e {
                        rustls::Error::InvalidCertificate(c) => c.to_string(),
                        other => other.to_string(),
                    };
                    CertRefused::Untrusted { presented, reason }.into_rustls()
                }),
            (None, None) => Err(CertRefused::Untrusted {
                presented,
                reason: "this computer's trust store holds no certificate authority".into(),
            }
            .into_rustls()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        check_tls12(&self.algs, message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        check_tls13(&self.algs, message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// The operating system's trust store (on Linux `SSL_CERT_FILE`,
/// `SSL_CERT_DIR` or the distribution's bundle), read now.
fn os_store() -> Option<Arc<WebPkiServerVerifier>> {
    let found = rustls_native_certs::load_native_certs();
    for e in &found.errors {
        tracing::warn!("trust store: {e}");
    }
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(found.certs);
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .ok()
}

/// An HTTP client for one node: its pinned certificate if `pin`, else the
/// OS trust store. `builder` carries the timeouts.
pub fn http_client(
    pin: Option<CertSha256>,
    builder: reqwest::ClientBuilder,
) -> Result<reqwest::Client, WsError> {
    let verifier = NodeVerifier {
        pin,
        store: if pin.is_some() { None } else { os_store() },
        algs: provider().signature_verification_algorithms,
    };
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| WsError::Offline(format!("tls: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    builder
        .use_preconfigured_tls(config)
        .build()
        .map_err(|e| WsError::Offline(e.to_string()))
}

/// The certificate error behind a failed request to `url`, if that is why
/// it failed: a changed pinned certificate, or one the trust store refuses.
pub fn refusal(url: &str, e: &(dyn std::error::Error + 'static)) -> Option<WsError> {
    Some(match find_cause::<CertRefused>(e)? {
        CertRefused::NotPinned { presented, pinned } => WsError::CertificateChanged {
            url: url.to_owned(),
            pinned: pinned.first().map(ToString::to_string).unwrap_or_default(),
            presented: presented.to_string(),
        },
        CertRefused::Untrusted { presented, reason } => WsError::UntrustedCertificate {
            url: url.to_owned(),
            fingerprint: presented.to_string(),
            reason: reason.clone(),
        },
    })
}

/// Parses a fingerprint given by the official or a settings file.
pub fn parse_pin(s: &str) -> Result<CertSha256, WsError> {
    CertSha256::parse(s).map_err(WsError::BadRequest)
}
