//! The demo consortium's keys: seeds kept in `demo-keys.json` (mode 0600)
//! in the demo node's directory, created on first use. Never the official's
//! key, which stays in the OS keychain.

use std::collections::BTreeMap;
use std::path::Path;

use govchain_ledger::crypto::SecretKey;
use zeroize::Zeroizing;

use crate::error::WsError;

use super::{err, DEPARTMENTS, OFFICIALS};

/// The demo's keys by name, created once and kept in the node's directory.
pub(super) fn demo_keys(path: &Path) -> Result<BTreeMap<String, SecretKey>, WsError> {
    let mut names: Vec<String> = Vec::new();
    names.extend(DEPARTMENTS.iter().map(|(d, _)| format!("node-{d}")));
    names.extend(DEPARTMENTS.iter().map(|(d, _)| format!("{d}-admin")));
    names.extend(OFFICIALS.iter().map(|(n, _, _)| (*n).to_owned()));
    let mut seeds: BTreeMap<String, String> = match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map_err(err)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
        Err(e) => return Err(err(format!("{}: {e}", path.display()))),
    };
    let mut changed = false;
    for n in &names {
        if !seeds.contains_key(n) {
            let k = SecretKey::generate(&mut rand_core::OsRng);
            seeds.insert(n.clone(), hex::encode(k.to_seed().as_slice()));
            changed = true;
        }
    }
    if changed {
        let text = Zeroizing::new(serde_json::to_string_pretty(&seeds).map_err(err)?);
        write_private(path, text.as_bytes())?;
    }
    seeds
        .iter()
        .map(|(n, hex_seed)| {
            let mut bytes = Zeroizing::new([0u8; 32]);
            hex::decode_to_slice(hex_seed, bytes.as_mut_slice()).map_err(err)?;
            Ok((n.clone(), SecretKey::from_seed(&bytes)))
        })
        .collect()
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), WsError> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts
        .open(path)
        .map_err(|e| err(format!("{}: {e}", path.display())))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| err(format!("{}: {e}", path.display())))
}
