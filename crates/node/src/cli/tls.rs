//! The TLS side of `run`, `init`, `tls-cert` and `tls-fingerprint`: which
//! certificate the node serves, and the refusal of plain HTTP on a network
//! address.

use std::path::{Path, PathBuf};

use govchain_node::tls::{self, Identity};

use super::error::CliError;
use super::out::outln;

/// Where `run` listens, and the certificate it serves (none: plain HTTP).
#[derive(Debug)]
pub struct Listen {
    pub addr: String,
    pub identity: Option<Identity>,
}

/// A client accepting exactly the certificate `pin` (given as `flag`)
/// names, or `None` without a pin.
pub fn pinned_client(
    flag: &str,
    pin: Option<&str>,
    builder: reqwest::ClientBuilder,
) -> Result<Option<reqwest::Client>, CliError> {
    let Some(pin) = pin else {
        return Ok(None);
    };
    let pin = tls::CertSha256::parse(pin).map_err(|e| CliError::Input(format!("{flag}: {e}")))?;
    Ok(Some(tls::verify::pinned_http_client(
        vec![pin],
        None,
        builder,
    )?))
}

/// `tls-cert`: a self-signed certificate in the data directory.
pub fn make_cert(data_dir: &Path, names: &[String]) -> Result<(), CliError> {
    let sha = tls::write_self_signed(data_dir, names)?;
    outln!("tls cert      {}", data_dir.join(tls::CERT_FILE).display())?;
    outln!("tls sha-256   {sha}")
}

/// `tls-fingerprint`: of `--cert`, or of the data directory's certificate.
pub fn print_fingerprint(data_dir: Option<&Path>, cert: Option<&Path>) -> Result<(), CliError> {
    let path = match (cert, data_dir) {
        (Some(c), _) => c.to_owned(),
        (None, Some(d)) => tls::self_signed_paths(d).0,
        (None, None) => return Err(CliError::Input("give --data-dir or --cert".into())),
    };
    let sha = tls::fingerprint_of_file(&path)?;
    outln!("tls sha-256   {sha}")
}

/// How `run` serves: HTTPS with a department CA's certificate
/// (`--tls-cert`, `--tls-key`) or with the self-signed one `init` made
/// (`--tls`); otherwise plain HTTP, only on loopback unless
/// `--insecure-plain-http`.
#[derive(Debug, Clone, clap::Args)]
pub struct TlsOpts {
    /// Serve HTTPS with this PEM certificate chain (end-entity first),
    /// e.g. one issued by the department's CA.
    #[arg(long, requires = "tls_key", conflicts_with = "tls")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of `--tls-cert` (mode 0600).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve HTTPS with the self-signed certificate `init` made in the data
    /// directory (clients pin its fingerprint: `tls-fingerprint`).
    #[arg(long)]
    pub tls: bool,
    /// Serve plain HTTP on a non-loopback address (only behind a
    /// TLS-terminating proxy, or on a network you trust).
    #[arg(long, conflicts_with_all = ["tls", "tls_cert"])]
    pub insecure_plain_http: bool,
}

impl TlsOpts {
    /// The identity to serve with, or `None` for plain HTTP (after the
    /// loopback check).
    pub fn identity(&self, data_dir: &Path, listen: &str) -> Result<Option<Identity>, CliError> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => return Ok(Some(Identity::read(cert, key)?)),
            (None, None) => {}
            _ => {
                return Err(CliError::Input(
                    "--tls-cert and --tls-key go together".into(),
                ))
            }
        }
        if self.tls {
            return Ok(Some(Identity::read_self_signed(data_dir)?));
        }
        check_plain_http(listen, self.insecure_plain_http)?;
        Ok(None)
    }
}

/// Refuses plain HTTP on `listen` unless it is a loopback address or the
/// operator said `--insecure-plain-http`.
pub fn check_plain_http(listen: &str, insecure: bool) -> Result<(), CliError> {
    if insecure || tls::is_loopback(listen) {
        Ok(())
    } else {
        Err(CliError::PlainHttp {
            listen: listen.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_on_loopback_or_when_told() {
        for listen in ["127.0.0.1:7700", "[::1]:0", "localhost:7700"] {
            check_plain_http(listen, false).unwrap();
        }
        for listen in ["0.0.0.0:7700", "192.0.2.10:7700", "[::]:7700"] {
            let e = check_plain_http(listen, false).unwrap_err();
            assert_eq!(e.code(), "cli.plain_http", "{listen}");
            assert_eq!(e.exit_code(), super::super::error::EXIT_INPUT);
            let text = e.to_string();
            assert!(text.contains(listen) && text.contains("--tls"), "{text}");
            assert!(text.contains("--insecure-plain-http"), "{text}");
            check_plain_http(listen, true).unwrap();
        }
    }
}
