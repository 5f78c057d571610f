//! TLS for the node (rustls with the ring provider; no OpenSSL): the
//! certificate and key it serves (a department CA's PEM files, or the
//! self-signed pair `init` makes in the data directory), certificate
//! fingerprints for pinning, the verifiers that pin them ([`verify`]) and
//! the listener that serves plain HTTP or HTTPS ([`serve`]).
//!
//! A fingerprint is the SHA-256 of the DER certificate (the end-entity one
//! of a chain). People are shown it as 16 groups of 4 lowercase hex digits;
//! files and commands accept it with or without spaces or colons, in either
//! case.

pub mod serve;
pub mod verify;

use std::fmt;
use std::net::ToSocketAddrs as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use govchain_ledger::types::Hash32;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::NodeError;

/// The self-signed certificate `init` writes into the data directory.
pub const CERT_FILE: &str = "tls-cert.pem";
/// Its private key (PKCS#8 PEM, mode 0600 like the other key files).
pub const KEY_FILE: &str = "tls-key.pem";

/// The SHA-256 of a DER certificate: what a client or a peer pins.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CertSha256(pub [u8; 32]);

impl CertSha256 {
    pub fn of(der: &[u8]) -> Self {
        Self(Hash32::sha256(der).0)
    }

    /// Parses 64 hex digits, ignoring spaces and colons, in either case.
    pub fn parse(s: &str) -> Result<Self, String> {
        let hex: String = s
            .chars()
            .filter(|c| !c.is_whitespace() && *c != ':')
            .collect();
        let mut out = [0u8; 32];
        hex::decode_to_slice(&hex, &mut out).map_err(|_| {
            format!("{s:?} is not a certificate fingerprint (the SHA-256 of the certificate, 64 hex digits)")
        })?;
        Ok(Self(out))
    }

    /// 64 lowercase hex digits, no separators (how it is stored).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// 16 groups of 4 lowercase hex digits separated by spaces (how people
    /// read and compare it).
    pub fn grouped(&self) -> String {
        let hex = self.to_hex();
        (0..16)
            .map(|i| &hex[i * 4..i * 4 + 4])
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl fmt::Display for CertSha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.grouped())
    }
}

impl fmt::Debug for CertSha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CertSha256({})", self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for CertSha256 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for CertSha256 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

/// The crypto provider every TLS configuration here uses.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A certificate and its key, as the node presents them (to clients as a
/// server, and to other members as a client).
#[derive(Debug)]
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

impl Clone for Identity {
    fn clone(&self) -> Self {
        Self {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

impl Identity {
    /// Reads a PEM certificate chain (end-entity first) and its PEM private
    /// key. The key file's permissions are checked like other key files'
    /// (`node.key_permissions`).
    pub fn read(cert: &Path, key: &Path) -> Result<Self, NodeError> {
        let err =
            |p: &Path, e: &dyn fmt::Display| NodeError::Config(format!("{}: {e}", p.display()));
        let chain = CertificateDer::pem_file_iter(cert)
            .map_err(|e| err(cert, &e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| err(cert, &e))?;
        if chain.is_empty() {
            return Err(err(cert, &"no PEM certificate in the file"));
        }
        crate::config::check_key_permissions(key)?;
        let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| err(key, &e))?;
        let id = Self {
            chain,
            key: key_der,
        };
        // The key must be the certificate's.
        id.server_config(None).map_err(|e| {
            NodeError::Config(format!("{} and {}: {e}", cert.display(), key.display()))
        })?;
        Ok(id)
    }

    /// The self-signed pair in `data_dir` (made by `init` or `tls-cert`).
    pub fn read_self_signed(data_dir: &Path) -> Result<Self, NodeError> {
        let (cert, key) = self_signed_paths(data_dir);
        if !cert.exists() {
            return Err(NodeError::Config(format!(
                "{} does not exist: make it with `govchain-node tls-cert --data-dir {}`, or give --tls-cert and --tls-key",
                cert.display(),
                data_dir.display()
            )));
        }
        Self::read(&cert, &key)
    }

    /// The fingerprint of the end-entity certificate.
    pub fn fingerprint(&self) -> CertSha256 {
        self.chain
            .first()
            .map_or(CertSha256([0; 32]), |c| CertSha256::of(c))
    }

    /// A server configuration presenting this identity; `clients` verifies
    /// client certificates (members' pins), if given.
    pub fn server_config(
        &self,
        clients: Option<Arc<verify::PinnedClients>>,
    ) -> Result<Arc<rustls::ServerConfig>, NodeError> {
        let builder = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| NodeError::Config(format!("tls: {e}")))?;
        let builder = match clients {
            Some(v) => builder.with_client_cert_verifier(v),
            None => builder.with_no_client_auth(),
        };
        let mut config = builder
            .with_single_cert(self.chain.clone(), self.key.clone_key())
            .map_err(|e| NodeError::Config(format!("tls: {e}")))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// Where `init` puts the self-signed certificate and key.
pub fn self_signed_paths(data_dir: &Path) -> (PathBuf, PathBuf) {
    (data_dir.join(CERT_FILE), data_dir.join(KEY_FILE))
}

/// Makes a self-signed certificate for `names` (host names or IP addresses;
/// `localhost` and `127.0.0.1` when empty) and writes it and its key into
/// `data_dir` (the key with mode 0600); refuses to overwrite either.
/// Returns the certificate's fingerprint.
pub fn write_self_signed(data_dir: &Path, names: &[String]) -> Result<CertSha256, NodeError> {
    let names = if names.is_empty() {
        vec!["localhost".to_owned(), "127.0.0.1".to_owned()]
    } else {
        names.to_vec()
    };
    let made = rcgen::generate_simple_self_signed(names)
        .map_err(|e| NodeError::Config(format!("tls certificate: {e}")))?;
    let (cert, key) = self_signed_paths(data_dir);
    for p in [&cert, &key] {
        if p.exists() {
            return Err(NodeError::Config(format!("{} already exists", p.display())));
        }
    }
    let key_pem = zeroize::Zeroizing::new(made.signing_key.serialize_pem());
    write_new(&key, key_pem.as_bytes(), 0o600)?;
    write_new(&cert, made.cert.pem().as_bytes(), 0o644)?;
    Ok(CertSha256::of(made.cert.der()))
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), NodeError> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let err = |e: std::io::Error| NodeError::Config(format!("{}: {e}", path.display()));
    let mut f = opts.open(path).map_err(err)?;
    f.write_all(bytes).and_then(|()| f.sync_all()).map_err(err)
}

/// The data directory's self-signed certificate: the one there, or a new
/// one for `names` ([`write_self_signed`]). Returns its fingerprint.
pub fn ensure_self_signed(data_dir: &Path, names: &[String]) -> Result<CertSha256, NodeError> {
    let (cert, key) = self_signed_paths(data_dir);
    if cert.exists() && key.exists() {
        return Identity::read(&cert, &key).map(|id| id.fingerprint());
    }
    write_self_signed(data_dir, names)
}

/// The fingerprint of the first certificate in a PEM file.
pub fn fingerprint_of_file(cert: &Path) -> Result<CertSha256, NodeError> {
    let der = CertificateDer::from_pem_file(cert)
        .map_err(|e| NodeError::Config(format!("{}: {e}", cert.display())))?;
    Ok(CertSha256::of(&der))
}

/// Whether every address `listen` (`host:port`) names is a loopback
/// address: only there may a node serve plain HTTP without being told to.
/// A name that does not resolve counts as not loopback.
pub fn is_loopback(listen: &str) -> bool {
    match listen.to_socket_addrs() {
        Ok(addrs) => {
            let addrs: Vec<_> = addrs.collect();
            !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback())
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_parse_in_any_common_form() {
        let f = CertSha256([0xab; 32]);
        assert_eq!(CertSha256::parse(&f.to_hex()).unwrap(), f);
        assert_eq!(CertSha256::parse(&f.grouped()).unwrap(), f);
        let colons = f
            .to_hex()
            .to_uppercase()
            .as_bytes()
            .chunks(2)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join(":");
        assert_eq!(CertSha256::parse(&colons).unwrap(), f);
        assert!(CertSha256::parse("abcd").is_err());
        assert_eq!(f.grouped().split(' ').count(), 16);
    }

    #[test]
    fn only_loopback_addresses_count_as_loopback() {
        assert!(is_loopback("127.0.0.1:7700"));
        assert!(is_loopback("[::1]:7700"));
        assert!(!is_loopback("0.0.0.0:7700"));
        assert!(!is_loopback("192.0.2.10:7700"));
        assert!(!is_loopback("[::]:7700"));
        assert!(!is_loopback("not an address"));
    }
}
