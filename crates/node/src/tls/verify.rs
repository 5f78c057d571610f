//! Certificate verifiers that pin SHA-256 fingerprints. The pin is the
//! identity: a certificate is accepted exactly when its fingerprint is
//! pinned, whoever issued it and whatever names it carries. The handshake
//! signature is still checked with the certificate's key, so only the
//! holder of the pinned certificate's key gets through.
//!
//! A refused certificate is reported as a rustls certificate error holding
//! a [`CertRefused`] (find it in an error's causes with [`find_cause`]), so
//! that a caller can tell its user which fingerprint was presented.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, OtherError};

use super::{provider, CertSha256, Identity};
use crate::error::NodeError;

/// Why a presented certificate was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertRefused {
    /// Not one of the pinned certificates.
    #[error("the certificate presented (SHA-256 {presented}) is not the one pinned ({})", pinned.iter().map(CertSha256::to_string).collect::<Vec<_>>().join(", "))]
    NotPinned {
        presented: CertSha256,
        pinned: Vec<CertSha256>,
    },
    /// No pin, and the trust store does not accept it.
    #[error("{reason} (certificate SHA-256 {presented})")]
    Untrusted {
        presented: CertSha256,
        reason: String,
    },
}

impl CertRefused {
    /// As a rustls error (a handshake alert).
    pub fn into_rustls(self) -> rustls::Error {
        rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(self))))
    }
}

/// Finds an error of type `T` among `e` and its causes, looking inside I/O
/// errors and rustls certificate errors (where verifiers put theirs).
pub fn find_cause<'a, T: std::error::Error + 'static>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut next = Some(e);
    while let Some(cur) = next {
        if let Some(t) = cur.downcast_ref::<T>() {
            return Some(t);
        }
        if let Some(io) = cur.downcast_ref::<std::io::Error>() {
            if let Some(inner) = io.get_ref() {
                if let Some(t) = find_cause::<T>(inner) {
                    return Some(t);
                }
            }
        }
        if let Some(rustls::Error::InvalidCertificate(CertificateError::Other(o))) =
            cur.downcast_ref::<rustls::Error>()
        {
            if let Some(t) = find_cause::<T>(o.0.as_ref()) {
                return Some(t);
            }
        }
        next = cur.source();
    }
    None
}

fn algorithms() -> WebPkiSupportedAlgorithms {
    provider().signature_verification_algorithms
}

/// Checks a TLS 1.2 handshake signature with the certificate's key.
pub fn check_tls12(
    algs: &WebPkiSupportedAlgorithms,
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    rustls::crypto::verify_tls12_signature(message, cert, dss, algs)
}

/// Checks a TLS 1.3 handshake signature with the certificate's key.
pub fn check_tls13(
    algs: &WebPkiSupportedAlgorithms,
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    rustls::crypto::verify_tls13_signature(message, cert, dss, algs)
}

/// A client's verifier of a server: accepts the pinned certificates only.
#[derive(Debug)]
pub struct PinnedServer {
    pins: Vec<CertSha256>,
    algs: WebPkiSupportedAlgorithms,
}

impl PinnedServer {
    pub fn new(pins: Vec<CertSha256>) -> Self {
        Self {
            pins,
            algs: algorithms(),
        }
    }
}

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let presented = CertSha256::of(end_entity);
        if self.pins.contains(&presented) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(CertRefused::NotPinned {
                presented,
                pinned: self.pins.clone(),
            }
            .into_rustls())
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

/// A server's verifier of clients (mutual TLS among members): a client
/// that presents a certificate must present a pinned one, or the handshake
/// fails before any request is read. A client may present none (a
/// workstation, a browser): the routes that need a member then refuse it
/// ([`super::serve::PeerCert`]).
#[derive(Debug)]
pub struct PinnedClients {
    pins: Vec<CertSha256>,
    algs: WebPkiSupportedAlgorithms,
}

impl PinnedClients {
    pub fn new(pins: Vec<CertSha256>) -> Self {
        Self {
            pins,
            algs: algorithms(),
        }
    }
}

impl ClientCertVerifier for PinnedClients {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let presented = CertSha256::of(end_entity);
        if self.pins.contains(&presented) {
            Ok(ClientCertVerified::assertion())
        } else {
            tracing::warn!(%presented, "a client presented a certificate no member has: refused");
            Err(CertRefused::NotPinned {
                presented,
                pinned: self.pins.clone(),
            }
            .into_rustls())
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

/// A client configuration that accepts only `pins` as the server's
/// certificate and, given an identity, presents it (mutual TLS).
pub fn pinned_client_config(
    pins: Vec<CertSha256>,
    identity: Option<&Identity>,
) -> Result<rustls::ClientConfig, NodeError> {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| NodeError::Config(format!("tls: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedServer::new(pins)));
    let mut config = match identity {
        Some(id) => builder
            .with_client_auth_cert(id.chain.clone(), id.key.clone_key())
            .map_err(|e| NodeError::Config(format!("tls: {e}")))?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// An HTTP client that reaches a server presenting one of `pins` (and
/// presents `identity` if given), with the usual timeouts of peer traffic.
pub fn pinned_http_client(
    pins: Vec<CertSha256>,
    identity: Option<&Identity>,
    builder: reqwest::ClientBuilder,
) -> Result<reqwest::Client, NodeError> {
    builder
        .use_preconfigured_tls(pinned_client_config(pins, identity)?)
        .build()
        .map_err(|e| NodeError::Config(format!("http client: {e}")))
}
