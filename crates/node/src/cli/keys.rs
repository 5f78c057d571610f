//! Where a node's or an admin's key comes from: a key file (mode 0600,
//! §16.1), a key on a PKCS#11 token (`--pkcs11-module`,
//! `--pkcs11-token`, `--pkcs11-key`) that never leaves it, or (an admin's)
//! the workstation's own key in the OS keychain (`--keychain-key`). The token's PIN
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

/// The keychain service the desktop app keeps officials' keys under
/// (`GOVCHAIN_KEYCHAIN_SERVICE` overrides it, as in the app).
pub const KEYCHAIN_SERVICE: &str = "govchain";

/// An admin's key in the OS keychain, where the workstation keeps it.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct KeychainOpts {
    /// Sign with the official's key the workstation keeps in the OS
    /// keychain: its key id (64 hex, Settings → Keys).
    #[arg(long = "keychain-key", conflicts_with_all = ["key", "pkcs11_module"])]
    pub key_id: Option<String>,
    /// The keychain service (default: the app's, or GOVCHAIN_KEYCHAIN_SERVICE).
    #[arg(long = "keychain-service", requires = "key_id")]
    pub service: Option<String>,
}

/// The key with id `key_id` from the OS keychain entry the workstation
/// writes (`official-key:<64 hex>` under the service), in zeroizing memory;
/// an entry holding another key is refused.
pub fn keychain_key(opts: &KeychainOpts, key_id: &str) -> Result<NodeKey, CliError> {
    use govchain_ledger::crypto::{KeyId, SecretKey};
    let bad = |m: String| CliError::Keychain(m);
    let id = KeyId::from_hex(key_id.trim())
        .map_err(|e| CliError::Input(format!("--keychain-key: {e} (the key id is 64 hex)")))?;
    let service = opts
        .service
        .clone()
        .or_else(|| std::env::var("GOVCHAIN_KEYCHAIN_SERVICE").ok())
        .unwrap_or_else(|| KEYCHAIN_SERVICE.to_owned());
    keyring::Entry::store_status()
        .as_ref()
        .map_err(|e| bad(format!("no OS keychain is available ({e}); on Linux start a Secret Service (gnome-keyring or KeePassXC)")))?;
    let entry = keyring::Entry::new(&service, &format!("official-key:{}", id.to_hex()))
        .map_err(|e| bad(e.to_string()))?;
    let secret = Zeroizing::new(entry.get_secret().map_err(|e| match e {
        keyring::Error::NoEntry => bad(format!(
            "the keychain (service {service}) holds no key {}: create or import it in the workstation, or give --keychain-service",
            id.fingerprint()
        )),
        other => bad(other.to_string()),
    })?);
    if secret.len() != 32 {
        return Err(bad("the stored key is not 32 bytes".into()));
    }
    let mut seed: Zeroizing<[u8; 32]> = Zeroizing::new([0; 32]);
    seed.copy_from_slice(&secret);
    let key = SecretKey::from_seed(&seed);
    if key.key_id() != id {
        return Err(bad(
            "the keychain entry holds a different key than its name says".into(),
        ));
    }
    Ok(Arc::new(key))
}

/// The admin's signing key: `--key FILE` (mode checked), a token, or the keychain.
pub fn admin_signer(
    file: Option<&Path>,
    token: &TokenOpts,
    keychain: &KeychainOpts,
) -> Result<NodeKey, CliError> {
    if let Some(id) = &keychain.key_id {
        return keychain_key(keychain, id);
    }
    match (file, &token.module) {
        (Some(path), None) => {
            let key = govchain_node::config::read_key(path).map_err(|e| match e {
                govchain_node::NodeError::KeyPermissions { .. } => CliError::Node(e),
                e => CliError::Input(format!("--key: {e}")),
            })?;
            Ok(Arc::new(key))
        }
        _ => signer("--key", file, token).map_err(|e| match e {
            CliError::Usage(_) => CliError::Usage(
                "this admin command signs a transaction: give --key FILE, --keychain-key KEY_ID (the workstation's key in the OS keychain), or --pkcs11-module/--pkcs11-token/--pkcs11-key".into(),
            ),
            e => e,
        }),
    }
}
