//! Human-edited files: the genesis TOML and key files. Errors name the file
//! and, for TOML, the line and field.

use std::path::Path;

use govchain_ledger::crypto::{PublicKey, SecretKey};
use govchain_ledger::state::kinds::{DepartmentSpec, Genesis};
use govchain_ledger::types::ChainId;
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::error::NodeError;

/// `genesis.toml`: the chain id plus the `consortium.genesis` payload.
///
/// ```toml
/// chain_id = "gov-demo"
/// origin = "govchain.example/gov-demo"
/// consortium_threshold = 2
///
/// [[departments]]
/// id = "city-management"
/// name = "城市管理局"
/// node_key = "<64 hex>"
/// admin_threshold = 1
/// admins = [{ name = "王主任", public_key = "<64 hex>" }]
/// ```
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisFile {
    pub chain_id: ChainId,
    pub origin: String,
    pub consortium_threshold: u32,
    pub departments: Vec<DepartmentSpec>,
}

impl GenesisFile {
    pub fn payload(&self) -> Genesis {
        Genesis {
            origin: self.origin.clone(),
            consortium_threshold: self.consortium_threshold,
            departments: self.departments.clone(),
        }
    }
}

fn config_error(path: &Path, detail: impl std::fmt::Display) -> NodeError {
    NodeError::Config(format!("{}: {detail}", path.display()))
}

pub fn read_genesis(path: &Path) -> Result<GenesisFile, NodeError> {
    let text = std::fs::read_to_string(path).map_err(|e| config_error(path, e))?;
    toml::from_str(&text).map_err(|e| config_error(path, e))
}

/// Refuses (on Unix) a key file whose mode grants any permission to its
/// group or to others: `node.key_permissions`, naming the file, its mode and
/// the `chmod 600` that fixes it.
pub fn check_key_permissions(path: &Path) -> Result<(), NodeError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path)
            .map_err(|e| config_error(path, e))?
            .permissions()
            .mode()
            & 0o7777;
        if mode & 0o077 != 0 {
            return Err(NodeError::KeyPermissions {
                path: path.display().to_string(),
                mode,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Reads a key file: the 32-byte Ed25519 seed as 64 hex digits. On Unix a
/// file its group or others may access is refused before it is read.
pub fn read_key(path: &Path) -> Result<SecretKey, NodeError> {
    check_key_permissions(path)?;
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| config_error(path, e))?);
    let mut seed = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(text.trim(), seed.as_mut_slice())
        .map_err(|_| config_error(path, "a key file holds the 32-byte seed as 64 hex digits"))?;
    Ok(SecretKey::from_seed(&seed))
}

/// Writes a new key file readable only by its owner; refuses to overwrite.
pub fn write_key(path: &Path, key: &SecretKey) -> Result<(), NodeError> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| config_error(path, e))?;
    let hex = Zeroizing::new(hex::encode(*key.to_seed()));
    f.write_all(hex.as_bytes())
        .and_then(|()| f.write_all(b"\n"))
        .and_then(|()| f.sync_all())
        .map_err(|e| config_error(path, e))
}

/// Parses a public key given on the command line.
pub fn parse_public_key(s: &str) -> Result<PublicKey, NodeError> {
    PublicKey::from_hex(s).map_err(|e| NodeError::Config(format!("public key: {e}")))
}
