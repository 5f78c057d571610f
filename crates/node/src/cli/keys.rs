//! Where a node's or an admin's key comes from: a key file (mode 0600,
//! §16.1), or a key on a PKCS#11 token (`--pkcs11-module`,
//! `--pkcs11-token`, `--pkcs11-key`) that never leaves it. The token's PIN
//! comes from `GOVCHAIN_PKCS11_PIN` or is asked on the terminal; it is held
//! in zeroizing memory only while logging in.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use govchain_node::NodeKey;
use govchain_token::TokenSigner;
use zeroize::Zeroizing;

use super::error::CliError;
use super::out::outln;

/// The environment variable a token's PIN may come from (for services).
pub const PIN_ENV: &str = "GOVCHAIN_PKCS11_PIN";

/// A key on a PKCS#11 token instead of a key file.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TokenOpts {
    /// The token vendor's PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so):
    /// the key is on a token, not in a file. PIN from GOVCHAIN_PKCS11_PIN or
    /// asked on the terminal.
    #[arg(long = "pkcs11-module", id = "pkcs11_module", requires_all = ["pkcs11_token", "pkcs11_key"])]
    pub module: Option<PathBuf>,
    /// The token's label or serial number.
    #[arg(long = "pkcs11-token", id = "pkcs11_token", requires = "pkcs11_module")]
    pub token: Option<String>,
    /// The key's label on the token.
    #[arg(long = "pkcs11-key", id = "pkcs11_key", requires = "pkcs11_module")]
    pub key: Option<String>,
}

impl TokenOpts {
    fn given(&self) -> Option<(&Path, &str, &str)> {
        Some((
            self.module.as_deref()?,
            self.token.as_deref()?,
            self.key.as_deref()?,
        ))
    }
}

/// The token's PIN: from [`PIN_ENV`], or asked without echo.
fn pin() -> Result<Zeroizing<String>, CliError> {
    if let Ok(p) = std::env::var(PIN_ENV) {
        return Ok(Zeroizing::new(p));
    }
    rpassword::prompt_password("PIN of the token: ")
        .map(Zeroizing::new)
        .map_err(|e| CliError::Input(format!("no PIN: set {PIN_ENV} or run on a terminal ({e})")))
}

/// The signing key `file` or `token` names (exactly one of them).
pub fn signer(flag: &str, file: Option<&Path>, token: &TokenOpts) -> Result<NodeKey, CliError> {
    match (file, token.given()) {
        (Some(_), Some(_)) => Err(CliError::Usage(format!(
            "give {flag} FILE or --pkcs11-module, not both"
        ))),
        (Some(path), None) => Ok(Arc::new(govchain_node::config::read_key(path)?)),
        (None, Some((module, token, key))) => {
            let pin = pin()?;
            Ok(Arc::new(TokenSigner::open(module, token, key, &pin)?))
        }
        (None, None) => Err(CliError::Usage(format!(
            "give {flag} FILE, or the key on a token: --pkcs11-module M --pkcs11-token T --pkcs11-key LABEL"
        ))),
    }
}

/// `token-keygen`: a new Ed25519 key on a token, and what identifies it.
pub fn token_keygen(module: &Path, token: &str, label: &str) -> Result<(), CliError> {
    let token = govchain_token::Module::load(module)?.open(token)?;
    if token.keys()?.iter().any(|k| k.label == label) {
        return Err(CliError::Input(format!(
            "the token already holds a key labelled '{label}'; pick another label"
        )));
    }
    let pin = pin()?;
    token.login(&pin)?;
    drop(pin);
    let key = token.generate(label)?;
    let pk = key.public_key;
    outln!("token       {}", token.info())?;
    outln!("key label   {label}")?;
    outln!("public key  {pk}")?;
    outln!("key id      {}", pk.key_id())?;
    outln!("fingerprint {}", pk.key_id().fingerprint())
}
