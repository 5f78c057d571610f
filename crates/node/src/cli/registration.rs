//! Registration requests: the file a workstation's Settings makes for its
//! active key (`{"kind":"official.register","payload":{…},"key_storage":…}`,
//! PROTOCOL.md §18), read by `register-official --request` and
//! `grant-role --official @FILE`.

use std::path::Path;

use govchain_ledger::state::kinds::RegisterOfficial;
use serde_json::Value;

use super::error::CliError;

/// A registration request and where it says its key lives (`key_storage`:
/// the OS keychain or a PKCS#11 token, PROTOCOL.md §16.5), in words.
pub(super) fn read_with_storage(
    path: &Path,
) -> Result<(RegisterOfficial, Option<String>), CliError> {
    let bad = |detail: String| CliError::Input(format!("{}: {detail}", path.display()));
    let text = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let v: Value = serde_json::from_slice(&text).map_err(|e| bad(e.to_string()))?;
    if v["kind"] != "official.register" {
        return Err(bad(
            "not a registration request: expected {\"kind\":\"official.register\",\"payload\":{\"department\",\"name\",\"public_key\"}}".into(),
        ));
    }
    let r =
        serde_json::from_value(v["payload"].clone()).map_err(|e| bad(format!("payload: {e}")))?;
    let s = |k: &str| v["key_storage"][k].as_str().unwrap_or_default().to_owned();
    let storage = match s("kind").as_str() {
        "pkcs11" => Some(format!(
            "hardware token {} (serial {})",
            s("token_label"),
            s("token_serial")
        )),
        "keychain" => Some("OS keychain".to_owned()),
        _ => None,
    };
    Ok((r, storage))
}

/// Reads a registration request file (what the workstation's Settings
/// produces).
pub(super) fn read(path: &Path) -> Result<RegisterOfficial, CliError> {
    Ok(read_with_storage(path)?.0)
}
